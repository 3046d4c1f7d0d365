// Checkpoints on a real cluster (docs/CLUSTER.md, "Checkpoints"): two mgraphd processes on
// loopback, each with --data. `mgraphctl checkpoint` stores every partition's image on its
// node and answers the epoch; a node killed with SIGKILL and started again on its --data
// brings the cluster back from that checkpoint (the coordinator logs partitions_restored
// with its epoch) and runs only the log after it; the documents read as before the kill.
// A node whose checkpoint store is gone makes the cluster run the whole log instead,
// while the log still holds it.

#include <signal.h>

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "support/child_process.hpp"
#include "support/node_processes.hpp"

namespace mgraph::node {
namespace {

namespace fs = std::filesystem;
using mgraph::testing::ChildProcess;
using mgraph::testing::run_to_end;

constexpr int kSilenceMs = 60'000;  ///< watchdog on every wait for a process

constexpr const char* kSchema =
    "entity Order {\n  items: many Item via order\n  total: float = sum(items[*].price)\n}\n"
    "entity Item { price: float = 0 }\n";

class Checkpoints : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { testing::no_leak_report_in_nodes(); }
  void SetUp() override {
    dir_ = testing::fresh_test_dir("mgraph_checkpoints");
    std::ofstream(dir_ / "schema.mgs") << kSchema;
    // Automatic checkpoints far apart: the test takes its own with mgraphctl.
    std::ofstream(dir_ / "cluster.toml")
        << "[cluster]\nschema = \"schema.mgs\"\npartitions = 3\ncheckpoint_every = 1000000\n\n"
        << "[[node]]\nname = \"n1\"\ncoordinator = true\npartitions = [0]\n\n"
        << "[[node]]\nname = \"n2\"\npartitions = [1, 2]\n";
  }
  void TearDown() override {
    testing::kill_all({&n1_, &n2_}, kSilenceMs);
    fs::remove_all(dir_);
  }

  /// Starts node `name` on its --data directory; false when it did not come up.
  bool launch(const std::string& name) {
    std::vector<std::string> args{MGRAPHD_BINARY, "--config", (dir_ / "cluster.toml").string(), "--node", name,
                                  "--data", (dir_ / (name + ".data")).string(), "--admin",
                                  (dir_ / (name + ".sock")).string()};
    if (name == "n2") args.insert(args.end(), {"--peer", "n1=127.0.0.1:" + std::to_string(peer_port_)});
    ChildProcess& p = name == "n1" ? n1_ : n2_;
    p = ChildProcess::spawn(args, true);
    if (!p.read_until(" (clients)", kSilenceMs) || !p.read_until("admin socket", kSilenceMs)) return false;
    if (name == "n1") {
      peer_port_ = port_before(p.printed, " (peers)");
      client_port_ = port_before(p.printed, " (clients)");
    }
    return true;
  }
  static int port_before(const std::string& text, const std::string& what) {
    const std::size_t end = text.find(what);
    const std::size_t colon = text.rfind(':', end);
    return end == std::string::npos || colon == std::string::npos ? 0
                                                                  : std::stoi(text.substr(colon + 1, end - colon - 1));
  }
  /// Waits until the cluster takes transactions (n1 logs the partitions restored).
  bool ready(std::size_t restores) {
    const std::string line = "event=partitions_restored";
    auto count = [&] {
      std::size_t n = 0;
      for (std::size_t at = n1_.printed.find(line); at != std::string::npos; at = n1_.printed.find(line, at + 1)) ++n;
      return n;
    };
    // Each read takes more output or fails on silence: bounded by the output's bound.
    while (count() < restores) {
      if (!n1_.read_some(kSilenceMs)) return false;
    }
    return true;
  }

  int eval(const std::string& script, std::string* printed) {
    const std::string path = (dir_ / "script.mgscript").string();
    std::ofstream(path) << script;
    return run_to_end({MGRAPH_BINARY, "eval", "--connect", "127.0.0.1:" + std::to_string(client_port_), "--script",
                       path, "--resend-patience", "30"},
                      printed);
  }
  nlohmann::json ctl(const std::string& node, const std::string& command, int* rc = nullptr) {
    std::string printed;
    const int code =
        run_to_end({MGRAPHCTL_BINARY, "--socket", (dir_ / (node + ".sock")).string(), "--json", command}, &printed);
    if (rc != nullptr) *rc = code;
    return nlohmann::json::parse(printed, nullptr, false);
  }

  fs::path dir_;
  int peer_port_ = 0, client_port_ = 0;
  ChildProcess n1_, n2_;
};

/// Epoch of the restore the coordinator logged last ("checkpoint_epoch=N").
std::string last_restore(const std::string& printed) {
  const std::size_t at = printed.rfind("event=partitions_restored");
  if (at == std::string::npos) return "none";
  const std::size_t eol = printed.find('\n', at);
  return printed.substr(at, eol == std::string::npos ? std::string::npos : eol - at);
}

TEST_F(Checkpoints, ANodeKilledComesBackFromTheCheckpointItsDataHolds) {
  ASSERT_TRUE(launch("n1")) << n1_.printed;
  ASSERT_TRUE(launch("n2")) << n2_.printed;
  ASSERT_TRUE(ready(1)) << n1_.printed;
  std::string out;
  ASSERT_EQ(eval("create Order o\ncreate Item a price=10\ncreate Item b price=5\nlink o.items a\n"
                 "link o.items b\ncommit\nupdate a price=20\ncommit\n",
                 &out),
            0)
      << out;
  int rc = 0;
  const nlohmann::json taken = ctl("n2", "checkpoint", &rc);  // any node may ask
  ASSERT_EQ(rc, 0) << taken.dump();
  EXPECT_EQ(taken["node"], "n2");
  ASSERT_EQ(taken["checkpoint"], 2) << taken.dump();
  EXPECT_GT(taken["image_bytes"].get<std::uint64_t>(), 0u);
  // Nothing ran since: a second one is refused, saying why.
  const nlohmann::json again = ctl("n1", "checkpoint", &rc);
  EXPECT_EQ(rc, 1);
  EXPECT_NE(again.value("error", "").find("epoch 2 is checkpointed already"), std::string::npos) << again.dump();
  ASSERT_EQ(eval("update Item#3 price=7\ncommit\n", &out), 0) << out;

  ::kill(n2_.pid, SIGKILL);
  n2_.finish(kSilenceMs);
  ASSERT_TRUE(launch("n2")) << n2_.printed;
  ASSERT_TRUE(ready(2)) << n1_.printed;
  EXPECT_NE(last_restore(n1_.printed).find("checkpoint_epoch=2 "), std::string::npos) << last_restore(n1_.printed);
  ASSERT_EQ(eval("get Order#1.total\n", &out), 0) << out;
  EXPECT_NE(out.find("\"value\":27"), std::string::npos) << out;

  // Without n2's checkpoint store, the cluster runs the whole log (it is not compacted:
  // one checkpoint only), and reads the same.
  ::kill(n2_.pid, SIGKILL);
  n2_.finish(kSilenceMs);
  fs::remove_all(dir_ / "n2.data" / "partitions");
  ASSERT_TRUE(launch("n2")) << n2_.printed;
  ASSERT_TRUE(ready(3)) << n1_.printed;
  EXPECT_NE(last_restore(n1_.printed).find("checkpoint_epoch=0 "), std::string::npos) << last_restore(n1_.printed);
  ASSERT_EQ(eval("get Order#1.total\n", &out), 0) << out;
  EXPECT_NE(out.find("\"value\":27"), std::string::npos) << out;
}

}  // namespace
}  // namespace mgraph::node
