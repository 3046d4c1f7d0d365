#pragma once
// mgraphd as a service: one node of a cluster serving the user's schema until it is told
// to stop. It wires the parts together and owns their lifetimes, nothing more:
//   - the schema, compiled from the file the configuration names (every node the same);
//   - its partitions' actors (the documents' partition, if it hosts it);
//   - the node actor on its peer port, and, on a node that does not coordinate, the link
//     to the coordinator (cluster_node.hpp);
//   - on the coordinator, the epoch log (LMDB with --data) behind the sequencer;
//   - the client protocol's server on its client port (client_gateway.hpp);
//   - the admin socket and the metrics endpoint, when asked for.
// It stops on SIGTERM or SIGINT, on `mgraphctl shutdown`, or when the coordinator refuses
// it: answering clients ends first, then the actors stop after the batch they run.

#include <cstdint>
#include <map>
#include <string>
#include <utility>

#include "cluster_config.hpp"

namespace mgraph::node {

struct ServiceOptions {
  std::string config_path;
  ClusterConfig config;
  std::string node;
  /// Peer addresses given on the command line: name -> (host, port).
  std::map<std::string, std::pair<std::string, std::uint16_t>> peers;
  std::string port_file;  ///< JSON {"peer":P,"client":C} written once listening
  std::string data;       ///< coordinator: the epoch log's LMDB directory (empty: memory)
  std::string admin;      ///< admin socket path (empty: none)
  std::string metrics;    ///< HOST:PORT for /metrics (empty: none)
  std::string log_level;  ///< the log's level at start (empty: the configuration's [log] level)
};

/// Runs the node until it is stopped. Returns the exit code: 0 stopped as asked, 2 bad
/// configuration, schema or --data directory (or refused by the coordinator), 3 network or
/// storage failure.
int run_service(const ServiceOptions& options);

}  // namespace mgraph::node
