#include "mgraph/persistence/log_cursor.hpp"

#include "mgraph/graph/assert.hpp"
#include "mgraph/persistence/store.hpp"

namespace mgraph::persistence {

LogCursor::LogCursor(const Store* store, std::uint64_t after_epoch, std::size_t chunk_entries_max)
    : store_(store), position_(after_epoch), chunk_entries_max_(chunk_entries_max) {
  MG_ASSERT(store_ != nullptr && chunk_entries_max_ > 0);
}

Result<const LogEntry*> LogCursor::next() {
  if (chunk_index_ == chunk_.size()) {
    Status s = store_->read_log(position_, chunk_entries_max_, chunk_);
    chunk_index_ = 0;
    if (!s) {
      chunk_.clear();  // partly overwritten: the next call reads again from position_
      return s;
    }
    if (chunk_.empty()) return static_cast<const LogEntry*>(nullptr);
  }
  const LogEntry* entry = &chunk_[chunk_index_++];
  MG_ASSERT(entry->epoch > position_);
  position_ = entry->epoch;
  return entry;
}

}  // namespace mgraph::persistence
