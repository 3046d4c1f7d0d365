#pragma once
// An embedded script session (`mgraph eval`): a Store of its own and a script client that
// runs each line at once through the one classifier and executor (client.hpp). What it
// prints for a line is what a connected session prints for it.

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "mgraph/graph/schema/store.hpp"
#include "mgraph/graph/schema/store_image.hpp"
#include "mgraph/session/client.hpp"

namespace mgraph::session {

class ScriptRunner {
 public:
  explicit ScriptRunner(std::shared_ptr<const schema::Schema> schema,
                        schema::StoreOptions options = {}, PrintOptions print = {});

  /// What `clock now` reads (system_wall_clock() unless set): the session's one reading of
  /// the time of day. Tests give it a ManualClock.
  void set_wall_clock(WallClock clock) { client_.set_wall_clock(std::move(clock)); }

  /// Runs one line; appends what it prints (zero or more '\n'-terminated lines) to `out`.
  /// Returns false when the line failed; the error is printed as JSON with `line_no`.
  /// With `applied`, also appends the operation the line meant (none for a blank line or
  /// a comment), its result and the alias the line gives (ScriptClient::run_line).
  bool run_line(std::string_view line, std::size_t line_no, std::string* out,
                AppliedBatch* applied = nullptr);
  /// Applies operations that lines applied before, and their aliases, printing nothing
  /// (ScriptClient::apply): a persistent session's replay.
  Result<BatchResult> apply(const Batch& ops, const std::vector<std::string>& aliases) {
    return client_.apply(ops, aliases);
  }
  /// Runs every line of a script; returns the number of failed lines.
  std::size_t run(std::string_view script, std::string* out);

  schema::Store& store() { return *store_; }
  /// The node of "REF.field": REF an alias or #N, field a field or relation name.
  Result<NodeId> field_node(std::string_view ref_field) const;
  /// The session's state (Store and aliases), for a checkpoint. As Store::export_image.
  Result<schema::RunnerImage> export_image();
  /// Takes back a session's state into this runner, which must be new.
  Status import_image(schema::RunnerImage image);

 private:
  std::unique_ptr<schema::Store> store_;
  StoreBackend backend_;
  ScriptClient client_;
};

}  // namespace mgraph::session
