#include "cluster_config.hpp"
#include "log.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <toml++/toml.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <cerrno>
#include <cstring>
#include <optional>
#include <span>
#include <sstream>

#include "mgraph/graph/assert.hpp"

namespace mgraph::node {
namespace {

using Keys = std::span<const std::string_view>;

/// The keys each table may hold.
constexpr std::string_view top_keys[] = {"cluster", "node", "clients", "tls", "log"};
constexpr std::string_view log_keys[] = {"level", "slow_epoch_ms"};
constexpr std::string_view cluster_keys[] = {"name", "schema", "seed", "fields", "partitions", "epochs",
                                             "peer_frame_bytes_max", "batch_transactions_max",
                                             "batch_bytes_max", "peer_timeout_ms", "checkpoint_every",
                                             "watch_epochs_kept", "watch_history_epochs", "watch_history_bytes",
                                             "clock_tick_ms", "client_connections_max", "peer_guard"};
constexpr std::string_view node_keys[] = {"name",        "host",        "port",
                                           "client_port", "coordinator", "partitions"};
constexpr std::string_view clients_keys[] = {"allow_anonymous", "anonymous_role", "token"};
constexpr std::string_view token_keys[] = {"name", "sha256", "role"};
constexpr std::string_view tls_keys[] = {"ca", "cert", "key"};
/// Longest path of a TLS file as written in the configuration.
constexpr std::size_t tls_path_bytes_max = 4096;
/// What "{node}" in [tls] cert and key stands for.
constexpr std::string_view node_placeholder = "{node}";

Status bad(const std::string& path, const std::string& what) {
  return Status(StatusCode::invalid_argument, path + ": " + what);
}

/// "FILE:LINE:COL: what".
Status bad_at(const std::string& path, const toml::source_region& at, const std::string& what) {
  std::ostringstream s;
  s << path << ":" << at.begin.line << ":" << at.begin.column << ": " << what;
  return Status(StatusCode::invalid_argument, s.str());
}

std::string join(Keys keys) {
  std::string out;
  for (std::string_view k : keys) out += (out.empty() ? "" : ", ") + std::string(k);
  return out;
}

/// Every key of `t` is one of `known`. `table` names it in messages ("[cluster]"; empty
/// at the top level), `prefix` heads the names of tables inside it ("cluster.").
Status check_keys(const std::string& path, const toml::table& t, Keys known,
                  const std::string& table, const std::string& prefix) {
  for (auto&& [key, value] : t) {
    if (std::find(known.begin(), known.end(), key.str()) != known.end()) continue;
    const std::string name(key.str());
    std::string what;
    if (value.is_table()) {
      what = "unknown table [" + prefix + name + "]";
    } else if (value.is_array_of_tables()) {
      what = "unknown table [[" + prefix + name + "]]";
    } else {
      what = "unknown key '" + name + "'" + (table.empty() ? "" : " in " + table);
    }
    return bad_at(path, key.source(), what + "; known: " + join(known));
  }
  return Status();
}

/// An integer entry of `t` in [lo, hi] (a float, even 3.0, is not one), or `fallback`
/// when absent; `why` gives the reason for the range.
Result<std::int64_t> integer(const std::string& path, const toml::table& t, const char* key,
                             std::int64_t fallback, std::int64_t lo, std::int64_t hi,
                             const std::string& where, const char* why = nullptr) {
  const toml::node* n = t.get(key);
  if (n == nullptr) return fallback;
  const toml::value<std::int64_t>* v = n->as_integer();
  if (v == nullptr || v->get() < lo || v->get() > hi) {
    std::ostringstream s;
    s << where << "." << key << " must be an integer in [" << lo << ", " << hi << "]";
    if (why != nullptr) s << " (" << why << ")";
    return bad_at(path, n->source(), s.str());
  }
  return v->get();
}

/// A string entry of `t` of 1 to `bytes_max` bytes, or `fallback` when absent (nullopt:
/// required).
Result<std::string> string(const std::string& path, const toml::table& t, const char* key,
                           const std::optional<std::string>& fallback, std::size_t bytes_max,
                           const std::string& where) {
  const toml::node* n = t.get(key);
  if (n == nullptr) {
    if (fallback) return *fallback;
    return bad_at(path, t.source(), where + " has no " + key);
  }
  const toml::value<std::string>* v = n->as_string();
  if (v == nullptr || v->get().empty() || v->get().size() > bytes_max) {
    return bad_at(
        path, n->source(),
        where + "." + key + " must be a string of 1 to " + std::to_string(bytes_max) + " bytes");
  }
  return v->get();
}

Status parse_cluster_table(const std::string& path, const toml::table& root, ClusterConfig& c) {
  const toml::node* node = root.get("cluster");
  if (node == nullptr) return bad(path, "no [cluster] table");
  const toml::table* cluster = node->as_table();
  if (cluster == nullptr) return bad_at(path, node->source(), "cluster must be a table, [cluster]");
  if (Status s = check_keys(path, *cluster, cluster_keys, "[cluster]", "cluster."); !s.is_ok())
    return s;
  auto seed = integer(path, *cluster, "seed", 1, 0, INT64_MAX, "cluster");
  auto fields = integer(path, *cluster, "fields", 100, fields_min, fields_max, "cluster",
                        "a node builds the whole workload; larger ones take minutes and GBs");
  auto parts = integer(path, *cluster, "partitions", 3, 1, partitions_max, "cluster",
                       "one actor each; every partition is sent the handles of all");
  auto epochs = integer(path, *cluster, "epochs", 100, 0, epochs_max, "cluster");
  auto frame = integer(path, *cluster, "peer_frame_bytes_max", peer_frame_bytes_default,
                       peer_frame_bytes_lower, peer_frame_bytes_upper, "cluster",
                       "each peer connection may make a node hold one frame of this size");
  auto batch = integer(path, *cluster, "batch_transactions_max", batch_transactions_default, 1,
                       batch_transactions_upper, "cluster",
                       "a failed epoch runs each of its transactions again alone");
  auto batch_bytes = integer(path, *cluster, "batch_bytes_max", batch_bytes_default, batch_bytes_lower,
                             batch_bytes_upper, "cluster");
  auto peer_timeout = integer(path, *cluster, "peer_timeout_ms", peer_timeout_ms_default,
                              peer_timeout_ms_lower, peer_timeout_ms_upper, "cluster",
                              "a peer silent this long is taken as lost");
  auto checkpoint_every = integer(path, *cluster, "checkpoint_every", checkpoint_every_default, 0,
                                  checkpoint_every_upper, "cluster");
  auto watch_kept = integer(path, *cluster, "watch_epochs_kept", watch_epochs_kept_default, 1,
                            watch_epochs_kept_upper, "cluster",
                            "the coordinator holds the changes of this many epochs");
  auto history_epochs = integer(path, *cluster, "watch_history_epochs", watch_history_epochs_default, 0,
                                watch_history_epochs_upper, "cluster",
                                "the coordinator's --data keeps the changes of this many epochs");
  auto history_bytes = integer(path, *cluster, "watch_history_bytes", watch_history_bytes_default,
                               watch_history_bytes_lower, watch_history_bytes_upper, "cluster",
                               "the coordinator's --data keeps this many bytes of changes");
  auto clock_tick = integer(path, *cluster, "clock_tick_ms", clock_tick_ms_default, 0, clock_tick_ms_upper,
                            "cluster", "the coordinator moves the schema's clock this often");
  auto connections = integer(path, *cluster, "client_connections_max", client_connections_default, 1,
                             client_connections_upper, "cluster",
                             "a file descriptor each, and each may hold a 64 MiB request in flight");
  for (const Result<std::int64_t>* r : {&seed, &fields, &parts, &epochs, &frame, &batch, &batch_bytes,
                                        &peer_timeout, &checkpoint_every, &watch_kept, &history_epochs,
                                        &history_bytes, &clock_tick, &connections}) {
    if (!r->is_ok()) return r->status();
  }
  c.client_connections_max = static_cast<std::size_t>(*connections);
  c.clock_tick = std::chrono::milliseconds(*clock_tick);
  c.watch_epochs_kept = static_cast<std::size_t>(*watch_kept);
  c.watch_history_epochs = static_cast<std::uint64_t>(*history_epochs);
  c.watch_history_bytes = static_cast<std::uint64_t>(*history_bytes);
  c.checkpoint_every = static_cast<std::uint64_t>(*checkpoint_every);
  c.batch_transactions_max = static_cast<std::size_t>(*batch);
  c.batch_bytes_max = static_cast<std::size_t>(*batch_bytes);
  Result<std::string> name = string(path, *cluster, "name", std::string(cluster_name_default),
                                    node_name_bytes_max, "cluster");
  if (!name.is_ok()) return name.status();
  if (!valid_node_name(*name)) {
    return bad_at(path, cluster->get("name")->source(),
                  "cluster.name must be 1 to " + std::to_string(node_name_bytes_max) +
                      " of A-Z a-z 0-9 _ . -");
  }
  c.name = std::move(name).value();
  c.peer_timeout = std::chrono::milliseconds(*peer_timeout);
  c.workload.seed = static_cast<std::uint64_t>(*seed);
  c.workload.fields = static_cast<std::size_t>(*fields);
  c.partitions = static_cast<std::size_t>(*parts);
  c.workload.epochs = static_cast<std::uint64_t>(*epochs);
  c.peer_frame_bytes_max = static_cast<std::uint32_t>(*frame);
  if (const toml::node* guard = cluster->get("peer_guard"); guard != nullptr) {
    if (!guard->is_boolean()) return bad_at(path, guard->source(), "cluster.peer_guard must be true or false");
    c.peer_guard = guard->as_boolean()->get();
  }
  if (const toml::node* schema = cluster->get("schema"); schema != nullptr) {
    const toml::value<std::string>* file = schema->as_string();
    if (file == nullptr || file->get().empty()) {
      return bad_at(path, schema->source(), "cluster.schema must be the path of a *.mgs file");
    }
    c.schema = (std::filesystem::path(path).parent_path() / file->get()).string();
  }
  return Status();
}

/// The partitions list of node `n`; `hosted_by[p]` names the node hosting p so far.
Status parse_partitions(const std::string& path, const toml::table& t, NodeConfig& n,
                        std::vector<std::string>& hosted_by) {
  const toml::node* list = t.get("partitions");
  if (list == nullptr)
    return bad_at(path, t.source(), "node " + n.name + " has no partitions list");
  const toml::array* ps = list->as_array();
  if (ps == nullptr)
    return bad_at(path, list->source(), "node " + n.name + ".partitions must be a list");
  for (const toml::node& p : *ps) {
    const toml::value<std::int64_t>* id = p.as_integer();
    if (id == nullptr || id->get() < 0 || static_cast<std::size_t>(id->get()) >= hosted_by.size()) {
      return bad_at(path, p.source(),
                    "node " + n.name + " names a partition outside [0, " +
                        std::to_string(hosted_by.size()) + ") or not an integer");
    }
    std::string& host = hosted_by[static_cast<std::size_t>(id->get())];
    if (!host.empty()) {
      return bad_at(path, p.source(),
                    "partition " + std::to_string(id->get()) + " is hosted by 2 nodes (" + host +
                        " and " + n.name + "); each needs exactly one");
    }
    host = n.name;
    n.partitions.push_back(static_cast<codec::PartitionId>(id->get()));
  }
  return Status();
}

Result<NodeConfig> parse_node(const std::string& path, const toml::table& t, std::size_t index,
                              const ClusterConfig& c, std::vector<std::string>& hosted_by) {
  const std::string where = "node " + std::to_string(index + 1);
  if (Status s = check_keys(path, t, node_keys, "[[node]]", "node."); !s.is_ok()) return s;
  NodeConfig n;
  Result<std::string> name = string(path, t, "name", std::nullopt, node_name_bytes_max, where);
  if (!name.is_ok()) return name.status();
  if (!valid_node_name(*name)) {
    return bad_at(path, t.get("name")->source(),
                  where + ".name must be 1 to " + std::to_string(node_name_bytes_max) +
                      " of A-Z a-z 0-9 _ . - (it appears in --peer NAME=HOST:PORT)");
  }
  n.name = std::move(name).value();
  if (c.find(n.name) != nullptr) {
    return bad_at(path, t.get("name")->source(), "two nodes are named '" + n.name + "'");
  }
  Result<std::string> host = string(path, t, "host", n.host, host_bytes_max, "node " + n.name);
  if (!host.is_ok()) return host.status();
  n.host = std::move(host).value();
  Result<std::int64_t> port = integer(path, t, "port", 0, 0, 65535, "node " + n.name);
  if (!port.is_ok()) return port.status();
  n.port = static_cast<std::uint16_t>(*port);
  Result<std::int64_t> client_port = integer(path, t, "client_port", 0, 0, 65535, "node " + n.name);
  if (!client_port.is_ok()) return client_port.status();
  n.client_port = static_cast<std::uint16_t>(*client_port);
  if (const toml::node* co = t.get("coordinator"); co != nullptr) {
    if (!co->is_boolean())
      return bad_at(path, co->source(), "node " + n.name + ".coordinator must be true or false");
    n.coordinator = co->as_boolean()->get();
  }
  if (Status s = parse_partitions(path, t, n, hosted_by); !s.is_ok()) return s;
  return n;
}

Status parse_nodes(const std::string& path, const toml::table& root, ClusterConfig& c) {
  const toml::node* node = root.get("node");
  if (node == nullptr) return bad(path, "no [[node]] entries");
  const toml::array* nodes = node->as_array();
  if (nodes == nullptr)
    return bad_at(path, node->source(), "node must be [[node]] entries, not [node]");
  if (nodes->empty()) return bad_at(path, node->source(), "no [[node]] entries");
  if (nodes->size() > nodes_max) {
    return bad_at(path, (*nodes)[nodes_max].source(),
                  "more than " + std::to_string(nodes_max) + " nodes");
  }
  std::vector<std::string> hosted_by(c.partitions);
  for (std::size_t i = 0; i < nodes->size(); ++i) {
    const toml::table* t = (*nodes)[i].as_table();
    if (t == nullptr)
      return bad_at(path, (*nodes)[i].source(),
                    "node " + std::to_string(i + 1) + " is not a table");
    Result<NodeConfig> n = parse_node(path, *t, i, c, hosted_by);
    if (!n.is_ok()) return n.status();
    if (n->coordinator && std::any_of(c.nodes.begin(), c.nodes.end(),
                                      [](const NodeConfig& o) { return o.coordinator; })) {
      return bad_at(path, t->get("coordinator")->source(),
                    "node " + n->name + " is coordinator too; exactly one node must be");
    }
    c.nodes.push_back(std::move(n).value());
  }
  const auto unhosted = std::find(hosted_by.begin(), hosted_by.end(), std::string());
  if (unhosted != hosted_by.end()) {
    const toml::node* parts = root["cluster"]["partitions"].node();
    const toml::source_region at =
        parts != nullptr ? parts->source() : root["cluster"].node()->source();
    return bad_at(path, at,
                  "partition " + std::to_string(unhosted - hosted_by.begin()) +
                      " is hosted by 0 nodes; each needs exactly one");
  }
  if (std::none_of(c.nodes.begin(), c.nodes.end(),
                   [](const NodeConfig& n) { return n.coordinator; })) {
    return bad_at(path, node->source(), "0 nodes are coordinator; exactly one must be");
  }
  return Status();
}

/// A role entry ("read", "write" or "admin") of `t`, or `fallback` when absent.
Result<session::Role> role(const std::string& path, const toml::table& t, const char* key,
                           session::Role fallback, const std::string& where) {
  const toml::node* n = t.get(key);
  if (n == nullptr) return fallback;
  const toml::value<std::string>* v = n->as_string();
  const std::optional<session::Role> r = v != nullptr ? session::parse_role(v->get()) : std::nullopt;
  if (!r) {
    return bad_at(path, n->source(),
                  where + "." + key + " must be \"read\", \"write\" or \"admin\"");
  }
  return *r;
}

/// One [[clients.token]] entry; `known` are the entries before it.
Result<TokenEntry> parse_token(const std::string& path, const toml::table& t, std::size_t index,
                               const std::vector<TokenEntry>& known) {
  const std::string where = "clients.token " + std::to_string(index + 1);
  if (Status s = check_keys(path, t, token_keys, "[[clients.token]]", "clients.token.");
      !s.is_ok())
    return s;
  TokenEntry e;
  Result<std::string> name = string(path, t, "name", std::nullopt, kTokenNameBytesMax, where);
  if (!name.is_ok()) return name.status();
  if (!valid_token_name(*name)) {
    return bad_at(path, t.get("name")->source(),
                  where + ".name must be 1 to " + std::to_string(kTokenNameBytesMax) +
                      " of A-Z a-z 0-9 _ . -");
  }
  e.name = std::move(name).value();
  for (const TokenEntry& k : known) {
    if (k.name == e.name) {
      return bad_at(path, t.get("name")->source(), "two tokens are named '" + e.name + "'");
    }
  }
  const std::string here = "token " + e.name;
  Result<std::string> hex = string(path, t, "sha256", std::nullopt, 64, here);
  std::optional<TokenDigest> digest;
  if (hex.is_ok()) digest = parse_digest(*hex);
  if (!digest) {
    if (!hex.is_ok() && t.get("sha256") == nullptr) return hex.status();
    return bad_at(path, t.get("sha256")->source(),
                  here + ".sha256 must be 64 hex digits, the SHA-256 of the token (mgraph token "
                         "hash); never the token itself");
  }
  e.sha256 = *digest;
  for (const TokenEntry& k : known) {
    if (k.sha256 == e.sha256) {
      return bad_at(path, t.get("sha256")->source(),
                    "tokens " + k.name + " and " + e.name + " have the same sha256");
    }
  }
  if (t.get("role") == nullptr) {
    return bad_at(path, t.source(), here + " has no role (\"read\", \"write\" or \"admin\")");
  }
  Result<session::Role> r = role(path, t, "role", session::Role::read, here);
  if (!r.is_ok()) return r.status();
  e.role = *r;
  return e;
}

Status parse_clients(const std::string& path, const toml::table& root, ClusterConfig& c) {
  const toml::node* node = root.get("clients");
  if (node == nullptr) return Status();
  const toml::table* clients = node->as_table();
  if (clients == nullptr) return bad_at(path, node->source(), "clients must be a table, [clients]");
  if (Status s = check_keys(path, *clients, clients_keys, "[clients]", "clients."); !s.is_ok())
    return s;
  if (const toml::node* a = clients->get("allow_anonymous"); a != nullptr) {
    if (!a->is_boolean())
      return bad_at(path, a->source(), "clients.allow_anonymous must be true or false");
    c.clients.allow_anonymous = a->as_boolean()->get();
  }
  Result<session::Role> anonymous =
      role(path, *clients, "anonymous_role", session::Role::admin, "clients");
  if (!anonymous.is_ok()) return anonymous.status();
  c.clients.anonymous_role = *anonymous;
  const toml::node* tokens = clients->get("token");
  if (tokens == nullptr) return Status();
  const toml::array* list = tokens->as_array();
  if (list == nullptr || !list->is_array_of_tables()) {
    return bad_at(path, tokens->source(),
                  "clients.token must be [[clients.token]] entries (name, sha256, role)");
  }
  if (list->size() > kTokensMax) {
    return bad_at(path, (*list)[kTokensMax].source(),
                  "more than " + std::to_string(kTokensMax) + " tokens");
  }
  for (std::size_t i = 0; i < list->size(); ++i) {
    Result<TokenEntry> e = parse_token(path, *(*list)[i].as_table(), i, c.clients.tokens);
    if (!e.is_ok()) return e.status();
    c.clients.tokens.push_back(std::move(e).value());
  }
  return Status();
}

Status parse_tls(const std::string& path, const toml::table& root, ClusterConfig& c) {
  const toml::node* node = root.get("tls");
  if (node == nullptr) return Status();
  const toml::table* tls = node->as_table();
  if (tls == nullptr) return bad_at(path, node->source(), "tls must be a table, [tls]");
  if (Status s = check_keys(path, *tls, tls_keys, "[tls]", "tls."); !s.is_ok()) return s;
  const std::filesystem::path dir = std::filesystem::path(path).parent_path();
  TlsFiles files;
  for (const auto& [key, out] : {std::pair{"ca", &files.ca}, std::pair{"cert", &files.cert},
                                 std::pair{"key", &files.key}}) {
    Result<std::string> file = string(path, *tls, key, std::nullopt, tls_path_bytes_max, "[tls]");
    if (!file.is_ok()) return file.status();
    *out = (dir / *file).string();
  }
  c.tls = std::move(files);
  return Status();
}

}  // namespace

TlsFiles ClusterConfig::tls_files(const std::string& name) const {
  MG_ASSERT(tls.has_value());
  TlsFiles files = *tls;
  for (std::string* p : {&files.cert, &files.key}) {
    // Each pass replaces one placeholder with a name that holds none: bounded.
    for (std::size_t at = p->find(node_placeholder); at != std::string::npos;
         at = p->find(node_placeholder, at + name.size())) {
      p->replace(at, node_placeholder.size(), name);
    }
  }
  return files;
}

const NodeConfig* ClusterConfig::find(const std::string& name) const {
  for (const NodeConfig& n : nodes) {
    if (n.name == name) return &n;
  }
  return nullptr;
}

const NodeConfig& ClusterConfig::coordinator() const {
  return *std::find_if(nodes.begin(), nodes.end(),
                       [](const NodeConfig& n) { return n.coordinator; });
}

bool valid_node_name(std::string_view name) {
  if (name.empty() || name.size() > node_name_bytes_max) return false;
  return std::all_of(name.begin(), name.end(), [](char ch) {
    return (ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') ||
           ch == '_' || ch == '.' || ch == '-';
  });
}

/// [log]: level (a log level's name), slow_epoch_ms.
Status parse_log_table(const std::string& path, const toml::table& root, LogConfig& c) {
  const toml::node* node = root.get("log");
  if (node == nullptr) return Status();
  const toml::table* t = node->as_table();
  if (t == nullptr) return bad_at(path, node->source(), "log must be a table, [log]");
  if (Status s = check_keys(path, *t, log_keys, "[log]", "log."); !s.is_ok()) return s;
  auto level = string(path, *t, "level", std::string("info"), 16, "log");
  if (!level.is_ok()) return level.status();
  if (!log::parse_level(*level).is_ok()) {
    return bad_at(path, t->get("level")->source(),
                  "log.level must be one of trace, debug, info, warn, error, off, not '" + *level + "'");
  }
  auto slow = integer(path, *t, "slow_epoch_ms", slow_epoch_ms_default, 0, slow_epoch_ms_upper,
                      "log", "0 logs no slow epoch");
  if (!slow.is_ok()) return slow.status();
  c.level = *level;
  c.slow_epoch_ms = static_cast<std::uint64_t>(*slow);
  return Status();
}

Result<ClusterConfig> parse_cluster_config(std::string_view text, const std::string& path) {
  toml::table root;
  try {
    root = toml::parse(text, path);
  } catch (const toml::parse_error& e) {
    return bad_at(path, e.source(), std::string(e.description()));
  }
  if (Status s = check_keys(path, root, top_keys, "", ""); !s.is_ok()) return s;
  ClusterConfig c;
  if (Status s = parse_cluster_table(path, root, c); !s.is_ok()) return s;
  if (Status s = parse_nodes(path, root, c); !s.is_ok()) return s;
  if (Status s = parse_clients(path, root, c); !s.is_ok()) return s;
  if (Status s = parse_tls(path, root, c); !s.is_ok()) return s;
  if (!c.peer_guard && c.tls) {
    const toml::node* guard = root.at_path("cluster.peer_guard").node();
    return bad_at(path, guard->source(),
                  "cluster.peer_guard = false and [tls] do not go together: the peer guard terminates TLS");
  }
  if (Status s = parse_log_table(path, root, c.log); !s.is_ok()) return s;
  return c;
}

Result<ClusterConfig> load_cluster_config(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0)
    return bad(path, std::string("cannot read: ") + std::strerror(errno));
  if (!S_ISREG(st.st_mode)) {
    return bad(path, S_ISDIR(st.st_mode) ? "is a directory, not a configuration file"
                                         : "is not a regular file");
  }
  if (static_cast<std::uint64_t>(st.st_size) > config_bytes_max) {
    return bad(path,
               "larger than " + std::to_string(config_bytes_max) + " bytes; not a configuration");
  }
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0) return bad(path, std::string("cannot read: ") + std::strerror(errno));
  // Read at most one byte past the bound, in case the file grew since stat().
  std::string text(config_bytes_max + 1, '\0');
  std::size_t got = 0;
  while (got < text.size()) {  // each pass reads at least one byte or ends
    const ssize_t n = ::read(fd, text.data() + got, text.size() - got);
    if (n < 0) {
      const int error = errno;
      ::close(fd);
      return bad(path, std::string("cannot read: ") + std::strerror(error));
    }
    if (n == 0) break;
    got += static_cast<std::size_t>(n);
  }
  ::close(fd);
  if (got > config_bytes_max) {
    return bad(path,
               "larger than " + std::to_string(config_bytes_max) + " bytes; not a configuration");
  }
  text.resize(got);
  return parse_cluster_config(text, path);
}

}  // namespace mgraph::node
