#include "lmdb_epoch_log.hpp"

#include "log.hpp"
#include "mgraph/persistence/write_batch.hpp"

namespace mgraph::node {

Result<std::unique_ptr<LmdbEpochLog>> LmdbEpochLog::open(const std::string& directory, Clock clock,
                                                         EpochWal::Sync sync, std::size_t wal_bytes) {
  persistence::StoreOptions options;
  options.durability = persistence::Durability::sync;
  options.create_if_missing = true;
  Result<std::unique_ptr<persistence::Store>> store = persistence::Store::open(directory, options);
  if (!store.is_ok()) return Status(store.status().code(), directory + ": " + store.status().message());
  std::unique_ptr<LmdbEpochLog> log(new LmdbEpochLog(std::move(store).value(), directory, std::move(clock)));
  Result<std::unique_ptr<EpochWal>> wal =
      EpochWal::open(directory + "/epochs.wal", log->store_->info().created_time_ns, wal_bytes, std::move(sync));
  if (!wal.is_ok()) return wal.status();
  Result<std::vector<WalEntry>> entries = (*wal)->read();
  if (!entries.is_ok()) return entries.status();
  Result<codec::Epoch> last = log->last();
  if (!last.is_ok()) return last.status();
  // What a previous process made durable in the file and did not move into the store.
  persistence::WriteBatch wb;
  for (const WalEntry& e : *entries) {
    if (e.epoch > *last) wb.append_log(e.epoch, e.time_ns, e.batch);
  }
  if (!wb.empty()) {
    if (Status s = log->store_->write(wb); !s.is_ok()) {
      return Status(s.code(), directory + ": cannot move the entries of " + (*wal)->path() + " into the store: " +
                                  s.message());
    }
  }
  log->wal_ = std::move(wal).value();
  return log;
}

persistence::WriteBatch LmdbEpochLog::with_held() const {
  persistence::WriteBatch wb;
  for (const WalEntry& e : held_) wb.append_log(e.epoch, e.time_ns, e.batch);
  return wb;
}

Status LmdbEpochLog::write(const persistence::WriteBatch& wb, bool with_staged, Status* records) {
  Status s;
  if (!with_staged || staged_.empty()) {
    s = store_->write(wb);
  } else {
    persistence::WriteBatch both = wb;
    staged_.add_to(both);
    s = store_->write(both);
    if (s.is_ok()) {
      staged_ = {};
    } else if (s.code() != StatusCode::io_error && s.code() != StatusCode::corruption) {
      // The store refuses the records (they break its rules, which the recorder must
      // keep): they must not stop the log. Dropped, and said.
      const std::size_t count = staged_.history.size() + staged_.ledger.size();
      log::error("version_records_dropped", {{"records", count}, {"error", s.message()}});
      staged_ = {};
      if (records != nullptr) *records = Status(s.code(), std::to_string(count) + " records dropped: " + s.message());
      s = store_->write(wb);
    }  // else the store failed: the records are kept for a later write
  }
  if (s.is_ok()) {
    // The store holds every entry the file did.
    held_.clear();
    if (wal_) wal_->rewind();
  }
  return s;
}

bool LmdbEpochLog::staged_enough() const {
  return staged_.history.size() + staged_.ledger.size() >= kStagedRecordsMin;
}

Status LmdbEpochLog::append(codec::Epoch epoch, std::string_view batch) {
  return append_group({{epoch, batch}});
}

void LmdbEpochLog::stage(session::VersionRecords records) { staged_.append(std::move(records)); }

Status LmdbEpochLog::flush() {
  if (staged_.empty()) return Status::ok();
  persistence::WriteBatch wb = with_held();
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
  const std::uint64_t now = clock_();
  auto failed = [&](const Status& s) {
    return Status(s.code(), directory_ + ": cannot log epochs " + std::to_string(epochs.front().first) + "-" +
                                std::to_string(epochs.back().first) + ": " + s.message());
  };
  std::size_t bytes = 0;
  for (const auto& [epoch, batch] : epochs) bytes += EpochWal::record_bytes(batch.size());
  if (wal_ && !wal_->broken() && bytes <= kEpochWalGroupBytesMax && wal_->fits(bytes) &&
      held_.size() + epochs.size() <= kWalEntriesMax && !staged_enough()) {
    if (Status s = wal_->append(epochs, now); !s.is_ok()) return failed(s);
    for (const auto& [epoch, batch] : epochs) held_.push_back(WalEntry{epoch, now, std::string(batch)});
    return Status::ok();
  }
  persistence::WriteBatch wb = with_held();
  for (const auto& [epoch, batch] : epochs) wb.append_log(epoch, now, batch);
  if (Status s = write(wb, staged_enough()); !s.is_ok()) return failed(s);
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
    if (*next == nullptr) break;
    if (Status s = f((*next)->epoch, (*next)->batch); !s.is_ok()) return s;
  }
  // Then the entries only the write-ahead file holds yet.
  for (const WalEntry& e : held_) {
    if (Status s = f(e.epoch, e.batch); !s.is_ok()) return s;
  }
  return Status::ok();
}

Status LmdbEpochLog::compact(codec::Epoch before) {
  if (before <= 1) return Status::ok();
  persistence::WriteBatch wb = with_held();
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
  if (!held_.empty()) return held_.back().epoch;
  Result<std::uint64_t> last = store_->last_epoch();
  if (!last.is_ok()) return Status(last.status().code(), directory_ + ": " + last.status().message());
  return *last;
}

}  // namespace mgraph::node
