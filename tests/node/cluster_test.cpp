// A 3-node cluster on loopback: three mgraphd processes with ports chosen by the OS; the
// coordinator node connects to the others, runs epochs through the protocol, checks every
// partition against the oracle and stops the cluster; every process exits cleanly.

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "support/child_process.hpp"

namespace mgraph::node {
namespace {

namespace fs = std::filesystem;
using mgraph::testing::ChildProcess;

constexpr int kSilenceMs = 60'000;  ///< watchdog on every wait for a node

class Cluster : public ::testing::Test {
 protected:
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
    return {MGRAPHD_BINARY, "--config", config, "--node", node};
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
  EXPECT_NE(n2.printed.find("mgraphd n2: stopped"), std::string::npos) << n2.printed;
  EXPECT_NE(n3.printed.find("mgraphd n3: stopped"), std::string::npos) << n3.printed;
}

TEST_F(Cluster, BadConfigurationsAreRefusedNamingTheFileAndTheProblem) {
  struct Case {
    const char* text;
    const char* expected;
  };
  const Case cases[] = {
      {"[cluster]\nfields = 10\npartitions = 2\n", "no [[node]] entries"},
      {"[cluster\n", "line 1"},
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
    EXPECT_NE(p.printed.find(config + ": "), std::string::npos) << p.printed;
    EXPECT_NE(p.printed.find(c.expected), std::string::npos) << p.printed;
  }
  ChildProcess p = ChildProcess::spawn(args(write_config(kThreeNodes), "n9"), true);
  EXPECT_EQ(p.finish(kSilenceMs), 2);
  EXPECT_NE(p.printed.find("no node named 'n9'"), std::string::npos) << p.printed;
}

}  // namespace
}  // namespace mgraph::node
