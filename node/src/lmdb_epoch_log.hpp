#pragma once
// The sequencer's epoch log (actors/documents.hpp) in a node's LMDB store: each epoch one
// entry of the input log, its batch of typed operations as the codec encodes it, durable
// before anything of the epoch lasts (while the driver applies and computes it); and the
// history and ledger of versions the sequencer records from the epochs it ran
// (session/version_ledger.hpp), written with the entries.
//
// A group of epochs is made durable in the write-ahead file DIR/epochs.wal (epoch_wal.hpp)
// with one fdatasync, and kept in memory until it moves into the store: with the next
// group that does not fit the file or is larger than kEpochWalGroupBytesMax, or more than
// kWalEntriesMax entries, or enough staged records, and before any other write of the
// store (a flush, a compaction), all in one synced LMDB transaction; the file is then
// written from its start again. Opening the log moves what the file holds beyond the
// store's last entry into the store.

#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "epoch_wal.hpp"
#include "mgraph/actors/documents.hpp"
#include "mgraph/persistence/store.hpp"

namespace mgraph::node {

/// Staged history and ledger records an append takes at least: records of many epochs in
/// one write touch each B-tree page once where an epoch at a time would write it again and
/// again (a tenth of a million acknowledged deliveries a second are 3 records each); 8,192
/// records are about a megabyte held.
inline constexpr std::size_t kStagedRecordsMin = 8192;
/// Entries held in the write-ahead file (and in memory) before they move into the store:
/// one LMDB write transaction takes them with the staged records, well inside the store's
/// bound on a batch's operations (persistence::write_batch_ops_max).
inline constexpr std::size_t kWalEntriesMax = 16384;

class LmdbEpochLog final : public actors::EpochLog {
 public:
  /// The wall clock, in nanoseconds since the Unix epoch: the time an epoch is logged at.
  using Clock = std::function<std::uint64_t()>;

  /// Opens (creating when missing) the store in `directory` and its write-ahead file,
  /// moving the entries the file holds beyond the store's into it; errors name them. `sync`
  /// is the file's (EpochWal::Sync; tests make it fail), `wal_bytes` its size when made
  /// (tests make it small, so that it fills).
  static Result<std::unique_ptr<LmdbEpochLog>> open(const std::string& directory, Clock clock,
                                                    EpochWal::Sync sync = {},
                                                    std::size_t wal_bytes = kEpochWalBytes);

  Status append(codec::Epoch epoch, std::string_view batch) override;
  /// One write and one sync of the write-ahead file for the whole group (or one LMDB
  /// transaction, see above).
  Status append_group(const std::vector<std::pair<codec::Epoch, std::string_view>>& epochs) override;
  Status replay(const std::function<Status(codec::Epoch, std::string_view)>& f) override;
  Result<codec::Epoch> last() override;
  /// Entries durable in the write-ahead file only (not in the store yet).
  std::size_t held() const { return held_.size(); }
  /// Deletes the entries before `before`. The store keeps a checkpoint of scope "log" at
  /// before - 1 (no state: the partitions' checkpoints are on their nodes) so that its
  /// compaction rule — every scope can still recover — holds.
  Status compact(codec::Epoch before) override;
  /// Staged records go into an append once there are kStagedRecordsMin of them, and into a
  /// compaction or a flush always.
  void stage(session::VersionRecords records) override;
  Status flush() override;
  const session::LedgerReader* ledger() const override { return &reader_; }
  /// When the store was created (ns since the Unix epoch): what tells this log from another
  /// one made in the same directory later (the history of subscriptions checks it).
  std::uint64_t created_time_ns() const { return store_->info().created_time_ns; }

 private:
  LmdbEpochLog(std::unique_ptr<persistence::Store> store, std::string directory, Clock clock)
      : store_(std::move(store)), reader_(*store_), directory_(std::move(directory)), clock_(std::move(clock)) {}
  /// Writes `wb` after the held entries, with the staged records if `with_staged`, and
  /// rewinds the write-ahead file. Records the store refuses are dropped (logged, and said
  /// in *records) and the entries written alone.
  Status write(const persistence::WriteBatch& wb, bool with_staged, Status* records = nullptr);
  bool staged_enough() const;
  /// A batch that starts with the held entries (every write of the store moves them).
  persistence::WriteBatch with_held() const;

  /// The entries in the write-ahead file only, in order (moved by the next write).
  std::vector<WalEntry> held_;
  std::unique_ptr<EpochWal> wal_;

  std::unique_ptr<persistence::Store> store_;
  session::StoreLedgerReader reader_;
  session::VersionRecords staged_;
  std::string directory_;
  Clock clock_;
};

}  // namespace mgraph::node
