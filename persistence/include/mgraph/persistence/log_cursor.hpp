#pragma once
// LogCursor: walks the input log forward in bounded chunks.

#include <cstddef>
#include <cstdint>
#include <vector>

#include "mgraph/graph/status.hpp"
#include "mgraph/persistence/limits.hpp"
#include "mgraph/persistence/records.hpp"

namespace mgraph::persistence {

class Store;

/// Yields the log entries with epoch > a start epoch, in epoch order, reading at most
/// `chunk_entries_max` entries (and about read_chunk_bytes_max bytes) per LMDB read
/// transaction. Between chunks it holds no transaction: a cursor never pins old pages and
/// never blocks the map from growing, and entries appended meanwhile are seen by later
/// chunks. Every entry's checksum is verified as it is read.
///
/// Thread-safety: none. REQUIRES: the Store outlives the cursor.
class LogCursor {
 public:
  /// The next entry; nullptr once the end of the log is reached. The entry stays valid
  /// until the next call. Corruption, or a start epoch whose successors were compacted
  /// away, is an error and the cursor stays at the failing position.
  Result<const LogEntry*> next();

  /// Epoch of the last entry returned, or the start epoch before the first one.
  std::uint64_t position() const { return position_; }

 private:
  friend class Store;
  LogCursor(const Store* store, std::uint64_t after_epoch, std::size_t chunk_entries_max);

  const Store* store_;
  std::uint64_t position_;
  std::size_t chunk_entries_max_;
  std::vector<LogEntry> chunk_;
  std::size_t chunk_index_ = 0;  ///< next entry of chunk_ to return
};

}  // namespace mgraph::persistence
