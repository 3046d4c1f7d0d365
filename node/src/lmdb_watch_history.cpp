#include "lmdb_watch_history.hpp"

#include <stdlib.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <limits>
#include <optional>
#include <string_view>

#include "mgraph/codec/partition_codec.hpp"
#include "mgraph/graph/little_endian.hpp"
#include "mgraph/persistence/write_batch.hpp"

namespace mgraph::node {
namespace {

constexpr char kEpochKind = 'e';
constexpr char kFloorKind = 'f';
/// A value's kind byte and its count of bytes stored so far.
constexpr std::size_t kHeaderBytes = 9;
/// Entries one read of the store returns while paging (each may be large).
constexpr std::size_t kPageEntries = 64;
/// The checkpoint scope that names the log the history belongs to.
constexpr std::string_view kLogScope = "log";

std::string header(char kind, std::uint64_t cum) {
  std::string h(kHeaderBytes, '\0');
  h[0] = kind;
  put_le64(h.data() + 1, cum);
  return h;
}

std::uint64_t cum_of(const persistence::HistoryEntry& e) { return get_le64(e.value.data() + 1); }

/// Bytes of changes an entry holds (a floor holds none).
std::uint64_t payload_of(const persistence::HistoryEntry& e) { return e.value.size() - kHeaderBytes; }

}  // namespace

Result<std::unique_ptr<LmdbWatchHistory>> LmdbWatchHistory::open_unlinked(const std::string& parent,
                                                                           std::uint64_t log_id,
                                                                           std::uint64_t epochs_max,
                                                                           std::uint64_t bytes_max) {
  std::string directory = (std::filesystem::path(parent) / "mgraph-watch-XXXXXX").string();
  if (::mkdtemp(directory.data()) == nullptr) {
    const int error = errno;
    return Status(StatusCode::io_error, parent + ": cannot make a directory for the history of subscriptions: " +
                                            std::strerror(error));
  }
  Result<std::unique_ptr<LmdbWatchHistory>> opened = open(directory, log_id, epochs_max, bytes_max);
  // LMDB and the directory lock hold their files open: only the names go.
  std::error_code removed;
  std::filesystem::remove_all(directory, removed);
  if (opened.is_ok() && removed) {
    return Status(StatusCode::io_error, directory + ": cannot remove the history's files once open: " + removed.message());
  }
  return opened;
}

Result<std::unique_ptr<LmdbWatchHistory>> LmdbWatchHistory::open(const std::string& directory, std::uint64_t log_id,
                                                                  std::uint64_t epochs_max, std::uint64_t bytes_max) {
  persistence::StoreOptions options;
  options.durability = persistence::Durability::nosync;
  options.create_if_missing = true;
  options.checkpoints_only = true;
  Result<std::unique_ptr<persistence::Store>> store = persistence::Store::open(directory, options);
  if (!store.is_ok()) return Status(store.status().code(), directory + ": " + store.status().message());
  std::unique_ptr<LmdbWatchHistory> h(
      new LmdbWatchHistory(std::move(store).value(), directory, std::max<std::uint64_t>(epochs_max, 1),
                           std::max<std::uint64_t>(bytes_max, 1)));
  Result<std::optional<persistence::Checkpoint>> owner = h->store_->checkpoint_at(kLogScope, 0);
  if (!owner.is_ok()) return h->named(owner.status());
  const std::string id = std::to_string(log_id);
  if (!owner->has_value() || (*owner)->state != id) {
    // A history of another log (or of none yet): its epochs are not this log's.
    if (Status s = h->store_->drop_history_before(kField, std::numeric_limits<std::uint64_t>::max()); !s.is_ok()) {
      return h->named(s);
    }
    persistence::WriteBatch wb;
    wb.put_checkpoint(kLogScope, 0, id);
    if (Status s = h->store_->write(wb); !s.is_ok()) return h->named(s);
  }
  if (Status s = h->load(); !s.is_ok()) return s;
  return h;
}

Status LmdbWatchHistory::named(const Status& s) const {
  return s.is_ok() ? s : Status(s.code(), directory_ + ": the history of subscriptions: " + s.message());
}

Status LmdbWatchHistory::load() {
  floor_ = newest_ = 0;
  cum_ = cum_before_first_ = 0;
  Result<std::vector<persistence::HistoryEntry>> first = store_->history(kField, 0, 1);
  if (!first.is_ok()) return named(first.status());
  if (first->empty()) return Status::ok();
  Result<std::optional<persistence::HistoryEntry>> last =
      store_->value_at(kField, std::numeric_limits<std::uint64_t>::max());
  if (!last.is_ok()) return named(last.status());
  for (const persistence::HistoryEntry* e : {&first->front(), &**last}) {
    if (e->value.size() < kHeaderBytes || (e->value[0] != kEpochKind && e->value[0] != kFloorKind) ||
        (e->value[0] == kFloorKind && e->value.size() != kHeaderBytes)) {
      return named(Status(StatusCode::corruption, "entry of epoch " + std::to_string(e->version) + " is not one"));
    }
  }
  const persistence::HistoryEntry& f = first->front();
  floor_ = f.value[0] == kFloorKind ? f.version : f.version - 1;
  cum_before_first_ = cum_of(f) - payload_of(f);
  newest_ = (*last)->version;
  cum_ = cum_of(**last);
  if (cum_ < cum_before_first_) return named(Status(StatusCode::corruption, "its byte counts go backwards"));
  return Status::ok();
}

Status LmdbWatchHistory::put_floor(codec::Epoch epoch) {
  persistence::WriteBatch wb;
  wb.put_history(persistence::HistoryEntry{kField, epoch, epoch, 0, header(kFloorKind, cum_)});
  if (Status s = store_->write(wb); !s.is_ok()) return named(s);
  return Status::ok();
}

Status LmdbWatchHistory::add(const std::vector<actors::HeldEpoch>& epochs) {
  persistence::WriteBatch wb;
  std::uint64_t cum = cum_;
  codec::Epoch newest = newest_;
  auto write = [&]() -> Status {
    if (wb.empty()) return Status::ok();
    if (Status s = store_->write(wb); !s.is_ok()) return named(s);
    wb.clear();
    cum_ = cum;
    newest_ = newest;
    return Status::ok();
  };
  for (const actors::HeldEpoch& e : epochs) {
    if (e.epoch <= newest) {
      return Status(StatusCode::invalid_argument, directory_ + ": the history of subscriptions holds epoch " +
                                                      std::to_string(newest) + " already; epoch " +
                                                      std::to_string(e.epoch) + " comes too late");
    }
    Result<std::string> bytes = codec::encode_field_changes(e.changes);
    if (!bytes.is_ok()) return named(bytes.status());
    // An epoch too large for one entry (a bulk load) is not held: the history starts again
    // after it, and a subscriber from before it resumes from the values.
    if (bytes->size() + kHeaderBytes > persistence::history_value_bytes_max) {
      if (Status s = write(); !s.is_ok()) return s;
      if (Status s = reset(e.epoch); !s.is_ok()) return s;
      cum = cum_;
      newest = newest_;
      continue;
    }
    cum += bytes->size();
    std::string value = header(kEpochKind, cum);
    value.append(*bytes);
    wb.put_history(persistence::HistoryEntry{kField, e.epoch, e.epoch, 0, std::move(value)});
    newest = e.epoch;
    // One write stays far inside a write batch's bounds (persistence/limits.hpp).
    if (wb.op_count() >= kPageEntries * 16 || wb.payload_bytes() >= persistence::history_value_bytes_max) {
      if (Status s = write(); !s.is_ok()) return s;
    }
  }
  if (Status s = write(); !s.is_ok()) return s;
  return trim();
}

Status LmdbWatchHistory::reset(codec::Epoch epoch) {
  if (Status s = store_->drop_history_before(kField, std::numeric_limits<std::uint64_t>::max()); !s.is_ok()) {
    return named(s);
  }
  if (epoch > 0) {
    if (Status s = put_floor(epoch); !s.is_ok()) return s;
  }
  floor_ = newest_ = epoch;
  cum_before_first_ = cum_;
  return Status::ok();
}

Status LmdbWatchHistory::truncate(codec::Epoch epoch) {
  if (epoch >= newest_) return Status::ok();
  if (epoch <= floor_) return reset(epoch);
  const codec::Epoch floor = floor_;
  if (Status s = store_->drop_history_from(kField, epoch + 1); !s.is_ok()) return named(s);
  if (Status s = load(); !s.is_ok()) return s;
  // Nothing left after the floor: the floor is kept by a marker.
  if (floor_ != floor) {
    if (Status s = put_floor(floor); !s.is_ok()) return s;
    return load();
  }
  return Status::ok();
}

Status LmdbWatchHistory::trim() {
  codec::Epoch before = 0;
  if (newest_ - floor_ > epochs_max_ + epochs_max_ / 16) before = newest_ - epochs_max_ + 1;
  if (bytes() > bytes_max_ + bytes_max_ / 16) {
    // The oldest epoch from which on the history holds at most bytes_max_.
    codec::Epoch from = 0;
    bool found = false;
    for (std::uint64_t page = 0; !found && page <= newest_ / kPageEntries + 1; ++page) {
      Result<std::vector<persistence::HistoryEntry>> entries = store_->history(kField, from, kPageEntries);
      if (!entries.is_ok()) return named(entries.status());
      if (entries->empty()) break;
      for (const persistence::HistoryEntry& e : *entries) {
        if (e.value.size() < kHeaderBytes) return named(Status(StatusCode::corruption, "a short entry"));
        if (cum_ - (cum_of(e) - payload_of(e)) <= bytes_max_) {
          before = std::max(before, e.version);
          found = true;
          break;
        }
      }
      from = entries->back().version + 1;
    }
    if (!found) before = newest_;  // the newest epoch alone is larger: it stays
  }
  before = std::min(before, newest_);
  if (before <= floor_ + 1) return Status::ok();
  if (Status s = store_->drop_history_before(kField, before); !s.is_ok()) return named(s);
  return load();
}

Result<std::vector<actors::HeldEpoch>> LmdbWatchHistory::read(codec::Epoch from, std::size_t epochs_max,
                                                              std::size_t bytes_max) {
  std::vector<actors::HeldEpoch> out;
  std::size_t bytes = 0;
  codec::Epoch next = from + 1;
  while (out.size() < epochs_max && bytes < bytes_max && next <= newest_) {
    Result<std::vector<persistence::HistoryEntry>> entries =
        store_->history(kField, next, std::min(kPageEntries, epochs_max - out.size()));
    if (!entries.is_ok()) return named(entries.status());
    if (entries->empty()) break;
    for (const persistence::HistoryEntry& e : *entries) {
      next = e.version + 1;
      if (e.value.size() < kHeaderBytes) return named(Status(StatusCode::corruption, "a short entry"));
      if (e.value[0] == kFloorKind) continue;
      Result<std::vector<codec::FieldChange>> changes =
          codec::decode_field_changes(std::string_view(e.value).substr(kHeaderBytes));
      if (!changes.is_ok()) {
        return named(Status(StatusCode::corruption,
                            "epoch " + std::to_string(e.version) + ": " + changes.status().message()));
      }
      bytes += e.value.size();
      out.push_back(actors::HeldEpoch{e.version, std::move(changes).value()});
      if (bytes >= bytes_max) break;
    }
  }
  return out;
}

}  // namespace mgraph::node
