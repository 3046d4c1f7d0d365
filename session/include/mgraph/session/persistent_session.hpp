#pragma once
// `mgraph eval --data DIR` and its C++ form (library mgraph_session; examples/
// persistent_demo.cpp): the script runner made persistent through the LMDB input log and
// checkpoints (docs/SCRIPTS.md, section "Persistent sessions").
//
// Every line that changes state (create, update, delete, link, unlink, set, ack, commit,
// reject, undo, redo) is kept as the typed operation it meant (classifier.hpp), with its
// result and the alias it gave. When a `commit`, `undo` or `redo` succeeds, these become
// one epoch of the store's input log — an AppliedBatch encoded by the codec
// (codec/session_codec.hpp) — written and fsync'ed before the next line runs. The runner
// names every record by id when its line runs, so a logged op names records by id, those
// created earlier in the same epoch included; aliases travel beside the ops. A change of
// the script grammar is therefore not a change of the log's format.
//
// Every `checkpoint_every` epochs, and on the `checkpoint` command, the session's whole
// state (documents, versions, undo/redo history, aliases: a RunnerImage encoded by the
// codec) is stored as a checkpoint of scope "eval" at the last epoch, streamed from the
// encoder into the store in parts of bounded size. Opening loads the newest checkpoint,
// then applies the operations of the epochs after it through the runner (which gives
// their aliases as their lines did), and checks that each op has the outcome it had when
// it was logged (success or failure, and the record a create made), so the reopened
// session is exactly the state the logged lines produced. Epochs of format version 1
// (script text, one line each) are still replayed line by line; new epochs are always
// written in the current version.
//
// Each epoch also stores, in the same LMDB transaction, a version history entry for every
// changed field that is an effect or marked @versioned ((node id, version) -> value,
// epoch, time), and for effect fields a ledger record per change (a `transition`, plus an
// `ack` when the change is an acknowledgement). `history REF.field [at EPOCH]` and
// `audit REF.effect` read them back.

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "mgraph/session/script_runner.hpp"
#include "mgraph/session/version_ledger.hpp"
#include "mgraph/graph/status.hpp"
#include "mgraph/persistence/directory_lock.hpp"
#include "mgraph/persistence/store.hpp"
#include "mgraph/persistence/write_batch.hpp"

namespace mgraph::session {

/// First line of every epoch's log entry; the number is the entry's format version: 2
/// since an entry holds typed operations (the two header lines, then the encoded
/// AppliedBatch); 1 (the header, then the script lines, each "+ line" or "! line") is
/// read too.
inline constexpr std::string_view kEvalLogMagic = "mgraph-eval-log";
inline constexpr std::uint32_t kEvalLogVersion = 2;
inline constexpr std::uint32_t kEvalLogOldestVersion = 1;

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
  /// After each checkpoint, delete the log entries it covers (their operations are no
  /// longer needed to reopen; they are no longer there to read either).
  bool compact_log = false;
  /// A checkpoint is stored in parts of this many bytes, each in its own transaction
  /// (persistence::CheckpointWriter), so that memory and transactions stay bounded
  /// whatever its size. Tests make it small to get many parts.
  std::size_t checkpoint_part_bytes = persistence::checkpoint_part_bytes_default;
  /// The time an epoch is logged at, in nanoseconds since the Unix epoch (the log's, the
  /// history's and the ledger's `time_ns`); empty: the system clock. Tests give a fixed one.
  std::function<std::uint64_t()> wall_clock_ns{};
};

/// 64-bit FNV-1a of the schema file's bytes: the schema a data directory belongs to.
std::uint64_t schema_content_hash(std::string_view schema_text);

/// The two header lines of a log entry or a checkpoint: "MAGIC VERSION", then
/// "schema HASH NAME" (HASH: schema_content_hash, 16 hex digits), each ending in '\n'.
std::string eval_header(std::string_view magic, std::uint32_t version, std::uint64_t schema_hash,
                        std::string_view schema_name);

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
                                                         ScriptRunner& runner,
                                                         SessionOptions options = {});

  /// Runs one line like ScriptRunner::run_line (returns in *line_ok whether it succeeded)
  /// and logs an epoch when the line ends one; `checkpoint` takes a checkpoint, `history`
  /// and `audit` read the stored history. A non-ok
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
                    std::string directory, std::uint64_t schema_hash, std::string schema_name,
                    ScriptRunner& runner, SessionOptions options);

  Status replay();
  /// Replays the body of one log entry of format version 1 (script lines) or 2 (an
  /// AppliedBatch); `where` names the directory and the epoch.
  Status replay_lines(std::string_view body, const std::string& where);
  Status replay_ops(std::string_view body, const std::string& where);
  /// Loads `state` (a checkpoint at `epoch`) into the fresh runner.
  Status load_checkpoint(std::uint64_t epoch, std::string_view state);
  /// Checks the header of a log entry or checkpoint and removes it from *rest; *version
  /// gets its format version, which must be in [oldest, newest].
  Status check_header(std::string_view* rest, std::string_view magic, std::uint32_t oldest,
                      std::uint32_t newest, const std::string& where, const char* kind,
                      std::uint32_t* version) const;
  Status log_epoch();
  /// Adds the history and ledger records of the last commit/undo/redo, and of the results
  /// (resolve) of the epoch being logged, to `wb`.
  Status record_versions(persistence::WriteBatch& wb, std::uint64_t epoch, std::uint64_t time_ns);
  /// `history REF.field [at EPOCH]` and `audit REF.effect`: appends the JSON line.
  Status query(std::string_view line, std::string* out);
  /// Stores the runner's state as the checkpoint at last_epoch_; *bytes gets the size of
  /// its image (without the header, which names the schema file).
  Status take_checkpoint(std::size_t* bytes);

  persistence::DirectoryLock lock_;  ///< released after store_ is closed
  std::unique_ptr<persistence::Store> store_;
  std::string directory_;
  std::uint64_t schema_hash_;
  std::string schema_name_;
  ScriptRunner* runner_;
  SessionOptions options_;
  std::uint64_t loaded_checkpoint_ = 0;
  std::uint64_t checkpoint_epoch_ = 0;  ///< epoch of the newest checkpoint (0: none)
  bool checkpoint_warned_ = false;      ///< an automatic checkpoint failed once
  /// The history and ledger records of each epoch (version_ledger.hpp), read back from
  /// the store for a field this run has not recorded yet.
  StoreLedgerReader reader_;
  VersionRecorder recorder_;
  /// The logged lines since the last epoch: their operations, results and aliases.
  AppliedBatch pending_;
  std::uint64_t last_epoch_ = 0;
  std::uint64_t replayed_ = 0;
};

}  // namespace mgraph::session
