// Store::open: directory and data file checks, the LMDB environment, and the meta records
// that tell an mgraph store of this format from anything else.

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>

#include "encoding.hpp"
#include "mgraph/persistence/store.hpp"
#include "store_impl.hpp"

#ifndef MGRAPH_PERSISTENCE_CREATED_BY
#define MGRAPH_PERSISTENCE_CREATED_BY "mgraph"
#endif

namespace mgraph::persistence {
namespace {

using detail::Db;
using detail::ReadTxn;
using detail::StoreImpl;
using detail::WriteTxn;

/// Named databases plus slack for future ones.
constexpr unsigned int databases_max = 8;
constexpr unsigned int file_mode = 0644;
constexpr unsigned int directory_mode = 0755;

Status validate_options(const std::string& directory, const StoreOptions& options) {
  if (directory.empty()) return Status(StatusCode::invalid_argument, "store directory is empty");
  if (options.map_size_initial_bytes < map_size_min_bytes) {
    return Status(StatusCode::invalid_argument, directory + ": map_size_initial_bytes " +
                                                    std::to_string(options.map_size_initial_bytes) +
                                                    " is below " +
                                                    std::to_string(map_size_min_bytes));
  }
  if (options.map_size_max_bytes < options.map_size_initial_bytes) {
    return Status(StatusCode::invalid_argument, directory + ": map_size_max_bytes " +
                                                    std::to_string(options.map_size_max_bytes) +
                                                    " is below map_size_initial_bytes " +
                                                    std::to_string(options.map_size_initial_bytes));
  }
  return Status::ok();
}

/// A directory with LMDB's lock.mdb but no data.mdb held a store whose data file was
/// deleted or moved: LMDB would silently start an empty one there, so it is refused. A new
/// or empty directory (no lock.mdb either) is where a store is created.
Status check_not_deleted(const StoreImpl& store) {
  const std::string lock_file = store.directory + "/lock.mdb";
  struct stat st {};
  if (::stat(lock_file.c_str(), &st) != 0) {
    if (errno == ENOENT) return Status::ok();
    return errno_status(errno, "stat " + lock_file);
  }
  return Status(StatusCode::failed_precondition,
                store.data_file + ": missing, but " + lock_file +
                    " is there: the store's data file was deleted or moved. Restore it; or, to "
                    "start an empty store, use a new or empty directory");
}

/// Makes sure the directory exists and that data.mdb, if there, is at least as long as
/// LMDB's two meta pages: LMDB would silently treat an empty file as a new environment.
Status prepare_directory(const StoreImpl& store) {
  struct stat st {};
  if (::stat(store.directory.c_str(), &st) != 0) {
    if (errno != ENOENT) return errno_status(errno, "stat " + store.directory);
    if (!store.options.create_if_missing) {
      return Status(StatusCode::not_found,
                    store.directory + ": no such store directory (create_if_missing is off)");
    }
    if (::mkdir(store.directory.c_str(), directory_mode) != 0 && errno != EEXIST) {
      return errno_status(errno, "mkdir " + store.directory);
    }
  } else if (!S_ISDIR(st.st_mode)) {
    return Status(StatusCode::invalid_argument, store.directory + ": not a directory");
  }
  if (::stat(store.data_file.c_str(), &st) != 0) {
    if (errno != ENOENT) return errno_status(errno, "stat " + store.data_file);
    if (!store.options.create_if_missing) {
      return Status(StatusCode::not_found, store.data_file +
                                               ": no such file: the directory holds no store "
                                               "(create_if_missing is off)");
    }
    return check_not_deleted(store);
  }
  const auto meta_pages_bytes = static_cast<std::uint64_t>(2 * ::sysconf(_SC_PAGESIZE));
  if (static_cast<std::uint64_t>(st.st_size) < meta_pages_bytes) {
    return Status(StatusCode::corruption,
                  store.data_file + ": truncated: " + std::to_string(st.st_size) +
                      " bytes, shorter than LMDB's two meta pages (" +
                      std::to_string(meta_pages_bytes) +
                      " bytes); if a crash interrupted the store's creation it holds no data "
                      "and may be deleted, otherwise restore it from a replica or backup");
  }
  return Status::ok();
}

Status open_environment(StoreImpl& store) {
  int rc = mdb_env_create(&store.env);
  if (rc != 0) {
    store.env = nullptr;
    return store.error(rc, "mdb_env_create");
  }
  rc = mdb_env_set_maxdbs(store.env, databases_max);
  if (rc != 0) return store.error(rc, "mdb_env_set_maxdbs");
  rc = mdb_env_set_mapsize(store.env, store.options.map_size_initial_bytes);
  if (rc != 0) return store.error(rc, "mdb_env_set_mapsize");
  // MDB_NOTLS: read transactions are not bound to a thread, so an actor owning the store
  // may run on any scheduler thread between calls.
  unsigned int flags = MDB_NOTLS;
  if (store.options.durability == Durability::nosync) flags |= MDB_NOSYNC;
  rc = mdb_env_open(store.env, store.directory.c_str(), flags, file_mode);
  if (rc == MDB_INVALID) {
    return Status(StatusCode::corruption,
                  store.data_file +
                      ": not an LMDB data file (its header has no valid LMDB meta "
                      "page): a foreign file, or the header was overwritten");
  }
  if (rc == MDB_VERSION_MISMATCH) {
    return Status(StatusCode::corruption,
                  store.data_file + ": written by an incompatible LMDB version (lmdb " +
                      std::to_string(MDB_VERSION_MAJOR) + "." + std::to_string(MDB_VERSION_MINOR) +
                      " reads only its own format)");
  }
  if (rc != 0) return store.error(rc, "mdb_env_open");
  int dead_readers = 0;
  rc = mdb_reader_check(store.env, &dead_readers);  // slots of killed processes
  if (rc != 0) return store.error(rc, "mdb_reader_check");
  MDB_envinfo info;
  rc = mdb_env_info(store.env, &info);
  if (rc != 0) return store.error(rc, "mdb_env_info");
  store.map_size_bytes = info.me_mapsize;
  return Status::ok();
}

/// A data file shorter than its last used page would make LMDB read past the end of the
/// mapping (SIGBUS): refuse it instead.
Status check_data_file_size(const StoreImpl& store) {
  MDB_envinfo info;
  int rc = mdb_env_info(store.env, &info);
  if (rc != 0) return store.error(rc, "mdb_env_info");
  MDB_stat stat;
  rc = mdb_env_stat(store.env, &stat);
  if (rc != 0) return store.error(rc, "mdb_env_stat");
  struct stat st {};
  if (::stat(store.data_file.c_str(), &st) != 0) {
    return errno_status(errno, "stat " + store.data_file);
  }
  const std::uint64_t needed_bytes =
      (static_cast<std::uint64_t>(info.me_last_pgno) + 1) * stat.ms_psize;
  if (static_cast<std::uint64_t>(st.st_size) < needed_bytes) {
    return Status(StatusCode::corruption,
                  store.data_file + ": truncated: " + std::to_string(st.st_size) +
                      " bytes, but its last used page (" + std::to_string(info.me_last_pgno) +
                      ") ends at byte " + std::to_string(needed_bytes) +
                      "; restore it from a replica or backup");
  }
  return Status::ok();
}

Status create_databases(StoreImpl& store) {
  const auto now = std::chrono::system_clock::now().time_since_epoch();
  const auto created_ns =
      static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(now).count());
  return store.run_write("create store", [&](WriteTxn& txn) -> Status {
    for (Db db : {Db::log, Db::checkpoints, Db::history, Db::ledger, Db::meta,
                  Db::checkpoint_parts}) {
      MDB_dbi dbi = 0;
      const int rc = mdb_dbi_open(txn.get(), detail::db_name(db), MDB_CREATE, &dbi);
      Status s = txn.check(rc, std::string("mdb_dbi_open(") + detail::db_name(db) + ", create)");
      if (!s) return s;
      if (db == Db::meta) store.meta_dbi = dbi;
    }
    char version[4];
    detail::put_u32(version, format_version);
    char created[8];
    detail::put_u64(created, created_ns);
    Status s = detail::put_meta(txn, detail::meta_magic, store_magic);
    if (s) s = detail::put_meta(txn, detail::meta_format_version, {version, sizeof version});
    if (s) s = detail::put_meta(txn, detail::meta_created_time_ns, {created, sizeof created});
    if (s) s = detail::put_meta(txn, detail::meta_created_by, MGRAPH_PERSISTENCE_CREATED_BY);
    return s;
  });
}

Status foreign(const StoreImpl& store, const std::string& why) {
  return Status(StatusCode::corruption, store.data_file + ": not an mgraph store: " + why +
                                            "; point the node at its own store directory");
}

Status load_meta(StoreImpl& store, MDB_txn* txn) {
  auto magic = detail::get_meta(store, txn, detail::meta_magic);
  if (!magic) return magic.status();
  if (!magic->has_value()) return foreign(store, "its meta database has no 'magic' record");
  if (**magic != store_magic) {
    return foreign(store,
                   "its magic is '" + **magic + "', expected '" + std::string(store_magic) + "'");
  }
  auto version = detail::get_meta(store, txn, detail::meta_format_version);
  if (!version) return version.status();
  if (!version->has_value() || (*version)->size() != 4) {
    return Status(StatusCode::corruption,
                  store.data_file + ": meta record 'format_version' is missing or not 4 bytes");
  }
  store.format_version = detail::get_u32((*version)->data());
  if (store.format_version < format_version_oldest || store.format_version > format_version) {
    return Status(StatusCode::failed_precondition,
                  store.data_file + ": store format version " +
                      std::to_string(store.format_version) + ", but this build reads format " +
                      "versions " + std::to_string(format_version_oldest) + " to " +
                      std::to_string(format_version) +
                      " only: open it with a matching mgraph build or migrate it");
  }
  auto created = detail::get_meta_u64(store, txn, detail::meta_created_time_ns, 0);
  if (!created) return created.status();
  store.created_time_ns = *created;
  auto created_by = detail::get_meta(store, txn, detail::meta_created_by);
  if (!created_by) return created_by.status();
  store.created_by = created_by->value_or("");
  auto compacted = detail::get_meta_u64(store, txn, detail::meta_log_compacted_before, 0);
  if (!compacted) return compacted.status();
  store.compacted_before = *compacted;
  return Status::ok();
}

/// Opens the meta database in `txn`: found (true), absent in an empty environment (false),
/// or an error for a foreign environment.
Result<bool> open_meta(StoreImpl& store, MDB_txn* txn) {
  int rc = mdb_dbi_open(txn, "meta", 0, &store.meta_dbi);
  if (rc == 0) return true;
  if (rc == MDB_INCOMPATIBLE) {
    return foreign(store, "its main database holds a plain key 'meta', not a named database");
  }
  if (rc != MDB_NOTFOUND) return store.error(rc, "mdb_dbi_open(meta)");
  MDB_dbi main_dbi = 0;
  rc = mdb_dbi_open(txn, nullptr, 0, &main_dbi);
  if (rc != 0) return store.error(rc, "mdb_dbi_open(main)");
  auto keys = detail::entry_count(store, txn, main_dbi);
  if (!keys) return keys.status();
  if (*keys != 0) {
    return foreign(store, "an LMDB environment with " + std::to_string(*keys) +
                              " keys in its main database and no 'meta' database");
  }
  return false;
}

Status open_databases(StoreImpl& store) {
  for (int pass = 0; pass < 2; ++pass) {  // the second pass follows a creation
    ReadTxn txn(store);
    Status s = txn.begin("open store");
    if (!s) return s;
    auto found = open_meta(store, txn.get());
    if (!found) return found.status();
    if (!*found) {
      if (!store.options.create_if_missing) {
        return Status(StatusCode::not_found,
                      store.data_file +
                          ": an empty LMDB environment, not an initialized store "
                          "(create_if_missing is off)");
      }
      txn.abort();
      s = create_databases(store);
      if (!s) return s;
      continue;
    }
    s = load_meta(store, txn.get());
    if (!s) return s;
    for (Db db : {Db::log, Db::checkpoints, Db::history, Db::ledger}) {
      MDB_dbi dbi = 0;
      const int rc = mdb_dbi_open(txn.get(), detail::db_name(db), 0, &dbi);
      if (rc == MDB_NOTFOUND || rc == MDB_INCOMPATIBLE) {
        return Status(StatusCode::corruption, store.data_file + ": the store has no '" +
                                                  detail::db_name(db) + "' database");
      }
      if (rc != 0) return store.error(rc, std::string("mdb_dbi_open(") + detail::db_name(db) + ")");
      if (db == Db::log) store.log_dbi = dbi;
      if (db == Db::checkpoints) store.checkpoints_dbi = dbi;
      if (db == Db::history) store.history_dbi = dbi;
      if (db == Db::ledger) store.ledger_dbi = dbi;
    }
    // Created with the store since format 2; a store of format 1 gets it with its first
    // checkpoint in parts (CheckpointWriter).
    const int rc = mdb_dbi_open(txn.get(), detail::db_name(Db::checkpoint_parts), 0,
                                &store.parts_dbi);
    if (rc != 0 && rc != MDB_NOTFOUND) {
      if (rc == MDB_INCOMPATIBLE) {
        return Status(StatusCode::corruption,
                      store.data_file + ": the store has no 'checkpoint_parts' database");
      }
      return store.error(rc, "mdb_dbi_open(checkpoint_parts)");
    }
    store.has_parts_db = rc == 0;
    return txn.commit("open store");  // keeps the database handles
  }
  return Status(StatusCode::internal, store.data_file + ": meta database missing after creation");
}

}  // namespace

Result<std::unique_ptr<Store>> Store::open(const std::string& directory,
                                           const StoreOptions& options) {
  Status s = validate_options(directory, options);
  if (!s) return s;
  auto impl = std::make_unique<StoreImpl>();
  impl->directory = directory;
  impl->data_file = directory + "/data.mdb";
  impl->options = options;
  s = prepare_directory(*impl);
  if (s) s = open_environment(*impl);
  if (s) s = check_data_file_size(*impl);
  if (s) s = open_databases(*impl);
  if (!s) return s;
  MG_ASSERT(impl->format_version >= format_version_oldest &&
            impl->format_version <= format_version && impl->map_size_bytes > 0);
  return std::unique_ptr<Store>(new Store(std::move(impl)));
}

Store::Store(std::unique_ptr<detail::StoreImpl> impl) : impl_(std::move(impl)) {}

Store::~Store() = default;

StoreInfo Store::info() const {
  StoreInfo info;
  info.directory = impl_->directory;
  info.data_file = impl_->data_file;
  info.format_version = impl_->format_version;
  info.created_time_ns = impl_->created_time_ns;
  info.created_by = impl_->created_by;
  info.durability = impl_->options.durability;
  info.map_size_bytes = impl_->map_size_bytes;
  info.map_size_max_bytes = impl_->options.map_size_max_bytes;
  info.map_growth_count = impl_->map_growth_count;
  info.log_compacted_before = impl_->compacted_before;
  return info;
}

}  // namespace mgraph::persistence
