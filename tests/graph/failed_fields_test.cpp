// Failed fields in the engine: a formula that throws fails its field, not the transaction;
// its dependents are blocked with their last good values, and everything recovers when
// the inputs change (the comment above Graph, docs/SCHEMA.md "Failed fields").

#include <gtest/gtest.h>

#include <map>
#include <stdexcept>

#include "mgraph/graph/graph.hpp"

namespace mgraph {
namespace {

/// x -> checked (throws above 100) -> twice -> plus_one, and an unrelated y -> y2.
struct Chain {
  Graph g;
  std::map<NodeId, int> runs;
  NodeId x, y, checked, twice, plus_one, y2;

  explicit Chain(GraphOptions options = {}, bool fail_transaction = false) : g(options) {
    x = g.add_variable(1.0, "x");
    y = g.add_variable(1.0, "y");
    FieldSpec check;
    check.fail_transaction = fail_transaction;
    check.formula = [this](Context& c) {
      ++runs[c.node()];
      const double v = c.input(0).number();
      if (v > 100) throw std::runtime_error("too large: " + std::to_string(static_cast<int>(v)));
      return Value(v);
    };
    const SpecId check_spec = g.add_spec(std::move(check));
    FieldSpec scale;
    scale.formula = [this](Context& c) {
      ++runs[c.node()];
      return Value(2 * c.input(0).number());
    };
    const SpecId scale_spec = g.add_spec(std::move(scale));
    FieldSpec inc;
    inc.formula = [this](Context& c) {
      ++runs[c.node()];
      return Value(c.input(0).number() + 1);
    };
    const SpecId inc_spec = g.add_spec(std::move(inc));
    checked = g.add_derived(check_spec, {x}, "checked").value();
    twice = g.add_derived(scale_spec, {checked}, "twice").value();
    plus_one = g.add_derived(inc_spec, {twice}, "plus_one").value();
    y2 = g.add_derived(scale_spec, {y}, "y2").value();
    EXPECT_TRUE(g.commit().is_ok());
  }
  double num(NodeId n) { return g.read(n).number(); }
};

TEST(FailedFields, AThrowingFormulaFailsItsFieldAndTheTransactionCommits) {
  Chain c;
  const Revision before = c.g.revision();
  ASSERT_TRUE(c.g.write(c.x, 1000.0).is_ok());
  ASSERT_TRUE(c.g.write(c.y, 5.0).is_ok());  // another write in the same transaction
  Result<CommitStats> res = c.g.commit();
  ASSERT_TRUE(res.is_ok()) << res.status().to_string();
  EXPECT_GT(c.g.revision(), before);
  EXPECT_EQ(c.num(c.x), 1000);
  EXPECT_EQ(c.num(c.y2), 10);  // the other write went through
  const FieldCondition f = c.g.condition(c.checked);
  EXPECT_EQ(f.state, FieldState::failed);
  EXPECT_EQ(f.cause, c.checked);
  EXPECT_EQ(f.reason, "too large: 1000");
  EXPECT_EQ(c.num(c.checked), 1);  // its last good value
  EXPECT_EQ(c.g.condition(c.y2).state, FieldState::ok);
  EXPECT_EQ(c.g.condition(c.x).state, FieldState::ok);
  EXPECT_EQ(c.g.formula_failures(), 1u);
  EXPECT_TRUE(c.g.check_invariants().is_ok()) << c.g.check_invariants().to_string();
}

TEST(FailedFields, DependentsAreBlockedByTheFailedFieldAndKeepTheirLastValues) {
  Chain c;
  ASSERT_TRUE(c.g.write(c.x, 7.0).is_ok());
  ASSERT_TRUE(c.g.commit().is_ok());
  EXPECT_EQ(c.num(c.plus_one), 15);
  const int twice_runs = c.runs[c.twice], plus_runs = c.runs[c.plus_one];
  ASSERT_TRUE(c.g.write(c.x, 500.0).is_ok());
  ASSERT_TRUE(c.g.commit().is_ok());
  EXPECT_EQ(c.runs[c.twice], twice_runs);  // not computed from the failed field
  EXPECT_EQ(c.runs[c.plus_one], plus_runs);
  EXPECT_EQ(c.num(c.twice), 14);
  EXPECT_EQ(c.num(c.plus_one), 15);
  for (NodeId n : {c.twice, c.plus_one}) {
    const FieldCondition b = c.g.condition(n);
    EXPECT_EQ(b.state, FieldState::blocked) << c.g.name(n);
    EXPECT_EQ(b.cause, c.checked) << c.g.name(n);  // the failed field, not the next hop
    EXPECT_EQ(b.reason, "too large: 500");
  }
  EXPECT_EQ(c.g.failed_count(), 3u);
  // Failing again with another reason: still failed, the new reason; still blocked.
  ASSERT_TRUE(c.g.write(c.x, 600.0).is_ok());
  ASSERT_TRUE(c.g.commit().is_ok());
  EXPECT_EQ(c.g.condition(c.checked).reason, "too large: 600");
  EXPECT_EQ(c.g.condition(c.plus_one).reason, "too large: 600");
  EXPECT_EQ(c.runs[c.plus_one], plus_runs);
  EXPECT_TRUE(c.g.check_invariants().is_ok()) << c.g.check_invariants().to_string();
}

TEST(FailedFields, TheFieldRecoversWhenItsInputChangesAndDependentsRecompute) {
  Chain c;
  ASSERT_TRUE(c.g.write(c.x, 500.0).is_ok());
  ASSERT_TRUE(c.g.commit().is_ok());
  ASSERT_EQ(c.g.condition(c.plus_one).state, FieldState::blocked);
  // Back to its last good value: no value changes, but every condition does.
  ASSERT_TRUE(c.g.write(c.x, 1.0).is_ok());
  Result<CommitStats> res = c.g.commit();
  ASSERT_TRUE(res.is_ok());
  for (NodeId n : {c.checked, c.twice, c.plus_one}) {
    EXPECT_EQ(c.g.condition(n).state, FieldState::ok) << c.g.name(n);
  }
  EXPECT_EQ(c.g.failed_count(), 0u);
  ASSERT_TRUE(c.g.write(c.x, 50.0).is_ok());
  ASSERT_TRUE(c.g.commit().is_ok());
  EXPECT_EQ(c.num(c.plus_one), 101);
  // Recovering to a new value recomputes the dependents from it.
  ASSERT_TRUE(c.g.write(c.x, 700.0).is_ok());
  ASSERT_TRUE(c.g.commit().is_ok());
  ASSERT_TRUE(c.g.write(c.x, 20.0).is_ok());
  ASSERT_TRUE(c.g.commit().is_ok());
  EXPECT_EQ(c.num(c.checked), 20);
  EXPECT_EQ(c.num(c.plus_one), 41);
  EXPECT_EQ(c.g.condition(c.plus_one).state, FieldState::ok);
  EXPECT_TRUE(c.g.check_invariants().is_ok()) << c.g.check_invariants().to_string();
}

TEST(FailedFields, TrackedDependentsAreBlockedAndRecoverToo) {
  Chain c;
  const NodeId reader = c.g.add_formula(
      [&](Context& ctx) {
        ++c.runs[ctx.node()];
        return Value(ctx.read(c.y).number() + ctx.read(c.checked).number());
      },
      "reader");
  ASSERT_TRUE(c.g.commit().is_ok());
  EXPECT_EQ(c.num(reader), 2);
  ASSERT_TRUE(c.g.write(c.x, 300.0).is_ok());
  ASSERT_TRUE(c.g.write(c.y, 4.0).is_ok());
  ASSERT_TRUE(c.g.commit().is_ok());
  EXPECT_EQ(c.num(reader), 2);
  EXPECT_EQ(c.g.condition(reader).state, FieldState::blocked);
  EXPECT_EQ(c.g.condition(reader).cause, c.checked);
  ASSERT_TRUE(c.g.write(c.x, 3.0).is_ok());
  ASSERT_TRUE(c.g.commit().is_ok());
  EXPECT_EQ(c.num(reader), 7);
  EXPECT_EQ(c.g.condition(reader).state, FieldState::ok);
  EXPECT_TRUE(c.g.check_invariants().is_ok()) << c.g.check_invariants().to_string();
}

TEST(FailedFields, ExplicitRejectionsStillRollTheTransactionBack) {
  Graph g;
  const NodeId x = g.add_variable(1.0, "x");
  const NodeId y = g.add_variable(1.0, "y");
  const NodeId guard = g.add_formula(
      [&](Context& c) {
        const double v = c.read(x).number();
        if (v < 0) c.reject("x must not be negative");
        return Value(v);
      },
      "guard");
  ASSERT_TRUE(g.commit().is_ok());
  ASSERT_TRUE(g.write(x, -1.0).is_ok());
  ASSERT_TRUE(g.write(y, 9.0).is_ok());
  Result<CommitStats> res = g.commit();
  ASSERT_FALSE(res.is_ok());
  EXPECT_EQ(res.status().code(), StatusCode::rejected);
  EXPECT_EQ(g.read(y).number(), 1);  // the whole transaction went
  EXPECT_EQ(g.read(guard).number(), 1);
  EXPECT_EQ(g.condition(guard).state, FieldState::ok);
}

TEST(FailedFields, AFailTransactionSpecRollsBackAsBefore) {
  Chain c({}, /*fail_transaction=*/true);
  ASSERT_TRUE(c.g.write(c.x, 1000.0).is_ok());
  ASSERT_TRUE(c.g.write(c.y, 5.0).is_ok());
  Result<CommitStats> res = c.g.commit();
  ASSERT_FALSE(res.is_ok());
  EXPECT_EQ(res.status().code(), StatusCode::formula_error);
  EXPECT_NE(res.status().message().find("formula of checked failed: too large: 1000"),
            std::string::npos)
      << res.status().message();
  EXPECT_EQ(c.num(c.x), 1);
  EXPECT_EQ(c.num(c.y2), 2);
  EXPECT_EQ(c.g.condition(c.checked).state, FieldState::ok);
  EXPECT_EQ(c.g.failed_count(), 0u);
}

TEST(FailedFields, RejectingATransactionTakesItsFailuresBack) {
  Chain c;
  ASSERT_TRUE(c.g.write(c.x, 1000.0).is_ok());
  EXPECT_EQ(c.num(c.plus_one), 3);  // a read inside the transaction computes
  EXPECT_EQ(c.g.condition(c.plus_one).state, FieldState::blocked);
  c.g.reject();
  EXPECT_EQ(c.g.failed_count(), 0u);
  EXPECT_EQ(c.g.condition(c.checked).state, FieldState::ok);
  // A write after a read in one transaction takes the computation (and failure) back.
  ASSERT_TRUE(c.g.write(c.x, 1000.0).is_ok());
  EXPECT_EQ(c.g.condition(c.checked).state, FieldState::ok);
  EXPECT_EQ(c.num(c.checked), 1);
  EXPECT_EQ(c.g.condition(c.checked).state, FieldState::failed);
  ASSERT_TRUE(c.g.write(c.x, 2.0).is_ok());
  ASSERT_TRUE(c.g.commit().is_ok());
  EXPECT_EQ(c.g.failed_count(), 0u);
  EXPECT_EQ(c.num(c.plus_one), 5);
  EXPECT_TRUE(c.g.check_invariants().is_ok()) << c.g.check_invariants().to_string();
}

TEST(FailedFields, UndoAndRedoWalkAcrossAFailure) {
  Chain c(GraphOptions{.history_limit = 8});
  ASSERT_TRUE(c.g.write(c.x, 5.0).is_ok());
  ASSERT_TRUE(c.g.commit().is_ok());
  ASSERT_TRUE(c.g.write(c.x, 5000.0).is_ok());
  ASSERT_TRUE(c.g.commit().is_ok());
  ASSERT_EQ(c.g.condition(c.checked).state, FieldState::failed);
  ASSERT_TRUE(c.g.undo().is_ok());
  EXPECT_EQ(c.num(c.x), 5);
  EXPECT_EQ(c.num(c.checked), 5);
  EXPECT_EQ(c.num(c.plus_one), 11);
  EXPECT_EQ(c.g.failed_count(), 0u);
  EXPECT_TRUE(c.g.check_invariants().is_ok()) << c.g.check_invariants().to_string();
  ASSERT_TRUE(c.g.redo().is_ok());
  EXPECT_EQ(c.g.condition(c.checked).state, FieldState::failed);
  EXPECT_EQ(c.g.condition(c.checked).reason, "too large: 5000");
  EXPECT_EQ(c.g.condition(c.plus_one).state, FieldState::blocked);
  EXPECT_TRUE(c.g.check_invariants().is_ok()) << c.g.check_invariants().to_string();
  // Recover, then undo the recovery: failed again, with its dependents blocked.
  ASSERT_TRUE(c.g.write(c.x, 6.0).is_ok());
  ASSERT_TRUE(c.g.commit().is_ok());
  EXPECT_EQ(c.num(c.plus_one), 13);
  ASSERT_TRUE(c.g.undo().is_ok());
  EXPECT_EQ(c.g.condition(c.checked).state, FieldState::failed);
  EXPECT_EQ(c.g.condition(c.twice).state, FieldState::blocked);
  EXPECT_EQ(c.num(c.plus_one), 11);
  ASSERT_TRUE(c.g.redo().is_ok());
  EXPECT_EQ(c.g.failed_count(), 0u);
  EXPECT_EQ(c.num(c.plus_one), 13);
  EXPECT_TRUE(c.g.check_invariants().is_ok()) << c.g.check_invariants().to_string();
}

TEST(FailedFields, ABranchFailsAndRecoversOnItsOwn) {
  Chain c;
  Graph what_if = c.g.branch();
  ASSERT_TRUE(what_if.write(c.x, 1000.0).is_ok());
  ASSERT_TRUE(what_if.commit().is_ok());
  EXPECT_EQ(what_if.condition(c.checked).state, FieldState::failed);
  EXPECT_EQ(c.g.condition(c.checked).state, FieldState::ok);
  EXPECT_EQ(c.g.failed_count(), 0u);
}

TEST(FailedFields, AnIncrementalFieldOverAFailedInputIsBlockedAndItsDependentsWait) {
  Chain c;
  FieldSpec sum;
  sum.dependencies = Dependencies::incremental;
  sum.formula = [](Context& ctx) {
    double s = ctx.self().is_null() ? 0 : ctx.self().number();
    for (const InputChange& ch : ctx.changes()) {
      if (ch.was_input) s -= ch.old_value.number();
      if (ch.is_input) s += ch.new_value.number();
    }
    return Value(s);
  };
  const NodeId total = c.g.add_derived(c.g.add_spec(std::move(sum)), {c.checked, c.y2}, "total").value();
  FieldSpec copy;
  copy.formula = [](Context& ctx) { return ctx.input(0); };
  const NodeId shown = c.g.add_derived(c.g.add_spec(std::move(copy)), {total}, "shown").value();
  ASSERT_TRUE(c.g.commit().is_ok());
  EXPECT_EQ(c.num(total), 3);
  ASSERT_TRUE(c.g.write(c.x, 900.0).is_ok());
  ASSERT_TRUE(c.g.write(c.y, 10.0).is_ok());
  ASSERT_TRUE(c.g.commit().is_ok());
  // The aggregate counts the failed member's last good value and is blocked by it.
  EXPECT_EQ(c.num(total), 21);
  EXPECT_EQ(c.g.condition(total).state, FieldState::blocked);
  EXPECT_EQ(c.g.condition(total).cause, c.checked);
  EXPECT_EQ(c.num(shown), 3);  // its dependents keep their last good value
  EXPECT_EQ(c.g.condition(shown).state, FieldState::blocked);
  ASSERT_TRUE(c.g.write(c.x, 4.0).is_ok());
  ASSERT_TRUE(c.g.commit().is_ok());
  EXPECT_EQ(c.num(total), 24);
  EXPECT_EQ(c.num(shown), 24);
  EXPECT_EQ(c.g.failed_count(), 0u);
  EXPECT_TRUE(c.g.check_invariants().is_ok()) << c.g.check_invariants().to_string();
}

TEST(FailedFields, ALazyFieldFailsWhenReadAndAStrictReaderIsBlocked) {
  Graph g;
  const NodeId x = g.add_variable(0.0, "x");
  FieldSpec inv;
  inv.evaluation = Evaluation::lazy;
  inv.formula = [](Context& c) {
    const double v = c.input(0).number();
    if (v == 0) throw std::domain_error("division by zero");
    return Value(1 / v);
  };
  const NodeId lazy = g.add_derived(g.add_spec(std::move(inv)), {x}, "inverse").value();
  ASSERT_TRUE(g.commit().is_ok());
  EXPECT_TRUE(g.read(lazy).is_null());  // never computed well: no last good value
  EXPECT_EQ(g.condition(lazy).state, FieldState::failed);
  EXPECT_EQ(g.condition(lazy).reason, "division by zero");
  ASSERT_TRUE(g.write(x, 4.0).is_ok());
  ASSERT_TRUE(g.commit().is_ok());
  EXPECT_EQ(g.read(lazy).number(), 0.25);
  EXPECT_EQ(g.condition(lazy).state, FieldState::ok);
  EXPECT_TRUE(g.check_invariants().is_ok()) << g.check_invariants().to_string();
}

}  // namespace
}  // namespace mgraph
