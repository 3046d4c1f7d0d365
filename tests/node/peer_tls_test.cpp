// TLS between nodes ([tls], scripts/make-certs.sh): nodes whose certificates the cluster's
// CA signed link over TLS and serve clients; a node presenting a certificate from another
// CA is refused by the coordinator, which names the peer's address, never becomes ready,
// and the cluster goes on serving; unreadable TLS files are refused naming the file.

#include <signal.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <cstdlib>
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


/// The port a node printed before `what` ("(peers)" or "(clients)"); 0 if it did not.
int port_of(ChildProcess& c, const std::string& what) {
  if (!c.read_until(what, kSilenceMs)) return 0;
  const std::size_t end = c.printed.find(" " + what);
  const std::size_t colon = c.printed.rfind(':', end);
  return std::stoi(c.printed.substr(colon + 1, end - colon - 1));
}

class PeerTls : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { mgraph::testing::no_leak_report_in_nodes(); }
  void SetUp() override {
    dir_ = mgraph::testing::fresh_test_dir("mgraph_tls");
    fs::copy_file(fs::path(MGRAPH_EXAMPLES_DIR) / "order_total.mgs", dir_ / "schema.mgs");
  }
  void TearDown() override {
    mgraph::testing::kill_all({&n1_, &n2_}, kSilenceMs);
    fs::remove_all(dir_);
  }

  /// scripts/make-certs.sh DIR NODES...: whether it succeeded.
  bool make_certs(const std::string& dir, const std::vector<std::string>& nodes) {
    std::vector<std::string> args{"/bin/bash", MGRAPH_SCRIPTS_DIR "/make-certs.sh",
                                  (dir_ / dir).string()};
    args.insert(args.end(), nodes.begin(), nodes.end());
    std::string printed;
    const int rc = run_to_end(args, &printed);
    EXPECT_EQ(rc, 0) << printed;
    return rc == 0;
  }

  /// Two nodes serving order_total.mgs, with `tls` as the [tls] table.
  std::string config(const std::string& name, const std::string& tls) {
    const std::string path = (dir_ / name).string();
    std::ofstream(path) << "[cluster]\nschema = \"schema.mgs\"\npartitions = 2\n\n"
                           "[[node]]\nname = \"n1\"\ncoordinator = true\npartitions = [0]\n\n"
                           "[[node]]\nname = \"n2\"\npartitions = [1]\n\n"
                        << tls;
    return path;
  }
  static std::string tls_table(const std::string& ca, const std::string& certs) {
    return "[tls]\nca = \"" + ca + "\"\ncert = \"" + certs + "/{node}.crt\"\nkey = \"" + certs +
           "/{node}.key\"\n";
  }

  ChildProcess start(const std::string& config, const std::string& node, int n1_peer,
                     const std::vector<std::string>& extra = {}) {
    std::vector<std::string> args{MGRAPHD_BINARY, "--config", config, "--node", node};
    args.insert(args.end(), extra.begin(), extra.end());
    if (n1_peer != 0) args.insert(args.end(), {"--peer", "n1=127.0.0.1:" + std::to_string(n1_peer)});
    return ChildProcess::spawn(args, /*merge_stderr=*/true);
  }

  /// A script through n2's client port prints the value it wrote.
  void expect_served(int client) {
    const std::string script = (dir_ / "w.mgscript").string();
    std::ofstream(script) << "create Order o discount=0.25\ncommit\nget o.discount\n";
    std::string out;
    EXPECT_EQ(run_to_end({MGRAPH_BINARY, "eval", "--connect", "127.0.0.1:" + std::to_string(client),
                   "--script", script},
                  &out),
              0)
        << out;
    EXPECT_NE(out.find("\"value\":0.25"), std::string::npos) << out;
  }

  fs::path dir_;
  ChildProcess n1_, n2_;
};

TEST_F(PeerTls, NodesSignedByTheClusterCaLinkOverTlsAndOthersCannotJoin) {
  ASSERT_TRUE(make_certs("certs", {"n1", "n2"}));
  ASSERT_TRUE(make_certs("other", {"n2"}));  // another CA, same node name
  const std::string good = config("good.toml", tls_table("certs/ca.crt", "certs"));
  // The intruder trusts the cluster's CA (its certificate is no secret), but its own
  // certificate was signed by another CA.
  const std::string intruder = config("intruder.toml", tls_table("certs/ca.crt", "other"));

  const std::string admin = (dir_ / "n1.sock").string();
  n1_ = start(good, "n1", 0, {"--admin", admin});
  const int peer = port_of(n1_, "(peers)");
  ASSERT_NE(peer, 0) << n1_.printed;
  EXPECT_NE(n1_.printed.find("; peers over TLS"), std::string::npos) << n1_.printed;

  n2_ = start(intruder, "n2", peer);
  ASSERT_TRUE(n1_.read_until("TLS handshake failed", kSilenceMs)) << n1_.printed;
  EXPECT_NE(n1_.printed.find("node=n1 event=peer_connection_closed detail=\"peer 127.0.0.1:"), std::string::npos)
      << n1_.printed;
  EXPECT_NE(n1_.printed.find(": TLS handshake failed: certificate verify failed (unable to get "
                             "local issuer certificate); connection closed"),
            std::string::npos)
      << n1_.printed;
  // The intruder hears why and names the node it tried to reach; it never becomes ready.
  ASSERT_TRUE(n2_.read_until("node=n2 event=peer_connection_closed detail=\"peer n1 (127.0.0.1:" + std::to_string(peer) + "): TLS",
                             kSilenceMs))
      << n2_.printed;
  EXPECT_EQ(n2_.printed.find(": ready"), std::string::npos) << n2_.printed;
  ::kill(n2_.pid, SIGTERM);
  EXPECT_EQ(n2_.finish(kSilenceMs), 0) << n2_.printed;
  EXPECT_EQ(n2_.printed.find(": ready"), std::string::npos) << n2_.printed;
  n2_.pid = -1;

  // The coordinator stayed up: the real n2 joins over TLS and clients are served.
  n2_ = start(good, "n2", peer);
  ASSERT_TRUE(n2_.read_until(": ready", kSilenceMs)) << n2_.printed;
  const int client = port_of(n2_, "(clients)");
  ASSERT_NE(client, 0) << n2_.printed;
  expect_served(client);
  std::string status;
  ASSERT_EQ(run_to_end({MGRAPHCTL_BINARY, "--socket", admin, "--json", "status"}, &status), 0) << status;
  EXPECT_NE(status.find("\"peer_tls\":true"), std::string::npos) << status;
  for (ChildProcess* c : {&n2_, &n1_}) {
    ::kill(c->pid, SIGTERM);
    EXPECT_EQ(c->finish(kSilenceMs), 0) << c->printed;
    c->pid = -1;
  }
}

TEST_F(PeerTls, BadTlsFilesAreRefusedNamingTheFile) {
  ASSERT_TRUE(make_certs("certs", {"n1"}));
  std::string printed;
  const std::string missing = config("missing.toml", tls_table("certs/nope.crt", "certs"));
  EXPECT_EQ(run_to_end({MGRAPHD_BINARY, "--config", missing, "--node", "n1"}, &printed), 2) << printed;
  EXPECT_NE(printed.find("tls.ca " + (dir_ / "certs/nope.crt").string()), std::string::npos)
      << printed;
  // n2 has no certificate of its own.
  const std::string no_cert = config("no_cert.toml", tls_table("certs/ca.crt", "certs"));
  EXPECT_EQ(run_to_end({MGRAPHD_BINARY, "--config", no_cert, "--node", "n2", "--peer", "n1=127.0.0.1:1"},
                &printed),
            2)
      << printed;
  EXPECT_NE(printed.find("tls.cert " + (dir_ / "certs/n2.crt").string()), std::string::npos)
      << printed;
}

}  // namespace
}  // namespace mgraph::node
