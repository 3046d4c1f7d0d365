#include "peer_port.hpp"

#include <caf/io/all.hpp>

#include <string>
#include <utility>

namespace mgraph::node {

Result<PeerPort> serve_peer_port(caf::actor_system& sys, const caf::actor& node, bool guarded,
                                 PeerGuardOptions options) {
  const std::string host = guarded ? "127.0.0.1" : options.host;
  // Unguarded, the address is the node's own, as the guard's is (SO_REUSEADDR).
  auto published = sys.middleman().publish(node, guarded ? 0 : options.port, host.c_str(), !guarded);
  if (!published) {
    return Status(StatusCode::io_error, "cannot listen on " + host + ": " + sys.render(published.error()));
  }
  PeerPort out;
  if (!guarded) {
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
