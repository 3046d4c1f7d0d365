// The epoch protocol (docs/EPOCHS.md) against the embedded oracle: random DAGs split over
// random partitions, random writes per epoch, messages delivered in random order by a
// simulated network. After every epoch each partition's fields and mirrors equal what one
// Graph holding everything computes, every field computed at most once per epoch. Every
// message is encoded and decoded on its way (codec/epoch_codec.hpp).

#include <gtest/gtest.h>

#include <cstdio>
#include <string>

#include "mgraph/actors/epoch.hpp"
#include "sim_cluster.hpp"

namespace mgraph::actors {
namespace {

using testing::SimCluster;

TEST(CreditCounter, SharesSumExactly) {
  CreditCounter c;
  c.add(1);
  EXPECT_FALSE(c.whole());
  c.add(2);
  c.add(3);
  c.add(3);
  EXPECT_TRUE(c.whole());
  c.reset();
  // Deep splits: 2^-1 + 2^-2 + ... + 2^-200 + 2^-200 = 1.
  for (std::uint32_t k = 1; k <= 200; ++k) c.add(k);
  EXPECT_FALSE(c.whole());
  c.add(200);
  EXPECT_TRUE(c.whole());
  c.reset();
  c.add(0);
  EXPECT_TRUE(c.whole());
}

TEST(EpochProtocol, ASingleWriteInvolvesExactlyThePartitionsOfItsCone) {
  std::size_t epochs = 0;
  for (std::uint64_t seed = 1; seed <= 10; ++seed) {
    SCOPED_TRACE("seed " + std::to_string(seed));
    SimCluster cluster(seed, 60 + seed * 10, 2 + seed % 3);
    Epoch e = 0;
    for (std::size_t cross = 1; cross <= 3; ++cross) {
      const std::vector<FieldId> among = cluster.workload().variables_crossing(cross);
      for (const FieldId f : among) {
        ASSERT_TRUE(cluster.workload().is_variable(f));
        ASSERT_EQ(cluster.workload().cone_partitions(f).size(), cross);
      }
      if (among.empty()) continue;
      for (int i = 0; i < 10; ++i) {
        cluster.single_write_epoch(++e, among);
        if (::testing::Test::HasFatalFailure()) return;
        // Every partition of the cone takes part (marking reaches it), and no other.
        EXPECT_EQ(cluster.result().participants, cross) << "epoch " << e;
        ++epochs;
      }
    }
  }
  EXPECT_GT(epochs, 200u);
}

TEST(EpochProtocol, PartitionedGraphsEqualTheOracleUnderRandomDelivery) {
  std::size_t messages = 0, committed = 0, aborted = 0;
  for (std::uint64_t seed = 1; seed <= 60; ++seed) {
    SCOPED_TRACE("seed " + std::to_string(seed));
    SimCluster cluster(seed, 20 + seed * 3, 1 + seed % 4);
    cluster.check();
    for (Epoch e = 1; e <= 40; ++e) {
      cluster.epoch(e);
      if (::testing::Test::HasFatalFailure()) return;
    }
    messages += cluster.messages();
    committed += cluster.committed();
    aborted += cluster.aborted();
  }
  // The streams must exercise both outcomes and real message exchange.
  EXPECT_GT(aborted, 10u);
  EXPECT_GT(committed, 2000u);
  EXPECT_GT(messages, 50'000u);
  std::printf("%zu epochs committed, %zu aborted, %zu messages delivered\n", committed, aborted,
              messages);
}

}  // namespace
}  // namespace mgraph::actors
