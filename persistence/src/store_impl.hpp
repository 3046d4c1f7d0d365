#pragma once
// The state behind a Store and the LMDB plumbing its parts share: error translation,
// transactions and cursors as scoped objects, and the map-growing write loop.

#include <lmdb.h>

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "mgraph/graph/status.hpp"
#include "mgraph/persistence/options.hpp"
#include "record_codec.hpp"

namespace mgraph::persistence::detail {

/// "operation on file: mdb_strerror text (rc N)" with a code chosen from rc.
Status lmdb_status(int rc, std::string_view operation, const std::string& file);

class WriteTxn;

/// Everything a Store owns. Invariant: readers_active is 0 whenever the map is resized.
struct StoreImpl {
  std::string directory;
  std::string data_file;
  StoreOptions options;
  MDB_env* env = nullptr;
  MDB_dbi log_dbi = 0;
  MDB_dbi checkpoints_dbi = 0;
  MDB_dbi history_dbi = 0;
  MDB_dbi ledger_dbi = 0;
  MDB_dbi meta_dbi = 0;
  MDB_dbi parts_dbi = 0;        ///< checkpoint_parts; valid when has_parts_db
  bool has_parts_db = false;    ///< a store of format 1 gets it with its first parted checkpoint
  std::uint64_t map_size_bytes = 0;
  std::uint64_t map_growth_count = 0;
  std::uint32_t format_version = 0;
  std::uint64_t created_time_ns = 0;
  std::string created_by;
  std::uint64_t compacted_before = 0;  ///< meta "log_compacted_before"
  int readers_active = 0;

  StoreImpl() = default;
  StoreImpl(const StoreImpl&) = delete;
  StoreImpl& operator=(const StoreImpl&) = delete;
  ~StoreImpl();

  Status error(int rc, std::string_view operation) const {
    return lmdb_status(rc, operation, data_file);
  }
  MDB_dbi dbi(Db db) const;

  /// Runs `body` in a write transaction and commits it. When a put or the commit reports
  /// MDB_MAP_FULL the transaction is aborted, the map doubled (up to map_size_max_bytes)
  /// and `body` run again from scratch, so `body` must only touch the transaction.
  Status run_write(const char* operation, const std::function<Status(WriteTxn&)>& body);
  /// Doubles the map, bounded by map_size_max_bytes. REQUIRES: no transaction is open.
  Status grow_map(const char* operation);
  /// Adopts a map size grown by another process (MDB_MAP_RESIZED).
  Status adopt_map_size(const char* operation);
};

/// A read-only transaction, aborted when it goes out of scope.
class ReadTxn {
 public:
  explicit ReadTxn(StoreImpl& store) : store_(store) {}
  ~ReadTxn() { abort(); }
  ReadTxn(const ReadTxn&) = delete;
  ReadTxn& operator=(const ReadTxn&) = delete;

  Status begin(const char* operation);
  /// Commits (only needed to keep database handles opened inside it).
  Status commit(const char* operation);
  void abort();
  MDB_txn* get() const { return txn_; }

 private:
  StoreImpl& store_;
  MDB_txn* txn_ = nullptr;
};

/// A write transaction, aborted when it goes out of scope unless committed. Remembers
/// whether LMDB reported MDB_MAP_FULL so the caller can grow the map and retry.
class WriteTxn {
 public:
  explicit WriteTxn(StoreImpl& store) : store_(store) {}
  ~WriteTxn() { abort(); }
  WriteTxn(const WriteTxn&) = delete;
  WriteTxn& operator=(const WriteTxn&) = delete;

  Status begin(const char* operation);
  Status commit(const char* operation);
  void abort();
  MDB_txn* get() const { return txn_; }
  StoreImpl& store() const { return store_; }
  bool map_full() const { return map_full_; }

  /// Translates the result of an LMDB write call, noting MDB_MAP_FULL.
  Status check(int rc, std::string_view operation);
  /// Reserves `size` bytes for `key` (LMDB MDB_RESERVE); `*out` points at them.
  Status reserve(MDB_dbi dbi, MDB_val key, std::size_t size, unsigned flags, char** out,
                 std::string_view operation);

 private:
  StoreImpl& store_;
  MDB_txn* txn_ = nullptr;
  bool map_full_ = false;
};

/// A cursor, closed when it goes out of scope. REQUIRES: destroyed before its transaction
/// ends (LMDB frees write-transaction cursors itself at commit).
class Cursor {
 public:
  Cursor() = default;
  ~Cursor() {
    if (cursor_ != nullptr) mdb_cursor_close(cursor_);
  }
  Cursor(const Cursor&) = delete;
  Cursor& operator=(const Cursor&) = delete;

  Status open(const StoreImpl& store, MDB_txn* txn, MDB_dbi dbi, std::string_view operation) {
    const int rc = mdb_cursor_open(txn, dbi, &cursor_);
    return rc == 0 ? Status::ok() : store.error(rc, operation);
  }
  /// Raw mdb_cursor_get: 0, MDB_NOTFOUND or an error code.
  int get(MDB_val& key, MDB_val& value, MDB_cursor_op op) {
    return mdb_cursor_get(cursor_, &key, &value, op);
  }
  MDB_cursor* raw() const { return cursor_; }

 private:
  MDB_cursor* cursor_ = nullptr;
};

/// Entry count of a database, the bound of every loop that walks it.
Result<std::uint64_t> entry_count(const StoreImpl& store, MDB_txn* txn, MDB_dbi dbi);

/// Highest epoch ever logged: the last key of `log`, or the compaction bound's predecessor
/// when compaction emptied the log.
Result<std::uint64_t> last_logged_epoch(const StoreImpl& store, MDB_txn* txn);

}  // namespace mgraph::persistence::detail

namespace mgraph::persistence::detail {

/// Meta keys (stored; never rename).
inline constexpr std::string_view meta_magic = "magic";
inline constexpr std::string_view meta_format_version = "format_version";
inline constexpr std::string_view meta_created_time_ns = "created_time_ns";
inline constexpr std::string_view meta_created_by = "created_by";
inline constexpr std::string_view meta_log_compacted_before = "log_compacted_before";

/// Writes one checksummed meta record.
Status put_meta(WriteTxn& txn, std::string_view key, std::string_view value);
/// Reads and checks one meta record; nullopt when the key is absent.
Result<std::optional<std::string>> get_meta(const StoreImpl& store, MDB_txn* txn,
                                            std::string_view key);
/// A meta record holding a big-endian u64 (`default_value` when absent).
Result<std::uint64_t> get_meta_u64(const StoreImpl& store, MDB_txn* txn, std::string_view key,
                                   std::uint64_t default_value);

}  // namespace mgraph::persistence::detail
