// The peer guard alone (node/src/peer_guard.hpp), in front of a stand-in for CAF: a plain
// listening socket of the test. Forged frames at and around the limit, headers split at
// every byte, frames that never complete, more connections than the guard relays, and a
// CAF that is gone. Legitimate bytes must pass both ways unchanged.

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "net_support.hpp"
#include "peer_guard.hpp"

namespace mgraph::hostile {
namespace {

using node::BaspFrameReader;
using node::PeerGuard;
using node::PeerGuardOptions;

constexpr int kWaitMs = 5'000;  ///< bound of every wait for the guard
constexpr std::uint32_t kMax = 1024;

TEST(BaspFrameReader, FollowsFramesAndRefusesClaimsOverTheLimit) {
  struct Case {
    std::uint32_t claim;
    bool accepted;
  };
  for (const Case& c : {Case{0, true}, Case{1, true}, Case{kMax - 1, true}, Case{kMax, true},
                        Case{kMax + 1, false}, Case{200'000'000, false},
                        Case{0xFFFFFFFFu, false}}) {
    for (const std::size_t piece : {std::size_t{1}, std::size_t{3}, std::size_t{32}}) {
      BaspFrameReader r(kMax);
      const std::string h = basp_header(c.claim);
      bool ok = true;
      for (std::size_t at = 0; at < h.size(); at += piece)
        ok = r.feed(h.data() + at, std::min(piece, h.size() - at)) && ok;
      EXPECT_EQ(ok, c.accepted) << c.claim << " in pieces of " << piece;
      EXPECT_EQ(r.frames(), 1u);
      EXPECT_EQ(r.last_claim(), c.claim);
      EXPECT_EQ(r.at_boundary(), c.claim == 0 && c.accepted);
    }
  }
}

TEST(BaspFrameReader, SkipsPayloadsSoTheNextHeaderIsTheOneChecked) {
  BaspFrameReader r(kMax);
  // A payload whose bytes look like a 4 GiB header: skipped, not read as a header.
  std::string stream = basp_header(32) + basp_header(0xFFFFFFFFu) + basp_header(0);
  EXPECT_TRUE(r.feed(stream.data(), stream.size()));
  EXPECT_EQ(r.frames(), 2u);
  EXPECT_TRUE(r.at_boundary());
  const std::string forged = basp_header(kMax + 1);
  EXPECT_FALSE(r.feed(forged.data(), forged.size()));
  // Failed for good: later bytes do not revive it.
  const std::string fine = basp_header(0);
  EXPECT_FALSE(r.feed(fine.data(), fine.size()));
}

std::unique_ptr<PeerGuard> start_guard(const Upstream& up, PeerGuardOptions options = {}) {
  options.host = "127.0.0.1";
  options.inner_port = up.port;
  options.frame_bytes_max = kMax;
  auto started = PeerGuard::start(std::move(options));
  EXPECT_TRUE(started.is_ok()) << started.status().message();
  return started.is_ok() ? std::move(started).value() : nullptr;
}

TEST(PeerGuard, RelaysFramesBothWaysUnchanged) {
  Upstream up(kWaitMs);
  ASSERT_NE(up.port, 0);
  std::unique_ptr<PeerGuard> guard = start_guard(up);
  ASSERT_TRUE(guard);
  const int client = connect_loopback(guard->port());
  ASSERT_GE(client, 0);
  const int caf = up.accept();
  ASSERT_GE(caf, 0);
  // A frame at the limit, one that is empty, and 100 KB of small frames.
  std::string frames = basp_header(kMax) + std::string(kMax, 'p') + basp_header(0);
  for (int i = 0; frames.size() < 100'000; ++i)
    frames += basp_header(100) + std::string(100, static_cast<char>('a' + i % 26));
  ASSERT_TRUE(send_all(client, frames));
  EXPECT_EQ(read_exactly(caf, frames.size(), kWaitMs), frames);
  const std::string answer(200'000, 'r');  // the other way: not parsed, passed on
  ASSERT_TRUE(send_all(caf, answer));
  EXPECT_EQ(read_exactly(client, answer.size(), kWaitMs), answer);
  EXPECT_EQ(guard->counts().accepted, 1u);
  EXPECT_EQ(guard->counts().oversized, 0u);
  // CAF closes: the guard closes the peer's side too.
  ::close(caf);
  EXPECT_TRUE(closed_within(client, kWaitMs));
  ::close(client);
}

TEST(PeerGuard, AnOversizedClaimClosesBothSidesBeforeCafSeesIt) {
  Upstream up(kWaitMs);
  std::unique_ptr<PeerGuard> guard = start_guard(up);
  ASSERT_TRUE(guard);
  for (const std::uint32_t claim : {kMax + 1, 200'000'000u, 0xFFFFFFFFu}) {
    const int client = connect_loopback(guard->port());
    const int caf = up.accept();
    ASSERT_GE(caf, 0);
    // A legitimate frame first, passed on; then the forged header, never passed on.
    const std::string first = basp_header(10) + std::string(10, 'x');
    ASSERT_TRUE(send_all(client, first));
    ASSERT_EQ(read_exactly(caf, first.size(), kWaitMs), first);
    send_all(client, basp_header(claim));
    std::string leaked;
    EXPECT_TRUE(closed_within(caf, kWaitMs, &leaked)) << claim;
    EXPECT_EQ(leaked, "") << claim;
    EXPECT_TRUE(closed_within(client, kWaitMs)) << claim;
    ::close(caf);
    ::close(client);
  }
  EXPECT_EQ(guard->counts().oversized, 3u);
}

TEST(PeerGuard, FramesThatNeverCompleteAreClosedAfterTheFrameTime) {
  Upstream up(kWaitMs);
  PeerGuardOptions options;
  options.frame_time_max = std::chrono::milliseconds(200);
  std::unique_ptr<PeerGuard> guard = start_guard(up, options);
  ASSERT_TRUE(guard);
  const std::string half_header = basp_header(0).substr(0, 16);
  const std::string half_payload = basp_header(100) + std::string(50, 'x');
  for (const std::string& sent : {std::string(), half_header, half_payload}) {
    const int client = connect_loopback(guard->port());
    const int caf = up.accept();
    ASSERT_GE(caf, 0);
    send_all(client, sent);
    EXPECT_TRUE(closed_within(client, kWaitMs)) << sent.size() << " bytes sent";
    ::close(caf);
    ::close(client);
  }
  EXPECT_EQ(guard->counts().too_slow, 3u);
  // Between complete frames a connection may stay idle.
  const int client = connect_loopback(guard->port());
  const int caf = up.accept();
  ASSERT_TRUE(send_all(client, basp_header(0)));
  ASSERT_EQ(read_exactly(caf, 32, kWaitMs).size(), 32u);
  EXPECT_FALSE(closed_within(client, 600)) << "closed while idle between frames";
  ASSERT_TRUE(send_all(client, basp_header(0)));
  EXPECT_EQ(read_exactly(caf, 32, kWaitMs).size(), 32u);
  EXPECT_EQ(guard->counts().too_slow, 3u);
  ::close(caf);
  ::close(client);
}

TEST(PeerGuard, ConnectionsBeyondTheMaximumAreTurnedAway) {
  Upstream up(kWaitMs);
  PeerGuardOptions options;
  options.connections_max = 2;
  std::unique_ptr<PeerGuard> guard = start_guard(up, options);
  ASSERT_TRUE(guard);
  std::vector<int> clients, cafs;
  for (int i = 0; i < 2; ++i) {
    clients.push_back(connect_loopback(guard->port()));
    cafs.push_back(up.accept());
    ASSERT_GE(cafs.back(), 0);
  }
  const int third = connect_loopback(guard->port());
  EXPECT_TRUE(closed_within(third, kWaitMs));
  ::close(third);
  EXPECT_EQ(guard->counts().turned_away, 1u);
  // A slot freed: the next connection is relayed again.
  ::close(clients[0]);
  EXPECT_TRUE(closed_within(cafs[0], kWaitMs));
  const int fourth = connect_loopback(guard->port());
  const int caf = up.accept();
  ASSERT_GE(caf, 0);
  ASSERT_TRUE(send_all(fourth, basp_header(0)));
  EXPECT_EQ(read_exactly(caf, 32, kWaitMs).size(), 32u);
  for (int fd : {cafs[0], cafs[1], clients[1], fourth, caf}) ::close(fd);
}

TEST(PeerGuard, ACafThatIsGoneClosesThePeersConnection) {
  std::unique_ptr<PeerGuard> guard;
  {
    Upstream up(kWaitMs);
    guard = start_guard(up);
    ASSERT_TRUE(guard);
  }  // nothing listens at the inner port any more
  const int client = connect_loopback(guard->port());
  ASSERT_GE(client, 0);
  EXPECT_TRUE(closed_within(client, kWaitMs));
  ::close(client);
}

}  // namespace
}  // namespace mgraph::hostile
