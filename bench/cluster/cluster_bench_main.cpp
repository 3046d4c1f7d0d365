// mgraph_cluster_bench: one node of a cluster running the synthetic workload, the benchmark
// and test harness of the epoch protocol (mgraphd serves a user's schema instead). It hosts
// the partitions the configuration gives it (each a CAF actor owning a graph of the synthetic
// workload) and publishes a node actor
// on its host and port. The coordinator node connects to the others, runs the configured
// number of epochs through the epoch protocol, checks every partition against the oracle
// (the same workload in one Graph), prints a summary and stops the cluster.
//
//   mgraphd --config cluster-configs/local-3.toml --node n2 [--port-file F] [--metrics H:P]
//   mgraphd --config cluster-configs/local-3.toml --node n1 --peer n2=127.0.0.1:PORT ...
//           [--hold]
//
// --data DIR (coordinator) logs every epoch's writes to the LMDB input log in DIR, fsync'ed
// before the epoch starts; a later run on the same DIR first runs the logged epochs again
// (the partitions start from the workload), then continues after them.
//
// --admin PATH serves the node-local admin socket (admin_server.hpp; client: mgraphctl).
//
// --metrics serves Prometheus metrics (node_metrics.hpp) on HOST:PORT (port 0: the OS
// chooses; the node prints it). --hold makes the coordinator wait, after its summary,
// until its standard input ends before it stops the cluster (to scrape final metrics).
//
// Exit codes: 0 success, 1 a check failed (an epoch or a partition disagreed with the
// oracle), 2 bad configuration or arguments, 3 network or actor failure.

#include <caf/all.hpp>
#include <caf/io/all.hpp>

#include <CLI/CLI.hpp>
#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <fstream>
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
#include "mgraph/actors/local_cluster.hpp"
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
  std::int64_t epochs = -1;        ///< -1: the configuration's
  std::string metrics;             ///< HOST:PORT, empty: no metrics
  std::string data;                ///< coordinator: input log directory, empty: none
  std::string admin;               ///< admin socket path, empty: none
  bool hold = false;
};

int fail(int code, const std::string& message) {
  std::cerr << "mgraph_cluster_bench: " << message << "\n";
  return code;
}

int run(const Args& args) {
  auto loaded = mgraph::node::load_cluster_config(args.config);
  if (!loaded.is_ok()) return fail(2, loaded.status().message());
  mgraph::node::ClusterConfig config = std::move(loaded).value();
  const mgraph::node::NodeConfig* self_config = config.find(args.node);
  if (self_config == nullptr)
    return fail(2, args.config + ": no node named '" + args.node + "'");
  // Peer addresses given on the command line override the file's.
  std::map<std::string, std::pair<std::string, std::uint16_t>> addresses;
  for (const mgraph::node::NodeConfig& n : config.nodes) addresses[n.name] = {n.host, n.port};
  for (const std::string& peer : args.peers) {
    const std::size_t eq = peer.find('='), colon = peer.rfind(':');
    if (eq == std::string::npos || colon == std::string::npos || colon < eq)
      return fail(2, "--peer " + peer + ": expected NAME=HOST:PORT");
    const std::string name = peer.substr(0, eq);
    if (config.find(name) == nullptr) return fail(2, "--peer " + peer + ": no node named '" + name + "'");
    const unsigned long port = std::strtoul(peer.c_str() + colon + 1, nullptr, 10);
    if (port == 0 || port > 65535) return fail(2, "--peer " + peer + ": bad port");
    addresses[name] = {peer.substr(eq + 1, colon - eq - 1), static_cast<std::uint16_t>(port)};
  }
  const std::uint64_t epochs = args.epochs >= 0 ? static_cast<std::uint64_t>(args.epochs) : config.workload.epochs;

  caf::actor_system_config cfg;
  cfg.load<caf::io::middleman>();
  // Round trips of ~50 us instead of ~400 us on loopback (docs/DEPENDENCIES).
  cfg.set("middleman.workers", std::size_t{0});
  cfg.set("scheduler.policy", caf::atom("sharing"));
  caf::actor_system sys{cfg};

  std::unique_ptr<mgraph::node::NodeMetrics> metrics;
  if (!args.metrics.empty()) {
    auto served = mgraph::node::NodeMetrics::serve(args.metrics);
    if (!served.is_ok()) return fail(3, served.status().message());
    metrics = std::move(served).value();
    std::cout << "mgraphd " << args.node << ": metrics on "
              << args.metrics.substr(0, args.metrics.rfind(':')) << ":" << metrics->port()
              << "/metrics" << std::endl;
  }
  mgraph::actors::MessageObserver observe;
  if (metrics) observe = [m = metrics.get()](mgraph::actors::MessageKind k) { m->message(k); };

  mgraph::actors::Workload workload(mgraph::actors::WorkloadSpec{
      config.workload.seed, config.workload.fields, config.partitions, std::nullopt});
  std::vector<caf::actor> local;
  std::size_t fields = 0;
  for (const PartitionId p : self_config->partitions) {
    std::shared_ptr<mgraph::actors::PartitionCore> core = workload.build_partition(p);
    fields += core->layout().owned.size();
    local.push_back(sys.spawn(mgraph::actors::partition_actor, std::move(core), observe));
  }
  if (metrics) {
    metrics->partitions().Set(static_cast<double>(local.size()));
    metrics->fields().Set(static_cast<double>(fields));
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
  auto bound = sys.middleman().publish(node, self_config->port, self_config->host.c_str());
  if (!bound) {
    return fail(3, "cannot listen on " + self_config->host + ":" +
                       std::to_string(self_config->port) + ": " + sys.render(bound.error()));
  }
  std::cout << "mgraphd " << args.node << ": listening on " << self_config->host << ":" << *bound
            << ", partitions";
  for (const PartitionId p : self_config->partitions) std::cout << " " << p;
  std::cout << std::endl;
  if (!args.port_file.empty()) {
    std::ofstream(args.port_file + ".tmp") << *bound << "\n";
    std::rename((args.port_file + ".tmp").c_str(), args.port_file.c_str());
  }
  // Counters the admin socket reads while the epochs run.
  std::atomic<std::uint64_t> committed{0}, aborted{0};
  std::atomic<bool> shutdown_requested{false};
  std::unique_ptr<mgraph::node::AdminServer> admin;
  if (!args.admin.empty()) {
    auto handler = mgraph::node::admin_commands(
        {.node = args.node,
         .listen = self_config->host + ":" + std::to_string(*bound),
         .coordinator = self_config->coordinator,
         .partitions = self_config->partitions,
         .committed = &committed,
         .aborted = &aborted,
         .more = {}},
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
    std::cout << "mgraphd " << args.node << ": admin socket " << args.admin << std::endl;
  }
  if (!self_config->coordinator) {
    sys.await_all_actors_done();  // until the coordinator or the admin socket says stop
    std::cout << "mgraphd " << args.node << ": stopped" << std::endl;
    return 0;
  }

  // The coordinator node: gather every partition's handle.
  caf::scoped_actor client{sys};
  std::vector<caf::actor> partitions(config.partitions);
  std::vector<caf::actor> node_actors;
  int network_error = 0;
  std::string network_message;
  for (const mgraph::node::NodeConfig& n : config.nodes) {
    caf::actor handle = node;
    if (n.name != args.node) {
      const auto& [host, port] = addresses[n.name];
      if (port == 0) return fail(2, "node " + n.name + " has port 0: give --peer " + n.name + "=HOST:PORT");
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
  const caf::actor coordinator = sys.spawn(mgraph::actors::coordinator_actor, workload.owners());
  client->send(coordinator, mgraph::actors::peers_atom::value, partitions);
  for (const caf::actor& p : partitions)
    client->send(p, mgraph::actors::peers_atom::value, partitions, coordinator);

  // The input log: epochs logged by earlier runs are run again first.
  std::unique_ptr<mgraph::persistence::Store> store;
  std::uint64_t logged = 0;
  if (!args.data.empty()) {
    mgraph::persistence::StoreOptions options;
    options.durability = mgraph::persistence::Durability::sync;
    options.create_if_missing = true;
    auto opened = mgraph::persistence::Store::open(args.data, options);
    if (!opened.is_ok()) return fail(3, args.data + ": " + opened.status().message());
    store = std::move(opened).value();
    auto last = store->last_epoch();
    if (!last.is_ok()) return fail(3, args.data + ": " + last.status().message());
    logged = *last;
  }

  // The epochs, each checked against the oracle.
  int exit_code = 0;
  auto run_epoch = [&](Epoch e, const mgraph::actors::Message& begin) {
    for (const mgraph::actors::FieldWrite& w : begin.writes)
      (void)workload.oracle().write(workload.oracle_node(w.field), w.value);
    const bool oracle_ok = workload.oracle().commit().is_ok();
    const auto sent = std::chrono::steady_clock::now();
    client->request(coordinator, kRequestTimeout, mgraph::actors::run_atom::value, e,
                    mgraph::codec::encode_epoch_message(begin).value())
        .receive(
            [&](bool ok, const std::string& reason) {
              (ok ? committed : aborted) += 1;
              if (metrics) {
                metrics->epoch(ok, std::chrono::duration<double>(
                                       std::chrono::steady_clock::now() - sent)
                                       .count());
              }
              if (ok != oracle_ok) {
                exit_code = 1;
                std::cerr << "mgraphd: epoch " << e << (ok ? " committed" : " aborted (" + reason + ")")
                          << " but the oracle " << (oracle_ok ? "committed" : "aborted") << "\n";
              }
            },
            [&](const caf::error& err) {
              exit_code = 3;
              std::cerr << "mgraphd: epoch " << e << ": " << sys.render(err) << "\n";
            });
  };
  if (store) {
    mgraph::persistence::LogCursor cursor = store->log_cursor(0);
    // One logged epoch per iteration; the log is finite.
    for (std::uint64_t replayed = 0; exit_code == 0;) {
      auto next = cursor.next();
      if (!next.is_ok()) return fail(3, args.data + ": " + next.status().message());
      if (*next == nullptr) {
        std::cout << "mgraphd " << args.node << ": replayed " << replayed << " logged epochs from "
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
  const auto start = std::chrono::steady_clock::now();
  for (Epoch e = logged + 1; e <= logged + epochs && exit_code == 0 && !shutdown_requested; ++e) {
    mgraph::actors::Message begin;
    begin.writes = workload.writes(e);
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
      std::cout << "mgraphd " << args.node << ": epoch " << e - logged << "/" << epochs << std::endl;
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
                std::cerr << "mgraphd: partition " << p << " differs from the oracle\n";
              }
            },
            [&](const caf::error& err) {
              exit_code = 3;
              std::cerr << "mgraphd: partition " << p << ": " << sys.render(err) << "\n";
            });
  }
  const std::uint64_t done = committed + aborted;
  std::printf("mgraphd %s: %llu epochs (%llu committed, %llu aborted) in %.2f s, %.0f epochs/s; "
              "%zu of %zu partitions equal the oracle\n",
              args.node.c_str(), static_cast<unsigned long long>(done),
              static_cast<unsigned long long>(committed.load()),
              static_cast<unsigned long long>(aborted.load()), seconds,
              seconds > 0 ? static_cast<double>(done) / seconds : 0.0, matching, partitions.size());
  std::fflush(stdout);
  if (args.hold) {
    std::cout << "mgraphd " << args.node << ": holding until standard input ends" << std::endl;
    std::string ignored;
    while (std::getline(std::cin, ignored)) {
    }
  }
  // Stop the cluster: every node, this one last.
  for (const caf::actor& n : node_actors) client->send(n, stop_atom::value);
  client->send_exit(coordinator, caf::exit_reason::user_shutdown);
  return exit_code;
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
  app.add_option("--epochs", args.epochs, "Epochs to run (coordinator; default: the file's)");
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
