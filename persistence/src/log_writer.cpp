#include "mgraph/persistence/log_writer.hpp"

#include "mgraph/graph/assert.hpp"
#include "mgraph/persistence/store.hpp"

namespace mgraph::persistence {

Result<LogWriter> LogWriter::create(Store& store, const LogWriterOptions& options) {
  if (options.batch_size_max == 0 || options.batch_size_max > write_batch_ops_max ||
      options.batch_bytes_max == 0 || options.batch_bytes_max > write_batch_bytes_max) {
    return Status(StatusCode::invalid_argument,
                  store.info().data_file + ": LogWriter batch_size_max " +
                      std::to_string(options.batch_size_max) + " or batch_bytes_max " +
                      std::to_string(options.batch_bytes_max) + " outside its bounds");
  }
  auto last = store.last_epoch();
  if (!last) return last.status();
  return LogWriter(store, options, *last);
}

LogWriter::LogWriter(Store& store, const LogWriterOptions& options, std::uint64_t last_epoch)
    : store_(&store),
      options_(options),
      durable_epoch_(last_epoch),
      last_appended_epoch_(last_epoch) {}

Status LogWriter::append(std::uint64_t epoch, std::uint64_t time_ns, std::string_view batch) {
  if (epoch <= last_appended_epoch_) {
    return Status(StatusCode::invalid_argument,
                  store_->info().data_file + ": log append of epoch " + std::to_string(epoch) +
                      " is not after the last appended epoch " +
                      std::to_string(last_appended_epoch_) + " (the log is append-only)");
  }
  if (batch.size() > log_batch_bytes_max) {
    return Status(StatusCode::out_of_range,
                  store_->info().data_file + ": log batch of epoch " + std::to_string(epoch) +
                      " has " + std::to_string(batch.size()) + " bytes, above log_batch_bytes_max");
  }
  if (pending_count() >= options_.batch_size_max) {
    return Status(StatusCode::out_of_range,
                  store_->info().data_file + ": " + std::to_string(pending_count()) +
                      " appends are pending after a failed flush; flush() or discard_pending()");
  }
  pending_.append_log(epoch, time_ns, batch);
  last_appended_epoch_ = epoch;
  MG_ASSERT(pending_count() <= options_.batch_size_max);
  if (pending_count() == options_.batch_size_max ||
      pending_.payload_bytes() >= options_.batch_bytes_max) {
    return flush();
  }
  return Status::ok();
}

Status LogWriter::flush() {
  if (pending_.empty()) return Status::ok();
  Status s = store_->write(pending_);
  if (!s) return s;
  MG_ASSERT(pending_.last_log_epoch() == last_appended_epoch_);
  durable_epoch_ = last_appended_epoch_;
  pending_.clear();
  ++commit_count_;
  if (on_durable_) on_durable_(durable_epoch_);
  return Status::ok();
}

void LogWriter::discard_pending() {
  pending_.clear();
  last_appended_epoch_ = durable_epoch_;
}

}  // namespace mgraph::persistence
