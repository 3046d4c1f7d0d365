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
    {6, "epoch = 5", ":6:1: unknown key 'epoch' in [cluster]; known: name, schema, seed, fields, partitions, "
                     "epochs, peer_frame_bytes_max, batch_transactions_max, batch_bytes_max, "
                     "peer_timeout_ms"},
    {11, "prot = 7000", ":11:1: unknown key 'prot' in [[node]]; known: name, host, port, client_port, "
                        "coordinator, partitions"},
    {1, "[clustr]", ":1:2: unknown table [clustr]; known: cluster, node, clients"},
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
    {6, "name = \"a b\"", ":6:8: cluster.name must be 1 to 64 of A-Z a-z 0-9 _ . -"},
    {6, "name = 7", ":6:8: cluster.name must be a string of 1 to 64 bytes"},
    {6, "peer_timeout_ms = 50", ":6:19: cluster.peer_timeout_ms must be an integer in [100, 600000]"},
    {6, "peer_timeout_ms = 1.5", ":6:19: cluster.peer_timeout_ms must be an integer"},
    {6, "clock_tick_ms = -1", ":6:17: cluster.clock_tick_ms must be an integer in [0, 86400000]"},
    {6, "clock_tick_ms = 86400001", ":6:17: cluster.clock_tick_ms must be an integer in [0, 86400000]"},
    {6, "watch_history_epochs = -1", ":6:24: cluster.watch_history_epochs must be an integer in [0, 1000000000]"},
    {6, "watch_history_bytes = 1000", ":6:23: cluster.watch_history_bytes must be an integer in "
                                      "[1048576, 1099511627776] (the coordinator's --data keeps this many "
                                      "bytes of changes)"},
    {6, "client_connections_max = 0", ":6:26: cluster.client_connections_max must be an integer in "
                                      "[1, 65536] (a file descriptor each, and each may hold a 64 MiB "
                                      "request in flight)"},
    {6, "client_connections_max = 65537", ":6:26: cluster.client_connections_max must be an integer in [1, 65536]"},
    {6, "client_connections_max = \"1k\"", ":6:26: cluster.client_connections_max must be an integer"},
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
    // Client tokens ([clients], [[clients.token]]): a token's digest, never the token.
    {0, "[clients]\nallow_anonymous = \"yes\"", ":16:19: clients.allow_anonymous must be true or false"},
    {6, "peer_guard = \"no\"", ":6:14: cluster.peer_guard must be true or false"},
    {6, "peer_guard = 0", ":6:14: cluster.peer_guard must be true or false"},
    {0, "[clients]\nanonymous_role = \"root\"",
     ":16:18: clients.anonymous_role must be \"read\", \"write\" or \"admin\""},
    {0, "[clients]\ntokens = []", ":16:1: unknown key 'tokens' in [clients]; known: allow_anonymous, "
                                "anonymous_role, token"},
    {0, "[clients]\ntoken = 5", ":16:9: clients.token must be [[clients.token]] entries"},
    {0, "[[clients.token]]\nname = \"ci\"\nrole = \"write\"\nsha256 = \"s3cret-token\"",
     ":18:10: token ci.sha256 must be 64 hex digits, the SHA-256 of the token (mgraph token hash); "
     "never the token itself"},
    {0, "[[clients.token]]\nname = \"ci\"\nrole = \"write\"\nsha256 = \"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdeg\"",
     ":18:10: token ci.sha256 must be 64 hex digits"},
    {0, "[[clients.token]]\nname = \"ci\"\nrole = \"write\"", ":15:1: token ci has no sha256"},
    {0, "[[clients.token]]\nname = \"ci\"\nsha256 = \"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\"",
     ":15:1: token ci has no role (\"read\", \"write\" or \"admin\")"},
    {0, "[[clients.token]]\nname = \"ci\"\nsha256 = \"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\"\nrole = \"owner\"",
     ":18:8: token ci.role must be \"read\", \"write\" or \"admin\""},
    {0, "[[clients.token]]\nsha256 = \"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\"\nrole = \"read\"", ":15:1: clients.token 1 has no name"},
    {0, "[[clients.token]]\nname = \"c i\"\nsha256 = \"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\"\nrole = \"read\"",
     ":16:8: clients.token 1.name must be 1 to 64 of A-Z a-z 0-9 _ . -"},
    {0, "[[clients.token]]\nname = \"ci\"\nsha256 = \"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\"\nrole = \"read\"\ntoken = \"t\"",
     ":19:1: unknown key 'token' in [[clients.token]]; known: name, sha256, role"},
    {0, "[[clients.token]]\nname = \"ci\"\nsha256 = \"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\"\nrole = \"read\"\n"
        "[[clients.token]]\nname = \"ci\"\nsha256 = \"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\"\nrole = \"read\"",
     ":20:8: two tokens are named 'ci'"},
    {0, "[[clients.token]]\nname = \"ci\"\nsha256 = \"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\"\nrole = \"read\"\n"
        "[[clients.token]]\nname = \"ops\"\nsha256 = \"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\"\nrole = \"admin\"",
     ":21:10: tokens ci and ops have the same sha256"},
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
  EXPECT_TRUE(loaded->peer_guard);
  auto unguarded = node::parse_cluster_config(
      std::string(valid).insert(valid.find("\n[[node]]"), "\npeer_guard = false"), "c.toml");
  ASSERT_TRUE(unguarded.is_ok()) << unguarded.status().message();
  EXPECT_FALSE(unguarded->peer_guard);
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
  EXPECT_EQ(loaded->peer_timeout, std::chrono::milliseconds(5000));
  EXPECT_EQ(loaded->name, "mgraph");
  auto timeout = node::parse_cluster_config(
      std::string(valid).insert(valid.find("\n[[node]]"), "\npeer_timeout_ms = 250"), "c.toml");
  ASSERT_TRUE(timeout.is_ok()) << timeout.status().message();
  EXPECT_EQ(timeout->peer_timeout, std::chrono::milliseconds(250));
  EXPECT_EQ(loaded->clock_tick, std::chrono::milliseconds(1000));
  auto ticks = node::parse_cluster_config(
      std::string(valid).insert(valid.find("\n[[node]]"), "\nclock_tick_ms = 0"), "c.toml");
  ASSERT_TRUE(ticks.is_ok()) << ticks.status().message();
  EXPECT_EQ(ticks->clock_tick, std::chrono::milliseconds(0));
  EXPECT_EQ(loaded->watch_history_epochs, 1'000'000u);
  EXPECT_EQ(loaded->watch_history_bytes, std::uint64_t{1} << 30);
  auto history = node::parse_cluster_config(
      std::string(valid).insert(valid.find("\n[[node]]"), "\nwatch_history_epochs = 0\nwatch_history_bytes = 1048576"),
      "c.toml");
  ASSERT_TRUE(history.is_ok()) << history.status().message();
  EXPECT_EQ(history->watch_history_epochs, 0u);
  EXPECT_EQ(history->watch_history_bytes, 1048576u);
  EXPECT_EQ(loaded->client_connections_max, 256u);
  auto connections = node::parse_cluster_config(
      std::string(valid).insert(valid.find("\n[[node]]"), "\nclient_connections_max = 2000"), "c.toml");
  ASSERT_TRUE(connections.is_ok()) << connections.status().message();
  EXPECT_EQ(connections->client_connections_max, 2000u);
  // Listening addresses default to loopback: a port beyond this machine is written down.
  EXPECT_EQ(loaded->nodes[0].host, "127.0.0.1");
  EXPECT_EQ(loaded->nodes[0].port, 0);
  EXPECT_EQ(loaded->nodes[0].client_port, 0);
  EXPECT_FALSE(loaded->clients.allow_anonymous);
  EXPECT_TRUE(loaded->clients.tokens.empty());
  auto shipped =
      node::load_cluster_config(std::string(MGRAPH_SOURCE_DIR) + "/cluster-configs/local-3.toml");
  EXPECT_TRUE(shipped.is_ok()) << shipped.status().message();
}

TEST(Config, ClientTokensLoadAsDigestsWithTheirRoles) {
  std::string valid;
  for (const std::string& line : kValid) valid += line + "\n";
  const std::string a(64, 'a');
  const std::string b = "0123456789ABCDEF0123456789abcdef0123456789abcdef0123456789abcdef";
  auto loaded = node::parse_cluster_config(
      valid + "[clients]\nallow_anonymous = true\nanonymous_role = \"read\"\n"
              "[[clients.token]]\nname = \"ci\"\nsha256 = \"" + a + "\"\nrole = \"write\"\n"
              "[[clients.token]]\nname = \"ops\"\nsha256 = \"" + b + "\"\nrole = \"admin\"\n",
      "c.toml");
  ASSERT_TRUE(loaded.is_ok()) << loaded.status().message();
  const node::ClientsConfig& c = loaded->clients;
  EXPECT_TRUE(c.allow_anonymous);
  EXPECT_EQ(c.anonymous_role, session::Role::read);
  ASSERT_EQ(c.tokens.size(), 2u);
  EXPECT_EQ(c.tokens[0].name, "ci");
  EXPECT_EQ(c.tokens[0].role, session::Role::write);
  EXPECT_EQ(node::to_hex(c.tokens[0].sha256), a);
  EXPECT_EQ(c.tokens[1].name, "ops");
  EXPECT_EQ(c.tokens[1].role, session::Role::admin);
  EXPECT_EQ(node::to_hex(c.tokens[1].sha256), "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef");
}

TEST(Config, TlsPathsAreRelativeToTheFileAndNodeStandsForTheNodesName) {
  std::string valid;
  for (const std::string& line : kValid) valid += line + "\n";
  const std::string tls =
      "[tls]\nca = \"certs/ca.crt\"\ncert = \"certs/{node}.crt\"\nkey = \"/keys/{node}/{node}.key\"\n";
  auto loaded = node::parse_cluster_config(valid + tls, "conf/c.toml");
  ASSERT_TRUE(loaded.is_ok()) << loaded.status().message();
  ASSERT_TRUE(loaded->tls.has_value());
  const node::TlsFiles files = loaded->tls_files("b");
  EXPECT_EQ(files.ca, "conf/certs/ca.crt");
  EXPECT_EQ(files.cert, "conf/certs/b.crt");
  EXPECT_EQ(files.key, "/keys/b/b.key");  // an absolute path stays as written
  auto plain = node::parse_cluster_config(valid, "c.toml");
  ASSERT_TRUE(plain.is_ok());
  EXPECT_FALSE(plain->tls.has_value());
  // Each key is required, and nothing else is accepted.
  auto no_key = node::parse_cluster_config(valid + "[tls]\nca = \"a\"\ncert = \"b\"\n", "c.toml");
  ASSERT_FALSE(no_key.is_ok());
  EXPECT_EQ(no_key.status().message(), "c.toml:15:1: [tls] has no key");
  auto typo = node::parse_cluster_config(valid + "[tls]\nca = \"a\"\ncrt = \"b\"\n", "c.toml");
  ASSERT_FALSE(typo.is_ok());
  EXPECT_EQ(typo.status().message(), "c.toml:17:1: unknown key 'crt' in [tls]; known: ca, cert, key");
  // The guard terminates TLS: turning it off and asking for TLS is refused at the key.
  auto unguarded = node::parse_cluster_config(
      std::string(valid).insert(valid.find("\n[[node]]"), "\npeer_guard = false") + tls, "c.toml");
  ASSERT_FALSE(unguarded.is_ok());
  EXPECT_EQ(unguarded.status().message(),
            "c.toml:7:14: cluster.peer_guard = false and [tls] do not go together: the peer guard terminates TLS");
  auto empty = node::parse_cluster_config(valid + "[tls]\nca = \"\"\n", "c.toml");
  ASSERT_FALSE(empty.is_ok());
  EXPECT_EQ(empty.status().message(), "c.toml:16:6: [tls].ca must be a string of 1 to 4096 bytes");
}

TEST(Config, TheBenchmarksNodesRefuseTls) {
  ScratchDir dir("mgraph_bench_tls");
  std::string valid;
  for (const std::string& line : kValid) valid += line + "\n";
  const std::string path =
      dir.write("c.toml", valid + "[tls]\nca = \"ca.crt\"\ncert = \"a.crt\"\nkey = \"a.key\"\n");
  ChildProcess p = ChildProcess::spawn(node_args(path, "a"), /*merge_stderr=*/true);
  EXPECT_EQ(p.finish(kSilenceMs), 2) << p.printed;
  EXPECT_NE(p.printed.find(path + ": [tls] is for mgraphd"), std::string::npos) << p.printed;
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
