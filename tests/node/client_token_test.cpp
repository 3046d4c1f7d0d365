// Client tokens end to end: `mgraph token new` makes tokens whose digests go into a node's
// configuration; `mgraph eval --connect` and `mgraph bench --connect` log in with --token or
// MGRAPH_TOKEN. The right token works with its role; a wrong or missing one is refused
// ("unauthenticated: ...", exit code 4); a read token cannot write and the committed values
// stay; the node goes on serving. A node that would serve clients beyond loopback without
// tokens refuses to start, and a node listens on 127.0.0.1 unless told otherwise.

#include <signal.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "support/child_process.hpp"
#include "support/node_processes.hpp"

namespace mgraph::node {
namespace {

namespace fs = std::filesystem;
using mgraph::testing::ChildProcess;
using mgraph::testing::run_to_end;

constexpr int kSilenceMs = 60'000;  ///< watchdog on every wait for a process

struct Token {
  std::string token;
  std::string entry;  ///< the [[clients.token]] entry `mgraph token new` printed
};

class ClientTokens : public ::testing::Test {
 protected:
  // As every suite that starts mgraphd: CAF 0.17's middleman can leave a reference cycle at
  // a node's exit, which LeakSanitizer would report as the node's failure.
  static void SetUpTestSuite() { mgraph::testing::no_leak_report_in_nodes(); }
  void SetUp() override {
    const std::string test = ::testing::UnitTest::GetInstance()->current_test_info()->name();
    dir_ = fs::temp_directory_path() /
           ("mgraph_tokens_" + std::to_string(::getpid()) + "_" + test.substr(0, 20));
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    fs::copy_file(fs::path(MGRAPH_EXAMPLES_DIR) / "order_total.mgs", dir_ / "schema.mgs");
  }
  void TearDown() override {
    if (node_.pid > 0) {
      ::kill(node_.pid, SIGKILL);
      node_.finish(kSilenceMs);
    }
    fs::remove_all(dir_);
  }

  std::string file(const std::string& name, const std::string& text) {
    const std::string path = (dir_ / name).string();
    std::ofstream(path, std::ios::binary) << text;
    return path;
  }

  /// A one-node cluster serving order_total.mgs; `node_lines` and `tail` added to it.
  std::string config(const std::string& node_lines, const std::string& tail) {
    return file("cluster.toml",
                "[cluster]\nschema = \"schema.mgs\"\npartitions = 1\n\n[[node]]\nname = \"n1\"\n"
                "coordinator = true\npartitions = [0]\n" +
                    node_lines + "\n" + tail);
  }

  static Token new_token(const std::string& name, const std::string& role) {
    std::string printed;
    EXPECT_EQ(run_to_end({MGRAPH_BINARY, "token", "new", "--name", name, "--role", role}, &printed), 0)
        << printed;
    // std::regex is avoided: g++ 12 warns (maybe-uninitialized) inside it under the sanitizers.
    const std::string marker = "stored anywhere): ";
    const std::size_t at = printed.find(marker);
    const std::size_t entry = printed.find("[[clients.token]]");
    EXPECT_NE(at, std::string::npos) << printed;
    EXPECT_NE(entry, std::string::npos) << printed;
    Token t;
    if (at == std::string::npos || entry == std::string::npos) return t;
    t.token = printed.substr(at + marker.size(), 64);
    EXPECT_EQ(printed.substr(at + marker.size() + 64, 1), "\n") << printed;
    EXPECT_EQ(t.token.find_first_not_of("0123456789abcdef"), std::string::npos) << t.token;
    t.entry = printed.substr(entry);
    return t;
  }

  /// Starts the node; its client port (0 on failure).
  int start(const std::string& config_path) {
    node_ = ChildProcess::spawn({MGRAPHD_BINARY, "--config", config_path, "--node", "n1"}, true);
    // The coordinator may print either first.
    if (!node_.read_until(": ready", kSilenceMs) || !node_.read_until(" (clients)", kSilenceMs))
      return 0;
    const std::size_t end = node_.printed.find(" (clients)");
    const std::size_t colon = node_.printed.rfind(':', end);
    if (end == std::string::npos || colon == std::string::npos) return 0;
    return std::stoi(node_.printed.substr(colon + 1, end - colon - 1));
  }

  /// `mgraph eval --connect` of `script` with `extra` arguments (before it, `env` settings
  /// through /usr/bin/env); exit code, output in *printed.
  int eval(int port, const std::string& script, const std::vector<std::string>& extra,
           std::string* printed, const std::vector<std::string>& env = {}) {
    std::vector<std::string> args{"/usr/bin/env", "-u", "MGRAPH_TOKEN"};
    args.insert(args.end(), env.begin(), env.end());
    args.insert(args.end(), {MGRAPH_BINARY, "eval", "--connect",
                             "127.0.0.1:" + std::to_string(port), "--script",
                             file("script.mgscript", script)});
    args.insert(args.end(), extra.begin(), extra.end());
    return run_to_end(args, printed);
  }

  void stop() {
    ::kill(node_.pid, SIGTERM);
    EXPECT_EQ(node_.finish(kSilenceMs), 0) << node_.printed;
    node_.pid = -1;
  }

  fs::path dir_;
  ChildProcess node_;
};

TEST_F(ClientTokens, TokenHashPrintsTheDigestTokenNewPutInItsEntry) {
  const Token t = new_token("ci", "write");
  ASSERT_EQ(t.token.size(), 64u);
  std::string printed;
  ASSERT_EQ(run_to_end({MGRAPH_BINARY, "token", "hash"}, &printed, t.token + "\n"), 0) << printed;
  EXPECT_EQ(t.entry, "[[clients.token]]\nname = \"ci\"\nrole = \"write\"\nsha256 = \"" +
                         printed.substr(0, 64) + "\"\n");
  // The two-block example of FIPS 180-2 and its SHA-256.
  ASSERT_EQ(run_to_end({MGRAPH_BINARY, "token", "hash"}, &printed, "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq\n"), 0);
  EXPECT_EQ(printed, "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1\n");
  EXPECT_NE(new_token("ci", "write").token, t.token);
  // Refused: a short token, a bad role or name.
  EXPECT_EQ(run_to_end({MGRAPH_BINARY, "token", "hash"}, &printed, "short\n"), 2);
  EXPECT_NE(printed.find("expected a token of at least 16 bytes on stdin (got 5)"),
            std::string::npos)
      << printed;
  EXPECT_EQ(run_to_end({MGRAPH_BINARY, "token", "new", "--role", "root"}, &printed), 2);
  EXPECT_NE(printed.find("--role root: expected read, write or admin"), std::string::npos);
  EXPECT_EQ(run_to_end({MGRAPH_BINARY, "token", "new", "--name", "a b"}, &printed), 2);
  EXPECT_NE(printed.find("--name a b: expected 1 to 64 of"), std::string::npos);
  // A token no login can carry is a bad argument, before any connection.
  for (const char* command : {"eval", "bench"}) {
    EXPECT_EQ(run_to_end({MGRAPH_BINARY, command, "--connect", "127.0.0.1:1", "--token",
                   std::string(1025, 't')},
                  &printed),
              2)
        << printed;
    EXPECT_NE(printed.find("--token (or MGRAPH_TOKEN): a token has at most 1024 bytes, this "
                           "one 1025"),
              std::string::npos)
        << printed;
  }
}

TEST_F(ClientTokens, EachTokenActsWithItsRoleAndOthersAreRefusedWhileTheNodeGoesOn) {
  const Token writer = new_token("writer", "write");
  const Token reader = new_token("reader", "read");
  const Token admin = new_token("ops", "admin");
  const int port = start(config("", writer.entry + reader.entry + admin.entry));
  ASSERT_NE(port, 0) << node_.printed;
  EXPECT_NE(node_.printed.find("; clients need a token (3 configured)\n"), std::string::npos)
      << node_.printed;
  const std::string create =
      "create Order o discount=0.25\ncommit\nget o.discount\n";
  std::string out;
  // The write token creates and commits.
  ASSERT_EQ(eval(port, create, {"--token", writer.token}, &out), 0) << out;
  EXPECT_NE(out.find("0.25"), std::string::npos) << out;

  // No token, a wrong one: refused, exit code 4, nothing run.
  EXPECT_EQ(eval(port, create, {}, &out), 4) << out;
  EXPECT_NE(out.find("mgraph: unauthenticated: this node requires a token: log in first (give "
                     "--token TOKEN or set MGRAPH_TOKEN)"),
            std::string::npos)
      << out;
  EXPECT_EQ(eval(port, create, {"--token", std::string(64, '0')}, &out), 4) << out;
  EXPECT_NE(out.find(": unauthenticated: the token is not one this node accepts"),
            std::string::npos)
      << out;

  // The read token from the environment: reads, and cannot write.
  const std::string read = "get #1.discount\n";
  const std::vector<std::string> as_reader{"MGRAPH_TOKEN=" + reader.token};
  ASSERT_EQ(eval(port, read, {}, &out, as_reader), 0) << out;
  const std::string before = out;
  EXPECT_NE(before.find("0.25"), std::string::npos) << before;
  EXPECT_EQ(eval(port, "update #1 discount=0.9\ncommit\n", {}, &out, as_reader), 4) << out;
  EXPECT_NE(out.find("mgraph: permission denied: role read cannot write (operation 0: update)"),
            std::string::npos)
      << out;
  EXPECT_EQ(eval(port, "undo\n", {}, &out, as_reader), 4) << out;
  ASSERT_EQ(eval(port, read, {}, &out, as_reader), 0) << out;
  EXPECT_EQ(out, before) << "a refused write changed the documents";

  // A load needs a write token: refused at once with the read one.
  std::string bench;
  EXPECT_EQ(run_to_end({"/usr/bin/env", "MGRAPH_TOKEN=" + reader.token, MGRAPH_BINARY, "bench",
                 "--connect", "127.0.0.1:" + std::to_string(port), "--clients", "1",
                 "--transactions", "2", "--warmup", "0", "--no-progress"},
                &bench),
            4)
      << bench;
  EXPECT_NE(bench.find("permission denied: role read cannot write"), std::string::npos) << bench;

  // The admin token may do everything; the node served all of the above and still runs.
  ASSERT_EQ(eval(port, "update #1 discount=0.5\ncommit\nget #1.discount\n",
                 {"--token", admin.token}, &out),
            0)
      << out;
  EXPECT_NE(out.find("0.5"), std::string::npos) << out;
  stop();
}

TEST_F(ClientTokens, ANodeBeyondLoopbackWithoutTokensRefusesToStart) {
  const std::string path = config("host = \"0.0.0.0\"", "");
  std::string printed;
  EXPECT_EQ(run_to_end({MGRAPHD_BINARY, "--config", path, "--node", "n1"}, &printed), 2) << printed;
  // The log's start_failed line (node=n1) carries the reason.
  EXPECT_NE(printed.find("node=n1 event=start_failed exit_code=2 error=\"" + path +
                         ": node n1 would serve clients on 0.0.0.0, beyond this machine, to "
                         "anyone: add [[clients.token]] entries (mgraph token new) or set "
                         "[clients] allow_anonymous = true"),
            std::string::npos)
      << printed;
  EXPECT_EQ(printed.find("listening"), std::string::npos) << printed;
}

TEST_F(ClientTokens, ANodeListensOnLoopbackByDefaultAndServesAnonymousClientsThere) {
  const int port = start(config("", ""));
  ASSERT_NE(port, 0) << node_.printed;
  EXPECT_NE(node_.printed.find("listening on 127.0.0.1:"), std::string::npos) << node_.printed;
  EXPECT_NE(node_.printed.find(", 127.0.0.1:" + std::to_string(port) + " (clients)"),
            std::string::npos)
      << node_.printed;
  EXPECT_NE(node_.printed.find("; clients act as admin\n"), std::string::npos) << node_.printed;
  std::string out;
  EXPECT_EQ(eval(port, "create Order o discount=0.25\ncommit\nget o.discount\n", {}, &out), 0)
      << out;
  // No token is accepted where none is configured.
  EXPECT_EQ(eval(port, "get #1.discount\n", {"--token", std::string(32, 'x')}, &out), 4) << out;
  EXPECT_NE(out.find("unauthenticated: this node accepts no tokens"), std::string::npos) << out;
  stop();
}

}  // namespace
}  // namespace mgraph::node
