// Store::compact: drop log entries that no retained checkpoint needs. Also the deletions
// of checkpoints and history versions before a bound (drop_checkpoints_before,
// drop_history_before).
//
// Step 1 (one transaction): check that every scope's newest checkpoint is at or after
// before_epoch - 1, delete the checkpoints that would need deleted entries, and raise the
// meta bound "log_compacted_before". From then on readers never look below the bound.
// Step 2 (bounded transactions): delete the entries below the bound. A crash between or
// within the steps leaves entries below the bound that nobody reads; the next compact()
// deletes them.

#include <algorithm>
#include <cstring>
#include <functional>
#include <limits>
#include <string>
#include <vector>

#include "checkpoint_parts.hpp"
#include "encoding.hpp"
#include "mgraph/persistence/store.hpp"
#include "store_impl.hpp"

namespace mgraph::persistence {
namespace {

using detail::Cursor;
using detail::StoreImpl;
using detail::WriteTxn;

struct ScopeNewest {
  std::string scope;
  std::uint64_t epoch = 0;
};

/// Step 1, inside `txn`. Sets `bound` to the new compaction bound.
Status retire_checkpoints(WriteTxn& txn, std::uint64_t before_epoch, std::uint64_t& bound) {
  StoreImpl& store = txn.store();
  auto last = detail::last_logged_epoch(store, txn.get());
  if (!last) return last.status();
  if (before_epoch > *last + 1) {
    return Status(StatusCode::invalid_argument,
                  store.data_file + ": compact before epoch " + std::to_string(before_epoch) +
                      " reaches past the last logged epoch " + std::to_string(*last));
  }
  auto count = detail::entry_count(store, txn.get(), store.checkpoints_dbi);
  if (!count) return count.status();
  std::vector<ScopeNewest> newest;
  struct Stale {
    std::string key;
    std::string scope;
    std::uint64_t epoch;
  };
  std::vector<Stale> stale;
  {
    Cursor cursor;
    Status s = cursor.open(store, txn.get(), store.checkpoints_dbi, "mdb_cursor_open(checkpoints)");
    if (!s) return s;
    MDB_val k{}, v{};
    int rc = cursor.get(k, v, MDB_FIRST);
    for (std::uint64_t i = 0; rc == 0 && i <= *count; ++i) {
      detail::CheckpointKey key;
      Status parsed = detail::parse_checkpoint_key(store, k, &key);
      if (!parsed) return parsed;
      if (newest.empty() || newest.back().scope != key.scope) {
        newest.push_back(ScopeNewest{std::string(key.scope), key.epoch});
      } else {
        newest.back().epoch = key.epoch;  // keys of one scope come in epoch order
      }
      if (key.epoch + 1 < before_epoch) {
        stale.push_back(Stale{std::string(static_cast<const char*>(k.mv_data), k.mv_size),
                              std::string(key.scope), key.epoch});
      }
      rc = cursor.get(k, v, MDB_NEXT);
    }
    if (rc != 0 && rc != MDB_NOTFOUND) return store.error(rc, "mdb_cursor_get(checkpoints)");
  }
  if (newest.empty() && before_epoch > 1) {
    return Status(StatusCode::failed_precondition,
                  store.data_file + ": compact before epoch " + std::to_string(before_epoch) +
                      " refused: no checkpoint exists, so every scope needs the whole log");
  }
  for (const ScopeNewest& scope : newest) {
    if (scope.epoch + 1 < before_epoch) {
      return Status(StatusCode::failed_precondition,
                    store.data_file + ": compact before epoch " + std::to_string(before_epoch) +
                        " refused: scope '" + scope.scope +
                        "' has its newest checkpoint at epoch " + std::to_string(scope.epoch) +
                        " and needs the log from epoch " + std::to_string(scope.epoch + 1) +
                        " on; checkpoint it first");
    }
  }
  for (const Stale& old : stale) {
    MDB_val k{old.key.size(), const_cast<char*>(old.key.data())};
    Status s =
        txn.check(mdb_del(txn.get(), store.checkpoints_dbi, &k, nullptr), "mdb_del(checkpoints)");
    // Its parts, if it had any, and any a writer left unfinished at that epoch.
    if (s) s = detail::delete_parts(txn, old.scope, old.epoch, 0, true);
    if (!s) return s;
  }
  bound = std::max(store.compacted_before, before_epoch);
  if (bound == store.compacted_before) return Status::ok();
  char bytes[8];
  detail::put_u64(bytes, bound);
  return detail::put_meta(txn, detail::meta_log_compacted_before, {bytes, sizeof bytes});
}

/// Step 2: deletes up to compact_entries_per_txn_max entries below `bound`.
Status delete_log_below(WriteTxn& txn, std::uint64_t bound, bool& done) {
  StoreImpl& store = txn.store();
  Cursor cursor;
  Status s = cursor.open(store, txn.get(), store.log_dbi, "mdb_cursor_open(log)");
  if (!s) return s;
  done = false;
  for (std::size_t deleted = 0; deleted < compact_entries_per_txn_max; ++deleted) {
    MDB_val k{}, v{};
    const int rc = cursor.get(k, v, MDB_FIRST);
    if (rc == MDB_NOTFOUND) break;
    if (rc != 0) return store.error(rc, "mdb_cursor_get(log, MDB_FIRST)");
    if (k.mv_size != detail::log_key_bytes) {
      return Status(StatusCode::corruption, store.data_file + ": log database: key of " +
                                                std::to_string(k.mv_size) + " bytes, expected 8");
    }
    if (detail::get_u64(static_cast<const char*>(k.mv_data)) >= bound) break;
    s = txn.check(mdb_cursor_del(cursor.raw(), 0), "mdb_cursor_del(log)");
    if (!s) return s;
  }
  // done unless this transaction stopped at its bound with entries possibly left.
  MDB_val k{}, v{};
  const int rc = cursor.get(k, v, MDB_FIRST);
  if (rc != 0 && rc != MDB_NOTFOUND) return store.error(rc, "mdb_cursor_get(log, MDB_FIRST)");
  done = rc == MDB_NOTFOUND || (k.mv_size == detail::log_key_bytes &&
                                detail::get_u64(static_cast<const char*>(k.mv_data)) >= bound);
  return Status::ok();
}

/// Deletes up to compact_entries_per_txn_max versions of `field_id` in [from, to).
Status delete_history_range(WriteTxn& txn, std::uint64_t field_id, std::uint64_t from, std::uint64_t to,
                            bool& done) {
  StoreImpl& store = txn.store();
  Cursor cursor;
  Status s = cursor.open(store, txn.get(), store.history_dbi, "mdb_cursor_open(history)");
  if (!s) return s;
  detail::Key first = detail::history_key(field_id, from);
  auto below = [&](const MDB_val& k) {
    return k.mv_size == detail::history_key_bytes &&
           detail::get_u64(static_cast<const char*>(k.mv_data)) == field_id &&
           detail::get_u64(static_cast<const char*>(k.mv_data) + 8) < to;
  };
  done = false;
  for (std::size_t deleted = 0; deleted < compact_entries_per_txn_max; ++deleted) {
    MDB_val k = first.val(), v{};
    const int rc = cursor.get(k, v, MDB_SET_RANGE);
    if (rc == MDB_NOTFOUND || (rc == 0 && !below(k))) {
      done = true;
      return Status::ok();
    }
    if (rc != 0) return store.error(rc, "mdb_cursor_get(history, MDB_SET_RANGE)");
    s = txn.check(mdb_cursor_del(cursor.raw(), 0), "mdb_cursor_del(history)");
    if (!s) return s;
  }
  return Status::ok();
}

/// Runs `step`, a bounded deletion in `dbi` that says when nothing is left, in write
/// transactions until it is done: at most (the entries of `dbi`) / compact_entries_per_txn_max
/// + 2 of them, each of which deletes that many unless it is done.
Status delete_in_rounds(StoreImpl& store, MDB_dbi dbi, const char* operation,
                        const std::function<Status(WriteTxn&, bool&)>& step) {
  auto entries = [&]() -> Result<std::uint64_t> {
    detail::ReadTxn txn(store);
    Status begun = txn.begin(operation);
    if (!begun) return begun;
    return detail::entry_count(store, txn.get(), dbi);
  }();
  if (!entries) return entries.status();
  const std::uint64_t rounds_max = *entries / compact_entries_per_txn_max + 2;
  for (std::uint64_t round = 0; round < rounds_max; ++round) {
    bool done = false;
    Status s = store.run_write(operation, [&](WriteTxn& txn) { return step(txn, done); });
    if (!s || done) return s;
  }
  return Status::ok();
}


/// Deletes the field's history versions in [from, to), unless the ledger has a record of
/// one of them (`what` says which versions, for the refusal).
Status drop_history_range(StoreImpl& store, std::uint64_t field_id, std::uint64_t from, std::uint64_t to,
                          const std::string& what) {
  if (from >= to) return Status::ok();
  {
    detail::ReadTxn txn(store);
    Status s = txn.begin("drop history");
    if (!s) return s;
    Cursor cursor;
    s = cursor.open(store, txn.get(), store.ledger_dbi, "mdb_cursor_open(ledger)");
    if (!s) return s;
    detail::Key first = detail::ledger_key(field_id, from, 0);
    MDB_val k = first.val(), v{};
    const int rc = cursor.get(k, v, MDB_SET_RANGE);
    if (rc != 0 && rc != MDB_NOTFOUND) return store.error(rc, "mdb_cursor_get(ledger, MDB_SET_RANGE)");
    if (rc == 0 && k.mv_size == detail::ledger_key_bytes &&
        detail::get_u64(static_cast<const char*>(k.mv_data)) == field_id &&
        detail::get_u64(static_cast<const char*>(k.mv_data) + 8) < to) {
      return Status(StatusCode::failed_precondition,
                    store.data_file + ": history of field " + std::to_string(field_id) + " " + what +
                        " is kept: the ledger has a record of version " +
                        std::to_string(detail::get_u64(static_cast<const char*>(k.mv_data) + 8)));
    }
  }
  return delete_in_rounds(store, store.history_dbi, "drop history", [&](WriteTxn& txn, bool& done) {
    return delete_history_range(txn, field_id, from, to, done);
  });
}

}  // namespace

Status Store::drop_history_before(std::uint64_t field_id, std::uint64_t version) {
  return drop_history_range(*impl_, field_id, 0, version, "before version " + std::to_string(version));
}

Status Store::drop_history_from(std::uint64_t field_id, std::uint64_t version) {
  return drop_history_range(*impl_, field_id, version, std::numeric_limits<std::uint64_t>::max(),
                            "from version " + std::to_string(version));
}

Status Store::drop_checkpoints_before(std::string_view scope, std::uint64_t epoch) {
  StoreImpl& store = *impl_;
  if (scope.empty() || scope.size() > scope_bytes_max) {
    return Status(StatusCode::invalid_argument,
                  store.data_file + ": checkpoint scope of " + std::to_string(scope.size()) +
                      " bytes (1 to " + std::to_string(scope_bytes_max) + " allowed)");
  }
  return store.run_write("drop checkpoints", [&](WriteTxn& txn) -> Status {
    // The scope's epochs below `epoch`, found first: deleting moves the cursor.
    std::vector<std::uint64_t> epochs;
    {
      Cursor cursor;
      Status s = cursor.open(store, txn.get(), store.checkpoints_dbi, "mdb_cursor_open(checkpoints)");
      if (!s) return s;
      detail::Key first = detail::checkpoint_key(scope, 0);
      MDB_val k = first.val(), v{};
      int rc = cursor.get(k, v, MDB_SET_RANGE);
      auto count = detail::entry_count(store, txn.get(), store.checkpoints_dbi);
      if (!count) return count.status();
      for (std::uint64_t i = 0; rc == 0 && i <= *count; ++i) {
        detail::CheckpointKey key;
        s = detail::parse_checkpoint_key(store, k, &key);
        if (!s) return s;
        if (key.scope != scope || key.epoch >= epoch) break;
        if (epochs.empty() || epochs.back() != key.epoch) epochs.push_back(key.epoch);
        rc = cursor.get(k, v, MDB_NEXT);
      }
      if (rc != 0 && rc != MDB_NOTFOUND) return store.error(rc, "mdb_cursor_get(checkpoints)");
    }
    for (const std::uint64_t e : epochs) {
      if (Status s = detail::delete_checkpoints_at(txn, scope, e, {}); !s) return s;
    }
    return Status::ok();
  });
}

Status Store::compact(std::uint64_t before_epoch) {
  StoreImpl& store = *impl_;
  if (store.options.checkpoints_only) {
    return Status(StatusCode::failed_precondition,
                  store.data_file + ": compact of a store of checkpoints only (it has no log)");
  }
  if (before_epoch == 0) {
    return Status(StatusCode::invalid_argument, store.data_file + ": compact before epoch 0");
  }
  std::uint64_t bound = 0;
  Status s = store.run_write(
      "compact", [&](WriteTxn& txn) { return retire_checkpoints(txn, before_epoch, bound); });
  if (!s) return s;
  store.compacted_before = bound;
  return delete_in_rounds(store, store.log_dbi, "compact log",
                          [&](WriteTxn& txn, bool& done) { return delete_log_below(txn, bound, done); });
}

}  // namespace mgraph::persistence
