#pragma once
// The cluster configuration file (TOML; cluster-configs/local-3.toml):
//
//   [cluster]  seed, fields, partitions (the synthetic workload), epochs (to run)
//   [[node]]   name, host, port (0: the OS chooses), coordinator (bool, exactly one
//              node), partitions (ids it hosts; every partition on exactly one node)

#include <cstdint>
#include <string>
#include <vector>

#include "mgraph/actors/workload.hpp"
#include "mgraph/graph/status.hpp"

namespace mgraph::node {

struct NodeConfig {
  std::string name;
  std::string host = "127.0.0.1";
  std::uint16_t port = 0;
  bool coordinator = false;
  std::vector<actors::PartitionId> partitions;
};

struct ClusterConfig {
  actors::WorkloadSpec workload;
  std::uint64_t epochs = 100;
  std::vector<NodeConfig> nodes;

  const NodeConfig* find(const std::string& name) const;
  const NodeConfig& coordinator() const;
};

/// Reads and checks a configuration file; errors name the file and what is wrong.
Result<ClusterConfig> load_cluster_config(const std::string& path);

}  // namespace mgraph::node
