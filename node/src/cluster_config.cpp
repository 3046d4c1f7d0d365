#include "cluster_config.hpp"

#include <toml++/toml.h>

#include <algorithm>
#include <filesystem>
#include <sstream>

namespace mgraph::node {
namespace {

Status bad(const std::string& path, const std::string& what) {
  return Status(StatusCode::invalid_argument, path + ": " + what);
}

/// An integer entry in [lo, hi], or `fallback` when absent.
Result<std::int64_t> integer(const std::string& path, const toml::table& t, const char* key,
                             std::int64_t fallback, std::int64_t lo, std::int64_t hi,
                             const std::string& where) {
  const toml::node* n = t.get(key);
  if (n == nullptr) return fallback;
  const std::optional<std::int64_t> v = n->value<std::int64_t>();
  if (!v || *v < lo || *v > hi) {
    std::ostringstream s;
    s << where << "." << key << " must be an integer in [" << lo << ", " << hi << "] (line "
      << n->source().begin.line << ")";
    return bad(path, s.str());
  }
  return *v;
}

}  // namespace

const NodeConfig* ClusterConfig::find(const std::string& name) const {
  for (const NodeConfig& n : nodes) {
    if (n.name == name) return &n;
  }
  return nullptr;
}

const NodeConfig& ClusterConfig::coordinator() const {
  return *std::find_if(nodes.begin(), nodes.end(), [](const NodeConfig& n) { return n.coordinator; });
}

Result<ClusterConfig> load_cluster_config(const std::string& path) {
  toml::table root;
  try {
    root = toml::parse_file(path);
  } catch (const toml::parse_error& e) {
    std::ostringstream s;
    s << "line " << e.source().begin.line << ", column " << e.source().begin.column << ": "
      << e.description();
    return bad(path, s.str());
  }
  ClusterConfig c;
  const toml::table* cluster = root["cluster"].as_table();
  if (cluster == nullptr) return bad(path, "no [cluster] table");
  Result<std::int64_t> seed = integer(path, *cluster, "seed", 1, 0, INT64_MAX, "cluster");
  Result<std::int64_t> fields = integer(path, *cluster, "fields", 100, 4, 10'000'000, "cluster");
  Result<std::int64_t> parts = integer(path, *cluster, "partitions", 1, 1, 4096, "cluster");
  Result<std::int64_t> epochs = integer(path, *cluster, "epochs", 100, 0, INT64_MAX, "cluster");
  for (const auto* r : {&seed, &fields, &parts, &epochs}) {
    if (!r->is_ok()) return r->status();
  }
  c.workload.seed = static_cast<std::uint64_t>(*seed);
  c.workload.fields = static_cast<std::size_t>(*fields);
  c.workload.epochs = static_cast<std::uint64_t>(*epochs);
  c.partitions = static_cast<std::size_t>(*parts);
  if (const toml::node* schema = cluster->get("schema")) {
    const std::optional<std::string> file = schema->value<std::string>();
    if (!file || file->empty()) {
      return bad(path, "cluster.schema must be the path of a *.mgs file (line " +
                           std::to_string(schema->source().begin.line) + ")");
    }
    c.schema = (std::filesystem::path(path).parent_path() / *file).string();
  }

  const toml::array* nodes = root["node"].as_array();
  if (nodes == nullptr || nodes->empty()) return bad(path, "no [[node]] entries");
  std::vector<int> hosted(c.partitions, 0);
  for (std::size_t i = 0; i < nodes->size(); ++i) {
    const toml::table* t = (*nodes)[i].as_table();
    const std::string where = "node " + std::to_string(i + 1);
    if (t == nullptr) return bad(path, where + " is not a table");
    NodeConfig n;
    const std::optional<std::string> name = (*t)["name"].value<std::string>();
    if (!name || name->empty()) return bad(path, where + " has no name");
    n.name = *name;
    if (c.find(n.name) != nullptr) return bad(path, "two nodes are named '" + n.name + "'");
    n.host = (*t)["host"].value_or(std::string("127.0.0.1"));
    Result<std::int64_t> port = integer(path, *t, "port", 0, 0, 65535, "node " + n.name);
    if (!port.is_ok()) return port.status();
    n.port = static_cast<std::uint16_t>(*port);
    Result<std::int64_t> client_port = integer(path, *t, "client_port", 0, 0, 65535, "node " + n.name);
    if (!client_port.is_ok()) return client_port.status();
    n.client_port = static_cast<std::uint16_t>(*client_port);
    n.coordinator = (*t)["coordinator"].value_or(false);
    const toml::array* ps = (*t)["partitions"].as_array();
    if (ps == nullptr) return bad(path, "node " + n.name + " has no partitions list");
    for (const toml::node& p : *ps) {
      const std::optional<std::int64_t> id = p.value<std::int64_t>();
      if (!id || *id < 0 || static_cast<std::size_t>(*id) >= c.partitions) {
        return bad(path, "node " + n.name + " names a partition outside [0, " +
                             std::to_string(c.partitions) + ")");
      }
      ++hosted[static_cast<std::size_t>(*id)];
      n.partitions.push_back(static_cast<codec::PartitionId>(*id));
    }
    c.nodes.push_back(std::move(n));
  }
  for (std::size_t p = 0; p < hosted.size(); ++p) {
    if (hosted[p] != 1) {
      return bad(path, "partition " + std::to_string(p) + " is hosted by " +
                           std::to_string(hosted[p]) + " nodes; each needs exactly one");
    }
  }
  const auto coordinators = std::count_if(c.nodes.begin(), c.nodes.end(),
                                          [](const NodeConfig& n) { return n.coordinator; });
  if (coordinators != 1) {
    return bad(path, std::to_string(coordinators) + " nodes are coordinator; exactly one must be");
  }
  return c;
}

}  // namespace mgraph::node
