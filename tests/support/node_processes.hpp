#pragma once
// What the tests that start mgraphd processes share: a directory of their own, a port from
// the OS for a program that takes one only as an argument, the sanitizer options the
// nodes inherit, and killing what is left at the end.

#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <initializer_list>
#include <string>
#include <vector>

#include "support/child_process.hpp"

namespace mgraph::testing {

/// Under AddressSanitizer the nodes a test starts keep its error checks but not
/// LeakSanitizer's exit report: CAF 0.17's middleman can leave its broker, the proxies of a
/// peer and the actors they name in a reference cycle when a node stops (indirect leaks,
/// all CAF's: about 1 run in 20 while a peer is connected; seen once in ~70 runs of a
/// node alone, its broker and doorman). The test process itself keeps
/// leak detection: the option is read by each process as it starts. Call from
/// SetUpTestSuite, before any node starts.
inline void no_leak_report_in_nodes() {
  const char* asan = std::getenv("ASAN_OPTIONS");
  const std::string options = std::string(asan != nullptr ? asan : "") + ":detect_leaks=0";
  ::setenv("ASAN_OPTIONS", options.c_str(), 1);
}

/// A port nobody listens on now: bound to 0 on 127.0.0.1, read, released (0 on failure).
/// For a program that takes a port only as an argument, or one that must keep its port
/// across a restart; another connection could take it in between (start_on_chosen_port).
inline int free_loopback_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  int port = 0;
  if (fd >= 0 && ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0 &&
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0) {
    port = ntohs(addr.sin_port);
  }
  if (fd >= 0) ::close(fd);
  return port;
}

/// Starts a node (`args`) that listens on a port the test chose (free_loopback_port, or
/// the port of an earlier process of the node), reading its output until `text`. Between
/// the choice, or the earlier process's end, and this start, the OS may give the port to
/// another connection as its local end (a node dialling the port may even connect to
/// itself); the node then stops at once with "Address already in use" and is started
/// again, at most kBusyPortStarts times (such connections close soon: a node that reached
/// itself drops the link at its handshake; each start, up to its bind, takes the while
/// between tries). Whether `text` came.
inline constexpr int kBusyPortStarts = 50;
inline bool start_on_chosen_port(ChildProcess& c, const std::vector<std::string>& args, const std::string& text,
                                 int silence_ms) {
  for (int start = 0; start < kBusyPortStarts; ++start) {
    c = ChildProcess::spawn(args, true);
    if (c.read_until(text, silence_ms)) return true;
    if (c.printed.find("Address already in use") == std::string::npos) return false;
    c.finish(silence_ms);
    c.pid = -1;
  }
  return false;
}

/// An empty directory for the running test: PREFIX_PID_NAME (the test's name cut to 20
/// characters), removed first if a killed run left it.
inline std::filesystem::path fresh_test_dir(const std::string& prefix) {
  const std::string test = ::testing::UnitTest::GetInstance()->current_test_info()->name();
  const std::filesystem::path dir = std::filesystem::temp_directory_path() /
                                    (prefix + "_" + std::to_string(::getpid()) + "_" + test.substr(0, 20));
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  return dir;
}

/// Kills each process still running (SIGKILL) and reaps it: what a test leaves at its end.
inline void kill_all(std::initializer_list<ChildProcess*> processes, int silence_ms) {
  for (ChildProcess* c : processes) {
    if (c->pid <= 0) continue;
    ::kill(c->pid, SIGKILL);
    c->finish(silence_ms);
    c->pid = -1;
  }
}

/// Runs `args` (argv[0] a path) with `input` on its stdin, to its end: its exit code (-1
/// when it went silent for `silence_ms`, or `input` could not be written whole), and what
/// it printed, stderr too, in *printed.
inline int run_to_end(const std::vector<std::string>& args, std::string* printed,
                      const std::string& input = "", int silence_ms = 60'000) {
  ChildProcess c = ChildProcess::spawn(args, /*merge_stderr=*/true);
  const bool wrote =
      input.empty() || ::write(c.in, input.data(), input.size()) == static_cast<ssize_t>(input.size());
  ::close(c.in);
  c.in = -1;
  const int rc = c.finish(silence_ms);
  *printed = c.printed;
  if (!wrote) *printed += "\n(its standard input could not be written whole)\n";
  return wrote ? rc : -1;
}

}  // namespace mgraph::testing
