#include "peer_port.hpp"

#include <caf/io/all.hpp>

#include <string>
#include <utility>

#include "basp_checks.hpp"

namespace mgraph::node {

Result<PeerPort> serve_peer_port(caf::actor_system& sys, const caf::actor& node, bool guarded,
                                 PeerGuardOptions options) {
  // Without TLS, a system started with load_checked_middleman() checks frames where CAF
  // reads them and serves the address itself; with TLS (or without the checks) the relay
  // guard serves it, in front of CAF on loopback.
  std::optional<BaspChecks> checks = guarded && !options.tls ? basp_checks(sys) : std::nullopt;
  const bool relay = guarded && !checks;
  if (checks) {
    BaspCheckOptions check_options;
    check_options.frame_bytes_max = options.frame_bytes_max;
    check_options.frame_time_max = options.frame_time_max;
    check_options.connections_max = options.connections_max;
    check_options.report = options.report;
    checks->enable(std::move(check_options));
  }
  const std::string host = relay ? "127.0.0.1" : options.host;
  // Served directly, the address is the node's own, as the guard's is (SO_REUSEADDR).
  auto published = sys.middleman().publish(node, relay ? 0 : options.port, host.c_str(), !relay);
  if (!published) {
    return Status(StatusCode::io_error, "cannot listen on " + host + ": " + sys.render(published.error()));
  }
  PeerPort out;
  out.checked = checks.has_value();
  if (!relay) {
    out.port = *published;
    return out;
  }
  options.inner_port = *published;
  Result<std::unique_ptr<PeerGuard>> guard = PeerGuard::start(std::move(options));
  if (!guard.is_ok()) return guard.status();
  out.guard = std::move(guard).value();
  out.port = out.guard->port();
  return out;
}

}  // namespace mgraph::node
