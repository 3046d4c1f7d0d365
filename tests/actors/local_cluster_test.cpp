// The epoch protocol in CAF actors: a coordinator and one actor per partition exchanging
// the codec's bytes, scheduled deterministically by CAF's test coordinator. After every
// epoch the partitions equal the oracle, exactly as with the simulated network.

#include <caf/all.hpp>
#include <caf/scheduler/test_coordinator.hpp>
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "mgraph/actors/local_cluster.hpp"
#include "sim_cluster.hpp"

namespace mgraph::actors {
namespace {

using testing::SimCluster;

TEST(LocalCluster, ActorsRunEpochsLikeTheOracle) {
  caf::actor_system_config cfg;
  cfg.set("scheduler.policy", caf::atom("testing"));
  caf::actor_system sys{cfg};
  auto& sched = dynamic_cast<caf::scheduler::test_coordinator&>(sys.scheduler());
  std::size_t committed = 0, aborted = 0;
  for (std::uint64_t seed = 1; seed <= 12; ++seed) {
    SCOPED_TRACE("seed " + std::to_string(seed));
    SimCluster cluster(seed, 20 + seed * 5, 2 + seed % 3);
    const caf::actor coordinator = sys.spawn(coordinator_actor, cluster.owners());
    std::vector<caf::actor> partitions;
    std::size_t handled = 0;
    for (const auto& core : cluster.parts()) {
      partitions.push_back(
          sys.spawn(partition_actor, core, MessageObserver([&handled](MessageKind) { ++handled; })));
    }
    caf::anon_send(coordinator, peers_atom::value, partitions);
    for (const caf::actor& p : partitions) caf::anon_send(p, peers_atom::value, partitions, coordinator);
    sched.run();
    caf::scoped_actor client{sys};
    for (Epoch e = 1; e <= 30; ++e) {
      bool oracle_ok = false;
      Message begin;
      for (auto& [p, writes] : cluster.next_writes(&oracle_ok)) {
        for (FieldWrite& w : writes) begin.writes.push_back(std::move(w));
      }
      client->send(coordinator, run_atom::value, e, codec::encode_epoch_message(begin).value());
      // Deterministic: runs every actor until no message is left (bounded by the protocol,
      // whose termination the simulated-network test checks).
      sched.run();
      bool done = false;
      client->receive(
          [&](bool ok, const std::string& reason) {
            done = true;
            cluster.verify(e, oracle_ok, ok, reason);
            (ok ? committed : aborted) += 1;
          },
          [&](const caf::error& err) { FAIL() << "epoch " << e << ": " << sys.render(err); },
          caf::after(std::chrono::seconds(0)) >> [&] { FAIL() << "epoch " << e << ": no answer"; });
      ASSERT_TRUE(done);
      if (::testing::Test::HasFatalFailure()) return;
    }
    EXPECT_GT(handled, 30u);  // every partition message passed the observer
    caf::anon_send_exit(coordinator, caf::exit_reason::user_shutdown);
    for (const caf::actor& p : partitions) caf::anon_send_exit(p, caf::exit_reason::user_shutdown);
    sched.run();
  }
  EXPECT_GT(committed, 300u);
  EXPECT_GT(aborted, 3u);
}

}  // namespace
}  // namespace mgraph::actors
