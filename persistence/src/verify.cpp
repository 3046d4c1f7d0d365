// Store::verify: a full scan of every database, as an operator's fsck and the crash test's
// final check. Every loop is bounded by the entry count LMDB reports for the database.

#include <cstring>

#include "checkpoint_parts.hpp"
#include "encoding.hpp"
#include "mgraph/persistence/store.hpp"
#include "store_impl.hpp"

namespace mgraph::persistence {
namespace {

using detail::Cursor;
using detail::StoreImpl;

Status broken(const StoreImpl& store, const std::string& what) {
  return Status(StatusCode::corruption, store.data_file + ": " + what);
}

/// Calls `visit(key, value)` for each record of `dbi` in key order.
template <class Visit>
Result<std::uint64_t> scan(const StoreImpl& store, MDB_txn* txn, MDB_dbi dbi, const char* name,
                           Visit&& visit) {
  auto count = detail::entry_count(store, txn, dbi);
  if (!count) return count.status();
  Cursor cursor;
  Status s = cursor.open(store, txn, dbi, std::string("mdb_cursor_open(") + name + ")");
  if (!s) return s;
  MDB_val k{}, v{};
  int rc = cursor.get(k, v, MDB_FIRST);
  std::uint64_t seen = 0;
  for (; rc == 0 && seen <= *count; ++seen) {
    s = visit(k, v);
    if (!s) return s;
    rc = cursor.get(k, v, MDB_NEXT);
  }
  if (rc != 0 && rc != MDB_NOTFOUND) {
    return store.error(rc, std::string("mdb_cursor_get(") + name + ")");
  }
  if (seen != *count) {
    return broken(store, std::string(name) + " database holds " + std::to_string(seen) +
                             " records but its header counts " + std::to_string(*count));
  }
  return seen;
}

}  // namespace

Result<VerifyReport> Store::verify() const {
  const StoreImpl& store = *impl_;
  detail::ReadTxn txn(*impl_);
  Status s = txn.begin("verify");
  if (!s) return s;
  VerifyReport report;
  std::uint64_t last_epoch = 0;
  LogEntry log_entry;
  auto logged = scan(store, txn.get(), store.log_dbi, "log", [&](MDB_val& k, MDB_val& v) {
    Status decoded = detail::decode_log(store.data_file, k, v, log_entry);
    if (!decoded) return decoded;
    if (log_entry.epoch == 0) return broken(store, "log entry of epoch 0");
    last_epoch = log_entry.epoch;
    return Status::ok();
  });
  if (!logged) return logged.status();
  report.log_entries = *logged;
  if (store.compacted_before > 0) last_epoch = std::max(last_epoch, store.compacted_before - 1);

  Checkpoint checkpoint;
  auto checkpoints =
      scan(store, txn.get(), store.checkpoints_dbi, "checkpoints", [&](MDB_val& k, MDB_val& v) {
        Status decoded = detail::load_checkpoint(store, txn.get(), k, v, checkpoint);
        if (!decoded) return decoded;
        if (checkpoint.epoch > last_epoch) {
          return broken(store, "checkpoint of scope '" + checkpoint.scope + "' at epoch " +
                                   std::to_string(checkpoint.epoch) +
                                   " is ahead of the last logged epoch " +
                                   std::to_string(last_epoch));
        }
        return Status::ok();
      });
  if (!checkpoints) return checkpoints.status();
  report.checkpoints = *checkpoints;
  if (store.has_parts_db) {
    // Each part checksummed (those of complete checkpoints were read above; the rest are
    // parts a writer left unfinished, which no reader uses and the next writer deletes).
    auto parts = scan(store, txn.get(), store.parts_dbi, "checkpoint_parts",
                      [&](MDB_val& k, MDB_val& v) {
                        return detail::check_value(store.data_file, detail::Db::checkpoint_parts,
                                                   k, v, detail::checkpoint_part_header_bytes,
                                                   "checkpoint part");
                      });
    if (!parts) return parts.status();
    report.checkpoint_parts = *parts;
  }

  HistoryEntry previous_history, history_entry;
  bool have_previous = false;
  auto history = scan(store, txn.get(), store.history_dbi, "history", [&](MDB_val& k, MDB_val& v) {
    Status decoded = detail::decode_history(store.data_file, k, v, history_entry);
    if (!decoded) return decoded;
    if (have_previous && previous_history.field_id == history_entry.field_id &&
        previous_history.epoch > history_entry.epoch) {
      return broken(store, "history of field " + std::to_string(history_entry.field_id) +
                               ": version " + std::to_string(history_entry.version) +
                               " has an epoch before its predecessor's");
    }
    std::swap(previous_history, history_entry);
    have_previous = true;
    return Status::ok();
  });
  if (!history) return history.status();
  report.history_entries = *history;

  LedgerEntry previous_ledger, ledger_entry;
  have_previous = false;
  auto ledger = scan(store, txn.get(), store.ledger_dbi, "ledger", [&](MDB_val& k, MDB_val& v) {
    Status decoded = detail::decode_ledger(store.data_file, k, v, ledger_entry);
    if (!decoded) return decoded;
    const bool first = !have_previous ||
                       previous_ledger.effect_field_id != ledger_entry.effect_field_id ||
                       previous_ledger.version != ledger_entry.version;
    const std::string what = "ledger of effect field " +
                             std::to_string(ledger_entry.effect_field_id) + " version " +
                             std::to_string(ledger_entry.version);
    if (first != (ledger_entry.kind == LedgerKind::transition)) {
      return broken(store, what + ": seq " + std::to_string(ledger_entry.seq) + " is a " +
                               ledger_kind_name(ledger_entry.kind) +
                               (first ? " but must be a transition" : " after the transition"));
    }
    if (first) {
      detail::Key key = detail::history_key(ledger_entry.effect_field_id, ledger_entry.version);
      MDB_val hk = key.val(), hv{};
      const int rc = mdb_get(txn.get(), store.history_dbi, &hk, &hv);
      if (rc == MDB_NOTFOUND) return broken(store, what + ": no history entry for the version");
      if (rc != 0) return store.error(rc, "mdb_get(history)");
    }
    std::swap(previous_ledger, ledger_entry);
    have_previous = true;
    return Status::ok();
  });
  if (!ledger) return ledger.status();
  report.ledger_entries = *ledger;

  std::string meta_value;
  auto meta = scan(store, txn.get(), store.meta_dbi, "meta", [&](MDB_val& k, MDB_val& v) {
    return detail::decode_meta(store.data_file, k, v, meta_value);
  });
  if (!meta) return meta.status();
  report.meta_entries = *meta;
  return report;
}

}  // namespace mgraph::persistence
