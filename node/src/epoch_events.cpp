#include "epoch_events.hpp"

#include "log.hpp"

#include <algorithm>

namespace mgraph::node {

EpochEvents::EpochEvents(std::uint64_t slow_epoch_ms, std::uint64_t replay_last, Clock clock)
    : slow_epoch_ms_(slow_epoch_ms), replay_last_(replay_last), clock_(std::move(clock)) {
  started_ = last_progress_ = now();
  recovering_ = replay_last_ > 0;
  seen_last_ = replay_last_;
  if (recovering_) log::info("recovery_start", {{"last_epoch", replay_last_}});
}

void EpochEvents::done(std::uint64_t epoch, std::chrono::steady_clock::time_point t) {
  recovering_ = false;
  log::info("recovery_done", {{"epochs", replayed_},
                              {"last_epoch", epoch},
                              {"seconds", std::chrono::duration<double>(t - started_).count()}});
}

void EpochEvents::recovered() {
  if (recovering_) done(last_replayed_, now());
}

std::chrono::steady_clock::time_point EpochEvents::now() const {
  return clock_ ? clock_() : std::chrono::steady_clock::now();
}

void EpochEvents::observe(const actors::EpochOutcome& outcome) {
  if (outcome.replayed) {
    const bool again = !recovering_ && (!replay_seen_ || outcome.epoch <= last_replayed_);
    replay_seen_ = true;
    last_replayed_ = outcome.epoch;
    if (again) {
      // A new sequencer runs the log again (a node registered again): a recovery of its
      // own, up to the last epoch this node saw an outcome of.
      recovering_ = true;
      replayed_ = 0;
      replay_last_ = seen_last_;
      started_ = last_progress_ = now();
      log::info("recovery_start", {{"last_epoch", replay_last_}});
    }
    seen_last_ = std::max(seen_last_, outcome.epoch);
    if (!recovering_) return;  // past the recovery's last epoch, in the same run: said
    ++replayed_;
    const auto t = now();
    if (outcome.epoch >= replay_last_) {
      done(outcome.epoch, t);
    } else if (t - last_progress_ >= recovery_progress_interval) {
      last_progress_ = t;
      log::info("recovery_progress", {{"epochs", replayed_}, {"epoch", outcome.epoch},
                                      {"last_epoch", replay_last_}});
    }
    return;
  }
  seen_last_ = std::max(seen_last_, outcome.epoch);
  // The log held fewer epochs with an outcome than expected (cancelled ones have none):
  // the first new epoch ends the recovery.
  if (recovering_) done(last_replayed_, now());
  if (!outcome.committed) {
    log::info("epoch_aborted", {{"epoch", outcome.epoch}, {"reason", outcome.reason}});
  }
  const double ms = outcome.seconds * 1e3;
  if (slow_epoch_ms_ > 0 && ms >= static_cast<double>(slow_epoch_ms_)) {
    log::warn("slow_epoch", {{"epoch", outcome.epoch}, {"ms", ms}, {"threshold_ms", slow_epoch_ms_}});
  }
}

}  // namespace mgraph::node
