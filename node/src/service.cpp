#include "service.hpp"

#include <caf/all.hpp>
#include <caf/io/all.hpp>
#include <pthread.h>
#include <signal.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>
#include <sstream>
#include <thread>

#include <nlohmann/json.hpp>

#include "admin_commands.hpp"
#include "admin_server.hpp"
#include "client_gateway.hpp"
#include "descriptor_limit.hpp"
#include "epoch_events.hpp"
#include "field_trace.hpp"
#include "log.hpp"
#include "cluster_node.hpp"
#include "lmdb_epoch_log.hpp"
#include "lmdb_watch_history.hpp"
#include "lmdb_partition_checkpoints.hpp"
#include "mgraph/actors/inspect.hpp"
#include "mgraph/graph/hash.hpp"
#include "mgraph/graph/schema/schema.hpp"
#include "node_metrics.hpp"
#include "node_state.hpp"
#include "basp_checks.hpp"
#include "peer_guard.hpp"
#include "peer_port.hpp"
#include "timed_epoch_log.hpp"

namespace mgraph::node {
namespace {

/// Prints one of the node's own lines on stdout ("mgraphd NAME: ...") as one write. The
/// ready line comes from another thread, and scripts and tests read the ports from these
/// lines: pieces of two lines must never interleave (a line built with several `<<` is
/// several writes, and another thread's flush can send out half of it).
void say(const std::string& line) { std::cout << (line + "\n") << std::flush; }

namespace fs = std::filesystem;

/// Logs why the node cannot start (or go on) and returns its exit code.
int fail(int code, const std::string& message) {
  log::error("start_failed", {{"exit_code", code}, {"error", message}});
  return code;
}

/// How long the admin socket waits for a partition's inspect answer: the partition answers
/// between two of the driver's requests, and mgraphctl waits 5 s for the whole answer.
constexpr std::chrono::milliseconds kInspectTimeout{2000};
/// How long mgraphctl checkpoint waits: images of 10^7 documents take a minute or two to
/// write; longer means a partition is stuck (the admin connection is held meanwhile).
constexpr std::chrono::minutes kCheckpointTimeout{10};

/// Asks a partition actor (actors/inspect.hpp) from the admin socket's thread.
template <typename... Args>
Result<nlohmann::json> inspect(caf::actor_system& sys, const caf::actor& partition,
                               std::uint32_t id, const Args&... args) {
  Result<nlohmann::json> out = Status(StatusCode::internal, "no answer");
  caf::scoped_actor self{sys};
  self->request(partition, caf::timespan{kInspectTimeout}, actors::inspect_atom::value, args...)
      .receive(
          [&](const std::string& answer) {
            nlohmann::json j = nlohmann::json::parse(answer, nullptr, false);
            if (j.is_discarded()) {
              out = Status(StatusCode::internal, "partition " + std::to_string(id) + " answered no JSON");
            } else {
              out = std::move(j);
            }
          },
          [&](caf::error& e) {
            out = Status(StatusCode::io_error,
                         "partition " + std::to_string(id) + " did not answer: " + sys.render(e));
          });
  return out;
}

/// The sequencer's options from the configuration; it logs where each start restored from.
actors::SequencerOptions sequencer_options(const ClusterConfig& config,
                                           std::shared_ptr<actors::EffectCounters> effect_counters) {
  actors::SequencerOptions options;
  options.batching = {config.batch_transactions_max, config.batch_bytes_max};
  options.effect_counters = std::move(effect_counters);
  options.restored = [](codec::Epoch checkpoint, codec::Epoch log_last) {
    log::info("partitions_restored", {{"checkpoint_epoch", checkpoint}, {"log_last_epoch", log_last}});
  };
  return options;
}

/// An actor's error as its reason alone when it carries one text (CAF renders the
/// category and code around it).
std::string reason_of(caf::actor_system& sys, const caf::error& e) {
  const caf::message& context = e.context();
  if (context.size() == 1 && context.match_element<std::string>(0)) return context.get_as<std::string>(0);
  return sys.render(e);
}

/// An admin command the sequencer answers with a JSON object (actors/documents.hpp),
/// asked from the admin socket's thread: the object, or why there is none (the sequencer
/// unreachable, its error, or an object with "error").
template <typename... Ts>
Result<nlohmann::ordered_json> ask_sequencer(caf::actor_system& sys, const caf::actor& sequencer,
                                             caf::timespan timeout, Ts&&... message) {
  if (!sequencer) {
    return Status(StatusCode::failed_precondition,
                  "this node does not reach the coordinator's sequencer yet");
  }
  Result<nlohmann::ordered_json> out = Status(StatusCode::internal, "no answer");
  caf::scoped_actor self{sys};
  self->request(sequencer, timeout, std::forward<Ts>(message)...)
      .receive(
          [&](const std::string& answer) {
            nlohmann::ordered_json j = nlohmann::ordered_json::parse(answer, nullptr, false);
            if (j.is_discarded()) {
              out = Status(StatusCode::internal, "the sequencer answered no JSON");
            } else if (j.contains("error")) {
              out = Status(StatusCode::invalid_argument, j["error"].get<std::string>());
            } else {
              out = std::move(j);
            }
          },
          [&](caf::error& e) { out = Status(StatusCode::failed_precondition, reason_of(sys, e)); });
  return out;
}

/// mgraphctl checkpoint: every partition writes its image meanwhile, so it may take a while.
Result<nlohmann::ordered_json> checkpoint(caf::actor_system& sys, const caf::actor& sequencer) {
  return ask_sequencer(sys, sequencer, caf::timespan{kCheckpointTimeout}, actors::checkpoint_atom::value);
}

/// mgraphctl dlq.
Result<nlohmann::ordered_json> dead_letters(caf::actor_system& sys, const caf::actor& sequencer,
                                            const std::string& command, std::uint64_t field,
                                            std::uint64_t version) {
  return ask_sequencer(sys, sequencer, caf::timespan{kInspectTimeout}, actors::dead_letters_atom::value,
                       command, field, version);
}

/// explain and dot reach partitions through their actors: this node's directly; other
/// nodes' through the coordinator's sequencer, which passes the request on (every node is
/// connected to the coordinator, while a handle learnt through an earlier coordinator may
/// no longer route after it restarted), or through the handle the coordinator sent while
/// no sequencer is known.
std::shared_ptr<PartitionAccess> partition_access(caf::actor_system& sys, const ServiceOptions& o,
                                                  const NodeConfig& self,
                                                  const std::vector<caf::actor>& actors,
                                                  const std::string& schema_source, const NodeState& state) {
  auto a = std::make_shared<PartitionAccess>();
  a->partitions = static_cast<std::uint32_t>(o.config.partitions);
  a->hosted = self.partitions;
  for (const NodeConfig& n : o.config.nodes) {
    for (const codec::PartitionId p : n.partitions) a->hosts[p] = n.name;
  }
  std::istringstream lines(schema_source);
  for (std::string line; std::getline(lines, line);) a->schema_lines.push_back(line);
  auto ask = [&sys, ids = self.partitions, actors, &state](std::uint32_t p, const auto&... args) {
    if (const auto it = std::find(ids.begin(), ids.end(), p); it != ids.end()) {
      return inspect(sys, actors[static_cast<std::size_t>(it - ids.begin())], p, args...);
    }
    if (const caf::actor sequencer = state.sequencer()) return inspect(sys, sequencer, p, p, args...);
    return inspect(sys, state.partition(p), p, args...);
  };
  a->reaches = [&state](std::uint32_t p) { return state.sequencer() || state.partition(p); };
  a->field = [ask](std::uint32_t p, std::uint64_t record, const std::string& field) {
    return ask(p, record, field);
  };
  a->nodes = [ask](std::uint32_t p, const std::vector<std::uint32_t>& nodes) {
    return ask(p, actors::pack_node_ids(nodes));
  };
  return a;
}

/// The schema file the configuration names, compiled; errors carry file:line:col.
Result<std::pair<std::shared_ptr<const schema::Schema>, actors::SchemaInfo>> load_schema(
    const ServiceOptions& o) {
  std::ifstream in(o.config.schema, std::ios::binary);
  if (!in || fs::is_directory(o.config.schema)) {
    return Status(StatusCode::invalid_argument,
                  o.config_path + ": cannot read the schema file " + o.config.schema);
  }
  std::ostringstream text;
  text << in.rdbuf();
  schema::SourceFile file{o.config.schema, text.str()};
  auto compiled = schema::compile_schema(file);
  if (!compiled.is_ok()) return compiled.status();
  actors::SchemaInfo info{fs::path(o.config.schema).filename().string(), file.text,
                          fnv1a64(file.text)};
  return std::make_pair(std::move(compiled).value(), std::move(info));
}

/// The wall clock, in nanoseconds since the Unix epoch (the time an epoch is logged at).
std::uint64_t wall_clock_ns() {
  return static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                        std::chrono::system_clock::now().time_since_epoch())
                                        .count());
}

/// SIGINT and SIGTERM, taken by one thread (sigwait) instead of handlers: a signal asks the
/// node to stop like `mgraphctl shutdown`. Blocked in every thread started after this.
class SignalWatch {
 public:
  explicit SignalWatch(NodeState& state) {
    sigemptyset(&set_);
    sigaddset(&set_, SIGINT);
    sigaddset(&set_, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &set_, nullptr);
    thread_ = std::thread([this, &state] {
      int sig = 0;
      // One signal ends the wait: either a real one, or the one the destructor sends.
      if (sigwait(&set_, &sig) == 0 && !done_) state.stop(0, std::string("signal ") + strsignal(sig));
    });
  }
  ~SignalWatch() {
    done_ = true;
    pthread_kill(thread_.native_handle(), SIGTERM);
    thread_.join();
  }

 private:
  sigset_t set_;
  std::atomic<bool> done_{false};
  std::thread thread_;
};

/// Shortest heartbeat interval: a tenth of the shortest peer timeout.
constexpr std::chrono::milliseconds kHeartbeatMin{10};

void configure(caf::actor_system_config& cfg, std::chrono::milliseconds peer_timeout) {
  // CAF's middleman, whose reads of a peer's connection can check its frames (the guarded
  // peer port without a relay: basp_checks.hpp).
  load_checked_middleman(cfg);
  // Round trips of ~50 us instead of ~400 us on loopback.
  cfg.set("middleman.workers", std::size_t{0});
  cfg.set("scheduler.policy", caf::atom("sharing"));
  // A peer that sends nothing for peer_timeout, heartbeats included, is dropped: down
  // messages make its partitions unavailable and its links try again. Ten heartbeats fit
  // in the timeout, so a few late ones do not drop a live peer.
  cfg.set("middleman.heartbeat-interval", caf::timespan{std::max(peer_timeout / 10, kHeartbeatMin)});
  cfg.set("middleman.connection-timeout", caf::timespan{peer_timeout});
}

/// The node's metrics that are read when a scrape comes: its partitions' sizes, its peers,
/// whether it is ready, its checkpoints and (with --data) the epoch log's and checkpoint
/// store's file sizes.
void read_at_scrape(NodeMetrics& metrics, const NodeState& state,
                    const std::vector<codec::PartitionId>& ids,
                    const std::vector<std::shared_ptr<const actors::PartitionServer>>& servers,
                    const std::string& data, const ClusterConfig& config,
                    std::shared_ptr<const actors::EffectCounters> effects,
                    std::shared_ptr<const actors::PartitionTraffic> traffic,
                    std::shared_ptr<const LmdbPartitionCheckpoints> checkpoints,
                    std::shared_ptr<const actors::WatchBuffer> watch) {
  metrics.partitions().Set(static_cast<double>(ids.size()));
  ScrapeSources sources;
  sources.checkpoints = [ids, servers] {
    std::vector<ScrapeSources::PartitionCheckpoints> out;
    for (std::size_t i = 0; i < servers.size(); ++i) {
      const auto& c = servers[i]->counters();
      out.push_back({ids[i], c.checkpoints.load(), c.checkpoint_bytes.load()});
    }
    return out;
  };
  if (checkpoints) sources.checkpoint_store_bytes = [checkpoints] { return checkpoints->file_bytes(); };
  sources.partition_fields = [ids, servers] {
    std::vector<std::pair<std::uint32_t, std::uint64_t>> out;
    for (std::size_t i = 0; i < servers.size(); ++i) {
      out.emplace_back(ids[i], servers[i]->counters().graph_nodes.load());
    }
    return out;
  };
  sources.peers = [&state] {
    std::vector<std::pair<std::string, bool>> out;
    for (const auto& [name, peer] : state.peers()) out.emplace_back(name, peer == PeerState::up);
    return out;
  };
  sources.ready = [&state] { return static_cast<bool>(state.sequencer()); };
  sources.failures = [servers] {
    std::pair<std::uint64_t, std::uint64_t> out{0, 0};
    for (const auto& server : servers) {
      out.first += server->counters().fields_failed.load();
      out.second += server->counters().formula_failures.load();
    }
    return out;
  };
  sources.formulas_computed = [ids, servers] {
    std::vector<std::pair<std::uint32_t, std::uint64_t>> out;
    for (std::size_t i = 0; i < servers.size(); ++i) {
      out.emplace_back(ids[i], servers[i]->counters().formulas_computed.load());
    }
    return out;
  };
  if (watch) {
    sources.watch = [watch] {
      return WatchCounts{watch->reach(), watch->history_bytes(), watch->history_errors()};
    };
  }
  if (effects) {
    sources.effects = [effects] {
      EffectCounts c;
      c.pending = effects->pending.load();
      c.dead_letters = effects->dead_letters.load();
      c.offered = effects->offered.load();
      c.sent = effects->sent.load();
      c.redelivered = effects->redelivered.load();
      c.acked = effects->acked.load();
      c.dead_lettered = effects->dead_lettered.load();
      return c;
    };
  }
  // Every node that hosts partitions, in the configuration's order: 0 until the driver (on
  // the coordinator) sends it something, so every series exists from the start.
  std::vector<std::pair<std::string, std::vector<codec::PartitionId>>> hosts;
  for (const NodeConfig& n : config.nodes) {
    if (!n.partitions.empty()) hosts.emplace_back(n.name, n.partitions);
  }
  sources.traffic = [hosts, traffic] {
    std::vector<PeerTraffic> out;
    for (const auto& [name, partitions] : hosts) {
      PeerTraffic t;
      t.peer = name;
      for (const codec::PartitionId p : partitions) {
        if (!traffic || p >= traffic->partitions.size()) continue;
        const actors::PartitionTraffic::Counts& c = traffic->partitions[p];
        t.requests += c.requests.load(std::memory_order_relaxed);
        t.sent_bytes += c.sent_bytes.load(std::memory_order_relaxed);
        t.received_bytes += c.received_bytes.load(std::memory_order_relaxed);
        t.sent_deltas += c.sent_deltas.load(std::memory_order_relaxed);
        t.received_deltas += c.received_deltas.load(std::memory_order_relaxed);
      }
      out.push_back(std::move(t));
    }
    return out;
  };
  if (!data.empty()) {
    sources.log_size_bytes = [file = (fs::path(data) / "data.mdb").string()]() -> std::uint64_t {
      std::error_code ec;
      const std::uintmax_t bytes = fs::file_size(file, ec);
      return ec ? 0 : static_cast<std::uint64_t>(bytes);
    };
  }
  metrics.read_at_scrape(std::move(sources));
}

/// What a node is, checked before anything starts or listens: any failure is a bad
/// argument (exit code 2).
struct Prepared {
  const NodeConfig* self = nullptr;
  std::shared_ptr<const schema::Schema> schema;
  actors::SchemaInfo info;
  codec::ClientAccess access;
};

/// Its node in the configuration, the schema compiled, who may connect as a client (a node
/// that would serve anyone on the network is refused) and enough file descriptors for the
/// clients configured (a soft limit that is too low is raised).
Result<Prepared> prepare(const ServiceOptions& o) {
  Prepared p;
  p.self = o.config.find(o.node);
  if (p.self == nullptr) return Status(StatusCode::invalid_argument, o.config_path + ": no node named '" + o.node + "'");
  auto loaded = load_schema(o);
  if (!loaded.is_ok()) return loaded.status();
  auto access = client_access(o.config.clients, o.node, p.self->host);
  if (!access.is_ok()) return Status(access.status().code(), o.config_path + ": " + access.status().message());
  auto descriptors = ensure_descriptors(
      o.config.client_connections_max + kNodeDescriptorsBesidesClients,
      o.config_path + ": [cluster] client_connections_max = " + std::to_string(o.config.client_connections_max));
  if (!descriptors.is_ok()) return descriptors.status();
  if (descriptors->after != descriptors->before) {
    log::info("descriptor_limit_raised", {{"from", descriptors->before},
                                          {"to", descriptors->after},
                                          {"client_connections_max", o.config.client_connections_max}});
  }
  std::tie(p.schema, p.info) = std::move(loaded).value();
  p.access = std::move(access).value();
  return p;
}

/// The coordinator's epoch log: in memory, or in LMDB at --data (a path that is no usable
/// epoch log is a bad argument, refused before listening); timed for the metrics.
/// `*log_id`: the LMDB log's creation time (LmdbEpochLog::created_time_ns), 0 in memory.
Result<std::unique_ptr<actors::EpochLog>> open_epoch_log(const ServiceOptions& o, NodeMetrics* metrics,
                                                         std::uint64_t* log_id) {
  std::unique_ptr<actors::EpochLog> log;
  *log_id = 0;
  if (o.data.empty()) {
    log = std::make_unique<actors::MemoryEpochLog>();
  } else {
    auto opened = LmdbEpochLog::open(o.data, wall_clock_ns);
    if (!opened.is_ok()) return Status(opened.status().code(), "--data " + opened.status().message());
    *log_id = (*opened)->created_time_ns();
    log = std::move(opened).value();
  }
  if (metrics != nullptr) {
    log = std::make_unique<TimedEpochLog>(
        std::move(log), [metrics](const LogAppend& a) { metrics->log_append(a.ok, a.bytes, a.seconds); });
  }
  return log;
}

/// The coordinator's history of subscriptions: with --data in DIR/watch, without it in a
/// store under the system's temporary directory that no name reaches once it is open (its
/// log lives as long as the process, and so does the history); with [cluster]
/// watch_history_epochs = 0 none (null).
Result<std::unique_ptr<actors::WatchHistory>> open_watch_history(const ServiceOptions& o, std::uint64_t log_id) {
  if (o.config.watch_history_epochs == 0) return std::unique_ptr<actors::WatchHistory>();
  if (o.data.empty()) {
    const std::string hint = " (without --data the history of subscriptions is kept in the temporary directory: "
                             "set TMPDIR to one, or [cluster] watch_history_epochs = 0 to keep none)";
    std::error_code error;
    const fs::path parent = fs::temp_directory_path(error);
    if (error) {
      const char* tmpdir = std::getenv("TMPDIR");
      return Status(StatusCode::io_error, "TMPDIR=" + std::string(tmpdir != nullptr ? tmpdir : "") +
                                              ": not a directory: " + error.message() + hint);
    }
    auto opened = LmdbWatchHistory::open_unlinked(parent.string(), log_id, o.config.watch_history_epochs,
                                                  o.config.watch_history_bytes);
    if (!opened.is_ok()) return Status(opened.status().code(), opened.status().message() + hint);
    // Said, since the directory may be a tmpfs, where the history is memory.
    log::info("watch_history_unnamed", {{"directory", parent.string()}, {"bytes_max", o.config.watch_history_bytes}});
    return std::unique_ptr<actors::WatchHistory>(std::move(opened).value());
  }
  auto opened = LmdbWatchHistory::open((fs::path(o.data) / "watch").string(), log_id,
                                       o.config.watch_history_epochs, o.config.watch_history_bytes);
  if (!opened.is_ok()) {
    return Status(opened.status().code(), "--data " + opened.status().message() +
                                              " (it holds only what subscribers behind the buffer are told: "
                                              "removing the directory loses nothing else)");
  }
  return std::unique_ptr<actors::WatchHistory>(std::move(opened).value());
}

/// With --data, the partitions' checkpoints in DIR/partitions (the coordinator's epoch log
/// is DIR itself); without, none (null): a restart runs the whole log.
Result<std::shared_ptr<LmdbPartitionCheckpoints>> open_checkpoints(const ServiceOptions& o, const NodeConfig& self) {
  if (o.data.empty()) return std::shared_ptr<LmdbPartitionCheckpoints>();
  std::error_code ec;
  if (!self.coordinator) fs::create_directories(o.data, ec);  // the coordinator's log makes it
  auto opened = LmdbPartitionCheckpoints::open((fs::path(o.data) / "partitions").string());
  if (!opened.is_ok()) return Status(opened.status().code(), "--data " + opened.status().message());
  return std::shared_ptr<LmdbPartitionCheckpoints>(std::move(opened).value());
}

/// This node's partitions: each a Store placed as the configuration says (salt 0), served
/// by its actor.
struct Hosted {
  std::vector<caf::actor> actors;
  std::vector<std::shared_ptr<const actors::PartitionServer>> servers;  ///< for their counters
};
Hosted spawn_partitions(caf::actor_system& sys, const std::shared_ptr<const schema::Schema>& schema,
                        const NodeConfig& self, std::uint32_t partition_count,
                        const std::shared_ptr<LmdbPartitionCheckpoints>& checkpoints) {
  Hosted h;
  for (const codec::PartitionId p : self.partitions) {
    schema::StoreOptions so;
    so.placement = schema::Placement{p, partition_count, 0};
    auto server = std::make_shared<actors::PartitionServer>(schema, so, checkpoints);
    h.servers.push_back(server);
    // A partition runs where its requests arrive: on another node than the coordinator's,
    // on the I/O thread that reads them from the network (documents.hpp, partition_host);
    // beside the driver, on a scheduler thread, as the driver's local messages go there.
    if (self.coordinator) {
      h.actors.push_back(sys.spawn(actors::partition_actor, std::move(server)));
    } else {
      h.actors.push_back(
          sys.middleman().spawn_broker(actors::partition_host, std::move(server), actors::kInlineRequestBytesMax));
    }
  }
  return h;
}

/// What the coordinator does with each epoch's outcome: its log events, the node's counts
/// and (with metrics) the metrics. `metrics` may be null; the others outlive the sequencer.
actors::EpochObserver epoch_observer(NodeState& state, NodeMetrics* metrics, EpochEvents* events) {
  return [&state, metrics, events](const actors::EpochOutcome& outcome) {
    events->observe(outcome);
    state.count_epoch(outcome);
    if (metrics == nullptr) return;
    if (!outcome.replayed) {
      metrics->epoch(outcome.committed, outcome.seconds);
      metrics->epoch_transactions(outcome.transactions);
      metrics->epoch_aborted(outcome.why);
      metrics->epoch_phases(outcome.phases);
    }
    metrics->last_epoch(outcome.epoch);
  };
}

/// The coordinator's sequencer and driver options, and the watch actor of subscriptions
/// (actors/watch.hpp): the driver fills the buffer and the watch actor answers polls from
/// it; it outlives the sequencers a restart replaces. A node that does not coordinate gets
/// the options alone (unused) and no watch actor.
struct Coordination {
  actors::SequencerOptions sequencer;
  actors::DriverOptions driver;
  caf::actor watch;
};
Coordination coordination(caf::actor_system& sys, const ServiceOptions& o, const NodeConfig& self,
                          const schema::Schema& schema, std::shared_ptr<actors::EffectCounters> effect_counters,
                          EpochEvents* events, std::unique_ptr<actors::WatchHistory> history,
                          std::uint64_t watch_log) {
  Coordination c{sequencer_options(o.config, std::move(effect_counters)),
                 actors::DriverOptions{o.config.checkpoint_every}, caf::actor()};
  if (events != nullptr) c.sequencer.recovered = [events] { events->recovered(); };
  // Time moves on its own only where the schema has a clock to move.
  if (schema.clock_field != schema::kNone) c.sequencer.clock_tick = o.config.clock_tick;
  if (self.coordinator) {
    c.driver.watch =
        std::make_shared<actors::WatchBuffer>(o.config.watch_epochs_kept, actors::kWatchChangesKept, std::move(history));
    c.driver.watch->set_log(watch_log);
    c.driver.watch->set_on_history_error(
        [](const std::string& error) { log::error("watch_history_failed", {{"error", error}}); });
    c.watch = sys.spawn(actors::watch_actor, c.driver.watch);
    c.driver.watch->set_notify([addr = c.watch.address()] {
      if (auto to = caf::actor_cast<caf::actor>(addr)) caf::anon_send(to, actors::watch_epoch_atom::value);
    });
    c.sequencer.watch = c.watch;
  }
  return c;
}

/// A node's link to the coordinator (a node that does not coordinate): the address to
/// dial (--peer overrides the configuration's), through a TLS guard of this node on
/// loopback with [tls]. A failure comes with the exit code it means.
struct CoordinatorLink {
  LinkTarget target;
  std::unique_ptr<PeerGuard> outbound;  ///< with [tls]: CAF dials it, it dials the coordinator
};
Result<CoordinatorLink> coordinator_link(const ServiceOptions& o, std::shared_ptr<const TlsContext> tls,
                                         const std::function<void(const std::string&)>& report, int* code) {
  const NodeConfig& c = o.config.coordinator();
  CoordinatorLink link{LinkTarget{c.name, c.host, c.port}, nullptr};
  if (const auto it = o.peers.find(c.name); it != o.peers.end()) {
    link.target.host = it->second.first;
    link.target.port = it->second.second;
  }
  if (link.target.port == 0) {
    *code = 2;
    return Status(StatusCode::invalid_argument, "the coordinator " + c.name +
                                                    " has port 0 in the configuration: give --peer " + c.name +
                                                    "=HOST:PORT");
  }
  if (tls) {
    PeerGuardOptions out;
    out.host = "127.0.0.1";
    out.frame_bytes_max = o.config.peer_frame_bytes_max;
    out.report = report;
    out.tls = std::move(tls);
    out.dial_host = link.target.host;
    out.dial_port = link.target.port;
    out.dial_name = link.target.coordinator;
    auto started = PeerGuard::start(std::move(out));
    if (!started.is_ok()) {
      *code = 3;
      return started.status();
    }
    link.outbound = std::move(started).value();
    link.target.host = "127.0.0.1";
    link.target.port = link.outbound->port();
  }
  return link;
}

/// Everything the admin socket answers from (admin_commands.hpp). The references must
/// outlive the admin server.
NodeStatus admin_status(caf::actor_system& sys, const ServiceOptions& o, const NodeConfig& self,
                        std::uint16_t peer_port, std::uint16_t client_port, const std::string& access_text,
                        bool peer_tls, NodeState& state, const Hosted& hosted, const std::string& schema_source) {
  return NodeStatus{
      .node = o.node,
      .listen = self.host + ":" + std::to_string(peer_port),
      .coordinator = self.coordinator,
      .partitions = self.partitions,
      .committed = &state.epochs_committed(),
      .aborted = &state.epochs_aborted(),
      .last = &state.last_epoch(),
      .more = [&state, client_port, host = self.host, access_text, peer_tls] {
        return nlohmann::ordered_json{{"clients", host + ":" + std::to_string(client_port)},
                                      {"client_access", access_text},
                                      {"peer_tls", peer_tls},
                                      {"batches", state.batches_served()},
                                      {"ready", static_cast<bool>(state.sequencer())},
                                      {"peers", state.peers_json()},
                                      {"draining", state.draining()}};
      },
      .partitions_work = [servers = hosted.servers, ids = self.partitions] {
        // What each partition hosted here did: its share of the documents.
        nlohmann::ordered_json work = nlohmann::ordered_json::array();
        for (std::size_t i = 0; i < servers.size(); ++i) {
          const auto& c = servers[i]->counters();
          work.push_back({{"partition", ids[i]},
                          {"requests", c.requests.load()},
                          {"owned_fields_changed", c.owned_changed.load()},
                          {"values_sent", c.resolutions.load()}});
        }
        return work;
      },
      .epochs = [&state](std::size_t n) { return state.recent_epochs(n); },
      .documents = partition_access(sys, o, self, hosted.actors, schema_source, state),
      .drain = [&state] {
        const std::uint64_t in_flight = state.drain();
        return nlohmann::ordered_json{{"draining", true}, {"in_flight", in_flight}, {"drained", in_flight == 0}};
      },
      .dead_letters = [&sys, &state](const std::string& command, std::uint64_t field, std::uint64_t version) {
        return dead_letters(sys, state.sequencer(), command, field, version);
      },
      .checkpoint = [&sys, &state] { return checkpoint(sys, state.sequencer()); }};
}

/// --port-file: the ports as JSON, written whole (a reader never sees half of it).
Status write_port_file(const std::string& path, std::uint16_t peer, std::uint16_t client) {
  const std::string tmp = path + ".tmp";
  std::ofstream(tmp) << nlohmann::json{{"peer", peer}, {"client", client}}.dump() << "\n";
  std::error_code ec;
  fs::rename(tmp, path, ec);
  if (ec) return Status(StatusCode::io_error, "cannot write --port-file " + path + ": " + ec.message());
  return Status::ok();
}

/// The node's start line (stdout) and log event, once it listens.
void announce(const ServiceOptions& o, const NodeConfig& self, std::uint16_t peer_port, std::uint16_t client_port,
              const std::string& schema_name, const std::string& access_text, bool peer_tls) {
  std::ostringstream listening;
  listening << "mgraphd " << o.node << ": listening on " << self.host << ":" << peer_port << " (peers), " << self.host
            << ":" << client_port << " (clients); schema " << schema_name << "; partitions";
  for (const codec::PartitionId p : self.partitions) listening << " " << p;
  listening << (self.coordinator ? "; coordinator" : "") << "; " << access_text << (peer_tls ? "; peers over TLS" : "");
  say(listening.str());
  std::ostringstream hosted_list;
  for (std::size_t i = 0; i < self.partitions.size(); ++i) hosted_list << (i == 0 ? "" : ",") << self.partitions[i];
  const std::string hosted = hosted_list.str();
  log::info("node_start", {{"peers", self.host + ":" + std::to_string(peer_port)},
                           {"clients", self.host + ":" + std::to_string(client_port)},
                           {"schema", schema_name},
                           {"partitions", hosted.empty() ? std::string("none") : hosted},
                           {"coordinator", self.coordinator}});
}

}  // namespace

int run_service(const ServiceOptions& o) {
  const std::string& level = o.log_level.empty() ? o.config.log.level : o.log_level;
  log::init(o.node, log::parse_level(level).value());  // both checked when read
  auto prepared = prepare(o);
  if (!prepared.is_ok()) return fail(2, prepared.status().message());
  const NodeConfig& self = *prepared->self;
  const std::shared_ptr<const schema::Schema> schema = prepared->schema;
  const actors::SchemaInfo info = prepared->info;

  NodeState state;
  SignalWatch signals(state);  // before any other thread starts
  state.on_ready([name = o.node] {
    say("mgraphd " + name + ": ready (the coordinator's sequencer is reachable)");
    log::info("ready");
  });
  // Before the actor system, so that they outlive it: its destructor waits for the
  // sequencer, which counts into `state` and `metrics`, logs its events through `events`
  // and may still be writing its epoch `log` when the node is told to stop.
  std::unique_ptr<NodeMetrics> metrics;
  if (!o.metrics.empty()) {
    auto served = NodeMetrics::serve(o.metrics);
    if (!served.is_ok()) return fail(3, served.status().message());
    metrics = std::move(served).value();
    say("mgraphd " + o.node + ": metrics on port " + std::to_string(metrics->port()));
  }
  std::unique_ptr<EpochEvents> events;
  std::unique_ptr<actors::EpochLog> log;
  std::unique_ptr<actors::WatchHistory> watch_history;
  // What subscribers are told their epochs are numbered in: the LMDB log's creation time,
  // or for a log in memory (a new one every start) this start's.
  std::uint64_t watch_log = 0;
  if (self.coordinator) {
    std::uint64_t log_id = 0;
    auto opened = open_epoch_log(o, metrics.get(), &log_id);
    if (!opened.is_ok()) return fail(2, opened.status().message());
    log = std::move(opened).value();
    watch_log = log_id != 0 ? log_id : wall_clock_ns();
    auto history = open_watch_history(o, watch_log);
    if (!history.is_ok()) return fail(2, history.status().message());
    watch_history = std::move(history).value();
    Result<codec::Epoch> logged = log->last();
    if (!logged.is_ok()) return fail(3, "--data " + o.data + ": " + logged.status().message());
    events = std::make_unique<EpochEvents>(o.config.log.slow_epoch_ms, *logged);
  }
  caf::actor_system_config cfg;
  configure(cfg, o.config.peer_timeout);
  caf::actor_system sys{cfg};

  const NodeIdentity id{o.config.name, o.node, info, self.coordinator};
  const auto partition_count = static_cast<std::uint32_t>(o.config.partitions);
  auto checkpoints = open_checkpoints(o, self);
  if (!checkpoints.is_ok()) return fail(2, checkpoints.status().message());
  const Hosted hosted = spawn_partitions(sys, schema, self, partition_count, *checkpoints);
  // What the coordinator's sequencer and driver count for the metrics.
  std::shared_ptr<actors::EffectCounters> effect_counters;
  std::shared_ptr<actors::PartitionTraffic> traffic;
  if (metrics && self.coordinator) {
    effect_counters = std::make_shared<actors::EffectCounters>();
    traffic = std::make_shared<actors::PartitionTraffic>(partition_count);
  }
  std::map<std::string, std::vector<codec::PartitionId>> placement;
  for (const NodeConfig& n : o.config.nodes) placement[n.name] = n.partitions;
  actors::EpochObserver observe;
  if (self.coordinator) observe = epoch_observer(state, metrics.get(), events.get());
  Coordination coordinator =
      coordination(sys, o, self, *schema, effect_counters, events.get(), std::move(watch_history), watch_log);
  if (metrics) {
    read_at_scrape(*metrics, state, self.partitions, hosted.servers, self.coordinator ? o.data : "", o.config,
                   effect_counters, traffic, *checkpoints, coordinator.driver.watch);
  }
  const caf::actor node =
      sys.spawn(node_actor, id, &state, hosted.actors,
                CoordinatorSetup{std::move(placement), partition_count, log.get(), observe,
                                 std::move(coordinator.sequencer), std::move(coordinator.driver), traffic});
  // Whatever way this returns, the node's actors stop first (the actor system's
  // destructor waits for them), and `state` lets go of the sequencer: a handle outliving
  // the actor system would keep the documents' driver, a detached actor, from ending.
  struct StopActors {
    NodeState& state;
    std::vector<caf::actor> actors;
    ~StopActors() {
      state.set_sequencer(caf::actor());
      for (const caf::actor& a : actors) caf::anon_send_exit(a, caf::exit_reason::user_shutdown);
    }
  } stop_actors{state, {node}};
  for (const caf::actor& p : hosted.actors) stop_actors.actors.push_back(p);
  if (coordinator.watch) stop_actors.actors.push_back(coordinator.watch);

  // [tls]: every link to another node is TLS, terminated by the peer guards.
  std::shared_ptr<const TlsContext> tls;
  if (o.config.tls) {
    auto loaded_tls = TlsContext::load(o.config.tls_files(o.node));
    if (!loaded_tls.is_ok()) return fail(2, o.config_path + ": " + loaded_tls.status().message());
    tls = std::move(loaded_tls).value();
  }
  auto report = [](const std::string& what) {
    log::warn("peer_connection_closed", {{"detail", what}});
  };
  // The peer port closes a connection whose frame claims more than peer_frame_bytes_max:
  // CAF checks the frames where it reads them, or with TLS the peer guard relays to CAF on
  // loopback and checks them (peer_port.hpp); with peer_guard = false nothing is checked.
  PeerGuardOptions guard_options;
  guard_options.host = self.host;
  guard_options.port = self.port;
  guard_options.frame_bytes_max = o.config.peer_frame_bytes_max;
  guard_options.report = report;
  guard_options.tls = tls;
  auto peer_port = serve_peer_port(sys, node, o.config.peer_guard, std::move(guard_options));
  if (!peer_port.is_ok()) return fail(3, peer_port.status().message());
  if (!o.config.peer_guard) {
    log::warn("peer_guard_off", {{"detail", "the peer port is served by CAF without checks: a peer's frames are not bounded"}});
  }
  const std::uint16_t bound = peer_port->port;
  std::unique_ptr<PeerGuard> outbound;
  if (!self.coordinator) {
    int code = 0;
    auto link = coordinator_link(o, tls, report, &code);
    if (!link.is_ok()) return fail(code, link.status().message());
    outbound = std::move(link->outbound);
    stop_actors.actors.push_back(sys.spawn(link_actor, link->target, id, node, hosted.actors, &state));
  }

  ClientRequestObserver observe_clients;
  if (metrics) {
    observe_clients = [m = metrics.get()](ClientRequestKind k, ClientRequestOutcome o, double s) {
      m->client_request(k, o, s);
    };
  }
  ClientGateway gateway(sys, state, info, std::move(observe_clients));
  const std::string access_text = describe(prepared->access, o.config.clients.tokens.size());
  codec::ClientServerLimits client_limits;
  client_limits.connections_max = o.config.client_connections_max;
  auto clients = codec::ClientServer::start(self.host, self.client_port, gateway, client_limits,
                                            std::move(prepared->access));
  if (!clients.is_ok()) {
    return fail(3, "cannot serve clients on " + self.host + ":" + std::to_string(self.client_port) + ": " +
                       clients.status().message());
  }
  const std::uint16_t client_port = (*clients)->port();
  announce(o, self, bound, client_port, info.name, access_text, tls != nullptr);
  if (!o.port_file.empty()) {
    if (Status s = write_port_file(o.port_file, bound, client_port); !s.is_ok()) return fail(3, s.message());
  }

  std::unique_ptr<AdminServer> admin;
  if (!o.admin.empty()) {
    NodeStatus status = admin_status(sys, o, self, bound, client_port, access_text, tls != nullptr, state, hosted,
                                     info.source);
    auto started = AdminServer::start(o.admin, admin_commands(std::move(status), [&state] {
                                        state.stop(0, "mgraphctl shutdown");
                                      }));
    if (!started.is_ok()) {
      // A PATH that is not a socket is a bad argument; one in use, like a busy port, is not.
      const bool bad_path = started.status().code() == StatusCode::invalid_argument;
      return fail(bad_path ? 2 : 3, started.status().message());
    }
    admin = std::move(started).value();
    say("mgraphd " + o.node + ": admin socket " + o.admin);
  }

  const auto [code, reason] = state.wait_for_stop();
  // Clients first: no new batch starts; the actors finish the one they run, then stop.
  clients->reset();
  admin.reset();
  say("mgraphd " + o.node + ": stopping (" + reason + ")");
  if (code != 0) {
    log::error("node_stop", {{"exit_code", code}, {"reason", reason}});
  } else {
    log::info("node_stop", {{"reason", reason}});
  }
  return code;
}

}  // namespace mgraph::node
