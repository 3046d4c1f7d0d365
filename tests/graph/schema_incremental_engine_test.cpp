// The engine hook behind incremental accumulators: fields with Dependencies::incremental,
// whose computations get the inputs that changed since the previous one.

#include <gtest/gtest.h>

#include <cstdint>
#include <vector>

#include "mgraph/graph/graph.hpp"

namespace mgraph {
namespace {

/// A running sum over its inputs, counting the changes it is handed.
struct SumField {
  std::size_t changes_seen = 0;
  std::size_t runs = 0;

  SpecId add_to(Graph& g) {
    FieldSpec spec;
    spec.name = "sum";
    spec.dependencies = Dependencies::incremental;
    spec.formula = [this](Context& c) {
      ++runs;
      double s = c.self().is_double() ? c.self().as_double() : 0.0;
      for (const InputChange& ch : c.changes()) {
        ++changes_seen;
        if (ch.was_input) s -= ch.old_value.as_double();
        if (ch.is_input) s += ch.new_value.as_double();
      }
      return Value(s);
    };
    return g.add_spec(std::move(spec));
  }
};

TEST(IncrementalField, SeesOnlyTheInputsThatChanged) {
  Graph g(GraphOptions{.history_limit = 8});
  SumField f;
  const SpecId spec = f.add_to(g);
  constexpr int kInputs = 10000;
  std::vector<NodeId> xs;
  for (int i = 0; i < kInputs; ++i) xs.push_back(g.add_variable(Value(1.0)));
  const NodeId sum = g.add_derived(spec, xs).value();
  ASSERT_TRUE(g.commit().is_ok());
  EXPECT_EQ(g.read(sum), Value(static_cast<double>(kInputs)));
  EXPECT_EQ(f.changes_seen, static_cast<std::size_t>(kInputs));  // the first run: all added
  f.changes_seen = 0;
  ASSERT_TRUE(g.write(xs[1234], Value(5.0)).is_ok());
  ASSERT_TRUE(g.write(xs[99], Value(1.0)).is_ok());  // written, but to the same value
  ASSERT_TRUE(g.commit().is_ok());
  EXPECT_EQ(f.changes_seen, 1u);
  EXPECT_EQ(g.read(sum), Value(kInputs + 4.0));
  EXPECT_TRUE(g.check_invariants().is_ok());
}

TEST(IncrementalField, SeesAddedAndRemovedInputsWithTheirValues) {
  Graph g(GraphOptions{.history_limit = 8});
  SumField f;
  const SpecId spec = f.add_to(g);
  const NodeId a = g.add_variable(Value(1.0)), b = g.add_variable(Value(2.0)),
               c = g.add_variable(Value(4.0));
  const NodeId twice =
      g.add_formula([a](Context& ctx) { return Value(2 * ctx.read(a).as_double()); });
  const NodeId sum = g.add_derived(spec, {a}).value();
  ASSERT_TRUE(g.commit().is_ok());
  ASSERT_TRUE(g.add_input(sum, b).is_ok());
  ASSERT_TRUE(g.add_input(sum, twice).is_ok());
  ASSERT_TRUE(g.commit().is_ok());
  EXPECT_EQ(g.read(sum), Value(1.0 + 2.0 + 2.0));
  // A changed input removed in the same transaction: its old value leaves the sum.
  ASSERT_TRUE(g.write(a, Value(10.0)).is_ok());
  ASSERT_TRUE(g.remove_input(sum, twice).is_ok());
  ASSERT_TRUE(g.add_input(sum, c).is_ok());
  ASSERT_TRUE(g.remove_input(sum, c).is_ok());  // added and removed: nothing
  f.changes_seen = 0;
  ASSERT_TRUE(g.commit().is_ok());
  EXPECT_EQ(f.changes_seen, 2u);
  EXPECT_EQ(g.read(sum), Value(10.0 + 2.0));
  ASSERT_TRUE(g.undo().is_ok());
  EXPECT_EQ(g.read(sum), Value(5.0));
  ASSERT_TRUE(g.redo().is_ok());
  EXPECT_EQ(g.read(sum), Value(12.0));
  EXPECT_TRUE(g.check_invariants().is_ok());
}

TEST(IncrementalField, ARejectedTransactionLeavesNothingForTheNextOne) {
  Graph g;
  SumField f;
  const SpecId spec = f.add_to(g);
  const NodeId a = g.add_variable(Value(1.0)), b = g.add_variable(Value(2.0));
  const NodeId sum = g.add_derived(spec, {a}).value();
  ASSERT_TRUE(g.commit().is_ok());
  ASSERT_TRUE(g.add_input(sum, b).is_ok());
  ASSERT_TRUE(g.write(a, Value(7.0)).is_ok());
  g.reject();
  // The owner of the inputs puts them back as they were (Store::reject does).
  ASSERT_TRUE(g.restore_input(sum, b, false).is_ok());
  ASSERT_TRUE(g.write(a, Value(3.0)).is_ok());
  ASSERT_TRUE(g.commit().is_ok());
  EXPECT_EQ(g.read(sum), Value(3.0));
  EXPECT_TRUE(g.check_invariants().is_ok());
}

TEST(IncrementalField, AReadBeforeAWriteIsTakenBackAndRecomputedFromTheStart) {
  Graph g;
  SumField f;
  const SpecId spec = f.add_to(g);
  const NodeId a = g.add_variable(Value(1.0)), b = g.add_variable(Value(2.0));
  const NodeId sum = g.add_derived(spec, {a, b}).value();
  ASSERT_TRUE(g.commit().is_ok());
  ASSERT_TRUE(g.write(a, Value(5.0)).is_ok());
  EXPECT_EQ(g.read(sum), Value(7.0));  // computed inside the transaction
  EXPECT_TRUE(g.ran_in_transaction(sum));
  ASSERT_TRUE(g.write(b, Value(10.0)).is_ok());  // takes the computation back
  EXPECT_FALSE(g.ran_in_transaction(sum));
  ASSERT_TRUE(g.write(a, Value(1.0)).is_ok());
  ASSERT_TRUE(g.commit().is_ok());
  EXPECT_EQ(g.read(sum), Value(11.0));
  EXPECT_TRUE(g.ran_in_transaction(sum));
  EXPECT_TRUE(g.check_invariants().is_ok());
}

TEST(IncrementalField, AddingAnInputThatDependsOnItRefusesTheCycle) {
  Graph g;
  SumField f;
  const SpecId spec = f.add_to(g);
  const NodeId a = g.add_variable(Value(1.0));
  const NodeId sum = g.add_derived(spec, {a}, "sum").value();
  const NodeId after = g.add_formula([sum](Context& c) { return c.read(sum); }, "after");
  ASSERT_TRUE(g.commit().is_ok());
  const Status s = g.add_input(sum, after);
  EXPECT_EQ(s.code(), StatusCode::cycle);
  EXPECT_NE(s.message().find("sum -> after -> sum"), std::string::npos) << s.message();
  EXPECT_EQ(g.dependencies(sum).size(), 1u);
  ASSERT_TRUE(g.commit().is_ok());
  EXPECT_TRUE(g.check_invariants().is_ok());
}

TEST(IncrementalField, IsAlwaysStrict) {
  Graph g;
  FieldSpec spec;
  spec.dependencies = Dependencies::incremental;
  spec.evaluation = Evaluation::lazy;
  spec.formula = [](Context&) { return Value(); };
  const SpecId id = g.add_spec(std::move(spec));
  EXPECT_EQ(g.add_derived(id, {}).status().code(), StatusCode::invalid_argument);
}

}  // namespace
}  // namespace mgraph
