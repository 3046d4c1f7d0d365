#pragma once
// How the nodes of a cluster find each other. Every node publishes a node actor on its
// peer port. A node that does not coordinate links to the coordinator's: it connects
// (retrying with backoff while the coordinator is unreachable), registers with its name,
// its schema's fingerprint and the actors of the partitions it hosts, and learns the
// sequencer's handle. The coordinator refuses a node of another cluster (by the
// configuration's cluster name), whose schema differs, or that its configuration does not
// know; a node that is not the coordinator refuses every registration (a --peer address
// naming the wrong node); once it has every partition's actor (its own and the
// registered nodes') it starts the documents' driver over them and the sequencer, and
// tells every registered node. A node that registers again (it restarted) starts both
// again: the driver empties every partition, the sequencer runs the log again.
//
//   node ──connect──▶ coordinator's node actor
//   node ──(register_atom, cluster, name, fingerprint, node actor, partition actors)──▶ coordinator
//   coordinator ──sequencer (or none yet) | error: another cluster, schema differs,
//                 unknown node, not the coordinator──▶ node
//   coordinator ──(sequencer_atom, sequencer, every partition's actor)──▶ registered nodes,
//                 when it starts one, and a node that registers while one runs

#include <caf/all.hpp>

#include <chrono>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "mgraph/actors/partitioned.hpp"

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
/// How long the driver waits for a partition's reply before it calls it unavailable: far
/// beyond any one request's work (a batch's ops, one phase of an epoch) on a live node.
inline constexpr std::chrono::seconds kPartitionRequestTimeout{30};

struct NodeIdentity {
  std::string cluster;  ///< the configuration's [cluster] name
  std::string name;
  actors::SchemaInfo schema;
  bool coordinator = false;
};

/// What the coordinator's node actor needs to start the driver and the sequencer.
struct CoordinatorSetup {
  /// The partitions each node hosts, by name, in the order of the configuration (every
  /// partition on one node); the number of partitions.
  std::map<std::string, std::vector<codec::PartitionId>> placement;
  std::uint32_t partitions = 0;
  actors::EpochLog* log = nullptr;  ///< outlives the actor
  /// Given every epoch's outcome by the sequencer (on its thread); may be empty.
  actors::EpochObserver observe;
  actors::SequencerOptions sequencer;
  actors::DriverOptions driver;
  /// Where the driver counts its requests to the partitions (sized for every partition);
  /// may be null.
  std::shared_ptr<actors::PartitionTraffic> traffic = nullptr;
};

/// The node actor every node publishes. `partitions`: this node's partition actors, in the
/// order of its configuration.
caf::behavior node_actor(caf::event_based_actor* self, NodeIdentity id, NodeState* state,
                         std::vector<caf::actor> partitions, CoordinatorSetup setup);

struct LinkTarget {
  std::string coordinator;  ///< its name
  std::string host;
  std::uint16_t port = 0;
};

/// A non-coordinator node's link to the coordinator (see above). `node` is this node's
/// node actor; `partitions` its partition actors, in the order of its configuration.
caf::behavior link_actor(caf::event_based_actor* self, LinkTarget target, NodeIdentity id,
                         caf::actor node, std::vector<caf::actor> partitions, NodeState* state);

}  // namespace mgraph::node
