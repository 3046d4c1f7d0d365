#include "store_impl.hpp"

#include <algorithm>
#include <cerrno>

#include "encoding.hpp"
#include "mgraph/graph/assert.hpp"
#include "mgraph/persistence/limits.hpp"

namespace mgraph::persistence::detail {
namespace {

StatusCode code_of(int rc) {
  switch (rc) {
    case MDB_NOTFOUND:
      return StatusCode::not_found;
    case MDB_KEYEXIST:
      return StatusCode::invalid_argument;
    case MDB_CORRUPTED:
    case MDB_PAGE_NOTFOUND:
    case MDB_INVALID:
    case MDB_VERSION_MISMATCH:
    case MDB_INCOMPATIBLE:
    case MDB_BAD_DBI:
      return StatusCode::corruption;
    case MDB_MAP_FULL:
    case MDB_TXN_FULL:
    case MDB_CURSOR_FULL:
    case MDB_PAGE_FULL:
    case MDB_DBS_FULL:
    case MDB_READERS_FULL:
    case MDB_TLS_FULL:
    case MDB_BAD_VALSIZE:
      return StatusCode::out_of_range;
    case EINVAL:
    case MDB_BAD_TXN:
    case MDB_BAD_RSLOT:
      return StatusCode::internal;
    case ENOENT:
      return StatusCode::not_found;
    default:
      return StatusCode::io_error;  // errno values (EIO, ENOSPC, EACCES...), MDB_PANIC
  }
}

}  // namespace

Status lmdb_status(int rc, std::string_view operation, const std::string& file) {
  MG_ASSERT(rc != 0);
  return Status(code_of(rc), std::string(operation) + " on " + file + ": " + mdb_strerror(rc) +
                                 " (lmdb rc " + std::to_string(rc) + ")");
}

StoreImpl::~StoreImpl() {
  MG_ASSERT(readers_active == 0);
  if (env != nullptr) mdb_env_close(env);
}

MDB_dbi StoreImpl::dbi(Db db) const {
  switch (db) {
    case Db::log:
      return log_dbi;
    case Db::checkpoints:
      return checkpoints_dbi;
    case Db::history:
      return history_dbi;
    case Db::ledger:
      return ledger_dbi;
    case Db::meta:
      return meta_dbi;
    case Db::checkpoint_parts:
      return parts_dbi;
  }
  MG_ASSERT_MSG(false, "unknown database");
  return 0;
}

Status StoreImpl::grow_map(const char* operation) {
  MG_ASSERT(readers_active == 0);
  const std::uint64_t max = options.map_size_max_bytes;
  if (map_size_bytes >= max) {
    return Status(StatusCode::out_of_range,
                  data_file + ": " + operation + ": the map is full at " +
                      std::to_string(map_size_bytes) + " bytes, which is map_size_max_bytes (" +
                      std::to_string(max) +
                      "); nothing was written. Raise StoreOptions::map_size_max_bytes, free "
                      "disk or compact the log");
  }
  const std::uint64_t next = map_size_bytes > max / 2 ? max : map_size_bytes * 2;
  int rc = mdb_env_set_mapsize(env, next);
  if (rc != 0) return error(rc, std::string("mdb_env_set_mapsize while ") + operation);
  MDB_envinfo info;
  rc = mdb_env_info(env, &info);
  if (rc != 0) return error(rc, "mdb_env_info");
  MG_ASSERT(info.me_mapsize > map_size_bytes);
  map_size_bytes = info.me_mapsize;
  ++map_growth_count;
  return Status::ok();
}

Status StoreImpl::adopt_map_size(const char* operation) {
  MG_ASSERT(readers_active == 0);
  int rc = mdb_env_set_mapsize(env, 0);
  if (rc != 0) return error(rc, std::string("mdb_env_set_mapsize(0) while ") + operation);
  MDB_envinfo info;
  rc = mdb_env_info(env, &info);
  if (rc != 0) return error(rc, "mdb_env_info");
  map_size_bytes = info.me_mapsize;
  return Status::ok();
}

Status StoreImpl::run_write(const char* operation, const std::function<Status(WriteTxn&)>& body) {
  for (int attempt = 0; attempt <= map_growth_steps_max; ++attempt) {
    WriteTxn txn(*this);
    Status s = txn.begin(operation);
    if (!s) return s;
    s = body(txn);
    if (s) s = txn.commit(operation);
    if (s) return s;
    if (!txn.map_full()) return s;
    txn.abort();
    s = grow_map(operation);
    if (!s) return s;
  }
  return Status(StatusCode::internal, data_file + ": " + operation + ": still MDB_MAP_FULL after " +
                                          std::to_string(map_growth_steps_max) + " map doublings");
}

Status ReadTxn::begin(const char* operation) {
  MG_ASSERT(txn_ == nullptr);
  int rc = mdb_txn_begin(store_.env, nullptr, MDB_RDONLY, &txn_);
  if (rc == MDB_MAP_RESIZED && store_.readers_active == 0) {
    Status s = store_.adopt_map_size(operation);
    if (!s) return s;
    rc = mdb_txn_begin(store_.env, nullptr, MDB_RDONLY, &txn_);
  }
  if (rc != 0) {
    txn_ = nullptr;
    return store_.error(rc, std::string("mdb_txn_begin(read) for ") + operation);
  }
  ++store_.readers_active;
  return Status::ok();
}

Status ReadTxn::commit(const char* operation) {
  MG_ASSERT(txn_ != nullptr);
  const int rc = mdb_txn_commit(txn_);
  txn_ = nullptr;
  --store_.readers_active;
  return rc == 0 ? Status::ok() : store_.error(rc, std::string("mdb_txn_commit for ") + operation);
}

void ReadTxn::abort() {
  if (txn_ == nullptr) return;
  mdb_txn_abort(txn_);
  txn_ = nullptr;
  --store_.readers_active;
  MG_ASSERT(store_.readers_active >= 0);
}

Status WriteTxn::begin(const char* operation) {
  MG_ASSERT(txn_ == nullptr);
  int rc = mdb_txn_begin(store_.env, nullptr, 0, &txn_);
  if (rc == MDB_MAP_RESIZED && store_.readers_active == 0) {
    Status s = store_.adopt_map_size(operation);
    if (!s) return s;
    rc = mdb_txn_begin(store_.env, nullptr, 0, &txn_);
  }
  if (rc != 0) {
    txn_ = nullptr;
    return store_.error(rc, std::string("mdb_txn_begin(write) for ") + operation);
  }
  return Status::ok();
}

Status WriteTxn::commit(const char* operation) {
  MG_ASSERT(txn_ != nullptr);
  const int rc = mdb_txn_commit(txn_);
  txn_ = nullptr;  // LMDB frees the transaction whether the commit succeeded or not
  return rc == 0 ? Status::ok() : check(rc, std::string("mdb_txn_commit for ") + operation);
}

void WriteTxn::abort() {
  if (txn_ == nullptr) return;
  mdb_txn_abort(txn_);
  txn_ = nullptr;
}

Status WriteTxn::check(int rc, std::string_view operation) {
  if (rc == 0) return Status::ok();
  if (rc == MDB_MAP_FULL) map_full_ = true;
  return store_.error(rc, operation);
}

Status WriteTxn::reserve(MDB_dbi dbi, MDB_val key, std::size_t size, unsigned flags, char** out,
                         std::string_view operation) {
  MDB_val value{size, nullptr};
  const int rc = mdb_put(txn_, dbi, &key, &value, flags | MDB_RESERVE);
  if (rc != 0) return check(rc, operation);
  MG_ASSERT(value.mv_size == size && (size == 0 || value.mv_data != nullptr));
  *out = static_cast<char*>(value.mv_data);
  return Status::ok();
}

Result<std::uint64_t> entry_count(const StoreImpl& store, MDB_txn* txn, MDB_dbi dbi) {
  MDB_stat stat;
  const int rc = mdb_stat(txn, dbi, &stat);
  if (rc != 0) return store.error(rc, "mdb_stat");
  return static_cast<std::uint64_t>(stat.ms_entries);
}

Result<std::uint64_t> last_logged_epoch(const StoreImpl& store, MDB_txn* txn) {
  Cursor cursor;
  Status s = cursor.open(store, txn, store.log_dbi, "mdb_cursor_open(log)");
  if (!s) return s;
  MDB_val key{}, value{};
  const int rc = cursor.get(key, value, MDB_LAST);
  std::uint64_t last = 0;
  if (rc == 0) {
    if (key.mv_size != log_key_bytes) {
      return Status(StatusCode::corruption, store.data_file + ": log database: last key has " +
                                                std::to_string(key.mv_size) + " bytes, expected 8");
    }
    last = get_u64(static_cast<const char*>(key.mv_data));
  } else if (rc != MDB_NOTFOUND) {
    return store.error(rc, "mdb_cursor_get(log, MDB_LAST)");
  }
  const std::uint64_t floor = store.compacted_before == 0 ? 0 : store.compacted_before - 1;
  return std::max(last, floor);
}

}  // namespace mgraph::persistence::detail
