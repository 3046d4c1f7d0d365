#pragma once
// CheckpointWriter: a checkpoint too large for one transaction, written in parts.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "mgraph/graph/status.hpp"
#include "mgraph/persistence/limits.hpp"
#include "mgraph/persistence/store.hpp"

namespace mgraph::persistence {

/// Writes the state of one checkpoint as it is produced: append() buffers at most one part
/// and stores each full part in its own write transaction; finish() stores the last part
/// and the record that completes the checkpoint in one transaction. Readers
/// (newest_checkpoint, recover) see the previous checkpoint until then, and never a part
/// of this one: a writer that fails or is killed part way leaves parts that no reader
/// looks at, deleted by the next writer of the scope (or by compaction). A state that fits
/// in one part is stored as one ordinary checkpoint record.
///
/// Memory: one part, whatever the size of the checkpoint. Transactions: one per part.
/// Thread-safety: none; one writer per store at a time, and no other writes to the store
/// between begin() and finish() but this writer's (the session's own epochs come after).
/// REQUIRES: the Store outlives the writer.
class CheckpointWriter {
 public:
  /// A checkpoint of `scope` at `epoch` (rules of Store::write: at most the last logged
  /// epoch, not below the compaction bound), in parts of `part_bytes` bytes
  /// (checkpoint_part_bytes_min..checkpoint_part_bytes_max). Deletes the parts earlier
  /// writers of the scope left unfinished.
  static Result<CheckpointWriter> begin(Store& store, std::string_view scope, std::uint64_t epoch,
                                        std::size_t part_bytes = checkpoint_part_bytes_default);

  /// Adds `bytes` to the state; stores every part that fills up. After a failure the
  /// writer is spent: every later call fails (nothing of it is visible to readers).
  Status append(std::string_view bytes);

  /// Stores the rest and makes the checkpoint the scope's newest, replacing any other
  /// checkpoint of the scope at the same epoch. REQUIRES: not called before.
  Status finish();

  /// State bytes appended so far.
  std::uint64_t state_bytes() const { return state_bytes_; }
  /// Parts stored so far (finish() stores the last one).
  std::uint32_t parts_written() const { return parts_written_; }

 private:
  CheckpointWriter(Store& store, std::string scope, std::uint64_t epoch, std::uint64_t gen,
                   std::size_t part_bytes);
  Status write_part();

  Store* store_;
  std::string scope_;
  std::uint64_t epoch_;
  std::uint64_t gen_;  ///< generation of this writer's parts (after any at the same epoch)
  std::size_t part_bytes_;
  std::string buffer_;  ///< the part being filled
  std::uint64_t state_bytes_ = 0;
  std::uint32_t parts_written_ = 0;
  bool spent_ = false;
};

}  // namespace mgraph::persistence
