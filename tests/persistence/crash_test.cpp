// The crash test of docs/PERSISTENCE.md: a writer process killed with SIGKILL under load,
// again and again; after each kill the store must hold every epoch reported durable, intact,
// as a contiguous prefix of what was written, and recover to the in-memory replay's state.
// MGRAPH_CRASH_KILLS and MGRAPH_CRASH_SEED override the defaults (scripts/soak-crash.sh
// runs the same loop with many more kills).

#include <gtest/gtest.h>

#include <cstdlib>
#include <iostream>
#include <string>

#include "crash_harness.hpp"
#include "support/env.hpp"
#include "support/store_fixture.hpp"
#include "support/temp_dir.hpp"

namespace mgraph::persistence {
namespace {

using mgraph::testing::env_u64;

TEST(Crash, AKilledWriterNeverLosesAnEpochReportedDurable) {
  testing::TempDir dir;
  testing::CrashTestOptions options;
  options.writer_path = MGRAPH_PERSISTENCE_CRASH_WRITER;
  options.store_dir = dir.sub("store");
  options.kills = env_u64("MGRAPH_CRASH_KILLS", 100);
  options.seed = env_u64("MGRAPH_CRASH_SEED", 20240611);
  testing::CrashTestReport report;
  MG_ASSERT_OK(testing::run_crash_test(options, report));
  EXPECT_EQ(report.kills, options.kills);
  EXPECT_GT(report.reported_durable_max, 0u);
  EXPECT_GE(report.last_epoch, report.reported_durable_max);
  std::cout << "kills " << report.kills << " (" << report.kills_before_first_report
            << " before any durable report), log ends at epoch " << report.last_epoch
            << ", entries checked " << report.entries_checked << ", durable-but-unreported epochs "
            << report.unreported_epochs << "\n";
}

}  // namespace
}  // namespace mgraph::persistence
