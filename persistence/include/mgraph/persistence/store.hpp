#pragma once
// Store: mgraph's durable state in one LMDB environment (a directory holding data.mdb and
// lock.mdb): the input log, checkpoints, field version history and the effect ledger.

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "mgraph/graph/status.hpp"
#include "mgraph/persistence/limits.hpp"
#include "mgraph/persistence/log_cursor.hpp"
#include "mgraph/persistence/options.hpp"
#include "mgraph/persistence/records.hpp"
#include "mgraph/persistence/write_batch.hpp"

namespace mgraph::persistence {

namespace detail {
struct StoreImpl;
}  // namespace detail

/// On-disk format this build writes (meta key "format_version"): 2 added checkpoints
/// stored in parts (database checkpoint_parts). A store of format 1 is read as well, and
/// becomes format 2 with its first checkpoint in parts.
inline constexpr std::uint32_t format_version = 2;
/// Oldest on-disk format this build reads.
inline constexpr std::uint32_t format_version_oldest = 1;
/// Value of meta key "magic": marks an LMDB environment as an mgraph store.
inline constexpr std::string_view store_magic = "mgraph.persistence";

/// What Store::info reports.
struct StoreInfo {
  std::string directory;
  std::string data_file;  ///< directory + "/data.mdb": named in every error about the data
  std::uint32_t format_version = 0;
  std::uint64_t created_time_ns = 0;  ///< wall clock when the store was created
  std::string created_by;             ///< "mgraph <version>" of the creating build
  Durability durability = Durability::sync;
  std::uint64_t map_size_bytes = 0;        ///< current map size
  std::uint64_t map_size_max_bytes = 0;    ///< bound of map growth
  std::uint64_t map_growth_count = 0;      ///< map doublings since open
  std::uint64_t log_compacted_before = 0;  ///< log entries below this epoch were deleted
};

/// Where recovery of one scope starts: its newest checkpoint, then the log after it.
struct Recovery {
  std::optional<Checkpoint> checkpoint;  ///< none: replay the whole log from the start
  LogCursor log;                         ///< entries after checkpoint->epoch (or all)
};

/// Counts of what Store::verify read and found intact.
struct VerifyReport {
  std::uint64_t log_entries = 0;
  std::uint64_t checkpoints = 0;
  std::uint64_t history_entries = 0;
  std::uint64_t ledger_entries = 0;
  std::uint64_t meta_entries = 0;
  std::uint64_t checkpoint_parts = 0;  ///< parts of checkpoints stored in parts
};

class CheckpointWriter;

/// The LMDB store of one node.
///
/// Invariants (checked by Store::write before anything is written, and by verify()):
///  1. log: epochs are > 0 and strictly increasing; an append at or below the last logged
///     epoch, or below the compaction bound, is rejected.
///  2. history: per field, versions strictly increase and epochs never decrease.
///  3. ledger: per (effect field, version), seq strictly increases, the first record is a
///     transition, and that version exists in history (effect fields always keep history).
///  4. checkpoints: a checkpoint's epoch is at most the last logged epoch; one stored in
///     parts (CheckpointWriter) is seen by readers only once all its parts are.
///  5. every record carries a CRC-32C over its database, key and value; every read checks it.
///  6. compaction never deletes a log entry that the newest checkpoint of any scope still
///     needs, so recovery from every retained checkpoint is exact.
///
/// Errors are values: every LMDB failure becomes a Status naming the operation, the file and
/// mdb_strerror's text; bad stored bytes are `corruption`, broken rules `invalid_argument`
/// or `failed_precondition`, exceeded bounds `out_of_range`.
///
/// Thread-safety: none. One owner at a time (an actor), which may move between threads
/// between calls (the environment uses MDB_NOTLS). One Store per directory per process.
class Store {
 public:
  /// Opens (or, with options.create_if_missing, creates) the store in `directory`.
  /// A directory whose data.mdb is truncated, not an LMDB file, an LMDB file of another
  /// program, or an mgraph store of another format version is refused with a Status that
  /// names the file and what is wrong; nothing is modified then.
  static Result<std::unique_ptr<Store>> open(const std::string& directory,
                                             const StoreOptions& options = {});

  ~Store();
  Store(const Store&) = delete;
  Store& operator=(const Store&) = delete;

  /// Paths, format, creation info, map size and compaction bound.
  StoreInfo info() const;

  /// Commits every operation of `batch` in one write transaction (one fsync in sync mode),
  /// or none of them. Grows the map (doubling, up to map_size_max_bytes) and retries when
  /// LMDB reports MDB_MAP_FULL. An empty batch commits nothing and succeeds.
  Status write(const WriteBatch& batch);

  // ---- input log ----

  /// Highest epoch ever logged (also after compaction); 0 for a new store.
  Result<std::uint64_t> last_epoch() const;
  /// The entry of `epoch`, or nullopt when there is none.
  Result<std::optional<LogEntry>> log_entry(std::uint64_t epoch) const;
  /// Replaces the contents of `out` by up to `entries_max` entries with epoch > after_epoch,
  /// in order, stopping early once about read_chunk_bytes_max bytes were copied (never before
  /// the first entry). Reuses the strings already in `out`. Fails with failed_precondition
  /// when entries after `after_epoch` were compacted away.
  /// REQUIRES: 0 < entries_max <= read_entries_max.
  Status read_log(std::uint64_t after_epoch, std::size_t entries_max,
                  std::vector<LogEntry>& out) const;
  /// A cursor over the entries with epoch > after_epoch.
  /// REQUIRES: 0 < chunk_entries_max <= read_entries_max.
  LogCursor log_cursor(std::uint64_t after_epoch, std::size_t chunk_entries_max = 1024) const;

  // ---- checkpoints and recovery ----

  /// Newest checkpoint of `scope`, or nullopt when it has none.
  Result<std::optional<Checkpoint>> newest_checkpoint(std::string_view scope) const;
  /// The checkpoint of `scope` at exactly `epoch`, or nullopt when there is none.
  Result<std::optional<Checkpoint>> checkpoint_at(std::string_view scope, std::uint64_t epoch) const;
  /// Deletes the checkpoints of `scope` whose epoch is below `epoch` (and their parts). The
  /// log is untouched: in a store that keeps one, recovery uses the newest checkpoint,
  /// which this never deletes unless it is itself below `epoch`.
  Status drop_checkpoints_before(std::string_view scope, std::uint64_t epoch);
  /// Newest checkpoint of `scope` and a cursor over the log entries after it.
  Result<Recovery> recover(std::string_view scope) const;
  /// Deletes log entries with epoch < before_epoch, and the checkpoints that would need them.
  /// REQUIRES (else failed_precondition, nothing deleted): at least one checkpoint exists,
  /// and every scope's newest checkpoint has epoch >= before_epoch - 1, so that recovery of
  /// every scope stays exact. The highest logged epoch is remembered: appends below it stay
  /// rejected even when the log becomes empty.
  Status compact(std::uint64_t before_epoch);

  // ---- field history ----

  /// The field's value at `epoch`: its latest version whose epoch is <= `epoch`; nullopt
  /// when the field had no version yet.
  Result<std::optional<HistoryEntry>> value_at(std::uint64_t field_id, std::uint64_t epoch) const;
  /// Up to `entries_max` versions of the field with version >= version_from, in version
  /// order. A full history is read page by page: next version_from = last version + 1.
  /// REQUIRES: 0 < entries_max <= read_entries_max.
  Result<std::vector<HistoryEntry>> history(std::uint64_t field_id, std::uint64_t version_from = 0,
                                            std::size_t entries_max = read_entries_max) const;
  /// Deletes the field's versions below `version` (none at or above it), in transactions
  /// of at most compact_entries_per_txn_max deletions: a bounded history's retention. A crash
  /// between them leaves a shorter prefix deleted, which a call again finishes. Refused
  /// (failed_precondition, nothing deleted) when the ledger has a record of the field below
  /// `version`: ledger records name history versions (invariant 3).
  Status drop_history_before(std::uint64_t field_id, std::uint64_t version);
  /// Deletes the field's versions at and after `version` (none before it), in the same
  /// bounded transactions: a history that must be written again from there. Refused
  /// (failed_precondition, nothing deleted) when the ledger has a record of the field at or
  /// after `version`.
  Status drop_history_from(std::uint64_t field_id, std::uint64_t version);

  // ---- effect ledger ----

  /// Up to `entries_max` ledger records of the effect field at (version, seq) >=
  /// (version_from, seq_from), ordered by version then seq: the audit trail. Next page:
  /// (last.version, last.seq + 1).
  /// REQUIRES: 0 < entries_max <= read_entries_max.
  Result<std::vector<LedgerEntry>> audit_trail(std::uint64_t effect_field_id,
                                               std::uint64_t version_from = 0,
                                               std::uint64_t seq_from = 0,
                                               std::size_t entries_max = read_entries_max) const;

  // ---- integrity ----

  /// Reads every record of every database, checks its checksum, its key's shape and the
  /// ordering invariants above; the first problem found is returned as corruption.
  Result<VerifyReport> verify() const;

 private:
  friend class CheckpointWriter;
  explicit Store(std::unique_ptr<detail::StoreImpl> impl);

  std::unique_ptr<detail::StoreImpl> impl_;
};

}  // namespace mgraph::persistence
