// mgraph_persistence_crash_soak <kills> <seed> [store parent dir]: the crash test with as
// many kills as asked (scripts/soak-crash.sh). Prints one line per kill and a summary;
// exits 1 at the first violation, naming the kill and the seed that reproduces it.

#include <cerrno>
#include <cstdlib>
#include <iostream>
#include <string>

#include "crash_harness.hpp"
#include "support/temp_dir.hpp"

int main(int argc, char** argv) {
  using namespace mgraph::persistence::testing;
  if (argc < 3 || argc > 4) {
    std::cerr << "usage: mgraph_persistence_crash_soak <kills> <seed> [store parent dir]\n";
    return 2;
  }
  if (argc == 4) ::setenv("TMPDIR", argv[3], 1);
  TempDir dir;
  CrashTestOptions options;
  options.writer_path = MGRAPH_PERSISTENCE_CRASH_WRITER;
  options.store_dir = dir.sub("store");
  options.kills = std::strtoull(argv[1], nullptr, 10);
  options.seed = std::strtoull(argv[2], nullptr, 10);
  options.progress = &std::cout;
  CrashTestReport report;
  const mgraph::Status s = run_crash_test(options, report);
  std::cout << "kills " << report.kills << " (" << report.kills_before_first_report
            << " before any durable report), log ends at epoch " << report.last_epoch
            << ", entries checked " << report.entries_checked << ", durable-but-unreported epochs "
            << report.unreported_epochs << "\n";
  if (!s) {
    std::cerr << "FAILED: " << s.to_string() << "\n";
    return 1;
  }
  std::cout << "OK\n";
  return 0;
}
