// Checkpoints stored in parts: the shared helpers (checkpoint_parts.hpp) and
// CheckpointWriter.

#include "checkpoint_parts.hpp"

#include <algorithm>
#include <cstring>
#include <string>
#include <vector>

#include "encoding.hpp"
#include "mgraph/persistence/checkpoint_writer.hpp"
#include "mgraph/persistence/write_batch.hpp"

namespace mgraph::persistence {
namespace detail {
namespace {

Status corrupt(const StoreImpl& store, const std::string& what) {
  return Status(StatusCode::corruption, store.data_file + ": " + what +
                                            "; the data file is damaged: restore it from a "
                                            "replica or backup");
}

bool starts_with(const MDB_val& key, std::string_view prefix) {
  return key.mv_size >= prefix.size() &&
         std::memcmp(key.mv_data, prefix.data(), prefix.size()) == 0;
}

std::string describe(std::string_view scope, std::uint64_t epoch) {
  return "checkpoint of scope '" + std::string(scope) + "' at epoch " + std::to_string(epoch);
}

/// Keys of the records after `from` (included) that start with `prefix`, in order; at most
/// `count` of them (the database's entry count bounds the walk).
Result<std::vector<std::string>> keys_with_prefix(const StoreImpl& store, MDB_txn* txn,
                                                  MDB_dbi dbi, const char* db, Key from,
                                                  std::string_view prefix) {
  auto count = entry_count(store, txn, dbi);
  if (!count) return count.status();
  Cursor cursor;
  Status s = cursor.open(store, txn, dbi, std::string("mdb_cursor_open(") + db + ")");
  if (!s) return s;
  std::vector<std::string> keys;
  MDB_val k = from.val(), v{};
  int rc = cursor.get(k, v, MDB_SET_RANGE);
  for (std::uint64_t i = 0; rc == 0 && i < *count && starts_with(k, prefix); ++i) {
    keys.emplace_back(static_cast<const char*>(k.mv_data), k.mv_size);
    rc = cursor.get(k, v, MDB_NEXT);
  }
  if (rc != 0 && rc != MDB_NOTFOUND) {
    return store.error(rc, std::string("mdb_cursor_get(") + db + ")");
  }
  return keys;
}

Status delete_keys(WriteTxn& txn, MDB_dbi dbi, const char* db,
                   const std::vector<std::string>& keys) {
  for (const std::string& key : keys) {
    MDB_val k{key.size(), const_cast<char*>(key.data())};
    Status s = txn.check(mdb_del(txn.get(), dbi, &k, nullptr), std::string("mdb_del(") + db + ")");
    if (!s) return s;
  }
  return Status::ok();
}

/// Opens (creating it in `txn` if need be) the checkpoint_parts database; *dbi gets it.
Status open_parts_db(WriteTxn& txn, MDB_dbi* dbi) {
  StoreImpl& store = txn.store();
  if (store.has_parts_db) {
    *dbi = store.parts_dbi;
    return Status::ok();
  }
  return txn.check(mdb_dbi_open(txn.get(), db_name(Db::checkpoint_parts), MDB_CREATE, dbi),
                   "mdb_dbi_open(checkpoint_parts, create)");
}

/// The rules of Store::write for a checkpoint at `epoch`, inside `txn`.
Status check_epoch(WriteTxn& txn, std::string_view scope, std::uint64_t epoch) {
  StoreImpl& store = txn.store();
  auto last = last_logged_epoch(store, txn.get());
  if (!last) return last.status();
  const std::string what = describe(scope, epoch);
  if (epoch > *last && !store.options.checkpoints_only) {
    return Status(StatusCode::invalid_argument,
                  store.data_file + ": " + what + " is ahead of the log (last logged epoch " +
                      std::to_string(*last) + "); nothing written");
  }
  if (store.compacted_before > 0 && epoch + 1 < store.compacted_before) {
    return Status(StatusCode::invalid_argument,
                  store.data_file + ": " + what +
                      " could never be recovered from: log entries before epoch " +
                      std::to_string(store.compacted_before) + " were compacted away");
  }
  return Status::ok();
}

/// Deletes the parts of `scope` that no completing record refers to (left by a writer
/// that failed or was killed).
Status delete_unfinished_parts(WriteTxn& txn, std::string_view scope) {
  StoreImpl& store = txn.store();
  if (!store.has_parts_db) return Status::ok();
  const Key prefix = Key().scope(scope);
  auto parts = keys_with_prefix(store, txn.get(), store.parts_dbi, "checkpoint_parts", prefix,
                                prefix.view());
  if (!parts) return parts.status();
  const std::size_t group_bytes = prefix.view().size() + 16;  // scope, epoch, gen
  std::vector<std::string> orphans;
  std::string group, group_live;
  // Parts come grouped by (epoch, gen): one lookup of the completing record per group.
  for (const std::string& key : *parts) {
    if (key.size() != group_bytes + 4) return corrupt(store, "checkpoint_parts: malformed key");
    if (key.compare(0, group_bytes, group) != 0) {
      group = key.substr(0, group_bytes);
      MDB_val k{group.size(), group.data()}, v{};
      const int rc = mdb_get(txn.get(), store.checkpoints_dbi, &k, &v);
      if (rc != 0 && rc != MDB_NOTFOUND) return store.error(rc, "mdb_get(checkpoints)");
      group_live = rc == 0 ? group : std::string();
    }
    if (group_live.empty()) orphans.push_back(key);
  }
  return delete_keys(txn, store.parts_dbi, "checkpoint_parts", orphans);
}

/// One generation past every completing record of (scope, epoch).
Result<std::uint64_t> next_gen(const StoreImpl& store, MDB_txn* txn, std::string_view scope,
                               std::uint64_t epoch) {
  const Key at = checkpoint_key(scope, epoch);
  auto keys = keys_with_prefix(store, txn, store.checkpoints_dbi, "checkpoints", at, at.view());
  if (!keys) return keys.status();
  std::uint64_t gen = 1;
  for (const std::string& key : *keys) {
    if (key.size() == at.view().size() + 8) {
      gen = std::max(gen, get_u64(key.data() + key.size() - 8) + 1);
    }
  }
  return gen;
}

}  // namespace

Status parse_checkpoint_key(const StoreImpl& store, const MDB_val& key, CheckpointKey* out) {
  const char* k = static_cast<const char*>(key.mv_data);
  const std::size_t scope_bytes = key.mv_size == 0 ? 0 : static_cast<unsigned char>(k[0]);
  const std::size_t single = 1 + scope_bytes + 8;
  if (scope_bytes == 0 || scope_bytes > scope_bytes_max ||
      (key.mv_size != single && key.mv_size != single + 8)) {
    return corrupt(store, "checkpoints database: key of " + std::to_string(key.mv_size) +
                              " bytes is not (scope length, scope, epoch[, generation])");
  }
  out->scope = std::string_view(k + 1, scope_bytes);
  out->epoch = get_u64(k + 1 + scope_bytes);
  out->parted = key.mv_size != single;
  out->gen = out->parted ? get_u64(k + single) : 0;
  return Status::ok();
}

Status load_checkpoint(const StoreImpl& store, MDB_txn* txn, const MDB_val& k, const MDB_val& v,
                       Checkpoint& out) {
  CheckpointKey key;
  Status s = parse_checkpoint_key(store, k, &key);
  if (!s) return s;
  if (!key.parted) return decode_checkpoint(store.data_file, k, v, out);
  const std::string what = describe(key.scope, key.epoch);
  s = check_value(store.data_file, Db::checkpoints, k, v, parted_checkpoint_header_bytes, what);
  if (!s) return s;
  const char* header = static_cast<const char*>(v.mv_data) + checksum_bytes;
  const std::uint32_t count = get_u32(header);
  const std::uint64_t total = get_u64(header + 4);
  if (count == 0 || count > checkpoint_parts_max ||
      total > std::uint64_t{count} * checkpoint_part_bytes_max || !store.has_parts_db) {
    return corrupt(store, what + ": " + std::to_string(count) + " parts of " +
                              std::to_string(total) + " bytes in all" +
                              (store.has_parts_db ? "" : ", but no checkpoint_parts database"));
  }
  out.scope.assign(key.scope);
  out.epoch = key.epoch;
  out.state.clear();
  out.state.reserve(total);
  Cursor cursor;
  s = cursor.open(store, txn, store.parts_dbi, "mdb_cursor_open(checkpoint_parts)");
  if (!s) return s;
  Key first = checkpoint_part_key(key.scope, key.epoch, key.gen, 0);
  MDB_val pk = first.val(), pv{};
  int rc = cursor.get(pk, pv, MDB_SET_RANGE);
  for (std::uint32_t i = 0; i < count; ++i) {
    const std::string part = what + ", part " + std::to_string(i);
    if (i > 0) rc = cursor.get(pk, pv, MDB_NEXT);
    if (rc != 0 && rc != MDB_NOTFOUND) return store.error(rc, "mdb_cursor_get(checkpoint_parts)");
    const Key want = checkpoint_part_key(key.scope, key.epoch, key.gen, i);
    if (rc == MDB_NOTFOUND || as_view(pk) != want.view()) {
      return corrupt(store, part + " is missing");
    }
    s = check_value(store.data_file, Db::checkpoint_parts, pk, pv, checkpoint_part_header_bytes,
                    part);
    if (!s) return s;
    if (out.state.size() + pv.mv_size - checksum_bytes > total) {
      return corrupt(store, part + " goes past the " + std::to_string(total) + " bytes recorded");
    }
    out.state.append(static_cast<const char*>(pv.mv_data) + checksum_bytes,
                     pv.mv_size - checksum_bytes);
  }
  if (out.state.size() != total) {
    return corrupt(store, what + ": its parts hold " + std::to_string(out.state.size()) +
                              " bytes, the record says " + std::to_string(total));
  }
  return Status::ok();
}

Status delete_parts(WriteTxn& txn, std::string_view scope, std::uint64_t epoch,
                    std::uint64_t gen, bool all_gens) {
  StoreImpl& store = txn.store();
  if (!store.has_parts_db) return Status::ok();
  const Key prefix =
      all_gens ? checkpoint_key(scope, epoch) : parted_checkpoint_key(scope, epoch, gen);
  auto keys = keys_with_prefix(store, txn.get(), store.parts_dbi, "checkpoint_parts", prefix,
                               prefix.view());
  if (!keys) return keys.status();
  return delete_keys(txn, store.parts_dbi, "checkpoint_parts", *keys);
}

Status delete_checkpoints_at(WriteTxn& txn, std::string_view scope, std::uint64_t epoch,
                             std::string_view keep) {
  StoreImpl& store = txn.store();
  const Key at = checkpoint_key(scope, epoch);
  auto keys =
      keys_with_prefix(store, txn.get(), store.checkpoints_dbi, "checkpoints", at, at.view());
  if (!keys) return keys.status();
  std::vector<std::string> gone;
  for (std::string& key : *keys) {
    if (key == keep) continue;
    if (key.size() == at.view().size() + 8) {
      Status s = delete_parts(txn, scope, epoch, get_u64(key.data() + key.size() - 8), false);
      if (!s) return s;
    }
    gone.push_back(std::move(key));
  }
  return delete_keys(txn, store.checkpoints_dbi, "checkpoints", gone);
}

}  // namespace detail

// ---- CheckpointWriter ----

CheckpointWriter::CheckpointWriter(Store& store, std::string scope, std::uint64_t epoch,
                                   std::uint64_t gen, std::size_t part_bytes)
    : store_(&store),
      scope_(std::move(scope)),
      epoch_(epoch),
      gen_(gen),
      part_bytes_(part_bytes) {
  buffer_.reserve(part_bytes_);
}

Result<CheckpointWriter> CheckpointWriter::begin(Store& store, std::string_view scope,
                                                 std::uint64_t epoch, std::size_t part_bytes) {
  detail::StoreImpl& impl = *store.impl_;
  if (scope.empty() || scope.size() > scope_bytes_max) {
    return Status(StatusCode::invalid_argument,
                  impl.data_file + ": checkpoint scope of " + std::to_string(scope.size()) +
                      " bytes (1 to " + std::to_string(scope_bytes_max) + " allowed)");
  }
  if (part_bytes < checkpoint_part_bytes_min || part_bytes > checkpoint_part_bytes_max) {
    return Status(StatusCode::invalid_argument,
                  impl.data_file + ": checkpoint part of " + std::to_string(part_bytes) +
                      " bytes (" + std::to_string(checkpoint_part_bytes_min) + " to " +
                      std::to_string(checkpoint_part_bytes_max) + " allowed)");
  }
  std::uint64_t gen = 0;
  Status s = impl.run_write("checkpoint begin", [&](detail::WriteTxn& txn) -> Status {
    Status checked = detail::check_epoch(txn, scope, epoch);
    if (checked) checked = detail::delete_unfinished_parts(txn, scope);
    if (!checked) return checked;
    auto next = detail::next_gen(impl, txn.get(), scope, epoch);
    if (!next) return next.status();
    gen = *next;
    return Status::ok();
  });
  if (!s) return s;
  return CheckpointWriter(store, std::string(scope), epoch, gen, part_bytes);
}

Status CheckpointWriter::write_part() {
  detail::StoreImpl& impl = *store_->impl_;
  if (parts_written_ + 1 >= checkpoint_parts_max) {
    spent_ = true;
    return Status(StatusCode::out_of_range,
                  impl.data_file + ": checkpoint of scope '" + scope_ + "' at epoch " +
                      std::to_string(epoch_) + " needs more than " +
                      std::to_string(checkpoint_parts_max) + " parts of " +
                      std::to_string(part_bytes_) + " bytes; nothing of it is visible");
  }
  MDB_dbi dbi = 0;
  Status s = impl.run_write("checkpoint part", [&](detail::WriteTxn& txn) -> Status {
    Status opened = detail::open_parts_db(txn, &dbi);
    if (!opened) return opened;
    detail::Key key = detail::checkpoint_part_key(scope_, epoch_, gen_, parts_written_);
    const std::size_t size = detail::checksum_bytes + buffer_.size();
    char* out = nullptr;
    Status put = txn.reserve(dbi, key.val(), size, 0, &out, "mdb_put(checkpoint_parts)");
    if (!put) return put;
    detail::fill_plain(out, buffer_);
    detail::seal(detail::Db::checkpoint_parts, key.view(), out, size);
    return Status::ok();
  });
  if (!s) {
    spent_ = true;
    return s;
  }
  impl.parts_dbi = dbi;
  impl.has_parts_db = true;
  ++parts_written_;
  buffer_.clear();
  return Status::ok();
}

Status CheckpointWriter::append(std::string_view bytes) {
  if (spent_) {
    return Status(StatusCode::failed_precondition,
                  store_->impl_->data_file + ": checkpoint writer used after a failure or finish");
  }
  state_bytes_ += bytes.size();
  // Each iteration fills the part, storing it first when it is full and more is coming
  // (so that a state of exactly one part stays one record); bounded by bytes.size().
  while (!bytes.empty()) {
    if (buffer_.size() == part_bytes_) {
      if (Status s = write_part(); !s) return s;
    }
    const std::size_t take = std::min(bytes.size(), part_bytes_ - buffer_.size());
    buffer_.append(bytes.data(), take);
    bytes.remove_prefix(take);
  }
  return Status::ok();
}

Status CheckpointWriter::finish() {
  detail::StoreImpl& impl = *store_->impl_;
  if (spent_) {
    return Status(StatusCode::failed_precondition,
                  impl.data_file + ": checkpoint writer used after a failure or finish");
  }
  spent_ = true;
  if (parts_written_ == 0) {  // one record, as Store::write stores it
    WriteBatch batch;
    batch.put_checkpoint(scope_, epoch_, buffer_);
    return store_->write(batch);
  }
  const std::uint32_t count = parts_written_ + (buffer_.empty() ? 0 : 1);
  MDB_dbi dbi = 0;
  Status s = impl.run_write("checkpoint finish", [&](detail::WriteTxn& txn) -> Status {
    Status checked = detail::check_epoch(txn, scope_, epoch_);
    if (checked) checked = detail::open_parts_db(txn, &dbi);
    if (!checked) return checked;
    if (!buffer_.empty()) {
      detail::Key key = detail::checkpoint_part_key(scope_, epoch_, gen_, parts_written_);
      const std::size_t size = detail::checksum_bytes + buffer_.size();
      char* out = nullptr;
      Status put = txn.reserve(dbi, key.val(), size, 0, &out, "mdb_put(checkpoint_parts)");
      if (!put) return put;
      detail::fill_plain(out, buffer_);
      detail::seal(detail::Db::checkpoint_parts, key.view(), out, size);
    }
    detail::Key key = detail::parted_checkpoint_key(scope_, epoch_, gen_);
    const std::size_t size = detail::checksum_bytes + detail::parted_checkpoint_header_bytes;
    char* out = nullptr;
    Status put = txn.reserve(impl.checkpoints_dbi, key.val(), size, 0, &out,
                             "mdb_put(checkpoints)");
    if (!put) return put;
    detail::put_u32(out + detail::checksum_bytes, count);
    detail::put_u64(out + detail::checksum_bytes + 4, state_bytes_);
    detail::seal(detail::Db::checkpoints, key.view(), out, size);
    put = detail::delete_checkpoints_at(txn, scope_, epoch_, key.view());
    if (!put || impl.format_version >= 2) return put;
    // The first checkpoint in parts: from now on a build that reads only format 1
    // refuses the store instead of misreading its keys.
    char version[4];
    detail::put_u32(version, format_version);
    return detail::put_meta(txn, detail::meta_format_version, {version, sizeof version});
  });
  if (!s) return s;
  impl.parts_dbi = dbi;
  impl.has_parts_db = true;
  impl.format_version = format_version;
  parts_written_ = count;
  buffer_.clear();
  return Status::ok();
}

}  // namespace mgraph::persistence
