// `mgraph eval` fed hostile input: bytes that are not UTF-8, a schema far past its
// limits, directories where files are expected, and scripts too large to hold. The output
// stays valid JSON, errors come at once, and memory stays bounded because input is read
// and answered line by line.

#include <fcntl.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <cstring>
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

#if defined(__SANITIZE_ADDRESS__)
constexpr bool kSanitized = true;
#else
constexpr bool kSanitized = false;
#endif

/// This file's scratch directories.
struct ScratchDir : mgraph::testing::ScratchDir {
  ScratchDir() : mgraph::testing::ScratchDir("mgraph-eval-input") {}
};

constexpr const char* kSchema = "entity P {\n  name: string\n  n: int\n}\n";

/// Writes all of `text` to fd `in` (the child's stdin); false when the child stops reading.
bool write_all(int in, std::string_view text) {
  // Each iteration writes some bytes or fails; bounded by the text's length.
  while (!text.empty()) {
    const ssize_t put = ::write(in, text.data(), text.size());
    if (put < 0 && errno == EINTR) continue;
    if (put <= 0) return false;
    text.remove_prefix(static_cast<std::size_t>(put));
  }
  return true;
}

/// Every line of `out` is JSON (nlohmann-json rejects invalid UTF-8 too).
void expect_json_lines(const std::string& out) {
  std::istringstream lines(out);
  std::string line;
  std::size_t n = 0;
  while (std::getline(lines, line)) {
    ++n;
    EXPECT_TRUE(nlohmann::json::accept(line)) << "line " << n << ": " << line;
  }
  EXPECT_GT(n, 0u);
}

TEST(EvalInput, StringsOfAnyBytesPrintAsValidJson) {
  ScratchDir dir;
  const std::string schema = dir.file("s.mgs", kSchema);
  ChildProcess c = ChildProcess::spawn({MGRAPH_BINARY, "eval", schema});
  ASSERT_GT(c.pid, 0);
  // Invalid UTF-8 in a value (lone continuation byte, truncated sequence, 0xFF, an
  // overlong '/'), control characters, quotes; and in a command's arguments.
  ASSERT_TRUE(write_all(c.in,
                        "create P p name=\"a\x80" "b\xc3\xff\xc0\xaf\x01\\\"q\"\n"
                        "commit\n"
                        "get p.name\n"
                        "explain p.name\n"
                        "get p.name \xfe\"x\n"
                        "create P q\xe2\x82 name=\"\"\n"));
  EXPECT_EQ(c.finish(kSilenceMs), 1);
  expect_json_lines(c.printed);
  EXPECT_NE(c.printed.find("\"value\":\"a\xEF\xBF\xBD" "b"), std::string::npos) << c.printed;
}

TEST(EvalInput, SchemaFarPastTheMemberLimitFailsAtOnce) {
  ScratchDir dir;
  std::string text = "entity E {\n";
  for (std::size_t i = 0; i < 500'000; ++i)
    text.append("  f").append(std::to_string(i)).append(": int\n");
  const std::string schema = dir.file("big.mgs", text + "}\n");
  // The old checker took more than a minute; kSilenceMs is the watchdog, not a benchmark.
  ChildProcess c = ChildProcess::spawn({MGRAPH_BINARY, "eval", schema}, true);
  ASSERT_GT(c.pid, 0);
  EXPECT_EQ(c.finish(kSilenceMs), 2) << c.printed;
  EXPECT_NE(c.printed.find("big.mgs:4098:3: error: entity E has more than 4096 members"),
            std::string::npos)
      << c.printed;
}

TEST(EvalInput, ADirectoryIsNeitherASchemaNorAScript) {
  ScratchDir dir;
  const std::string schema = dir.file("s.mgs", kSchema);
  ChildProcess as_schema = ChildProcess::spawn({MGRAPH_BINARY, "eval", dir.path()}, true);
  ASSERT_GT(as_schema.pid, 0);
  EXPECT_EQ(as_schema.finish(kSilenceMs), 2) << as_schema.printed;
  EXPECT_NE(as_schema.printed.find(dir.path() + ": cannot read the schema file: is a directory"),
            std::string::npos)
      << as_schema.printed;
  ChildProcess as_script =
      ChildProcess::spawn({MGRAPH_BINARY, "eval", schema, "--script", dir.path()}, true);
  ASSERT_GT(as_script.pid, 0);
  EXPECT_EQ(as_script.finish(kSilenceMs), 2) << as_script.printed;
  EXPECT_NE(as_script.printed.find(dir.path() + ": cannot read the script file: is a directory"),
            std::string::npos)
      << as_script.printed;
  // Refused before anything ran: no data directory was created either.
  ChildProcess with_data = ChildProcess::spawn(
      {MGRAPH_BINARY, "eval", schema, "--script", dir.path(), "--data", dir.path() + "/d"}, true);
  ASSERT_GT(with_data.pid, 0);
  EXPECT_EQ(with_data.finish(kSilenceMs), 2) << with_data.printed;
  EXPECT_FALSE(fs::exists(dir.path() + "/d"));
}

TEST(EvalInput, EachLineIsAnsweredBeforeTheNextIsRead) {
  ScratchDir dir;
  const std::string schema = dir.file("s.mgs", kSchema);
  ChildProcess c = ChildProcess::spawn({MGRAPH_BINARY, "eval", schema});
  ASSERT_GT(c.pid, 0);
  ASSERT_TRUE(write_all(c.in, "create P p n=1\ncommit\nget p.n\n"));
  // stdin is still open: the answer must come now, not at the end of the input.
  ASSERT_TRUE(c.read_until("{\"get\":\"p.n\",\"value\":1,", kSilenceMs)) << c.printed;
  // A line longer than a script line may be is refused without being held whole, and
  // the lines after it still run.
  ASSERT_TRUE(write_all(c.in, "set p.n = 2 " + std::string(std::size_t{3} << 20, ' ') + "\n"));
  ASSERT_TRUE(write_all(c.in, "set p.n = 3\ncommit\nget p.n\n"));
  ASSERT_TRUE(c.read_until("{\"get\":\"p.n\",\"value\":3,", kSilenceMs)) << c.printed;
  EXPECT_NE(c.printed.find("{\"error\":\"line longer than 1048576 bytes\",\"code\":"
                           "\"invalid argument\",\"line\":4}"),
            std::string::npos)
      << c.printed;
  EXPECT_EQ(c.finish(kSilenceMs), 1);
}

/// Peak resident set (VmHWM) of a live process, in KiB; 0 when unknown.
std::size_t peak_rss_kib(pid_t pid) {
  std::ifstream status("/proc/" + std::to_string(pid) + "/status");
  std::string key;
  // Bounded by the file's lines.
  while (status >> key) {
    if (key == "VmHWM:") {
      std::size_t kib = 0;
      status >> kib;
      return kib;
    }
    status.ignore(1 << 16, '\n');
  }
  return 0;
}

TEST(EvalInput, AMillionLinesRunInBoundedMemory) {
  ScratchDir dir;
  const std::string schema = dir.file("s.mgs", kSchema);
  ChildProcess c = ChildProcess::spawn({MGRAPH_BINARY, "eval", schema});
  ASSERT_GT(c.pid, 0);
  // 1,000,000 gets: 11 MB in, 48 MB out. Both held (as before) make ~150 MB.
  constexpr std::size_t kGets = 1'000'000;
  std::string input = "create P p n=7\ncommit\n";
  for (std::size_t i = 0; i < kGets; ++i) input += "get p.n\n";
  const std::string answer = "{\"get\":\"p.n\",\"value\":7,\"version\":0,\"revision\":1}\n";
  const std::size_t want = kGets * answer.size();
  std::size_t sent = 0, answered = 0;
  std::string tail;
  // A write that waits for room in the pipe while the child waits for room in its own
  // output pipe would deadlock both: the input side writes what fits and comes back.
  ASSERT_EQ(::fcntl(c.in, F_SETFL, ::fcntl(c.in, F_GETFL) | O_NONBLOCK), 0);
  // Writes and reads at once (the child blocks when its stdout pipe is full); each
  // iteration moves bytes or fails on a silent child.
  while (answered < want) {
    pollfd fds[2] = {{c.out, POLLIN, 0}, {sent < input.size() ? c.in : -1, POLLOUT, 0}};
    ASSERT_GT(::poll(fds, 2, kSilenceMs), 0) << "silent after " << answered << " bytes";
    if ((fds[1].revents & POLLOUT) != 0) {
      const std::size_t chunk = std::min<std::size_t>(1 << 16, input.size() - sent);
      const ssize_t put = ::write(c.in, input.data() + sent, chunk);
      ASSERT_TRUE(put > 0 || errno == EAGAIN) << std::strerror(errno);
      if (put > 0) sent += static_cast<std::size_t>(put);
    }
    if ((fds[0].revents & (POLLIN | POLLHUP)) != 0) {
      char buf[1 << 16];
      const ssize_t got = ::read(c.out, buf, sizeof buf);
      ASSERT_GT(got, 0) << "the output ended after " << answered << " bytes";
      answered += static_cast<std::size_t>(got);
      tail.assign(buf, static_cast<std::size_t>(got));
    }
  }
  EXPECT_EQ(answered, want);
  EXPECT_TRUE(tail.ends_with(answer)) << tail;
  // Every answer came with stdin still open; the peak is that of a small process
  // (about 22 MB; AddressSanitizer's quarantine and shadow make it meaningless there).
  const std::size_t peak_kib = peak_rss_kib(c.pid);
  EXPECT_GT(peak_kib, 0u);
  if (!kSanitized) {
    EXPECT_LT(peak_kib, std::size_t{48} << 10) << "peak RSS " << peak_kib << " KiB";
  }
  EXPECT_EQ(c.finish(kSilenceMs), 0);
}

}  // namespace
}  // namespace mgraph
