#include "mgraph/actors/watch.hpp"

#include <algorithm>
#include <charconv>
#include <map>
#include <utility>

#include "mgraph/graph/json.hpp"

namespace mgraph::actors {
bool watches(const WatchTarget& target, const codec::FieldChange& change) {
  if (target.entity != change.entity) return false;
  return target.record == 0 || (target.record == change.record && target.field == change.field);
}

namespace {

void append_change(std::string* list, const codec::FieldChange& c) {
  if (list->size() > 1) *list += ",";
  *list += json::Object()
               .str("ref", c.entity + "#" + std::to_string(c.record))
               .str("field", c.field)
               .raw("value", c.value.to_json())
               .unum("version", c.version)
               .done();
}

}  // namespace

std::string watch_changes_json(const std::vector<codec::FieldChange>& changes) {
  std::string list = "[";
  for (const codec::FieldChange& c : changes) append_change(&list, c);
  return list + "]";
}

std::string watch_epoch_json(codec::Epoch epoch, const std::vector<codec::FieldChange>& changes,
                             const std::vector<WatchTarget>& targets) {
  std::string list = "[";
  for (const codec::FieldChange& c : changes) {
    if (!targets.empty() &&
        std::none_of(targets.begin(), targets.end(), [&](const WatchTarget& t) { return watches(t, c); })) {
      continue;
    }
    append_change(&list, c);
  }
  return json::Object().unum("epoch", epoch).raw("changes", list + "]").done();
}

WatchBuffer::WatchBuffer(std::size_t epochs_max, std::size_t changes_max, std::unique_ptr<WatchHistory> history)
    : epochs_max_(std::max<std::size_t>(epochs_max, 1)), changes_max_(changes_max), history_(std::move(history)) {
  std::lock_guard<std::mutex> lock(mutex_);
  std::lock_guard<std::mutex> h(history_mutex_);
  sync_history();
}

WatchBuffer::~WatchBuffer() {
  std::lock_guard<std::mutex> lock(mutex_);
  std::lock_guard<std::mutex> h(history_mutex_);
  write_history();
}

void WatchBuffer::sync_history() {
  has_history_ = history_ != nullptr;
  history_floor_ = has_history_ ? history_->floor() : 0;
  history_newest_ = has_history_ ? history_->newest() : 0;
}

codec::Epoch WatchBuffer::history_newest() const {
  return unwritten_.empty() ? history_newest_ : unwritten_.back().epoch;
}

void WatchBuffer::write_history() {
  if (!history_ || unwritten_.empty()) return;
  const codec::Epoch last = unwritten_.back().epoch;
  Status s = history_->add(unwritten_);
  unwritten_.clear();
  unwritten_changes_ = 0;
  if (!s.is_ok()) return history_failed(s, last);
  sync_history();
}

void WatchBuffer::checkpointed() {
  std::lock_guard<std::mutex> lock(mutex_);
  std::lock_guard<std::mutex> h(history_mutex_);
  write_history();
}

void WatchBuffer::history_failed(const Status& s, codec::Epoch epoch) {
  ++history_errors_;
  history_error_ = s.message() + " (it starts again after epoch " + std::to_string(epoch) + ")";
  unwritten_.clear();
  unwritten_changes_ = 0;
  if (Status r = history_->reset(epoch); !r.is_ok()) {
    ++history_errors_;
    history_error_ = r.message() + " (no history is kept from now on)";
    history_.reset();
  }
  sync_history();
  if (on_history_error_) on_history_error_(history_error_);
}

void WatchBuffer::set_on_history_error(std::function<void(const std::string&)> on_error) {
  std::lock_guard<std::mutex> lock(mutex_);
  on_history_error_ = std::move(on_error);
}

void WatchBuffer::set_log(std::uint64_t log) {
  std::lock_guard<std::mutex> lock(mutex_);
  log_ = log;
}

std::uint64_t WatchBuffer::log() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return log_;
}

void WatchBuffer::restored(codec::Epoch epoch, codec::Epoch log_end) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    kept_.clear();
    changes_ = 0;
    floor_ = epoch;
    newest_ = epoch;
    log_end_ = log_end;
    restored_ = true;
    doubt_from_ = 0;
    // The log runs again from `epoch`: a history that reaches it forgets what follows (the
    // epochs run again are written again: one that ran while a partition was unavailable
    // may end otherwise); one that does not reach it lost epochs before it.
    std::lock_guard<std::mutex> h(history_mutex_);
    write_history();
    if (history_) {
      Status s = history_->newest() < epoch ? history_->reset(epoch) : history_->truncate(epoch);
      if (!s.is_ok()) {
        history_failed(s, epoch);
      } else {
        sync_history();
      }
    }
  }
  if (notify_) notify_();
}

void WatchBuffer::ran(codec::Epoch epoch, bool committed, const std::vector<codec::FieldChange>& changes,
                      bool in_doubt) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (epoch <= doubt_from_) doubt_from_ = 0;  // the log runs again from before it
    if (in_doubt && doubt_from_ == 0) doubt_from_ = epoch;
    if (epoch <= newest_) {
      // The log runs again from before what was held: nothing from `epoch` on stands.
      while (!kept_.empty() && kept_.back().epoch >= epoch) {
        changes_ -= kept_.back().changes.size();
        kept_.pop_back();
      }
      floor_ = std::min(floor_, epoch - 1);
    }
    newest_ = epoch;
    // One entry per field, as the epoch left it, in the order each first changed.
    Kept k{epoch, {}};
    if (committed) {
      std::map<std::pair<std::uint64_t, std::string_view>, std::size_t> at;
      for (const codec::FieldChange& c : changes) {
        const auto [it, fresh] = at.try_emplace({c.record, c.field}, k.changes.size());
        if (fresh) {
          k.changes.push_back(c);
        } else {
          k.changes[it->second] = c;
        }
      }
    }
    // An epoch the history holds already is one the log runs again (without a restore
    // first): what it held from there on is forgotten, as the memory's is.
    if (has_history_ && epoch <= history_newest()) {
      while (!unwritten_.empty() && unwritten_.back().epoch >= epoch) {
        unwritten_changes_ -= unwritten_.back().changes.size();
        unwritten_.pop_back();
      }
      std::lock_guard<std::mutex> h(history_mutex_);
      if (history_ && history_->newest() >= epoch) {
        if (Status s = history_->truncate(epoch - 1); !s.is_ok()) {
          history_failed(s, epoch - 1);
        } else {
          sync_history();
        }
      }
    }
    if (has_history_) {
      unwritten_.push_back(HeldEpoch{epoch, k.changes});
      unwritten_changes_ += k.changes.size();
      if (unwritten_.size() >= kWatchHistoryBatchEpochs || unwritten_changes_ >= kWatchHistoryBatchChanges) {
        // Not while a subscriber reads the history (the epoch would wait for it), unless
        // that has held back several batches already.
        std::unique_lock<std::mutex> h(history_mutex_, std::try_to_lock);
        if (!h.owns_lock() && (unwritten_.size() >= kWatchHistoryBatchEpochs * kWatchHistoryBatchesHeldMax ||
                               unwritten_changes_ >= kWatchHistoryBatchChanges * kWatchHistoryBatchesHeldMax)) {
          h.lock();
        }
        if (h.owns_lock()) write_history();
      }
    }
    if (!k.changes.empty()) {
      changes_ += k.changes.size();
      kept_.push_back(std::move(k));
      trim();
    }
  }
  if (notify_) notify_();
}

void WatchBuffer::trim() {
  while (kept_.size() > 1 && (kept_.size() > epochs_max_ || changes_ > changes_max_)) {
    floor_ = kept_.front().epoch;
    changes_ -= kept_.front().changes.size();
    kept_.pop_front();
  }
}

void WatchBuffer::set_notify(std::function<void()> notify) { notify_ = std::move(notify); }

WatchBuffer::Answer WatchBuffer::answer_from(const std::vector<HeldEpoch>& held,
                                             const std::vector<WatchTarget>& targets, codec::Epoch from,
                                             std::size_t max, codec::Epoch newest) {
  Answer a;
  // What it holds goes up to the newest epoch run (every epoch run was given to it).
  a.through = held.empty() ? std::max(from, newest) : held.back().epoch;
  for (const HeldEpoch& e : held) {
    const bool hit = std::any_of(e.changes.begin(), e.changes.end(), [&](const codec::FieldChange& c) {
      return std::any_of(targets.begin(), targets.end(), [&](const WatchTarget& t) { return watches(t, c); });
    });
    if (!hit) continue;
    if (a.epochs.size() == max) {
      a.through = e.epoch - 1;
      break;
    }
    a.epochs.push_back(watch_epoch_json(e.epoch, e.changes, targets));
  }
  return a;
}

WatchBuffer::Answer WatchBuffer::read(const std::vector<WatchTarget>& targets, codec::Epoch from,
                                      std::size_t max) {
  std::unique_lock<std::mutex> lock(mutex_);
  Answer a;
  a.log = log_;
  // What polls may see: the epochs before the first one in doubt.
  const codec::Epoch visible = doubt_from_ != 0 ? doubt_from_ - 1 : newest_;
  if (restored_ && from > std::max(newest_, log_end_)) {
    // Past everything this log holds: a cursor of another log (restored()).
    a.resume = true;
    a.through = newest_;
    return a;
  }
  if (from < floor_) {
    if (has_history_) {
      std::unique_lock<std::mutex> h(history_mutex_);
      write_history();
      if (history_ && from >= history_floor_ && history_newest_ >= newest_) {
        // Read without the buffer's lock: the driver goes on adding epochs meanwhile. A page
        // at a time, until `max` epochs matched (the rest is the next poll's) or the bounds.
        const codec::Epoch newest = visible;
        lock.unlock();
        std::vector<HeldEpoch> held;
        Status failed;
        std::size_t matched = 0;
        std::size_t bytes = 0;
        bool beyond = false;  // reached an epoch in doubt
        for (codec::Epoch after = from; !beyond && matched < max && held.size() < kWatchHistoryEpochsPerRead &&
                                        bytes < kWatchHistoryBytesPerRead;) {
          Result<std::vector<HeldEpoch>> page = history_->read(
              after, std::min(kWatchHistoryEpochsPerPage, kWatchHistoryEpochsPerRead - held.size()),
              kWatchHistoryBytesPerRead - bytes);
          if (!page.is_ok()) {
            failed = page.status();
            break;
          }
          if (page->empty()) break;
          after = page->back().epoch;
          for (HeldEpoch& e : *page) {
            if (e.epoch > newest) {
              beyond = true;
              break;
            }
            for (const codec::FieldChange& c : e.changes) bytes += c.entity.size() + c.field.size() + 32;
            if (std::any_of(e.changes.begin(), e.changes.end(), [&](const codec::FieldChange& c) {
                  return std::any_of(targets.begin(), targets.end(), [&](const WatchTarget& t) { return watches(t, c); });
                })) {
              ++matched;
            }
            held.push_back(std::move(e));
          }
        }
        h.unlock();
        if (failed.is_ok()) {
          Answer from_history = answer_from(held, targets, from, max, newest);
          from_history.log = a.log;
          return from_history;
        }
        lock.lock();
        h.lock();
        if (history_) history_failed(failed, newest_);
      }
    }
    a.resume = true;
    a.through = newest_;
    return a;
  }
  a.through = std::max(from, visible);
  auto it = std::upper_bound(kept_.begin(), kept_.end(), from,
                             [](codec::Epoch e, const Kept& k) { return e < k.epoch; });
  for (; it != kept_.end() && it->epoch <= visible; ++it) {
    const bool hit = std::any_of(it->changes.begin(), it->changes.end(), [&](const codec::FieldChange& c) {
      return std::any_of(targets.begin(), targets.end(), [&](const WatchTarget& t) { return watches(t, c); });
    });
    if (!hit) continue;
    if (a.epochs.size() == max) {
      a.through = std::prev(it)->epoch;
      break;
    }
    a.epochs.push_back(watch_epoch_json(it->epoch, it->changes, targets));
  }
  return a;
}

codec::Epoch WatchBuffer::newest() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return newest_;
}

std::size_t WatchBuffer::epochs_kept() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return kept_.size();
}

codec::Epoch WatchBuffer::reach() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return has_history_ && history_newest() >= newest_ ? std::min(floor_, history_floor_) : floor_;
}

std::uint64_t WatchBuffer::history_bytes() const {
  std::lock_guard<std::mutex> lock(mutex_);
  std::lock_guard<std::mutex> h(history_mutex_);
  return history_ ? history_->bytes() : 0;
}

std::uint64_t WatchBuffer::history_errors() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return history_errors_;
}

std::string WatchBuffer::history_error() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return history_error_;
}

caf::behavior watch_actor(caf::event_based_actor* self, std::shared_ptr<WatchBuffer> buffer) {
  struct Waiting {
    caf::response_promise promise;
    std::vector<WatchTarget> targets;
    codec::Epoch from = 0;
    std::size_t max = 0;
    std::string key;  ///< the names, from and max: equal keys get equal answers
  };
  auto waiting = std::make_shared<std::map<std::uint64_t, Waiting>>();
  auto next_id = std::make_shared<std::uint64_t>(0);
  auto answer = [](caf::response_promise& rp, WatchBuffer::Answer a) {
    rp.deliver(a.resume, a.through, std::move(a.epochs), a.log);
  };
  return {
      [self, buffer, waiting, next_id, answer](watch_atom, const std::vector<std::string>& names,
                                               std::uint64_t from, std::uint32_t max,
                                               std::uint32_t wait_ms) {
        auto rp = self->make_response_promise();
        Result<std::vector<WatchTarget>> targets = codec::parse_watch_targets(names);
        if (!targets.is_ok()) {
          rp.deliver(caf::make_error(caf::sec::invalid_argument, targets.status().message()));
          return;
        }
        const std::size_t most = std::clamp<std::uint32_t>(max, 1, kWatchEpochsPerAnswerMax);
        WatchBuffer::Answer a = buffer->read(*targets, from, most);
        if (a.resume || !a.epochs.empty() || wait_ms == 0 || waiting->size() >= kWatchWaitingMax) {
          answer(rp, std::move(a));
          return;
        }
        const std::uint64_t id = ++*next_id;
        std::string key = std::to_string(from) + " " + std::to_string(most);
        for (const std::string& name : names) key += "\n" + name;
        waiting->emplace(id, Waiting{rp, std::move(targets).value(), from, most, std::move(key)});
        const auto wait = std::min<std::chrono::milliseconds>(std::chrono::milliseconds(wait_ms), kWatchWaitMax);
        self->delayed_send(self, wait, watch_timeout_atom::value, id);
      },
      [buffer, waiting, answer](watch_epoch_atom) {
        // Subscribers of the same names at the same cursor (the common case: many clients
        // of one field, all caught up) share one read of the buffer.
        std::map<std::string, WatchBuffer::Answer> read;
        for (auto it = waiting->begin(); it != waiting->end();) {
          auto [at, fresh] = read.try_emplace(it->second.key);
          if (fresh) at->second = buffer->read(it->second.targets, it->second.from, it->second.max);
          const WatchBuffer::Answer& a = at->second;
          if (!a.resume && a.epochs.empty()) {
            ++it;
            continue;
          }
          answer(it->second.promise, a);
          it = waiting->erase(it);
        }
      },
      [buffer, waiting, answer](watch_timeout_atom, std::uint64_t id) {
        auto it = waiting->find(id);
        if (it == waiting->end()) return;
        answer(it->second.promise, buffer->read(it->second.targets, it->second.from, it->second.max));
        waiting->erase(it);
      },
  };
}

}  // namespace mgraph::actors
