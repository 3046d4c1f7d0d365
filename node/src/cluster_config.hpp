#pragma once
// The cluster configuration file (TOML; cluster-configs/local-3.toml):
//
//   [cluster]  schema (the *.mgs file every node serves, relative to the configuration
//              file), partitions; for the cluster benchmark instead of a schema: seed,
//              fields (the synthetic workload) and epochs (to run)
//   [[node]]   name, host, port (peers; 0: the OS chooses), client_port (clients; 0: the
//              OS chooses), coordinator (bool, exactly one node), partitions (ids it
//              hosts; every partition on exactly one node)

#include <cstdint>
#include <string>
#include <vector>

#include "mgraph/codec/epoch_codec.hpp"
#include "mgraph/graph/status.hpp"

namespace mgraph::node {

struct NodeConfig {
  std::string name;
  std::string host = "127.0.0.1";
  std::uint16_t port = 0;
  std::uint16_t client_port = 0;
  bool coordinator = false;
  std::vector<codec::PartitionId> partitions;
};

/// The synthetic workload of the cluster benchmark (bench/cluster/workload.hpp).
struct WorkloadConfig {
  std::uint64_t seed = 1;
  std::size_t fields = 100;
  std::uint64_t epochs = 100;  ///< epochs the coordinator runs
};

struct ClusterConfig {
  /// The schema file, as a path relative to the working directory (the file's own entry
  /// is relative to the configuration file); empty: none given.
  std::string schema;
  std::size_t partitions = 1;
  WorkloadConfig workload;
  std::vector<NodeConfig> nodes;

  const NodeConfig* find(const std::string& name) const;
  const NodeConfig& coordinator() const;
};

/// Reads and checks a configuration file; errors name the file and what is wrong.
Result<ClusterConfig> load_cluster_config(const std::string& path);

}  // namespace mgraph::node
