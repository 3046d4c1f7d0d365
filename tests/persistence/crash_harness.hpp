#pragma once
// The crash test: runs mgraph_persistence_crash_writer, kills it with SIGKILL at a random
// moment, reopens the store and checks it; repeated `kills` times. Shared by the CI test
// (crash_test.cpp) and the soak driver (scripts/soak-crash.sh).

#include <cstdint>
#include <ostream>
#include <string>

#include "mgraph/graph/status.hpp"

namespace mgraph::persistence::testing {

struct CrashTestOptions {
  std::string writer_path;  ///< the mgraph_persistence_crash_writer binary
  std::string store_dir;    ///< an empty directory; the store is created in it
  std::uint64_t kills = 50;
  std::uint64_t seed = 1;
  std::uint64_t batch_size_max = 32;  ///< LogWriter batch size of the writer
  /// The kill comes after reading 1..this durable reports (or none, one run in eight).
  std::uint64_t reports_before_kill_max = 16;
  /// Then a busy loop of 0..this iterations varies where in its work the writer dies. A
  /// jitter only: what the kill waits for is the reports read from the pipe.
  std::uint64_t spin_before_kill_max = 200'000;
  /// Watchdog on each wait for the writer's pipe: a hung writer fails the test.
  int writer_silence_ms_max = 30'000;
  std::ostream* progress = nullptr;  ///< one line per kill when set
};

struct CrashTestReport {
  std::uint64_t kills = 0;
  std::uint64_t kills_before_first_report = 0;
  std::uint64_t last_epoch = 0;  ///< the log's last epoch after the final kill
  std::uint64_t reported_durable_max = 0;
  std::uint64_t entries_checked = 0;    ///< log entries compared with the generator
  std::uint64_t unreported_epochs = 0;  ///< durable but killed before the report: sum
};

/// Runs the kill/reopen/check loop. Returns the first violation found: a reported-durable
/// epoch missing, an epoch beyond what the writer could have committed, a gap in the log,
/// an entry that differs from what was written, a checksum failure, or recovery (newest
/// checkpoint + log replay) disagreeing with an in-memory replay of the same epochs.
Status run_crash_test(const CrashTestOptions& options, CrashTestReport& report);

}  // namespace mgraph::persistence::testing
