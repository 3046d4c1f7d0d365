#pragma once
// How the nodes of a cluster find each other. Every node publishes a node actor on its
// peer port. A node that does not coordinate links to the coordinator's: it connects
// (retrying with backoff while the coordinator is unreachable), registers with its name,
// its schema's fingerprint and the partitions it hosts, and learns the sequencer's handle.
// The coordinator refuses a node whose schema differs; once it knows the partition that
// holds the documents (its own, or a registered node's) it starts the sequencer and tells
// every registered node.
//
//   node ──connect──▶ coordinator's node actor
//   node ──(register_atom, name, fingerprint, node actor, partitions)──▶ coordinator
//   coordinator ──sequencer (or none yet) | error: schema differs──▶ node
//   coordinator ──(sequencer_atom, sequencer)──▶ registered nodes, when it starts one

#include <caf/all.hpp>

#include <chrono>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "mgraph/actors/documents.hpp"
#include "node_state.hpp"

namespace mgraph::node {

using register_atom = caf::atom_constant<caf::atom("mg_reg")>;
using sequencer_atom = caf::atom_constant<caf::atom("mg_seq")>;
using retry_atom = caf::atom_constant<caf::atom("mg_retry")>;

/// Backoff between attempts to reach the coordinator: doubling from the first to the max.
inline constexpr std::chrono::milliseconds kLinkBackoffFirst{50};
inline constexpr std::chrono::milliseconds kLinkBackoffMax{2000};
/// How long one connect or register request may take.
inline constexpr std::chrono::seconds kLinkRequestTimeout{10};

struct NodeIdentity {
  std::string name;
  actors::SchemaInfo schema;
  bool coordinator = false;
};

/// What the coordinator's node actor needs to start the sequencer.
struct CoordinatorSetup {
  /// Node hosting the documents' partition (partition 0) — this one or another.
  std::string documents_node;
  actors::EpochLog* log = nullptr;  ///< outlives the actor
  /// Given every epoch's outcome by the sequencer (on its thread); may be empty.
  actors::EpochObserver observe;
};

/// The node actor every node publishes. `local_partitions`: this node's partition actors,
/// in the order of its configuration; `documents` the one holding the documents, if here.
caf::behavior node_actor(caf::event_based_actor* self, NodeIdentity id, NodeState* state,
                         caf::actor documents, CoordinatorSetup setup);

struct LinkTarget {
  std::string coordinator;  ///< its name
  std::string host;
  std::uint16_t port = 0;
};

/// A non-coordinator node's link to the coordinator (see above). `node` is this node's
/// node actor; `documents` its documents' partition, if it hosts it.
caf::behavior link_actor(caf::event_based_actor* self, LinkTarget target, NodeIdentity id,
                         caf::actor node, caf::actor documents, NodeState* state);

}  // namespace mgraph::node
