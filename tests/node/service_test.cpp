// mgraphd serving a user's schema: three processes on 127.0.0.1 with ports from the OS —
// n1 coordinates, the documents are spread over partitions on all three, clients talk to
// n3 — and `mgraph eval --connect` against them prints exactly what `mgraph eval SCHEMA`
// prints, for every example and for random schemas and scripts on 1 to 8 partitions placed
// at random over the nodes. A node whose schema differs is refused;
// a node started before its coordinator retries until it appears; SIGTERM stops a node.

#include <signal.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <array>
#include <map>
#include <optional>
#include <set>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>


#include <nlohmann/json.hpp>

#include "mgraph/graph/schema/schema.hpp"
#include "mgraph/graph/schema/store.hpp"
#include "support/child_process.hpp"
#include "support/dot_graph.hpp"
#include "support/metrics_scrape.hpp"
#include "support/node_processes.hpp"
#include "support/prng.hpp"
#include "support/schema_gen.hpp"
#include "support/env.hpp"
#include "support/same_output.hpp"
#include "support/schema_files.hpp"
#include "support/script_gen.hpp"

namespace mgraph::node {
namespace {

namespace fs = std::filesystem;
using mgraph::testing::ChildProcess;

constexpr int kSilenceMs = 60'000;  ///< watchdog on every wait for a process

using testing::compile_file;
using testing::read_file;

/// Which partitions each of n1, n2, n3 hosts.
using Layout = std::array<std::vector<int>, 3>;
/// Four partitions on all three nodes: every example's records spread over the cluster.
const Layout kSpread = {{{0}, {1, 2}, {3}}};

/// A configuration of three nodes serving `schema`; n1's peer port given (0: the OS's).
std::string three_nodes(const std::string& schema, int n1_port = 0,
                        const Layout& layout = kSpread) {
  auto list = [](const std::vector<int>& ids) {
    std::string out = "[";
    for (const int id : ids) out += (out.size() > 1 ? ", " : "") + std::to_string(id);
    return out + "]";
  };
  const std::size_t partitions = layout[0].size() + layout[1].size() + layout[2].size();
  return "[cluster]\nschema = \"" + schema + "\"\npartitions = " +
         std::to_string(partitions) + "\n\n" + "[[node]]\nname = \"n1\"\nport = " +
         std::to_string(n1_port) + "\ncoordinator = true\npartitions = " + list(layout[0]) +
         "\n\n[[node]]\nname = \"n2\"\npartitions = " + list(layout[1]) +
         "\n\n[[node]]\nname = \"n3\"\npartitions = " + list(layout[2]) + "\n";
}

class Service : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { mgraph::testing::no_leak_report_in_nodes(); }
  void SetUp() override { dir_ = mgraph::testing::fresh_test_dir("mgraph_service"); }
  void TearDown() override {
    mgraph::testing::kill_all({&n1_, &n2_, &n3_}, kSilenceMs);
    fs::remove_all(dir_);
  }

  std::string file(const std::string& name, const std::string& text) {
    const std::string path = (dir_ / name).string();
    std::ofstream(path, std::ios::binary) << text;
    return path;
  }
  static std::vector<std::string> node(const std::string& config, const std::string& name) {
    return {MGRAPHD_BINARY, "--config", config, "--node", name};
  }
  /// The port a node printed before `what` ("(peers)" or "(clients)").
  static int port_of(ChildProcess& c, const std::string& what) {
    if (!c.read_until(what, kSilenceMs)) return 0;
    const std::size_t end = c.printed.find(" " + what);
    const std::size_t colon = c.printed.rfind(':', end);
    return std::stoi(c.printed.substr(colon + 1, end - colon - 1));
  }

  /// Starts the three nodes serving `schema_text`, n1 with `n1_args` too; the client port
  /// of n3 (0 on failure).
  int start(const std::string& schema_text, const std::vector<std::string>& n1_args = {},
            const Layout& layout = kSpread) {
    file("schema.mgs", schema_text);
    const std::string config = file("cluster.toml", three_nodes("schema.mgs", 0, layout));
    std::vector<std::string> a1 = node(config, "n1");
    a1.insert(a1.end(), n1_args.begin(), n1_args.end());
    n1_ = ChildProcess::spawn(a1, true);
    const int peer = port_of(n1_, "(peers)");
    if (peer == 0) return 0;
    const std::string to_n1 = "n1=127.0.0.1:" + std::to_string(peer);
    std::vector<std::string> a2 = node(config, "n2"), a3 = node(config, "n3");
    for (auto* a : {&a2, &a3}) a->insert(a->end(), {"--peer", to_n1});
    n2_ = ChildProcess::spawn(a2, true);
    n3_ = ChildProcess::spawn(a3, true);
    // Ready: n3 reaches the sequencer, which exists once every partition is registered.
    if (!n3_.read_until(": ready", kSilenceMs)) return 0;
    return port_of(n3_, "(clients)");
  }
  void stop_all() {
    for (ChildProcess* c : {&n3_, &n2_, &n1_}) {
      ::kill(c->pid, SIGTERM);
      EXPECT_EQ(c->finish(kSilenceMs), 0) << c->printed;
      EXPECT_NE(c->printed.find(": stopped"), std::string::npos) << c->printed;
      c->pid = -1;
    }
  }

  /// `mgraph ARGS...`: its standard output; its exit code in *rc.
  static std::string mgraph(const std::vector<std::string>& args, int* rc) {
    std::vector<std::string> argv{MGRAPH_BINARY};
    argv.insert(argv.end(), args.begin(), args.end());
    ChildProcess c = ChildProcess::spawn(argv);
    ::close(c.in);
    c.in = -1;
    *rc = c.finish(kSilenceMs);
    return c.printed;
  }

  fs::path dir_;
  ChildProcess n1_, n2_, n3_;
};

TEST_F(Service, EveryExamplePrintsItsExpectedOutputThroughTheCluster) {
  std::size_t examples = 0;
  for (const auto& e : fs::directory_iterator(MGRAPH_EXAMPLES_DIR)) {
    const fs::path script = fs::path(e.path()).replace_extension(".mgscript");
    if (e.path().extension() != ".mgs" || !fs::exists(script)) continue;
    SCOPED_TRACE(e.path().string());
    const int client = start(read_file(e.path()));
    ASSERT_GT(client, 0) << n1_.printed << n2_.printed << n3_.printed;
    int rc = 0;
    const std::string out = mgraph(
        {"eval", "--connect", "127.0.0.1:" + std::to_string(client), "--script", script.string()},
        &rc);
    EXPECT_EQ(out, read_file(fs::path(e.path()).replace_extension(".expected")));
    const fs::path exit_file = fs::path(e.path()).replace_extension(".exit");
    EXPECT_EQ(rc, fs::exists(exit_file) ? std::stoi(read_file(exit_file)) : 0);
    stop_all();
    ++examples;
  }
  EXPECT_GE(examples, 6u);
}

TEST_F(Service, RandomSchemasAndScriptsPrintTheSameOnTheClusterAsEmbedded) {
  // Seeds run until 20 compared whole; one whose outputs part where one Store and the
  // cluster refuse a cycle at different lines is compared up to that line
  // (testing::same_output, docs/CLUSTER.md).
  // scripts/soak-differential.sh asks for more (MGRAPH_DIFFERENTIAL_*).
  const std::uint64_t want = testing::env_u64("MGRAPH_DIFFERENTIAL_PROCESS_SEEDS", 20);
  const std::uint64_t first = testing::env_u64("MGRAPH_DIFFERENTIAL_FIRST_SEED", 1);
  std::size_t compared = 0, cut_at_cycle = 0;
  for (std::uint64_t seed = first; compared < want; ++seed) {
    SCOPED_TRACE("seed " + std::to_string(seed));
    // 1 to 8 partitions, each on a node picked at random (a node may host none).
    testing::Prng pick(seed * 977 + 3);
    Layout layout;
    const std::uint64_t partitions = 1 + pick.below(8);
    for (std::uint64_t p = 0; p < partitions; ++p)
      layout[pick.below(3)].push_back(static_cast<int>(p));
    // Lazy fields are computed eagerly on a partitioned cluster (docs/CLUSTER.md).
    testing::SchemaGenerator schemas(seed * 101, {.lazy = false});
    const std::string text = schemas.schema();
    auto compiled = schema::compile_schema(schema::SourceFile{"random.mgs", text});
    ASSERT_TRUE(compiled.is_ok()) << compiled.status().message();
    testing::ScriptGenerator scripts(**compiled, seed);
    const std::string script = file("script.mgscript", scripts.script(150));
    const int client = start(text, {}, layout);
    ASSERT_GT(client, 0) << n1_.printed << n2_.printed << n3_.printed;
    int rc_cluster = 0, rc_embedded = 0;
    const std::string cluster = mgraph(
        {"eval", "--connect", "127.0.0.1:" + std::to_string(client), "--script", script},
        &rc_cluster);
    const std::string embedded =
        mgraph({"eval", (dir_ / "schema.mgs").string(), "--script", script}, &rc_embedded);
    bool cut = false;
    ASSERT_TRUE(testing::same_output(cluster, embedded, &cut))
        << partitions << " partitions\n" << n1_.printed << n2_.printed << n3_.printed << text
        << "\n" << read_file(script);
    if (!cut) {
      EXPECT_EQ(rc_cluster, rc_embedded);
    }
    stop_all();
    ++(cut ? cut_at_cycle : compared);
  }
  EXPECT_LE(cut_at_cycle, 1 + want / 4);
  std::printf("compared %zu scripts whole on 3 processes, %zu up to a cycle (seeds %llu..)\n",
              compared, cut_at_cycle, static_cast<unsigned long long>(first));
}

/// `mgraphctl --socket SOCKET status` parsed; null when it fails.
nlohmann::json status_of(const std::string& socket) {
  ChildProcess c = ChildProcess::spawn({MGRAPHCTL_BINARY, "--json", "--socket", socket, "status"});
  const int rc = c.finish(kSilenceMs);
  if (rc != 0) return nullptr;
  return nlohmann::json::parse(c.printed, nullptr, false);
}

TEST_F(Service, TheCoordinatorsStatusAndMetricsCountTheEpochsClientsRan) {
  const std::string s1 = (dir_ / "n1.sock").string(), s3 = (dir_ / "n3.sock").string();
  const int client = start("entity A { x: int = 0  y: int = x * 2 }\n",
                           {"--admin", s1, "--metrics", "127.0.0.1:0"});
  ASSERT_GT(client, 0) << n1_.printed << n2_.printed << n3_.printed;
  ASSERT_TRUE(n1_.read_until("admin socket", kSilenceMs)) << n1_.printed;
  const std::size_t at = n1_.printed.find("metrics on port ");
  ASSERT_NE(at, std::string::npos) << n1_.printed;
  const int metrics = std::atoi(n1_.printed.c_str() + at + std::string("metrics on port ").size());
  ASSERT_GT(metrics, 0) << n1_.printed;
  // Nothing ran yet.
  nlohmann::json status = status_of(s1);
  ASSERT_TRUE(status.is_object()) << status;
  EXPECT_EQ(status["epochs"], (nlohmann::json{{"committed", 0}, {"aborted", 0}, {"last", 0}}));

  // 1 + kUpdates committed epochs; a rejected one; reads (no epoch); a failed update whose
  // commit changes nothing; a transaction left open at the end (the partition rejects it).
  constexpr int kUpdates = 20;
  std::string script = "create A a x=1\ncommit\n";
  for (int i = 0; i < kUpdates; ++i) script += "update a x=" + std::to_string(i + 2) + "\ncommit\n";
  script += "update a x=99\nreject\nget a.y\nget a.x\nupdate a nosuch=1\ncommit\nupdate a x=100\n";
  const std::uint64_t committed = 1 + kUpdates, aborted = 3;
  int rc = 0;
  const std::string out = mgraph({"eval", "--connect", "127.0.0.1:" + std::to_string(client),
                                  "--script", file("s.mgscript", script)},
                                 &rc);
  EXPECT_EQ(rc, 1) << out;  // the failed update
  EXPECT_NE(out.find("\"value\":" + std::to_string(2 * (kUpdates + 1))), std::string::npos) << out;

  // The client has its answers; the outcomes reach the sequencer apart from them, so the
  // status is read until it has counted every epoch (or the watchdog's time has passed).
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(kSilenceMs);
  do {
    status = status_of(s1);
    ASSERT_TRUE(status.is_object()) << status;
  } while (status["epochs"]["committed"].get<std::uint64_t>() +
                   status["epochs"]["aborted"].get<std::uint64_t>() <
               committed + aborted &&
           std::chrono::steady_clock::now() < deadline);
  EXPECT_EQ(status["epochs"], (nlohmann::json{{"committed", committed},
                                              {"aborted", aborted},
                                              {"last", committed + aborted}}));
  EXPECT_EQ(status["batches"], 0) << status;  // no client used n1's gateway

  // The last epochs, oldest first, and bad counts refused with the reason.
  auto ctl = [](const std::vector<std::string>& args, int* code) {
    std::vector<std::string> argv{MGRAPHCTL_BINARY};
    argv.insert(argv.end(), args.begin(), args.end());
    ChildProcess c = ChildProcess::spawn(argv, true);
    *code = c.finish(kSilenceMs);
    return c.printed;
  };
  int code = 0;
  std::string answer = ctl({"--json", "--socket", s1, "epochs", "--last", "3"}, &code);
  ASSERT_EQ(code, 0) << answer;
  const nlohmann::json recent = nlohmann::json::parse(answer, nullptr, false);
  ASSERT_TRUE(recent.is_object()) << answer;
  ASSERT_EQ(recent["epochs"].size(), 3u) << answer;
  EXPECT_EQ(recent["epochs"][2]["epoch"], committed + aborted) << answer;
  EXPECT_EQ(recent["epochs"][1]["epoch"], committed + aborted - 1) << answer;
  EXPECT_EQ(recent["epochs"][2]["committed"], false) << answer;  // the transaction left open
  for (const std::string bad : {"0", "1025", "x"}) {
    answer = ctl({"--socket", s1, "epochs", "--last", bad}, &code);
    EXPECT_EQ(code, 1) << answer;
    EXPECT_NE(answer.find("N must be an integer in [1, 1024]"), std::string::npos) << answer;
  }
  // Readable by default: lines for the status, a table for the partitions.
  answer = ctl({"--socket", s1, "status"}, &code);
  EXPECT_EQ(code, 0) << answer;
  EXPECT_NE(answer.find("epochs:\n  committed: " + std::to_string(committed) + "\n"), std::string::npos) << answer;
  answer = ctl({"--socket", s1, "partitions"}, &code);
  EXPECT_EQ(code, 0) << answer;
  EXPECT_NE(answer.find("partitions:\n  partition  requests"), std::string::npos) << answer;
  const std::string scraped = testing::scrape_metrics(metrics);
  EXPECT_NE(scraped.find("mgraph_epochs_total{outcome=\"committed\"} " + std::to_string(committed)),
            std::string::npos)
      << scraped;
  EXPECT_NE(scraped.find("mgraph_epochs_total{outcome=\"aborted\"} " + std::to_string(aborted)),
            std::string::npos)
      << scraped;
  EXPECT_NE(scraped.find("mgraph_last_epoch " + std::to_string(committed + aborted)),
            std::string::npos)
      << scraped;
  EXPECT_NE(scraped.find("mgraph_epoch_seconds_count " + std::to_string(committed + aborted)),
            std::string::npos)
      << scraped;
  stop_all();
}

/// `mgraphctl ARGS...` (stdout and stderr merged); its exit code in *code.
std::string mgraphctl(const std::vector<std::string>& args, int* code) {
  std::vector<std::string> argv{MGRAPHCTL_BINARY};
  argv.insert(argv.end(), args.begin(), args.end());
  ChildProcess c = ChildProcess::spawn(argv, true);
  *code = c.finish(kSilenceMs);
  return c.printed;
}

TEST_F(Service, TheAdminSocketExplainsDrawsDrainsAndSetsTheLogLevel) {
  const std::string s1 = (dir_ / "n1.sock").string();
  const int client = start(
      "entity Order {\n  discount: float = 0\n  items: many Item via order\n"
      "  subtotal: float = sum(items[*].price)\n  total: float = subtotal * (1 - discount)\n}\n"
      "entity Item { price: float = 0  taxed: float = price * 2 }\n",
      {"--admin", s1});
  ASSERT_GT(client, 0) << n1_.printed << n2_.printed << n3_.printed;
  ASSERT_TRUE(n1_.read_until("admin socket", kSilenceMs)) << n1_.printed;
  // The structured log on stderr: the node's start and its peers.
  EXPECT_NE(n1_.printed.find(" info node=n1 event=node_start "), std::string::npos) << n1_.printed;
  EXPECT_TRUE(n1_.read_until(" info node=n1 event=peer_up peer=n2", kSilenceMs)) << n1_.printed;
  int rc = 0;
  const std::string to = "127.0.0.1:" + std::to_string(client);
  const std::string out = mgraph({"eval", "--connect", to, "--script",
                                  file("s.mgscript", "create Order o discount=0.5\ncreate Item a price=10\n"
                                                     "create Item b price=30\nlink o.items a\n"
                                                     "link o.items b\ncommit\nupdate o nosuch=1\ncommit\n")},
                                 &rc);
  EXPECT_EQ(rc, 1) << out;  // the failed update
  // The aborted epoch is logged with the driver's reason.
  EXPECT_TRUE(n1_.read_until("event=epoch_aborted epoch=2 reason=\"not found: unknown field 'nosuch'", kSilenceMs))
      << n1_.printed;

  // explain: n1 hosts partition 0 of 4; the order's total is computed there or on another
  // node, whose partition n1 asks: the trace shows values wherever they are computed.
  int code = 0;
  std::string answer = mgraphctl({"--json", "--socket", s1, "explain", "Order#1.total", "--depth", "2"}, &code);
  ASSERT_EQ(code, 0) << answer;
  const nlohmann::json trace = nlohmann::json::parse(answer, nullptr, false);
  ASSERT_TRUE(trace.is_object()) << answer;
  const nlohmann::json& total = trace["field"];
  const std::uint32_t owner = schema::Placement::partition_of(1, 4);
  EXPECT_EQ(total["partition"], owner) << answer;
  EXPECT_EQ(total["node"], owner == 0 ? "n1" : owner == 3 ? "n3" : "n2") << answer;
  EXPECT_FALSE(total.contains("remote")) << answer;
  EXPECT_EQ(total["value"], 20.0) << answer;
  EXPECT_EQ(total["version"], 1) << answer;
  EXPECT_EQ(total["definition"], "total: float = subtotal * (1 - discount)") << answer;
  ASSERT_EQ(total["inputs"].size(), 2u) << answer;
  EXPECT_EQ(total["inputs"][0]["value"], 40.0) << answer;
  // Every item's price too, on whichever node computes or holds it.
  const nlohmann::json& subtotal = total["inputs"][0];
  for (const nlohmann::json& in : subtotal["inputs"]) EXPECT_FALSE(in.contains("remote")) << answer;
  // Item#2 is placed on partition 3 (n3): its computed field is read there, from n1.
  ASSERT_EQ(schema::Placement::partition_of(2, 4), 3u);
  answer = mgraphctl({"--json", "--socket", s1, "explain", "Item#2.taxed"}, &code);
  ASSERT_EQ(code, 0) << answer;
  const nlohmann::json taxed = nlohmann::json::parse(answer, nullptr, false)["field"];
  EXPECT_EQ(taxed["node"], "n3") << answer;
  EXPECT_FALSE(taxed.contains("remote")) << answer;
  EXPECT_EQ(taxed["value"], 20.0) << answer;
  ASSERT_EQ(taxed["inputs"].size(), 1u) << answer;
  EXPECT_EQ(taxed["inputs"][0]["value"], 10.0) << answer;
  // The discount is a state field: every partition holds it.
  answer = mgraphctl({"--socket", s1, "explain", "#1.discount"}, &code);
  EXPECT_EQ(code, 0) << answer;
  EXPECT_EQ(answer.rfind("Order#1.discount = 0.5  (state, version 0, partition ", 0), 0u) << answer;
  answer = mgraphctl({"--socket", s1, "explain", "Item#1.price"}, &code);
  EXPECT_EQ(code, 1) << answer;
  EXPECT_NE(answer.find("record #1 is Order, not Item"), std::string::npos) << answer;
  answer = mgraphctl({"--socket", s1, "explain", "o.total"}, &code);
  EXPECT_EQ(code, 1) << answer;
  EXPECT_NE(answer.find("an alias belongs to a client's script"), std::string::npos) << answer;

  // dot of the field at depth 1: readable output is the graph itself.
  answer = mgraphctl({"--socket", s1, "dot", "Order#1.total", "--depth", "1"}, &code);
  ASSERT_EQ(code, 0) << answer;
  EXPECT_EQ(answer.rfind("digraph mgraph {\n  rankdir=LR;\n", 0), 0u) << answer;
  const testing::DotGraph graph = testing::parse_dot(answer.substr(0, answer.size() - 1));  // its '\n'
  EXPECT_TRUE(graph.well_formed) << answer;
  const auto& labels = graph.labels;
  const auto& edges = graph.edges;
  EXPECT_EQ(labels.size(), 3u) << answer;
  EXPECT_EQ(edges, (std::set<std::pair<std::string, std::string>>{
                       {"Order#1.subtotal", "Order#1.total"}, {"Order#1.discount", "Order#1.total"}}))
      << answer;
  answer = mgraphctl({"--json", "--socket", s1, "dot"}, &code);
  ASSERT_EQ(code, 0) << answer;
  EXPECT_NE(answer.find("Order#1.discount"), std::string::npos) << answer;

  // log-level: the change is logged, at the new level; a bad level is refused.
  answer = mgraphctl({"--json", "--socket", s1, "log-level", "debug"}, &code);
  EXPECT_EQ(code, 0) << answer;
  EXPECT_NE(answer.find("\"log_level\":\"debug\",\"was\":\"info\""), std::string::npos) << answer;
  EXPECT_TRUE(n1_.read_until(" warn node=n1 event=log_level level=debug was=info", kSilenceMs)) << n1_.printed;
  answer = mgraphctl({"--socket", s1, "log-level", "loud"}, &code);
  EXPECT_EQ(code, 1) << answer;
  EXPECT_NE(answer.find("not 'loud'"), std::string::npos) << answer;

  // drain n1: its clients are refused; n3 still serves.
  const int n1_client = port_of(n1_, "(clients)");
  ASSERT_GT(n1_client, 0) << n1_.printed;
  answer = mgraphctl({"--json", "--socket", s1, "drain", "--timeout", "30"}, &code);
  EXPECT_EQ(code, 0) << answer;
  EXPECT_NE(answer.find("\"draining\":true,\"in_flight\":0,\"drained\":true"), std::string::npos) << answer;
  EXPECT_TRUE(n1_.read_until("event=drained", kSilenceMs)) << n1_.printed;
  const std::string get = file("get.mgscript", "get #1.discount\n");
  // Without resends: a client that resends waits for the drained node's return instead.
  ChildProcess refused = ChildProcess::spawn({MGRAPH_BINARY, "eval", "--connect",
                                              "127.0.0.1:" + std::to_string(n1_client),
                                              "--resend-patience", "0", "--script", get},
                                             true);
  EXPECT_EQ(refused.finish(kSilenceMs), 3) << refused.printed;
  EXPECT_NE(refused.printed.find("unavailable: node draining"), std::string::npos) << refused.printed;
  const std::string served = mgraph({"eval", "--connect", to, "--script", get}, &rc);
  EXPECT_EQ(rc, 0) << served;
  EXPECT_NE(served.find("\"value\":0.5"), std::string::npos) << served;
  const nlohmann::json status = status_of(s1);
  EXPECT_EQ(status["draining"], true) << status;
  stop_all();
  EXPECT_NE(n1_.printed.find(" info node=n1 event=node_stop reason=\"signal "), std::string::npos) << n1_.printed;
}

#ifdef MGRAPH_LATENCY_BENCH_BINARY
TEST_F(Service, TheLatencyBenchmarkRunsAgainstTheCluster) {
  const int client = start(read_file(fs::path(MGRAPH_EXAMPLES_DIR) / "shop.mgs"));
  ASSERT_GT(client, 0) << n1_.printed << n2_.printed << n3_.printed;
  ChildProcess bench = ChildProcess::spawn({MGRAPH_LATENCY_BENCH_BINARY, "--connect",
                                            "127.0.0.1:" + std::to_string(client),
                                            "--transactions", "20", "--warmup", "2", "--json"},
                                           true);
  ASSERT_EQ(bench.finish(kSilenceMs), 0) << bench.printed;
  const nlohmann::json j = nlohmann::json::parse(bench.printed, nullptr, false);
  ASSERT_TRUE(j.is_object()) << bench.printed;
  EXPECT_EQ(j["count"], 20) << j;
  EXPECT_GT(j["p50_us"].get<double>(), 0) << j;
  EXPECT_LE(j["p50_us"].get<double>(), j["p99_us"].get<double>()) << j;
  EXPECT_LE(j["p99_us"].get<double>(), j["max_us"].get<double>()) << j;
  // A cluster serving another schema is refused with a reason (exit code 1).
  stop_all();
  const int other = start("entity A { x: int = 0 }\n");
  ASSERT_GT(other, 0) << n1_.printed << n2_.printed << n3_.printed;
  ChildProcess refused = ChildProcess::spawn(
      {MGRAPH_LATENCY_BENCH_BINARY, "--connect", "127.0.0.1:" + std::to_string(other)}, true);
  EXPECT_EQ(refused.finish(kSilenceMs), 1) << refused.printed;
  EXPECT_NE(refused.printed.find("examples/shop.mgs"), std::string::npos) << refused.printed;
  stop_all();
}
#endif

#ifdef MGRAPH_WATCH_CLIENTS_BENCH_BINARY
TEST_F(Service, TheSubscribersFanOutBenchmarkRunsAgainstTheCluster) {
  // A smoke run (no timing checked): every subscriber must get every epoch, or it fails.
  const int client = start(read_file(fs::path(MGRAPH_EXAMPLES_DIR) / "shop.mgs"));
  ASSERT_GT(client, 0) << n1_.printed << n2_.printed << n3_.printed;
  ChildProcess bench = ChildProcess::spawn({MGRAPH_WATCH_CLIENTS_BENCH_BINARY, "--connect",
                                            "127.0.0.1:" + std::to_string(client), "--subscribers", "8",
                                            "--epochs", "5", "--warmup", "1"},
                                           true);
  ASSERT_EQ(bench.finish(kSilenceMs), 0) << bench.printed;
  const nlohmann::json j = nlohmann::json::parse(bench.printed, nullptr, false);
  ASSERT_TRUE(j.is_object()) << bench.printed;
  EXPECT_EQ(j["subscribers"], 8) << j;
  EXPECT_EQ(j["epochs"], 5) << j;
  EXPECT_EQ(j["field"], "Order#1.total") << j;
  EXPECT_LE(j["fanout_ms_p50"].get<double>(), j["fanout_ms_max"].get<double>()) << j;
  EXPECT_GT(j["write_to_last_ms_p50"].get<double>(), 0) << j;
  stop_all();
}
#endif

TEST_F(Service, TheLoadToolRunsConcurrentClientsOnTheSchemaTheClusterServes) {
  const std::string s1 = (dir_ / "n1.sock").string();
  ASSERT_GT(start(read_file(fs::path(MGRAPH_EXAMPLES_DIR) / "shop.mgs"), {"--admin", s1}), 0)
      << n1_.printed << n2_.printed << n3_.printed;
  // The clients connect to the coordinator's own client port, so that its status counts
  // their batches.
  const int client = port_of(n1_, "(clients)");
  ASSERT_GT(client, 0) << n1_.printed;
  const std::string address = "127.0.0.1:" + std::to_string(client);
  constexpr int kClients = 3, kTransactions = 30, kWarmup = 2;
  int rc = 0;
  const std::string out = mgraph({"bench", "--connect", address, "--clients", std::to_string(kClients),
                                  "--transactions", std::to_string(kTransactions), "--warmup",
                                  std::to_string(kWarmup), "--writes", "2", "--records", "3", "--json",
                                  "--no-progress"},
                                 &rc);
  ASSERT_EQ(rc, 0) << out;
  const nlohmann::json j = nlohmann::json::parse(out, nullptr, false);
  ASSERT_TRUE(j.is_object()) << out;
  EXPECT_EQ(j["schema"], "schema.mgs") << j;  // the file name the cluster serves
  EXPECT_EQ(j["count"], kClients * kTransactions) << j;
  EXPECT_EQ(j["failed"], 0) << j;
  EXPECT_GT(j["transactions_per_second"].get<double>(), 0) << j;
  EXPECT_DOUBLE_EQ(j["field_writes_per_second"].get<double>(), 2 * j["transactions_per_second"].get<double>());
  EXPECT_LE(j["p50_us"].get<double>(), j["p95_us"].get<double>()) << j;
  EXPECT_LE(j["p95_us"].get<double>(), j["p99_us"].get<double>()) << j;
  EXPECT_LE(j["p99_us"].get<double>(), j["max_us"].get<double>()) << j;
  // Every transaction reached the cluster as a batch: each client's creates and links,
  // then its warm-up and timed transactions. Transactions that arrive together may share an
  // epoch (batching), so there are at most as many epochs as batches.
  const std::uint64_t at_least = kClients * (1 + kWarmup + kTransactions);
  const nlohmann::json status = status_of(s1);
  ASSERT_TRUE(status.is_object()) << status;
  EXPECT_GE(status["batches"].get<std::uint64_t>(), at_least) << status;
  EXPECT_GE(status["epochs"]["last"].get<std::uint64_t>(), 1u) << status;
  EXPECT_LE(status["epochs"]["last"].get<std::uint64_t>(), status["batches"].get<std::uint64_t>()) << status;

  // Bad addresses: refused (2), or nobody there (3), each with the reason.
  std::string err = mgraph({"bench", "--connect", "nohost"}, &rc);
  EXPECT_EQ(rc, 2) << err;
  stop_all();
  ChildProcess gone = ChildProcess::spawn({MGRAPH_BINARY, "bench", "--connect", address, "--timeout-ms", "500"}, true);
  EXPECT_EQ(gone.finish(kSilenceMs), 3) << gone.printed;
  EXPECT_NE(gone.printed.find("cannot reach the cluster"), std::string::npos) << gone.printed;
  // A schema without a field a transaction could write: nothing to measure (1).
  const int other = start("entity A { kids: many A via parent  n: int = count(kids) }\n");
  ASSERT_GT(other, 0) << n1_.printed << n2_.printed << n3_.printed;
  ChildProcess nothing =
      ChildProcess::spawn({MGRAPH_BINARY, "bench", "--connect", "127.0.0.1:" + std::to_string(other)}, true);
  EXPECT_EQ(nothing.finish(kSilenceMs), 1) << nothing.printed;
  EXPECT_NE(nothing.printed.find("no state field"), std::string::npos) << nothing.printed;
  stop_all();
}

TEST_F(Service, ConcurrentClientsSharingEpochsLoseNothingAndALoggedClusterComesBackTheSame) {
  // Eight clients at once, each on its own records: their transactions arrive together and
  // run as shared epochs (docs/CLUSTER.md, "Batching and group commit"). Each must see its
  // own writes, and a cluster started again on the coordinator's log (which keeps each
  // shared epoch as one entry) must hold the same documents.
  const std::string data = (dir_ / "n1.data").string();
  const std::string shop = read_file(fs::path(MGRAPH_EXAMPLES_DIR) / "shop.mgs");
  const int client = start(shop, {"--data", data});
  ASSERT_GT(client, 0) << n1_.printed << n2_.printed << n3_.printed;
  constexpr int kClients = 8, kUpdates = 40;
  std::string script =
      "create Customer cu name=\"c\"\ncreate Order o\nlink o.customer cu\ncreate Item i price=1\n"
      "link i.order o\ncommit\n";
  for (int k = 1; k <= kUpdates; ++k) script += "update i price=" + std::to_string(k) + "\ncommit\n";
  script += "get cu.spent\n";
  const std::string path = file("client.mgscript", script);
  std::vector<ChildProcess> clients;
  for (int c = 0; c < kClients; ++c) {
    clients.push_back(ChildProcess::spawn(
        {MGRAPH_BINARY, "eval", "--connect", "127.0.0.1:" + std::to_string(client), "--script", path}, true));
  }
  const std::string spent = "\"value\":" + std::to_string(kUpdates) + ",";
  for (ChildProcess& c : clients) {
    EXPECT_EQ(c.finish(kSilenceMs), 0) << c.printed;
    EXPECT_NE(c.printed.find("{\"get\":\"cu.spent\"," + spent), std::string::npos) << c.printed;
  }
  // Records 1..3k: each client's customer, order and item, in some order; every customer
  // has spent kUpdates.
  std::string reads;
  for (int id = 1; id <= 3 * kClients; ++id) reads += "get #" + std::to_string(id) + ".spent\n";
  int rc = 0;
  const std::string before =
      mgraph({"eval", "--connect", "127.0.0.1:" + std::to_string(client), "--script", file("r.mgscript", reads)}, &rc);
  std::size_t customers = 0;
  for (std::size_t at = before.find(spent); at != std::string::npos; at = before.find(spent, at + 1)) ++customers;
  EXPECT_EQ(customers, static_cast<std::size_t>(kClients)) << before;
  stop_all();
  const int again = start(shop, {"--data", data});
  ASSERT_GT(again, 0) << n1_.printed << n2_.printed << n3_.printed;
  const std::string after =
      mgraph({"eval", "--connect", "127.0.0.1:" + std::to_string(again), "--script", file("r.mgscript", reads)}, &rc);
  EXPECT_EQ(after, before);
  stop_all();
  // The restarted coordinator logged running its log again, up to its last epoch.
  const std::string key = "event=recovery_start last_epoch=";
  const std::size_t at = n1_.printed.find(key);
  ASSERT_NE(at, std::string::npos) << n1_.printed;
  const std::string last = n1_.printed.substr(at + key.size(), n1_.printed.find('\n', at) - at - key.size());
  EXPECT_NE(n1_.printed.find(" last_epoch=" + last + " seconds="), std::string::npos) << n1_.printed;
}

// After the coordinator restarts, another node's admin socket still traces fields computed
// on a third node: it asks through the new coordinator, not through the partition handles
// it learnt from the one that died (they were routed through it).
TEST_F(Service, ANodesAdminSocketReadsAThirdNodesPartitionsAfterTheCoordinatorRestarts) {
  const int port = mgraph::testing::free_loopback_port();
  ASSERT_GT(port, 0);
  file("schema.mgs",
       "entity Order {\n  items: many Item via order\n  subtotal: float = sum(items[*].price)\n}\n"
       "entity Item { price: float = 0  taxed: float = price * 2 }\n");
  const std::string config = file("cluster.toml", three_nodes("schema.mgs", port));
  const std::string s2 = (dir_ / "n2.sock").string();
  std::vector<std::string> a1 = node(config, "n1");
  a1.insert(a1.end(), {"--data", (dir_ / "n1.data").string()});
  ASSERT_TRUE(mgraph::testing::start_on_chosen_port(n1_, a1, "(peers)", kSilenceMs)) << n1_.printed;
  ASSERT_EQ(port_of(n1_, "(peers)"), port) << n1_.printed;
  const std::string to_n1 = "n1=127.0.0.1:" + std::to_string(port);
  std::vector<std::string> a2 = node(config, "n2"), a3 = node(config, "n3");
  a2.insert(a2.end(), {"--peer", to_n1, "--admin", s2});
  a3.insert(a3.end(), {"--peer", to_n1});
  n2_ = ChildProcess::spawn(a2, true);
  n3_ = ChildProcess::spawn(a3, true);
  ASSERT_TRUE(n3_.read_until(": ready", kSilenceMs)) << n3_.printed;
  const int client = port_of(n2_, "(clients)");
  ASSERT_GT(client, 0) << n2_.printed;
  const std::string address = "127.0.0.1:" + std::to_string(client);
  int rc = 0;
  std::string out = mgraph({"eval", "--connect", address, "--script",
                            file("s.mgscript", "create Order o\ncreate Item a price=10\nlink o.items a\ncommit\n")},
                           &rc);
  ASSERT_EQ(rc, 0) << out;
  // Item#2 is placed on partition 3, which n3 hosts; n2 hosts 1 and 2.
  ASSERT_EQ(schema::Placement::partition_of(2, 4), 3u);
  auto taxed_from_n2 = [&] {
    int code = 0;
    const std::string answer = mgraphctl({"--json", "--socket", s2, "explain", "Item#2.taxed"}, &code);
    EXPECT_EQ(code, 0) << answer;
    const nlohmann::json field = nlohmann::json::parse(answer, nullptr, false)["field"];
    EXPECT_EQ(field["node"], "n3") << answer;
    EXPECT_FALSE(field.contains("remote")) << answer;
    EXPECT_EQ(field["value"], 20.0) << answer;
  };
  taxed_from_n2();

  ::kill(n1_.pid, SIGKILL);
  n1_.finish(kSilenceMs);
  ASSERT_TRUE(mgraph::testing::start_on_chosen_port(n1_, a1, ": ready", kSilenceMs)) << n1_.printed;
  // A client of n2 waits (sending again) until n2 reaches the new coordinator's sequencer.
  out = mgraph({"eval", "--connect", address, "--script", file("g.mgscript", "get #2.taxed\n")}, &rc);
  ASSERT_EQ(rc, 0) << out;
  EXPECT_NE(out.find("\"value\":20,"), std::string::npos) << out;
  taxed_from_n2();
  // dot asks the same way.
  int code = 0;
  const std::string dot = mgraphctl({"--socket", s2, "dot", "Item#2.taxed", "--depth", "1"}, &code);
  EXPECT_EQ(code, 0) << dot;
  EXPECT_NE(dot.find("Item#2.price"), std::string::npos) << dot;
  EXPECT_EQ(dot.find("remote"), std::string::npos) << dot;
}

TEST_F(Service, ANodeKilledMidRunMakesTransactionsFailAtOnceNamingItsPartitionsAndNode) {
  const int client = start(read_file(fs::path(MGRAPH_EXAMPLES_DIR) / "shop.mgs"));
  ASSERT_GT(client, 0) << n1_.printed << n2_.printed << n3_.printed;
  const std::string address = "127.0.0.1:" + std::to_string(client);
  int rc = 0;
  std::string out = mgraph({"eval", "--connect", address, "--script", file("a.mgscript", "create Customer c\ncommit\n")}, &rc);
  ASSERT_EQ(rc, 0) << out;
  // n2 hosts partitions 1 and 2 (kSpread).
  ::kill(n2_.pid, SIGKILL);
  n2_.finish(kSilenceMs);
  n2_.pid = -1;
  // Answered as soon as the coordinator learns n2 is gone, not after the driver's 30 s
  // bound on a reply (kPartitionRequestTimeout): this wait's own bound is a third of it.
  ChildProcess c = ChildProcess::spawn(
      {MGRAPH_BINARY, "eval", "--connect", address, "--script", file("b.mgscript", "create Customer d\ncommit\n")});
  rc = c.finish(10'000);
  out = c.printed;
  EXPECT_EQ(rc, 1) << out;
  EXPECT_NE(out.find("unavailable: partition "), std::string::npos) << out;
  EXPECT_NE(out.find("(node n2)"), std::string::npos) << out;
  EXPECT_NE(out.find("the transaction was rolled back"), std::string::npos) << out;
}

/// The value of `name` in the environment process `pid` runs with (/proc/PID/environ);
/// nothing when it has none.
std::optional<std::string> environment_value(pid_t pid, const std::string& name) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/environ", std::ios::binary);
  for (std::string entry; std::getline(in, entry, '\0');) {
    if (entry.rfind(name + "=", 0) == 0) return entry.substr(name.size() + 1);
  }
  return std::nullopt;
}

TEST_F(Service, NodesRunWithTheAllocatorOnHugePagesUnlessTheOperatorSetItsTunables) {
  const char* kTunables = "GLIBC_TUNABLES";
  const char* inherited = std::getenv(kTunables);
  const std::optional<std::string> before = inherited ? std::optional<std::string>(inherited) : std::nullopt;
  if (!before) {
    ASSERT_GT(start("entity A { x: int = 0 }\n"), 0) << n1_.printed << n2_.printed << n3_.printed;
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
    // The sanitizer's allocator is not glibc's: the node runs as started.
    EXPECT_EQ(environment_value(n1_.pid, kTunables), std::nullopt);
#elif defined(MGRAPH_PROGRAMS_TCMALLOC)
    // Nor is tcmalloc: the node runs as started, its heap advised through tcmalloc
    // (memory_test.cpp checks the advice).
    EXPECT_EQ(environment_value(n1_.pid, kTunables), std::nullopt);
    EXPECT_EQ(environment_value(n3_.pid, kTunables), std::nullopt);
#else
    // glibc parses the variable in place at start: /proc/PID/environ shows its first
    // tunable (the others, the heap's trim and pad, apply all the same).
    EXPECT_EQ(environment_value(n1_.pid, kTunables), "glibc.malloc.hugetlb=1");
    EXPECT_EQ(environment_value(n3_.pid, kTunables), "glibc.malloc.hugetlb=1");
#endif
    mgraph::testing::kill_all({&n1_, &n2_, &n3_}, kSilenceMs);
  }
  // An operator's own tunables stand, as given.
  ASSERT_EQ(::setenv(kTunables, "glibc.malloc.tcache_count=7", 1), 0);
  const int port = start("entity A { x: int = 0 }\n");
  if (before) {
    ::setenv(kTunables, before->c_str(), 1);
  } else {
    ::unsetenv(kTunables);
  }
  ASSERT_GT(port, 0) << n1_.printed << n2_.printed << n3_.printed;
  EXPECT_EQ(environment_value(n1_.pid, kTunables), "glibc.malloc.tcache_count=7");
}

TEST_F(Service, ANodeWithAnotherSchemaIsRefused) {
  file("schema.mgs", "entity A { x: int = 0 }\n");
  file("other.mgs", "entity A { x: int = 1 }\n");
  const std::string config = file("cluster.toml", three_nodes("schema.mgs"));
  std::string other_config = three_nodes("other.mgs");
  const std::string other = file("other.toml", other_config);
  n1_ = ChildProcess::spawn(node(config, "n1"), true);
  const int peer = port_of(n1_, "(peers)");
  ASSERT_GT(peer, 0) << n1_.printed;
  std::vector<std::string> a2 = node(other, "n2");
  a2.insert(a2.end(), {"--peer", "n1=127.0.0.1:" + std::to_string(peer)});
  ChildProcess refused = ChildProcess::spawn(a2, true);
  EXPECT_EQ(refused.finish(kSilenceMs), 2) << refused.printed;
  EXPECT_NE(refused.printed.find("fingerprint"), std::string::npos) << refused.printed;
  EXPECT_NE(refused.printed.find("start every node with the same schema file"), std::string::npos)
      << refused.printed;
}

TEST_F(Service, ANodeOfAnotherClusterOrPointedAtTheWrongNodeIsRefused) {
  file("schema.mgs", "entity A { x: int = 0 }\n");
  const std::string config = file("cluster.toml", three_nodes("schema.mgs"));
  std::string named = three_nodes("schema.mgs");
  named.insert(named.find("schema ="), "name = \"staging\"\n");
  const std::string other = file("staging.toml", named);
  n1_ = ChildProcess::spawn(node(config, "n1"), true);
  const int peer = port_of(n1_, "(peers)");
  ASSERT_GT(peer, 0) << n1_.printed;
  // The same schema and node names, another cluster: refused, both named.
  std::vector<std::string> a2 = node(other, "n2");
  a2.insert(a2.end(), {"--peer", "n1=127.0.0.1:" + std::to_string(peer)});
  ChildProcess refused = ChildProcess::spawn(a2, true);
  EXPECT_EQ(refused.finish(kSilenceMs), 2) << refused.printed;
  EXPECT_NE(refused.printed.find("node n2 belongs to cluster 'staging', the coordinator n1 to cluster 'mgraph'"),
            std::string::npos) << refused.printed;
  // A --peer address that names n3, which does not coordinate: refused, saying so.
  std::vector<std::string> a3 = node(config, "n3");
  a3.insert(a3.end(), {"--peer", "n1=127.0.0.1:" + std::to_string(peer)});
  n3_ = ChildProcess::spawn(a3, true);
  const int n3_peer = port_of(n3_, "(peers)");
  ASSERT_GT(n3_peer, 0) << n3_.printed;
  std::vector<std::string> wrong = node(config, "n2");
  wrong.insert(wrong.end(), {"--peer", "n1=127.0.0.1:" + std::to_string(n3_peer)});
  ChildProcess misled = ChildProcess::spawn(wrong, true);
  EXPECT_EQ(misled.finish(kSilenceMs), 2) << misled.printed;
  EXPECT_NE(misled.printed.find("node n3 of cluster 'mgraph' does not coordinate"), std::string::npos)
      << misled.printed;
}

TEST_F(Service, AClusterWithoutPeerGuardsServesItsClientsAndEachNodeSaysSo) {
  file("schema.mgs", "entity A { x: int = 0  y: int = x * 2 }\n");
  std::string text = three_nodes("schema.mgs");
  text.insert(text.find('\n') + 1, "peer_guard = false\n");
  const std::string config = file("cluster.toml", text);
  n1_ = ChildProcess::spawn(node(config, "n1"), true);
  const int peer = port_of(n1_, "(peers)");
  ASSERT_GT(peer, 0) << n1_.printed;
  const std::string to_n1 = "n1=127.0.0.1:" + std::to_string(peer);
  std::vector<std::string> a2 = node(config, "n2"), a3 = node(config, "n3");
  for (auto* a : {&a2, &a3}) a->insert(a->end(), {"--peer", to_n1});
  n2_ = ChildProcess::spawn(a2, true);
  n3_ = ChildProcess::spawn(a3, true);
  ASSERT_TRUE(n3_.read_until(": ready", kSilenceMs)) << n3_.printed << n1_.printed;
  const int client = port_of(n3_, "(clients)");
  ASSERT_GT(client, 0) << n3_.printed;
  int rc = 0;
  // a's records spread over the partitions of all three nodes: values cross nodes.
  const std::string out =
      mgraph({"eval", "--connect", "127.0.0.1:" + std::to_string(client), "--script",
              file("s.mgscript", "create A a x=4\ncreate A b x=5\ncreate A c x=6\ncommit\nget a.y\nget c.y\n")},
             &rc);
  ASSERT_EQ(rc, 0) << out;
  EXPECT_NE(out.find("\"value\":8,"), std::string::npos) << out;
  EXPECT_NE(out.find("\"value\":12,"), std::string::npos) << out;
  for (ChildProcess* c : {&n1_, &n2_, &n3_}) {
    EXPECT_TRUE(c->read_until("event=peer_guard_off", kSilenceMs)) << c->printed;
  }
}

TEST_F(Service, ANodeStartedBeforeItsCoordinatorAndItsClientsWaitUntilItAppears) {
  // A port from the OS for n1, given to n1 in the file.
  const int port = mgraph::testing::free_loopback_port();
  ASSERT_GT(port, 0);
  file("schema.mgs", "entity A { x: int = 0  y: int = x * 2 }\n");
  // n3 hosts nothing and stays down: the documents need only n1 and n2.
  const std::string config =
      file("cluster.toml", three_nodes("schema.mgs", port, Layout{{{0}, {1}, {}}}));
  n2_ = ChildProcess::spawn(node(config, "n2"), true);
  // n2 serves clients meanwhile, and says the cluster is not ready.
  const int client = port_of(n2_, "(clients)");
  ASSERT_GT(client, 0) << n2_.printed;
  const std::string script = file("s.mgscript", "create A a x=4\ncommit\nget a.y\n");
  const std::string address = "127.0.0.1:" + std::to_string(client);
  int rc = 0;
  // A client that does not resend stops at once.
  std::string out = mgraph({"eval", "--connect", address, "--resend-patience", "0", "--script", script}, &rc);
  EXPECT_EQ(rc, 3) << out;
  // One that does waits, saying so, and goes on once the coordinator is there.
  ChildProcess waiting = ChildProcess::spawn({MGRAPH_BINARY, "eval", "--connect", address, "--script", script}, true);
  ASSERT_TRUE(waiting.read_until("sending again in", kSilenceMs)) << waiting.printed;
  EXPECT_NE(waiting.printed.find("mgraph: no answer from the cluster ("), std::string::npos) << waiting.printed;
  ASSERT_TRUE(mgraph::testing::start_on_chosen_port(n1_, node(config, "n1"), "(peers)", kSilenceMs))
      << n1_.printed;
  EXPECT_EQ(waiting.finish(kSilenceMs), 0) << waiting.printed;
  EXPECT_NE(waiting.printed.find("{\"get\":\"a.y\",\"value\":8,\"version\":1,\"revision\":1}\n"),
            std::string::npos) << waiting.printed;
  EXPECT_TRUE(n2_.read_until(": ready", kSilenceMs)) << n2_.printed << n1_.printed;
  for (ChildProcess* c : {&n2_, &n1_}) {
    ::kill(c->pid, SIGTERM);
    EXPECT_EQ(c->finish(kSilenceMs), 0) << c->printed;
    c->pid = -1;
  }
}

TEST_F(Service, ACoordinatorWithAnUnusableDataDirectoryStopsAtOnce) {
  file("schema.mgs", "entity A { x: int = 0 }\n");
  const std::string config = file("cluster.toml", three_nodes("schema.mgs"));
  const std::string not_a_directory = file("plain", "not a store");
  const std::string garbage = (dir_ / "garbage").string();
  fs::create_directories(garbage);
  file("garbage/data.mdb", std::string(8192, 'x'));
  for (const std::string& data : {not_a_directory, garbage}) {
    SCOPED_TRACE(data);
    std::vector<std::string> args = node(config, "n1");
    args.insert(args.end(), {"--data", data});
    ChildProcess c = ChildProcess::spawn(args, true);
    EXPECT_EQ(c.finish(kSilenceMs), 2) << c.printed;
    EXPECT_NE(c.printed.find("--data " + data), std::string::npos) << c.printed;
    EXPECT_EQ(c.printed.find("listening"), std::string::npos) << c.printed;
  }
}

}  // namespace
}  // namespace mgraph::node
