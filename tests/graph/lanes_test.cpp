// Layers computed on several lanes (GraphOptions::lanes; DECISIONS.md "Layers computed on
// several cores"): ThreadLanes itself, and that a graph on lanes changes the same fields in
// the same order whoever runs its lanes. (lean_test.cpp's Lanes tests compare graphs on
// lanes with the general path on random graphs, failures, rollbacks and undo included.)

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <memory>
#include <set>
#include <span>
#include <string>
#include <thread>
#include <vector>

#include "mgraph/graph/graph.hpp"
#include "mgraph/graph/prng.hpp"
#include "mgraph/graph/thread_lanes.hpp"
#include "test_lanes.hpp"

namespace mgraph {
namespace {

struct Seen {
  std::vector<std::uint64_t> runs;
  std::vector<std::thread::id> threads;
};

void note_lane(void* context, std::uint32_t lane) {
  Seen& seen = *static_cast<Seen*>(context);
  ++seen.runs[lane];
  seen.threads[lane] = std::this_thread::get_id();
}

TEST(ThreadLanes, RunsEveryLaneOncePerRunAndLaneZeroOnTheCallingThread) {
  for (const std::uint32_t count : {1u, 2u, 4u}) {
    ThreadLanes lanes(count);
    ASSERT_EQ(lanes.lanes(), count);
    Seen seen{std::vector<std::uint64_t>(count), std::vector<std::thread::id>(count)};
    constexpr std::uint64_t kRuns = 3000;
    for (std::uint64_t k = 1; k <= kRuns; ++k) {
      lanes.run(note_lane, &seen);
      // run() returns once every lane has returned.
      for (std::uint32_t lane = 0; lane < count; ++lane) ASSERT_EQ(seen.runs[lane], k) << "lane " << lane;
    }
    EXPECT_EQ(seen.threads[0], std::this_thread::get_id());
    std::set<std::thread::id> distinct(seen.threads.begin(), seen.threads.end());
    EXPECT_EQ(distinct.size(), count) << "each lane has a thread of its own";
  }
}

TEST(ThreadLanes, StopsWhetherItsHelpersRanOrNot) {
  { ThreadLanes idle(3); }  // destroyed before any run: the helpers still stop
  ThreadLanes lanes(3);
  Seen seen{std::vector<std::uint64_t>(3), std::vector<std::thread::id>(3)};
  lanes.run(note_lane, &seen);
  EXPECT_EQ(seen.runs, (std::vector<std::uint64_t>{1, 1, 1}));
  EXPECT_THROW(ThreadLanes(0), std::invalid_argument);
}

/// A layered random graph, `width` variables and `layers - 1` layers of `width` fields,
/// each the sum of 2 or 3 fields of the layer below, some as kernels and some as formulas.
struct Layered {
  static constexpr std::size_t kWidth = 1500;
  static constexpr std::size_t kLayers = 6;
  Graph graph;
  std::vector<NodeId> variables;

  explicit Layered(std::shared_ptr<LaneRunner> lanes)
      : graph(GraphOptions{.lanes = std::move(lanes), .lanes_min_layer = 64}) {
    FieldSpec kernel;
    kernel.kernel = [](std::span<const double> in, NodeId, const void*) {
      double t = 0;
      for (const double x : in) t += x;
      return t;
    };
    FieldSpec formula;  // the same sum, modulo 1000 (so that some sums do not change)
    formula.formula = [](Context& c) {
      double t = 0;
      for (std::size_t i = 0; i < c.input_count(); ++i) t += c.input(i).number();
      return Value(static_cast<double>(static_cast<std::int64_t>(t) % 1000));
    };
    const SpecId specs[] = {graph.add_spec(std::move(kernel)), graph.add_spec(std::move(formula))};
    Prng rng(17);
    for (std::size_t j = 0; j < kWidth; ++j) variables.push_back(graph.add_variable(Value(1.0)));
    std::vector<NodeId> below = variables;
    for (std::size_t layer = 1; layer < kLayers; ++layer) {
      std::vector<NodeId> here;
      for (std::size_t j = 0; j < kWidth; ++j) {
        std::vector<NodeId> inputs(2 + rng.below(2));
        for (NodeId& in : inputs) in = below[rng.below(kWidth)];
        here.push_back(graph.add_derived(specs[rng.below(2)], inputs).value());
      }
      below = std::move(here);
    }
    EXPECT_TRUE(graph.commit().is_ok());
  }
};

TEST(Lanes, ChangeTheSameFieldsInTheSameOrderWhoeverRunsThem) {
  for (const std::uint32_t count : {2u, 3u}) {
    auto threads = std::make_shared<CountingLanes>(std::make_shared<ThreadLanes>(count));
    Layered a(threads);
    Layered b(std::make_shared<BackwardLanes>(count));
    Layered c(nullptr);  // on the calling thread alone
    Prng rng(count);
    for (int step = 0; step < 40; ++step) {
      const std::string where = std::to_string(count) + " lanes, step " + std::to_string(step);
      // A few variables (narrow cones) or many (layers of every width).
      const std::size_t writes = step % 4 == 0 ? 200 : 1 + rng.below(3);
      for (std::size_t k = 0; k < writes; ++k) {
        const NodeId v = a.variables[rng.below(a.variables.size())];
        const Value value(static_cast<double>(rng.below(50)));
        for (Layered* g : {&a, &b, &c}) ASSERT_TRUE(g->graph.write(v, value).is_ok());
      }
      for (Layered* g : {&a, &b, &c}) ASSERT_TRUE(g->graph.commit().is_ok()) << where;
      const std::span<const NodeId> changed_a = a.graph.last_changed();
      const std::span<const NodeId> changed_b = b.graph.last_changed();
      ASSERT_TRUE(std::equal(changed_a.begin(), changed_a.end(), changed_b.begin(), changed_b.end())) << where;
      std::vector<NodeId> sorted_a(changed_a.begin(), changed_a.end());
      std::vector<NodeId> sorted_c(c.graph.last_changed().begin(), c.graph.last_changed().end());
      std::sort(sorted_a.begin(), sorted_a.end());
      std::sort(sorted_c.begin(), sorted_c.end());
      ASSERT_EQ(sorted_a, sorted_c) << where;
      for (NodeId n = 0; n < a.graph.node_count(); ++n) {
        ASSERT_EQ(a.graph.read(n), c.graph.read(n)) << where << ", node " << n;
        ASSERT_EQ(b.graph.read(n), c.graph.read(n)) << where << ", node " << n;
      }
      ASSERT_TRUE(a.graph.check_invariants().is_ok()) << where;
    }
    EXPECT_GT(threads->runs(), 20u) << "the wide layers went to the lanes";
  }
}

// A plan is followed on the calling thread alone: a key whose commits reach layers wide
// enough for the lanes gets none, and stays on the lanes; without lanes the same key is
// planned (GraphOptions::plan_after).
TEST(Lanes, AKeyWhoseCommitsUseTheLanesGetsNoPlan) {
  Layered on_lanes(std::make_shared<BackwardLanes>(2));
  Layered alone(nullptr);
  std::vector<NodeId> key(on_lanes.variables.begin(), on_lanes.variables.begin() + 300);
  int planned_on_lanes = 0;
  int planned_alone = 0;
  for (int step = 0; step < 12; ++step) {
    for (Layered* g : {&on_lanes, &alone}) {
      for (const NodeId v : key) ASSERT_TRUE(g->graph.write(v, Value(static_cast<double>(step + 2))).is_ok());
    }
    const Result<CommitStats> a = on_lanes.graph.commit();
    const Result<CommitStats> b = alone.graph.commit();
    ASSERT_TRUE(a.is_ok() && b.is_ok());
    ASSERT_TRUE(a->lean && b->lean);
    ASSERT_EQ(a->computed, b->computed) << "step " << step;
    planned_on_lanes += a->planned ? 1 : 0;
    planned_alone += b->planned ? 1 : 0;
  }
  EXPECT_EQ(planned_on_lanes, 0);
  EXPECT_GT(planned_alone, 0);
  for (NodeId n = 0; n < alone.graph.node_count(); ++n) ASSERT_EQ(on_lanes.graph.read(n), alone.graph.read(n));
}

}  // namespace
}  // namespace mgraph
