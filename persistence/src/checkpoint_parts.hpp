#pragma once
// Checkpoints in the checkpoints database, in either of its two shapes: one record
// (format 1 and 2), or, in format 2, a completing record plus parts in checkpoint_parts
// (CheckpointWriter). What readers, writers, compaction and verify share.

#include <lmdb.h>

#include <cstdint>
#include <string_view>

#include "mgraph/graph/status.hpp"
#include "mgraph/persistence/records.hpp"
#include "store_impl.hpp"

namespace mgraph::persistence::detail {

/// A key of the checkpoints database, taken apart.
struct CheckpointKey {
  std::string_view scope;
  std::uint64_t epoch = 0;
  bool parted = false;  ///< the completing record of a checkpoint in parts
  std::uint64_t gen = 0;
};

/// Parses a key of either shape; corruption naming the file when it is neither.
Status parse_checkpoint_key(const StoreImpl& store, const MDB_val& key, CheckpointKey* out);

/// Decodes the checkpoint of record (k, v) into `out`: its state is the record's payload,
/// or, for a parted record, its parts read in order from `txn` (each checksummed, their
/// number and total size checked against the record).
Status load_checkpoint(const StoreImpl& store, MDB_txn* txn, const MDB_val& k, const MDB_val& v,
                       Checkpoint& out);

/// Deletes the parts of (scope, epoch, gen), or of every generation of (scope, epoch) when
/// `all_gens`. Bounded by the parts there are.
Status delete_parts(WriteTxn& txn, std::string_view scope, std::uint64_t epoch,
                    std::uint64_t gen, bool all_gens);

/// Deletes every checkpoint of (scope, epoch), of either shape and with its parts, except
/// the record whose key is `keep`.
Status delete_checkpoints_at(WriteTxn& txn, std::string_view scope, std::uint64_t epoch,
                             std::string_view keep);

}  // namespace mgraph::persistence::detail
