#pragma once
// WriteBatch: writes to several databases that commit together in one LMDB transaction.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "mgraph/persistence/records.hpp"

namespace mgraph::persistence {

class Store;

/// Collects log appends, history versions, ledger records and checkpoints; Store::write
/// validates and commits them atomically: all of them or none. Within one commit they are
/// applied in this order: log, history, ledger, checkpoints — so a ledger transition may
/// refer to a history version of the same batch, and a checkpoint to an epoch logged in it.
///
/// Payloads are copied into one arena, so adding an operation costs no allocation once the
/// batch has grown to its working size (clear() keeps the capacity).
/// Thread-safety: none; a batch belongs to one thread at a time.
class WriteBatch {
 public:
  /// Queue one log entry. Validated by Store::write: epoch > 0 and after the last one.
  void append_log(std::uint64_t epoch, std::uint64_t time_ns, std::string_view batch);
  /// Queue one field version (see HistoryEntry for the ordering rules).
  void put_history(const HistoryEntry& entry);
  /// Queue one ledger record (see Store::write for the rules).
  void put_ledger(const LedgerEntry& entry);
  /// Queue a checkpoint of `scope` at `epoch` (replacing one at the same scope and epoch).
  void put_checkpoint(std::string_view scope, std::uint64_t epoch, std::string_view state);

  /// Forget every queued operation; keeps the allocated capacity.
  void clear();

  /// True when no operation is queued.
  bool empty() const { return op_count() == 0; }
  /// Operations queued, of every kind.
  std::size_t op_count() const {
    return log_.size() + history_.size() + ledger_.size() + checkpoints_.size();
  }
  /// Payload bytes queued (batches, values, details, states, scopes).
  std::size_t payload_bytes() const { return arena_.size(); }
  /// Log appends queued.
  std::size_t log_count() const { return log_.size(); }
  /// Epoch of the last queued log entry; 0 when none is queued.
  std::uint64_t last_log_epoch() const { return log_.empty() ? 0 : log_.back().epoch; }

 private:
  friend class Store;

  /// A slice of arena_.
  struct Bytes {
    std::size_t offset = 0;
    std::size_t size = 0;
  };
  struct LogOp {
    std::uint64_t epoch;
    std::uint64_t time_ns;
    Bytes batch;
  };
  struct HistoryOp {
    std::uint64_t field_id;
    std::uint64_t version;
    std::uint64_t epoch;
    std::uint64_t time_ns;
    Bytes value;
  };
  struct LedgerOp {
    std::uint64_t effect_field_id;
    std::uint64_t version;
    std::uint64_t seq;
    LedgerKind kind;
    std::uint64_t epoch;
    std::uint64_t time_ns;
    Bytes detail;
  };
  struct CheckpointOp {
    Bytes scope;
    std::uint64_t epoch;
    Bytes state;
  };

  Bytes copy_in(std::string_view bytes);
  std::string_view view(Bytes bytes) const { return {arena_.data() + bytes.offset, bytes.size}; }

  std::string arena_;
  std::vector<LogOp> log_;
  std::vector<HistoryOp> history_;
  std::vector<LedgerOp> ledger_;
  std::vector<CheckpointOp> checkpoints_;
};

}  // namespace mgraph::persistence
