// Store queries: the log, checkpoints and recovery, field history, the effect ledger.
// Each query runs in one short read transaction and copies what it returns.

#include <cstring>
#include <limits>

#include "checkpoint_parts.hpp"
#include "encoding.hpp"
#include "mgraph/persistence/store.hpp"
#include "store_impl.hpp"

namespace mgraph::persistence {
namespace {

using detail::Cursor;
using detail::ReadTxn;
using detail::StoreImpl;

constexpr std::uint64_t u64_max = std::numeric_limits<std::uint64_t>::max();

Status check_entries_max(const StoreImpl& store, std::size_t entries_max) {
  if (entries_max == 0 || entries_max > read_entries_max) {
    return Status(StatusCode::invalid_argument, store.data_file + ": entries_max " +
                                                    std::to_string(entries_max) + " outside [1, " +
                                                    std::to_string(read_entries_max) + "]");
  }
  return Status::ok();
}

Status check_scope(const StoreImpl& store, std::string_view scope) {
  if (scope.empty() || scope.size() > scope_bytes_max) {
    return Status(StatusCode::invalid_argument, store.data_file + ": checkpoint scope of " +
                                                    std::to_string(scope.size()) + " bytes (1 to " +
                                                    std::to_string(scope_bytes_max) + " allowed)");
  }
  return Status::ok();
}

bool has_prefix(const MDB_val& key, std::string_view prefix, std::size_t size) {
  return key.mv_size == size && std::memcmp(key.mv_data, prefix.data(), prefix.size()) == 0;
}

/// Reads the epoch of the history record under the cursor, checking its checksum.
Result<std::uint64_t> history_epoch(const StoreImpl& store, const MDB_val& k, const MDB_val& v) {
  const auto key_bytes = static_cast<const char*>(k.mv_data);
  Status s =
      detail::check_value(store.data_file, detail::Db::history, k, v, detail::history_header_bytes,
                          "history of field " + std::to_string(detail::get_u64(key_bytes)) +
                              " version " + std::to_string(detail::get_u64(key_bytes + 8)));
  if (!s) return s;
  return detail::get_u64(static_cast<const char*>(v.mv_data) + detail::checksum_bytes);
}

}  // namespace

Result<std::uint64_t> Store::last_epoch() const {
  ReadTxn txn(*impl_);
  Status s = txn.begin("last_epoch");
  if (!s) return s;
  return detail::last_logged_epoch(*impl_, txn.get());
}

Result<std::optional<LogEntry>> Store::log_entry(std::uint64_t epoch) const {
  ReadTxn txn(*impl_);
  Status s = txn.begin("log_entry");
  if (!s) return s;
  detail::Key key = detail::log_key(epoch);
  MDB_val k = key.val(), v{};
  const int rc = mdb_get(txn.get(), impl_->log_dbi, &k, &v);
  if (rc == MDB_NOTFOUND) return std::optional<LogEntry>();
  if (rc != 0) return impl_->error(rc, "mdb_get(log)");
  LogEntry entry;
  s = detail::decode_log(impl_->data_file, k, v, entry);
  if (!s) return s;
  return std::optional<LogEntry>(std::move(entry));
}

Status Store::read_log(std::uint64_t after_epoch, std::size_t entries_max,
                       std::vector<LogEntry>& out) const {
  const StoreImpl& store = *impl_;
  Status s = check_entries_max(store, entries_max);
  if (!s) return s;
  if (store.compacted_before > 0 && after_epoch + 1 < store.compacted_before) {
    return Status(StatusCode::failed_precondition,
                  store.data_file + ": the log after epoch " + std::to_string(after_epoch) +
                      " is needed, but entries before epoch " +
                      std::to_string(store.compacted_before) +
                      " were compacted away: recover from a newer checkpoint");
  }
  std::size_t count = 0;
  if (after_epoch != u64_max) {
    ReadTxn txn(*impl_);
    s = txn.begin("read_log");
    if (!s) return s;
    Cursor cursor;
    s = cursor.open(store, txn.get(), store.log_dbi, "mdb_cursor_open(log)");
    if (!s) return s;
    detail::Key key = detail::log_key(after_epoch + 1);
    MDB_val k = key.val(), v{};
    int rc = cursor.get(k, v, MDB_SET_RANGE);
    std::size_t bytes = 0;
    while (rc == 0 && count < entries_max && bytes < read_chunk_bytes_max) {
      if (count == out.size()) out.emplace_back();
      s = detail::decode_log(store.data_file, k, v, out[count]);
      if (!s) return s;
      MG_ASSERT(out[count].epoch > after_epoch);
      bytes += out[count].batch.size();
      ++count;
      rc = cursor.get(k, v, MDB_NEXT);
    }
    if (rc != 0 && rc != MDB_NOTFOUND) return store.error(rc, "mdb_cursor_get(log)");
  }
  out.resize(count);
  return Status::ok();
}

LogCursor Store::log_cursor(std::uint64_t after_epoch, std::size_t chunk_entries_max) const {
  MG_ASSERT(chunk_entries_max > 0 && chunk_entries_max <= read_entries_max);
  return LogCursor(this, after_epoch, chunk_entries_max);
}

namespace {

/// The checkpoint of `scope` with the largest epoch <= `epoch`, or nullopt.
Result<std::optional<Checkpoint>> checkpoint_at_or_before(StoreImpl& store,
                                                          std::string_view scope,
                                                          std::uint64_t epoch) {
  Status s = check_scope(store, scope);
  if (!s) return s;
  ReadTxn txn(store);
  s = txn.begin("newest_checkpoint");
  if (!s) return s;
  Cursor cursor;
  s = cursor.open(store, txn.get(), store.checkpoints_dbi, "mdb_cursor_open(checkpoints)");
  if (!s) return s;
  // The largest key the scope can have at `epoch` (generation all ones), then the record
  // at or before it: a scope's keys sort by epoch, and at one epoch a checkpoint in parts
  // (a longer key, see encoding.hpp) after one in a single record.
  detail::Key newest_possible = detail::parted_checkpoint_key(scope, epoch, u64_max);
  const detail::Key scope_key = detail::Key().scope(scope);
  const std::string_view prefix = scope_key.view();
  MDB_val k = newest_possible.val(), v{};
  int rc = cursor.get(k, v, MDB_SET_RANGE);
  if (rc == 0 && detail::as_view(k) != newest_possible.view()) {
    rc = cursor.get(k, v, MDB_PREV);
  } else if (rc == MDB_NOTFOUND) {
    rc = cursor.get(k, v, MDB_LAST);
  }
  if (rc == MDB_NOTFOUND ||
      (rc == 0 && !(k.mv_size > prefix.size() &&
                    std::memcmp(k.mv_data, prefix.data(), prefix.size()) == 0))) {
    return std::optional<Checkpoint>();
  }
  if (rc != 0) return store.error(rc, "mdb_cursor_get(checkpoints)");
  Checkpoint checkpoint;
  s = detail::load_checkpoint(store, txn.get(), k, v, checkpoint);
  if (!s) return s;
  return std::optional<Checkpoint>(std::move(checkpoint));
}

}  // namespace

Result<std::optional<Checkpoint>> Store::newest_checkpoint(std::string_view scope) const {
  return checkpoint_at_or_before(*impl_, scope, u64_max);
}

Result<std::optional<Checkpoint>> Store::checkpoint_at(std::string_view scope,
                                                       std::uint64_t epoch) const {
  Result<std::optional<Checkpoint>> found = checkpoint_at_or_before(*impl_, scope, epoch);
  if (found.is_ok() && found->has_value() && (*found)->epoch != epoch) {
    return std::optional<Checkpoint>();
  }
  return found;
}

Result<Recovery> Store::recover(std::string_view scope) const {
  auto checkpoint = newest_checkpoint(scope);
  if (!checkpoint) return checkpoint.status();
  const std::uint64_t after = checkpoint->has_value() ? (*checkpoint)->epoch : 0;
  if (impl_->compacted_before > 0 && after + 1 < impl_->compacted_before) {
    return Status(
        StatusCode::failed_precondition,
        impl_->data_file + ": scope '" + std::string(scope) + "' " +
            (checkpoint->has_value() ? "has its newest checkpoint at epoch " + std::to_string(after)
                                     : std::string("has no checkpoint")) +
            ", but log entries before epoch " + std::to_string(impl_->compacted_before) +
            " were compacted away: it cannot be recovered from this store");
  }
  return Recovery{std::move(*checkpoint), log_cursor(after)};
}

Result<std::optional<HistoryEntry>> Store::value_at(std::uint64_t field_id,
                                                    std::uint64_t epoch) const {
  const StoreImpl& store = *impl_;
  ReadTxn txn(*impl_);
  Status s = txn.begin("value_at");
  if (!s) return s;
  Cursor cursor;
  s = cursor.open(store, txn.get(), store.history_dbi, "mdb_cursor_open(history)");
  if (!s) return s;
  detail::Key first_key = detail::history_key(field_id, 0);
  const std::string_view prefix = first_key.view().substr(0, 8);
  const auto version_of = [](const MDB_val& key) {
    return detail::get_u64(static_cast<const char*>(key.mv_data) + 8);
  };
  // First version of the field: none, or one already after `epoch`, means no value yet.
  MDB_val k = first_key.val(), v{};
  int rc = cursor.get(k, v, MDB_SET_RANGE);
  if (rc == MDB_NOTFOUND || (rc == 0 && !has_prefix(k, prefix, detail::history_key_bytes))) {
    return std::optional<HistoryEntry>();
  }
  if (rc != 0) return store.error(rc, "mdb_cursor_get(history)");
  auto first_epoch = history_epoch(store, k, v);
  if (!first_epoch) return first_epoch.status();
  if (*first_epoch > epoch) return std::optional<HistoryEntry>();
  std::uint64_t lo = version_of(k);
  // Last version of the field: the answer when its epoch is <= `epoch`.
  if (field_id == u64_max) {
    rc = cursor.get(k, v, MDB_LAST);
  } else {
    detail::Key next_field = detail::history_key(field_id + 1, 0);
    k = next_field.val();
    rc = cursor.get(k, v, MDB_SET_RANGE);
    rc = rc == 0 ? cursor.get(k, v, MDB_PREV) : cursor.get(k, v, MDB_LAST);
  }
  if (rc != 0) return store.error(rc, "mdb_cursor_get(history, last version)");
  MG_ASSERT(has_prefix(k, prefix, detail::history_key_bytes));
  auto last_epoch = history_epoch(store, k, v);
  if (!last_epoch) return last_epoch.status();
  std::uint64_t hi = version_of(k);
  if (*last_epoch <= epoch) lo = hi;
  // Binary search over version numbers; epochs never decrease with the version.
  // Invariant: version lo exists with epoch <= `epoch`; every version >= hi has a larger one.
  for (int step = 0; step < 65 && hi > lo + 1; ++step) {
    const std::uint64_t mid = lo + (hi - lo) / 2;
    detail::Key mid_key = detail::history_key(field_id, mid);
    k = mid_key.val();
    rc = cursor.get(k, v, MDB_SET_RANGE);  // the field's first version >= mid, if any
    if (rc != 0 && rc != MDB_NOTFOUND) return store.error(rc, "mdb_cursor_get(history)");
    if (rc == MDB_NOTFOUND || !has_prefix(k, prefix, detail::history_key_bytes) ||
        version_of(k) >= hi) {
      hi = mid;  // no version in [mid, hi): every version >= mid is >= hi
      continue;
    }
    auto found_epoch = history_epoch(store, k, v);
    if (!found_epoch) return found_epoch.status();
    if (*found_epoch <= epoch) {
      lo = version_of(k);
    } else {
      hi = mid;
    }
  }
  MG_ASSERT(lo == hi || hi == lo + 1);
  detail::Key answer_key = detail::history_key(field_id, lo);
  k = answer_key.val();
  rc = mdb_get(txn.get(), store.history_dbi, &k, &v);
  if (rc != 0) return store.error(rc, "mdb_get(history)");
  HistoryEntry entry;
  s = detail::decode_history(store.data_file, k, v, entry);
  if (!s) return s;
  MG_ASSERT(entry.epoch <= epoch && entry.field_id == field_id);
  return std::optional<HistoryEntry>(std::move(entry));
}

namespace {
/// Reads up to `entries_max` records of `dbi` from `key` onwards while their first 8 bytes
/// (the field id) match `key`'s, decoding each with `decode`. `what` names the read in errors.
template <class Entry, class Decode>
Result<std::vector<Entry>> scan_field(StoreImpl& store, MDB_dbi dbi, detail::Key key,
                                      std::size_t key_bytes, std::size_t entries_max,
                                      const char* what, Decode decode) {
  Status s = check_entries_max(store, entries_max);
  if (!s) return s;
  ReadTxn txn(store);
  s = txn.begin(what);
  if (!s) return s;
  Cursor cursor;
  s = cursor.open(store, txn.get(), dbi, std::string("mdb_cursor_open(") + what + ")");
  if (!s) return s;
  const std::string_view prefix = key.view().substr(0, 8);
  std::vector<Entry> out;
  MDB_val k = key.val(), v{};
  int rc = cursor.get(k, v, MDB_SET_RANGE);
  while (rc == 0 && out.size() < entries_max && has_prefix(k, prefix, key_bytes)) {
    s = decode(store.data_file, k, v, out.emplace_back());
    if (!s) return s;
    rc = cursor.get(k, v, MDB_NEXT);
  }
  if (rc != 0 && rc != MDB_NOTFOUND) {
    return store.error(rc, std::string("mdb_cursor_get(") + what + ")");
  }
  return out;
}
}  // namespace

Result<std::vector<HistoryEntry>> Store::history(std::uint64_t field_id, std::uint64_t version_from,
                                                 std::size_t entries_max) const {
  return scan_field<HistoryEntry>(*impl_, impl_->history_dbi,
                                  detail::history_key(field_id, version_from),
                                  detail::history_key_bytes, entries_max, "history",
                                  detail::decode_history);
}

Result<std::vector<LedgerEntry>> Store::audit_trail(std::uint64_t effect_field_id,
                                                    std::uint64_t version_from,
                                                    std::uint64_t seq_from,
                                                    std::size_t entries_max) const {
  return scan_field<LedgerEntry>(*impl_, impl_->ledger_dbi,
                                 detail::ledger_key(effect_field_id, version_from, seq_from),
                                 detail::ledger_key_bytes, entries_max, "ledger",
                                 detail::decode_ledger);
}

}  // namespace mgraph::persistence
