#include "lmdb_epoch_log.hpp"

#include "log.hpp"
#include "mgraph/persistence/write_batch.hpp"

namespace mgraph::node {

Result<std::unique_ptr<LmdbEpochLog>> LmdbEpochLog::open(const std::string& directory,
                                                         Clock clock) {
  persistence::StoreOptions options;
  options.durability = persistence::Durability::sync;
  options.create_if_missing = true;
  Result<std::unique_ptr<persistence::Store>> store = persistence::Store::open(directory, options);
  if (!store.is_ok()) return Status(store.status().code(), directory + ": " + store.status().message());
  return std::unique_ptr<LmdbEpochLog>(
      new LmdbEpochLog(std::move(store).value(), directory, std::move(clock)));
}

Status LmdbEpochLog::write(const persistence::WriteBatch& wb, bool with_staged, Status* records) {
  if (!with_staged || staged_.empty()) return store_->write(wb);
  persistence::WriteBatch both = wb;
  staged_.add_to(both);
  Status s = store_->write(both);
  if (s.is_ok() || s.code() == StatusCode::io_error || s.code() == StatusCode::corruption) {
    if (s.is_ok()) staged_ = {};  // else the store failed: kept for a later write
    return s;
  }
  // The store refuses the records (they break its rules, which the recorder must keep):
  // they must not stop the log. Dropped, and said.
  const std::size_t count = staged_.history.size() + staged_.ledger.size();
  log::error("version_records_dropped", {{"records", count}, {"error", s.message()}});
  staged_ = {};
  if (records != nullptr) *records = Status(s.code(), std::to_string(count) + " records dropped: " + s.message());
  return store_->write(wb);
}

bool LmdbEpochLog::staged_enough() const {
  return staged_.history.size() + staged_.ledger.size() >= kStagedRecordsMin;
}

Status LmdbEpochLog::append(codec::Epoch epoch, std::string_view batch) {
  persistence::WriteBatch wb;
  wb.append_log(epoch, clock_(), batch);
  if (Status s = write(wb, staged_enough()); !s.is_ok())
    return Status(s.code(), directory_ + ": cannot log epoch " + std::to_string(epoch) + ": " + s.message());
  return Status::ok();
}

void LmdbEpochLog::stage(session::VersionRecords records) { staged_.append(std::move(records)); }

Status LmdbEpochLog::flush() {
  if (staged_.empty()) return Status::ok();
  persistence::WriteBatch wb;
  Status records;
  Status s = write(wb, true, &records);
  if (s.is_ok()) s = records;
  if (!s.is_ok()) {
    return Status(s.code(), directory_ + ": cannot store the history of versions: " + s.message());
  }
  return Status::ok();
}

Status LmdbEpochLog::append_group(const std::vector<std::pair<codec::Epoch, std::string_view>>& epochs) {
  if (epochs.empty()) return Status::ok();
  persistence::WriteBatch wb;
  const std::uint64_t now = clock_();
  for (const auto& [epoch, batch] : epochs) wb.append_log(epoch, now, batch);
  if (Status s = write(wb, staged_enough()); !s.is_ok()) {
    return Status(s.code(), directory_ + ": cannot log epochs " + std::to_string(epochs.front().first) +
                                "-" + std::to_string(epochs.back().first) + ": " + s.message());
  }
  return Status::ok();
}

Status LmdbEpochLog::replay(const std::function<Status(codec::Epoch, std::string_view)>& f) {
  // From the first entry compaction kept (the sequencer restores the partitions from a
  // checkpoint recorded after it).
  const std::uint64_t bound = store_->info().log_compacted_before;
  persistence::LogCursor cursor = store_->log_cursor(bound > 0 ? bound - 1 : 0);
  // One entry per iteration; the log is finite.
  for (;;) {
    Result<const persistence::LogEntry*> next = cursor.next();
    if (!next.is_ok()) return Status(next.status().code(), directory_ + ": " + next.status().message());
    if (*next == nullptr) return Status::ok();
    if (Status s = f((*next)->epoch, (*next)->batch); !s.is_ok()) return s;
  }
}

Status LmdbEpochLog::compact(codec::Epoch before) {
  if (before <= 1) return Status::ok();
  persistence::WriteBatch wb;
  wb.put_checkpoint("log", before - 1, {});
  Status s = write(wb, true);
  if (s.is_ok()) s = store_->compact(before);
  if (!s.is_ok()) {
    return Status(s.code(), directory_ + ": cannot compact the log before epoch " + std::to_string(before) + ": " +
                                s.message());
  }
  return Status::ok();
}

Result<codec::Epoch> LmdbEpochLog::last() {
  Result<std::uint64_t> last = store_->last_epoch();
  if (!last.is_ok()) return Status(last.status().code(), directory_ + ": " + last.status().message());
  return *last;
}

}  // namespace mgraph::node
