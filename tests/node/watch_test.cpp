// Subscriptions end to end (docs/CLUSTER.md, "Subscriptions"): a one-node mgraphd cluster
// (two partitions), scripts through `mgraph eval --connect`, and subscribers through
// `mgraph watch`: the epochs that changed what they watch, in order, with only the watched
// fields; a subscriber behind the coordinator's buffer resumes from the current values,
// then gets the following epochs, unless the coordinator's --data holds them (its history
// of subscriptions, which a kill keeps); a coordinator started again on a new log (no
// --data) makes its subscribers resume from its values, however far the new log ran before
// they asked; names the schema does not have are errors, and the
// fields the engine adds (an async field's `risk@request`, `risk@done`) are not watched. A
// node serves as many client connections at once as [cluster] client_connections_max says
// (subscribers hold one each), raising its descriptor limit for them or refusing to start.

#include <signal.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "mgraph/codec/client_rpc.hpp"
#include "support/child_process.hpp"
#include "support/metrics_scrape.hpp"
#include "support/metrics_text.hpp"
#include "support/node_processes.hpp"

namespace mgraph::node {
namespace {

namespace fs = std::filesystem;
using mgraph::testing::ChildProcess;
using mgraph::testing::run_to_end;

constexpr int kSilenceMs = 60'000;  ///< watchdog on every wait for a process

constexpr const char* kSchema =
    "entity Customer {\n  name: string = \"\"\n}\n"
    "entity Order {\n  total: int = 0\n  qty: int = 1\n  line: int = total * qty\n}\n"
    "entity Quote {\n  amount: int = 0\n  risk: float = async(amount)\n}\n";

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) out.push_back(line);
  return out;
}

class Watch : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { testing::no_leak_report_in_nodes(); }
  void SetUp() override { dir_ = testing::fresh_test_dir("mgraph_watch"); }
  void TearDown() override {
    testing::kill_all({&node_, &watcher_}, kSilenceMs);
    fs::remove_all(dir_);
  }

  std::string file(const std::string& name, const std::string& text) {
    const std::string path = (dir_ / name).string();
    std::ofstream(path, std::ios::binary) << text;
    return path;
  }

  /// Starts a one-node cluster of two partitions serving kSchema, with `extra` [cluster]
  /// lines, under the shell's `ulimit` arguments when given; its client port (0: it did not
  /// start).
  int start(const std::string& extra = "", const std::string& ulimit = "", const std::string& data = "") {
    file("schema.mgs", kSchema);
    const std::string config =
        file("cluster.toml", "[cluster]\nschema = \"schema.mgs\"\npartitions = 2\n" + extra +
                                 "\n[[node]]\nname = \"n1\"\ncoordinator = true\npartitions = [0, 1]\n" + node_extra_);
    std::vector<std::string> args{MGRAPHD_BINARY, "--config", config, "--node", "n1"};
    if (!data.empty()) args.insert(args.end(), {"--data", data, "--metrics", "127.0.0.1:0"});
    if (!ulimit.empty()) args.insert(args.begin(), {"/bin/sh", "-c", "ulimit " + ulimit + " && exec \"$@\"", "sh"});
    if (!env_.empty()) {
      args.insert(args.begin(), env_.begin(), env_.end());
      args.insert(args.begin(), "/usr/bin/env");
    }
    // A fixed client port (fix_client_port) may be taken by another of the node's own ports,
    // which the OS chooses: the start is then made again.
    if (!testing::start_on_chosen_port(node_, args, " (clients)", kSilenceMs) ||
        !node_.read_until(": ready", kSilenceMs)) {
      return 0;
    }
    const std::size_t end = node_.printed.find(" (clients)");
    const std::size_t colon = node_.printed.rfind(':', end);
    if (end == std::string::npos || colon == std::string::npos) return 0;
    return std::stoi(node_.printed.substr(colon + 1, end - colon - 1));
  }

  int eval(const std::string& script, std::string* printed) {
    return run_to_end({MGRAPH_BINARY, "eval", "--connect", address(), "--script", file("script.mgscript", script)},
                      printed);
  }

  std::vector<std::string> watch_args(const std::vector<std::string>& extra) const {
    std::vector<std::string> args{"/usr/bin/env", "-u", "MGRAPH_TOKEN", MGRAPH_BINARY, "watch", "--connect",
                                  address()};
    args.insert(args.end(), extra.begin(), extra.end());
    return args;
  }

  /// The subscriber's exit code once it ended by itself (--count), reaped.
  int finish_watcher() {
    const int rc = watcher_.finish(kSilenceMs);
    watcher_.pid = -1;
    return rc;
  }

  std::string address() const { return "127.0.0.1:" + std::to_string(port_); }

  /// The same client port across restarts (the node's table), so that a subscriber reaches
  /// the node again; false if no port was free.
  bool fix_client_port() {
    const int fixed = testing::free_loopback_port();
    if (fixed <= 0) return false;
    node_extra_ = "client_port = " + std::to_string(fixed) + "\n";
    return true;
  }

  /// Kills the node with SIGKILL and starts it again with `extra` and `data` (start()); its
  /// client port (0: it did not start).
  int kill_and_start(const std::string& extra = "", const std::string& data = "") {
    ::kill(node_.pid, SIGKILL);
    node_.finish(kSilenceMs);
    node_ = ChildProcess();
    return start(extra, "", data);
  }

  /// Whether the subscriber printed `n` lines, reading on while it does (bounded: each read
  /// waits kSilenceMs at most).
  bool watcher_lines(std::size_t n) {
    while (static_cast<std::size_t>(std::count(watcher_.printed.begin(), watcher_.printed.end(), '\n')) < n) {
      if (!watcher_.read_some(kSilenceMs)) return false;
    }
    return true;
  }

  /// A subscriber (`args`) on a node without --data that ran two epochs (Order#1.total 1,
  /// 2), stopped with SIGSTOP once it printed `lines` lines while the node is killed and
  /// started again — a new log — which runs five epochs (Order#1.total 10 to 14, past the
  /// old log's epochs) before the subscriber goes on. The lines it printed by the time it
  /// ended by itself (--count); none if something failed (recorded).
  std::vector<std::string> stopped_across_a_new_log(const std::vector<std::string>& args, std::size_t lines) {
    std::vector<std::string> none;
    EXPECT_TRUE(fix_client_port());
    port_ = start();
    EXPECT_NE(port_, 0) << node_.printed;
    std::string out;
    EXPECT_EQ(eval("create Order o total=1\ncommit\nupdate o total=2\ncommit\n", &out), 0) << out;
    watcher_ = ChildProcess::spawn(watch_args(args));
    EXPECT_TRUE(watcher_lines(lines)) << watcher_.printed;
    if (::testing::Test::HasFailure()) return none;
    ::kill(watcher_.pid, SIGSTOP);
    port_ = kill_and_start();
    EXPECT_NE(port_, 0) << node_.printed;
    EXPECT_EQ(eval("create Order o total=10\ncommit\n"
                   "update o total=11\ncommit\nupdate o total=12\ncommit\n"
                   "update o total=13\ncommit\nupdate o total=14\ncommit\n",
                   &out),
              0)
        << out;
    ::kill(watcher_.pid, SIGCONT);
    EXPECT_EQ(finish_watcher(), 0) << watcher_.printed;
    return ::testing::Test::HasFailure() ? none : lines_of(watcher_.printed);
  }

  fs::path dir_;
  std::string node_extra_;  ///< lines of the node's table (a fixed client port)
  std::vector<std::string> env_;  ///< NAME=VALUE the node runs with
  int port_ = 0;
  ChildProcess node_;
  ChildProcess watcher_;
};

TEST_F(Watch, EachCommittedEpochThatChangedAWatchedFieldComesInOrderWithOnlyTheWatchedFields) {
  port_ = start();
  ASSERT_NE(port_, 0) << node_.printed;
  // Started first, from epoch 0: every epoch of the script is in the buffer, whenever the
  // subscriber asks.
  watcher_ = ChildProcess::spawn(watch_args({"--from", "0", "--count", "5", "Order#1.line", "Order#2.total", "Customer"}));
  std::string out;
  ASSERT_EQ(eval("create Order o total=5 qty=2\n"        // epoch 1: #1
                 "create Order p total=7\n"
                 "commit\n"
                 "update o total=10\n"                   // epoch 2: o's line, not p
                 "commit\n"
                 "update o qty=1\n"                      // epoch 3: rejected, no line
                 "reject\n"
                 "update p total=8\n"                    // epoch 4: p's total
                 "update o qty=3\n"
                 "commit\n"
                 "create Customer c name=\"Ada\"\n"      // epoch 5: a customer: it exists,
                 "commit\n"                              // with every field
                 "undo\n"                                // epoch 6: undone, it exists no more
                 "get o.line\n",
                 &out),
            0)
      << out;
  ASSERT_EQ(finish_watcher(), 0) << watcher_.printed;
  EXPECT_EQ(lines_of(watcher_.printed),
            (std::vector<std::string>{
                R"({"epoch":1,"changes":[{"ref":"Order#1","field":"line","value":10,"version":1},{"ref":"Order#2","field":"total","value":7,"version":0}]})",
                R"({"epoch":2,"changes":[{"ref":"Order#1","field":"line","value":20,"version":2}]})",
                R"({"epoch":4,"changes":[{"ref":"Order#1","field":"line","value":30,"version":3},{"ref":"Order#2","field":"total","value":8,"version":1}]})",
                R"({"epoch":5,"changes":[{"ref":"Customer#3","field":"exists","value":true,"version":1},{"ref":"Customer#3","field":"name","value":"Ada","version":0}]})",
                R"({"epoch":6,"changes":[{"ref":"Customer#3","field":"exists","value":false,"version":2}]})",
            }))
      << watcher_.printed << "\nthe script printed:\n" << out;
}

TEST_F(Watch, ASubscriberBehindTheBufferResumesFromTheCurrentValuesThenGetsTheFollowingEpochs) {
  // Three epochs kept and no history: the four of the first script overrun it, and the
  // three of the second leave the subscriber's cursor (epoch 4) covered however fast they
  // come.
  port_ = start("watch_epochs_kept = 3\nwatch_history_epochs = 0\n");
  ASSERT_NE(port_, 0) << node_.printed;
  std::string out;
  ASSERT_EQ(eval("create Order o total=1\ncommit\n"
                 "update o total=2\ncommit\n"
                 "update o total=3\ncommit\n"
                 "update o total=4\ncommit\n",
                 &out),
            0)
      << out;
  // Epochs 2 to 4 are kept: from 0 it is told to resume, and reads the values after 4.
  watcher_ = ChildProcess::spawn(watch_args({"--from", "0", "--count", "3", "Order#1.total"}));
  ASSERT_TRUE(watcher_.read_until("\n", kSilenceMs)) << watcher_.printed;
  EXPECT_EQ(watcher_.printed,
            R"({"epoch":4,"snapshot":true,"resumed_from":0,"changes":[{"ref":"Order#1","field":"total","value":4,"version":3}]})"
            "\n");
  ASSERT_EQ(eval("update #1 total=5\ncommit\nupdate #1 qty=9\ncommit\nupdate #1 total=6\ncommit\n", &out), 0) << out;
  ASSERT_EQ(finish_watcher(), 0) << watcher_.printed;
  const std::vector<std::string> got = lines_of(watcher_.printed);
  ASSERT_EQ(got.size(), 3u) << watcher_.printed;
  EXPECT_EQ(got[1], R"({"epoch":5,"changes":[{"ref":"Order#1","field":"total","value":5,"version":4}]})");
  EXPECT_EQ(got[2], R"({"epoch":7,"changes":[{"ref":"Order#1","field":"total","value":6,"version":5}]})");
  // A cursor the buffer still covers gets the epochs themselves.
  ASSERT_EQ(run_to_end(watch_args({"--from", "5", "--count", "1", "Order"}), &out), 0) << out;
  EXPECT_EQ(out, R"({"epoch":6,"changes":[{"ref":"Order#1","field":"qty","value":9,"version":1},{"ref":"Order#1","field":"line","value":45,"version":6}]})"
                 "\n");
}

/// The epochs and values of Order#1.total a subscriber printed, in order; a snapshot line
/// fails the test.
std::vector<std::pair<std::uint64_t, std::int64_t>> totals(const std::string& printed) {
  std::vector<std::pair<std::uint64_t, std::int64_t>> out;
  for (const std::string& line : lines_of(printed)) {
    const nlohmann::json j = nlohmann::json::parse(line, nullptr, false);
    EXPECT_TRUE(j.is_object() && !j.contains("snapshot")) << line;
    if (!j.is_object() || !j.contains("changes") || j["changes"].size() != 1) continue;
    out.emplace_back(j["epoch"].get<std::uint64_t>(), j["changes"][0]["value"].get<std::int64_t>());
  }
  return out;
}

/// totals(printed), which must be n epochs in increasing order with the values 1 to n.
std::vector<std::pair<std::uint64_t, std::int64_t>> totals_one_to(const std::string& printed, std::size_t n) {
  const std::vector<std::pair<std::uint64_t, std::int64_t>> got = totals(printed);
  EXPECT_EQ(got.size(), n) << printed;
  for (std::size_t i = 0; i < got.size(); ++i) {
    EXPECT_EQ(got[i].second, static_cast<std::int64_t>(i + 1)) << printed;
    if (i > 0) {
      EXPECT_GT(got[i].first, got[i - 1].first) << printed;
    }
  }
  return got;
}

// Without --data the history of subscriptions is a store in the temporary directory that
// no name reaches once open: a subscriber behind the buffer gets every epoch, and nothing
// is left on disk when the node ends.
TEST_F(Watch, WithoutDataASubscriberBehindTheBufferGetsEveryEpochFromAHistoryThatLeavesNoFile) {
  const fs::path tmp = dir_ / "tmp";
  fs::create_directories(tmp);
  env_ = {"TMPDIR=" + tmp.string()};
  port_ = start("watch_epochs_kept = 2\n");
  ASSERT_NE(port_, 0) << node_.printed;
  EXPECT_TRUE(fs::is_empty(tmp)) << fs::begin(fs::directory_iterator(tmp))->path();
  EXPECT_NE(node_.printed.find("event=watch_history_unnamed directory=" + tmp.string()), std::string::npos)
      << node_.printed;
  std::string script = "create Order o total=1\ncommit\n";
  for (int v = 2; v <= 6; ++v) script += "update o total=" + std::to_string(v) + "\ncommit\n";
  std::string out;
  ASSERT_EQ(eval(script, &out), 0) << out;
  ASSERT_EQ(run_to_end(watch_args({"--from", "0", "--count", "6", "Order#1.total"}), &out), 0) << out;
  totals_one_to(out, 6);
  EXPECT_TRUE(fs::is_empty(tmp));
}

TEST_F(Watch, WithoutDataANodeThatCannotMakeItsHistoryRefusesToStartNamingWhy) {
  const fs::path missing = dir_ / "no-such-directory";
  env_ = {"TMPDIR=" + missing.string()};
  EXPECT_EQ(start(), 0);
  EXPECT_EQ(node_.finish(kSilenceMs), 2) << node_.printed;
  node_.pid = -1;
  EXPECT_NE(node_.printed.find("the history of subscriptions"), std::string::npos) << node_.printed;
  EXPECT_NE(node_.printed.find("watch_history_epochs = 0"), std::string::npos) << node_.printed;
  // Without a history the node starts there.
  node_ = ChildProcess();
  port_ = start("watch_history_epochs = 0\n");
  EXPECT_NE(port_, 0) << node_.printed;
}

// --cursor FILE: a subscriber that ends (here by --count) and starts again with the same
// file goes on after the last epoch it printed, with no snapshot in between; the file says
// where, and is refused for other targets or when it is not a cursor.
TEST_F(Watch, WithACursorFileASubscriberStartedAgainGoesOnAfterTheLastEpochItPrinted) {
  port_ = start();
  ASSERT_NE(port_, 0) << node_.printed;
  std::string out;
  ASSERT_EQ(eval("create Order o total=1\ncommit\nupdate o total=2\ncommit\n", &out), 0) << out;
  const std::string cursor = (dir_ / "cursor.json").string();
  // No file yet: the current values first, as without --cursor.
  ASSERT_EQ(run_to_end(watch_args({"--cursor", cursor, "--count", "1", "Order#1.total"}), &out), 0) << out;
  ASSERT_NE(out.find(R"("snapshot":true)"), std::string::npos) << out;
  ASSERT_NE(out.find(R"("value":2)"), std::string::npos) << out;
  ASSERT_EQ(eval("update Order#1 total=3\ncommit\nupdate Order#1 qty=5\ncommit\nupdate Order#1 total=4\ncommit\n",
                 &out),
            0)
      << out;
  // Started again: the epochs after the snapshot's, each once, then again after them.
  ASSERT_EQ(run_to_end(watch_args({"--cursor", cursor, "--count", "2", "Order#1.total"}), &out), 0) << out;
  const auto got = totals(out);
  ASSERT_EQ(got.size(), 2u) << out;
  EXPECT_EQ(got[0].second, 3) << out;
  EXPECT_EQ(got[1].second, 4) << out;
  std::ifstream in(cursor);
  const nlohmann::json kept = nlohmann::json::parse(in, nullptr, false);
  ASSERT_TRUE(kept.is_object()) << cursor;
  EXPECT_EQ(kept["epoch"], got[1].first) << kept.dump();
  EXPECT_NE(kept["log"], 0) << kept.dump();
  EXPECT_EQ(kept["targets"], nlohmann::json::array({"Order#1.total"})) << kept.dump();
  ASSERT_EQ(eval("update Order#1 total=5\ncommit\n", &out), 0) << out;
  ASSERT_EQ(run_to_end(watch_args({"--cursor", cursor, "--count", "1", "Order#1.total"}), &out), 0) << out;
  ASSERT_EQ(totals(out).size(), 1u) << out;
  EXPECT_EQ(totals(out)[0].second, 5) << out;
  EXPECT_GT(totals(out)[0].first, got[1].first) << out;
  // Another subscription's file, and a file that is no cursor: refused, exit code 2.
  EXPECT_EQ(run_to_end(watch_args({"--cursor", cursor, "--count", "1", "Order"}), &out), 2) << out;
  EXPECT_NE(out.find("the cursor of other targets (Order#1.total)"), std::string::npos) << out;
  const std::string junk = file("junk.json", "[1, 2]");
  EXPECT_EQ(run_to_end(watch_args({"--cursor", junk, "--count", "1", "Order#1.total"}), &out), 2) << out;
  EXPECT_NE(out.find(junk + ": not a cursor of mgraph watch"), std::string::npos) << out;
}

// Without --data, a coordinator started again has a new, empty log and numbers its epochs
// from 1 again: a subscriber's cursor from before is past everything it holds, so it
// resumes from the new log's values at once, then gets the new log's epochs, instead of
// waiting for an epoch beyond its cursor (which would not be the epoch it names).
TEST_F(Watch, WithoutDataASubscriberAcrossARestartResumesFromTheNewLogsValues) {
  ASSERT_TRUE(fix_client_port());
  port_ = start();
  ASSERT_NE(port_, 0) << node_.printed;
  std::string out;
  ASSERT_EQ(eval("create Order o total=1\ncommit\nupdate o total=2\ncommit\nupdate o total=3\ncommit\n", &out), 0)
      << out;
  watcher_ = ChildProcess::spawn(watch_args({"--from", "0", "--count", "5", "--wait-ms", "100", "Order#1.total"}));
  ASSERT_TRUE(watcher_lines(3)) << watcher_.printed;
  port_ = kill_and_start();
  ASSERT_NE(port_, 0) << node_.printed;
  // The subscriber reaches the new coordinator, whose log is empty: it resumes from the
  // values (Order#1 does not exist there yet).
  ASSERT_TRUE(watcher_lines(4)) << watcher_.printed;
  ASSERT_EQ(eval("create Order o total=10\ncommit\n", &out), 0) << out;
  ASSERT_EQ(finish_watcher(), 0) << watcher_.printed;
  const std::vector<std::string> got = lines_of(watcher_.printed);
  ASSERT_EQ(got.size(), 5u) << watcher_.printed;
  EXPECT_EQ(got[2], R"({"epoch":3,"changes":[{"ref":"Order#1","field":"total","value":3,"version":2}]})");
  EXPECT_EQ(got[3], R"({"epoch":0,"snapshot":true,"resumed_from":3,"changes":[]})");
  EXPECT_EQ(got[4], R"({"epoch":1,"changes":[{"ref":"Order#1","field":"total","value":10,"version":0}]})");
}

// The same when the new log has already run past the cursor by the time the subscriber
// asks again (here it was stopped meanwhile): every answer names the log its epochs are
// numbered in, and a subscriber that sees it change resumes, instead of taking the new
// log's epochs after its cursor for the ones it missed.
TEST_F(Watch, ASubscriberWhoseCursorTheNewLogPassedResumesFromItsValuesToo) {
  const std::vector<std::string> got =
      stopped_across_a_new_log({"--from", "0", "--count", "3", "--wait-ms", "100", "Order#1.total"}, 2);
  ASSERT_EQ(got.size(), 3u) << watcher_.printed;
  EXPECT_EQ(got[1], R"({"epoch":2,"changes":[{"ref":"Order#1","field":"total","value":2,"version":1}]})");
  EXPECT_EQ(got[2], R"({"epoch":5,"snapshot":true,"resumed_from":2,"changes":[{"ref":"Order#1","field":"total","value":14,"version":4}]})");
}

// A subscriber that starts from the values learns the log from them, before any poll is
// answered: killed while its first poll waits, the coordinator starts again on a new log,
// which runs past the snapshot's epoch before the subscriber asks it.
TEST_F(Watch, ASubscriberStartedFromTheValuesKnowsTheirLogBeforeItsFirstPollIsAnswered) {
  // Its first poll waits up to 10 s at the coordinator: killed meanwhile, never answered.
  const std::vector<std::string> got =
      stopped_across_a_new_log({"--count", "2", "--wait-ms", "10000", "Order#1.total"}, 1);
  ASSERT_EQ(got.size(), 2u) << watcher_.printed;
  EXPECT_EQ(got[0], R"({"epoch":2,"snapshot":true,"changes":[{"ref":"Order#1","field":"total","value":2,"version":1}]})");
  EXPECT_EQ(got[1], R"({"epoch":5,"snapshot":true,"resumed_from":2,"changes":[{"ref":"Order#1","field":"total","value":14,"version":4}]})");
}

TEST_F(Watch, WithDataASubscriberBehindTheBufferGetsEveryEpochFromTheHistoryAlsoAfterAKill) {
  // Two epochs in memory, the history on disk; checkpoints every three epochs, so that a
  // restart runs only the end of the log again.
  const std::string data = (dir_ / "n1.data").string();
  const std::string config = "watch_epochs_kept = 2\ncheckpoint_every = 3\n";
  ASSERT_TRUE(fix_client_port());
  auto restart = [&] { port_ = kill_and_start(config, data); };
  port_ = start(config, "", data);
  ASSERT_NE(port_, 0) << node_.printed;
  // A subscriber all along, across both kills: every epoch once, in order.
  watcher_ = ChildProcess::spawn(watch_args({"--from", "0", "--count", "8", "--wait-ms", "100", "Order#1.total"}));
  std::string out;
  std::string script = "create Order o total=1\ncommit\n";
  for (int v = 2; v <= 6; ++v) script += "update o total=" + std::to_string(v) + "\ncommit\n";
  ASSERT_EQ(eval(script, &out), 0) << out;
  // The subscriber has had the six epochs before the first kill: a subscriber that could
  // not reach the node when it started gives up (exit 3), one that lost it tries again.
  ASSERT_TRUE(watcher_lines(6)) << watcher_.printed;
  // Killed before any other subscriber asked (the history had only what the checkpoint
  // wrote), started again on its --data: every epoch, and the next one after them.
  restart();
  ASSERT_NE(port_, 0) << node_.printed;
  ASSERT_EQ(eval("update Order#1 total=7\ncommit\n", &out), 0) << out;
  ASSERT_EQ(run_to_end(watch_args({"--from", "0", "--count", "7", "Order#1.total"}), &out), 0) << out;
  const std::vector<std::pair<std::uint64_t, std::int64_t>> before = totals_one_to(out, 7);
  ASSERT_EQ(before.size(), 7u) << out;
  // Again: the same epochs, then the next.
  restart();
  ASSERT_NE(port_, 0) << node_.printed;
  ASSERT_EQ(eval("update Order#1 total=8\ncommit\n", &out), 0) << out;
  ASSERT_EQ(run_to_end(watch_args({"--from", "0", "--count", "8", "Order#1.total"}), &out), 0) << out;
  const std::vector<std::pair<std::uint64_t, std::int64_t>> after = totals(out);
  ASSERT_EQ(after.size(), 8u) << out;
  EXPECT_EQ(std::vector(after.begin(), after.begin() + 7), before) << out;
  EXPECT_EQ(after[7].second, 8) << out;
  EXPECT_GT(after[7].first, after[6].first) << out;
  ASSERT_EQ(finish_watcher(), 0) << watcher_.printed;
  EXPECT_EQ(totals(watcher_.printed), after) << watcher_.printed;
  // A cursor between two of them gets those after it.
  ASSERT_EQ(run_to_end(watch_args({"--from", std::to_string(before[2].first), "--count", "1", "Order#1.total"}), &out),
            0)
      << out;
  ASSERT_EQ(totals(out).size(), 1u) << out;
  EXPECT_EQ(totals(out)[0], before[3]) << out;
  // The metrics say how far back subscribers reach, and what the history holds.
  const std::string key = "metrics on port ";
  const std::size_t at = node_.printed.find(key);
  ASSERT_NE(at, std::string::npos) << node_.printed;
  const std::string metrics = testing::scrape_metrics(std::atoi(node_.printed.c_str() + at + key.size()));
  EXPECT_EQ(testing::metric_value(metrics, "mgraph_watch_reach_epoch"), 0.0) << metrics;
  EXPECT_GT(testing::metric_value(metrics, "mgraph_watch_history_bytes").value_or(0), 0.0) << metrics;
  EXPECT_EQ(testing::metric_value(metrics, "mgraph_watch_history_errors_total"), 0.0) << metrics;
}

TEST_F(Watch, WithoutFromItPrintsTheCurrentValuesFirstAndNamesWhatTheSchemaDoesNotHave) {
  port_ = start();
  ASSERT_NE(port_, 0) << node_.printed;
  std::string out;
  ASSERT_EQ(eval("create Order o total=3\ncommit\n", &out), 0) << out;
  ASSERT_EQ(run_to_end(watch_args({"--count", "1", "Order#1.total", "Order#1.line"}), &out), 0) << out;
  EXPECT_EQ(out, R"({"epoch":1,"snapshot":true,"changes":[{"ref":"Order#1","field":"total","value":3,"version":0},{"ref":"Order#1","field":"line","value":3,"version":1}]})"
                 "\n");
  // Ctrl-C (SIGINT) ends a subscriber cleanly, within its poll's wait.
  watcher_ = ChildProcess::spawn(watch_args({"--wait-ms", "100", "Order"}));
  ASSERT_TRUE(watcher_.read_until("\n", kSilenceMs)) << watcher_.printed;
  // Watching the entity, it starts from every field of every record of it.
  EXPECT_EQ(watcher_.printed,
            R"({"epoch":1,"snapshot":true,"changes":[{"ref":"Order#1","field":"total","value":3,"version":0},)"
            R"({"ref":"Order#1","field":"qty","value":1,"version":0},{"ref":"Order#1","field":"line","value":3,"version":1}]})"
            "\n");
  ::kill(watcher_.pid, SIGINT);
  EXPECT_EQ(finish_watcher(), 0) << watcher_.printed;
  struct Bad {
    std::vector<std::string> args;
    std::string message;
  };
  for (const Bad& bad : std::vector<Bad>{
           {{"Invoice"}, "mgraph watch: unknown entity 'Invoice' (the cluster serves schema.mgs)\n"},
           {{"Order#1.price"}, "mgraph watch: entity Order has no field 'price'\n"},
           {{"Order#9.total"}, "mgraph watch: Order#9.total: "},
           {{"Customer#1.name"}, "mgraph watch: Customer#1.name: no Customer #1 (record #1 is of entity Order)\n"},
           {{"Order.total"}, "mgraph watch: 'Order.total' names no field or entity to watch (Entity#N.field or Entity)\n"},
           {{"Quote#1.risk@request"},
            "mgraph watch: 'Quote#1.risk@request': risk@request is kept by the engine (a name with '@'), not "
            "watched; watch the fields the schema declares, or read it with get\n"},
       }) {
    std::vector<std::string> args = bad.args;
    ASSERT_EQ(run_to_end(watch_args(args), &out), 2) << out;
    EXPECT_EQ(out.rfind(bad.message, 0), 0u) << out;
  }
}

TEST_F(Watch, TheEngineHiddenFieldsOfAnAsyncFieldAreNotWatched) {
  port_ = start();
  ASSERT_NE(port_, 0) << node_.printed;
  // Each change of `amount` raises a request (risk@request) and each result counts one
  // more (risk@done): neither is a field the schema declares, so neither is reported.
  watcher_ = ChildProcess::spawn(watch_args({"--from", "0", "--count", "3", "Quote"}));
  std::string out;
  ASSERT_EQ(eval("create Quote q amount=5\n"  // epoch 1: request 1
                 "commit\n"
                 "update q amount=6\n"  // epoch 2: request 2, which only changes amount
                 "commit\n"
                 "resolve q.risk 2 0.5\n"  // epoch 3: the result
                 "commit\n",
                 &out),
            0)
      << out;
  ASSERT_EQ(finish_watcher(), 0) << watcher_.printed;
  EXPECT_EQ(lines_of(watcher_.printed),
            (std::vector<std::string>{
                R"({"epoch":1,"changes":[{"ref":"Quote#1","field":"exists","value":true,"version":1},{"ref":"Quote#1","field":"amount","value":5,"version":0},{"ref":"Quote#1","field":"risk","value":0,"version":0}]})",
                R"({"epoch":2,"changes":[{"ref":"Quote#1","field":"amount","value":6,"version":1}]})",
                R"({"epoch":3,"changes":[{"ref":"Quote#1","field":"risk","value":0.5,"version":1}]})",
            }))
      << watcher_.printed << "\nthe script printed:\n" << out;
  // Read back from the current values: the snapshot leaves them out too.
  ASSERT_EQ(run_to_end(watch_args({"--count", "1", "Quote"}), &out), 0) << out;
  EXPECT_EQ(out, R"({"epoch":3,"snapshot":true,"changes":[{"ref":"Quote#1","field":"amount","value":6,"version":1},{"ref":"Quote#1","field":"risk","value":0.5,"version":1}]})"
                 "\n");
}

TEST_F(Watch, ANodeServesAsManyClientConnectionsAsItsConfigurationSaysRaisingItsDescriptorLimit) {
  // More than the default 256, under a soft descriptor limit the connections alone exceed:
  // the node raises it to what they need.
  constexpr int kConnections = 300;
  port_ = start("client_connections_max = " + std::to_string(kConnections), "-Sn 256");
  ASSERT_NE(port_, 0) << node_.printed;
  std::vector<std::unique_ptr<codec::ClientConnection>> connections;
  for (int k = 0; k < kConnections; ++k) {
    auto c = codec::ClientConnection::connect("127.0.0.1", static_cast<std::uint16_t>(port_),
                                              std::chrono::milliseconds(kSilenceMs));
    ASSERT_TRUE(c.is_ok()) << "connection " << k + 1 << ": " << c.status().message();
    // Answered: the node has accepted it and counts it among those it serves.
    auto schema = (*c)->schema();
    ASSERT_TRUE(schema.is_ok()) << "connection " << k + 1 << ": " << schema.status().message();
    connections.push_back(std::move(c).value());
  }
  // One more is closed as soon as it is accepted: its first call fails.
  auto extra = codec::ClientConnection::connect("127.0.0.1", static_cast<std::uint16_t>(port_),
                                                std::chrono::milliseconds(kSilenceMs));
  if (extra.is_ok()) {
    EXPECT_FALSE((*extra)->schema().is_ok());
  }
  // The others go on: a subscription's poll on the last one answers.
  auto polled = connections.back()->watch({"Order#1.total"}, 0, 1, 0);
  ASSERT_TRUE(polled.is_ok()) << polled.status().message();
  connections.clear();
  ASSERT_TRUE(node_.read_until("descriptor_limit_raised", kSilenceMs)) << node_.printed;
}

TEST_F(Watch, ANodeWhoseConnectionsNeedMoreDescriptorsThanItMayOpenRefusesToStart) {
  // 1,000 connections and the node's own descriptors, where the hard limit is 512.
  EXPECT_EQ(start("client_connections_max = 1000", "-n 512"), 0);
  EXPECT_EQ(node_.finish(kSilenceMs), 2) << node_.printed;
  node_.pid = -1;
  EXPECT_NE(node_.printed.find("cluster.toml: [cluster] client_connections_max = 1000 needs 1256 file "
                               "descriptors; this process may open 512 at most"),
            std::string::npos)
      << node_.printed;
}

}  // namespace
}  // namespace mgraph::node
