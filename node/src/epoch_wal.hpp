#pragma once
// The epoch log's write-ahead file (lmdb_epoch_log.hpp): where a group of epochs becomes
// durable with one fdatasync, ahead of the LMDB store that keeps them (whose commit syncs
// twice: its pages, then its meta page). The log moves what the file holds into the store
// now and then, in one synced LMDB transaction, and the file is written from its start
// again.
//
// Layout: a file of `capacity` bytes, zero-filled when made, so that a write lands on
// blocks the filesystem has already allocated and written: fdatasync then flushes data
// alone, without a journal commit for the file's size or extents. Records follow each
// other from offset 0, each 8-byte aligned:
//
//   u32 magic "MGWL" | u32 crc32c (masked) of the rest | u64 store id | u64 epoch |
//   u64 time (ns since the Unix epoch) | u32 batch bytes | u32 zero | batch | zero padding
//
// The store id is the LMDB store's creation time: a file beside another store holds
// nothing of it. Reading stops at the first record that is not valid (torn, zeroes, another
// store's) or whose epoch is not above the one before it: records left from before the
// file was written from its start again hold epochs the store already has, all below the
// new ones, so they end the reading (and the log skips any epoch the store holds).
//
// A group whose write or sync fails is unwritten at once (its first header zeroed and
// synced), so a restart does not read epochs the sequencer rolled back; the next group is
// written at the same place.
//
// Thread-safety: none (the sequencer's log thread).

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "mgraph/codec/epoch_codec.hpp"
#include "mgraph/graph/status.hpp"

namespace mgraph::node {

/// The file's size: groups of small epochs (a single write's batch is ~100 B to a few KiB)
/// fill it in tens of thousands of epochs, so moving it into the store (one LMDB
/// transaction) is rare.
inline constexpr std::size_t kEpochWalBytes = std::size_t{8} << 20;
/// Groups of records larger than this go to the store directly: a group that large comes
/// from many transactions at once or a bulk load, where the second sync is shared by all
/// of them and LMDB writes the bytes once instead of twice (measured: durable throughput
/// 5% lower with such groups in the file too); a latency-sized group (one write's epoch) is
/// well under it.
inline constexpr std::size_t kEpochWalGroupBytesMax = std::size_t{64} << 10;
/// A record's header.
inline constexpr std::size_t kEpochWalHeaderBytes = 40;

struct WalEntry {
  codec::Epoch epoch = 0;
  std::uint64_t time_ns = 0;
  std::string batch;
};

class EpochWal {
 public:
  /// What makes written bytes durable: fdatasync by default; tests make it fail.
  using Sync = std::function<int(int fd)>;

  /// Opens `path`, making it (zero-filled to `capacity` bytes, synced) when missing or
  /// smaller; records of other stores than `store_id` are never read. Errors name the path.
  static Result<std::unique_ptr<EpochWal>> open(const std::string& path, std::uint64_t store_id,
                                                std::size_t capacity = kEpochWalBytes,
                                                Sync sync = {});
  ~EpochWal();
  EpochWal(const EpochWal&) = delete;
  EpochWal& operator=(const EpochWal&) = delete;

  /// The valid records from the file's start, in order (see the layout above).
  Result<std::vector<WalEntry>> read() const;
  /// Bytes `batches` take as records.
  static std::size_t record_bytes(std::size_t batch_bytes);
  /// Whether records of `bytes` (record_bytes summed) fit after those written.
  bool fits(std::size_t bytes) const { return used_ + bytes <= capacity_; }
  /// Writes the epochs' records after those written, with one write and one sync. On
  /// failure nothing of them may be read back (see above) and the position stays.
  Status append(const std::vector<std::pair<codec::Epoch, std::string_view>>& epochs,
                std::uint64_t time_ns);
  /// Writes from the file's start again: the store holds every record written.
  void rewind() { used_ = 0; }
  /// Whether a failed append could not be unwritten: the file must not be written again.
  bool broken() const { return broken_; }
  std::size_t used() const { return used_; }
  std::size_t capacity() const { return capacity_; }
  const std::string& path() const { return path_; }

 private:
  EpochWal(int fd, std::string path, std::uint64_t store_id, std::size_t capacity, Sync sync)
      : fd_(fd),
        path_(std::move(path)),
        store_id_(store_id),
        capacity_(capacity),
        sync_(std::move(sync)) {}

  int fd_;
  std::string path_;
  std::uint64_t store_id_;
  std::size_t capacity_;
  Sync sync_;
  std::size_t used_ = 0;
  bool broken_ = false;
  std::string buffer_;  ///< a group's records, reused
};

}  // namespace mgraph::node
