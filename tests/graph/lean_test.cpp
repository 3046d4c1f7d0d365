// The lean commit (DECISIONS.md "Lean commit"): when it is taken, and that it gives what
// the general path gives, compared on the same random graphs and writes.

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <span>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "mgraph/graph/graph.hpp"
#include "mgraph/graph/prng.hpp"
#include "mgraph/graph/thread_lanes.hpp"
#include "test_lanes.hpp"

namespace mgraph {
namespace {

SpecId sum_spec(Graph& g, std::map<NodeId, int>* runs = nullptr) {
  FieldSpec s;
  s.formula = [runs](Context& c) {
    if (runs != nullptr) ++(*runs)[c.node()];
    double t = 0;
    for (std::size_t i = 0; i < c.input_count(); ++i) t += c.input(i).number();
    return Value(t);
  };
  s.name = "sum";
  return g.add_spec(std::move(s));
}

TEST(Lean, TakenOnlyForStrictDeclaredFieldsAndWritesOfVariables) {
  Graph g;
  const NodeId x = g.add_variable(1.0, "x");
  const NodeId s = g.add_derived(sum_spec(g), {x}, "s").value();
  auto commit = [&] { return g.commit().value(); };
  // A new field waits for its first computation: the general path.
  EXPECT_FALSE(commit().lean);
  ASSERT_TRUE(g.write(x, 2.0).is_ok());
  CommitStats stats = commit();
  EXPECT_TRUE(stats.lean);
  EXPECT_EQ(stats.computed, 1u);
  EXPECT_EQ(g.read(s).number(), 2.0);
  // A read inside the transaction marks and computes: the commit finishes that way.
  ASSERT_TRUE(g.write(x, 3.0).is_ok());
  EXPECT_EQ(g.read(s).number(), 3.0);
  EXPECT_FALSE(commit().lean);
  // An exported field keeps every commit on the general path, which reports it.
  g.set_exported(s, true);
  ASSERT_TRUE(g.write(x, 4.0).is_ok());
  EXPECT_FALSE(commit().lean);
  g.set_exported(s, false);
  ASSERT_TRUE(g.write(x, 5.0).is_ok());
  EXPECT_TRUE(commit().lean);
  // So does a lazy field anywhere in the graph, until it is redefined strict.
  FieldSpec lazy;
  lazy.formula = [](Context& c) { return c.input(0); };
  lazy.evaluation = Evaluation::lazy;
  const NodeId l = g.add_derived(g.add_spec(std::move(lazy)), {x}, "l").value();
  ASSERT_TRUE(g.write(x, 6.0).is_ok());
  EXPECT_FALSE(commit().lean);
  EXPECT_EQ(g.read(l).number(), 6.0);
  const NodeId l_inputs[] = {x};
  ASSERT_TRUE(g.define(l, sum_spec(g), l_inputs).is_ok());
  EXPECT_FALSE(commit().lean);  // computes the redefined field
  ASSERT_TRUE(g.write(x, 7.0).is_ok());
  stats = commit();
  EXPECT_TRUE(stats.lean);
  EXPECT_EQ(stats.computed, 2u);
  EXPECT_EQ(g.read(l).number(), 7.0);
}

TEST(Lean, RunsEachFieldOnceInHeightOrderAndStopsAtUnchangedValues) {
  // x -> a -> b -> c and x -> d, e = b + d: e must see b and d of the same write.
  Graph g;
  std::map<NodeId, int> runs;
  const SpecId sum = sum_spec(g, &runs);
  FieldSpec clamp;  // min(input, 10): a cutoff once the input passes 10
  clamp.formula = [&runs](Context& c) {
    ++runs[c.node()];
    return Value(std::min(c.input(0).number(), 10.0));
  };
  const SpecId clamp10 = g.add_spec(std::move(clamp));
  const NodeId x = g.add_variable(1.0, "x");
  const NodeId a = g.add_derived(clamp10, {x}, "a").value();
  const NodeId b = g.add_derived(sum, {a}, "b").value();
  const NodeId c = g.add_derived(sum, {b}, "c").value();
  const NodeId d = g.add_derived(sum, {x}, "d").value();
  FieldSpec check;
  check.formula = [&runs, x, b, d](Context& ctx) -> Value {
    ++runs[ctx.node()];
    // b is min(x, 10) and d is x: a glitch would pair a new one with an old one.
    const double x_now = ctx.peek(x).number();
    if (ctx.input(1).number() != x_now || ctx.input(0).number() != std::min(x_now, 10.0)) {
      throw std::logic_error("glitch: inputs of different writes");
    }
    return Value(ctx.input(0).number() + ctx.input(1).number());
  };
  const NodeId e = g.add_derived(g.add_spec(std::move(check)), {b, d}, "e").value();
  ASSERT_TRUE(g.commit().is_ok());
  runs.clear();
  ASSERT_TRUE(g.write(x, 4.0).is_ok());
  CommitStats stats = g.commit().value();
  ASSERT_TRUE(stats.lean);
  EXPECT_EQ(stats.computed, 5u);
  for (NodeId n : {a, b, c, d, e}) EXPECT_EQ(runs[n], 1) << g.name(n);
  EXPECT_EQ(g.read(e).number(), 8.0);
  ASSERT_TRUE(g.write(x, 20.0).is_ok());
  ASSERT_TRUE(g.commit().is_ok());
  EXPECT_EQ(g.read(c).number(), 10.0);
  // From 20 to 30, a stays 10: b and c are not run; d and e are.
  runs.clear();
  ASSERT_TRUE(g.write(x, 30.0).is_ok());
  stats = g.commit().value();
  ASSERT_TRUE(stats.lean);
  EXPECT_EQ(stats.computed, 3u);
  EXPECT_EQ(runs.count(b) + runs.count(c), 0u);
  EXPECT_EQ(runs[a], 1);
  EXPECT_EQ(g.read(e).number(), 40.0);
  EXPECT_EQ(stats.changed, 3u);  // x, d, e
}

TEST(Lean, AFailingFormulaFailsItsFieldAndBlocksItsDependentsAsOnTheGeneralPath) {
  Graph g(GraphOptions{.history_limit = 4});
  const NodeId x = g.add_variable(1.0, "x");
  FieldSpec checked;
  checked.formula = [](Context& c) -> Value {
    if (c.input(0).number() > 100) throw std::runtime_error("too large");
    return Value(c.input(0).number() * 2);
  };
  checked.name = "checked";
  const NodeId b = g.add_derived(g.add_spec(std::move(checked)), {x}, "b").value();
  const NodeId c = g.add_derived(sum_spec(g), {b, x}, "c").value();
  ASSERT_TRUE(g.commit().is_ok());
  ASSERT_TRUE(g.write(x, 1000.0).is_ok());
  Result<CommitStats> stats = g.commit();
  ASSERT_TRUE(stats.is_ok()) << stats.status().message();
  EXPECT_TRUE(stats->lean);
  EXPECT_EQ(g.condition(b).state, FieldState::failed);
  EXPECT_EQ(g.condition(b).reason, "too large");
  EXPECT_EQ(g.condition(c).state, FieldState::blocked);
  EXPECT_EQ(g.read(b).number(), 2.0);  // the last good values
  EXPECT_EQ(g.read(c).number(), 3.0);
  // Recovered on the next lean commit, with its dependents.
  ASSERT_TRUE(g.write(x, 3.0).is_ok());
  stats = g.commit();
  ASSERT_TRUE(stats.is_ok());
  EXPECT_EQ(g.condition(b).state, FieldState::ok);
  EXPECT_EQ(g.condition(c).state, FieldState::ok);
  EXPECT_EQ(g.read(c).number(), 9.0);
  ASSERT_TRUE(g.undo().is_ok());
  EXPECT_EQ(g.condition(b).state, FieldState::failed);
  EXPECT_TRUE(g.check_invariants().is_ok()) << g.check_invariants().message();
}

TEST(Lean, AThrowingFormulaRollsBackAndLeavesHistoryUsable) {
  Graph g(GraphOptions{.history_limit = 4});
  const NodeId x = g.add_variable(1.0, "x");
  const NodeId a = g.add_derived(sum_spec(g), {x}, "a").value();
  FieldSpec checked;
  checked.formula = [](Context& c) -> Value {
    if (c.input(0).number() > 100) throw std::runtime_error("too large");
    return Value(c.input(0).number() * 2);
  };
  checked.name = "checked";
  checked.fail_transaction = true;  // the rollback, not a failed field
  const NodeId b = g.add_derived(g.add_spec(std::move(checked)), {a}, "b").value();
  const NodeId c = g.add_derived(sum_spec(g), {b, x}, "c").value();
  ASSERT_TRUE(g.commit().is_ok());
  ASSERT_TRUE(g.write(x, 2.0).is_ok());
  ASSERT_TRUE(g.commit().value().lean);
  const Revision before = g.revision();
  ASSERT_TRUE(g.write(x, 1000.0).is_ok());
  Result<CommitStats> failed = g.commit();
  ASSERT_FALSE(failed.is_ok());
  EXPECT_EQ(failed.status().code(), StatusCode::formula_error);
  EXPECT_NE(failed.status().message().find("formula of b failed: too large"), std::string::npos)
      << failed.status().message();
  EXPECT_EQ(g.revision(), before);
  EXPECT_FALSE(g.in_transaction());
  for (NodeId n : {x, a, b, c}) EXPECT_FALSE(g.is_stale(n)) << g.name(n);
  EXPECT_EQ(g.read(a).number(), 2.0);
  EXPECT_EQ(g.read(b).number(), 4.0);
  EXPECT_EQ(g.read(c).number(), 6.0);
  EXPECT_TRUE(g.check_invariants().is_ok()) << g.check_invariants().message();
  // The graph goes on as if the failed transaction never was.
  ASSERT_TRUE(g.write(x, 3.0).is_ok());
  ASSERT_TRUE(g.commit().value().lean);
  EXPECT_EQ(g.read(c).number(), 9.0);
  ASSERT_TRUE(g.undo().is_ok());
  EXPECT_EQ(g.read(c).number(), 6.0);
  ASSERT_TRUE(g.undo().is_ok());
  EXPECT_EQ(g.read(c).number(), 3.0);
  ASSERT_TRUE(g.redo().is_ok());
  ASSERT_TRUE(g.redo().is_ok());
  EXPECT_EQ(g.read(c).number(), 9.0);
  EXPECT_TRUE(g.check_invariants().is_ok()) << g.check_invariants().message();
}

TEST(Lean, ADeepChainGivesBackItsHeightListsAndStaysCorrect) {
  // Deeper than the scratch a graph keeps between commits (2^16 entries): every lean
  // commit grows the height lists again and gives them back at its end.
  constexpr std::size_t kDepth = (std::size_t{1} << 16) + 100;
  Graph g(GraphOptions{.plan_after = 0});  // no plan, which the graph would keep
  const NodeId x = g.add_variable(0.0, "x");
  const SpecId sum = sum_spec(g);
  NodeId last = x;
  for (std::size_t i = 0; i < kDepth; ++i) last = g.add_derived(sum, {last}).value();
  ASSERT_TRUE(g.commit().is_ok());
  const std::size_t settled = g.memory_bytes();
  // The room for staged journal entries a lean commit keeps between commits: 1,024 of
  // 16 bytes (each commit here stages 65,636 and gives the rest back).
  constexpr std::size_t kStagedRoom = 1024 * 16;
  for (double v : {1.0, 2.0, 3.0}) {
    ASSERT_TRUE(g.write(x, v).is_ok());
    const CommitStats stats = g.commit().value();
    ASSERT_TRUE(stats.lean);
    EXPECT_EQ(stats.computed, kDepth);
    EXPECT_EQ(g.read(last).number(), v);
    // Beyond the staged room, the two lists of one height's nodes, which a chain keeps
    // small (64 each), and the list of the variables written.
    EXPECT_LE(g.memory_bytes(), settled + kStagedRoom + 2 * 64 * sizeof(NodeId) + sizeof(NodeId));
  }
}

// ---- Planned commits (lean_plan.hpp) ----

/// x -> c[0] -> ... -> c[n-1] (each +1, a kernel), and cut = min(c[0], 10) -> d[0..n) (each
/// a copy of cut): a write of x reaches 2n + 1 fields, of which the d[i] only change while
/// c[0] is at most 10.
struct PlannedChain {
  Graph g;
  NodeId x;
  std::vector<NodeId> c, d;
  NodeId cut;
  explicit PlannedChain(GraphOptions options, std::size_t n = 100) : g(options) {
    x = g.add_variable(0.0, "x");
    FieldSpec plus;
    plus.kernel = [](std::span<const double> in, NodeId, const void*) { return in[0] + 1; };
    const SpecId plus_one = g.add_spec(std::move(plus));
    FieldSpec clamp;
    clamp.kernel = [](std::span<const double> in, NodeId, const void*) { return std::min(in[0], 10.0); };
    FieldSpec copy;
    copy.kernel = [](std::span<const double> in, NodeId, const void*) { return in[0]; };
    const SpecId copy_spec = g.add_spec(std::move(copy));
    NodeId last = x;
    for (std::size_t i = 0; i < n; ++i) c.push_back(last = g.add_derived(plus_one, {last}).value());
    cut = g.add_derived(g.add_spec(std::move(clamp)), {c[0]}).value();
    last = cut;
    for (std::size_t i = 0; i < n; ++i) d.push_back(last = g.add_derived(copy_spec, {last}).value());
    EXPECT_TRUE(g.commit().is_ok());
  }
  CommitStats write(double v) {
    EXPECT_TRUE(g.write(x, v).is_ok());
    return g.commit().value();
  }
};

TEST(Plan, FollowedFromTheKeysSecondCommitOnWithTheSameResults) {
  PlannedChain p(GraphOptions{});  // plan_after 2, plan_min_fields 64
  PlannedChain unplanned(GraphOptions{.plan_after = 0});
  for (int step = 1; step <= 12; ++step) {
    const CommitStats a = p.write(step);
    const CommitStats b = unplanned.write(step);
    ASSERT_TRUE(a.lean);
    // Seen once, twice: planned from the third commit of the key on.
    EXPECT_EQ(a.planned, step >= 3) << "step " << step;
    EXPECT_FALSE(b.planned);
    EXPECT_EQ(a.computed, b.computed) << "step " << step;
    EXPECT_EQ(a.changed, b.changed) << "step " << step;
    // Until c[0] passes 10 the copies change; then the cutoff at `cut` stops the change.
    EXPECT_EQ(a.computed, step + 1 <= 10 ? 201u : 101u) << "step " << step;
    EXPECT_EQ(p.g.read(p.c.back()).number(), step + 100.0);
    EXPECT_EQ(p.g.read(p.d.back()).number(), std::min(step + 1.0, 10.0));
    std::vector<NodeId> x(p.g.last_changed().begin(), p.g.last_changed().end());
    std::vector<NodeId> y(unplanned.g.last_changed().begin(), unplanned.g.last_changed().end());
    std::sort(x.begin(), x.end());
    std::sort(y.begin(), y.end());
    EXPECT_EQ(x, y) << "step " << step;
  }
}

TEST(Plan, NotFollowedWhileItsCommitsComputeLittleOfIt) {
  // y -> z (always 0) -> 300 fields: a write of y reaches 301 fields and computes 1.
  Graph g(GraphOptions{.plan_min_fields = 1});
  const NodeId y = g.add_variable(0.0, "y");
  FieldSpec zero;
  zero.kernel = [](std::span<const double>, NodeId, const void*) { return 0.0; };
  const NodeId z = g.add_derived(g.add_spec(std::move(zero)), {y}, "z").value();
  FieldSpec plus;
  plus.kernel = [](std::span<const double> in, NodeId, const void*) { return in[0] + 1; };
  const SpecId plus_one = g.add_spec(std::move(plus));
  NodeId last = z;
  for (int i = 0; i < 300; ++i) last = g.add_derived(plus_one, {last}).value();
  ASSERT_TRUE(g.commit().is_ok());
  auto write = [&](double v) {
    EXPECT_TRUE(g.write(y, v).is_ok());
    return g.commit().value();
  };
  EXPECT_FALSE(write(1).planned);
  EXPECT_FALSE(write(2).planned);  // seen twice: the plan is built after this commit
  const CommitStats planned = write(3);
  EXPECT_TRUE(planned.planned);
  EXPECT_EQ(planned.computed, 1u);
  // 1 of 301 computed: scheduling is cheaper, and the unplanned commits keep showing it.
  for (double v : {4.0, 5.0, 6.0}) {
    const CommitStats stats = write(v);
    EXPECT_FALSE(stats.planned);
    EXPECT_TRUE(stats.lean);
    EXPECT_EQ(stats.computed, 1u);
  }
  EXPECT_EQ(g.read(last).number(), 300.0);
}

TEST(Plan, ChangesOfStructureDropThePlans) {
  PlannedChain p(GraphOptions{});
  for (int step = 1; step <= 3; ++step) p.write(step);
  ASSERT_TRUE(p.write(4).planned);
  // A new field reading the end of the chain: the plans built before it are dropped, and the
  // key is planned again from its third commit after, with the new field in its plan.
  FieldSpec twice;
  twice.kernel = [](std::span<const double> in, NodeId, const void*) { return 2 * in[0]; };
  const NodeId t = p.g.add_derived(p.g.add_spec(std::move(twice)), {p.c.back()}).value();
  EXPECT_FALSE(p.g.commit().value().lean);  // computes the new field
  EXPECT_EQ(p.g.read(t).number(), 208.0);
  EXPECT_FALSE(p.write(5).planned);
  EXPECT_FALSE(p.write(6).planned);
  const CommitStats stats = p.write(7);
  EXPECT_TRUE(stats.planned);
  EXPECT_EQ(p.g.read(t).number(), 214.0);
  // A planned field redefined with a second input from the plan: d[0] = cut + c[5], two
  // paths from x to it (a step with two slots).
  FieldSpec add;
  add.kernel = [](std::span<const double> in, NodeId, const void*) { return in[0] + in[1]; };
  const NodeId inputs[] = {p.cut, p.c[5]};
  ASSERT_TRUE(p.g.define(p.d[0], p.g.add_spec(std::move(add)), inputs).is_ok());
  EXPECT_FALSE(p.g.commit().value().lean);  // computes the redefined field
  EXPECT_FALSE(p.write(8).planned);
  EXPECT_FALSE(p.write(9).planned);
  for (double v : {10.0, 11.0}) {
    EXPECT_TRUE(p.write(v).planned);
    EXPECT_EQ(p.g.read(p.d.back()).number(), std::min(v + 1, 10.0) + v + 6);
  }
  EXPECT_TRUE(p.g.check_invariants().is_ok()) << p.g.check_invariants().message();
}

TEST(Plan, AThrowingKernelInAPlanFailsItsFieldOrRollsBackAsWithout) {
  for (const bool fail_transaction : {false, true}) {
    Graph g(GraphOptions{.history_limit = 2, .plan_after = 1, .plan_min_fields = 1});
    const NodeId x = g.add_variable(0.0, "x");
    FieldSpec fragile;  // throws at 5
    fragile.kernel = [](std::span<const double> in, NodeId, const void*) {
      if (in[0] == 5) throw std::runtime_error("five");
      return in[0];
    };
    fragile.fail_transaction = fail_transaction;
    const NodeId f = g.add_derived(g.add_spec(std::move(fragile)), {x}, "f").value();
    FieldSpec plus;
    plus.kernel = [](std::span<const double> in, NodeId, const void*) { return in[0] + 1; };
    const NodeId after = g.add_derived(g.add_spec(std::move(plus)), {f}, "after").value();
    ASSERT_TRUE(g.commit().is_ok());
    ASSERT_TRUE(g.write(x, 1.0).is_ok());
    ASSERT_FALSE(g.commit().value().planned);  // the key's first commit builds its plan
    ASSERT_TRUE(g.write(x, 5.0).is_ok());
    Result<CommitStats> r = g.commit();
    if (fail_transaction) {
      ASSERT_FALSE(r.is_ok());
      EXPECT_NE(r.status().message().find("five"), std::string::npos) << r.status().message();
      EXPECT_EQ(g.read(f).number(), 1.0);
      EXPECT_EQ(g.read(after).number(), 2.0);
      EXPECT_EQ(g.read(x).number(), 1.0);
    } else {
      ASSERT_TRUE(r.is_ok());
      EXPECT_TRUE(r->planned);
      EXPECT_EQ(g.condition(f).state, FieldState::failed);
      EXPECT_EQ(g.condition(after).state, FieldState::blocked);
      EXPECT_EQ(g.read(after).number(), 2.0);  // its last good value
      // It recovers with its input, on the plan.
      ASSERT_TRUE(g.write(x, 6.0).is_ok());
      EXPECT_TRUE(g.commit().value().planned);
      EXPECT_EQ(g.condition(after).state, FieldState::ok);
      EXPECT_EQ(g.read(after).number(), 7.0);
      ASSERT_TRUE(g.undo().is_ok());
      EXPECT_EQ(g.condition(f).state, FieldState::failed);
    }
    EXPECT_TRUE(g.check_invariants().is_ok()) << g.check_invariants().message();
    // The plan goes on serving the key.
    ASSERT_TRUE(g.write(x, 2.0).is_ok());
    const CommitStats stats = g.commit().value();
    EXPECT_TRUE(stats.planned);
    EXPECT_EQ(g.read(after).number(), 3.0);
  }
}

TEST(Lean, AnExceptionOfAnyTypeRollsBackEveryValueTheCommitChanged) {
  // A kernel may throw only std::exceptions, which fail its field; anything else leaves
  // the commit where it is, and the transaction is rolled back. x -> c[0..3000) (each +1,
  // more than the room for staged journal entries a commit starts with), d = c[2999] - y,
  // t = 1 / d, whose kernel throws an int where d is 0: the commit writing x and y so
  // that d is 0 computes the whole chain first. Every form is followed in line when
  // planned; the division's result, not finite, goes to its kernel, which throws. With
  // history on, the commits before and after the failed one are undone and redone.
  using Op = KernelForm::Op;
  using Operands = KernelForm::Operands;
  for (const std::size_t history : {std::size_t{0}, std::size_t{2}})
  for (const bool plan : {false, true}) {
    SCOPED_TRACE(history);
    Graph g(GraphOptions{.history_limit = history, .plan_after = plan ? 1u : 0u, .plan_min_fields = 1});
    const NodeId x = g.add_variable(0.0, "x");
    const NodeId y = g.add_variable(0.0, "y");
    FieldSpec plus;
    plus.kernel = [](std::span<const double> in, NodeId, const void*) { return in[0] + 1; };
    plus.kernel_form = {Op::add, Operands::input_constant, 0, 0, 1.0};
    const SpecId plus_one = g.add_spec(std::move(plus));
    FieldSpec minus;
    minus.kernel = [](std::span<const double> in, NodeId, const void*) { return in[0] - in[1]; };
    minus.kernel_form = {Op::subtract, Operands::inputs, 0, 1, 0};
    FieldSpec inverse;
    inverse.kernel = [](std::span<const double> in, NodeId, const void*) {
      if (in[0] == 0) throw 42;
      return 1 / in[0];
    };
    inverse.kernel_form = {Op::divide, Operands::constant_input, 0, 0, 1.0};
    std::vector<NodeId> c;
    NodeId last = x;
    for (int i = 0; i < 3000; ++i) c.push_back(last = g.add_derived(plus_one, {last}).value());
    const NodeId d = g.add_derived(g.add_spec(std::move(minus)), {last, y}, "d").value();
    const NodeId t = g.add_derived(g.add_spec(std::move(inverse)), {d}, "t").value();
    ASSERT_TRUE(g.commit().is_ok());
    ASSERT_TRUE(g.write(x, 1.0).is_ok());
    ASSERT_TRUE(g.write(y, 1.0).is_ok());
    ASSERT_TRUE(g.commit().is_ok());  // the key's first commit: its plan is built
    ASSERT_EQ(g.read(t).number(), 1.0 / 3000);

    ASSERT_TRUE(g.write(x, 2.0).is_ok());
    ASSERT_TRUE(g.write(y, 3002.0).is_ok());
    const Result<CommitStats> r = g.commit();
    ASSERT_FALSE(r.is_ok()) << (plan ? "planned" : "unplanned");
    EXPECT_NE(r.status().message().find("rolled back"), std::string::npos) << r.status().message();
    EXPECT_EQ(g.read(x).number(), 1.0);
    EXPECT_EQ(g.read(y).number(), 1.0);
    for (std::size_t i = 0; i < c.size(); ++i) {
      ASSERT_EQ(g.read(c[i]).number(), 2.0 + static_cast<double>(i)) << "c[" << i << "], " << (plan ? "planned" : "unplanned");
    }
    EXPECT_EQ(g.read(d).number(), 3000.0);
    EXPECT_TRUE(g.check_invariants().is_ok()) << g.check_invariants().message();
    // The graph goes on, on the plan (a write that changes both: the same key).
    ASSERT_TRUE(g.write(x, 3.0).is_ok());
    ASSERT_TRUE(g.write(y, 2.0).is_ok());
    const CommitStats stats = g.commit().value();
    EXPECT_EQ(stats.planned, plan);
    EXPECT_EQ(g.read(t).number(), 1.0 / 3001);
    if (history == 0) continue;
    // Undone: the values of the commit before, as the failed commit left them.
    ASSERT_TRUE(g.undo().is_ok());
    for (std::size_t i = 0; i < c.size(); ++i) {
      ASSERT_EQ(g.read(c[i]).number(), 2.0 + static_cast<double>(i)) << "c[" << i << "] undone";
    }
    EXPECT_EQ(g.read(t).number(), 1.0 / 3000);
    EXPECT_TRUE(g.check_invariants().is_ok()) << g.check_invariants().message();
    ASSERT_TRUE(g.redo().is_ok());
    EXPECT_EQ(g.read(c.back()).number(), 3003.0);
    EXPECT_EQ(g.read(t).number(), 1.0 / 3001);
    EXPECT_TRUE(g.check_invariants().is_ok()) << g.check_invariants().message();
  }
}

TEST(Kernel, AFormMustComputeWhatItsKernelDoesAndReadOnlyInputsTheFieldHas) {
  Graph g;
  const NodeId a = g.add_variable(1.0, "a");
  const NodeId b = g.add_variable(2.0, "b");
  FieldSpec wrong;  // says in[0] + in[1], computes in[0] - in[1]
  wrong.name = "wrong";
  wrong.kernel = [](std::span<const double> in, NodeId, const void*) { return in[0] - in[1]; };
  wrong.kernel_form = {KernelForm::Op::add, KernelForm::Operands::inputs, 0, 1, 0};
  const SpecId w = g.add_spec(std::move(wrong));
  Result<NodeId> r = g.add_derived(w, std::vector<NodeId>{a, b});
  ASSERT_FALSE(r.is_ok());
  EXPECT_EQ(r.status().code(), StatusCode::invalid_argument);
  EXPECT_NE(r.status().message().find("spec wrong's kernel_form does not compute what its kernel does"),
            std::string::npos)
      << r.status().message();
  FieldSpec second;  // in[0] * in[1], on a field of one input
  second.name = "product";
  second.kernel = [](std::span<const double> in, NodeId, const void*) { return in[0] * in[1]; };
  second.kernel_form = {KernelForm::Op::multiply, KernelForm::Operands::inputs, 0, 1, 0};
  const SpecId p = g.add_spec(std::move(second));
  r = g.add_derived(p, std::vector<NodeId>{a});
  ASSERT_FALSE(r.is_ok());
  EXPECT_EQ(r.status().message(), "spec product's kernel_form reads input 1; the field has 1 inputs");
  FieldSpec orphan;  // a form with no kernel to stand for
  orphan.name = "orphan";
  orphan.formula = [](Context& c) { return c.input(0); };
  orphan.kernel_form = {KernelForm::Op::copy, KernelForm::Operands::inputs, 0, 0, 0};
  r = g.add_derived(g.add_spec(std::move(orphan)), std::vector<NodeId>{a});
  ASSERT_FALSE(r.is_ok());
  EXPECT_NE(r.status().message().find("describes a kernel, and the spec has none"), std::string::npos);
  // The right ones are taken, by add_derived and define alike.
  const NodeId product = g.add_derived(p, std::vector<NodeId>{a, b}).value();
  EXPECT_FALSE(g.define(product, w, std::vector<NodeId>{a, b}).is_ok());
  ASSERT_TRUE(g.commit().is_ok());
  EXPECT_EQ(g.read(product).number(), 2.0);
}

TEST(Plan, MemoryStaysBoundedUnderEverNewKeys) {
  // 3,000 variables, each the head of its own chain of 64 fields, written in turn twice:
  // a plan per key, more keys than plans are kept (lean_plan.hpp, invariant 3).
  Graph g(GraphOptions{.plan_after = 1});
  FieldSpec plus;
  plus.kernel = [](std::span<const double> in, NodeId, const void*) { return in[0] + 1; };
  const SpecId plus_one = g.add_spec(std::move(plus));
  std::vector<NodeId> heads;
  for (int k = 0; k < 3000; ++k) {
    NodeId last = g.add_variable(0.0);
    heads.push_back(last);
    for (int i = 0; i < 64; ++i) last = g.add_derived(plus_one, {last}).value();
  }
  ASSERT_TRUE(g.commit().is_ok());
  const std::size_t settled = g.memory_bytes();
  std::size_t most = 0;
  int planned = 0;
  for (int round = 1; round <= 2; ++round) {
    if (round == 2) std::reverse(heads.begin(), heads.end());  // the last plans kept first
    for (const NodeId h : heads) {
      ASSERT_TRUE(g.write(h, round).is_ok());
      const CommitStats stats = g.commit().value();
      ASSERT_EQ(stats.computed, 64u);
      if (round == 1) {
        EXPECT_FALSE(stats.planned);
      }
      planned += stats.planned ? 1 : 0;
      most = std::max(most, g.memory_bytes() - settled);
    }
  }
  // The plans kept when the first round ended serve the second, until they are dropped
  // to make room for new ones.
  EXPECT_GT(planned, 0);
  EXPECT_LT(planned, 3000);
  // At most kPlansMax (1,024) plans of 64 steps (12 B each) and their keys: under 2 MiB.
  EXPECT_LT(most, std::size_t{2} << 20);
}

// ---- Kernels (FieldSpec::kernel) ----

double plus_data(std::span<const double> in, NodeId, const void* data) {
  return in[0] + *static_cast<const double*>(data);
}

TEST(Kernel, RunsOnBothPathsWithTheCutoffOfDoubles) {
  Graph g(GraphOptions{.history_limit = 4});
  static const double kTen = 10;
  FieldSpec plus_ten;
  plus_ten.kernel = plus_data;
  plus_ten.kernel_data = &kTen;
  const SpecId p = g.add_spec(std::move(plus_ten));
  FieldSpec node_id;  // the field's own id reaches the kernel
  node_id.kernel = [](std::span<const double>, NodeId node, const void*) {
    return static_cast<double>(node);
  };
  const SpecId id = g.add_spec(std::move(node_id));
  std::map<NodeId, int> runs;
  const NodeId x = g.add_variable(std::int64_t{1}, "x");  // int64 inputs are converted
  const NodeId a = g.add_derived(p, {x}, "a").value();
  const NodeId b = g.add_derived(id, {a}, "b").value();
  const NodeId c = g.add_derived(sum_spec(g, &runs), {b}, "c").value();
  EXPECT_FALSE(g.commit().value().lean);  // first computation: the general path
  EXPECT_EQ(g.read(a), Value(11.0));
  EXPECT_EQ(g.read(b), Value(static_cast<double>(b)));
  EXPECT_EQ(runs[c], 1);
  ASSERT_TRUE(g.write(x, 2.5).is_ok());
  CommitStats stats = g.commit().value();
  EXPECT_TRUE(stats.lean);
  EXPECT_EQ(stats.computed, 2u);  // a changed, b did not: c is not run
  EXPECT_EQ(stats.changed, 2u);
  EXPECT_EQ(g.read(a), Value(12.5));
  EXPECT_EQ(runs[c], 1);
  // NaN equals NaN: a NaN result once is a change, the same NaN again is none.
  ASSERT_TRUE(g.write(x, std::nan("")).is_ok());
  EXPECT_EQ(g.commit().value().changed, 2u);
  ASSERT_TRUE(g.write(x, std::nan("")).is_ok());
  EXPECT_EQ(g.commit().value().changed, 0u);
  ASSERT_TRUE(g.undo().is_ok());
  EXPECT_EQ(g.read(a), Value(12.5));
  ASSERT_TRUE(g.redo().is_ok());
  EXPECT_TRUE(std::isnan(g.read(a).as_double()));
  // The value was an int64 before the first computation of a kernel that gives it back:
  // 1 and 1.0 differ, so the double is a change.
  const NodeId y = g.add_variable(std::int64_t{3}, "y");
  const NodeId z = g.add_variable(0.0, "z");
  FieldSpec pick;
  pick.kernel = [](std::span<const double> in, NodeId, const void*) { return in[0]; };
  const SpecId pick_spec = g.add_spec(std::move(pick));
  const NodeId w = g.add_derived(pick_spec, {z}, "w").value();
  ASSERT_TRUE(g.commit().is_ok());
  const NodeId w_inputs[] = {y};
  ASSERT_TRUE(g.define(w, pick_spec, w_inputs).is_ok());
  ASSERT_TRUE(g.commit().is_ok());
  EXPECT_EQ(g.read(w), Value(3.0));
  EXPECT_TRUE(g.check_invariants().is_ok()) << g.check_invariants().message();
}

TEST(Kernel, AnInputThatIsNotANumberFailsTheFieldOnBothPaths) {
  Graph g;
  FieldSpec copy;
  copy.kernel = [](std::span<const double> in, NodeId, const void*) { return in[1]; };
  copy.name = "copy";
  const SpecId spec = g.add_spec(std::move(copy));
  const NodeId x = g.add_variable(1.0, "x");
  const NodeId y = g.add_variable(2.0, "y");
  const NodeId a = g.add_derived(spec, {x, y}, "a").value();
  const NodeId b = g.add_derived(sum_spec(g), {a}, "b").value();
  ASSERT_TRUE(g.commit().is_ok());
  EXPECT_EQ(g.read(b).number(), 2.0);
  ASSERT_TRUE(g.write(x, "text").is_ok());
  const CommitStats stats = g.commit().value();
  EXPECT_TRUE(stats.lean);
  EXPECT_EQ(g.condition(a).state, FieldState::failed);
  EXPECT_EQ(g.condition(a).reason, "input 0 is string, not a number");
  EXPECT_EQ(g.condition(b).state, FieldState::blocked);
  EXPECT_EQ(g.read(a).number(), 2.0);  // its last good value
  ASSERT_TRUE(g.write(x, true).is_ok());  // still not a number, now on the general path
  EXPECT_EQ(g.condition(a).state, FieldState::failed);
  ASSERT_TRUE(g.read(b).is_double());  // a read marks: the commit is a general one
  EXPECT_FALSE(g.commit().value().lean);
  EXPECT_EQ(g.condition(a).reason, "input 0 is bool, not a number");
  ASSERT_TRUE(g.write(x, std::int64_t{7}).is_ok());
  ASSERT_TRUE(g.write(y, 5.0).is_ok());
  EXPECT_TRUE(g.commit().value().lean);
  EXPECT_EQ(g.condition(a).state, FieldState::ok);
  EXPECT_EQ(g.read(b).number(), 5.0);
}

TEST(Kernel, NeedsDeclaredDependencies) {
  Graph g;
  const NodeId x = g.add_variable(1.0, "x");
  FieldSpec tracked;
  tracked.kernel = plus_data;
  tracked.dependencies = Dependencies::tracked;
  tracked.name = "tracked";
  const SpecId spec = g.add_spec(std::move(tracked));
  const Result<NodeId> added = g.add_derived(spec, {x}, "a");
  ASSERT_FALSE(added.is_ok());
  EXPECT_EQ(added.status().code(), StatusCode::invalid_argument);
  const NodeId inputs[] = {x};
  const NodeId y = g.add_variable(0.0, "y");
  EXPECT_EQ(g.define(y, spec, inputs).code(), StatusCode::invalid_argument);
}

// ---- The lean path against the general one on random graphs ----

/// Random strict declared graphs, built twice by the same choices: `lean` as it is,
/// `general` with one more variable, exported, which keeps it on the general path.
struct Twin {
  Graph lean;
  Graph general;
  std::vector<NodeId> variables;
  std::size_t first = 0;  ///< the random graph's first node (after the padding)
  std::size_t nodes = 0;

  /// `padding` variables, never written, come first: they make the graph large enough for
  /// the lean path to prefetch (GraphState::kLeanPrefetchNodes).
  /// `plan`: the lean graph plans every key from its first commit on (GraphOptions).
  /// `forms`: every field is a kernel with a form (FieldSpec::kernel_form) of one or two
  /// inputs, so that plans are followed in line (DECISIONS.md "Kernel forms").
  /// `lanes`: the lean graph computes every layer on these lanes (GraphOptions::lanes).
  Twin(std::uint64_t seed, std::size_t history, std::size_t padding = 0, bool plan = false,
       bool forms = false, std::shared_ptr<LaneRunner> lanes = nullptr)
      : lean(GraphOptions{.history_limit = history,
                          .plan_after = plan ? 1u : 0u,
                          .plan_min_fields = 1,
                          .lanes = std::move(lanes),
                          .lanes_min_layer = 1}),
        general(GraphOptions{.history_limit = history}) {
    Prng rng(seed);
    for (Graph* g : {&lean, &general}) {
      if (forms) {
        add_form_specs(*g);
      } else {
        add_specs(*g);
      }
      g->reserve(padding + 200, 600);
      for (std::size_t k = 0; k < padding; ++k) g->add_variable(Value(std::int64_t{0}));
    }
    first = padding;
    const std::size_t count = 40 + rng.below(160);
    for (std::size_t i = 0; i < count; ++i) {
      if (i < 4 || rng.below(4) == 0) {
        // 0 at first, so that the first commit, which computes every field, succeeds.
        for (Graph* g : {&lean, &general}) g->add_variable(Value(std::int64_t{0}));
        variables.push_back(static_cast<NodeId>(first + i));
        continue;
      }
      std::vector<NodeId> inputs(1 + rng.below(forms ? 2 : 3));
      const SpecId spec = forms ? form_spec(rng, inputs.size()) : rng.below(kSpecs);
      for (NodeId& in : inputs) {
        // Mostly recent nodes, so that chains form; sometimes any earlier one.
        const std::uint64_t back = rng.below(3) == 0 ? i : std::min<std::uint64_t>(i, 6);
        in = static_cast<NodeId>(first + i - 1 - rng.below(back));
      }
      for (Graph* g : {&lean, &general}) g->add_derived(spec_ids[spec], inputs).value();
    }
    nodes = first + count;
    general.set_exported(general.add_variable(0.0, "blocker"), true);
    EXPECT_TRUE(lean.commit().is_ok());
    EXPECT_TRUE(general.commit().is_ok());
    if (forms) {
      // Commits that push the first one out of the history (no test here undoes more than
      // `history` commits). Undoing the first commit leaves every field stale, which the
      // general path computes when read and the lean one when an input changes: with the
      // ratios refusing results, a commit would fail on one path and a read on the other.
      for (std::size_t k = 0; k < history; ++k) {
        for (Graph* g : {&lean, &general}) {
          for (const NodeId v : variables) EXPECT_TRUE(g->write(v, Value(1.0 + static_cast<double>((v + k) % 3))).is_ok());
          EXPECT_TRUE(g->commit().is_ok());
        }
      }
    }
    armed = true;
  }

  static constexpr std::uint64_t kSpecs = 9;
  static constexpr std::uint64_t kFormSpecs = 11;
  SpecId spec_ids[kFormSpecs] = {};

  void add_specs(Graph& g) {
    // int64 sum; min(sum, 3) (cutoffs); parity with a custom equality; a formula that
    // throws on a value the writes reach now and then (its field fails, its dependents are
    // blocked), and the same one failing the whole transaction (fail_transaction). Then
    // the sum, the clamp and both throwing formulas again as kernels (FieldSpec::kernel),
    // over doubles: the lean path runs those without a Context, the general one through
    // the Context formula add_spec() makes of them. Formulas take either kind of number.
    FieldSpec sum;
    sum.formula = [](Context& c) {
      std::int64_t t = 0;
      for (std::size_t i = 0; i < c.input_count(); ++i) t += whole(c.input(i));
      return Value(t);
    };
    FieldSpec clamp;
    clamp.formula = [](Context& c) {
      std::int64_t t = 0;
      for (std::size_t i = 0; i < c.input_count(); ++i) t += whole(c.input(i));
      return Value(std::min<std::int64_t>(t, 3));
    };
    FieldSpec parity;  // the value is the sum; "equal" when the parity is the same
    parity.formula = sum.formula;
    parity.equality = [](const Value& a, const Value& b) {
      return a.is_int() && b.is_int() && (a.as_int() - b.as_int()) % 2 == 0;
    };
    FieldSpec fragile;
    fragile.formula = [](Context& c) -> Value {
      const std::int64_t v = whole(c.input(0));
      if (v == 5) throw std::runtime_error("five");
      return Value(v % 4);
    };
    fragile.name = "fragile";
    FieldSpec strict = fragile;
    strict.name = "strict";
    strict.fail_transaction = true;
    spec_ids[0] = g.add_spec(std::move(sum));
    spec_ids[1] = g.add_spec(std::move(clamp));
    spec_ids[2] = g.add_spec(std::move(parity));
    spec_ids[3] = g.add_spec(std::move(fragile));
    spec_ids[4] = g.add_spec(std::move(strict));
    FieldSpec ksum;
    ksum.kernel = [](std::span<const double> in, NodeId, const void*) {
      double t = 0;
      for (double x : in) t += x;
      return t;
    };
    FieldSpec kclamp;
    kclamp.kernel = [](std::span<const double> in, NodeId, const void*) {
      double t = 0;
      for (double x : in) t += x;
      return std::min(t, 3.0);
    };
    FieldSpec kfragile;  // the kernel_data says by what to divide
    static const double kFour = 4;
    kfragile.kernel = [](std::span<const double> in, NodeId, const void* data) {
      if (in[0] == 5) throw std::runtime_error("five");
      return std::fmod(in[0], *static_cast<const double*>(data));
    };
    kfragile.kernel_data = &kFour;
    kfragile.name = "kernel fragile";
    FieldSpec kstrict = kfragile;
    kstrict.name = "kernel strict";
    kstrict.fail_transaction = true;
    spec_ids[5] = g.add_spec(std::move(ksum));
    spec_ids[6] = g.add_spec(std::move(kclamp));
    spec_ids[7] = g.add_spec(std::move(kfragile));
    spec_ids[8] = g.add_spec(std::move(kstrict));
  }
  /// Kernels with forms: copy, + - * / of inputs 0 and 1 (- as in[1] - in[0]), in[0] + 0.5,
  /// 3 - in[0], in[0] / 4, in[0] - (node - 7), and in[0] / in[1] refusing a result that is
  /// not finite (as the schema's kernels do), failing the field or (fail_transaction) the
  /// whole transaction.
  /// A division by zero gives infinities and NaN to the others, which keep them.
  void add_form_specs(Graph& g) {
    auto add = [&](std::size_t k, ScalarKernel kernel, KernelForm form, std::string name,
                   bool fail_transaction = false) {
      FieldSpec spec;
      spec.kernel = kernel;
      spec.kernel_data = &armed;
      spec.kernel_form = form;
      spec.name = std::move(name);
      spec.fail_transaction = fail_transaction;
      spec_ids[k] = g.add_spec(std::move(spec));
    };
    using Op = KernelForm::Op;
    using Operands = KernelForm::Operands;
    add(0, [](std::span<const double> in, NodeId, const void*) { return in[0]; },
        {Op::copy, Operands::inputs, 0, 0, 0}, "copy");
    add(1, [](std::span<const double> in, NodeId, const void*) { return in[0] + in[1]; },
        {Op::add, Operands::inputs, 0, 1, 0}, "add");
    add(2, [](std::span<const double> in, NodeId, const void*) { return in[1] - in[0]; },
        {Op::subtract, Operands::inputs, 1, 0, 0}, "subtract");
    add(3, [](std::span<const double> in, NodeId, const void*) { return in[0] * in[1]; },
        {Op::multiply, Operands::inputs, 0, 1, 0}, "multiply");
    add(4, [](std::span<const double> in, NodeId, const void*) { return in[0] / in[1]; },
        {Op::divide, Operands::inputs, 0, 1, 0}, "divide");
    add(5, [](std::span<const double> in, NodeId, const void*) { return in[0] + 0.5; },
        {Op::add, Operands::input_constant, 0, 0, 0.5}, "plus half");
    add(6, [](std::span<const double> in, NodeId, const void*) { return 3 - in[0]; },
        {Op::subtract, Operands::constant_input, 0, 0, 3}, "three minus");
    add(7, [](std::span<const double> in, NodeId, const void*) { return in[0] / 4; },
        {Op::divide, Operands::input_constant, 0, 0, 4}, "quarter");
    auto finite_ratio = [](std::span<const double> in, NodeId, const void* armed) {
      const double r = in[0] / in[1];
      if (!std::isfinite(r) && *static_cast<const bool*>(armed)) throw std::domain_error("not finite");
      return r;
    };
    add(8, finite_ratio, {Op::divide, Operands::inputs, 0, 1, 0}, "finite ratio");
    add(9, finite_ratio, {Op::divide, Operands::inputs, 0, 1, 0}, "strict ratio", true);
    add(10, [](std::span<const double> in, NodeId node, const void*) { return in[0] - (static_cast<double>(node) - 7); },
        {Op::subtract, Operands::input_position, 0, 0, 7}, "minus position");
  }
  /// Whether the ratios refuse results that are not finite: not before the first commits,
  /// which must succeed whatever the graph (their kernel_data).
  bool armed = false;
  /// A form spec for a field of `inputs` inputs (two-input forms need two; the ratios
  /// are rarer, so that most commits succeed).
  SpecId form_spec(Prng& rng, std::size_t inputs) {
    if (inputs == 1) {
      constexpr SpecId kOne[] = {0, 5, 6, 7, 10};
      return kOne[rng.below(std::size(kOne))];
    }
    if (rng.below(6) == 0) return 8 + static_cast<SpecId>(rng.below(2));
    return static_cast<SpecId>(rng.below(8));
  }

  /// An int64 or a double with no fraction, as an int64.
  static std::int64_t whole(const Value& v) {
    return v.is_int() ? v.as_int() : static_cast<std::int64_t>(v.as_double());
  }

  std::string compare(const std::string& step) {
    // A variable is never stale (before any read, which would hide it).
    for (NodeId v : variables) {
      if (lean.is_stale(v) || general.is_stale(v)) {
        return step + ": variable " + std::to_string(v) + " is stale on the " +
               (lean.is_stale(v) ? "lean" : "general") + " path";
      }
    }
    for (auto n = static_cast<NodeId>(first); n < nodes; ++n) {
      if (!(lean.read(n) == general.read(n))) {
        return step + ": node " + std::to_string(n) + " is " + lean.read(n).to_json() +
               " on the lean path, " + general.read(n).to_json() + " on the general one";
      }
      if (!(lean.condition(n) == general.condition(n))) {
        return step + ": node " + std::to_string(n) + "'s condition differs between the paths";
      }
      if (lean.condition(n).state != FieldState::ok) ++failed_or_blocked;
    }
    // Every node read above is fresh on both paths, and variables are never stale.
    for (NodeId n = 0; n < nodes; ++n) {
      if (lean.is_stale(n) != general.is_stale(n)) {
        return step + ": node " + std::to_string(n) + " is " + (lean.is_stale(n) ? "" : "not ") +
               "stale on the lean path only";
      }
    }
    std::vector<NodeId> a(lean.last_changed().begin(), lean.last_changed().end());
    std::vector<NodeId> b(general.last_changed().begin(), general.last_changed().end());
    std::sort(a.begin(), a.end());
    std::sort(b.begin(), b.end());
    if (a != b) return step + ": the changed nodes differ";
    if (Status s = lean.check_invariants(); !s) return step + ": " + s.message();
    return {};
  }
  std::size_t failed_or_blocked = 0;  ///< fields seen failed or blocked over the run
};

/// With `plan`, the lean graph plans every key (Twin), and the writes come from four sets
/// of variables fixed per seed, so that most commits follow a plan.
/// With `forms`, the fields are kernels with forms (Twin) and the writes are doubles, now
/// and then an int64 (which a form does not compute in line).
/// With `lanes`, the lean graph computes its layers on them (Twin).
void run_twins(std::size_t history, std::uint64_t seeds = 60, std::size_t padding = 0,
               bool plan = false, bool forms = false,
               const std::shared_ptr<LaneRunner>& lanes = nullptr) {
  const std::uint64_t kSeeds = seeds;
  constexpr int kSteps = 40;
  int failed_commits = 0;  // the rollback of a lean commit must be exercised too
  std::size_t failed_fields = 0;  // and a field failing without one
  int planned_commits = 0;
  for (std::uint64_t seed = 1; seed <= kSeeds; ++seed) {
    Twin t(seed * 7919 + history, history, padding, plan, forms, lanes);
    Prng rng(seed);
    std::vector<std::vector<NodeId>> write_sets(plan ? 4 : 1);
    for (std::vector<NodeId>& set : write_sets) {
      if (!plan) break;  // the writes are drawn one by one
      for (std::size_t k = 0, n = 1 + rng.below(3); k < n; ++k) {
        set.push_back(t.variables[rng.below(t.variables.size())]);
      }
    }
    int lean_commits = 0;
    for (int step = 0; step < kSteps; ++step) {
      const std::string where = "seed " + std::to_string(seed) + " step " + std::to_string(step);
      const std::uint64_t what = rng.below(10);
      if (history > 0 && what == 0) {
        const bool a = t.lean.undo().is_ok();
        ASSERT_EQ(a, t.general.undo().is_ok()) << where;
      } else if (history > 0 && what == 1) {
        const bool a = t.lean.redo().is_ok();
        ASSERT_EQ(a, t.general.redo().is_ok()) << where;
      } else {
        const std::size_t writes = 1 + rng.below(3);
        const std::vector<NodeId>& set = plan ? write_sets[rng.below(write_sets.size())] : write_sets[0];
        for (std::size_t k = 0; k < (plan ? set.size() : writes); ++k) {
          const NodeId v = plan ? set[k] : t.variables[rng.below(t.variables.size())];
          constexpr double kDoubles[] = {0, 1, 2, 0.5, -1, 3, -2.5};
          const Value value = !forms || rng.below(8) == 0 ? Value(static_cast<std::int64_t>(rng.below(7)))
                                                          : Value(kDoubles[rng.below(std::size(kDoubles))]);
          ASSERT_TRUE(t.lean.write(v, value).is_ok());
          ASSERT_TRUE(t.general.write(v, value).is_ok());
        }
        Result<CommitStats> a = t.lean.commit();
        Result<CommitStats> b = t.general.commit();
        ASSERT_EQ(a.is_ok(), b.is_ok()) << where << ": " << (a.is_ok() ? b : a).status().message();
        if (a.is_ok()) {
          ASSERT_TRUE(a->lean) << where;
          ASSERT_FALSE(b->lean) << where;
          ASSERT_FALSE(b->planned) << where;
          ASSERT_TRUE(plan || !a->planned) << where;
          planned_commits += a->planned ? 1 : 0;
          ++lean_commits;
          EXPECT_EQ(a->revision, b->revision) << where;
          EXPECT_EQ(a->computed, b->computed) << where;
          EXPECT_EQ(a->changed, b->changed) << where;
        } else {
          ++failed_commits;
          // Which failing formula runs first may differ: the paths order nodes differently.
          EXPECT_EQ(a.status().code(), b.status().code()) << where;
        }
      }
      const std::string diff = t.compare(where);
      ASSERT_TRUE(diff.empty()) << diff;
    }
    EXPECT_GT(lean_commits, 0) << "seed " << seed;
    failed_fields += t.failed_or_blocked;
  }
  EXPECT_GT(failed_commits, 0);
  EXPECT_GT(failed_fields, 0u);
  // Many commits follow a plan (~40%); the other steps undo or redo, or commit a key seen
  // for the first time, or one whose plan its commits compute too little of to be followed.
  if (plan) {
    EXPECT_GT(planned_commits, static_cast<int>(kSeeds) * kSteps / 4);
  }
}

TEST(Lean, MatchesTheGeneralPathOnRandomGraphs) { run_twins(0); }
TEST(Lean, MatchesTheGeneralPathWithUndoAndRedo) { run_twins(3); }
// Planned commits (DECISIONS.md "Planned commits") on the same graphs: every failing,
// blocking, cut-off and rolled-back case of the unplanned lean commit, following a plan.
TEST(Plan, MatchesTheGeneralPathOnRandomGraphs) { run_twins(0, 60, 0, true); }
TEST(Plan, MatchesTheGeneralPathWithUndoAndRedo) { run_twins(3, 60, 0, true); }
// Plans of kernels with forms, followed in line: divisions by zero, infinities and NaN
// kept or refused (a failed field, a rolled-back transaction), int64 inputs, undo and redo.
TEST(Plan, OfFormsMatchesTheGeneralPathOnRandomGraphs) { run_twins(0, 60, 0, true, true); }
TEST(Plan, OfFormsMatchesTheGeneralPathWithUndoAndRedo) { run_twins(3, 60, 0, true, true); }
TEST(Plan, OfFormsMatchesTheGeneralPathOnGraphsLargeEnoughToPrefetch) {
  run_twins(0, 8, std::size_t{1} << 16, true, true);
}
TEST(Plan, MatchesTheGeneralPathOnGraphsLargeEnoughToPrefetch) {
  run_twins(0, 8, std::size_t{1} << 16, true);
}
// The same on graphs of more than 2^16 nodes, where the lean path prefetches the nodes of a
// layer ahead of visiting them (DECISIONS.md "Engine locality").
TEST(Lean, MatchesTheGeneralPathOnGraphsLargeEnoughToPrefetch) {
  run_twins(0, 8, std::size_t{1} << 16);
  run_twins(3, 4, std::size_t{1} << 16);
}

// Every layer computed on lanes (GraphOptions::lanes, lanes_min_layer 1; DECISIONS.md
// "Layers computed on several cores"): one after another on the calling thread, the last
// lane first (so a lane never finds another's part of a pass done), and on threads. The
// formulas that throw do so on a lane, which leaves the field to the calling thread.
TEST(Lanes, MatchTheGeneralPathOnRandomGraphs) {
  for (const std::uint32_t count : {2u, 3u}) {
    auto lanes = std::make_shared<CountingLanes>(std::make_shared<BackwardLanes>(count));
    run_twins(0, 60, 0, false, false, lanes);
    EXPECT_GT(lanes->runs(), 1000u);
  }
  auto threads = std::make_shared<CountingLanes>(std::make_shared<ThreadLanes>(2));
  run_twins(0, 30, 0, false, false, threads);
  EXPECT_GT(threads->runs(), 500u);
}
TEST(Lanes, MatchTheGeneralPathWithUndoAndRedo) {
  run_twins(3, 60, 0, false, false, std::make_shared<BackwardLanes>(2));
  run_twins(3, 30, 0, false, false, std::make_shared<ThreadLanes>(2));
}
TEST(Lanes, OfKernelsWithFormsMatchTheGeneralPath) {
  run_twins(0, 60, 0, false, true, std::make_shared<BackwardLanes>(2));
  run_twins(3, 30, 0, false, true, std::make_shared<ThreadLanes>(3));
}
TEST(Lanes, MatchTheGeneralPathOnGraphsLargeEnoughToPrefetch) {
  run_twins(0, 4, std::size_t{1} << 16, false, false, std::make_shared<ThreadLanes>(2));
  run_twins(3, 4, std::size_t{1} << 16, false, true, std::make_shared<ThreadLanes>(2));
}

// memory-2input's shape (bench/engine) above the prefetch threshold: every layer is wide,
// so the prefetch pipeline's start, middle and end all run; values checked against plain
// arrays after every commit. Its node records (32 B each) take more than kHugeColumnBytes,
// so they come from the huge-page allocation (graph/src/column.hpp), which a branch copies.
TEST(Lean, AWideUpdateOnALargeGraphComputesWhatPlainArraysDo) {
  constexpr std::size_t kVariables = 14000;
  constexpr std::size_t kDerived = 140000;
  Graph g;
  g.reserve(kVariables + kDerived, 2 * kDerived);
  FieldSpec add;
  add.kernel = [](std::span<const double> in, NodeId, const void*) { return in[0] + in[1]; };
  add.name = "add";
  const SpecId spec = g.add_spec(std::move(add));
  std::vector<double> value(kVariables);
  for (std::size_t j = 0; j < kVariables; ++j) {
    value[j] = static_cast<double>(j);
    g.add_variable(value[j]);
  }
  Prng rng(5);
  std::vector<std::pair<NodeId, NodeId>> inputs(kDerived);
  for (auto& [a, b] : inputs) {
    a = static_cast<NodeId>(rng.below(kVariables));
    b = static_cast<NodeId>(rng.below(kVariables));
    const NodeId ab[] = {a, b};
    ASSERT_TRUE(g.add_derived(spec, ab).is_ok());
  }
  ASSERT_TRUE(g.commit().is_ok());
  for (int step = 0; step < 30; ++step) {
    // 1, 2 or 3 variables: layers of ~20 to ~60 fields, the first ones sharing inputs.
    for (std::uint64_t k = 0, writes = 1 + rng.below(3); k < writes; ++k) {
      const auto v = static_cast<NodeId>(rng.below(kVariables));
      value[v] += 1;
      ASSERT_TRUE(g.write(v, value[v]).is_ok());
    }
    const CommitStats stats = g.commit().value();
    ASSERT_TRUE(stats.lean);
    EXPECT_GT(stats.computed, 0u);
    for (std::size_t i = 0; i < kDerived; ++i) {
      const auto [a, b] = inputs[i];
      ASSERT_EQ(g.read(static_cast<NodeId>(kVariables + i)).as_double(), value[a] + value[b])
          << "step " << step << " field " << i;
    }
  }
  // A branch copies the columns; its writes never reach the graph it came from.
  Graph what_if = g.branch();
  ASSERT_TRUE(what_if.write(0, value[0] + 100).is_ok());
  ASSERT_TRUE(what_if.commit().is_ok());
  for (std::size_t i = 0; i < kDerived; ++i) {
    const auto [a, b] = inputs[i];
    const double plus = (a == 0 ? 100.0 : 0.0) + (b == 0 ? 100.0 : 0.0);
    ASSERT_EQ(what_if.read(static_cast<NodeId>(kVariables + i)).as_double(),
              value[a] + value[b] + plus) << "field " << i;
    ASSERT_EQ(g.read(static_cast<NodeId>(kVariables + i)).as_double(), value[a] + value[b]);
  }
}

}  // namespace
}  // namespace mgraph
