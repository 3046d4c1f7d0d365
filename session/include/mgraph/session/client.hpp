#pragma once
// A script session: lines of the script language in, printed lines out, over a Backend
// that applies batches of operations — a Store in this process (StoreBackend) or a cluster
// (the client protocol). The client keeps the aliases the script gives records.
//
// Embedded, every line is a batch of its own and prints at once. Connected, the lines of
// an open transaction travel together: the batch is sent when a line commits or rejects
// it, or at the end of the input; a read or undo/redo outside a transaction goes alone.
// Results print in line order either way, so both print the same bytes for any script
// (only when they print differs). Inside a batch a record created earlier is named by its
// create op (RecordRef::created_by), because its id is known only once the batch has run.

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "mgraph/graph/clock.hpp"
#include "mgraph/graph/schema/store.hpp"
#include "mgraph/session/classifier.hpp"
#include "mgraph/session/executor.hpp"
#include "mgraph/session/printer.hpp"

namespace mgraph::session {

/// Applies batches of operations somewhere.
class Backend {
 public:
  virtual ~Backend() = default;
  /// Applies `batch` in order; one result per op. A failure of the backend itself (not of
  /// an op) is the Status.
  virtual Result<BatchResult> run(const Batch& batch) = 0;
  /// `history` or `audit` (`command`) of field `field` of `record`, which the script wrote
  /// `ref`: the JSON a session prints after "records", "versions" or "version"
  /// (session/version_ledger.hpp). By default the backend keeps no history.
  virtual Result<std::string> ledger(RecordId record, const std::string& field, const std::string& command,
                                     const std::string& ref, std::optional<std::uint64_t> at) {
    (void)record, (void)field, (void)command, (void)ref, (void)at;
    return Status(StatusCode::failed_precondition, command + " is not available here");
  }
};

/// A Store in this process. Its open transaction stays open between batches.
class StoreBackend final : public Backend {
 public:
  /// REQUIRES: `store` outlives the backend.
  explicit StoreBackend(schema::Store& store) : executor_(store) {}
  Result<BatchResult> run(const Batch& batch) override { return executor_.run(batch); }

 private:
  StoreExecutor executor_;
};

struct ClientOptions {
  /// Send the lines of a transaction as one batch (a remote backend); else line by line.
  bool batch_transactions = false;
  PrintOptions print;
};

class ScriptClient {
 public:
  /// REQUIRES: `backend` outlives the client.
  ScriptClient(Backend& backend, ClientOptions options) : backend_(backend), options_(options) {}

  /// Runs one line; appends what is printed now (for this line or earlier batched ones)
  /// to `out`. Returns the number of lines whose operation failed among those printed.
  /// With `applied`, also appends each operation sent now, its result and its alias.
  std::size_t run_line(std::string_view line, std::size_t line_no, std::string* out,
                       AppliedBatch* applied = nullptr);
  /// What `clock now` reads (system_wall_clock() unless set): the one place a session
  /// reads the time of day. The op sent holds the time read, so a log replays it.
  void set_wall_clock(WallClock clock) { wall_clock_ = std::move(clock); }
  /// Sends what is still batched (the end of the input). Returns failures, as run_line.
  std::size_t finish(std::string* out);
  /// A backend failure ends the session: the lines it held are lost and this says why.
  const Status& failure() const { return failure_; }
  /// Lines of an open transaction are held, to be sent when it ends (a remote backend).
  bool holding() const { return !batch_.empty(); }
  Backend& backend() { return backend_; }

  /// Applies operations this or another client applied before (a persistent session's
  /// replay): `ops` in order, printing nothing, then gives each of `aliases` (one per op,
  /// empty: none) to the record its create made, when that create succeeded, as run_line
  /// does. One result per op. Fails, applying nothing, when lines are still batched or an
  /// alias belongs to an op that is not a create.
  Result<BatchResult> apply(const Batch& ops, const std::vector<std::string>& aliases);

  /// The record a script name means now: an alias or "#N".
  Result<RecordId> record(std::string_view name) const;
  /// The record and the field `REF.field` names now; an error when it is not REF.field or
  /// REF names no record.
  Result<std::pair<RecordId, std::string_view>> field_ref(std::string_view ref_field) const;
  const std::map<std::string, RecordId, std::less<>>& aliases() const { return aliases_; }
  void set_aliases(std::map<std::string, RecordId, std::less<>> aliases) {
    aliases_ = std::move(aliases);
  }

 private:
  struct Pending {
    std::size_t line_no;
    std::string alias;
  };
  Result<RecordRef> resolve(std::string_view name) const;
  std::size_t flush(std::string* out, AppliedBatch* applied);

  Backend& backend_;
  ClientOptions options_;
  std::map<std::string, RecordId, std::less<>> aliases_;
  /// Aliases given in the batch being gathered: name -> its create ops, the latest first.
  std::map<std::string, std::vector<std::uint32_t>, std::less<>> batch_aliases_;
  Batch batch_;
  std::vector<Pending> pending_;
  bool mutated_ = false;  ///< the batch holds a mutation: a transaction may be open
  Status failure_;
  WallClock wall_clock_ = system_wall_clock();
};

}  // namespace mgraph::session
