// Store::write: validation of a WriteBatch and its application in one write transaction.

#include <cstring>

#include "checkpoint_parts.hpp"
#include "encoding.hpp"
#include "mgraph/persistence/store.hpp"
#include "store_impl.hpp"

namespace mgraph::persistence {
namespace {

using detail::Cursor;
using detail::StoreImpl;
using detail::WriteTxn;

Status rejected(const StoreImpl& store, const std::string& what) {
  return Status(StatusCode::invalid_argument, store.data_file + ": " + what + "; nothing written");
}

Status too_large(const StoreImpl& store, const std::string& what, std::size_t size,
                 std::size_t max) {
  return Status(StatusCode::out_of_range, store.data_file + ": " + what + " of " +
                                              std::to_string(size) + " bytes exceeds " +
                                              std::to_string(max) + "; nothing written");
}

Status append_log(WriteTxn& txn, std::uint64_t epoch, std::uint64_t time_ns, std::string_view batch,
                  std::uint64_t& last_epoch) {
  StoreImpl& store = txn.store();
  if (epoch <= last_epoch) {
    return rejected(store, "log append of epoch " + std::to_string(epoch) +
                               " is not after the last logged epoch " + std::to_string(last_epoch) +
                               " (the log is append-only)");
  }
  detail::Key key = detail::log_key(epoch);
  const std::size_t size = detail::checksum_bytes + detail::log_header_bytes + batch.size();
  char* value = nullptr;
  // MDB_APPEND: the key is known to be the largest, so LMDB skips the search and fills
  // pages completely; it also refuses (MDB_KEYEXIST) a key that is not the largest.
  Status s = txn.reserve(store.log_dbi, key.val(), size, MDB_APPEND, &value, "mdb_put(log)");
  if (!s) return s;
  detail::fill_log(value, time_ns, batch);
  detail::seal(detail::Db::log, key.view(), value, size);
  last_epoch = epoch;
  return Status::ok();
}

/// Positions `cursor` on the last record whose key is < `key`; false when there is none.
Result<bool> seek_before(const StoreImpl& store, Cursor& cursor, detail::Key key, MDB_val& k,
                         MDB_val& v, const char* db) {
  k = key.val();
  int rc = cursor.get(k, v, MDB_SET_RANGE);
  if (rc == 0) {
    rc = cursor.get(k, v, MDB_PREV);
  } else if (rc == MDB_NOTFOUND) {
    rc = cursor.get(k, v, MDB_LAST);
  }
  if (rc == MDB_NOTFOUND) return false;
  if (rc != 0) return store.error(rc, std::string("mdb_cursor_get(") + db + ")");
  return true;
}

/// Seeks the first key >= `key` (left in `k`); true when there is one and it starts with
/// the first `prefix_bytes` bytes of `key`.
Result<bool> next_shares_prefix(const StoreImpl& store, Cursor& cursor, detail::Key key,
                                std::size_t prefix_bytes, MDB_val& k, const char* db) {
  k = key.val();
  MDB_val v{};
  const int rc = cursor.get(k, v, MDB_SET_RANGE);
  if (rc == MDB_NOTFOUND) return false;
  if (rc != 0) return store.error(rc, std::string("mdb_cursor_get(") + db + ")");
  return k.mv_size >= prefix_bytes && std::memcmp(k.mv_data, key.view().data(), prefix_bytes) == 0;
}

Status put_history(WriteTxn& txn, Cursor& cursor, std::uint64_t field_id, std::uint64_t version,
                   std::uint64_t epoch, std::uint64_t time_ns, std::string_view value_bytes) {
  StoreImpl& store = txn.store();
  const detail::Key key = detail::history_key(field_id, version);
  MDB_val k{}, v{};
  auto later = next_shares_prefix(store, cursor, key, 8, k, "history");
  if (!later) return later.status();
  if (*later) {
    return rejected(store, "history of field " + std::to_string(field_id) + ": version " +
                               std::to_string(version) + " is not after existing version " +
                               std::to_string(detail::get_u64(static_cast<char*>(k.mv_data) + 8)));
  }
  auto found = seek_before(store, cursor, key, k, v, "history");
  if (!found) return found.status();
  if (*found && k.mv_size == detail::history_key_bytes &&
      std::memcmp(k.mv_data, key.view().data(), 8) == 0) {
    HistoryEntry previous;
    Status s = detail::decode_history(store.data_file, k, v, previous);
    if (!s) return s;
    if (previous.epoch > epoch) {
      return rejected(store, "history of field " + std::to_string(field_id) + ": version " +
                                 std::to_string(version) + " has epoch " + std::to_string(epoch) +
                                 ", before epoch " + std::to_string(previous.epoch) +
                                 " of the previous version " + std::to_string(previous.version));
    }
  }
  detail::Key put_key = key;
  const std::size_t size =
      detail::checksum_bytes + detail::history_header_bytes + value_bytes.size();
  char* out = nullptr;
  Status s = txn.reserve(store.history_dbi, put_key.val(), size, MDB_NOOVERWRITE, &out,
                         "mdb_put(history)");
  if (!s) return s;
  detail::fill_history(out, epoch, time_ns, value_bytes);
  detail::seal(detail::Db::history, key.view(), out, size);
  return Status::ok();
}

Status put_ledger(WriteTxn& txn, Cursor& cursor, std::uint64_t field_id, std::uint64_t version,
                  std::uint64_t seq, LedgerKind kind, std::uint64_t epoch, std::uint64_t time_ns,
                  std::string_view detail_bytes) {
  StoreImpl& store = txn.store();
  const detail::Key key = detail::ledger_key(field_id, version, seq);
  const std::string what =
      "ledger of effect field " + std::to_string(field_id) + " version " + std::to_string(version);
  MDB_val k{}, v{};
  auto later = next_shares_prefix(store, cursor, key, 16, k, "ledger");
  if (!later) return later.status();
  if (*later) {
    return rejected(store, what + ": seq " + std::to_string(seq) + " is not after existing seq " +
                               std::to_string(detail::get_u64(static_cast<char*>(k.mv_data) + 16)));
  }
  auto found = seek_before(store, cursor, key, k, v, "ledger");
  if (!found) return found.status();
  const bool has_records = *found && k.mv_size == detail::ledger_key_bytes &&
                           std::memcmp(k.mv_data, key.view().data(), 16) == 0;
  if (has_records) {
    LedgerEntry previous;
    Status s = detail::decode_ledger(store.data_file, k, v, previous);
    if (!s) return s;
    if (kind == LedgerKind::transition) {
      return rejected(store, what + ": a transition must be the version's first record (seq " +
                                 std::to_string(seq) + " follows seq " +
                                 std::to_string(previous.seq) + ")");
    }
  } else {
    if (kind != LedgerKind::transition) {
      return rejected(
          store, what + ": the first record must be a transition, not " + ledger_kind_name(kind));
    }
    detail::Key history = detail::history_key(field_id, version);
    MDB_val hk = history.val(), hv{};
    const int rc = mdb_get(txn.get(), store.history_dbi, &hk, &hv);
    if (rc == MDB_NOTFOUND) {
      return rejected(store, what +
                                 ": the transition has no history entry for that version "
                                 "(effect fields keep their history: write it first or in "
                                 "the same batch)");
    }
    if (rc != 0) return store.error(rc, "mdb_get(history)");
  }
  detail::Key put_key = key;
  const std::size_t size =
      detail::checksum_bytes + detail::ledger_header_bytes + detail_bytes.size();
  char* out = nullptr;
  Status s =
      txn.reserve(store.ledger_dbi, put_key.val(), size, MDB_NOOVERWRITE, &out, "mdb_put(ledger)");
  if (!s) return s;
  detail::fill_ledger(out, kind, epoch, time_ns, detail_bytes);
  detail::seal(detail::Db::ledger, key.view(), out, size);
  return Status::ok();
}

Status put_checkpoint(WriteTxn& txn, std::string_view scope, std::uint64_t epoch,
                      std::string_view state, std::uint64_t last_epoch) {
  StoreImpl& store = txn.store();
  const std::string what =
      "checkpoint of scope '" + std::string(scope) + "' at epoch " + std::to_string(epoch);
  if (epoch > last_epoch && !store.options.checkpoints_only) {
    return rejected(store, what + " is ahead of the log (last logged epoch " +
                               std::to_string(last_epoch) + ")");
  }
  if (store.compacted_before > 0 && epoch + 1 < store.compacted_before) {
    return rejected(store, what + " could never be recovered from: log entries before epoch " +
                               std::to_string(store.compacted_before) + " were compacted away");
  }
  detail::Key key = detail::checkpoint_key(scope, epoch);
  const std::size_t size = detail::checksum_bytes + state.size();
  char* out = nullptr;
  Status s = txn.reserve(store.checkpoints_dbi, key.val(), size, 0, &out, "mdb_put(checkpoints)");
  if (!s) return s;
  detail::fill_plain(out, state);
  detail::seal(detail::Db::checkpoints, key.view(), out, size);
  // A checkpoint in parts at the same epoch is replaced too (with its parts).
  return detail::delete_checkpoints_at(txn, scope, epoch, key.view());
}

}  // namespace

Status Store::write(const WriteBatch& batch) {
  if (batch.empty()) return Status::ok();
  StoreImpl& store = *impl_;
  // Checks that need no transaction come first, so a bad batch costs no LMDB work.
  if (batch.op_count() > write_batch_ops_max) {
    return Status(StatusCode::out_of_range, store.data_file + ": write batch of " +
                                                std::to_string(batch.op_count()) +
                                                " operations exceeds write_batch_ops_max " +
                                                std::to_string(write_batch_ops_max));
  }
  if (batch.payload_bytes() > write_batch_bytes_max) {
    return too_large(store, "write batch", batch.payload_bytes(), write_batch_bytes_max);
  }
  if (store.options.checkpoints_only && !batch.log_.empty()) {
    return rejected(store, "log append to a store of checkpoints only");
  }
  for (const auto& op : batch.log_) {
    if (op.epoch == 0) return rejected(store, "log append of epoch 0 (epochs start at 1)");
    if (op.batch.size > log_batch_bytes_max) {
      return too_large(store, "log batch of epoch " + std::to_string(op.epoch), op.batch.size,
                       log_batch_bytes_max);
    }
  }
  for (const auto& op : batch.history_) {
    if (op.value.size > history_value_bytes_max) {
      return too_large(store, "history value of field " + std::to_string(op.field_id),
                       op.value.size, history_value_bytes_max);
    }
  }
  for (const auto& op : batch.ledger_) {
    const auto kind = static_cast<unsigned char>(op.kind);
    if (kind == 0 || kind > ledger_kind_max) {
      return rejected(store, "ledger record of unknown kind " + std::to_string(kind));
    }
    if (op.detail.size > ledger_detail_bytes_max) {
      return too_large(store, "ledger detail", op.detail.size, ledger_detail_bytes_max);
    }
  }
  for (const auto& op : batch.checkpoints_) {
    if (op.scope.size == 0 || op.scope.size > scope_bytes_max) {
      return rejected(store, "checkpoint scope of " + std::to_string(op.scope.size) +
                                 " bytes (1 to " + std::to_string(scope_bytes_max) + " allowed)");
    }
    if (op.state.size > checkpoint_state_bytes_max) {
      return too_large(store, "checkpoint state", op.state.size, checkpoint_state_bytes_max);
    }
  }
  return store.run_write("write", [&](WriteTxn& txn) -> Status {
    auto last = detail::last_logged_epoch(store, txn.get());
    if (!last) return last.status();
    std::uint64_t last_epoch = *last;
    for (const auto& op : batch.log_) {
      Status s = append_log(txn, op.epoch, op.time_ns, batch.view(op.batch), last_epoch);
      if (!s) return s;
    }
    if (!batch.history_.empty()) {
      Cursor cursor;
      Status s = cursor.open(store, txn.get(), store.history_dbi, "mdb_cursor_open(history)");
      for (std::size_t i = 0; s && i < batch.history_.size(); ++i) {
        const auto& op = batch.history_[i];
        s = put_history(txn, cursor, op.field_id, op.version, op.epoch, op.time_ns,
                        batch.view(op.value));
      }
      if (!s) return s;
    }
    if (!batch.ledger_.empty()) {
      Cursor cursor;
      Status s = cursor.open(store, txn.get(), store.ledger_dbi, "mdb_cursor_open(ledger)");
      for (std::size_t i = 0; s && i < batch.ledger_.size(); ++i) {
        const auto& op = batch.ledger_[i];
        s = put_ledger(txn, cursor, op.effect_field_id, op.version, op.seq, op.kind, op.epoch,
                       op.time_ns, batch.view(op.detail));
      }
      if (!s) return s;
    }
    for (const auto& op : batch.checkpoints_) {
      Status s =
          put_checkpoint(txn, batch.view(op.scope), op.epoch, batch.view(op.state), last_epoch);
      if (!s) return s;
    }
    return Status::ok();
  });
}

}  // namespace mgraph::persistence
