#pragma once
// `mgraph eval --data DIR`: the script runner made persistent through the LMDB input log
// (docs/SCRIPTS.md, section "Persistent sessions").
//
// Every line that changes state (create, update, delete, link, unlink, set, ack, commit,
// reject, undo, redo) is buffered with its outcome. When a `commit`, `undo` or `redo`
// succeeds, the buffer becomes one epoch of the store's input log, written and fsync'ed
// before the next line runs. Opening replays every epoch through a fresh runner, silently,
// and checks that each line has the outcome it had when it was logged, so the reopened
// session is exactly the state the logged lines produced.

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "mgraph/graph/schema/script.hpp"
#include "mgraph/graph/status.hpp"
#include "mgraph/persistence/store.hpp"

namespace mgraph::node {

/// First line of every epoch's batch; the number is the batch format version.
inline constexpr std::string_view kEvalLogMagic = "mgraph-eval-log";
inline constexpr std::uint32_t kEvalLogVersion = 1;

/// 64-bit FNV-1a of the schema file's bytes: the schema a data directory belongs to.
std::uint64_t schema_content_hash(std::string_view schema_text);

/// Thread-safety: none; one session per data directory per process.
class PersistentSession {
 public:
  /// Opens (or creates) the store in `directory` and replays its log into `runner`, which
  /// must be fresh. Fails, naming `directory` and the epoch, when the store cannot be
  /// opened, an epoch is corrupt, was written for another schema (hash of `schema_text`
  /// differs) or replays differently. REQUIRES: `runner` outlives the session.
  static Result<std::unique_ptr<PersistentSession>> open(const std::string& directory,
                                                         const std::string& schema_name,
                                                         std::string_view schema_text,
                                                         schema::ScriptRunner& runner);

  /// Runs one line like ScriptRunner::run_line (returns in *line_ok whether it succeeded)
  /// and logs an epoch when the line ends one. A non-ok Status means the epoch could not
  /// be made durable: the in-memory state is ahead of the log and the session must stop.
  Status run_line(std::string_view line, std::size_t line_no, std::string* out, bool* line_ok);

  /// Epochs replayed by open().
  std::uint64_t replayed_epochs() const { return replayed_; }
  /// Last epoch in the log.
  std::uint64_t last_epoch() const { return last_epoch_; }

 private:
  PersistentSession(std::unique_ptr<persistence::Store> store, std::string directory,
                    std::string header, schema::ScriptRunner& runner);

  Status replay(std::uint64_t schema_hash, const std::string& schema_name);
  Status log_epoch();

  std::unique_ptr<persistence::Store> store_;
  std::string directory_;
  std::string header_;  ///< the batch header of this schema
  schema::ScriptRunner* runner_;
  std::string pending_;  ///< logged lines since the last epoch, each "+ line\n" or "! line\n"
  std::uint64_t last_epoch_ = 0;
  std::uint64_t replayed_ = 0;
};

}  // namespace mgraph::node
