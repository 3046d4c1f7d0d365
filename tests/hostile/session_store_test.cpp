// `mgraph eval --data DIR` against a mishandled data directory: its data file deleted
// behind its back, and two processes on one directory. Each is refused loudly at open,
// before anything is written, and the message says what is wrong.

#include <gtest/gtest.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "support/child_process.hpp"
#include "support/scratch_dir.hpp"

namespace mgraph {
namespace {

namespace fs = std::filesystem;
using testing::ChildProcess;

/// Longest silence of a child before a test gives up on it.
constexpr int kSilenceMs = 20'000;

constexpr const char* kSchema = "entity P {\n  n: int\n}\n";

/// This file's scratch directories.
struct ScratchDir : mgraph::testing::ScratchDir {
  ScratchDir() : mgraph::testing::ScratchDir("mgraph-session-store") {}
};

/// Runs `mgraph eval SCHEMA --data DIR [extra]` on `script`; exit code, output in *printed
/// (stdout and stderr).
int run_eval(const std::string& schema, const std::string& dir, const std::string& script,
             std::string* printed, const std::vector<std::string>& extra = {}) {
  std::vector<std::string> args = {MGRAPH_BINARY, "eval", schema, "--data", dir};
  args.insert(args.end(), extra.begin(), extra.end());
  ChildProcess c = ChildProcess::spawn(args, true);
  if (c.pid <= 0) return -1;
  const bool written = ::write(c.in, script.data(), script.size()) ==
                       static_cast<ssize_t>(script.size());
  const int code = c.finish(kSilenceMs);
  *printed = c.printed;
  return written ? code : -1;
}

TEST(SessionStore, ADeletedDataFileIsRefusedNotReplacedByAnEmptyStore) {
  ScratchDir dir;
  const std::string schema = dir.file("s.mgs", kSchema);
  const std::string data = dir.sub("d");
  std::string out;
  ASSERT_EQ(run_eval(schema, data, "create P p n=5\ncommit\n", &out), 0) << out;
  ASSERT_TRUE(fs::exists(data + "/lock.mdb"));
  fs::remove(data + "/data.mdb");
  EXPECT_EQ(run_eval(schema, data, "create P q n=1\ncommit\n", &out), 2) << out;
  EXPECT_NE(out.find(data + "/data.mdb: missing, but " + data + "/lock.mdb is there"),
            std::string::npos)
      << out;
  EXPECT_FALSE(fs::exists(data + "/data.mdb")) << "an empty store was created";
  // A missing directory and an empty one still get a new store.
  EXPECT_EQ(run_eval(schema, dir.sub("new"), "create P p n=1\ncommit\nget p.n\n", &out), 0)
      << out;
  fs::create_directory(dir.sub("empty"));
  EXPECT_EQ(run_eval(schema, dir.sub("empty"), "create P p n=1\ncommit\n", &out), 0) << out;
  EXPECT_TRUE(fs::exists(dir.sub("empty") + "/data.mdb"));
}

TEST(SessionStore, ASecondProcessIsRefusedAndNamesTheHolder) {
  ScratchDir dir;
  const std::string schema = dir.file("s.mgs", kSchema);
  const std::string data = dir.sub("d");
  ChildProcess first = ChildProcess::spawn({MGRAPH_BINARY, "eval", schema, "--data", data});
  ASSERT_GT(first.pid, 0);
  const std::string lines = "create P p n=1\ncommit\nget p.n\n";
  ASSERT_EQ(::write(first.in, lines.data(), lines.size()), static_cast<ssize_t>(lines.size()));
  // The answer proves the first session has the directory open (its stdin stays open).
  ASSERT_TRUE(first.read_until("{\"get\":\"p.n\",\"value\":1,", kSilenceMs)) << first.printed;

  std::string out;
  EXPECT_EQ(run_eval(schema, data, "create P q n=2\ncommit\n", &out), 2) << out;
  EXPECT_NE(out.find(data + " is in use by process " + std::to_string(first.pid)),
            std::string::npos)
      << out;

  // The first session was not disturbed: it still commits.
  const std::string more = "update p n=3\ncommit\nget p.n\n";
  ASSERT_EQ(::write(first.in, more.data(), more.size()), static_cast<ssize_t>(more.size()));
  EXPECT_TRUE(first.read_until("{\"get\":\"p.n\",\"value\":3,", kSilenceMs)) << first.printed;
  // Killed, it leaves no stale lock: the kernel drops the lock with the process.
  ::kill(first.pid, SIGKILL);
  EXPECT_EQ(first.finish(kSilenceMs), -1);

  // Once it is gone, the directory opens again with everything it committed.
  EXPECT_EQ(run_eval(schema, data, "get p.n\n", &out), 0) << out;
  EXPECT_NE(out.find("{\"get\":\"p.n\",\"value\":3,"), std::string::npos) << out;
}

TEST(SessionStore, ACheckpointIsASmallMultipleOfTheLogAndSpansParts) {
  ScratchDir dir;
  const std::string schema = dir.file("s.mgs", kSchema);
  const std::string data = dir.sub("d");
  // 500,000 one-field records: their log is ~10 MB; their checkpoint was 96 MB of plain
  // Cap'n Proto words, written in one transaction.
  constexpr std::size_t kRecords = 500'000;
  std::string script;
  for (std::size_t i = 0; i < kRecords; ++i)
    script.append("create P n=").append(std::to_string(i)).append("\n");
  script += "commit\nupdate #7 n=-7\ncommit\ncheckpoint\n";
  const std::size_t log_bytes = script.size() + 2 * (kRecords + 3);  // "+ " per line
  std::string out;
  ASSERT_EQ(run_eval(schema, data, script, &out, {"--checkpoint-every", "0", "--compact-log"}),
            0)
      << out.substr(0, 2000);
  const std::size_t at = out.find("{\"checkpoint\":2,\"bytes\":");
  ASSERT_NE(at, std::string::npos) << out.substr(0, 2000);
  const std::size_t bytes = std::stoul(out.substr(out.find(':', at + 14) + 1));
  EXPECT_LT(bytes, 3 * log_bytes) << "checkpoint " << bytes << " bytes, log " << log_bytes;
  // Larger than one part (16 MiB): the reopen below reads it back from its parts, and
  // only from them, the log being compacted.
  EXPECT_GT(bytes, std::size_t{16} << 20);
  EXPECT_EQ(run_eval(schema, data, "get #7.n\nget #500000.n\nundo\nget #7.n\n", &out), 0) << out;
  EXPECT_NE(out.find("{\"get\":\"#7.n\",\"value\":-7,"), std::string::npos) << out;
  EXPECT_NE(out.find("{\"get\":\"#500000.n\",\"value\":499999,"), std::string::npos) << out;
  EXPECT_NE(out.find("{\"get\":\"#7.n\",\"value\":6,"), std::string::npos) << out;
}

}  // namespace
}  // namespace mgraph
