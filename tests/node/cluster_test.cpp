// A 3-node cluster on loopback: three mgraphd processes with ports chosen by the OS; the
// coordinator node connects to the others, runs epochs through the protocol, checks every
// partition against the oracle and stops the cluster; every process exits cleanly.

#include <arpa/inet.h>
#include <signal.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "support/child_process.hpp"
#include "support/metrics_scrape.hpp"
#include "support/node_processes.hpp"

namespace mgraph::node {
namespace {

namespace fs = std::filesystem;
using mgraph::testing::ChildProcess;

constexpr int kSilenceMs = 60'000;  ///< watchdog on every wait for a node

class Cluster : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { mgraph::testing::no_leak_report_in_nodes(); }
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("mgraph_cluster_" + std::to_string(::getpid()));
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::string write_config(const std::string& text) {
    const std::string path = (dir_ / "cluster.toml").string();
    std::ofstream(path) << text;
    return path;
  }

  static std::vector<std::string> args(const std::string& config, const std::string& node) {
    return {MGRAPH_CLUSTER_BENCH_BINARY, "--config", config, "--node", node};
  }

  /// The port a node printed in "listening on HOST:PORT".
  static std::string port_of(ChildProcess& c) {
    const std::string key = "listening on 127.0.0.1:";
    if (!c.read_until(", partitions", kSilenceMs)) return {};
    const std::size_t at = c.printed.find(key);
    if (at == std::string::npos) return {};
    const std::size_t end = c.printed.find(',', at);
    return c.printed.substr(at + key.size(), end - at - key.size());
  }

  fs::path dir_;
};

constexpr const char* kThreeNodes = R"(
[cluster]
seed = 11
fields = 400
partitions = 5
epochs = 120

[[node]]
name = "n1"
coordinator = true
partitions = [0, 3]

[[node]]
name = "n2"
partitions = [1, 4]

[[node]]
name = "n3"
partitions = [2]
)";

TEST_F(Cluster, ThreeNodesOnLoopbackRunEpochsLikeTheOracleAndStopCleanly) {
  const std::string config = write_config(kThreeNodes);
  ChildProcess n2 = ChildProcess::spawn(args(config, "n2"));
  ChildProcess n3 = ChildProcess::spawn(args(config, "n3"));
  ASSERT_GT(n2.pid, 0);
  ASSERT_GT(n3.pid, 0);
  const std::string p2 = port_of(n2), p3 = port_of(n3);
  ASSERT_FALSE(p2.empty()) << n2.printed;
  ASSERT_FALSE(p3.empty()) << n3.printed;
  std::vector<std::string> a1 = args(config, "n1");
  a1.insert(a1.end(), {"--peer", "n2=127.0.0.1:" + p2, "--peer", "n3=127.0.0.1:" + p3});
  ChildProcess n1 = ChildProcess::spawn(a1);
  ASSERT_GT(n1.pid, 0);
  EXPECT_EQ(n1.finish(kSilenceMs), 0) << n1.printed;
  EXPECT_NE(n1.printed.find("120 epochs (120 committed, 0 aborted)"), std::string::npos)
      << n1.printed;
  EXPECT_NE(n1.printed.find("5 of 5 partitions equal the oracle"), std::string::npos)
      << n1.printed;
  // The coordinator stopped the others.
  EXPECT_EQ(n2.finish(kSilenceMs), 0) << n2.printed;
  EXPECT_EQ(n3.finish(kSilenceMs), 0) << n3.printed;
  EXPECT_NE(n2.printed.find("mgraph_cluster_bench n2: stopped"), std::string::npos) << n2.printed;
  EXPECT_NE(n3.printed.find("mgraph_cluster_bench n3: stopped"), std::string::npos) << n3.printed;
}

/// GET http://127.0.0.1:PORT/metrics; the body, or "" on any failure.
std::string scrape(const std::string& port) { return testing::scrape_metrics(std::stoi(port)); }

/// The port a node printed in "metrics on 127.0.0.1:PORT/metrics".
std::string metrics_port_of(ChildProcess& c) {
  const std::string key = "metrics on 127.0.0.1:";
  if (!c.read_until("/metrics", kSilenceMs)) return {};
  const std::size_t at = c.printed.find(key);
  if (at == std::string::npos) return {};
  const std::size_t end = c.printed.find('/', at + key.size());
  return c.printed.substr(at + key.size(), end - at - key.size());
}

TEST_F(Cluster, NodesServePrometheusMetrics) {
  const std::string config = write_config(kThreeNodes);
  std::vector<std::string> a2 = args(config, "n2"), a3 = args(config, "n3");
  a2.insert(a2.end(), {"--metrics", "127.0.0.1:0"});
  ChildProcess n2 = ChildProcess::spawn(a2);
  ChildProcess n3 = ChildProcess::spawn(a3);
  const std::string m2 = metrics_port_of(n2);
  ASSERT_FALSE(m2.empty()) << n2.printed;
  const std::string p2 = port_of(n2), p3 = port_of(n3);
  ASSERT_FALSE(p2.empty() || p3.empty()) << n2.printed << n3.printed;
  const std::string before = scrape(m2);
  EXPECT_NE(before.find("mgraph_partitions 2"), std::string::npos) << before;
  EXPECT_NE(before.find("mgraph_protocol_messages_total{kind=\"begin\"} 0"), std::string::npos)
      << before;

  std::vector<std::string> a1 = args(config, "n1");
  a1.insert(a1.end(), {"--peer", "n2=127.0.0.1:" + p2, "--peer", "n3=127.0.0.1:" + p3,
                       "--metrics", "127.0.0.1:0", "--hold", "--epochs", "40"});
  ChildProcess n1 = ChildProcess::spawn(a1);
  const std::string m1 = metrics_port_of(n1);
  ASSERT_FALSE(m1.empty()) << n1.printed;
  ASSERT_TRUE(n1.read_until("holding until standard input ends", kSilenceMs)) << n1.printed;
  const std::string coordinator = scrape(m1);
  EXPECT_NE(coordinator.find("mgraph_epochs_total{outcome=\"committed\"} 40"), std::string::npos)
      << coordinator;
  EXPECT_NE(coordinator.find("mgraph_epoch_seconds_count 40"), std::string::npos) << coordinator;
  const std::string after = scrape(m2);
  EXPECT_EQ(after.find("mgraph_protocol_messages_total{kind=\"compute\"} 0"), std::string::npos)
      << after;
  EXPECT_NE(after.find("mgraph_protocol_messages_total{kind=\"compute\"}"), std::string::npos)
      << after;
  n1.close_input();  // ends the hold: n1 stops the cluster
  EXPECT_EQ(n1.finish(kSilenceMs), 0) << n1.printed;
  EXPECT_EQ(n2.finish(kSilenceMs), 0) << n2.printed;
  EXPECT_EQ(n3.finish(kSilenceMs), 0) << n3.printed;
}

/// Starts n2 and n3, then n1 with `extra` arguments; returns the three processes.
struct Nodes {
  ChildProcess n1, n2, n3;
};

Nodes start_cluster(const std::string& config, const std::vector<std::string>& extra,
                    std::vector<std::string> (*args)(const std::string&, const std::string&),
                    std::string (*port_of)(ChildProcess&)) {
  Nodes n;
  n.n2 = ChildProcess::spawn(args(config, "n2"));
  n.n3 = ChildProcess::spawn(args(config, "n3"));
  const std::string p2 = port_of(n.n2), p3 = port_of(n.n3);
  std::vector<std::string> a1 = args(config, "n1");
  a1.insert(a1.end(), {"--peer", "n2=127.0.0.1:" + p2, "--peer", "n3=127.0.0.1:" + p3});
  a1.insert(a1.end(), extra.begin(), extra.end());
  n.n1 = ChildProcess::spawn(a1);
  return n;
}

/// The number in "replayed N logged epochs".
std::uint64_t replayed(const std::string& printed) {
  const std::string key = "replayed ";
  const std::size_t at = printed.find(key);
  return at == std::string::npos ? ~0ull : std::stoull(printed.substr(at + key.size()));
}

TEST_F(Cluster, TheCoordinatorsInputLogSurvivesAKilledCluster) {
  const std::string config = write_config(kThreeNodes);
  const std::string data = (dir_ / "log").string();
  // Run 1: killed, every node, while it runs epochs (after epoch 40 of 400 completed).
  Nodes a = start_cluster(config, {"--data", data, "--epochs", "400"}, &Cluster::args,
                          &Cluster::port_of);
  ASSERT_TRUE(a.n1.read_until("epoch 40/400", kSilenceMs)) << a.n1.printed;
  for (ChildProcess* c : {&a.n1, &a.n2, &a.n3}) ::kill(c->pid, SIGKILL);
  for (ChildProcess* c : {&a.n1, &a.n2, &a.n3}) EXPECT_EQ(c->finish(kSilenceMs), -1);
  // Run 2: a fresh cluster runs every logged epoch again, then 10 more; all partitions
  // equal the oracle, which replays the same log.
  Nodes b = start_cluster(config, {"--data", data, "--epochs", "10"}, &Cluster::args,
                          &Cluster::port_of);
  EXPECT_EQ(b.n1.finish(kSilenceMs), 0) << b.n1.printed;
  const std::uint64_t again = replayed(b.n1.printed);
  EXPECT_GE(again, 40u) << b.n1.printed;
  EXPECT_LE(again, 400u) << b.n1.printed;
  EXPECT_NE(b.n1.printed.find("10 epochs (10 committed, 0 aborted)"), std::string::npos)
      << b.n1.printed;
  EXPECT_NE(b.n1.printed.find("5 of 5 partitions equal the oracle"), std::string::npos)
      << b.n1.printed;
  EXPECT_EQ(b.n2.finish(kSilenceMs), 0);
  EXPECT_EQ(b.n3.finish(kSilenceMs), 0);
  // Run 3: the log now holds the replayed epochs once and the 10 new ones.
  Nodes c = start_cluster(config, {"--data", data, "--epochs", "0"}, &Cluster::args,
                          &Cluster::port_of);
  EXPECT_EQ(c.n1.finish(kSilenceMs), 0) << c.n1.printed;
  EXPECT_EQ(replayed(c.n1.printed), again + 10) << c.n1.printed;
  EXPECT_EQ(c.n2.finish(kSilenceMs), 0);
  EXPECT_EQ(c.n3.finish(kSilenceMs), 0);
}

TEST_F(Cluster, SingleWritesCrossingTwoPartitionsRunLikeTheOracleWithTheirLatency) {
  const std::string config = write_config(kThreeNodes);
  Nodes c = start_cluster(config, {"--epochs", "30", "--cross", "2"}, &Cluster::args,
                          &Cluster::port_of);
  EXPECT_EQ(c.n1.finish(kSilenceMs), 0) << c.n1.printed;
  EXPECT_NE(c.n1.printed.find("whose cone spans 2 partitions on as many nodes"), std::string::npos)
      << c.n1.printed;
  EXPECT_NE(c.n1.printed.find("30 epochs (30 committed, 0 aborted)"), std::string::npos)
      << c.n1.printed;
  EXPECT_NE(c.n1.printed.find("5 of 5 partitions equal the oracle"), std::string::npos)
      << c.n1.printed;
  EXPECT_NE(c.n1.printed.find("epoch latency (one write crossing 2 partitions) over 30 epochs: p50 "),
            std::string::npos)
      << c.n1.printed;
  EXPECT_EQ(c.n2.finish(kSilenceMs), 0) << c.n2.printed;
  EXPECT_EQ(c.n3.finish(kSilenceMs), 0) << c.n3.printed;
}

/// Runs `mgraphctl --json --socket PATH command`; its output, and its exit code in *rc.
std::string mgraphctl(const std::string& socket, const std::string& command, int* rc) {
  ChildProcess c = ChildProcess::spawn({MGRAPHCTL_BINARY, "--json", "--socket", socket, command}, true);
  *rc = c.finish(kSilenceMs);
  return c.printed;
}

TEST_F(Cluster, TheAdminSocketReportsStatusAndShutsANodeDown) {
  const std::string config = write_config(kThreeNodes);
  const std::string s1 = (dir_ / "n1.sock").string(), s2 = (dir_ / "n2.sock").string();
  std::vector<std::string> a2 = args(config, "n2");
  a2.insert(a2.end(), {"--admin", s2});
  ChildProcess n2 = ChildProcess::spawn(a2);
  ChildProcess n3 = ChildProcess::spawn(args(config, "n3"));
  const std::string p2 = port_of(n2), p3 = port_of(n3);
  ASSERT_TRUE(n2.read_until("admin socket", kSilenceMs)) << n2.printed;
  EXPECT_EQ(fs::status(s2).permissions() & fs::perms::all,
            fs::perms::owner_read | fs::perms::owner_write);
  int rc = 0;
  std::string out = mgraphctl(s2, "status", &rc);
  EXPECT_EQ(rc, 0) << out;
  EXPECT_NE(out.find("\"node\":\"n2\""), std::string::npos) << out;
  EXPECT_NE(out.find("\"partitions\":[1,4]"), std::string::npos) << out;
  EXPECT_NE(out.find("\"coordinator\":false"), std::string::npos) << out;
  out = mgraphctl(s2, "frobnicate", &rc);
  EXPECT_EQ(rc, 1) << out;
  EXPECT_NE(out.find("unknown command 'frobnicate'"), std::string::npos) << out;

  std::vector<std::string> a1 = args(config, "n1");
  a1.insert(a1.end(), {"--peer", "n2=127.0.0.1:" + p2, "--peer", "n3=127.0.0.1:" + p3,
                       "--admin", s1, "--hold", "--epochs", "25"});
  ChildProcess n1 = ChildProcess::spawn(a1);
  ASSERT_TRUE(n1.read_until("holding until standard input ends", kSilenceMs)) << n1.printed;
  out = mgraphctl(s1, "status", &rc);
  EXPECT_EQ(rc, 0) << out;
  EXPECT_NE(out.find("\"coordinator\":true"), std::string::npos) << out;
  EXPECT_NE(out.find("\"epochs\":{\"committed\":25,\"aborted\":0,\"last\":25}"), std::string::npos) << out;
  n1.close_input();
  EXPECT_EQ(n1.finish(kSilenceMs), 0) << n1.printed;
  EXPECT_EQ(n2.finish(kSilenceMs), 0) << n2.printed;
  EXPECT_EQ(n3.finish(kSilenceMs), 0) << n3.printed;
  EXPECT_FALSE(fs::exists(s2));  // removed when the node stops
  out = mgraphctl(s2, "status", &rc);
  EXPECT_EQ(rc, 3) << out;
  EXPECT_NE(out.find("cannot reach the node's admin socket"), std::string::npos) << out;

  // A node alone, stopped through its socket.
  std::vector<std::string> lone = args(config, "n3");
  lone.insert(lone.end(), {"--admin", (dir_ / "n3.sock").string()});
  ChildProcess n3b = ChildProcess::spawn(lone);
  ASSERT_TRUE(n3b.read_until("admin socket", kSilenceMs)) << n3b.printed;
  out = mgraphctl((dir_ / "n3.sock").string(), "shutdown", &rc);
  EXPECT_EQ(rc, 0) << out;
  EXPECT_EQ(n3b.finish(kSilenceMs), 0) << n3b.printed;
  EXPECT_NE(n3b.printed.find("mgraph_cluster_bench n3: stopped"), std::string::npos) << n3b.printed;
}

TEST_F(Cluster, BadConfigurationsAreRefusedNamingTheFileAndTheProblem) {
  struct Case {
    const char* text;
    const char* expected;
  };
  const Case cases[] = {
      {"[cluster]\nfields = 10\npartitions = 2\n", "no [[node]] entries"},
      {"[cluster\n", ":1:9: "},
      {"[cluster]\npartitions = 2\n[[node]]\nname = \"a\"\ncoordinator = true\npartitions = [0]\n",
       "partition 1 is hosted by 0 nodes"},
      {"[cluster]\npartitions = 1\n[[node]]\nname = \"a\"\npartitions = [0]\n",
       "0 nodes are coordinator"},
      {"[cluster]\nfields = 2\n[[node]]\nname = \"a\"\ncoordinator = true\npartitions = [0]\n",
       "cluster.fields must be an integer in [4,"},
      {"[cluster]\npartitions = 1\n[[node]]\nname = \"a\"\ncoordinator = true\nport = 70000\n"
       "partitions = [0]\n",
       "node a.port must be an integer in [0, 65535]"},
  };
  for (const Case& c : cases) {
    const std::string config = write_config(c.text);
    std::vector<std::string> a = args(config, "a");
    ChildProcess p = ChildProcess::spawn(a, /*merge_stderr=*/true);
    EXPECT_EQ(p.finish(kSilenceMs), 2) << c.text;
    EXPECT_NE(p.printed.find(config + ":"), std::string::npos) << p.printed;
    EXPECT_NE(p.printed.find(c.expected), std::string::npos) << p.printed;
  }
  ChildProcess p = ChildProcess::spawn(args(write_config(kThreeNodes), "n9"), true);
  EXPECT_EQ(p.finish(kSilenceMs), 2);
  EXPECT_NE(p.printed.find("no node named 'n9'"), std::string::npos) << p.printed;
  // A peer that is not running: the coordinator says so and exits 3.
  std::vector<std::string> a1 = args(write_config(kThreeNodes), "n1");
  a1.insert(a1.end(), {"--peer", "n2=127.0.0.1:1", "--peer", "n3=127.0.0.1:1"});
  ChildProcess lonely = ChildProcess::spawn(a1, true);
  EXPECT_EQ(lonely.finish(kSilenceMs), 3) << lonely.printed;
  EXPECT_NE(lonely.printed.find("cannot reach node n2 at 127.0.0.1:1 (is it running?)"),
            std::string::npos)
      << lonely.printed;
}

}  // namespace
}  // namespace mgraph::node
