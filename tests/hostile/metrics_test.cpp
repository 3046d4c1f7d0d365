// Idle and slow clients on a node's --metrics port: connections that send nothing, that
// send half a request line, or that trickle a request byte by byte. While twenty of them
// are open, a scrape must still be answered within about two seconds; with more of them
// than the server has threads, within a few seconds (each is dropped after the request
// timeout) instead of civetweb's default 30 s per connection.

#include <gtest/gtest.h>

#include <chrono>
#include <csignal>
#include <string>
#include <vector>

#include "net_support.hpp"

namespace mgraph::hostile {
namespace {

/// Bound of a scrape: a hung server fails the test instead of hanging it.
constexpr int kScrapeMs = 20'000;

/// GET /metrics on 127.0.0.1:port; the response, or "" on a failure or after kScrapeMs.
std::string scrape(int port) {
  const int fd = connect_loopback(port);
  if (fd < 0) return {};
  std::string response;
  if (send_all(fd, "GET /metrics HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n") &&
      !closed_within(fd, kScrapeMs, &response)) {
    response.clear();
  }
  ::close(fd);
  return response;
}

/// Milliseconds a scrape took, and whether it answered with the node's metrics.
std::pair<long, bool> timed_scrape(int port) {
  const auto start = std::chrono::steady_clock::now();
  const std::string response = scrape(port);
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                      std::chrono::steady_clock::now() - start)
                      .count();
  return {ms, response.find("mgraph_partitions 2") != std::string::npos};
}

class MetricsPort : public ::testing::Test {
 protected:
  void SetUp() override {
    config_ = dir_.write("cluster.toml", kThreeNodes);
    std::vector<std::string> a = node_args(config_, "n2");
    a.insert(a.end(), {"--metrics", "127.0.0.1:0"});
    node_ = ChildProcess::spawn(a);
    const std::string m = metrics_port(node_);
    ASSERT_FALSE(m.empty()) << node_.printed;
    port_ = std::stoi(m);
    // The gauges are set once its partitions are built, before it listens.
    ASSERT_FALSE(listen_port(node_).empty()) << node_.printed;
  }
  void TearDown() override {
    for (int fd : held_) ::close(fd);
    if (node_.pid > 0) {
      ::kill(node_.pid, SIGTERM);
      node_.finish(kSilenceMs);
    }
  }
  /// Opens `count` connections that send `sent` and then nothing.
  void hold(int count, const std::string& sent) {
    for (int i = 0; i < count; ++i) {
      held_.push_back(connect_loopback(port_));
      ASSERT_GE(held_.back(), 0);
      if (!sent.empty()) send_all(held_.back(), sent);
    }
  }

  ScratchDir dir_{"mgraph_metrics_port"};
  std::string config_;
  ChildProcess node_;
  int port_ = 0;
  std::vector<int> held_;
};

TEST_F(MetricsPort, TwentyIdleOrSlowConnectionsDoNotDelayAScrape) {
  hold(2, "");  // two idle connections used to block every scrape for 30 s
  auto [ms, ok] = timed_scrape(port_);
  EXPECT_TRUE(ok);
  EXPECT_LT(ms, 2'000);
  hold(8, "");
  hold(10, "GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\n");  // a request never finished
  std::tie(ms, ok) = timed_scrape(port_);
  EXPECT_TRUE(ok);
  EXPECT_LT(ms, 2'000) << "a scrape with 20 idle or slow connections open";
}

TEST_F(MetricsPort, MoreSlowConnectionsThanThreadsAreDroppedAfterTheRequestTimeout) {
  // A slowloris: 100 connections, each with a request line and no end of headers.
  hold(100, "GET /metrics HTTP/1.1\r\n");
  auto [ms, ok] = timed_scrape(port_);
  EXPECT_TRUE(ok);
  EXPECT_LT(ms, 10'000) << "a scrape behind 100 slow connections";
  // Those connections were closed by the server.
  int closed = 0;
  for (int fd : held_) closed += closed_within(fd, kScrapeMs) ? 1 : 0;
  EXPECT_EQ(closed, 100);
}

}  // namespace
}  // namespace mgraph::hostile
