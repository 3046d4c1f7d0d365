// Bad command-line arguments of mgraphd: --peer addresses with a malformed, zero or
// too-large port (`12abc` used to connect to port 12), no host, an unknown or repeated
// node; --epochs below 0 or above its bound (`-5` used to be ignored); options only the
// coordinator uses given to another node; a --port-file that cannot be written (it used
// to be skipped silently). Each ends mgraphd at once with exit code 2 and says why.

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "net_support.hpp"

namespace mgraph::hostile {
namespace {

/// mgraphd refuses bad arguments before it does anything that takes time.
constexpr int kPromptMs = 10'000;

struct ArgsCase {
  const char* node;
  std::vector<std::string> extra;
  std::string expected;  ///< in what mgraphd prints
};

TEST(CliArgs, BadArgumentsEndMgraphdWithExitCode2AndTheReason) {
  ScratchDir dir("mgraph_bad_args");
  const std::string config = dir.write("cluster.toml", kThreeNodes);
  const std::string missing = (dir.path / "no" / "such" / "dir" / "n2.port").string();
  const std::string a_directory = (dir.path / "a_directory").string();
  fs::create_directories(a_directory);
  const std::vector<std::string> n3 = {"--peer", "n3=127.0.0.1:1"};
  auto peer = [&](const std::string& p) {
    std::vector<std::string> v = {"--peer", p};
    v.insert(v.end(), n3.begin(), n3.end());
    return v;
  };
  const ArgsCase cases[] = {
      {"n1", peer("n2=127.0.0.1:12abc"), "--peer n2=127.0.0.1:12abc: the port must be"},
      {"n1", peer("n2=127.0.0.1:0"), "--peer n2=127.0.0.1:0: the port must be"},
      {"n1", peer("n2=127.0.0.1:65536"), "--peer n2=127.0.0.1:65536: the port must be"},
      {"n1", peer("n2=127.0.0.1:-1"), "--peer n2=127.0.0.1:-1: the port must be"},
      {"n1", peer("n2=127.0.0.1:"), "--peer n2=127.0.0.1:: the port must be"},
      {"n1", peer("n2=127.0.0.1: 12"), "--peer n2=127.0.0.1: 12: the port must be"},
      {"n1", peer("n2=127.0.0.1:+12"), "--peer n2=127.0.0.1:+12: the port must be"},
      {"n1", peer("n2=127.0.0.1:000065537"), "--peer n2=127.0.0.1:000065537: the port must be"},
      {"n1", peer("n2=127.0.0.1:18446744073709551617"), "the port must be a number in"},
      {"n1", peer("n2=:4000"), "--peer n2=:4000: no host"},
      {"n1", peer("n2"), "--peer n2: expected NAME=HOST:PORT"},
      {"n1", peer("n9=127.0.0.1:4000"), "--peer n9=127.0.0.1:4000: no node named 'n9'"},
      {"n1", peer("n1=127.0.0.1:4000"), "--peer n1=127.0.0.1:4000: that is this node"},
      {"n1", peer("n3=127.0.0.1:4000"), "--peer n3=127.0.0.1:1: a second address for node n3"},
      {"n1", {"--epochs", "-5"}, "--epochs"},
      {"n1", {"--epochs", "1000000001"}, "--epochs"},
      {"n1", {"--epochs", "abc"}, "--epochs"},
      {"n1", {"--frobnicate"}, "--frobnicate"},
      {"n2", {"--data", (dir.path / "log").string()},
       "--data is for the coordinator node; n2 is not the coordinator"},
      {"n2", {"--hold"}, "--hold is for the coordinator node"},
      {"n2", {"--peer", "n3=127.0.0.1:4000"}, "--peer is for the coordinator node"},
      {"n2", {"--epochs", "3"}, "--epochs is for the coordinator node"},
      {"n2", {"--port-file", missing},
       "--port-file " + missing + ": cannot create " + missing + ".tmp: No such file or directory"},
      {"n2", {"--port-file", a_directory},
       "--port-file " + a_directory + ": cannot rename " + a_directory + ".tmp to it: Is a "
       "directory"},
  };
  for (const ArgsCase& c : cases) {
    std::vector<std::string> args = node_args(config, c.node);
    args.insert(args.end(), c.extra.begin(), c.extra.end());
    std::string shown;
    for (const std::string& a : c.extra) shown += a + " ";
    ChildProcess p = ChildProcess::spawn(args, /*merge_stderr=*/true);
    EXPECT_EQ(p.finish(kPromptMs), 2) << shown << "\n" << p.printed;
    EXPECT_NE(p.printed.find(c.expected), std::string::npos)
        << shown << "\n" << p.printed << "expected: " << c.expected;
  }
  EXPECT_FALSE(fs::exists(dir.path / "log")) << "--data on n2 was acted on";
}

}  // namespace
}  // namespace mgraph::hostile
