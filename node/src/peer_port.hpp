#pragma once
// A node's peer port (docs/CLUSTER.md, "Peer port"). Guarded (the default), CAF serves the
// configured address itself and checks each peer's frames where it reads them
// (basp_checks.hpp); with TLS, or in an actor system started without those checks, CAF
// publishes the node's actor on 127.0.0.1, at a port the OS chooses, and a peer guard
// (peer_guard.hpp) serves the configured address, relaying to it. Unguarded ([cluster]
// peer_guard = false), CAF serves the configured address without checks.

#include <caf/all.hpp>

#include <cstdint>
#include <memory>

#include "mgraph/graph/status.hpp"
#include "peer_guard.hpp"

namespace mgraph::node {

struct PeerPort {
  std::uint16_t port = 0;            ///< where peers connect
  std::unique_ptr<PeerGuard> guard;  ///< the relay; null: checked in CAF, or unguarded
  bool checked = false;              ///< frames are checked where CAF reads them
};

/// Publishes `node` for peers at options.host:options.port (0: the OS chooses); when
/// `guarded`, with frames checked in CAF (basp_checks.hpp) or behind a relay guard with
/// `options` (options.inner_port is set here), as the header says.
Result<PeerPort> serve_peer_port(caf::actor_system& sys, const caf::actor& node, bool guarded,
                                 PeerGuardOptions options);

}  // namespace mgraph::node
