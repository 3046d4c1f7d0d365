#pragma once
// How a Store is opened.

#include <cstdint>

namespace mgraph::persistence {

/// When a committed write transaction reaches the disk.
enum class Durability : unsigned char {
  /// Every commit is fsync'ed before it returns (LMDB default). A commit that returned
  /// survives a process kill, an OS crash and a power loss.
  sync,
  /// UNSAFE, for tests and bulk loading: commits skip fsync (MDB_NOSYNC). A commit that
  /// returned survives a process kill (the page cache keeps it) but an OS crash or power
  /// loss may lose recent commits or, with a file system that reorders writes, the store.
  nosync,
};

/// Name of a durability mode ("sync", "nosync").
const char* durability_name(Durability durability);

/// Options of Store::open.
struct StoreOptions {
  Durability durability = Durability::sync;
  /// Map size a new environment starts with; an existing one keeps the larger of this and
  /// the size recorded in its file. Modest on purpose: the map grows by doubling.
  std::uint64_t map_size_initial_bytes = std::uint64_t{64} << 20;
  /// The map never grows beyond this; a write that needs more fails with out_of_range.
  std::uint64_t map_size_max_bytes = std::uint64_t{64} << 30;
  /// Create the directory (its parent must exist) and a new store when none is there.
  bool create_if_missing = true;
  /// A store of checkpoints whose input log another store keeps (a cluster node's
  /// partitions: the coordinator logs the epochs). Log appends are refused; a checkpoint
  /// may be at any epoch (rule 4 of Store is not checked: there is no log to be ahead of);
  /// drop_checkpoints_before, not compact, retires old ones.
  bool checkpoints_only = false;
};

}  // namespace mgraph::persistence
