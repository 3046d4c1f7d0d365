#pragma once
// A child process for tests that run the real binaries: started with pipes on its stdin
// and stdout (stderr stays the test's unless merged), read with a watchdog so that a hung child fails
// the test instead of hanging it.

#include <fcntl.h>
#include <poll.h>
#include <sys/wait.h>
#include <unistd.h>

#include <string>
#include <vector>

namespace mgraph::testing {

struct ChildProcess {
  pid_t pid = -1;
  int in = -1;   ///< its stdin (write end)
  int out = -1;  ///< its stdout (read end)
  std::string printed;  ///< everything read from its stdout so far

  /// Starts argv[0] with `args`; with `merge_stderr`, its stderr goes to `printed` too.
  /// pid stays -1 when fork fails.
  static ChildProcess spawn(const std::vector<std::string>& args, bool merge_stderr = false) {
    int to[2], from[2];
    ChildProcess c;
    // Close-on-exec: a child started later must not inherit this one's pipe ends (a
    // stdin kept open by another process would never end).
    if (::pipe2(to, O_CLOEXEC) != 0) return c;
    if (::pipe2(from, O_CLOEXEC) != 0) {
      ::close(to[0]);
      ::close(to[1]);
      return c;
    }
    // argv is built before fork: in a test with other threads, the child may only make
    // async-signal-safe calls until exec (an allocation there can wait forever on a lock
    // another thread held at the fork, the sanitizers' allocator's included).
    std::vector<char*> argv;
    argv.reserve(args.size() + 1);
    for (const std::string& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    c.pid = ::fork();
    if (c.pid < 0) {
      for (const int fd : {to[0], to[1], from[0], from[1]}) ::close(fd);
      c.pid = -1;
      return c;
    }
    if (c.pid == 0) {
      ::dup2(to[0], STDIN_FILENO);
      ::dup2(from[1], STDOUT_FILENO);
      if (merge_stderr) ::dup2(from[1], STDERR_FILENO);
      ::close(to[0]);
      ::close(to[1]);
      ::close(from[0]);
      ::close(from[1]);
      ::execv(argv[0], argv.data());
      ::_exit(127);
    }
    ::close(to[0]);
    ::close(from[1]);
    c.in = to[1];
    c.out = from[0];
    return c;
  }

  /// Reads what the child printed, waiting at most `silence_ms`; false on end of output,
  /// silence or more than `bytes_max` printed.
  bool read_some(int silence_ms, std::size_t bytes_max = std::size_t{1} << 24) {
    pollfd pfd{out, POLLIN, 0};
    if (::poll(&pfd, 1, silence_ms) <= 0) return false;
    char buf[4096];
    const ssize_t got = ::read(out, buf, sizeof buf);
    if (got <= 0) return false;
    printed.append(buf, static_cast<std::size_t>(got));
    return printed.size() < bytes_max;
  }

  /// Reads until `text` appears in the output; false if the child ends or goes silent first.
  bool read_until(const std::string& text, int silence_ms) {
    while (printed.find(text) == std::string::npos) {
      if (!read_some(silence_ms)) return false;
    }
    return true;
  }

  void close_input() {
    if (in >= 0) ::close(in);
    in = -1;
  }

  /// Reads the rest of the output, then reaps the child; its exit code, or -1 when it
  /// was killed by a signal or went silent for `silence_ms` (then it is killed).
  int finish(int silence_ms) {
    close_input();
    if (pid <= 0) return -1;  // never started: nothing to read or reap
    bool ended = false;
    while (!ended) {
      pollfd pfd{out, POLLIN, 0};
      const int ready = ::poll(&pfd, 1, silence_ms);
      if (ready <= 0) {
        ::kill(pid, SIGKILL);
        break;
      }
      char buf[4096];
      const ssize_t got = ::read(out, buf, sizeof buf);
      if (got <= 0) {
        ended = true;
      } else {
        printed.append(buf, static_cast<std::size_t>(got));
      }
    }
    ::close(out);
    out = -1;
    int status = 0;
    ::waitpid(pid, &status, 0);
    return ended && WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  }
};

}  // namespace mgraph::testing
