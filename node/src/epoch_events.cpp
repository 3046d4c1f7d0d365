#include "epoch_events.hpp"

#include "log.hpp"

namespace mgraph::node {

EpochEvents::EpochEvents(std::uint64_t slow_epoch_ms, std::uint64_t replay_total, Clock clock)
    : slow_epoch_ms_(slow_epoch_ms), replay_total_(replay_total), clock_(std::move(clock)) {
  started_ = last_progress_ = now();
  if (replay_total_ > 0) log::info("recovery_start", {{"epochs", replay_total_}});
}

std::chrono::steady_clock::time_point EpochEvents::now() const {
  return clock_ ? clock_() : std::chrono::steady_clock::now();
}

void EpochEvents::observe(const actors::EpochOutcome& outcome) {
  if (outcome.replayed) {
    ++replayed_;
    const auto t = now();
    if (replayed_ == replay_total_) {
      log::info("recovery_done", {{"epochs", replay_total_},
                                  {"seconds", std::chrono::duration<double>(t - started_).count()}});
    } else if (t - last_progress_ >= recovery_progress_interval) {
      last_progress_ = t;
      log::info("recovery_progress", {{"replayed", replayed_}, {"epochs", replay_total_},
                                      {"epoch", outcome.epoch}});
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
