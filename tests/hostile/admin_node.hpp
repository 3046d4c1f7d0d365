#pragma once
// Helpers for the hostile tests of the admin socket: a temporary directory, a node of a
// two-node configuration that serves `--admin PATH` and waits to be shut down, raw
// unix-socket clients, and `mgraphctl` runs.

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "net_support.hpp"
#include "support/child_process.hpp"
#include "support/node_processes.hpp"

namespace mgraph::hostile {

namespace fs = std::filesystem;
using mgraph::testing::ChildProcess;

/// Watchdog on a node that should exit at once (a refused argument): a node that keeps
/// running instead fails the test after this long.
constexpr int kQuickExitMs = 10'000;

/// n2 is not the coordinator: it serves its admin socket while it retries the coordinator,
/// which never listens (port 1 refuses connections), until `mgraphctl shutdown`.
constexpr const char* kTwoNodes = R"(
[cluster]
schema = "s.mgs"
partitions = 1

[[node]]
name = "n1"
port = 1
coordinator = true
partitions = [0]

[[node]]
name = "n2"
partitions = []
)";
constexpr const char* kSchema = "entity Account { balance: float = 0 }\n";

/// A unix socket connected to `path`, or -1.
inline int connect_to(const std::string& path) {
  const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::strncpy(addr.sun_path, path.c_str(), sizeof addr.sun_path - 1);
  if (fd >= 0 && ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0) return fd;
  if (fd >= 0) ::close(fd);
  return -1;
}

/// Sends `bytes` without SIGPIPE; false when the peer is gone.
inline bool send_bytes(int fd, const std::string& bytes) {
  return ::send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(bytes.size());
}

/// Reads until the peer closes or `wait_ms` passes without data; what arrived.
inline std::string read_answer(int fd, int wait_ms) {
  std::string answer;
  char buf[4096];
  // Bounded by the answer's size and the silence watchdog.
  while (answer.size() < (1u << 20)) {
    pollfd pfd{fd, POLLIN, 0};
    if (::poll(&pfd, 1, wait_ms) <= 0) break;
    const ssize_t got = ::read(fd, buf, sizeof buf);
    if (got <= 0) break;
    answer.append(buf, static_cast<std::size_t>(got));
  }
  return answer;
}

/// The "error" text of `answer`, which must be one JSON object with only that key; "" if not.
inline std::string error_of(const std::string& answer) {
  const nlohmann::json j = nlohmann::json::parse(answer, nullptr, false);
  const bool error =
      j.is_object() && j.size() == 1 && j.contains("error") && j["error"].is_string();
  EXPECT_TRUE(error) << answer;
  return error ? j["error"].get<std::string>() : std::string{};
}

/// `mgraphctl --json --socket PATH command`: its standard output (stderr stays the test's,
/// unless `merge`), and its exit code in *rc.
inline std::string mgraphctl(const std::string& socket, const std::string& command, int* rc,
                             bool merge = false) {
  ChildProcess c = ChildProcess::spawn({MGRAPHCTL_BINARY, "--json", "--socket", socket, command}, merge);
  *rc = c.finish(kSilenceMs);
  return c.printed;
}

class AdminNode : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { mgraph::testing::no_leak_report_in_nodes(); }
  void SetUp() override {
    const std::string test = ::testing::UnitTest::GetInstance()->current_test_info()->name();
    dir_ = fs::temp_directory_path() /
           ("mgraph_hostile_" + std::to_string(::getpid()) + "_" + test.substr(0, 24));
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    config_ = (dir_ / "cluster.toml").string();
    std::ofstream(config_) << kTwoNodes;
    std::ofstream(dir_ / "s.mgs") << kSchema;
  }
  /// Kills the nodes a failed test left running (finish() reaps the others).
  void TearDown() override {
    for (const pid_t pid : started_) {
      int status = 0;
      if (::waitpid(pid, &status, WNOHANG) == 0) {
        ::kill(pid, SIGKILL);
        ::waitpid(pid, &status, 0);
      }
    }
    fs::remove_all(dir_);
  }

  std::string path(const std::string& name) const { return (dir_ / name).string(); }

  /// Starts node n2 serving its admin socket at `socket` (stdout and stderr merged).
  ChildProcess start_node(const std::string& socket) {
    ChildProcess node = ChildProcess::spawn(
        {MGRAPHD_BINARY, "--config", config_, "--node", "n2", "--admin", socket}, true);
    started_.push_back(node.pid);
    return node;
  }

  /// Starts node n2 at `socket` and waits until it serves it.
  ChildProcess serving_node(const std::string& socket) {
    ChildProcess node = start_node(socket);
    EXPECT_TRUE(node.read_until("admin socket", kSilenceMs)) << node.printed;
    return node;
  }

  /// Asserts that the node still answers `status`, then shuts it down: it exits 0.
  static void expect_alive_then_stop(const std::string& socket, ChildProcess& node) {
    int rc = 0;
    std::string out = mgraphctl(socket, "status", &rc, true);
    EXPECT_EQ(rc, 0) << out;
    EXPECT_NE(out.find("\"node\":\"n2\""), std::string::npos) << out;
    out = mgraphctl(socket, "shutdown", &rc, true);
    EXPECT_EQ(rc, 0) << out;
    EXPECT_EQ(node.finish(kSilenceMs), 0) << node.printed;
    EXPECT_NE(node.printed.find("mgraphd n2: stopped"), std::string::npos) << node.printed;
  }

  fs::path dir_;
  std::string config_;
  std::vector<pid_t> started_;
};

}  // namespace mgraph::hostile
