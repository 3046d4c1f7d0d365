#pragma once
// Bounds of the persistence module. Each is enforced where data enters the store, so a
// caller learns of an oversized input at once (out_of_range) instead of from LMDB later.

#include <cstddef>
#include <cstdint>

namespace mgraph::persistence {

/// Scope names key checkpoints; LMDB keys are at most 511 bytes, so scopes stay well below.
inline constexpr std::size_t scope_bytes_max = 128;

/// One log record's batch. Larger epochs must be split by the coordinator.
inline constexpr std::size_t log_batch_bytes_max = std::size_t{64} << 20;

/// One checkpoint's state bytes (a partition's serialized graph) in one record (WriteBatch).
inline constexpr std::size_t checkpoint_state_bytes_max = std::size_t{1} << 30;

/// Bytes of each part of a checkpoint written in parts (CheckpointWriter): each part is
/// one record in its own write transaction, so neither a transaction's dirty pages nor the
/// writer's buffer grows with the checkpoint. The default, and the accepted range (the
/// smallest, for tests that want many parts; the largest, to keep one part's transaction
/// small against the map and the page cache).
inline constexpr std::size_t checkpoint_part_bytes_default = std::size_t{16} << 20;
inline constexpr std::size_t checkpoint_part_bytes_min = std::size_t{1} << 10;
inline constexpr std::size_t checkpoint_part_bytes_max = std::size_t{256} << 20;
/// Parts of one checkpoint: a reader assembles the state in memory, so this bounds it too
/// (with the default part size, 16 GiB).
inline constexpr std::uint32_t checkpoint_parts_max = 1024;

/// One historical field value.
inline constexpr std::size_t history_value_bytes_max = std::size_t{16} << 20;

/// One ledger record's detail bytes (consumer id, error text, ...).
inline constexpr std::size_t ledger_detail_bytes_max = std::size_t{1} << 20;

/// Operations in one WriteBatch: one LMDB write transaction must stay well inside LMDB's
/// dirty-page limit (MDB_IDL_UM_MAX, 128 Ki pages).
inline constexpr std::size_t write_batch_ops_max = 100'000;

/// Payload bytes in one WriteBatch, for the same reason.
inline constexpr std::size_t write_batch_bytes_max = std::size_t{1} << 30;

/// Entries returned by one bounded read (log chunk, history page, audit trail page).
inline constexpr std::size_t read_entries_max = 100'000;

/// Payload bytes one log chunk read copies out before it stops early (at least one entry is
/// always returned, so a single large record still makes progress).
inline constexpr std::size_t read_chunk_bytes_max = std::size_t{16} << 20;

/// Map doublings per write: 64 doublings of any starting size exceed 2^64 bytes.
inline constexpr int map_growth_steps_max = 64;

/// Log entries deleted per compaction transaction, to bound one transaction's dirty pages.
inline constexpr std::size_t compact_entries_per_txn_max = 50'000;

/// Smallest map a store may start with: LMDB needs room for its meta pages and a few trees.
inline constexpr std::uint64_t map_size_min_bytes = std::uint64_t{256} << 10;

}  // namespace mgraph::persistence
