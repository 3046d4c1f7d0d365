// Crash test of persistent `mgraph eval` sessions with checkpoints and log compaction:
// the real binary runs a long stream of transactions on one data directory and is killed
// with SIGKILL at random moments; after each kill a fresh run reopens the directory (newest
// checkpoint + the epochs after it) and must print exactly what one in-memory run of the
// committed transactions prints — every commit it reported is there, nothing else is.
//
// Progress is reported by the session itself: each transaction writes its sequence number
// to Counter #1 and is followed by `get #1.seq`, so a printed value K means commit K was
// durable (an epoch is fsync'ed before the next line runs). Kills land while the session
// is busy with the transactions written ahead, including while it stores a checkpoint
// (every 3 epochs) or compacts the log behind it.

#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <string>
#include <vector>

#include "support/child_process.hpp"
#include "support/env.hpp"
#include "support/prng.hpp"
#include "mgraph/session/script_runner.hpp"

namespace mgraph::node {
namespace {

namespace fs = std::filesystem;

constexpr const char* kSchema = R"(entity Counter { seq: int = 0 }
entity Order {
  items: many Item via order
  total: float = sum(items[*].price)
  n: int = count(items)
  top: float = max(items[*].price)
}
entity Item { price: float = 0 }
)";

constexpr int kSilenceMsMax = 30'000;      ///< watchdog on every wait for the child
constexpr std::size_t kOutputMax = 1 << 24;  ///< bytes one child may print

using Rng = mgraph::testing::Prng;

/// The fixed stream of transactions: txns[k - 1] is commit k's lines, ending in `commit`.
/// Record ids follow from the creates (ids are never reused), so the stream is valid
/// from any commit on, whatever was killed before.
std::vector<std::vector<std::string>> make_stream(std::uint64_t seed, std::size_t count) {
  Rng rng(seed);
  std::vector<std::vector<std::string>> txns;
  std::vector<std::uint64_t> orders, items;
  std::uint64_t next_id = 2;  // #1 is the Counter
  for (std::size_t k = 1; k <= count; ++k) {
    std::vector<std::string> t;
    if (k == 1) t.push_back("create Counter");
    t.push_back("update #1 seq=" + std::to_string(k));
    const std::uint64_t ops = 1 + rng.below(5);
    for (std::uint64_t i = 0; i < ops; ++i) {
      const std::uint64_t p = rng.below(100);
      if (p < 10 || orders.empty()) {
        t.push_back("create Order");
        orders.push_back(next_id++);
      } else if (p < 40 || items.empty()) {
        t.push_back("create Item price=" + std::to_string(rng.below(100)));
        items.push_back(next_id++);
      } else if (p < 70) {
        t.push_back("link #" + std::to_string(orders[rng.below(orders.size())]) + ".items #" +
                    std::to_string(items[rng.below(items.size())]));
      } else if (p < 90) {
        t.push_back("update #" + std::to_string(items[rng.below(items.size())]) +
                    " price=" + std::to_string(rng.below(100)));
      } else {
        t.push_back("unlink #" + std::to_string(orders[rng.below(orders.size())]) + ".items #" +
                    std::to_string(items[rng.below(items.size())]));
      }
    }
    t.push_back("commit");
    txns.push_back(std::move(t));
  }
  return txns;
}

/// Lines that print every field of every record created by commits 1..k.
std::string verify_script(const std::vector<std::vector<std::string>>& txns, std::uint64_t k) {
  std::string s;
  std::uint64_t id = 0;
  for (std::uint64_t i = 0; i < k; ++i) {
    for (const std::string& line : txns[i]) {
      if (line.rfind("create ", 0) != 0) continue;
      const std::string ref = "get #" + std::to_string(++id) + ".";
      if (line.starts_with("create Counter")) {
        s += ref + "seq\n";
      } else if (line.starts_with("create Order")) {
        s += ref + "total\n" + ref + "n\n" + ref + "top\n";
      } else {
        s += ref + "price\n";
      }
    }
  }
  return s;
}

using Child = mgraph::testing::ChildProcess;

/// Starts the binary with pipes on stdin and stdout.
Child spawn(const std::vector<std::string>& args) { return Child::spawn(args); }

/// Reads what the child printed, waiting at most the watchdog; false on EOF or silence.
bool read_some(Child& c) { return c.read_some(kSilenceMsMax, kOutputMax); }

/// The largest K of the `get #1.seq` reports printed so far (0: none).
std::uint64_t reported(const std::string& printed) {
  const std::string key = "{\"get\":\"#1.seq\",\"value\":";
  std::uint64_t best = 0;
  for (std::size_t at = printed.find(key); at != std::string::npos;
       at = printed.find(key, at + 1)) {
    best = std::max<std::uint64_t>(best, std::strtoull(printed.c_str() + at + key.size(), nullptr, 10));
  }
  return best;
}

/// Runs `script` (from a file) through the binary on DIR and returns its stdout and, in
/// *exit_code, its exit code.
std::string run_to_end(std::vector<std::string> args, const fs::path& script_file,
                       const std::string& script, int* exit_code) {
  std::ofstream(script_file) << script;
  args.pop_back();  // not interactive
  args.push_back("--script");
  args.push_back(script_file.string());
  Child c = spawn(args);
  ::close(c.in);
  while (read_some(c)) {
  }
  ::close(c.out);
  int status = 0;
  ::waitpid(c.pid, &status, 0);
  *exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return c.printed;
}

/// What one in-memory run prints for commits 1..k, then `script`.
std::string oracle(const std::shared_ptr<const schema::Schema>& schema,
                   const std::vector<std::vector<std::string>>& txns, std::uint64_t k,
                   const std::string& script) {
  session::ScriptRunner runner(schema);
  std::string discard;
  for (std::uint64_t i = 0; i < k; ++i) {
    // Some lines fail (a link of an Item already linked): the session logged them as
    // failed, and they fail here alike.
    for (const std::string& line : txns[i]) runner.run_line(line, 0, &discard);
  }
  std::string out;
  runner.run(script, &out);
  return out;
}

using testing::env_u64;

TEST(SessionCrash, KilledSessionsReopenWithEveryReportedCommitAndNothingElse) {
  const std::uint64_t kills = env_u64("MGRAPH_SESSION_KILLS", 30);
  const std::uint64_t seed = env_u64("MGRAPH_SESSION_SEED", 1);
  const fs::path dir = fs::temp_directory_path() /
                       ("mgraph_session_crash_" + std::to_string(::getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  const std::string schema_path = (dir / "crash.mgs").string();
  std::ofstream(schema_path) << kSchema;
  auto compiled = schema::compile_schema(schema::SourceFile{schema_path, kSchema});
  ASSERT_TRUE(compiled.is_ok()) << compiled.status().message();
  const std::vector<std::vector<std::string>> txns = make_stream(seed, 100'000);
  const std::vector<std::string> args = {MGRAPH_BINARY, "eval", schema_path,
                                         "--data", (dir / "data").string(),
                                         "--checkpoint-every", "3", "--compact-log", "-i"};
  Rng rng(seed * 7919);
  std::uint64_t durable = 0;  // commits known durable
  std::uint64_t unreported = 0;  // kills after which more was durable than reported
  for (std::uint64_t kill = 1; kill <= kills; ++kill) {
    // Write ahead of the kill point so the session is busy when it comes.
    const std::uint64_t wait_for = rng.below(8);  // 0: kill before any report
    const std::uint64_t ahead = wait_for + 1 + rng.below(12);
    ASSERT_LE(durable + ahead, txns.size());
    std::string input;
    for (std::uint64_t k = durable + 1; k <= durable + ahead; ++k) {
      for (const std::string& line : txns[k - 1]) input += line + "\n";
      input += "get #1.seq\n";
    }
    Child c = spawn(args);
    ASSERT_EQ(static_cast<std::size_t>(::write(c.in, input.data(), input.size())), input.size())
        << "input larger than the pipe";
    while (reported(c.printed) < durable + wait_for) {
      ASSERT_TRUE(read_some(c)) << "kill " << kill << ": session stopped or went silent:\n"
                                << c.printed;
    }
    const std::uint64_t spin = rng.below(20'000'000);
    volatile std::uint64_t sink = 0;
    for (std::uint64_t i = 0; i < spin; ++i) sink = sink + i;
    ::kill(c.pid, SIGKILL);
    while (read_some(c)) {
    }
    int status = 0;
    ::waitpid(c.pid, &status, 0);
    ::close(c.in);
    ::close(c.out);
    const std::uint64_t seen = reported(c.printed);
    // Reopen and read the counter: the last durable commit (no Counter yet: none).
    int rc = 0;
    const std::string head = run_to_end(args, dir / "head.mgscript", "get #1.seq\n", &rc);
    ASSERT_TRUE(rc == 0 || (rc == 1 && reported(head) == 0))
        << "kill " << kill << ": reopening failed (exit code " << rc << "):\n" << head;
    const std::uint64_t now = reported(head);
    ASSERT_GE(now, seen) << "kill " << kill << ": commit " << seen
                         << " was reported durable but is gone after reopening";
    ASSERT_GE(now, durable) << "kill " << kill;
    ASSERT_LE(now, durable + ahead) << "kill " << kill << ": more commits than were sent";
    if (now > seen) ++unreported;
    durable = now;
    // Everything equals one in-memory run of commits 1..durable.
    const std::string script = verify_script(txns, durable);
    const std::string got = run_to_end(args, dir / "verify.mgscript", script, &rc);
    ASSERT_EQ(rc, 0) << got;
    ASSERT_EQ(got, oracle(*compiled, txns, durable, script))
        << "kill " << kill << " at commit " << durable;
  }
  EXPECT_GT(durable, kills) << "too few commits for a meaningful test";
  std::cout << kills << " kills, " << durable << " commits, " << unreported
            << " kills with commits durable but not yet reported\n";
  fs::remove_all(dir);
}

}  // namespace
}  // namespace mgraph::node
