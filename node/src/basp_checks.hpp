#pragma once
// Frame checks inside CAF's own reads: the guarded peer port without a relay.
//
// CAF 0.17's BASP allocates the payload length a frame's header claims before a payload
// byte arrives (peer_guard.hpp says why that matters). The peer guard's relay checks the
// frames on a thread of its own, one more hand-off each way on every message between
// nodes. Here the check runs where CAF reads: the actor system is started with CAF's own
// middleman over a multiplexer (`load_checked_middleman`, through CAF's public
// `middleman::make<Backend>`) whose connections read through a transport policy that
// follows the BASP frames of each accepted connection (BaspFrameReader) and fails the read
// that completes a header claiming more than frame_bytes_max. That read returns before CAF
// hands the header to BASP, so nothing is allocated for the claim; CAF closes the
// connection as it does for any failed read.
//
// The rest of the guard's bounds hold as well: a frame (and a new connection's first
// frame) must complete within frame_time_max, else a sweeper thread shuts the socket down
// (CAF then reads its end and closes it); beyond connections_max accepted connections a
// new one is shut down at once. Connections CAF dials itself are not checked (as with the
// guard: their frames come from the node this one chose to reach).
//
// Thread-safety: enable() before the first connection (before publishing); the policy
// runs on CAF's multiplexer thread, the sweeper on its own; the entries they share are
// guarded by a mutex, the deadlines and counters are atomics.

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "peer_guard.hpp"

namespace mgraph::node {

struct BaspCheckOptions {
  std::uint32_t frame_bytes_max = 4u << 20;
  /// Longest time a frame may take from its first byte to its last, and a new connection
  /// to its first complete frame.
  std::chrono::milliseconds frame_time_max{10'000};
  /// Accepted connections open at once; further ones are shut down at once.
  std::size_t connections_max = 32;
  /// Called for every connection shut down for a violation (CAF's thread or the sweeper's).
  std::function<void(const std::string& what)> report;
};

class BaspChecks {
 public:
  struct State;
  explicit BaspChecks(std::shared_ptr<State> state) : state_(std::move(state)) {}

  /// Checks every connection accepted from now on; once, before the first one.
  void enable(BaspCheckOptions options);
  bool enabled() const;
  /// accepted, oversized, too_slow and turned_away (tls_refused stays 0).
  PeerGuardCounts counts() const;

 private:
  std::shared_ptr<State> state_;
};

/// Loads CAF's middleman over the checking multiplexer, in place of
/// cfg.load<caf::io::middleman>(); nothing is checked until basp_checks(sys).enable().
void load_checked_middleman(caf::actor_system_config& cfg);

/// The checks of an actor system started after load_checked_middleman(); none for
/// another system.
std::optional<BaspChecks> basp_checks(caf::actor_system& sys);

}  // namespace mgraph::node
