#include "epoch_events.hpp"

#include "log.hpp"

namespace mgraph::node {

EpochEvents::EpochEvents(std::uint64_t slow_epoch_ms, std::uint64_t replay_last, Clock clock)
    : slow_epoch_ms_(slow_epoch_ms), replay_last_(replay_last), clock_(std::move(clock)) {
  started_ = last_progress_ = now();
  if (replay_last_ > 0) log::info("recovery_start", {{"last_epoch", replay_last_}});
}

std::chrono::steady_clock::time_point EpochEvents::now() const {
  return clock_ ? clock_() : std::chrono::steady_clock::now();
}

void EpochEvents::observe(const actors::EpochOutcome& outcome) {
  if (outcome.replayed) {
    ++replayed_;
    const auto t = now();
    if (outcome.epoch >= replay_last_) {
      log::info("recovery_done", {{"epochs", replayed_},
                                  {"last_epoch", outcome.epoch},
                                  {"seconds", std::chrono::duration<double>(t - started_).count()}});
    } else if (t - last_progress_ >= recovery_progress_interval) {
      last_progress_ = t;
      log::info("recovery_progress", {{"epochs", replayed_}, {"epoch", outcome.epoch},
                                      {"last_epoch", replay_last_}});
    }
    return;
  }
  if (!outcome.committed) {
    log::info("epoch_aborted", {{"epoch", outcome.epoch}, {"reason", outcome.reason}});
  }
  const double ms = outcome.seconds * 1e3;
  if (slow_epoch_ms_ > 0 && ms >= static_cast<double>(slow_epoch_ms_)) {
    log::warn("slow_epoch", {{"epoch", outcome.epoch}, {"ms", ms}, {"threshold_ms", slow_epoch_ms_}});
  }
}

}  // namespace mgraph::node
