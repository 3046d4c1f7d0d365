#pragma once
// The coordinator's history of subscriptions (actors::WatchHistory) in an LMDB store of its
// own, `--data DIR`/watch: every epoch the driver ran, with the changes subscriptions are
// told, so that a subscriber further behind than the memory buffer — or one resuming after
// the coordinator restarted — gets every epoch's deltas instead of a snapshot
// (docs/CLUSTER.md, "Subscriptions").
//
// Layout: the store's field history (persistence::HistoryEntry) of one field, kField, with
// an epoch as its version; each value is a kind byte, the bytes of changes stored so far
// (u64, little-endian, this entry's included) and, for an epoch, its changes
// (codec::encode_field_changes). A `floor` entry marks where the history starts again
// after a reset. The store's checkpoint of scope "log" at 0 names the coordinator's log the
// history belongs to (the log's creation time): a history of another log is emptied at
// open. Writes skip fsync (persistence::Durability::nosync): a killed process loses
// nothing (the page cache keeps it); an OS crash may lose recent epochs, which the buffer
// then finds missing (its newest is behind the checkpoint the log runs from) and starts
// the history again from there.
//
// Retention ([cluster] watch_history_epochs and watch_history_bytes): the epochs of the
// newest `epochs_max` epoch numbers and `bytes_max` bytes of changes, trimmed by a
// sixteenth at a time (one deletion pass per sixteenth written).
//
// Thread-safety: none (the buffer calls it under its lock).

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "mgraph/actors/watch.hpp"
#include "mgraph/persistence/store.hpp"

namespace mgraph::node {

class LmdbWatchHistory final : public actors::WatchHistory {
 public:
  /// The one field of the store the history is kept as.
  static constexpr std::uint64_t kField = 1;

  /// Opens (creating when missing) the store in `directory` for the log identified by
  /// `log_id`; errors name the directory. REQUIRES: epochs_max >= 1, bytes_max >= 1.
  static Result<std::unique_ptr<LmdbWatchHistory>> open(const std::string& directory, std::uint64_t log_id,
                                                        std::uint64_t epochs_max, std::uint64_t bytes_max);
  /// The history of a coordinator without --data: a new store in a directory made under
  /// `parent` (the system's temporary directory), whose files are removed as soon as the
  /// store has them open, so that it takes disk space while the process runs and none after
  /// it, however it ends (a SIGKILL included). Errors name `parent`.
  static Result<std::unique_ptr<LmdbWatchHistory>> open_unlinked(const std::string& parent, std::uint64_t log_id,
                                                                 std::uint64_t epochs_max, std::uint64_t bytes_max);

  codec::Epoch floor() const override { return floor_; }
  codec::Epoch newest() const override { return newest_; }
  Status add(const std::vector<actors::HeldEpoch>& epochs) override;
  Status reset(codec::Epoch epoch) override;
  Status truncate(codec::Epoch epoch) override;
  Result<std::vector<actors::HeldEpoch>> read(codec::Epoch from, std::size_t epochs_max,
                                              std::size_t bytes_max) override;

  std::uint64_t bytes() const override { return cum_ - cum_before_first_; }

 private:
  LmdbWatchHistory(std::unique_ptr<persistence::Store> store, std::string directory, std::uint64_t epochs_max,
                   std::uint64_t bytes_max)
      : store_(std::move(store)), directory_(std::move(directory)), epochs_max_(epochs_max), bytes_max_(bytes_max) {}
  /// Reads floor, newest and the byte counts from the store.
  Status load();
  /// Drops the oldest epochs beyond the retention.
  Status trim();
  /// Writes a floor marker at `epoch`: the history starts again after it.
  Status put_floor(codec::Epoch epoch);
  Status named(const Status& s) const;

  std::unique_ptr<persistence::Store> store_;
  std::string directory_;
  std::uint64_t epochs_max_;
  std::uint64_t bytes_max_;
  codec::Epoch floor_ = 0;
  codec::Epoch newest_ = 0;
  std::uint64_t cum_ = 0;               ///< bytes of changes stored so far, ever
  std::uint64_t cum_before_first_ = 0;  ///< of those, the bytes of epochs dropped
};

}  // namespace mgraph::node
