// Careless or hostile cluster configurations: unknown tables and keys (typos such as
// `epoch`, `prot`, `[clustr]`), values of the wrong type (`3.0` for an integer, a string
// for a bool), values out of their range (a workload too big to build, a port over
// 65535), structural mistakes ([node] for [[node]], a partition on two nodes, two
// coordinators), and paths that are not configuration files (a directory, a FIFO, a
// device, a huge file). Each is refused with FILE:LINE:COL where there is a place to
// name, by the loader and by mgraphd (exit code 2, at once).

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <string>
#include <vector>

#include "cluster_config.hpp"
#include "net_support.hpp"

namespace mgraph::hostile {
namespace {

/// A valid configuration; each case replaces one line of it (1-based) or adds lines.
const std::vector<std::string> kValid = {
    "[cluster]",              // 1
    "seed = 1",               // 2
    "fields = 100",           // 3
    "partitions = 2",         // 4
    "epochs = 5",             // 5
    "",                       // 6
    "[[node]]",               // 7
    "name = \"a\"",           // 8
    "coordinator = true",     // 9
    "partitions = [0]",       // 10
    "",                       // 11
    "[[node]]",               // 12
    "name = \"b\"",           // 13
    "partitions = [1]",       // 14
};

struct Case {
  int line;              ///< the line replaced (0: `text` is appended at the end)
  const char* text;      ///< its new text
  const char* expected;  ///< in the error, after "c.toml"
};

std::string with(const Case& c) {
  std::string out;
  for (std::size_t i = 0; i < kValid.size(); ++i)
    out += (static_cast<int>(i) + 1 == c.line ? std::string(c.text) : kValid[i]) + "\n";
  if (c.line == 0) out += std::string(c.text) + "\n";
  return out;
}

const Case kCases[] = {
    // Unknown tables and keys: a typo must not be ignored.
    {6, "epoch = 5", ":6:1: unknown key 'epoch' in [cluster]; known: schema, seed, fields, partitions, "
                     "epochs, peer_frame_bytes_max, batch_transactions_max, batch_bytes_max"},
    {11, "prot = 7000", ":11:1: unknown key 'prot' in [[node]]; known: name, host, port, client_port, "
                        "coordinator, partitions"},
    {1, "[clustr]", ":1:2: unknown table [clustr]; known: cluster, node"},
    {0, "[cluster.extra]\nx = 1", ":15:10: unknown table [cluster.extra]"},
    {0, "[[nodes]]\nname = \"c\"", ":15:3: unknown table [[nodes]]"},
    {0, "[extra]", ":15:2: unknown table [extra]"},
    {0, "peer_frame_bytes_max = 262144", ":15:1: unknown key 'peer_frame_bytes_max' in [[node]]"},
    // Wrong types.
    {10, "partitions = [0, 3.0]",
     ":10:18: node a names a partition outside [0, 2) or not an integer"},
    {10, "partitions = [\"0\"]", ":10:15: node a names a partition outside"},
    {10, "partitions = 0", ":10:14: node a.partitions must be a list"},
    {3, "fields = 100.0", ":3:10: cluster.fields must be an integer in [4, 1000000]"},
    {3, "fields = \"100\"", ":3:10: cluster.fields must be an integer"},
    {9, "coordinator = \"true\"", ":9:15: node a.coordinator must be true or false"},
    {9, "coordinator = 1", ":9:15: node a.coordinator must be true or false"},
    {8, "name = 5", ":8:8: node 1.name must be a string of 1 to 64 bytes"},
    {0, "host = 5", ":15:8: node b.host must be a string of 1 to 253 bytes"},
    {0, "port = 1.5", ":15:8: node b.port must be an integer in [0, 65535]"},
    {0, "port = \"80\"", ":15:8: node b.port must be an integer in [0, 65535]"},
    // Out of range, each with its reason.
    {3, "fields = 10000000", ":3:10: cluster.fields must be an integer in [4, 1000000] (a node "
                             "builds the whole workload"},
    {3, "fields = 3", ":3:10: cluster.fields must be an integer in [4, 1000000]"},
    {4, "partitions = 0", ":4:14: cluster.partitions must be an integer in [1, 4096]"},
    {4, "partitions = 4097", ":4:14: cluster.partitions must be an integer in [1, 4096]"},
    {2, "seed = -1", ":2:8: cluster.seed must be an integer in [0, 9223372036854775807]"},
    {5, "epochs = -5", ":5:10: cluster.epochs must be an integer in [0, 1000000000]"},
    {5, "epochs = 1000000001", ":5:10: cluster.epochs must be an integer in [0, 1000000000]"},
    {6, "peer_frame_bytes_max = 1000", ":6:24: cluster.peer_frame_bytes_max must be an integer "
                                       "in [262144, 268435456]"},
    {6, "peer_frame_bytes_max = 4294967295", ":6:24: cluster.peer_frame_bytes_max must be"},
    {6, "batch_transactions_max = 0", ":6:26: cluster.batch_transactions_max must be an integer in "
                                      "[1, 1024] (a failed epoch runs each of its transactions again alone)"},
    {6, "batch_transactions_max = 1025", ":6:26: cluster.batch_transactions_max must be an integer in [1, 1024]"},
    {6, "batch_bytes_max = 512", ":6:19: cluster.batch_bytes_max must be an integer in [1024, 67108864]"},
    {6, "batch_bytes_max = \"4M\"", ":6:19: cluster.batch_bytes_max must be an integer"},
    {0, "port = 65536", ":15:8: node b.port must be an integer in [0, 65535]"},
    {0, "port = -1", ":15:8: node b.port must be an integer in [0, 65535]"},
    {8, "name = \"\"", ":8:8: node 1.name must be a string of 1 to 64 bytes"},
    {8, "name = \"a=b\"", ":8:8: node 1.name must be 1 to 64 of A-Z a-z 0-9 _ . -"},
    {8, "name = \"a b\"", ":8:8: node 1.name must be 1 to 64 of"},
    {8, "name = \"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\"",
     ":8:8: node 1.name must be a string of 1 to 64 bytes"},
    {0, "host = \"\"", ":15:8: node b.host must be a string of 1 to 253 bytes"},
    {10, "partitions = [2]", ":10:15: node a names a partition outside [0, 2)"},
    {10, "partitions = [-1]", ":10:15: node a names a partition outside [0, 2)"},
    // Structure.
    {14, "partitions = [1, 0]", ":14:18: partition 0 is hosted by 2 nodes (a and b)"},
    {10, "partitions = [0, 0]", ":10:18: partition 0 is hosted by 2 nodes (a and a)"},
    {14, "partitions = []", ":4:14: partition 1 is hosted by 0 nodes; each needs exactly one"},
    {14, "coordinator = true\npartitions = [1]", ":14:15: node b is coordinator too; exactly one"},
    {9, "coordinator = false", ":7:1: 0 nodes are coordinator; exactly one must be"},
    {13, "name = \"a\"", ":13:8: two nodes are named 'a'"},
    {14, "", ":12:1: node b has no partitions list"},
    {13, "", ":12:1: node 2 has no name"},
    {7, "[node]", ":12:1: Error while parsing table header: cannot redefine existing table "
                  "'node' as array-of-tables"},
    {1, "[cluster", ":1:9: Error while parsing table header"},
    // [log].
    {0, "[log]\nlevel = \"loud\"",
     ":16:9: log.level must be one of trace, debug, info, warn, error, off, not 'loud'"},
    {0, "[log]\nlevel = 3", ":16:9: log.level must be a string of 1 to 16 bytes"},
    {0, "[log]\nslow_epoch_ms = -1",
     ":16:17: log.slow_epoch_ms must be an integer in [0, 3600000] (0 logs no slow epoch)"},
    {0, "[log]\nlevl = \"info\"", ":16:1: unknown key 'levl' in [log]; known: level, slow_epoch_ms"},
    {3, "fields = 1\nfields = 2", ":4:10: Error while parsing key-value pair: cannot redefine "
                               "existing integer 'fields'"},
};

TEST(Config, EveryBadInputIsRefusedWithFileLineAndColumn) {
  for (const Case& c : kCases) {
    const std::string text = with(c);
    auto loaded = node::parse_cluster_config(text, "c.toml");
    ASSERT_FALSE(loaded.is_ok()) << text;
    const std::string message = loaded.status().message();
    EXPECT_EQ(message.rfind(std::string("c.toml") + c.expected, 0), 0u)
        << "got:      " << message << "\nexpected: c.toml" << c.expected << "\nin:\n" << text;
  }
}

TEST(Config, WholeFileProblemsNameTheFile) {
  auto empty = node::parse_cluster_config("", "c.toml");
  ASSERT_FALSE(empty.is_ok());
  EXPECT_EQ(empty.status().message(), "c.toml: no [cluster] table");
  auto nodeless = node::parse_cluster_config("[cluster]\n", "c.toml");
  ASSERT_FALSE(nodeless.is_ok());
  EXPECT_EQ(nodeless.status().message(), "c.toml: no [[node]] entries");
  const std::string one_node = "[[node]]\nname = \"a\"\ncoordinator = true\npartitions = [0]\n";
  auto scalar = node::parse_cluster_config("cluster = 5\n" + one_node, "c.toml");
  ASSERT_FALSE(scalar.is_ok());
  EXPECT_EQ(scalar.status().message(), "c.toml:1:11: cluster must be a table, [cluster]");
  auto table = node::parse_cluster_config("[cluster]\npartitions = 1\n[node]\nname = \"a\"\n",
                                          "c.toml");
  ASSERT_FALSE(table.is_ok());
  EXPECT_EQ(table.status().message(), "c.toml:3:1: node must be [[node]] entries, not [node]");
}

TEST(Config, TheShippedAndTheValidConfigurationsLoad) {
  std::string valid;
  for (const std::string& line : kValid) valid += line + "\n";
  auto loaded =
      node::parse_cluster_config(valid + "host = \"localhost\"\nport = 65535\n", "c.toml");
  ASSERT_TRUE(loaded.is_ok()) << loaded.status().message();
  EXPECT_EQ(loaded->nodes.size(), 2u);
  EXPECT_EQ(loaded->nodes[1].port, 65535);
  EXPECT_EQ(loaded->nodes[1].host, "localhost");
  EXPECT_EQ(loaded->peer_frame_bytes_max, 4u << 20);
  auto limit = node::parse_cluster_config(
      std::string(valid).insert(valid.find("\n[[node]]"), "\npeer_frame_bytes_max = 262144"),
      "c.toml");
  ASSERT_TRUE(limit.is_ok()) << limit.status().message();
  EXPECT_EQ(limit->peer_frame_bytes_max, 262144u);
  EXPECT_EQ(loaded->log.level, "info");
  EXPECT_EQ(loaded->log.slow_epoch_ms, 1000u);
  auto logging = node::parse_cluster_config(valid + "[log]\nlevel = \"warn\"\nslow_epoch_ms = 0\n", "c.toml");
  ASSERT_TRUE(logging.is_ok()) << logging.status().message();
  EXPECT_EQ(logging->log.level, "warn");
  EXPECT_EQ(logging->log.slow_epoch_ms, 0u);
  EXPECT_EQ(loaded->batch_transactions_max, 64u);
  EXPECT_EQ(loaded->batch_bytes_max, std::size_t{4} << 20);
  auto batching = node::parse_cluster_config(
      std::string(valid).insert(valid.find("\n[[node]]"), "\nbatch_transactions_max = 1\nbatch_bytes_max = 1024"),
      "c.toml");
  ASSERT_TRUE(batching.is_ok()) << batching.status().message();
  EXPECT_EQ(batching->batch_transactions_max, 1u);
  EXPECT_EQ(batching->batch_bytes_max, 1024u);
  auto shipped =
      node::load_cluster_config(std::string(MGRAPH_SOURCE_DIR) + "/cluster-configs/local-3.toml");
  EXPECT_TRUE(shipped.is_ok()) << shipped.status().message();
}

/// mgraphd --config PATH --node a: its exit code; what it printed in *printed.
int mgraphd_with(const std::string& path, std::string* printed) {
  ChildProcess p = ChildProcess::spawn(node_args(path, "a"), /*merge_stderr=*/true);
  const int rc = p.finish(kSilenceMs);
  *printed = p.printed;
  return rc;
}

TEST(Config, MgraphdRefusesBadConfigurationsWithExitCode2) {
  ScratchDir dir("mgraph_bad_configs");
  for (const Case& c : kCases) {
    const std::string path = dir.write("c.toml", with(c));
    std::string printed;
    EXPECT_EQ(mgraphd_with(path, &printed), 2) << printed;
    EXPECT_NE(printed.find("mgraph_cluster_bench: " + path + c.expected), std::string::npos)
        << printed << "expected: " << path << c.expected;
  }
}

TEST(Config, PathsThatAreNotConfigurationFilesAreRefusedAtOnce) {
  ScratchDir dir("mgraph_config_paths");
  const std::string fifo = (dir.path / "fifo").string();
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  // Comment lines only: a valid TOML document, 2 MiB of it.
  std::string huge;
  while (huge.size() < (2u << 20)) huge += "# padding padding padding padding padding\n";
  const std::string big = dir.write("big.toml", huge);
  struct PathCase {
    std::string path;
    const char* expected;
  };
  const PathCase cases[] = {
      {dir.path.string(), "is a directory, not a configuration file"},
      {fifo, "is not a regular file"},
      {"/dev/zero", "is not a regular file"},
      {big, "larger than 1048576 bytes; not a configuration"},
      {(dir.path / "missing.toml").string(), "cannot read: No such file or directory"},
  };
  for (const PathCase& c : cases) {
    std::string printed;
    EXPECT_EQ(mgraphd_with(c.path, &printed), 2) << c.path << "\n" << printed;
    EXPECT_NE(printed.find("mgraph_cluster_bench: " + c.path + ": " + c.expected), std::string::npos)
        << printed;
  }
}

}  // namespace
}  // namespace mgraph::hostile
