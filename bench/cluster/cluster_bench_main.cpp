// mgraph_cluster_bench: one node of a cluster running the synthetic workload, the benchmark
// and test harness of the epoch protocol (mgraphd serves a user's schema instead). It hosts
// the partitions the configuration gives it (each a CAF actor owning a graph of the synthetic
// workload) and publishes a node actor
// on its host and port. The coordinator node connects to the others, runs the configured
// number of epochs through the epoch protocol, checks every partition against the oracle
// (the same workload in one Graph), prints a summary and stops the cluster.
//
//   mgraph_cluster_bench --config cluster-configs/bench-3.toml --node n2 [--port-file F]
//   mgraph_cluster_bench --config cluster-configs/bench-3.toml --node n1 --peer n2=...
//           [--hold]
//
// --data DIR (coordinator) logs every epoch's writes to the LMDB input log in DIR, fsync'ed
// before the epoch starts; a later run on the same DIR first runs the logged epochs again
// (the partitions start from the workload), then continues after them. DIR is opened and
// every logged epoch decoded before the node listens or connects: a path that is not a
// usable input log is refused at once.
//
// The peer port: CAF listens on 127.0.0.1 at a port the OS chooses; the node's address
// from the configuration is served by the peer guard (peer_guard.hpp), which relays to CAF
// and closes a connection whose BASP frame claims more than peer_frame_bytes_max.
//
// --cross N (coordinator) makes every new epoch a single write of a variable whose cone —
// the variable and every field reading it, directly or not — lies on exactly N partitions
// (the epoch's participants) hosted by N different nodes, drawn from all such variables of
// the workload; without it an
// epoch writes 1 to 4 random variables. Either way the summary is followed by the epochs'
// latency (from the run request to its answer): p50, p90, p99 and max.
//
// --admin PATH serves the node-local admin socket (admin_server.hpp; client: mgraphctl).
//
// --metrics serves Prometheus metrics (node_metrics.hpp) on HOST:PORT (port 0: the OS
// chooses; the node prints it). --hold makes the coordinator wait, after its summary,
// until its standard input ends before it stops the cluster (to scrape final metrics).
//
// Exit codes: 0 success, 1 a check failed (an epoch or a partition disagreed with the
// oracle), 2 bad configuration or arguments (also: a --data path that is not a usable
// input log, a --port-file that cannot be written), 3 network, actor or storage failure
// while running. Whatever the exit path, the node's actors stop first, and the coordinator
// tells every node it already reached to stop.

#include <caf/all.hpp>
#include <caf/io/all.hpp>

#include <CLI/CLI.hpp>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <iostream>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "admin_commands.hpp"
#include "admin_server.hpp"
#include "command_line.hpp"
#include "cluster_config.hpp"
#include "node_metrics.hpp"
#include "peer_guard.hpp"
#include "basp_checks.hpp"
#include "peer_port.hpp"
#include "mgraph/actors/local_cluster.hpp"
#include "latency_stats.hpp"
#include "cluster/workload.hpp"
#include "mgraph/persistence/store.hpp"
#include "mgraph/persistence/write_batch.hpp"

namespace {

using mgraph::actors::Epoch;
using mgraph::actors::PartitionId;
using nodes_atom = caf::atom_constant<caf::atom("mg_nodes")>;  ///< node: its partitions
using stop_atom = caf::atom_constant<caf::atom("mg_stop")>;    ///< node: shut down

/// How long a request to another node may take before the run fails.
constexpr auto kRequestTimeout = std::chrono::seconds(30);

/// The node actor: answers (nodes_atom) with its partitions' handles in configuration
/// order; (stop_atom) stops them and itself.
caf::behavior node_actor(caf::event_based_actor* self, std::vector<caf::actor> partitions) {
  return {
      [=](nodes_atom) { return partitions; },
      [=](stop_atom) {
        for (const caf::actor& p : partitions) self->send_exit(p, caf::exit_reason::user_shutdown);
        self->quit();
      },
  };
}

struct Args {
  std::string config;
  std::string node;
  std::string port_file;
  std::vector<std::string> peers;  ///< NAME=HOST:PORT
  std::int64_t epochs = -1;        ///< -1: the configuration's, else in [0, epochs_max]
  std::int64_t cross = 0;          ///< > 0: single writes whose cone spans this many partitions
  std::string metrics;             ///< HOST:PORT, empty: no metrics
  std::string data;                ///< coordinator: input log directory, empty: none
  std::string admin;               ///< admin socket path, empty: none
  bool hold = false;
};

int fail(int code, const std::string& message) {
  std::cerr << "mgraph_cluster_bench: " << message << "\n";
  return code;
}

/// Options only the coordinator uses are refused on the other nodes (they would be ignored).
mgraph::Status check_role(const Args& args, const mgraph::node::NodeConfig& self) {
  if (self.coordinator) return mgraph::Status();
  const char* option = !args.data.empty()  ? "--data"
                       : args.hold         ? "--hold"
                       : !args.peers.empty() ? "--peer"
                       : args.epochs >= 0  ? "--epochs"
                       : args.cross > 0    ? "--cross"
                                           : nullptr;
  if (option == nullptr) return mgraph::Status();
  return mgraph::Status(mgraph::StatusCode::invalid_argument,
                        std::string(option) + " is for the coordinator node; " + self.name +
                            " is not the coordinator");
}

using Addresses = std::map<std::string, std::pair<std::string, std::uint16_t>>;

/// Adds --peer NAME=HOST:PORT to `addresses`: NAME another node of the configuration
/// (once), HOST not empty, PORT 1 to 5 digits in [1, 65535].
mgraph::Status add_peer(const std::string& peer, const mgraph::node::ClusterConfig& config,
                        const std::string& self, std::map<std::string, bool>& given,
                        Addresses& addresses) {
  auto bad = [&](const std::string& what) {
    return mgraph::Status(mgraph::StatusCode::invalid_argument, "--peer " + peer + ": " + what);
  };
  const std::size_t eq = peer.find('='), colon = peer.rfind(':');
  if (eq == std::string::npos || colon == std::string::npos || colon < eq)
    return bad("expected NAME=HOST:PORT");
  const std::string name = peer.substr(0, eq), host = peer.substr(eq + 1, colon - eq - 1);
  const std::string digits = peer.substr(colon + 1);
  if (config.find(name) == nullptr) return bad("no node named '" + name + "'");
  if (name == self) return bad("that is this node");
  if (given[name]) return bad("a second address for node " + name);
  if (host.empty()) return bad("no host");
  const bool all_digits = !digits.empty() && digits.size() <= 5 &&
                          digits.find_first_not_of("0123456789") == std::string::npos;
  const unsigned long port = all_digits ? std::stoul(digits) : 0;
  if (port == 0 || port > 65535) return bad("the port must be a number in [1, 65535]");
  given[name] = true;
  addresses[name] = {host, static_cast<std::uint16_t>(port)};
  return mgraph::Status();
}

/// The coordinator's input log and the last epoch it holds.
struct InputLog {
  std::unique_ptr<mgraph::persistence::Store> store;
  std::uint64_t logged = 0;
};

/// Opens (or creates) the input log in `dir` and decodes every logged epoch once, so that a
/// path that is not a usable input log (a file, a truncated store, another program's store)
/// is refused before the node listens or connects. Errors name `dir`.
mgraph::Result<InputLog> open_input_log(const std::string& dir) {
  auto bad = [&](const std::string& what) {
    // Store errors name the file already; the path is said once.
    const bool named = what.rfind(dir, 0) == 0;
    return mgraph::Status(mgraph::StatusCode::invalid_argument,
                          "--data " + (named ? what : dir + ": " + what));
  };
  mgraph::persistence::StoreOptions options;
  options.durability = mgraph::persistence::Durability::sync;
  options.create_if_missing = true;
  auto opened = mgraph::persistence::Store::open(dir, options);
  if (!opened.is_ok()) return bad(opened.status().message());
  InputLog log{std::move(opened).value(), 0};
  auto last = log.store->last_epoch();
  if (!last.is_ok()) return bad(last.status().message());
  log.logged = *last;
  mgraph::persistence::LogCursor cursor = log.store->log_cursor(0);
  // One logged epoch per iteration; the log is finite.
  for (;;) {
    auto next = cursor.next();
    if (!next.is_ok()) return bad(next.status().message());
    if (*next == nullptr) return log;
    auto begin = mgraph::codec::decode_epoch_message((*next)->batch);
    if (!begin.is_ok()) {
      return bad("logged epoch " + std::to_string((*next)->epoch) +
                 " is not an epoch of a cluster run (" + begin.status().message() +
                 "); is this another program's store?");
    }
  }
}

/// Writes `port` to `path` (through PATH.tmp and a rename, so that a reader never sees a
/// partial file); the reason on failure.
mgraph::Status write_port_file(const std::string& path, std::uint16_t port) {
  auto bad = [&](const std::string& what) {
    return mgraph::Status(mgraph::StatusCode::io_error,
                          "--port-file " + path + ": " + what + ": " + std::strerror(errno));
  };
  const std::string tmp = path + ".tmp";
  std::FILE* f = std::fopen(tmp.c_str(), "w");
  if (f == nullptr) return bad("cannot create " + tmp);
  const bool written = std::fprintf(f, "%u\n", static_cast<unsigned>(port)) > 0;
  if (std::fclose(f) != 0 || !written) {
    mgraph::Status s = bad("cannot write " + tmp);
    std::remove(tmp.c_str());
    return s;
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    mgraph::Status s = bad("cannot rename " + tmp + " to it");
    std::remove(tmp.c_str());
    return s;
  }
  return mgraph::Status();
}

int run(const Args& args) {
  auto loaded = mgraph::node::load_cluster_config(args.config);
  if (!loaded.is_ok()) return fail(2, loaded.status().message());
  mgraph::node::ClusterConfig config = std::move(loaded).value();
  if (config.tls) {
    return fail(2, args.config + ": [tls] is for mgraphd; the benchmark's nodes link without TLS");
  }
  const mgraph::node::NodeConfig* self_config = config.find(args.node);
  if (self_config == nullptr)
    return fail(2, args.config + ": no node named '" + args.node + "'");
  if (mgraph::Status s = check_role(args, *self_config); !s.is_ok()) return fail(2, s.message());
  // Peer addresses given on the command line override the file's.
  Addresses addresses;
  for (const mgraph::node::NodeConfig& n : config.nodes) addresses[n.name] = {n.host, n.port};
  std::map<std::string, bool> given;
  for (const std::string& peer : args.peers) {
    mgraph::Status s = add_peer(peer, config, args.node, given, addresses);
    if (!s.is_ok()) return fail(2, s.message());
  }
  for (const mgraph::node::NodeConfig& n : config.nodes) {
    if (self_config->coordinator && n.name != args.node && addresses[n.name].second == 0)
      return fail(2, "node " + n.name + " has port 0: give --peer " + n.name + "=HOST:PORT");
  }
  const std::uint64_t epochs = args.epochs >= 0 ? static_cast<std::uint64_t>(args.epochs) : config.workload.epochs;
  if (args.cross > 0 && static_cast<std::uint64_t>(args.cross) > config.partitions) {
    return fail(2, "--cross " + std::to_string(args.cross) + ": the configuration has " +
                       std::to_string(config.partitions) + " partitions");
  }
  // The input log is checked before this node listens or connects to any other.
  InputLog input;
  if (!args.data.empty()) {
    auto opened = open_input_log(args.data);
    if (!opened.is_ok()) return fail(2, opened.status().message());
    input = std::move(opened).value();
  }

  caf::actor_system_config cfg;
  mgraph::node::load_checked_middleman(cfg);  // the guarded peer port checks frames in CAF
  // Round trips of ~50 us instead of ~400 us on loopback (docs/DEPENDENCIES).
  cfg.set("middleman.workers", std::size_t{0});
  cfg.set("scheduler.policy", caf::atom("sharing"));
  caf::actor_system sys{cfg};

  std::unique_ptr<mgraph::node::NodeMetrics> metrics;
  if (!args.metrics.empty()) {
    auto served = mgraph::node::NodeMetrics::serve(args.metrics);
    if (!served.is_ok()) return fail(3, served.status().message());
    metrics = std::move(served).value();
    std::cout << "mgraph_cluster_bench " << args.node << ": metrics on "
              << args.metrics.substr(0, args.metrics.rfind(':')) << ":" << metrics->port()
              << "/metrics" << std::endl;
  }
  mgraph::actors::MessageObserver observe;
  if (metrics) observe = [m = metrics.get()](mgraph::actors::MessageKind k) { m->message(k); };

  mgraph::actors::Workload workload(mgraph::actors::WorkloadSpec{
      config.workload.seed, config.workload.fields, config.partitions, std::nullopt});
  // --cross: the variables an epoch may write.
  std::vector<mgraph::actors::FieldId> crossing;
  if (args.cross > 0) {
    std::map<PartitionId, std::string> host_of;
    for (const mgraph::node::NodeConfig& n : config.nodes) {
      for (const PartitionId p : n.partitions) host_of[p] = n.name;
    }
    // Exactly N partitions, each on another node: every participant is another process.
    for (const mgraph::actors::FieldId f :
         workload.variables_crossing(static_cast<std::size_t>(args.cross))) {
      std::map<std::string, int> nodes;
      for (const PartitionId p : workload.cone_partitions(f)) ++nodes[host_of[p]];
      if (nodes.size() == static_cast<std::size_t>(args.cross)) crossing.push_back(f);
    }
    if (crossing.empty()) {
      return fail(2, "--cross " + std::to_string(args.cross) +
                         ": no variable of this workload reaches exactly that many partitions "
                         "on as many nodes (try another seed, or more fields)");
    }
  }
  std::vector<caf::actor> local;
  std::size_t fields = 0;
  std::vector<std::pair<std::uint32_t, std::uint64_t>> owned;  // per partition: its fields
  for (const PartitionId p : self_config->partitions) {
    std::shared_ptr<mgraph::actors::PartitionCore> core = workload.build_partition(p);
    fields += core->layout().owned.size();
    owned.emplace_back(p, core->layout().owned.size());
    local.push_back(sys.spawn(mgraph::actors::partition_actor, std::move(core), observe));
  }
  if (metrics) {
    metrics->partitions().Set(static_cast<double>(local.size()));
    metrics->fields().Set(static_cast<double>(fields));
    // The workload's partitions keep their fields: their sizes never change.
    mgraph::node::ScrapeSources sources;
    sources.partition_fields = [owned] { return owned; };
    metrics->read_at_scrape(std::move(sources));
  }
  const caf::actor node = sys.spawn(node_actor, local);
  // The actor system's destructor waits for every actor: whatever way run() returns, this
  // node's actors stop first (already stopped ones ignore it).
  struct StopLocal {
    const caf::actor& node;
    const std::vector<caf::actor>& local;
    ~StopLocal() {
      caf::anon_send_exit(node, caf::exit_reason::user_shutdown);
      for (const caf::actor& p : local) caf::anon_send_exit(p, caf::exit_reason::user_shutdown);
    }
  } stop_local{node, local};
  // CAF serves the configured address, checking each peer's frames as it reads them (or,
  // with peer_guard = false, without checks).
  mgraph::node::PeerGuardOptions guard_options;
  guard_options.host = self_config->host;
  guard_options.port = self_config->port;
  guard_options.frame_bytes_max = config.peer_frame_bytes_max;
  guard_options.report = [name = args.node](const std::string& what) {
    std::cerr << ("mgraph_cluster_bench " + name + ": " + what + "\n") << std::flush;
  };
  auto peer_port = mgraph::node::serve_peer_port(sys, node, config.peer_guard, std::move(guard_options));
  if (!peer_port.is_ok()) return fail(3, peer_port.status().message());
  const std::uint16_t listen_port = peer_port->port;
  std::cout << "mgraph_cluster_bench " << args.node << ": listening on " << self_config->host << ":"
            << listen_port << ", partitions";
  for (const PartitionId p : self_config->partitions) std::cout << " " << p;
  std::cout << std::endl;
  if (!args.port_file.empty()) {
    if (mgraph::Status s = write_port_file(args.port_file, listen_port); !s.is_ok())
      return fail(2, s.message());
  }
  // Counters the admin socket reads while the epochs run.
  std::atomic<std::uint64_t> committed{0}, aborted{0}, last{0};
  std::atomic<bool> shutdown_requested{false};
  std::unique_ptr<mgraph::node::AdminServer> admin;
  if (!args.admin.empty()) {
    auto handler = mgraph::node::admin_commands(
        {.node = args.node,
         .listen = self_config->host + ":" + std::to_string(listen_port),
         .coordinator = self_config->coordinator,
         .partitions = self_config->partitions,
         .committed = &committed,
         .aborted = &aborted,
         .last = &last,
         .more = {},
         .partitions_work = {},
         .epochs = {},
         .documents = {},
         .drain = {},
         .dead_letters = {},
         .checkpoint = {}},
        [&] {
          shutdown_requested = true;
          if (!self_config->coordinator) caf::anon_send(node, stop_atom::value);
        });
    auto started = mgraph::node::AdminServer::start(args.admin, handler);
    if (!started.is_ok()) {
      // A PATH that is not a socket is a bad argument; one in use, like a busy port, is not.
      const bool bad_path = started.status().code() == mgraph::StatusCode::invalid_argument;
      return fail(bad_path ? 2 : 3, started.status().message());
    }
    admin = std::move(started).value();
    std::cout << "mgraph_cluster_bench " << args.node << ": admin socket " << args.admin << std::endl;
  }
  if (!self_config->coordinator) {
    sys.await_all_actors_done();  // until the coordinator or the admin socket says stop
    std::cout << "mgraph_cluster_bench " << args.node << ": stopped" << std::endl;
    return 0;
  }

  // The coordinator node: gather every partition's handle.
  caf::scoped_actor client{sys};
  std::vector<caf::actor> partitions(config.partitions);
  std::vector<caf::actor> node_actors;
  caf::actor coordinator;
  // Whatever way run() returns from here on, every node reached so far is told to stop
  // (this one last) and so is the coordinator actor, so that no process waits forever.
  struct StopCluster {
    caf::scoped_actor& client;
    const std::vector<caf::actor>& nodes;
    const caf::actor& coordinator;
    ~StopCluster() {
      for (const caf::actor& n : nodes) client->send(n, stop_atom::value);
      if (coordinator) client->send_exit(coordinator, caf::exit_reason::user_shutdown);
    }
  } stop_cluster{client, node_actors, coordinator};
  int network_error = 0;
  std::string network_message;
  for (const mgraph::node::NodeConfig& n : config.nodes) {
    caf::actor handle = node;
    if (n.name != args.node) {
      const auto& [host, port] = addresses[n.name];  // not 0: checked before listening
      // The other nodes are started first (they print the port they listen on).
      caf::expected<caf::actor> remote = sys.middleman().remote_actor(host, port);
      if (!remote) {
        return fail(3, "cannot reach node " + n.name + " at " + host + ":" + std::to_string(port) +
                           " (is it running?): " + sys.render(remote.error()));
      }
      handle = *remote;
    }
    node_actors.push_back(handle);
    client->request(handle, kRequestTimeout, nodes_atom::value)
        .receive(
            [&](const std::vector<caf::actor>& hosted) {
              for (std::size_t i = 0; i < hosted.size() && i < n.partitions.size(); ++i)
                partitions[n.partitions[i]] = hosted[i];
            },
            [&](const caf::error& e) {
              network_error = 3;
              network_message = "node " + n.name + " did not list its partitions: " + sys.render(e);
            });
    if (network_error != 0) return fail(network_error, network_message);
  }
  coordinator = sys.spawn(mgraph::actors::coordinator_actor, workload.owners());
  client->send(coordinator, mgraph::actors::peers_atom::value, partitions);
  for (const caf::actor& p : partitions)
    client->send(p, mgraph::actors::peers_atom::value, partitions, coordinator);

  // The input log: epochs logged by earlier runs are run again first.
  const std::unique_ptr<mgraph::persistence::Store>& store = input.store;
  const std::uint64_t logged = input.logged;

  // The epochs, each checked against the oracle.
  int exit_code = 0;
  std::vector<double> latency_us;  // of this run's new epochs
  bool timing = false;
  auto run_epoch = [&](Epoch e, const mgraph::actors::Message& begin) {
    for (const mgraph::actors::FieldWrite& w : begin.writes)
      (void)workload.oracle().write(workload.oracle_node(w.field), w.value);
    const bool oracle_ok = workload.oracle().commit().is_ok();
    const auto sent = std::chrono::steady_clock::now();
    client->request(coordinator, kRequestTimeout, mgraph::actors::run_atom::value, e,
                    mgraph::codec::encode_epoch_message(begin).value())
        .receive(
            [&](bool ok, const std::string& reason) {
              const auto took = std::chrono::steady_clock::now() - sent;
              if (timing) latency_us.push_back(std::chrono::duration<double, std::micro>(took).count());
              (ok ? committed : aborted) += 1;
              last = e;
              if (metrics) {
                metrics->epoch(ok, std::chrono::duration<double>(took).count());
                metrics->last_epoch(e);
              }
              if (ok != oracle_ok) {
                exit_code = 1;
                std::cerr << "mgraph_cluster_bench: epoch " << e << (ok ? " committed" : " aborted (" + reason + ")")
                          << " but the oracle " << (oracle_ok ? "committed" : "aborted") << "\n";
              }
            },
            [&](const caf::error& err) {
              exit_code = 3;
              std::cerr << "mgraph_cluster_bench: epoch " << e << ": " << sys.render(err) << "\n";
            });
  };
  if (store) {
    mgraph::persistence::LogCursor cursor = store->log_cursor(0);
    // One logged epoch per iteration; the log is finite.
    for (std::uint64_t replayed = 0; exit_code == 0;) {
      auto next = cursor.next();
      if (!next.is_ok()) return fail(3, args.data + ": " + next.status().message());
      if (*next == nullptr) {
        std::cout << "mgraph_cluster_bench " << args.node << ": replayed " << replayed << " logged epochs from "
                  << args.data << std::endl;
        break;
      }
      auto begin = mgraph::codec::decode_epoch_message((*next)->batch);
      if (!begin.is_ok()) {
        return fail(3, args.data + ": epoch " + std::to_string((*next)->epoch) + ": " +
                           begin.status().message());
      }
      run_epoch((*next)->epoch, *begin);
      ++replayed;
    }
  }
  committed = aborted = 0;  // the summary counts this run's new epochs
  timing = true;
  if (args.cross > 0) {
    std::cout << "mgraph_cluster_bench " << args.node << ": every epoch writes one of "
              << crossing.size() << " variables whose cone spans " << args.cross
              << " partitions on as many nodes" << std::endl;
  }
  const auto start = std::chrono::steady_clock::now();
  for (Epoch e = logged + 1; e <= logged + epochs && exit_code == 0 && !shutdown_requested; ++e) {
    mgraph::actors::Message begin;
    begin.writes = crossing.empty() ? workload.writes(e) : workload.single_write(e, crossing);
    if (store) {
      // Durable before the epoch starts: a crash after this replays it.
      mgraph::persistence::WriteBatch wb;
      const auto now = std::chrono::system_clock::now().time_since_epoch();
      wb.append_log(e, static_cast<std::uint64_t>(
                           std::chrono::duration_cast<std::chrono::nanoseconds>(now).count()),
                    mgraph::codec::encode_epoch_message(begin).value());
      if (mgraph::Status s = store->write(wb); !s.is_ok()) {
        exit_code = 3;
        std::cerr << "mgraph_cluster_bench: " << args.data << ": cannot log epoch " << e << ": " << s.message()
                  << "\n";
        break;
      }
    }
    run_epoch(e, begin);
    if (epochs >= 10 && (e - logged) % (epochs / 10) == 0) {
      std::cout << "mgraph_cluster_bench " << args.node << ": epoch " << e - logged << "/" << epochs << std::endl;
    }
  }
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  // Every partition's committed values against the oracle.
  std::size_t matching = 0;
  for (PartitionId p = 0; p < partitions.size() && exit_code != 3; ++p) {
    client->request(partitions[p], kRequestTimeout, mgraph::actors::digest_atom::value)
        .receive(
            [&](std::uint64_t digest) {
              if (digest == workload.oracle_digest(p)) {
                ++matching;
              } else {
                exit_code = 1;
                std::cerr << "mgraph_cluster_bench: partition " << p << " differs from the oracle\n";
              }
            },
            [&](const caf::error& err) {
              exit_code = 3;
              std::cerr << "mgraph_cluster_bench: partition " << p << ": " << sys.render(err) << "\n";
            });
  }
  const std::uint64_t done = committed + aborted;
  std::printf("mgraph_cluster_bench %s: %llu epochs (%llu committed, %llu aborted) in %.2f s, %.0f epochs/s; "
              "%zu of %zu partitions equal the oracle\n",
              args.node.c_str(), static_cast<unsigned long long>(done),
              static_cast<unsigned long long>(committed.load()),
              static_cast<unsigned long long>(aborted.load()), seconds,
              seconds > 0 ? static_cast<double>(done) / seconds : 0.0, matching, partitions.size());
  const mgraph::bench::LatencySummary lat = mgraph::bench::summarize(std::move(latency_us));
  std::printf("mgraph_cluster_bench %s: epoch latency (%s) over %zu epochs: p50 %.0f us, "
              "p90 %.0f us, p99 %.0f us, max %.0f us\n",
              args.node.c_str(),
              args.cross > 0 ? ("one write crossing " + std::to_string(args.cross) + " partitions").c_str()
                             : "1-4 random writes",
              lat.count, lat.p50_us, lat.p90_us, lat.p99_us, lat.max_us);
  std::fflush(stdout);
  if (args.hold) {
    std::cout << "mgraph_cluster_bench " << args.node << ": holding until standard input ends" << std::endl;
    std::string ignored;
    while (std::getline(std::cin, ignored)) {
    }
  }
  return exit_code;  // stop_cluster stops every node, this one last
}

}  // namespace

int main(int argc, char** argv) {
  // Writes to a peer that has gone (an admin client, a scraper) fail with EPIPE instead.
  std::signal(SIGPIPE, SIG_IGN);
  CLI::App app{"mgraph_cluster_bench: one node of a cluster running the synthetic workload"};
  Args args;
  app.add_option("--config", args.config, "Cluster configuration (TOML)")->required();
  app.add_option("--node", args.node, "This node's name in the configuration")->required();
  app.add_option("--port-file", args.port_file, "Write the port this node listens on to FILE");
  app.add_option("--peer", args.peers, "NAME=HOST:PORT of another node (overrides the file)");
  app.add_option("--epochs", args.epochs, "Epochs to run (coordinator; default: the file's)")
      ->check(CLI::Range(std::int64_t{0}, mgraph::node::epochs_max));
  app.add_option("--cross", args.cross,
                 "Coordinator: each epoch writes one variable whose cone spans exactly N "
                 "partitions on N different nodes (default: 1-4 random variables)")
      ->check(CLI::Range(std::int64_t{1}, std::int64_t{4096}));
  app.add_option("--admin", args.admin, "Serve the admin socket (mgraphctl) at PATH");
  app.add_option("--data", args.data,
                 "Coordinator: input log directory; logged epochs are run again first");
  app.add_option("--metrics", args.metrics, "Serve Prometheus metrics on HOST:PORT (0: any port)");
  app.add_flag("--hold", args.hold,
               "Coordinator: after the run, wait until standard input ends, then stop the cluster");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return mgraph::node::usage_exit(app, e);
  }
  return run(args);
}
