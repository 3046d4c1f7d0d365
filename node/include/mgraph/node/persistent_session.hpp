#pragma once
// `mgraph eval --data DIR` and its C++ form (library mgraph_session; examples/
// persistent_demo.cpp): the script runner made persistent through the LMDB input log and
// checkpoints (docs/SCRIPTS.md, section "Persistent sessions").
//
// Every line that changes state (create, update, delete, link, unlink, set, ack, commit,
// reject, undo, redo) is buffered with its outcome. When a `commit`, `undo` or `redo`
// succeeds, the buffer becomes one epoch of the store's input log, written and fsync'ed
// before the next line runs.
//
// Every `checkpoint_every` epochs, and on the `checkpoint` command, the session's whole
// state (documents, versions, undo/redo history, aliases: a RunnerImage encoded by the
// codec) is stored as a checkpoint of scope "eval" at the last epoch, streamed from the
// encoder into the store in parts of bounded size. Opening loads the
// newest checkpoint, then replays the epochs after it through the runner, silently, and
// checks that each line has the outcome it had when it was logged, so the reopened
// session is exactly the state the logged lines produced.
//
// Each epoch also stores, in the same LMDB transaction, a version history entry for every
// changed field that is an effect or marked @versioned ((node id, version) -> value,
// epoch, time), and for effect fields a ledger record per change (a `transition`, plus an
// `ack` when the change is an acknowledgement). `history REF.field [at EPOCH]` and
// `audit REF.effect` read them back.

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "mgraph/session/script_runner.hpp"
#include "mgraph/graph/status.hpp"
#include "mgraph/persistence/directory_lock.hpp"
#include "mgraph/persistence/store.hpp"
#include "mgraph/persistence/write_batch.hpp"

namespace mgraph::node {

/// First line of every epoch's batch; the number is the batch format version.
inline constexpr std::string_view kEvalLogMagic = "mgraph-eval-log";
inline constexpr std::uint32_t kEvalLogVersion = 1;

/// First line of every checkpoint's state; the number is the checkpoint format version:
/// 2 since the session image is packed (codec::kRunnerImageFormatVersion); 1 is read too.
inline constexpr std::string_view kEvalCheckpointMagic = "mgraph-eval-checkpoint";
inline constexpr std::uint32_t kEvalCheckpointVersion = 2;
inline constexpr std::uint32_t kEvalCheckpointOldestVersion = 1;
/// Checkpoint scope of an `mgraph eval` session in its store.
inline constexpr std::string_view kEvalScope = "eval";

struct SessionOptions {
  /// A checkpoint after every this many epochs; 0: only on the `checkpoint` command.
  std::uint64_t checkpoint_every = 1000;
  /// After each checkpoint, delete the log entries it covers (their lines are no
  /// longer needed to reopen; they are no longer there to read either).
  bool compact_log = false;
  /// A checkpoint is stored in parts of this many bytes, each in its own transaction
  /// (persistence::CheckpointWriter), so that memory and transactions stay bounded
  /// whatever its size. Tests make it small to get many parts.
  std::size_t checkpoint_part_bytes = persistence::checkpoint_part_bytes_default;
};

/// 64-bit FNV-1a of the schema file's bytes: the schema a data directory belongs to.
std::uint64_t schema_content_hash(std::string_view schema_text);

/// Thread-safety: none; one session per data directory per process.
class PersistentSession {
 public:
  /// Opens (or creates) the store in `directory` and replays its log into `runner`, which
  /// must be fresh. The session holds the directory's lock (persistence::DirectoryLock)
  /// until it is destroyed. Fails, naming `directory` (and the epoch), when another
  /// process uses the directory ("DIR is in use by process PID"), when the store cannot
  /// be opened (a new or empty directory gets a new store; one whose data.mdb is gone
  /// while lock.mdb remains is refused), an epoch is corrupt, was written for another
  /// schema (hash of `schema_text` differs) or replays differently.
  /// REQUIRES: `runner` outlives the session.
  static Result<std::unique_ptr<PersistentSession>> open(const std::string& directory,
                                                         const std::string& schema_name,
                                                         std::string_view schema_text,
                                                         session::ScriptRunner& runner,
                                                         SessionOptions options = {});

  /// Runs one line like ScriptRunner::run_line (returns in *line_ok whether it succeeded)
  /// and logs an epoch when the line ends one; `checkpoint` takes a checkpoint. A non-ok
  /// Status means the epoch could not be made durable: the in-memory state is ahead of
  /// the log and the session must stop.
  Status run_line(std::string_view line, std::size_t line_no, std::string* out, bool* line_ok);

  /// Epochs replayed by open() (after the checkpoint it loaded, if any).
  std::uint64_t replayed_epochs() const { return replayed_; }
  /// Epoch of the checkpoint open() loaded; 0 when it replayed the log from the start.
  std::uint64_t loaded_checkpoint() const { return loaded_checkpoint_; }
  /// Last epoch in the log.
  std::uint64_t last_epoch() const { return last_epoch_; }

 private:
  PersistentSession(persistence::DirectoryLock lock, std::unique_ptr<persistence::Store> store,
                    std::string directory, std::string header, session::ScriptRunner& runner,
                    SessionOptions options);

  Status replay(std::uint64_t schema_hash, const std::string& schema_name);
  /// Loads `state` (a checkpoint at `epoch`) into the fresh runner.
  Status load_checkpoint(std::uint64_t epoch, std::string_view state, std::uint64_t schema_hash,
                         const std::string& schema_name);
  Status log_epoch();
  /// Adds the history and ledger records of the last commit/undo/redo to `wb`.
  Status record_versions(persistence::WriteBatch& wb, std::uint64_t epoch, std::uint64_t time_ns);
  /// `history REF.field [at EPOCH]` and `audit REF.effect`: appends the JSON line.
  Status query(std::string_view cmd, std::string_view line, std::string* out);
  /// Stores the runner's state as the checkpoint at last_epoch_; *bytes gets the size of
  /// its image (without the header, which names the schema file).
  Status take_checkpoint(std::size_t* bytes);

  persistence::DirectoryLock lock_;  ///< released after store_ is closed
  std::unique_ptr<persistence::Store> store_;
  std::string directory_;
  std::string header_;  ///< the batch header of this schema
  session::ScriptRunner* runner_;
  SessionOptions options_;
  std::uint64_t loaded_checkpoint_ = 0;
  std::uint64_t checkpoint_epoch_ = 0;  ///< epoch of the newest checkpoint (0: none)
  bool checkpoint_warned_ = false;      ///< an automatic checkpoint failed once
  /// Last stored value of each effect field seen this run (else read from the history).
  std::unordered_map<NodeId, Value> effect_values_;
  std::string pending_;  ///< logged lines since the last epoch, each "+ line\n" or "! line\n"
  std::uint64_t last_epoch_ = 0;
  std::uint64_t replayed_ = 0;
};

}  // namespace mgraph::node
