#pragma once
// A node's peer port (docs/CLUSTER.md, "Peer port"): CAF publishes the node's actor on
// 127.0.0.1, at a port the OS chooses, and a peer guard (peer_guard.hpp) serves the
// configured address, relaying to it; or, unguarded ([cluster] peer_guard = false), CAF
// serves the configured address itself.

#include <caf/all.hpp>

#include <cstdint>
#include <memory>

#include "mgraph/graph/status.hpp"
#include "peer_guard.hpp"

namespace mgraph::node {

struct PeerPort {
  std::uint16_t port = 0;            ///< where peers connect
  std::unique_ptr<PeerGuard> guard;  ///< null: unguarded
};

/// Publishes `node` for peers at options.host:options.port (0: the OS chooses), behind a
/// guard with `options` when `guarded` (options.inner_port is set here), else directly.
Result<PeerPort> serve_peer_port(caf::actor_system& sys, const caf::actor& node, bool guarded,
                                 PeerGuardOptions options);

}  // namespace mgraph::node
