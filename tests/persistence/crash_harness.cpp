#include "crash_harness.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "mgraph/graph/hash.hpp"
#include "mgraph/persistence/store.hpp"
#include "support/field_writes.hpp"

namespace mgraph::persistence::testing {
namespace {

/// Epochs one writer run may append (it is killed long before).
constexpr std::uint64_t writer_epochs_max = 1'000'000;
/// Bytes read from the pipe per run: bounds the drain loop.
constexpr std::size_t pipe_bytes_max = std::size_t{64} << 20;

Status fail(const std::string& message) { return Status(StatusCode::internal, message); }

std::uint64_t digest(const SumState& state) {
  return fnv1a64(state.encode());
}

/// A running writer process and the read end of its stdout.
struct Writer {
  pid_t pid = -1;
  int fd = -1;
  std::string pending;                  ///< an incomplete line
  std::vector<std::uint64_t> reported;  ///< durable epochs reported, in order
  std::size_t bytes_read = 0;
  bool eof = false;
};

Status spawn(const CrashTestOptions& options, Writer& writer) {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) return fail(std::string("pipe2: ") + std::strerror(errno));
  const std::string seed = std::to_string(options.seed);
  const std::string batch = std::to_string(options.batch_size_max);
  const std::string epochs = std::to_string(writer_epochs_max);
  std::vector<char*> argv = {const_cast<char*>(options.writer_path.c_str()),
                             const_cast<char*>(options.store_dir.c_str()),
                             const_cast<char*>(seed.c_str()),
                             const_cast<char*>(batch.c_str()),
                             const_cast<char*>(epochs.c_str()),
                             nullptr};
  const pid_t pid = ::fork();
  if (pid < 0) return fail(std::string("fork: ") + std::strerror(errno));
  if (pid == 0) {  // child: only async-signal-safe calls until exec
    if (::dup2(fds[1], STDOUT_FILENO) < 0) ::_exit(126);
    ::execv(argv[0], argv.data());
    ::_exit(127);
  }
  ::close(fds[1]);
  writer.pid = pid;
  writer.fd = fds[0];
  return Status::ok();
}

/// Reads what the pipe holds (waiting at most the watchdog) and parses complete lines.
Status read_some(const CrashTestOptions& options, Writer& writer) {
  pollfd pfd{writer.fd, POLLIN, 0};
  const int ready = ::poll(&pfd, 1, options.writer_silence_ms_max);
  if (ready == 0) {
    return fail("writer silent for " + std::to_string(options.writer_silence_ms_max) + " ms");
  }
  if (ready < 0 && errno != EINTR) return fail(std::string("poll: ") + std::strerror(errno));
  char buffer[4096];
  const ssize_t got = ::read(writer.fd, buffer, sizeof buffer);
  if (got < 0) {
    if (errno == EINTR) return Status::ok();
    return fail(std::string("read: ") + std::strerror(errno));
  }
  if (got == 0) {
    writer.eof = true;
    return Status::ok();
  }
  writer.bytes_read += static_cast<std::size_t>(got);
  if (writer.bytes_read > pipe_bytes_max) return fail("writer printed too much");
  writer.pending.append(buffer, static_cast<std::size_t>(got));
  for (std::size_t newline = writer.pending.find('\n'); newline != std::string::npos;
       newline = writer.pending.find('\n')) {
    const std::string line = writer.pending.substr(0, newline);
    writer.pending.erase(0, newline + 1);
    if (line.rfind("durable ", 0) != 0) return fail("unexpected writer output: " + line);
    char* end = nullptr;
    const std::uint64_t epoch = std::strtoull(line.c_str() + 8, &end, 10);
    if (end == line.c_str() + 8 || *end != '\0') return fail("unexpected writer output: " + line);
    if (!writer.reported.empty() && epoch <= writer.reported.back()) {
      return fail("durable reports out of order: " + std::to_string(epoch) + " after " +
                  std::to_string(writer.reported.back()));
    }
    writer.reported.push_back(epoch);
  }
  return Status::ok();
}

/// Kills the writer after `reports` durable reports plus a jitter, then drains its pipe.
Status run_and_kill(const CrashTestOptions& options, Prng& prng, std::uint64_t reports,
                    Writer& writer) {
  Status s = spawn(options, writer);
  if (!s) return s;
  for (std::size_t i = 0;
       s && !writer.eof && writer.reported.size() < reports && i < pipe_bytes_max; ++i) {
    s = read_some(options, writer);
  }
  const std::uint64_t spin =
      options.spin_before_kill_max == 0 ? 0 : prng.below(options.spin_before_kill_max + 1);
  volatile std::uint64_t sink = 0;  // keeps the busy loop from being optimised away
  for (std::uint64_t i = 0; i < spin; ++i) sink = sink + i;
  ::kill(writer.pid, SIGKILL);
  for (std::size_t i = 0; s && !writer.eof && i < pipe_bytes_max; ++i)
    s = read_some(options, writer);
  int status = 0;
  pid_t waited = -1;
  for (int attempt = 0; attempt < 100 && waited < 0; ++attempt) {
    waited = ::waitpid(writer.pid, &status, 0);
    if (waited < 0 && errno != EINTR) break;
  }
  ::close(writer.fd);
  if (!s) return s;
  if (waited != writer.pid) return fail(std::string("waitpid: ") + std::strerror(errno));
  if (!(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL)) {
    return fail("writer ended by itself before the kill (status " + std::to_string(status) +
                "; exit code " + std::to_string(WIFEXITED(status) ? WEXITSTATUS(status) : -1) +
                "): see its stderr above");
  }
  return Status::ok();
}

/// Everything the parent knows between kills.
struct Oracle {
  SumState state;                      ///< in-memory replay up to state.epoch
  std::vector<std::uint64_t> digests;  ///< digests[e]: digest of the state after epoch e
  Oracle() { digests.push_back(digest(state)); }
  void advance_to(std::uint64_t epoch, std::uint64_t seed) {
    while (state.epoch < epoch) {
      const std::uint64_t next = state.epoch + 1;
      const bool applied = state.apply(next, batch_for_epoch(next, seed));
      MG_ASSERT(applied);
      digests.push_back(digest(state));
    }
  }
};

Status check_store(const CrashTestOptions& options, std::uint64_t previous_last,
                   const Writer& writer, Oracle& oracle, CrashTestReport& report) {
  StoreOptions store_options;
  store_options.create_if_missing = false;
  store_options.map_size_initial_bytes = std::uint64_t{1} << 20;
  auto store = Store::open(options.store_dir, store_options);
  if (!store) return store.status();
  auto last = (*store)->last_epoch();
  if (!last) return last.status();
  const std::uint64_t reported = writer.reported.empty() ? 0 : writer.reported.back();
  if (*last < previous_last) {
    return fail("log ends at epoch " + std::to_string(*last) + " after the kill, but it ended at " +
                std::to_string(previous_last) + " before this run");
  }
  if (*last < reported) {
    return fail("epoch " + std::to_string(reported) +
                " was reported durable, but the log ends at " + std::to_string(*last));
  }
  // The writer reports after each commit, so at most one commit can be unreported.
  const std::uint64_t could_have_committed =
      std::max(previous_last, reported) + options.batch_size_max;
  if (*last > could_have_committed) {
    return fail("log ends at epoch " + std::to_string(*last) + ", beyond the " +
                std::to_string(could_have_committed) + " the writer could have committed");
  }
  report.unreported_epochs += *last - std::max(previous_last, reported);
  auto verified = (*store)->verify();
  if (!verified) return verified.status();

  // The log from the compaction bound on: contiguous, and exactly what was written.
  const std::uint64_t bound = (*store)->info().log_compacted_before;
  const std::uint64_t start = bound == 0 ? 0 : bound - 1;
  LogCursor cursor = (*store)->log_cursor(start);
  std::uint64_t expected = start + 1;
  for (std::uint64_t i = 0; i <= *last; ++i) {
    auto entry = cursor.next();
    if (!entry) return entry.status();
    if (*entry == nullptr) break;
    const LogEntry& e = **entry;
    if (e.epoch != expected) {
      return fail("log gap: epoch " + std::to_string(e.epoch) + " follows " +
                  std::to_string(expected - 1));
    }
    if (e.batch != batch_for_epoch(e.epoch, options.seed) ||
        e.time_ns != time_ns_for_epoch(e.epoch)) {
      return fail("log entry of epoch " + std::to_string(e.epoch) +
                  " differs from what was written");
    }
    ++expected;
    ++report.entries_checked;
  }
  if (expected - 1 != *last) {
    return fail("log read ends at epoch " + std::to_string(expected - 1) + ", last_epoch says " +
                std::to_string(*last));
  }

  // Recovery (newest checkpoint + replay) against the in-memory replay of epochs 1..last.
  oracle.advance_to(*last, options.seed);
  auto recovery = (*store)->recover("oracle");
  if (!recovery) return recovery.status();
  SumState state;
  if (recovery->checkpoint) {
    const Checkpoint& checkpoint = *recovery->checkpoint;
    if (!state.decode(checkpoint.state) || state.epoch != checkpoint.epoch ||
        digest(state) != oracle.digests[checkpoint.epoch]) {
      return fail("checkpoint at epoch " + std::to_string(checkpoint.epoch) +
                  " differs from the in-memory replay");
    }
  }
  for (std::uint64_t i = 0; i <= *last; ++i) {
    auto entry = recovery->log.next();
    if (!entry) return entry.status();
    if (*entry == nullptr) break;
    if (!state.apply((*entry)->epoch, (*entry)->batch)) return fail("batch does not decode");
  }
  if (!(state == oracle.state)) {
    return fail("recovered state at epoch " + std::to_string(state.epoch) +
                " differs from the in-memory replay at epoch " +
                std::to_string(oracle.state.epoch));
  }
  return Status::ok();
}

}  // namespace

Status run_crash_test(const CrashTestOptions& options, CrashTestReport& report) {
  {
    StoreOptions create;
    create.map_size_initial_bytes = std::uint64_t{1} << 20;
    auto store = Store::open(options.store_dir, create);
    if (!store) return store.status();
  }
  Prng prng(options.seed);
  Oracle oracle;
  std::uint64_t previous_last = 0;
  for (std::uint64_t kill = 0; kill < options.kills; ++kill) {
    const std::uint64_t reports =
        prng.below(8) == 0 ? 0 : 1 + prng.below(options.reports_before_kill_max);
    Writer writer;
    Status s = run_and_kill(options, prng, reports, writer);
    if (s) s = check_store(options, previous_last, writer, oracle, report);
    if (!s) {
      return Status(s.code(), "kill " + std::to_string(kill + 1) + " (seed " +
                                  std::to_string(options.seed) + "): " + s.message());
    }
    ++report.kills;
    if (writer.reported.empty()) ++report.kills_before_first_report;
    if (!writer.reported.empty()) {
      report.reported_durable_max = std::max(report.reported_durable_max, writer.reported.back());
    }
    previous_last = oracle.state.epoch;
    report.last_epoch = previous_last;
    if (options.progress != nullptr) {
      *options.progress << "kill " << kill + 1 << ": " << writer.reported.size()
                        << " durable reports, log ends at epoch " << previous_last << "\n";
    }
  }
  return Status::ok();
}

}  // namespace mgraph::persistence::testing
