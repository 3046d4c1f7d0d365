#include "mgraph/persistence/write_batch.hpp"

#include "mgraph/graph/assert.hpp"

namespace mgraph::persistence {

WriteBatch::Bytes WriteBatch::copy_in(std::string_view bytes) {
  const Bytes slice{arena_.size(), bytes.size()};
  arena_.append(bytes.data(), bytes.size());
  MG_ASSERT(arena_.size() == slice.offset + slice.size);
  return slice;
}

void WriteBatch::append_log(std::uint64_t epoch, std::uint64_t time_ns, std::string_view batch) {
  log_.push_back(LogOp{epoch, time_ns, copy_in(batch)});
}

void WriteBatch::put_history(const HistoryEntry& entry) {
  history_.push_back(
      HistoryOp{entry.field_id, entry.version, entry.epoch, entry.time_ns, copy_in(entry.value)});
}

void WriteBatch::put_ledger(const LedgerEntry& entry) {
  ledger_.push_back(LedgerOp{entry.effect_field_id, entry.version, entry.seq, entry.kind,
                             entry.epoch, entry.time_ns, copy_in(entry.detail)});
}

void WriteBatch::put_checkpoint(std::string_view scope, std::uint64_t epoch,
                                std::string_view state) {
  const Bytes scope_bytes = copy_in(scope);
  checkpoints_.push_back(CheckpointOp{scope_bytes, epoch, copy_in(state)});
}

void WriteBatch::clear() {
  arena_.clear();
  log_.clear();
  history_.clear();
  ledger_.clear();
  checkpoints_.clear();
}

}  // namespace mgraph::persistence
