#pragma once
// LogWriter: group commit of input-log appends.

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string_view>
#include <utility>

#include "mgraph/graph/status.hpp"
#include "mgraph/persistence/limits.hpp"
#include "mgraph/persistence/write_batch.hpp"

namespace mgraph::persistence {

class Store;

/// Options of a LogWriter.
struct LogWriterOptions {
  /// Appends per commit: append() flushes by itself once this many are pending.
  std::size_t batch_size_max = 1000;
  /// Pending batch bytes that also trigger a flush, bounding one transaction's size.
  std::size_t batch_bytes_max = std::size_t{64} << 20;
};

/// Batches log appends into one LMDB write transaction, hence one fsync in sync mode.
/// Single-threaded and deterministic: the caller decides when to flush() (e.g. at the end
/// of an epoch window); append() also flushes when the batch reaches batch_size_max.
///
/// An append is durable only once the commit of its batch returned: durable_epoch() is the
/// watermark (every appended epoch <= it is durable) and the on_durable callback runs after
/// each successful commit with the new watermark. In nosync mode "durable" means committed.
///
/// Invariants: 1. durable_epoch() <= last_appended_epoch(); 2. pending entries have epochs
/// in (durable_epoch(), last_appended_epoch()], strictly increasing; 3. at most
/// batch_size_max entries are pending.
/// Thread-safety: none. REQUIRES: the Store outlives the writer, and while the writer
/// exists no other code appends to the store's log.
class LogWriter {
 public:
  /// A writer appending after the store's last logged epoch.
  /// REQUIRES: 0 < options.batch_size_max <= write_batch_ops_max,
  ///           0 < options.batch_bytes_max <= write_batch_bytes_max.
  static Result<LogWriter> create(Store& store, const LogWriterOptions& options = {});

  /// Queues one entry, then flushes if the batch is full. A rejected entry (epoch not after
  /// last_appended_epoch(), batch over log_batch_bytes_max, or a full batch whose earlier
  /// flush failed) is not queued: invalid_argument or out_of_range. Otherwise the entry is
  /// queued and the Status is that of the automatic flush, if one ran; after a failed
  /// flush the entries stay pending (see flush()).
  Status append(std::uint64_t epoch, std::uint64_t time_ns, std::string_view batch);

  /// Commits every pending entry in one transaction. On success they are durable and
  /// on_durable runs; on failure nothing was written and they stay pending, so flush() may be
  /// retried (after an io_error the store itself should be reopened). No-op when empty.
  Status flush();

  /// Drops the pending entries (never reported durable); appends continue after
  /// durable_epoch().
  void discard_pending();

  /// Called after each successful commit with the new durable_epoch().
  void set_on_durable(std::function<void(std::uint64_t durable_epoch)> on_durable) {
    on_durable_ = std::move(on_durable);
  }

  /// Every appended epoch <= this is durable; the store's last epoch when nothing was flushed.
  std::uint64_t durable_epoch() const { return durable_epoch_; }
  /// Epoch of the last queued entry (durable or pending).
  std::uint64_t last_appended_epoch() const { return last_appended_epoch_; }
  /// Appends queued and not yet committed.
  std::size_t pending_count() const { return pending_.log_count(); }
  /// Commits done by this writer (each one transaction, one fsync in sync mode).
  std::uint64_t commit_count() const { return commit_count_; }

 private:
  LogWriter(Store& store, const LogWriterOptions& options, std::uint64_t last_epoch);

  Store* store_;
  LogWriterOptions options_;
  WriteBatch pending_;
  std::uint64_t durable_epoch_;
  std::uint64_t last_appended_epoch_;
  std::uint64_t commit_count_ = 0;
  std::function<void(std::uint64_t)> on_durable_;
};

}  // namespace mgraph::persistence
