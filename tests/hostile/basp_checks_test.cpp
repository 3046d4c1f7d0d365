// The frame checks inside CAF's reads (node/src/basp_checks.hpp) on a real actor system:
// forged headers over the limit (in one piece and byte by byte), frames that never
// complete, more connections than allowed; and a real CAF peer whose frames pass, before
// and after an idle spell longer than the frame time.

#include <gtest/gtest.h>

#include <caf/all.hpp>
#include <caf/io/all.hpp>

#include <mutex>
#include <string>
#include <vector>

#include "basp_checks.hpp"
#include "net_support.hpp"

namespace mgraph::hostile {
namespace {

using node::BaspCheckOptions;

constexpr int kWaitMs = 5'000;  ///< bound of every wait for the node
constexpr std::uint32_t kMax = 1024;

/// Answers x with x + step. (Spawned with an argument: CAF 0.17 dereferences a null tuple
/// for a function actor spawned with none.)
caf::behavior echo(int step) {
  return {[step](int x) { return x + step; }};
}

/// An actor system whose middleman checks frames, serving an actor on 127.0.0.1.
class Checked {
 public:
  explicit Checked(BaspCheckOptions options) : system_(configure(cfg_)) {
    options.report = [this](const std::string& what) {
      std::lock_guard<std::mutex> lock(mutex_);
      reports_.push_back(what);
    };
    checks_ = node::basp_checks(system_);
    if (checks_) checks_->enable(std::move(options));
    actor_ = system_.spawn(echo, 1);
    auto port = system_.middleman().publish(actor_, 0, "127.0.0.1");
    port_ = port ? *port : 0;
  }
  ~Checked() { caf::anon_send_exit(actor_, caf::exit_reason::user_shutdown); }
  int port() const { return port_; }
  bool ok() const { return checks_.has_value() && port_ != 0; }
  node::PeerGuardCounts counts() const { return checks_->counts(); }
  std::vector<std::string> reports() {
    std::lock_guard<std::mutex> lock(mutex_);
    return reports_;
  }

 private:
  static caf::actor_system_config& configure(caf::actor_system_config& cfg) {
    node::load_checked_middleman(cfg);
    return cfg;
  }
  // The reports first: the system's threads may report until it is gone.
  std::mutex mutex_;
  std::vector<std::string> reports_;
  caf::actor_system_config cfg_;
  caf::actor_system system_;
  caf::actor actor_;
  std::optional<node::BaspChecks> checks_;
  int port_ = 0;
};

BaspCheckOptions limited() {
  BaspCheckOptions o;
  o.frame_bytes_max = kMax;
  return o;
}

TEST(BaspChecks, AClaimOverTheLimitClosesTheConnectionBeforeCafReadsOn) {
  Checked node(limited());
  ASSERT_TRUE(node.ok());
  for (const bool byte_by_byte : {false, true}) {
    for (const std::uint32_t claim : {kMax + 1, 200'000'000u, 0xFFFFFFFFu}) {
      const int fd = connect_loopback(node.port());
      ASSERT_GE(fd, 0);
      const std::string header = basp_header(claim);
      if (byte_by_byte) {
        for (const char c : header) send_all(fd, std::string_view(&c, 1));
      } else {
        send_all(fd, header);
      }
      EXPECT_TRUE(closed_within(fd, kWaitMs)) << claim << (byte_by_byte ? " byte by byte" : "");
      ::close(fd);
    }
  }
  EXPECT_EQ(node.counts().oversized, 6u);
  EXPECT_EQ(node.counts().accepted, 6u);
  const std::vector<std::string> reports = node.reports();
  ASSERT_EQ(reports.size(), 6u);
  EXPECT_NE(reports[0].find("a frame claims 1025 bytes, more than peer_frame_bytes_max (1024); connection closed"),
            std::string::npos)
      << reports[0];
  EXPECT_EQ(reports[0].rfind("peer 127.0.0.1:", 0), 0u) << reports[0];
}

TEST(BaspChecks, FramesThatNeverCompleteAreClosedAfterTheFrameTime) {
  BaspCheckOptions options = limited();
  options.frame_time_max = std::chrono::milliseconds(200);
  Checked node(options);
  ASSERT_TRUE(node.ok());
  // Nothing at all, half a header, a header and half its payload (a client handshake
  // within the limit, which BASP waits for).
  const std::string half_header = basp_header(0).substr(0, 16);
  const std::string half_payload = basp_header(100) + std::string(50, 'x');
  for (const std::string& sent : {std::string(), half_header, half_payload}) {
    const int fd = connect_loopback(node.port());
    ASSERT_GE(fd, 0);
    send_all(fd, sent);
    EXPECT_TRUE(closed_within(fd, kWaitMs)) << sent.size() << " bytes sent";
    ::close(fd);
  }
  EXPECT_EQ(node.counts().too_slow, 3u);
  EXPECT_EQ(node.counts().oversized, 0u);
  const std::vector<std::string> reports = node.reports();
  ASSERT_FALSE(reports.empty());
  EXPECT_NE(reports[0].find("no complete frame within 200 ms; connection closed"), std::string::npos) << reports[0];
}

TEST(BaspChecks, ConnectionsBeyondTheMaximumAreShutDownAtOnce) {
  BaspCheckOptions options = limited();
  options.connections_max = 2;
  Checked node(options);
  ASSERT_TRUE(node.ok());
  // CAF accepts in order on one thread: the third is accepted after the first two.
  const int first = connect_loopback(node.port());
  const int second = connect_loopback(node.port());
  ASSERT_GE(first, 0);
  ASSERT_GE(second, 0);
  const int third = connect_loopback(node.port());
  ASSERT_GE(third, 0);
  EXPECT_TRUE(closed_within(third, kWaitMs));
  EXPECT_EQ(node.counts().turned_away, 1u);
  EXPECT_EQ(node.counts().accepted, 3u);
  for (const int fd : {first, second, third}) ::close(fd);
}

TEST(BaspChecks, ARealPeersFramesPassAndItMayStayIdleBetweenThem) {
  BaspCheckOptions options;  // the default limit: CAF's handshake and messages pass
  options.frame_time_max = std::chrono::milliseconds(200);
  Checked node(options);
  ASSERT_TRUE(node.ok());
  caf::actor_system_config cfg;
  cfg.load<caf::io::middleman>();
  caf::actor_system peer(cfg);
  auto remote = peer.middleman().remote_actor("127.0.0.1", static_cast<std::uint16_t>(node.port()));
  ASSERT_TRUE(remote) << peer.render(remote.error());
  caf::scoped_actor self(peer);
  auto ask = [&](int x) {
    int got = 0;
    self->request(*remote, std::chrono::seconds(5), x)
        .receive([&](int y) { got = y; }, [&](caf::error& e) { ADD_FAILURE() << peer.render(e); });
    return got;
  };
  EXPECT_EQ(ask(41), 42);
  // Idle for three frame times between frames, which is not a slow frame: the connection
  // must not go down meanwhile (watched for three frame times, the span under test).
  self->monitor(*remote);
  bool down = false;
  self->receive([&](const caf::down_msg&) { down = true; }, caf::after(std::chrono::milliseconds(600)) >> [] {});
  EXPECT_FALSE(down) << "the connection was closed while idle between frames";
  EXPECT_EQ(ask(1), 2);
  EXPECT_EQ(node.counts().too_slow, 0u);
  EXPECT_EQ(node.counts().oversized, 0u);
  EXPECT_EQ(node.counts().accepted, 1u);
}

}  // namespace
}  // namespace mgraph::hostile
