// Effect deliveries end to end (docs/CLUSTER.md, "Effects"): a one-node mgraphd cluster, a
// script through `mgraph eval --connect` that triggers an effect, consumers through
// `mgraph effects consume`, and `mgraphctl dlq` on the node's admin socket. A consumer that
// acks gets the delivery once and a second consumer nothing more; a consumer that does not
// ack gets it again after the @retry pause, then it is a dead letter, retried by mgraphctl.

#include <signal.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "support/child_process.hpp"
#include "support/node_processes.hpp"
#include "support/same_output.hpp"

namespace mgraph::node {
namespace {

namespace fs = std::filesystem;
using mgraph::testing::ChildProcess;
using mgraph::testing::run_to_end;
using mgraph::testing::without_times;

constexpr int kSilenceMs = 60'000;  ///< watchdog on every wait for a process


std::vector<nlohmann::json> lines_of(const std::string& text) {
  std::vector<nlohmann::json> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    out.push_back(nlohmann::json::parse(line, nullptr, false));
    EXPECT_FALSE(out.back().is_discarded()) << "not JSON: " << line;
  }
  return out;
}

class Effects : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { testing::no_leak_report_in_nodes(); }
  void SetUp() override { dir_ = testing::fresh_test_dir("mgraph_effects"); }
  void TearDown() override {
    testing::kill_all({&node_}, kSilenceMs);
    fs::remove_all(dir_);
  }

  std::string file(const std::string& name, const std::string& text) {
    const std::string path = (dir_ / name).string();
    std::ofstream(path, std::ios::binary) << text;
    return path;
  }

  /// Starts a one-node cluster serving `schema` with an admin socket (and `--data DIR/data`
  /// with `durable`), holding `partitions` partitions; its client port.
  int start(const std::string& schema, bool durable = false, int partitions = 1) {
    file("schema.mgs", schema);
    std::string list;
    for (int p = 0; p < partitions; ++p) list += (p == 0 ? "" : ", ") + std::to_string(p);
    const std::string config =
        file("cluster.toml", "[cluster]\nschema = \"schema.mgs\"\npartitions = " + std::to_string(partitions) +
                                 "\n\n[[node]]\nname = \"n1\"\ncoordinator = true\npartitions = [" + list + "]\n" +
                                 node_extra_);
    admin_ = (dir_ / "admin.sock").string();
    std::vector<std::string> args{MGRAPHD_BINARY, "--config", config, "--node", "n1", "--admin", admin_};
    if (durable) args.insert(args.end(), {"--data", (dir_ / "data").string()});
    if (metrics_) args.insert(args.end(), {"--metrics", "127.0.0.1:0"});
    // A fixed client port (node_extra_) may be taken by another of the node's own ports,
    // which the OS chooses: the start is then made again.
    if (!testing::start_on_chosen_port(node_, args, " (clients)", kSilenceMs) ||
        !node_.read_until(": ready", kSilenceMs) || !node_.read_until("admin socket", kSilenceMs)) {
      return 0;
    }
    const std::size_t end = node_.printed.find(" (clients)");
    const std::size_t colon = node_.printed.rfind(':', end);
    if (end == std::string::npos || colon == std::string::npos) return 0;
    return std::stoi(node_.printed.substr(colon + 1, end - colon - 1));
  }

  int eval(const std::string& script, std::string* printed) {
    return run_to_end({MGRAPH_BINARY, "eval", "--connect", address(), "--script",
                file("script.mgscript", script)},
               printed);
  }

  int consume(const std::vector<std::string>& extra, std::string* printed) {
    std::vector<std::string> args{"/usr/bin/env", "-u", "MGRAPH_TOKEN", MGRAPH_BINARY, "effects",
                                  "consume", "--connect", address(), "Order.big", "--poll-ms", "20"};
    args.insert(args.end(), extra.begin(), extra.end());
    return run_to_end(args, printed);
  }

  nlohmann::json dlq(const std::vector<std::string>& words) {
    std::vector<std::string> args{MGRAPHCTL_BINARY, "--socket", admin_, "--json", "dlq"};
    args.insert(args.end(), words.begin(), words.end());
    std::string printed;
    EXPECT_EQ(run_to_end(args, &printed), 0) << printed;
    return nlohmann::json::parse(printed, nullptr, false);
  }

  std::string address() const { return "127.0.0.1:" + std::to_string(port_); }

  bool metrics_ = false;  ///< nodes serve metrics (their epoch log is timed)
  std::string node_extra_;  ///< lines of the node's table (a fixed client port)

  fs::path dir_;
  std::string admin_;
  int port_ = 0;
  ChildProcess node_;
};

TEST_F(Effects, AConsumerGetsTheDeliveryAndAcksItAndASecondConsumerGetsNothingMore) {
  port_ = start("entity Order {\n  total: int = 0\n"
                "  effect big: bool when total > 100 @retry(200, 1, 200, 5)\n}\n");
  ASSERT_NE(port_, 0) << node_.printed;
  std::string out;
  ASSERT_EQ(eval("create Order small total=5\ncreate Order o total=500\ncommit\n", &out), 0) << out;
  ASSERT_EQ(consume({"--max", "1"}, &out), 0) << out;
  const std::vector<nlohmann::json> got = lines_of(out);
  ASSERT_EQ(got.size(), 1u) << out;
  EXPECT_EQ(got[0]["record"], 2) << out;
  EXPECT_EQ(got[0]["effect"], "Order.big");
  EXPECT_EQ(got[0]["value"], true);
  EXPECT_EQ(got[0]["attempt"], 1);
  EXPECT_GE(got[0]["epoch"].get<int>(), 1);
  EXPECT_TRUE(got[0]["key"]["field"].is_number() && got[0]["key"]["version"].is_number()) << out;
  // Acknowledged: past several retry pauses, a second consumer gets nothing.
  EXPECT_EQ(consume({"--wait-ms", "1000"}, &out), 0) << out;
  EXPECT_EQ(out, "");
  // The ack ran as a transaction: the effect is down.
  ASSERT_EQ(eval("get #2.big\n", &out), 0) << out;
  EXPECT_NE(out.find("\"value\":false"), std::string::npos) << out;
  EXPECT_EQ(dlq({"list"})["dead_letters"], nlohmann::json::array());
  // Bad arguments are named.
  EXPECT_EQ(run_to_end({MGRAPH_BINARY, "effects", "consume", "--connect", address(), "big"}, &out), 2);
  EXPECT_NE(out.find("'big' is no effect name (Entity.effect)"), std::string::npos) << out;
}

TEST_F(Effects, AConsumerGoesOnAcrossTheCoordinatorKilledAndStartedAgain) {
  // The same client port across the restart, so that the consumer reaches the node again.
  const int fixed = testing::free_loopback_port();
  ASSERT_GT(fixed, 0);
  node_extra_ = "client_port = " + std::to_string(fixed) + "\n";
  const std::string schema = "entity Order {\n  total: int = 0\n  effect big: bool when total > 100\n}\n";
  port_ = start(schema, true);
  ASSERT_NE(port_, 0) << node_.printed;
  std::string out;
  ASSERT_EQ(eval("create Order a total=500\ncommit\n", &out), 0) << out;
  ChildProcess consumer = ChildProcess::spawn({"/usr/bin/env", "-u", "MGRAPH_TOKEN", MGRAPH_BINARY, "effects",
                                               "consume", "--connect", address(), "Order.big", "--poll-ms", "20",
                                               "--max", "2"},
                                              true);
  ASSERT_TRUE(consumer.read_until("\"record\":1", kSilenceMs)) << consumer.printed;
  ::kill(node_.pid, SIGKILL);
  node_.finish(kSilenceMs);
  node_ = ChildProcess();
  port_ = start(schema, true);
  ASSERT_NE(port_, 0) << node_.printed;
  ASSERT_EQ(eval("create Order b total=700\ncommit\n", &out), 0) << out;
  // It said the cluster was out of reach, connected again and took the second delivery
  // (the first one's ack may have been lost with the node: then it comes again first).
  const int rc = consumer.finish(kSilenceMs);
  EXPECT_EQ(rc, 0) << consumer.printed;
  EXPECT_NE(consumer.printed.find("trying again for up to 60000 ms"), std::string::npos) << consumer.printed;
  EXPECT_NE(consumer.printed.find("connected again"), std::string::npos) << consumer.printed;
  EXPECT_TRUE(consumer.printed.find("\"record\":2") != std::string::npos ||
              consumer.printed.find("\"record\":1", consumer.printed.find("connected again")) != std::string::npos)
      << consumer.printed;
}

TEST_F(Effects, OneConsumerGroupConsumesAnEffectAtATimeAndDeliveryModesReachTheConsumer) {
  port_ = start("entity Order {\n  total: int = 0\n"
                "  effect big: bool when total > 100\n"
                "  effect ping: bool when total > 200 @fire_and_forget\n"
                "  effect jobs: counter when total > 0 @counted\n}\n");
  ASSERT_NE(port_, 0) << node_.printed;
  std::string out;
  ASSERT_EQ(eval("create Order o total=0\ncommit\nupdate o total=500\ncommit\nupdate o total=0\ncommit\n"
                 "update o total=300\ncommit\n",
                 &out),
            0)
      << out;
  auto consume_of = [&](const std::string& effect, std::vector<std::string> extra, std::string* printed) {
    std::vector<std::string> args{"/usr/bin/env", "-u", "MGRAPH_TOKEN", MGRAPH_BINARY, "effects", "consume",
                                  "--connect", address(), effect, "--poll-ms", "20"};
    args.insert(args.end(), extra.begin(), extra.end());
    return run_to_end(args, printed);
  };
  // Group billing takes Order.big; group audit, and consumers of no group, are refused it.
  ASSERT_EQ(consume_of("Order.big", {"--group", "billing", "--max", "1"}, &out), 0) << out;
  ASSERT_EQ(lines_of(out).size(), 1u) << out;
  EXPECT_EQ(consume_of("Order.big", {"--group", "audit", "--max", "1"}, &out), 4);
  EXPECT_NE(out.find("effect Order.big is consumed by group 'billing' (its last poll"), std::string::npos) << out;
  EXPECT_EQ(consume_of("Order.big", {"--max", "1"}, &out), 4);
  EXPECT_NE(out.find("is consumed by group 'billing'"), std::string::npos) << out;
  // Another member of billing shares its deliveries (none left: the first acked it).
  EXPECT_EQ(consume_of("Order.big", {"--group", "billing", "--wait-ms", "200"}, &out), 0) << out;
  EXPECT_EQ(out, "");
  // The operator sees which group holds each effect polled.
  std::string printed;
  ASSERT_EQ(run_to_end({MGRAPHCTL_BINARY, "--socket", admin_, "--json", "consumers"}, &printed), 0) << printed;
  const nlohmann::json groups = nlohmann::json::parse(printed, nullptr, false)["consumer_groups"];
  ASSERT_TRUE(groups.is_array()) << printed;
  ASSERT_EQ(groups.size(), 1u) << printed;
  EXPECT_EQ(groups[0]["effect"], "Order.big");
  EXPECT_EQ(groups[0]["group"], "billing");
  EXPECT_EQ(groups[0]["holds"], true);
  EXPECT_EQ(consume_of("Order.big", {"--group", "no spaces"}, &out), 2);
  EXPECT_NE(out.find("--group: consumer group 'no spaces' is not a name of 1 to 64 letters"), std::string::npos)
      << out;
  // Fire-and-forget: printed, not acknowledged by the consumer, settled by the cluster.
  ASSERT_EQ(consume_of("Order.ping", {"--manual-ack", "--max", "1"}, &out), 0) << out;
  ASSERT_EQ(lines_of(out).size(), 1u) << out;
  ASSERT_EQ(eval("get #1.ping\n", &out), 0) << out;
  EXPECT_NE(out.find("\"value\":false"), std::string::npos) << out;
  // Counted: the two rises before the first poll, one delivery of count 2, one ack.
  ASSERT_EQ(consume_of("Order.jobs", {"--max", "1"}, &out), 0) << out;
  const std::vector<nlohmann::json> jobs = lines_of(out);
  ASSERT_EQ(jobs.size(), 1u) << out;
  EXPECT_EQ(jobs[0]["count"], 2) << out;
  ASSERT_EQ(eval("get #1.jobs\n", &out), 0) << out;
  EXPECT_NE(out.find("\"value\":0"), std::string::npos) << out;
}

TEST_F(Effects, AnUnackedDeliveryComesAgainAfterItsPauseThenIsADeadLetterThatRetryResends) {
  port_ = start("entity Order {\n  total: int = 0\n"
                "  effect big: bool when total > 100 @retry(200, 1, 200, 2)\n}\n");
  ASSERT_NE(port_, 0) << node_.printed;
  std::string out;
  ASSERT_EQ(eval("create Order o total=500\ncommit\n", &out), 0) << out;
  ASSERT_EQ(consume({"--manual-ack", "--max", "2"}, &out), 0) << out;
  const std::vector<nlohmann::json> got = lines_of(out);
  ASSERT_EQ(got.size(), 2u) << out;
  EXPECT_EQ(got[0]["key"], got[1]["key"]);
  EXPECT_EQ(got[0]["attempt"], 1);
  EXPECT_EQ(got[1]["attempt"], 2);
  // Two attempts, unacknowledged: nothing more comes, and it is a dead letter.
  EXPECT_EQ(consume({"--wait-ms", "600"}, &out), 0) << out;
  EXPECT_EQ(out, "");
  const nlohmann::json dead = dlq({"list"});
  ASSERT_EQ(dead["dead_letters"].size(), 1u) << dead.dump();
  EXPECT_EQ(dead["dead_letters"][0]["key"], got[0]["key"]);
  EXPECT_EQ(dead["dead_letters"][0]["attempts"], 2);
  const std::string key = std::to_string(got[0]["key"]["field"].get<std::uint64_t>()) + ":" +
                          std::to_string(got[0]["key"]["version"].get<std::uint64_t>());
  EXPECT_EQ(dlq({"retry", key})["ok"], true);
  ASSERT_EQ(consume({"--max", "1"}, &out), 0) << out;
  const std::vector<nlohmann::json> again = lines_of(out);
  ASSERT_EQ(again.size(), 1u) << out;
  EXPECT_EQ(again[0]["key"], got[0]["key"]);
  EXPECT_EQ(again[0]["attempt"], 1);
  EXPECT_EQ(dlq({"list"})["dead_letters"], nlohmann::json::array());
  // A key that is no dead letter is an error naming it (exit code 1).
  std::string printed;
  EXPECT_EQ(run_to_end({MGRAPHCTL_BINARY, "--socket", admin_, "dlq", "drop", key}, &printed), 1);
  EXPECT_NE(printed.find("no dead letter " + key), std::string::npos) << printed;
}

// The cluster keeps the history and ledger of versions a script gives an embedded
// persistent session, record for record (times aside): triggers, a script's acks, a
// consumer's ack, a @versioned field. The node is killed before anything read them, so
// their records were never stored (they wait for later log entries); the restart runs the
// log again and stores each record once, also across a second kill. A checkpoint stores
// what waits first: a restart from it does not run the epochs before it.
TEST_F(Effects, TheClusterKeepsTheLedgerAndHistoryAScriptGivesEmbeddedAcrossKills) {
  const std::string schema = "entity Order {\n  total: int = 0 @versioned\n"
                             "  effect big: bool when total > 100\n"
                             "  effect seen: counter when total > 0\n}\n";
  const std::string writes =
      "create Order a total=500\ncreate Order b total=5\ncommit\nupdate b total=300\ncommit\n"
      "ack a.big\nack a.seen\ncommit\nupdate a total=50\ncommit\nupdate a total=700\ncommit\n";
  // By id: aliases live in the client that gave them.
  const std::string reads = "audit #1.big\naudit #2.big\naudit #1.seen\nhistory #1.total\nhistory #2.total at 2\n"
                            "history #1.big at 4\n";
  // Embedded, on a data directory.
  const std::string embedded_script = file("embedded.mgscript", writes + reads);
  std::string embedded;
  ASSERT_EQ(run_to_end({MGRAPH_BINARY, "eval", file("schema.mgs", schema), "--data", (dir_ / "embedded").string(),
                        "--script", embedded_script},
                       &embedded),
            0)
      << embedded;
  const std::size_t first_read = embedded.find("{\"audit\"");
  ASSERT_NE(first_read, std::string::npos) << embedded;
  const std::string want = without_times(embedded.substr(first_read));

  metrics_ = true;  // the log the sequencer writes through is the timed one
  port_ = start(schema, true, 3);
  ASSERT_NE(port_, 0) << node_.printed;
  std::string out;
  ASSERT_EQ(eval(writes, &out), 0) << out;
  for (int kill = 0; kill < 2; ++kill) {
    ::kill(node_.pid, SIGKILL);
    node_.finish(kSilenceMs);
    port_ = start(schema, true, 3);
    ASSERT_NE(port_, 0) << node_.printed;
    ASSERT_EQ(eval(reads, &out), 0) << out;
    EXPECT_EQ(without_times(out), want) << "after kill " << kill + 1;
  }
  // A consumer's ack is a version too: b's trigger, acked by key, is settled in its trail.
  ASSERT_EQ(run_to_end({"/usr/bin/env", "-u", "MGRAPH_TOKEN", MGRAPH_BINARY, "effects", "consume", "--connect",
                        address(), "Order.big", "--poll-ms", "20", "--max", "2"},
                       &out),
            0)
      << out;
  ASSERT_EQ(eval("audit #2.big\n", &out), 0) << out;
  const nlohmann::json trail = nlohmann::json::parse(out, nullptr, false);
  ASSERT_TRUE(trail.is_object()) << out;
  ASSERT_FALSE(trail["records"].empty()) << out;
  EXPECT_EQ(trail["records"].back()["kind"], "ack") << out;
  // A version, then a checkpoint before anything read it; the restart from the checkpoint
  // runs only what follows it.
  ASSERT_EQ(eval("update #2 total=1\ncommit\n", &out), 0) << out;
  std::string printed;
  ASSERT_EQ(run_to_end({MGRAPHCTL_BINARY, "--socket", admin_, "checkpoint"}, &printed), 0) << printed;
  ::kill(node_.pid, SIGKILL);
  node_.finish(kSilenceMs);
  port_ = start(schema, true, 3);
  ASSERT_NE(port_, 0) << node_.printed;
  ASSERT_TRUE(node_.read_until("partitions_restored", kSilenceMs)) << node_.printed;
  ASSERT_TRUE(node_.read_until("\n", kSilenceMs)) << node_.printed;
  EXPECT_EQ(node_.printed.find("\"checkpoint_epoch\":0"), std::string::npos) << node_.printed;
  ASSERT_EQ(eval("history #2.total\n", &out), 0) << out;
  const nlohmann::json history = nlohmann::json::parse(out, nullptr, false);
  ASSERT_TRUE(history.is_object()) << out;
  ASSERT_EQ(history["versions"].size(), 2u) << out;
  EXPECT_EQ(history["versions"][1]["value"], 1) << out;
  // Errors are the embedded session's.
  EXPECT_EQ(eval("audit #1.total\n", &out), 1);
  EXPECT_NE(out.find("#1.total is not an effect"), std::string::npos) << out;
  EXPECT_EQ(eval("create Order c\naudit c.big\ncommit\n", &out), 1);
  EXPECT_NE(out.find("inside an open transaction"), std::string::npos) << out;
}

TEST_F(Effects, ADeadLetterAndADropOutliveTheCoordinatorKilledAndStartedAgain) {
  const std::string schema = "entity Order {\n  total: int = 0\n"
                             "  effect big: bool when total > 100 @retry(100, 1, 100, 1)\n}\n";
  port_ = start(schema, true);
  ASSERT_NE(port_, 0) << node_.printed;
  std::string out;
  ASSERT_EQ(eval("create Order o total=500\ncreate Order p total=600\ncommit\n", &out), 0) << out;
  ASSERT_EQ(consume({"--manual-ack", "--max", "2"}, &out), 0) << out;
  const std::vector<nlohmann::json> got = lines_of(out);
  ASSERT_EQ(got.size(), 2u) << out;
  // One attempt each, unacknowledged: after its pause, the next poll finds both dead.
  EXPECT_EQ(consume({"--wait-ms", "300"}, &out), 0) << out;
  EXPECT_EQ(out, "");
  ASSERT_EQ(dlq({"list"})["dead_letters"].size(), 2u);
  auto key_of = [&](int record) {
    for (const nlohmann::json& d : got) {
      if (d["record"] == record) {
        return std::to_string(d["key"]["field"].get<std::uint64_t>()) + ":" +
               std::to_string(d["key"]["version"].get<std::uint64_t>());
      }
    }
    return std::string("none");
  };
  EXPECT_EQ(dlq({"drop", key_of(2)})["ok"], true);

  // No checkpoint was taken: the restart runs the whole log, which offers both again; the
  // logged changes make o a dead letter again, with its attempt, and keep p dropped.
  ::kill(node_.pid, SIGKILL);
  node_.finish(kSilenceMs);
  port_ = start(schema, true);
  ASSERT_NE(port_, 0) << node_.printed;
  const nlohmann::json dead = dlq({"list"});
  ASSERT_EQ(dead["dead_letters"].size(), 1u) << dead.dump();
  // The log's last entry (the drop) has no epoch outcome: the recovery still ends, when
  // the log run is answered.
  EXPECT_TRUE(node_.read_until("event=recovery_done", kSilenceMs)) << node_.printed;
  EXPECT_EQ(dead["dead_letters"][0]["record"], 1);
  EXPECT_EQ(dead["dead_letters"][0]["attempts"], 1);
  EXPECT_EQ(consume({"--wait-ms", "300"}, &out), 0) << out;
  EXPECT_EQ(out, "") << "a dead letter or a dropped delivery was sent again";
  std::string printed;
  EXPECT_EQ(run_to_end({MGRAPHCTL_BINARY, "--socket", admin_, "dlq", "drop", key_of(2)}, &printed), 1);
  EXPECT_NE(printed.find("no dead letter " + key_of(2)), std::string::npos) << printed;
}

}  // namespace
}  // namespace mgraph::node

namespace mgraph::node {
namespace {

TEST_F(Effects, AResultSentWithTheKeyOfAnAsyncRequestLandsInTheFieldAndSettlesIt) {
  port_ = start("entity Order {\n  amount: float = 0\n"
                "  risk: float = async(amount) @retry(200, 1, 200, 50)\n}\n");
  ASSERT_NE(port_, 0) << node_.printed;
  std::string out;
  ASSERT_EQ(eval("create Order o amount=10\ncommit\n", &out), 0) << out;
  const std::vector<std::string> cli{"/usr/bin/env", "-u", "MGRAPH_TOKEN", MGRAPH_BINARY, "effects"};
  auto with = [&](std::vector<std::string> words) {
    std::vector<std::string> args = cli;
    args.insert(args.end(), words.begin(), words.end());
    return args;
  };
  // The field's name follows its requests; each carries the inputs.
  ASSERT_EQ(run_to_end(with({"consume", "--connect", address(), "Order.risk", "--manual-ack", "--max", "1",
                             "--poll-ms", "20"}),
                       &out),
            0)
      << out;
  const std::vector<nlohmann::json> got = lines_of(out);
  ASSERT_EQ(got.size(), 1u) << out;
  EXPECT_EQ(got[0]["effect"], "Order.risk@request");
  EXPECT_EQ(got[0]["values"], nlohmann::json::parse(R"({"amount":10})"));
  const std::string key = std::to_string(got[0]["key"]["field"].get<std::uint64_t>()) + ":" +
                          std::to_string(got[0]["key"]["version"].get<std::uint64_t>());
  // A result of the wrong type is refused; the right one is written.
  EXPECT_EQ(run_to_end(with({"resolve", "--connect", address(), key, "\"high\""}), &out), 4) << out;
  EXPECT_NE(out.find("\"outcome\":\"failed: Order.risk: "), std::string::npos) << out;
  ASSERT_EQ(run_to_end(with({"resolve", "--connect", address(), key, "0.75"}), &out), 0) << out;
  EXPECT_EQ(out, "{\"key\":\"" + key + "\",\"outcome\":\"written\"}\n");
  ASSERT_EQ(eval("get #1.risk\n", &out), 0) << out;
  EXPECT_NE(out.find("\"value\":0.75"), std::string::npos) << out;
  // Settled: past several retry pauses, nothing comes again.
  EXPECT_EQ(run_to_end(with({"consume", "--connect", address(), "Order.risk", "--manual-ack", "--wait-ms",
                             "1000", "--poll-ms", "20"}),
                       &out),
            0)
      << out;
  EXPECT_EQ(out, "");
  // The ledger holds the request and its result as an embedded session's does after the
  // same result (epochs and times aside: the refused result took an epoch of the log), and
  // the cluster's also the request's one delivery attempt (an embedded session sends none).
  auto trail_of = [](const std::string& printed, std::vector<std::string>* deliveries = nullptr) {
    std::vector<std::string> records;
    const nlohmann::json audit = nlohmann::json::parse(printed, nullptr, false);
    if (!audit.is_object()) return records;
    for (const nlohmann::json& r : audit["records"]) {
      const std::string kind = r["kind"];
      std::string record = std::to_string(r["version"].get<int>()) + " " + kind + " " + r["detail"].get<std::string>();
      if (!kind.starts_with("delivery_")) {
        records.push_back(std::move(record));
      } else if (deliveries != nullptr) {
        deliveries->push_back(std::move(record));
      }
    }
    return records;
  };
  ASSERT_EQ(eval("audit #1.risk\n", &out), 0) << out;
  std::vector<std::string> attempts;
  const std::vector<std::string> cluster = trail_of(out, &attempts);
  EXPECT_EQ(attempts, std::vector<std::string>{R"(1 delivery_attempt {"attempt":1,"group":""})"}) << out;
  std::string embedded;
  ASSERT_EQ(run_to_end({MGRAPH_BINARY, "eval", (dir_ / "schema.mgs").string(), "--data", (dir_ / "embedded").string(),
                        "--script",
                        file("embedded.mgscript", "create Order o amount=10\ncommit\nresolve o.risk " +
                                                      std::to_string(got[0]["key"]["version"].get<std::uint64_t>()) +
                                                      " 0.75\ncommit\naudit #1.risk\n")},
                       &embedded),
            0)
      << embedded;
  EXPECT_EQ(std::count_if(cluster.begin(), cluster.end(),
                          [](const std::string& r) { return r.find(R"("result":0.75,"outcome":"written")") != std::string::npos; }),
            1)
      << out;
  EXPECT_EQ(cluster, trail_of(embedded.substr(embedded.find("{\"audit\""))));
  EXPECT_EQ(run_to_end(with({"resolve", "--connect", address(), "nokey", "1"}), &out), 2);
  EXPECT_NE(out.find("'nokey' is no delivery key"), std::string::npos) << out;
}

}  // namespace
}  // namespace mgraph::node
