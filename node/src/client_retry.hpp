#pragma once
// What `mgraph watch` and `mgraph effects consume` share about a cluster out of reach for a
// while (a node restarting): which failures are worth trying again, and connecting again
// with pauses between the attempts (the one place these commands sleep).

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <thread>

#include "mgraph/codec/client_rpc.hpp"
#include "mgraph/graph/status.hpp"

namespace mgraph::node {

/// The pauses between attempts to reach the cluster again: doubling from the first to the
/// last, so that a restart of a few seconds is noticed within a pause.
inline constexpr std::chrono::milliseconds kRetryPauseMin{50};
inline constexpr std::chrono::milliseconds kRetryPauseMax{2000};

/// Waits `ms`: a command's pause between attempts to reach the cluster, or between polls
/// that found nothing, unless a test gives its own (the commands' `pause` seam).
inline void sleep_pause(std::chrono::milliseconds ms) { std::this_thread::sleep_for(ms); }

/// Whether a call failed for want of the cluster (the network, an unavailable node, a
/// node that does not reach the coordinator yet), so that the same call may succeed later.
inline bool out_of_reach(const Status& failure) {
  return failure.code() == StatusCode::io_error ||
         (failure.code() == StatusCode::failed_precondition &&
          failure.message().rfind(codec::kClusterNotReady, 0) == 0);
}

/// Connects to host:port again, pausing (`pause`) before each attempt, until it is
/// connected or the pauses add up to `retry_ms` or `stop()` says so; null then.
inline std::unique_ptr<codec::ClientConnection> connect_again(
    const std::string& host, std::uint16_t port, std::chrono::milliseconds timeout, const std::string& token,
    std::int64_t retry_ms, const std::function<void(std::chrono::milliseconds)>& pause,
    const std::function<bool()>& stop) {
  std::chrono::milliseconds waited{0};
  std::chrono::milliseconds next = kRetryPauseMin;
  // Bounded: every attempt pauses, and the pauses add up to retry_ms.
  while (waited.count() < retry_ms && !(stop && stop())) {
    pause(next);
    waited += next;
    next = std::min(next * 2, kRetryPauseMax);
    auto again = codec::ClientConnection::connect(host, port, timeout, token);
    if (again.is_ok()) return std::move(again).value();
  }
  return nullptr;
}

}  // namespace mgraph::node
