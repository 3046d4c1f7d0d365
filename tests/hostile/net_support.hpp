#pragma once
// Helpers of the hostile tests of mgraphd's network-facing side and its configuration: a
// scratch directory, a cluster configuration, the ports a node prints, loopback sockets
// read with deadlines, a process's resident memory.

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include "support/child_process.hpp"

namespace mgraph::hostile {

namespace fs = std::filesystem;
using mgraph::testing::ChildProcess;

/// Watchdog on every wait for a node that is expected to answer.
constexpr int kSilenceMs = 60'000;

/// Three nodes; n1 coordinates; ports chosen by the OS.
constexpr const char* kThreeNodes = R"(
[cluster]
seed = 11
fields = 400
partitions = 5
epochs = 120

[[node]]
name = "n1"
coordinator = true
partitions = [0, 3]

[[node]]
name = "n2"
partitions = [1, 4]

[[node]]
name = "n3"
partitions = [2]
)";

/// A directory of its own under the system's temporary directory, removed at the end.
struct ScratchDir {
  fs::path path;
  explicit ScratchDir(const std::string& name)
      : path(fs::temp_directory_path() / (name + "_" + std::to_string(::getpid()))) {
    fs::remove_all(path);
    fs::create_directories(path);
  }
  ~ScratchDir() {
    std::error_code ignored;
    fs::remove_all(path, ignored);
  }
  /// Writes `text` to the file `name` in the directory; its path.
  std::string write(const std::string& name, std::string_view text) const {
    const std::string file = (path / name).string();
    std::ofstream(file, std::ios::binary) << text;
    return file;
  }
};

inline std::vector<std::string> node_args(const std::string& config, const std::string& node) {
  return {MGRAPH_CLUSTER_BENCH_BINARY, "--config", config, "--node", node};
}

/// The number a node printed after `key` (up to `end`); "" if it did not print it in time.
inline std::string printed_number(ChildProcess& c, const std::string& key, const std::string& end) {
  if (!c.read_until(end, kSilenceMs)) return {};
  const std::size_t at = c.printed.find(key);
  if (at == std::string::npos) return {};
  const std::size_t stop = c.printed.find_first_not_of("0123456789", at + key.size());
  return c.printed.substr(at + key.size(), stop - at - key.size());
}

/// The peer port of "listening on 127.0.0.1:PORT, partitions ...".
inline std::string listen_port(ChildProcess& c) {
  return printed_number(c, "listening on 127.0.0.1:", ", partitions");
}

/// The port of "metrics on 127.0.0.1:PORT/metrics".
inline std::string metrics_port(ChildProcess& c) {
  return printed_number(c, "metrics on 127.0.0.1:", "/metrics");
}

/// A TCP connection to 127.0.0.1:port; -1 on failure.
inline int connect_loopback(int port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<std::uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

/// Sends all of `data`; false on an error (the peer closed, say).
inline bool send_all(int fd, std::string_view data) {
  while (!data.empty()) {
    const ssize_t put = ::send(fd, data.data(), data.size(), MSG_NOSIGNAL);
    if (put <= 0) return false;
    data.remove_prefix(static_cast<std::size_t>(put));
  }
  return true;
}

/// Reads from `fd` until the peer closes it (end of stream or reset) or `timeout_ms` pass;
/// true if it was closed. What was read is appended to `got` (when given).
inline bool closed_within(int fd, int timeout_ms, std::string* got = nullptr) {
  const auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  // Each pass reads something or waits; both end at the deadline.
  for (;;) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                          until - std::chrono::steady_clock::now())
                          .count();
    if (left <= 0) return false;
    pollfd pfd{fd, POLLIN, 0};
    if (::poll(&pfd, 1, static_cast<int>(left)) <= 0) continue;
    char buf[4096];
    const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n <= 0) return true;
    if (got != nullptr) got->append(buf, static_cast<std::size_t>(n));
  }
}

/// VmRSS of a process in KiB; -1 when it cannot be read.
inline long rss_kib(pid_t pid) {
  std::ifstream status("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return std::stol(line.substr(6));
  }
  return -1;
}

/// A BASP header (caf/io/basp/header.hpp, big-endian) claiming `payload_len` bytes.
inline std::string basp_header(std::uint32_t payload_len, unsigned char operation = 1) {
  std::string h(32, '\0');
  h[0] = static_cast<char>(operation);
  for (int i = 0; i < 4; ++i) h[4 + i] = static_cast<char>(payload_len >> (24 - 8 * i));
  h[15] = 3;  // operation_data: any
  return h;
}

/// Reads exactly `n` bytes from `fd`, each wait at most `wait_ms`; fewer if it closes or
/// goes silent.
inline std::string read_exactly(int fd, std::size_t n, int wait_ms) {
  std::string got;
  char buf[4096];
  while (got.size() < n) {
    pollfd pfd{fd, POLLIN, 0};
    if (::poll(&pfd, 1, wait_ms) <= 0) break;
    const ssize_t r = ::recv(fd, buf, std::min(sizeof buf, n - got.size()), 0);
    if (r <= 0) break;
    got.append(buf, static_cast<std::size_t>(r));
  }
  return got;
}

/// A stand-in for CAF behind the peer guard: listens on 127.0.0.1 at a port the OS
/// chooses.
struct Upstream {
  int listener = -1;
  std::uint16_t port = 0;
  int wait_ms;  ///< bound of accept()
  explicit Upstream(int wait) : wait_ms(wait) {
    listener = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof addr;
    if (::bind(listener, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0 &&
        ::listen(listener, 16) == 0 &&
        ::getsockname(listener, reinterpret_cast<sockaddr*>(&addr), &len) == 0) {
      port = ntohs(addr.sin_port);
    }
  }
  ~Upstream() { ::close(listener); }
  Upstream(const Upstream&) = delete;
  Upstream& operator=(const Upstream&) = delete;
  /// The next connection the guard makes; -1 if none within wait_ms.
  int accept() const {
    pollfd pfd{listener, POLLIN, 0};
    if (::poll(&pfd, 1, wait_ms) <= 0) return -1;
    return ::accept(listener, nullptr, nullptr);
  }
};

}  // namespace mgraph::hostile
