// Forged BASP frames on a node's peer port: headers whose payload_len claims far more than
// any real message (4 GiB, 200 MB, just over the limit), one at a time or many at once,
// the header sent in one piece or byte by byte. Each such connection must be closed at
// once without the node allocating what the header claims, and the node must go on
// serving: afterwards a full 3-node run succeeds.

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "net_support.hpp"

namespace mgraph::hostile {
namespace {

/// How long a forged connection may stay open: the guard closes it on the header.
constexpr int kCloseMs = 5'000;
/// Resident memory a node may gain from all the probes: far below any claim (200 MB).
constexpr long kRssGrowthMaxKib = 64 * 1024;

struct Probe {
  const char* what;
  std::uint32_t claim;
  bool byte_by_byte;
};

TEST(PeerFrames, ForgedPayloadLengthsCloseTheConnectionAndTheNodeGoesOnServing) {
  ScratchDir dir("mgraph_peer_frames");
  const std::string config = dir.write("cluster.toml", kThreeNodes);
  ChildProcess n2 = ChildProcess::spawn(node_args(config, "n2"), /*merge_stderr=*/true);
  ChildProcess n3 = ChildProcess::spawn(node_args(config, "n3"));
  const std::string p2 = listen_port(n2), p3 = listen_port(n3);
  ASSERT_FALSE(p2.empty() || p3.empty()) << n2.printed << n3.printed;
  const long rss_before = rss_kib(n2.pid);
  ASSERT_GT(rss_before, 0);

  const Probe probes[] = {
      {"4 GiB", 0xFFFFFFFFu, false},
      {"200 MB", 200'000'000u, false},
      {"4 MiB + 1 (the default limit + 1)", (4u << 20) + 1, false},
      {"3 GiB, byte by byte", 3u << 30, true},
  };
  for (const Probe& p : probes) {
    const int fd = connect_loopback(std::stoi(p2));
    ASSERT_GE(fd, 0) << p.what;
    const std::string header = basp_header(p.claim);
    if (p.byte_by_byte) {
      for (char c : header) send_all(fd, std::string_view(&c, 1));
    } else {
      send_all(fd, header);
    }
    EXPECT_TRUE(closed_within(fd, kCloseMs)) << p.what << ": connection still open";
    ::close(fd);
  }
  // Twenty connections at once, each claiming 200 MB: each is closed.
  std::vector<int> many;
  for (int i = 0; i < 20; ++i) {
    many.push_back(connect_loopback(std::stoi(p2)));
    ASSERT_GE(many.back(), 0);
    send_all(many.back(), basp_header(200'000'000u));
  }
  for (int fd : many) {
    EXPECT_TRUE(closed_within(fd, kCloseMs));
    ::close(fd);
  }
  const long rss_after = rss_kib(n2.pid);
  EXPECT_LT(rss_after - rss_before, kRssGrowthMaxKib)
      << "resident memory " << rss_before << " KiB before, " << rss_after << " KiB after";

  // The node still serves: the coordinator runs the whole cluster through it.
  std::vector<std::string> a1 = node_args(config, "n1");
  a1.insert(a1.end(), {"--peer", "n2=127.0.0.1:" + p2, "--peer", "n3=127.0.0.1:" + p3});
  ChildProcess n1 = ChildProcess::spawn(a1, true);
  EXPECT_EQ(n1.finish(kSilenceMs), 0) << n1.printed;
  EXPECT_NE(n1.printed.find("120 epochs (120 committed, 0 aborted)"), std::string::npos)
      << n1.printed;
  EXPECT_NE(n1.printed.find("5 of 5 partitions equal the oracle"), std::string::npos)
      << n1.printed;
  EXPECT_EQ(n2.finish(kSilenceMs), 0) << n2.printed;
  EXPECT_EQ(n3.finish(kSilenceMs), 0) << n3.printed;
  EXPECT_NE(n2.printed.find("a frame claims 4294967295 bytes, more than peer_frame_bytes_max "
                            "(4194304); connection closed"),
            std::string::npos)
      << n2.printed;
}

TEST(PeerFrames, TheLimitIsTheConfiguredOne) {
  ScratchDir dir("mgraph_peer_frames_limit");
  std::string text = kThreeNodes;
  text.replace(text.find("epochs = 120"), 12, "epochs = 30\npeer_frame_bytes_max = 262144");
  const std::string config = dir.write("cluster.toml", text);
  ChildProcess n2 = ChildProcess::spawn(node_args(config, "n2"), true);
  ChildProcess n3 = ChildProcess::spawn(node_args(config, "n3"));
  const std::string p2 = listen_port(n2), p3 = listen_port(n3);
  ASSERT_FALSE(p2.empty() || p3.empty()) << n2.printed << n3.printed;
  const int fd = connect_loopback(std::stoi(p2));
  ASSERT_GE(fd, 0);
  send_all(fd, basp_header(262'145u));  // one byte over
  EXPECT_TRUE(closed_within(fd, kCloseMs));
  ::close(fd);
  // A real run under the lower limit: its frames are far smaller.
  std::vector<std::string> a1 = node_args(config, "n1");
  a1.insert(a1.end(), {"--peer", "n2=127.0.0.1:" + p2, "--peer", "n3=127.0.0.1:" + p3});
  ChildProcess n1 = ChildProcess::spawn(a1, true);
  EXPECT_EQ(n1.finish(kSilenceMs), 0) << n1.printed;
  EXPECT_NE(n1.printed.find("30 epochs (30 committed, 0 aborted)"), std::string::npos)
      << n1.printed;
  EXPECT_EQ(n2.finish(kSilenceMs), 0) << n2.printed;
  EXPECT_EQ(n3.finish(kSilenceMs), 0) << n3.printed;
  EXPECT_NE(n2.printed.find("a frame claims 262145 bytes, more than peer_frame_bytes_max (262144)"),
            std::string::npos)
      << n2.printed;
}

}  // namespace
}  // namespace mgraph::hostile
