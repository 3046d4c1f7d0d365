#pragma once
// The `mgraph eval` script language (docs/SCRIPTS.md): one command per line over a
// Store. The runner does no I/O; it returns the lines to print.

#include <map>
#include <memory>
#include <string>

#include "mgraph/graph/schema/store.hpp"

namespace mgraph::schema {

/// Bytes accepted in one script line; longer lines are an error.
inline constexpr std::size_t kScriptLineMax = std::size_t{1} << 20;

class ScriptRunner {
 public:
  explicit ScriptRunner(std::shared_ptr<const Schema> schema, StoreOptions options = {});

  /// Runs one line; appends what it prints (zero or more '\n'-terminated lines) to `out`.
  /// Returns false when the line failed; the error is printed as JSON with `line_no`.
  bool run_line(std::string_view line, std::size_t line_no, std::string* out);
  /// Runs every line of a script; returns the number of failed lines.
  std::size_t run(std::string_view script, std::string* out);

  Store& store() { return *store_; }
  /// The node of "REF.field": REF an alias or #N, field a field or relation name.
  Result<NodeId> field_node(std::string_view ref_field) const;
  /// The session's state (Store and aliases), for a checkpoint. As Store::export_image.
  Result<RunnerImage> export_image();
  /// Takes back a session's state into this runner, which must be new.
  Status import_image(RunnerImage image);

 private:
  Status execute(std::string_view line, std::string* out);
  Result<RecordId> resolve(std::string_view ref) const;

  std::unique_ptr<Store> store_;
  std::map<std::string, RecordId, std::less<>> aliases_;
};

/// A script value: 1, 2.5, "text", true, false, null, [1, 2], [[1, 2], [3, 4]].
Result<Value> parse_script_value(std::string_view text);

}  // namespace mgraph::schema
