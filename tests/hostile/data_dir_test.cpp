// Bad --data paths on the coordinator: a regular file, a path under a regular file, a
// store whose data.mdb is truncated, empty or not LMDB at all, and another program's store
// (an `mgraph eval --data` session). Each must be refused at once, before the node listens
// or reaches any other node, with exit code 2 and a message naming the path; the other
// nodes are left as they were and a good coordinator still runs them. And a coordinator
// that fails after reaching some nodes tells those to stop instead of stranding them.

#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <vector>

#include "net_support.hpp"

namespace mgraph::hostile {
namespace {

/// A refused --data must end the coordinator within this long (it used to hang).
constexpr int kPromptMs = 15'000;

/// An `mgraph eval --data DIR` session store with logged epochs.
bool make_session_store(const std::string& dir) {
  const std::string node_tests = std::string(MGRAPH_SOURCE_DIR) + "/tests/node/";
  ChildProcess eval =
      ChildProcess::spawn({MGRAPH_BINARY, "eval", node_tests + "orders.mgs", "--data", dir,
                           "--script", node_tests + "first.mgscript"},
                          true);
  return eval.finish(kSilenceMs) == 0;
}

struct BadData {
  const char* what;
  std::string path;
  const char* expected;  ///< in the message, after "--data "
};

TEST(DataDir, AnUnusableInputLogIsRefusedAtOnceNamingThePath) {
  ScratchDir dir("mgraph_bad_data");
  const std::string config = dir.write("cluster.toml", kThreeNodes);
  const std::string file = dir.write("regular", "not a store\n");
  fs::create_directories(dir.path / "garbage");
  dir.write("garbage/data.mdb", std::string(16384, 'x'));
  fs::create_directories(dir.path / "empty");
  dir.write("empty/data.mdb", "");
  const std::string session = (dir.path / "session").string();
  ASSERT_TRUE(make_session_store(session));
  fs::copy(session, dir.path / "truncated");
  fs::resize_file(dir.path / "truncated" / "data.mdb", 100);
  const BadData cases[] = {
      {"a regular file", file, "not a directory"},
      {"a path under a regular file", file + "/log", "Not a directory"},
      {"a truncated data.mdb", (dir.path / "truncated").string(), "truncated"},
      {"a data.mdb of garbage", (dir.path / "garbage").string(), "data.mdb"},
      {"an empty data.mdb", (dir.path / "empty").string(), "data.mdb"},
      {"an mgraph eval session", session, "is not an epoch of a cluster run"},
  };
  // A peer that waits for a coordinator all along.
  ChildProcess n2 = ChildProcess::spawn(node_args(config, "n2"));
  ChildProcess n3 = ChildProcess::spawn(node_args(config, "n3"));
  const std::string p2 = listen_port(n2), p3 = listen_port(n3);
  ASSERT_FALSE(p2.empty() || p3.empty()) << n2.printed << n3.printed;
  const std::vector<std::string> peers = {"--peer", "n2=127.0.0.1:" + p2, "--peer",
                                          "n3=127.0.0.1:" + p3};
  for (const BadData& c : cases) {
    std::vector<std::string> a1 = node_args(config, "n1");
    a1.insert(a1.end(), peers.begin(), peers.end());
    a1.insert(a1.end(), {"--data", c.path});
    const auto start = std::chrono::steady_clock::now();
    ChildProcess n1 = ChildProcess::spawn(a1, true);
    EXPECT_EQ(n1.finish(kPromptMs), 2) << c.what << "\n" << n1.printed;
    EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::milliseconds(kPromptMs))
        << c.what;
    EXPECT_NE(n1.printed.find("mgraph_cluster_bench: --data " + c.path), std::string::npos)
        << c.what << "\n" << n1.printed;
    EXPECT_NE(n1.printed.find(c.expected), std::string::npos) << c.what << "\n" << n1.printed;
    EXPECT_EQ(n1.printed.find("listening on"), std::string::npos) << c.what << "\n" << n1.printed;
  }
  // The store that was refused was not modified, and the waiting nodes still serve.
  EXPECT_EQ(fs::file_size(dir.path / "truncated" / "data.mdb"), 100u);
  std::vector<std::string> good = node_args(config, "n1");
  good.insert(good.end(), peers.begin(), peers.end());
  good.insert(good.end(), {"--data", (dir.path / "log").string(), "--epochs", "20"});
  ChildProcess n1 = ChildProcess::spawn(good, true);
  EXPECT_EQ(n1.finish(kSilenceMs), 0) << n1.printed;
  EXPECT_NE(n1.printed.find("20 epochs (20 committed, 0 aborted)"), std::string::npos)
      << n1.printed;
  EXPECT_EQ(n2.finish(kSilenceMs), 0) << n2.printed;
  EXPECT_EQ(n3.finish(kSilenceMs), 0) << n3.printed;
}

TEST(DataDir, ACoordinatorThatFailsAfterReachingANodeStopsIt) {
  ScratchDir dir("mgraph_failing_coordinator");
  const std::string config = dir.write("cluster.toml", kThreeNodes);
  ChildProcess n2 = ChildProcess::spawn(node_args(config, "n2"));
  const std::string p2 = listen_port(n2);
  ASSERT_FALSE(p2.empty()) << n2.printed;
  // n2 is reached first; n3 is not running.
  std::vector<std::string> a1 = node_args(config, "n1");
  a1.insert(a1.end(), {"--peer", "n2=127.0.0.1:" + p2, "--peer", "n3=127.0.0.1:1"});
  ChildProcess n1 = ChildProcess::spawn(a1, true);
  EXPECT_EQ(n1.finish(kPromptMs), 3) << n1.printed;
  EXPECT_NE(n1.printed.find("cannot reach node n3"), std::string::npos) << n1.printed;
  // n2 was told to stop: it does not wait for a coordinator that is gone.
  EXPECT_EQ(n2.finish(kPromptMs), 0) << n2.printed;
  EXPECT_NE(n2.printed.find("mgraph_cluster_bench n2: stopped"), std::string::npos) << n2.printed;
}

}  // namespace
}  // namespace mgraph::hostile
