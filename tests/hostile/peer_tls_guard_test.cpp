// The peer guard with TLS (node/src/peer_tls.hpp) in front of a stand-in for CAF: a peer
// whose certificate the cluster's CA signed gets its frames through, decrypted and
// unchanged, and its answers back encrypted; the guard still reads every frame, so even an
// authenticated peer's oversized claim closes the connection before CAF sees it. A peer
// with another CA's certificate, or without TLS, never gets a byte to CAF.

#include <openssl/ssl.h>
#include <sys/socket.h>

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>

#include "net_support.hpp"
#include "peer_guard.hpp"
#include "peer_tls.hpp"

namespace mgraph::hostile {
namespace {

namespace fs = std::filesystem;
using node::PeerGuard;
using node::PeerGuardOptions;
using node::TlsContext;
using node::TlsFiles;

constexpr int kWaitMs = 5'000;  ///< bound of every wait
constexpr std::uint32_t kMax = 1024;

/// Certificates made once by scripts/make-certs.sh: the cluster's CA with n1 and n2, and
/// another CA with its own n2.
class Certs {
 public:
  Certs() : dir_(fs::temp_directory_path() / ("mgraph_tls_guard_" + std::to_string(::getpid()))) {
    fs::remove_all(dir_);
    const std::string script = std::string(MGRAPH_SOURCE_DIR) + "/scripts/make-certs.sh";
    const std::string quiet = " > /dev/null 2>&1";
    ok_ = std::system(("/bin/bash " + script + " " + (dir_ / "cluster").string() + " n1 n2" + quiet).c_str()) == 0 &&
          std::system(("/bin/bash " + script + " " + (dir_ / "other").string() + " n2" + quiet).c_str()) == 0;
  }
  ~Certs() { fs::remove_all(dir_); }
  bool ok() const { return ok_; }
  /// `node`'s files of the CA `issuer` ("cluster" or "other"), trusting the cluster's CA.
  TlsFiles files(const std::string& issuer, const std::string& node) const {
    return TlsFiles{(dir_ / "cluster" / "ca.crt").string(), (dir_ / issuer / (node + ".crt")).string(),
                    (dir_ / issuer / (node + ".key")).string()};
  }
  std::shared_ptr<const TlsContext> context(const std::string& issuer, const std::string& node) const {
    auto loaded = TlsContext::load(files(issuer, node));
    EXPECT_TRUE(loaded.is_ok()) << loaded.status().message();
    return loaded.is_ok() ? std::move(loaded).value() : nullptr;
  }

 private:
  fs::path dir_;
  bool ok_ = false;
};

const Certs& certs() {
  static const Certs made;
  return made;
}

/// A blocking TLS client of the test (each read and write bounded by kWaitMs).
class TlsClient {
 public:
  TlsClient(const TlsContext& context, int port) : fd_(connect_loopback(port)) {
    if (fd_ < 0) return;
    timeval tv{kWaitMs / 1000, 0};
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    ::setsockopt(fd_, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    ssl_ = SSL_new(context.get());
    SSL_set_fd(ssl_, fd_);
    SSL_set1_host(ssl_, "n1");
    connected_ = SSL_connect(ssl_) == 1;
  }
  ~TlsClient() {
    if (ssl_ != nullptr) SSL_free(ssl_);
    if (fd_ >= 0) ::close(fd_);
  }
  bool connected() const { return connected_; }
  bool write(const std::string& data) {
    std::size_t done = 0;
    while (done < data.size()) {  // each pass writes bytes or fails
      const int put = SSL_write(ssl_, data.data() + done, static_cast<int>(data.size() - done));
      if (put <= 0) return false;
      done += static_cast<std::size_t>(put);
    }
    return true;
  }
  /// Up to `n` bytes; fewer when the guard closes or goes silent.
  std::string read(std::size_t n) {
    std::string got;
    char buf[4096];
    while (got.size() < n) {  // each pass reads bytes or ends
      const int r = SSL_read(ssl_, buf, static_cast<int>(std::min(sizeof buf, n - got.size())));
      if (r <= 0) break;
      got.append(buf, static_cast<std::size_t>(r));
    }
    return got;
  }

 private:
  int fd_ = -1;
  SSL* ssl_ = nullptr;
  bool connected_ = false;
};

std::unique_ptr<PeerGuard> start_tls_guard(const Upstream& up, std::vector<std::string>* reports) {
  PeerGuardOptions options;
  options.host = "127.0.0.1";
  options.inner_port = up.port;
  options.frame_bytes_max = kMax;
  options.tls = certs().context("cluster", "n1");
  options.report = [reports](const std::string& what) { reports->push_back(what); };
  auto started = PeerGuard::start(std::move(options));
  EXPECT_TRUE(started.is_ok()) << started.status().message();
  return started.is_ok() ? std::move(started).value() : nullptr;
}

TEST(PeerTlsGuard, AnAuthenticatedPeersFramesPassButAnOversizedClaimIsStillClosed) {
  ASSERT_TRUE(certs().ok());
  Upstream up(kWaitMs);
  std::vector<std::string> reports;  // written by the guard's thread until it stops
  std::unique_ptr<PeerGuard> guard = start_tls_guard(up, &reports);
  ASSERT_TRUE(guard);
  auto n2 = certs().context("cluster", "n2");
  ASSERT_TRUE(n2);
  TlsClient client(*n2, guard->port());
  ASSERT_TRUE(client.connected());
  const int caf = up.accept();
  ASSERT_GE(caf, 0);
  std::string frames = basp_header(kMax) + std::string(kMax, 'p') + basp_header(0);
  for (int i = 0; frames.size() < 200'000; ++i)
    frames += basp_header(100) + std::string(100, static_cast<char>('a' + i % 26));
  ASSERT_TRUE(client.write(frames));
  EXPECT_EQ(read_exactly(caf, frames.size(), kWaitMs), frames);  // decrypted, unchanged
  const std::string answer(300'000, 'r');
  ASSERT_TRUE(send_all(caf, answer));
  EXPECT_EQ(client.read(answer.size()), answer);  // encrypted back
  // The peer is authenticated, and its forged claim is still refused before CAF sees it.
  ASSERT_TRUE(client.write(basp_header(0xFFFFFFFFu)));
  std::string leaked;
  EXPECT_TRUE(closed_within(caf, kWaitMs, &leaked));
  EXPECT_EQ(leaked, "");
  ::close(caf);
  guard.reset();
  EXPECT_EQ(reports.size(), 1u);
  EXPECT_NE(reports.at(0).find("a frame claims 4294967295 bytes"), std::string::npos)
      << reports.at(0);
}

TEST(PeerTlsGuard, APeerWithAnotherCasCertificateOrWithoutTlsGetsNoByteToCaf) {
  ASSERT_TRUE(certs().ok());
  Upstream up(kWaitMs);
  std::vector<std::string> reports;
  std::unique_ptr<PeerGuard> guard = start_tls_guard(up, &reports);
  ASSERT_TRUE(guard);
  auto intruder = certs().context("other", "n2");
  ASSERT_TRUE(intruder);
  {
    // TLS 1.3: the client may finish its side before the guard checks its certificate.
    TlsClient client(*intruder, guard->port());
    const int caf = up.accept();
    ASSERT_GE(caf, 0);
    if (client.connected()) client.write(basp_header(10) + std::string(10, 'x'));
    std::string leaked;
    EXPECT_TRUE(closed_within(caf, kWaitMs, &leaked));
    EXPECT_EQ(leaked, "");
    EXPECT_EQ(client.read(1), "");
    ::close(caf);
  }
  {
    const int plain = connect_loopback(guard->port());
    ASSERT_GE(plain, 0);
    const int caf = up.accept();
    ASSERT_GE(caf, 0);
    send_all(plain, basp_header(10) + std::string(10, 'x'));
    std::string leaked;
    EXPECT_TRUE(closed_within(caf, kWaitMs, &leaked));
    EXPECT_EQ(leaked, "");
    EXPECT_TRUE(closed_within(plain, kWaitMs));
    ::close(caf);
    ::close(plain);
  }
  EXPECT_EQ(guard->counts().tls_refused, 2u);
  guard.reset();
  ASSERT_EQ(reports.size(), 2u);
  EXPECT_NE(reports[0].find("TLS handshake failed: certificate verify failed (unable to get "
                            "local issuer certificate)"),
            std::string::npos)
      << reports[0];
  EXPECT_NE(reports[1].find("TLS handshake failed"), std::string::npos) << reports[1];
}

}  // namespace
}  // namespace mgraph::hostile
