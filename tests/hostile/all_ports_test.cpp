// Every listening port of one running mgraphd at once — peer port, client port, metrics
// port, admin socket — fed what a hostile or broken peer sends: random bytes, truncated
// frames, frames claiming gigabytes, well-formed frames of the wrong kind, connections held
// half-open while sending a byte now and then (slowloris), and on the client port missing
// and wrong tokens and a read token trying to write. Between the rounds and at the end the
// node must answer good clients on every port, and what was committed before must read the
// same, also after the node is stopped and started again on its data directory.

#include <signal.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <cstdio>
#include <map>
#include <string>
#include <vector>

#include "admin_node.hpp"
#include "admin_server.hpp"
#include "client_tokens.hpp"
#include "net_support.hpp"
#include "support/http_get.hpp"
#include "support/prng.hpp"

namespace mgraph::hostile {
namespace {

constexpr const char* kAccounts = "entity Account { balance: float = 0  doubled: float = balance * 2 }\n";
/// Random-byte connections per port and round.
constexpr int kRandomConnections = 50;
/// Half-open connections held per port while good clients are served.
constexpr int kSlowConnections = 8;
/// Bytes of one random-byte connection at most.
constexpr std::size_t kRandomBytesMax = 8192;
/// How long the node may take to close a connection it must refuse.
constexpr int kCloseMs = 15'000;

/// The number after `key` in what `c` printed (up to `end`); 0 if it did not print it.
int printed_port(ChildProcess& c, const std::string& key) {
  if (!c.read_until(key, kSilenceMs)) return 0;
  const std::size_t at = c.printed.find(key) + key.size();
  return std::atoi(c.printed.c_str() + at);
}

class AllPorts : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { mgraph::testing::no_leak_report_in_nodes(); }
  void SetUp() override {
    dir_ = std::make_unique<ScratchDir>("mgraph_all_ports");
    dir_->write("s.mgs", kAccounts);
    write_token_ = *node::new_token();
    read_token_ = *node::new_token();
    config_ = dir_->write(
        "cluster.toml",
        std::string("[cluster]\nschema = \"s.mgs\"\npartitions = 1\n\n[[node]]\nname = \"n1\"\n"
                    "coordinator = true\npartitions = [0]\n\n") +
            "[[clients.token]]\nname = \"writer\"\nrole = \"write\"\nsha256 = \"" +
            node::to_hex(node::sha256(write_token_)) + "\"\n\n" +
            "[[clients.token]]\nname = \"reader\"\nrole = \"read\"\nsha256 = \"" +
            node::to_hex(node::sha256(read_token_)) + "\"\n");
    socket_ = (dir_->path / "admin.sock").string();
  }
  void TearDown() override {
    for (int fd : held_) ::close(fd);
    if (node_.pid > 0) {
      ::kill(node_.pid, SIGKILL);
      node_.finish(kSilenceMs);
    }
  }

  /// Starts the node on its data directory; false if it did not print its ports.
  bool start() {
    node_ = ChildProcess::spawn({MGRAPHD_BINARY, "--config", config_, "--node", "n1", "--data",
                                 (dir_->path / "data").string(), "--admin", socket_, "--metrics",
                                 "127.0.0.1:0"},
                                true);
    metrics_ = printed_port(node_, "metrics on port ");
    if (!node_.read_until(" (clients)", kSilenceMs) || !node_.read_until(": ready", kSilenceMs)) return false;
    const std::size_t clients = node_.printed.find(" (clients)");
    const std::size_t peers = node_.printed.find(" (peers)");
    client_ = std::atoi(node_.printed.c_str() + node_.printed.rfind(':', clients) + 1);
    peer_ = std::atoi(node_.printed.c_str() + node_.printed.rfind(':', peers) + 1);
    return metrics_ > 0 && client_ > 0 && peer_ > 0 && node_.read_until("admin socket", kSilenceMs);
  }

  /// `mgraph eval --connect` of `script` with `token` (none if empty): exit code, output.
  int eval(const std::string& script, const std::string& token, std::string* out) {
    std::vector<std::string> args{"/usr/bin/env", "-u", "MGRAPH_TOKEN", MGRAPH_BINARY, "eval",
                                  "--connect", "127.0.0.1:" + std::to_string(client_),
                                  "--resend-patience", "0", "--script", dir_->write("s.mgscript", script)};
    if (!token.empty()) args.insert(args.end(), {"--token", token});
    ChildProcess c = ChildProcess::spawn(args, true);
    const int rc = c.finish(kSilenceMs);
    *out = c.printed;
    return rc;
  }

  /// Every port answers a good client, and the committed value reads as it was.
  void expect_served(const std::string& when) {
    SCOPED_TRACE(when);
    ASSERT_EQ(::kill(node_.pid, 0), 0) << "the node is gone: " << node_.printed;
    std::string out;
    EXPECT_EQ(eval("get #1.doubled\n", read_token_, &out), 0) << out;
    EXPECT_NE(out.find("{\"get\":\"#1.doubled\",\"value\":84,\"version\":1,\"revision\":1}"), std::string::npos) << out;
    const testing::HttpResponse metrics = testing::http_get(metrics_, "/metrics");
    EXPECT_EQ(metrics.status, 200) << metrics.body.substr(0, 200);
    EXPECT_NE(metrics.body.find("mgraph_epochs_total"), std::string::npos);
    int rc = 0;
    const std::string status = mgraphctl(socket_, "status", &rc);
    EXPECT_EQ(rc, 0) << status;
    EXPECT_NE(status.find("\"node\":\"n1\""), std::string::npos) << status;
  }

  /// Opens `fd` for a half-open connection that sends one byte of `prefix` and holds it.
  void hold(int fd, const std::string& prefix) {
    ASSERT_GE(fd, 0);
    send_all(fd, prefix.substr(0, 1));
    held_.push_back(fd);
    ++tried_["half-open connections"];
  }

  /// Connections to `connect` each sending random bytes (some starting with `prefix`, so
  /// that they pass the first check); the node closes each or keeps it, and goes on.
  template <typename Connect>
  void random_bytes(Connect connect, const std::string& prefix, mgraph::Prng& rng) {
    for (int i = 0; i < kRandomConnections; ++i) {
      const int fd = connect();
      ASSERT_GE(fd, 0);
      std::string bytes = i % 2 == 0 ? prefix : std::string();
      const std::size_t n = 1 + rng.below(kRandomBytesMax);
      for (std::size_t k = 0; k < n; ++k) bytes.push_back(static_cast<char>(rng.below(256)));
      send_all(fd, bytes);
      ::shutdown(fd, SHUT_WR);
      closed_within(fd, kCloseMs);
      ::close(fd);
      ++tried_["random-byte connections"];
    }
  }

  /// Sends `bytes` on a new connection and expects the node to close it.
  template <typename Connect>
  void refused(Connect connect, const std::string& bytes, const std::string& what) {
    const int fd = connect();
    ASSERT_GE(fd, 0) << what;
    send_all(fd, bytes);
    ::shutdown(fd, SHUT_WR);  // a frame cut short: nothing more comes
    EXPECT_TRUE(closed_within(fd, kCloseMs)) << what << ": the node kept the connection";
    ::close(fd);
    ++tried_[what];
  }

  std::unique_ptr<ScratchDir> dir_;
  std::string config_, socket_, write_token_, read_token_;
  ChildProcess node_;
  int client_ = 0, peer_ = 0, metrics_ = 0;
  std::vector<int> held_;
  std::map<std::string, int> tried_;
};

TEST_F(AllPorts, TheNodeServesGoodClientsOnEveryPortThroughHostileOnesAndKeepsWhatItCommitted) {
  ASSERT_TRUE(start()) << node_.printed;
  std::string out;
  ASSERT_EQ(eval("create Account a balance=42\ncommit\n", write_token_, &out), 0) << out;
  expect_served("before");
  mgraph::Prng rng(20261203);
  auto tcp = [](int port) { return [port] { return connect_loopback(port); }; };
  auto unix_socket = [this] { return connect_to(socket_); };

  // Peer port: the peer guard reads BASP frames before CAF sees them.
  random_bytes(tcp(peer_), basp_header(16), rng);
  refused(tcp(peer_), basp_header(0xffffffffu), "peer frames claiming 4 GiB");
  refused(tcp(peer_), basp_header(64).substr(0, 20), "truncated peer headers");
  refused(tcp(peer_), basp_header(8, 0x7f) + std::string(8, 'x'), "peer frames of an unknown kind");
  for (int i = 0; i < kSlowConnections; ++i) hold(connect_loopback(peer_), basp_header(16));
  expect_served("after the peer port");

  // Client port: Cap'n Proto RPC with a login first.
  random_bytes(tcp(client_), std::string("\0\0\0\0\x02\0\0\0", 8), rng);
  // A segment table claiming 2^32 - 1 segments, then one segment of 2^29 words.
  refused(tcp(client_), std::string("\xff\xff\xff\xff", 4), "client frames claiming 4 G segments");
  refused(tcp(client_), std::string("\0\0\0\0\0\0\0\x20", 8), "client frames claiming 4 GiB");
  refused(tcp(client_), std::string("\0\0\0\0\x04\0\0\0\0\0\0\0", 12), "truncated client frames");
  // A well-formed message whose root is no RPC message the node knows: a struct of junk.
  refused(tcp(client_), std::string("\0\0\0\0\x02\0\0\0", 8) + std::string("\0\0\0\0\x01\0\x00\0", 8) +
                            std::string("\xde\xad\xbe\xef\xde\xad\xbe\xef", 8),
          "client frames of the wrong kind");
  for (int i = 0; i < kSlowConnections; ++i) hold(connect_loopback(client_), std::string("\0", 1));
  EXPECT_EQ(eval("get #1.balance\n", "", &out), 4) << out;
  ++tried_["clients without a token"];
  EXPECT_EQ(eval("get #1.balance\n", std::string(64, 'a'), &out), 4) << out;
  ++tried_["clients with a wrong token"];
  for (const char* write : {"update #1 balance=1\ncommit\n", "create Account b\ncommit\n", "undo\n"}) {
    EXPECT_EQ(eval(write, read_token_, &out), 4) << out;
    EXPECT_NE(out.find("permission denied"), std::string::npos) << out;
    ++tried_["writes with a read token"];
  }
  expect_served("after the client port");

  // Metrics port: HTTP.
  random_bytes(tcp(metrics_), "GET /", rng);
  refused(tcp(metrics_), "GET /" + std::string(1 << 20, 'a') + " HTTP/1.1\r\n\r\n", "overlong HTTP request lines");
  refused(tcp(metrics_), "GET /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999999\r\n\r\nabc",
          "HTTP requests claiming a huge body");
  {
    const testing::HttpResponse wrong = testing::http_get(metrics_, "/nothing-here");
    EXPECT_NE(wrong.status, 200);
    ++tried_["HTTP requests for unknown paths"];
  }
  for (int i = 0; i < kSlowConnections; ++i) hold(connect_loopback(metrics_), "GET /metrics HTTP/1.1\r\n");
  expect_served("after the metrics port");

  // Admin socket: one JSON line per request.
  random_bytes(unix_socket, "status ", rng);
  for (const std::string& line : {std::string(1 << 20, 'x') + "\n", std::string("frobnicate\n"),
                                 std::string("{\"command\":\"status\"}\n"), std::string("status --json junk\n"),
                                 std::string("explain\n"), std::string("log-level loud\n"),
                                 std::string("\xff\xfe\x00\n", 4)}) {
    const int fd = connect_to(socket_);
    ASSERT_GE(fd, 0);
    (void)send_bytes(fd, line);  // the node may answer an overlong line before reading it all
    const std::string answer = read_answer(fd, kCloseMs);
    ::close(fd);
    EXPECT_NE(answer.find("\"error\""), std::string::npos) << line.substr(0, 40) << " -> " << answer;
    ++tried_["bad admin commands"];
  }
  // The socket serves admin_clients_max at once (it is the node's user's alone, mode 0600):
  // all but one held, the last one is the operator's.
  for (std::size_t i = 0; i + 1 < node::admin_clients_max; ++i) hold(connect_to(socket_), "status");
  expect_served("after the admin socket");

  // Stopped and started again on its data directory: the same.
  for (int fd : held_) ::close(fd);
  held_.clear();
  ::kill(node_.pid, SIGTERM);
  EXPECT_EQ(node_.finish(kSilenceMs), 0) << node_.printed;
  node_.pid = -1;
  ASSERT_TRUE(start()) << node_.printed;
  expect_served("after a restart");

  int total = 0;
  for (const auto& [what, n] : tried_) {
    std::printf("%5d %s\n", n, what.c_str());
    total += n;
  }
  std::printf("%5d hostile inputs in all\n", total);
}

}  // namespace
}  // namespace mgraph::hostile
