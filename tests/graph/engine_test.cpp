// Unit tests of the engine, one behaviour each.

#include <gtest/gtest.h>

#include <algorithm>
#include <functional>
#include <initializer_list>
#include <map>
#include <set>

#include "mgraph/graph/graph.hpp"
#include "mgraph/graph/prng.hpp"

namespace mgraph {
namespace {

double num(const Value& v) { return v.number(); }

/// Formula families used across tests; each counts its runs per node.
struct Counts {
  std::map<NodeId, int> runs;
  int total() const {
    int t = 0;
    for (auto& [n, c] : runs) t += c;
    return t;
  }
};

SpecId sum_spec(Graph& g, Counts* counts = nullptr, Evaluation ev = Evaluation::strict) {
  FieldSpec s;
  s.evaluation = ev;
  s.formula = [counts](Context& c) {
    if (counts) ++counts->runs[c.node()];
    double t = 0;
    for (std::size_t i = 0; i < c.input_count(); ++i) t += c.input(i).number();
    return Value(t);
  };
  return g.add_spec(std::move(s));
}

TEST(Propagation, CommitRecomputesDerivedFieldsFromDeclaredInputs) {
  Graph g;
  NodeId a = g.add_variable(1.0, "a");
  NodeId b = g.add_variable(2.0, "b");
  SpecId sum = sum_spec(g);
  NodeId s = g.add_derived(sum, {a, b}, "s").value();
  NodeId t = g.add_derived(sum, {s, a}, "t").value();
  ASSERT_TRUE(g.commit().is_ok());
  EXPECT_EQ(num(g.read(s)), 3);
  EXPECT_EQ(num(g.read(t)), 4);
  ASSERT_TRUE(g.write(a, 10.0).is_ok());
  ASSERT_TRUE(g.commit().is_ok());
  EXPECT_EQ(num(g.read(s)), 12);
  EXPECT_EQ(num(g.read(t)), 22);
  EXPECT_EQ(g.height(a), 0u);
  EXPECT_EQ(g.height(s), 1u);
  EXPECT_EQ(g.height(t), 2u);
  EXPECT_TRUE(g.check_invariants().is_ok());
}

TEST(Propagation, TracksDependenciesReadByTheFormula) {
  Graph g;
  NodeId cond = g.add_variable(true, "cond");
  NodeId a = g.add_variable(1.0, "a");
  NodeId b = g.add_variable(2.0, "b");
  int runs = 0;
  NodeId pick = g.add_formula(
      [&](Context& c) {
        ++runs;
        return c.read(cond).as_bool() ? c.read(a) : c.read(b);
      },
      "pick");
  ASSERT_TRUE(g.commit().is_ok());
  EXPECT_EQ(num(g.read(pick)), 1);
  EXPECT_EQ(std::vector<NodeId>(g.dependencies(pick).begin(), g.dependencies(pick).end()),
            (std::vector<NodeId>{cond, a}));
  // b is not read now: writing it does not recompute pick.
  ASSERT_TRUE(g.write(b, 5.0).is_ok());
  ASSERT_TRUE(g.commit().is_ok());
  EXPECT_EQ(runs, 1);
  ASSERT_TRUE(g.write(cond, false).is_ok());
  ASSERT_TRUE(g.commit().is_ok());
  EXPECT_EQ(num(g.read(pick)), 5);
  EXPECT_EQ(runs, 2);
  // Now a is no longer a dependency.
  ASSERT_TRUE(g.write(a, 100.0).is_ok());
  ASSERT_TRUE(g.commit().is_ok());
  EXPECT_EQ(runs, 2);
  EXPECT_TRUE(g.check_invariants().is_ok());
}

TEST(Propagation, RecomputesEachNodeOncePerCommitAndNeverSeesMixedInputs) {
  // Diamond: x -> y = x + 1, z = 2x -> w checks y - 1 == z / 2 (glitch detector).
  Graph g;
  NodeId x = g.add_variable(1.0, "x");
  Counts counts;
  FieldSpec plus1{[&](Context& c) {
                    ++counts.runs[c.node()];
                    return Value(c.input(0).number() + 1);
                  },
                  Evaluation::strict, Dependencies::declared, {}, "plus1"};
  FieldSpec times2{[&](Context& c) {
                     ++counts.runs[c.node()];
                     return Value(c.input(0).number() * 2);
                   },
                   Evaluation::strict, Dependencies::declared, {}, "times2"};
  bool glitch = false;
  FieldSpec check{[&](Context& c) {
                    ++counts.runs[c.node()];
                    const double y = c.input(0).number();
                    const double z = c.input(1).number();
                    if (y - 1 != z / 2) glitch = true;
                    return Value(y + z);
                  },
                  Evaluation::strict, Dependencies::declared, {}, "check"};
  NodeId y = g.add_derived(g.add_spec(plus1), {x}).value();
  NodeId z = g.add_derived(g.add_spec(times2), {x}).value();
  // A longer path to w as well, so heights differ: w reads y (h1), z (h1) and yy (h2).
  NodeId yy = g.add_derived(g.add_spec(plus1), {y}).value();
  NodeId w = g.add_derived(g.add_spec(check), {y, z, yy}).value();
  ASSERT_TRUE(g.commit().is_ok());
  for (int i = 0; i < 50; ++i) {
    counts.runs.clear();
    ASSERT_TRUE(g.write(x, double(i * 7 % 13)).is_ok());
    ASSERT_TRUE(g.commit().is_ok());
    for (auto& [node, c] : counts.runs) EXPECT_LE(c, 1) << "node " << node << " ran twice";
  }
  EXPECT_FALSE(glitch);
  EXPECT_EQ(num(g.read(w)), num(g.read(y)) + num(g.read(z)));
}

TEST(Propagation, EqualityCutoffStopsUnchangedValues) {
  Graph g;
  NodeId x = g.add_variable(4.0, "x");
  Counts counts;
  FieldSpec parity{[&](Context& c) {
                     ++counts.runs[c.node()];
                     return Value(std::fmod(c.input(0).number(), 2.0));
                   },
                   Evaluation::strict, Dependencies::declared, {}, "parity"};
  NodeId p = g.add_derived(g.add_spec(parity), {x}).value();
  NodeId q = g.add_derived(sum_spec(g, &counts), {p}).value();
  ASSERT_TRUE(g.commit().is_ok());
  ASSERT_TRUE(g.write(x, 6.0).is_ok());  // parity stays 0
  ASSERT_TRUE(g.commit().is_ok());
  EXPECT_EQ(counts.runs[p], 2);
  EXPECT_EQ(counts.runs[q], 1);  // cut off
  ASSERT_TRUE(g.write(x, 7.0).is_ok());
  ASSERT_TRUE(g.commit().is_ok());
  EXPECT_EQ(counts.runs[q], 2);
  EXPECT_EQ(num(g.read(q)), 1);
}

TEST(Propagation, CustomEqualityDecidesWhatChanged) {
  Graph g;
  NodeId x = g.add_variable(1.0, "x");
  FieldSpec rough{[](Context& c) { return c.input(0); }, Evaluation::strict, Dependencies::declared,
                  [](const Value& a, const Value& b) {
                    return a.is_number() && b.is_number() && std::abs(a.number() - b.number()) < 1;
                  },
                  "rough"};
  NodeId r = g.add_derived(g.add_spec(rough), {x}).value();
  Counts counts;
  NodeId s = g.add_derived(sum_spec(g, &counts), {r}).value();
  ASSERT_TRUE(g.commit().is_ok());
  ASSERT_TRUE(g.write(x, 1.5).is_ok());
  ASSERT_TRUE(g.commit().is_ok());
  EXPECT_EQ(num(g.read(r)), 1);  // within tolerance: keeps the old value
  EXPECT_EQ(counts.runs[s], 1);
  ASSERT_TRUE(g.write(x, 3.0).is_ok());
  ASSERT_TRUE(g.commit().is_ok());
  EXPECT_EQ(num(g.read(s)), 3);
  EXPECT_EQ(counts.runs[s], 2);
}

TEST(Propagation, WritingTheSameValueBackIsNoChange) {
  Graph g;
  NodeId x = g.add_variable(1.0, "x");
  Counts counts;
  NodeId s = g.add_derived(sum_spec(g, &counts), {x}).value();
  ASSERT_TRUE(g.commit().is_ok());
  const Revision r = g.revision();
  ASSERT_TRUE(g.write(x, 9.0).is_ok());
  ASSERT_TRUE(g.write(x, 1.0).is_ok());
  auto stats = g.commit();
  ASSERT_TRUE(stats.is_ok());
  EXPECT_EQ(stats->revision, r);
  EXPECT_EQ(counts.runs[s], 1);
}

TEST(Lazy, LazyFieldsComputeOnReadStrictOnesOnCommit) {
  Graph g;
  NodeId x = g.add_variable(1.0, "x");
  Counts strict_counts, lazy_counts;
  NodeId s = g.add_derived(sum_spec(g, &strict_counts), {x}, "strict").value();
  NodeId l = g.add_derived(sum_spec(g, &lazy_counts, Evaluation::lazy), {x}, "lazy").value();
  ASSERT_TRUE(g.commit().is_ok());
  EXPECT_EQ(strict_counts.runs[s], 1);
  EXPECT_EQ(lazy_counts.runs[l], 0);
  EXPECT_TRUE(g.is_stale(l));
  EXPECT_EQ(num(g.read(l)), 1);
  EXPECT_EQ(lazy_counts.runs[l], 1);
  EXPECT_EQ(num(g.read(l)), 1);  // cached
  EXPECT_EQ(lazy_counts.runs[l], 1);
  for (int i = 2; i < 5; ++i) {
    ASSERT_TRUE(g.write(x, double(i)).is_ok());
    ASSERT_TRUE(g.commit().is_ok());
  }
  EXPECT_EQ(lazy_counts.runs[l], 1);  // three commits, no reads: no work
  EXPECT_EQ(num(g.read(l)), 4);
  EXPECT_EQ(lazy_counts.runs[l], 2);
  EXPECT_TRUE(g.check_invariants().is_ok());
}

TEST(Lazy, StrictFieldsPullTheLazyFieldsTheyRead) {
  Graph g;
  NodeId x = g.add_variable(1.0);
  NodeId l = g.add_derived(sum_spec(g, nullptr, Evaluation::lazy), {x}).value();
  NodeId s = g.add_derived(sum_spec(g), {l, x}).value();
  ASSERT_TRUE(g.commit().is_ok());
  EXPECT_FALSE(g.is_stale(l));
  ASSERT_TRUE(g.write(x, 5.0).is_ok());
  ASSERT_TRUE(g.commit().is_ok());
  EXPECT_EQ(num(g.read(s)), 10);
  EXPECT_TRUE(g.check_invariants().is_ok());
}

TEST(Lazy, ADeepChainOfTrackedLazyFieldsComputesWithoutADeepStack) {
  // Reading the end of a never-computed chain nests one formula per link; past a bound
  // the engine continues on its own stack instead of the C++ one.
  constexpr int kLength = 200000;
  Graph g;
  NodeId prev = g.add_variable(0.0, "start");
  FieldSpec link{nullptr, Evaluation::lazy, Dependencies::tracked, {}, "link"};
  for (int i = 0; i < kLength; ++i) {
    const NodeId p = prev;
    link.formula = [p](Context& c) { return Value(c.read(p).number() + 1); };
    prev = g.add_derived(g.add_spec(link), std::span<const NodeId>{}).value();
  }
  ASSERT_TRUE(g.commit().is_ok());
  EXPECT_EQ(num(g.read(prev)), kLength);
  ASSERT_TRUE(g.write(0, 5.0).is_ok());
  ASSERT_TRUE(g.commit().is_ok());
  EXPECT_EQ(num(g.read(prev)), kLength + 5);
  EXPECT_TRUE(g.check_invariants().is_ok());
}

TEST(Cycles, ADeepDynamicCycleIsReportedNotOverflowed) {
  constexpr int kLength = 1000;
  Graph g;
  NodeId head = kNoNode;
  NodeId prev = kNoNode;
  FieldSpec link{nullptr, Evaluation::lazy, Dependencies::tracked, {}, "link"};
  std::vector<NodeId> chain;
  for (int i = 0; i < kLength; ++i) {
    link.formula = [&chain, i](Context& c) {
      // Each link reads the next one; the last reads the first.
      return Value(c.read(chain[(i + 1) % kLength]).number() + 1);
    };
    prev = g.add_derived(g.add_spec(link), std::span<const NodeId>{}).value();
    chain.push_back(prev);
    if (head == kNoNode) head = prev;
  }
  Result<Value> r = g.try_read(head);
  ASSERT_FALSE(r.is_ok());
  EXPECT_EQ(r.status().code(), StatusCode::cycle);
}

TEST(Transactions, CommitReturnsANewRevisionOnlyWhenSomethingChanged) {
  Graph g;
  NodeId x = g.add_variable(1.0);
  g.add_derived(sum_spec(g), {x}).value();
  auto r1 = g.commit();
  ASSERT_TRUE(r1.is_ok());
  auto r2 = g.commit();
  ASSERT_TRUE(r2.is_ok());
  EXPECT_EQ(r1->revision, r2->revision);
  ASSERT_TRUE(g.write(x, 2.0).is_ok());
  auto r3 = g.commit();
  ASSERT_TRUE(r3.is_ok());
  EXPECT_GT(r3->revision, r2->revision);
  EXPECT_EQ(r3->changed, 2u);
  EXPECT_EQ(r3->computed, 1u);
}

TEST(Transactions, RejectRestoresTheLastRevision) {
  Graph g;
  NodeId x = g.add_variable(1.0);
  NodeId s = g.add_derived(sum_spec(g), {x}).value();
  ASSERT_TRUE(g.commit().is_ok());
  const Revision r = g.revision();
  ASSERT_TRUE(g.write(x, 7.0).is_ok());
  EXPECT_EQ(num(g.read(s)), 7);  // the open transaction's value
  EXPECT_EQ(num(g.committed(s)), 1);
  g.reject();
  EXPECT_FALSE(g.in_transaction());
  EXPECT_EQ(num(g.read(x)), 1);
  EXPECT_EQ(num(g.read(s)), 1);
  EXPECT_EQ(g.revision(), r);
  EXPECT_TRUE(g.check_invariants().is_ok());
}

TEST(Transactions, UndoAndRedoWalkTheHistory) {
  Graph g(GraphOptions{.history_limit = 10});
  NodeId x = g.add_variable(0.0);
  NodeId s = g.add_derived(sum_spec(g), {x}).value();
  ASSERT_TRUE(g.commit().is_ok());
  std::vector<Revision> revs{g.revision()};
  for (int i = 1; i <= 3; ++i) {
    ASSERT_TRUE(g.write(x, double(i)).is_ok());
    revs.push_back(g.commit()->revision);
  }
  ASSERT_TRUE(g.undo().is_ok());
  EXPECT_EQ(num(g.read(s)), 2);
  EXPECT_EQ(g.revision(), revs[2]);
  ASSERT_TRUE(g.undo().is_ok());
  EXPECT_EQ(num(g.read(s)), 1);
  ASSERT_TRUE(g.redo().is_ok());
  EXPECT_EQ(num(g.read(s)), 2);
  EXPECT_EQ(g.revision(), revs[2]);
  // A new commit discards what could be redone.
  ASSERT_TRUE(g.write(x, 10.0).is_ok());
  const Revision fresh = g.commit()->revision;
  EXPECT_GT(fresh, revs[3]);
  EXPECT_FALSE(g.can_redo());
  EXPECT_FALSE(g.redo().is_ok());
  ASSERT_TRUE(g.undo().is_ok());
  EXPECT_EQ(num(g.read(s)), 2);
  EXPECT_TRUE(g.check_invariants().is_ok());
}

TEST(Transactions, ValueAtReadsEveryRevisionUndoAndRedoReach) {
  Graph g(GraphOptions{.history_limit = 10});
  NodeId x = g.add_variable(0.0);
  NodeId s = g.add_derived(sum_spec(g), {x}).value();
  NodeId l = g.add_derived(sum_spec(g, nullptr, Evaluation::lazy), {x}).value();
  ASSERT_TRUE(g.commit().is_ok());
  std::vector<Revision> revs{g.revision()};
  for (int i = 1; i <= 3; ++i) {
    ASSERT_TRUE(g.write(x, double(i)).is_ok());
    revs.push_back(g.commit()->revision);
  }
  ASSERT_TRUE(g.undo().is_ok());  // now at revs[2]; revs[3] can be redone
  for (std::size_t i = 0; i < revs.size(); ++i) {
    SCOPED_TRACE(i);
    EXPECT_EQ(num(g.value_at(x, revs[i]).value()), double(i));
    EXPECT_EQ(num(g.value_at(s, revs[i]).value()), double(i));
  }
  // Reading computes nothing and changes nothing.
  EXPECT_EQ(g.revision(), revs[2]);
  EXPECT_EQ(num(g.read(s)), 2);
  // A lazy field keeps no past values; at the current revision it is a plain value.
  EXPECT_EQ(g.value_at(l, revs[1]).status().code(), StatusCode::invalid_argument);
  EXPECT_TRUE(g.value_at(l, revs[2]).is_ok());
  EXPECT_EQ(g.value_at(s, 999).status().code(), StatusCode::not_found);
  ASSERT_TRUE(g.write(x, 7.0).is_ok());
  EXPECT_EQ(g.value_at(s, revs[1]).status().code(), StatusCode::failed_precondition);
  ASSERT_TRUE(g.commit().is_ok());
  // The new commit dropped what could be redone.
  EXPECT_EQ(g.value_at(s, revs[3]).status().code(), StatusCode::not_found);
  EXPECT_EQ(num(g.value_at(s, revs[2]).value()), 2);
  EXPECT_TRUE(g.check_invariants().is_ok());
}

TEST(Transactions, HistoryLimitBoundsUndo) {
  Graph g(GraphOptions{.history_limit = 2});
  NodeId x = g.add_variable(0.0);
  for (int i = 1; i <= 5; ++i) {
    ASSERT_TRUE(g.write(x, double(i)).is_ok());
    ASSERT_TRUE(g.commit().is_ok());
  }
  EXPECT_TRUE(g.undo().is_ok());
  EXPECT_TRUE(g.undo().is_ok());
  Status third = g.undo();
  EXPECT_FALSE(third.is_ok());
  EXPECT_EQ(num(g.read(x)), 3);
  Graph off;
  NodeId y = off.add_variable(0.0);
  ASSERT_TRUE(off.write(y, 1.0).is_ok());
  ASSERT_TRUE(off.commit().is_ok());
  Status none = off.undo();
  EXPECT_NE(none.message().find("history_limit"), std::string::npos);
}

TEST(Transactions, UndoNeedsNoOpenTransaction) {
  Graph g(GraphOptions{.history_limit = 4});
  NodeId x = g.add_variable(0.0);
  ASSERT_TRUE(g.write(x, 1.0).is_ok());
  ASSERT_TRUE(g.commit().is_ok());
  ASSERT_TRUE(g.write(x, 2.0).is_ok());
  Status s = g.undo();
  EXPECT_EQ(s.code(), StatusCode::failed_precondition);
}

TEST(Branch, ChangesNeverReachTheOtherSide) {
  Graph g;
  NodeId x = g.add_variable(5.0);
  NodeId s = g.add_derived(sum_spec(g), {x}).value();
  ASSERT_TRUE(g.commit().is_ok());
  Graph b = g.branch();
  EXPECT_EQ(num(b.read(s)), 5);
  ASSERT_TRUE(b.write(x, 10.0).is_ok());
  ASSERT_TRUE(b.commit().is_ok());
  EXPECT_EQ(num(b.read(s)), 10);
  EXPECT_EQ(num(g.read(s)), 5);
  ASSERT_TRUE(g.write(x, 1.0).is_ok());
  ASSERT_TRUE(g.commit().is_ok());
  EXPECT_EQ(num(g.read(s)), 1);
  EXPECT_EQ(num(b.read(s)), 10);
  // A branch of a branch, and new nodes on one side only.
  Graph bb = b.branch();
  NodeId extra = bb.add_variable(3.0);
  EXPECT_EQ(bb.node_count(), g.node_count() + 1);
  EXPECT_EQ(num(bb.read(extra)), 3);
}

// read() answers a current node in line, through a window on the columns that every
// other call closes (Graph::ReadWindow). Random operations that move the columns (new
// nodes), open transactions, roll back, walk the history, branch and move graphs, each
// followed by reading every node of both graphs: read() must answer what try_read(),
// which never goes through the window, answers (and ASan sees no stale column).
TEST(Read, ThroughItsWindowAnswersAsTheFullRoutineAfterEveryKindOfChange) {
  for (std::uint64_t seed = 1; seed <= 40; ++seed) {
    SCOPED_TRACE(seed);
    Prng rng(seed);
    Graph a(GraphOptions{.history_limit = 4});
    std::vector<NodeId> variables{a.add_variable(1.0), a.add_variable(2.0)};
    const SpecId strict = sum_spec(a);
    const SpecId lazy = sum_spec(a, nullptr, Evaluation::lazy);
    Graph b = a.branch();
    std::vector<NodeId> b_variables = variables;
    auto check = [&](Graph& g) {
      for (NodeId n = 0; n < g.node_count(); ++n) {
        const Value through_window = g.read(n);
        const Result<Value> full = g.try_read(n);
        ASSERT_TRUE(full.is_ok()) << full.status().to_string();
        ASSERT_EQ(through_window, *full) << "node " << n;
      }
    };
    for (int step = 0; step < 120; ++step) {
      const bool on_a = rng.below(2) == 0;
      Graph& g = on_a ? a : b;
      std::vector<NodeId>& vars = on_a ? variables : b_variables;
      switch (rng.below(9)) {
        case 0:
        case 1:
          ASSERT_TRUE(g.write(vars[rng.below(vars.size())], static_cast<double>(rng.below(100))).is_ok());
          break;
        case 2:
          ASSERT_TRUE(g.commit().is_ok());
          break;
        case 3:
          g.reject();
          break;
        case 4:
          if (!g.in_transaction() && g.can_undo()) {
            ASSERT_TRUE(g.undo().is_ok());
          }
          break;
        case 5:
          if (!g.in_transaction() && g.can_redo()) {
            ASSERT_TRUE(g.redo().is_ok());
          }
          break;
        case 6: {  // new nodes: the columns may move
          if (g.in_transaction()) break;
          vars.push_back(g.add_variable(static_cast<double>(rng.below(100))));
          const NodeId x = vars[rng.below(vars.size())];
          const NodeId y = static_cast<NodeId>(rng.below(g.node_count()));
          ASSERT_TRUE(g.add_derived(rng.below(2) == 0 ? strict : lazy, {x, y}).is_ok());
          break;
        }
        case 7:  // the other graph becomes a branch of this one (they share a state)
          if (g.in_transaction()) break;
          if (on_a) {
            b = a.branch();
            b_variables = variables;
          } else {
            a = b.branch();
            variables = b_variables;
          }
          break;
        case 8: {  // moved away and back
          Graph moved = std::move(g);
          g = std::move(moved);
          break;
        }
      }
      check(a);
      check(b);
    }
  }
}

TEST(Branch, ObserversStayWithTheirGraph) {
  Graph g;
  NodeId x = g.add_variable(1.0);
  NodeId s = g.add_derived(sum_spec(g), {x}).value();
  ASSERT_TRUE(g.commit().is_ok());
  int fired = 0;
  g.observe(s, [&](NodeId, const Value&) { ++fired; });
  Graph b = g.branch();
  ASSERT_TRUE(b.write(x, 2.0).is_ok());
  ASSERT_TRUE(b.commit().is_ok());
  EXPECT_EQ(fired, 0);
  ASSERT_TRUE(g.write(x, 3.0).is_ok());
  ASSERT_TRUE(g.commit().is_ok());
  EXPECT_EQ(fired, 1);
}

TEST(SelfReference, AccumulatorReadsItsPreviousValue) {
  Graph g(GraphOptions{.history_limit = 8});
  NodeId in = g.add_variable(0.0, "in");
  FieldSpec acc{[](Context& c) {
                  const double prev = c.self().is_null() ? 0 : c.self().number();
                  return Value(prev + c.input(0).number());
                },
                Evaluation::strict, Dependencies::declared, {}, "running_total"};
  NodeId total = g.add_derived(g.add_spec(acc), {in}, "total").value();
  ASSERT_TRUE(g.commit().is_ok());
  for (double v : {5.0, 3.0, 2.0}) {
    ASSERT_TRUE(g.write(in, v).is_ok());
    ASSERT_TRUE(g.commit().is_ok());
  }
  EXPECT_EQ(num(g.read(total)), 10);
  // Not a cycle, and not recomputed when nothing changed.
  ASSERT_TRUE(g.commit().is_ok());
  EXPECT_EQ(num(g.read(total)), 10);
  // Undo restores the accumulated value exactly.
  ASSERT_TRUE(g.undo().is_ok());
  EXPECT_EQ(num(g.read(total)), 8);
  ASSERT_TRUE(g.write(in, 1.0).is_ok());
  ASSERT_TRUE(g.commit().is_ok());
  EXPECT_EQ(num(g.read(total)), 9);
}

TEST(Cycles, DefiningAnEdgeThatClosesACycleIsRejectedWithThePath) {
  Graph g;
  NodeId a = g.add_variable(1.0, "a");
  SpecId sum = sum_spec(g);
  NodeId b = g.add_derived(sum, {a}, "b").value();
  NodeId c = g.add_derived(sum, {b}, "c").value();
  ASSERT_TRUE(g.commit().is_ok());
  Status s = g.define(a, sum, std::vector<NodeId>{c});
  ASSERT_EQ(s.code(), StatusCode::cycle);
  EXPECT_NE(s.message().find("a -> c -> b -> a"), std::string::npos) << s.message();
  Status self = g.define(b, sum, std::vector<NodeId>{b});
  EXPECT_EQ(self.code(), StatusCode::cycle);
  // The graph is unchanged.
  EXPECT_TRUE(g.is_variable(a));
  ASSERT_TRUE(g.write(a, 2.0).is_ok());
  ASSERT_TRUE(g.commit().is_ok());
  EXPECT_EQ(num(g.read(c)), 2);
  // Redefining without a cycle works and recomputes.
  NodeId d = g.add_variable(10.0, "d");
  ASSERT_TRUE(g.define(b, sum, std::vector<NodeId>{a, d}).is_ok());
  ASSERT_TRUE(g.commit().is_ok());
  EXPECT_EQ(num(g.read(c)), 12);
  EXPECT_TRUE(g.check_invariants().is_ok());
}

TEST(Cycles, ADynamicCycleFailsTheCommitAndLeavesTheGraphAsItWas) {
  Graph g;
  NodeId flag = g.add_variable(false, "flag");
  NodeId base = g.add_variable(1.0, "base");
  NodeId p = kNoNode;
  NodeId q = g.add_formula([&](Context& c) { return Value(c.read(p).number() + 1); }, "q");
  p = g.add_formula(
      [&](Context& c) {
        if (c.read(flag).as_bool()) return Value(c.read(q).number() * 2);
        return c.read(base);
      },
      "p");
  ASSERT_TRUE(g.commit().is_ok());
  EXPECT_EQ(num(g.read(q)), 2);
  const Revision r = g.revision();
  ASSERT_TRUE(g.write(flag, true).is_ok());
  auto res = g.commit();
  ASSERT_FALSE(res.is_ok());
  EXPECT_EQ(res.status().code(), StatusCode::cycle);
  EXPECT_NE(res.status().message().find("p -> q -> p"), std::string::npos) << res.status().message();
  EXPECT_EQ(g.revision(), r);
  EXPECT_FALSE(g.read(flag).as_bool());
  EXPECT_EQ(num(g.read(p)), 1);
  EXPECT_EQ(num(g.read(q)), 2);
  EXPECT_TRUE(g.check_invariants().is_ok()) << g.check_invariants().to_string();
  // And it goes on working.
  ASSERT_TRUE(g.write(base, 4.0).is_ok());
  ASSERT_TRUE(g.commit().is_ok());
  EXPECT_EQ(num(g.read(q)), 5);
}

TEST(Proposed, FormulaDecidesBetweenProposedAndPrevious) {
  Graph g;
  NodeId max = g.add_variable(10.0, "max");
  FieldSpec clamp{[&](Context& c) {
                    const Value& v = c.proposed_or_previous();
                    const double m = c.read(max).number();
                    if (v.is_null()) return Value(0.0);
                    return Value(std::min(v.number(), m));
                  },
                  Evaluation::strict, Dependencies::tracked, {}, "clamp"};
  NodeId f = g.add_derived(g.add_spec(clamp), std::span<const NodeId>{}, "value").value();
  ASSERT_TRUE(g.commit().is_ok());
  EXPECT_EQ(num(g.read(f)), 0);
  ASSERT_TRUE(g.propose(f, 7.0).is_ok());
  ASSERT_TRUE(g.commit().is_ok());
  EXPECT_EQ(num(g.read(f)), 7);
  ASSERT_TRUE(g.propose(f, 70.0).is_ok());
  ASSERT_TRUE(g.commit().is_ok());
  EXPECT_EQ(num(g.read(f)), 10);
  // No proposal: previous value, clamped by the new max.
  ASSERT_TRUE(g.write(max, 5.0).is_ok());
  ASSERT_TRUE(g.commit().is_ok());
  EXPECT_EQ(num(g.read(f)), 5);
}

TEST(Proposed, ProposedValueAndPreviousValueAreDistinct) {
  Graph g;
  NodeId trigger = g.add_variable(0.0);
  std::vector<std::pair<Value, Value>> seen;
  FieldSpec spec{[&](Context& c) {
                   c.read(trigger);
                   seen.push_back({c.proposed(), c.previous()});
                   return c.has_proposed() ? c.proposed() : Value(c.previous().is_null() ? 1.0 : c.previous().number() + 1);
                 },
                 Evaluation::strict, Dependencies::tracked, {}, "f"};
  NodeId f = g.add_derived(g.add_spec(spec), std::span<const NodeId>{}).value();
  ASSERT_TRUE(g.commit().is_ok());
  ASSERT_TRUE(g.propose(f, 42.0).is_ok());
  ASSERT_TRUE(g.commit().is_ok());
  ASSERT_TRUE(g.write(trigger, 1.0).is_ok());
  ASSERT_TRUE(g.commit().is_ok());
  ASSERT_EQ(seen.size(), 3u);
  EXPECT_TRUE(seen[0].first.is_null());
  EXPECT_EQ(seen[1].first, Value(42.0));
  EXPECT_EQ(seen[1].second, Value(1.0));
  EXPECT_TRUE(seen[2].first.is_null());
  EXPECT_EQ(seen[2].second, Value(42.0));
  EXPECT_EQ(num(g.read(f)), 43);
}

TEST(Proposed, RejectRollsBackTheWholeTransactionWithTheReason) {
  Graph g;
  NodeId other = g.add_variable(1.0, "other");
  NodeId dep = g.add_derived(sum_spec(g), {other}, "dep").value();
  FieldSpec positive{[](Context& c) {
                       const Value& v = c.proposed_or_previous();
                       if (v.is_number() && v.number() < 0) c.reject("must not be negative");
                       return v;
                     },
                     Evaluation::strict, Dependencies::tracked, {}, "positive"};
  NodeId f = g.add_derived(g.add_spec(positive), std::span<const NodeId>{}, "amount").value();
  ASSERT_TRUE(g.commit().is_ok());
  ASSERT_TRUE(g.write(other, 50.0).is_ok());
  ASSERT_TRUE(g.propose(f, -3.0).is_ok());
  auto res = g.commit();
  ASSERT_FALSE(res.is_ok());
  EXPECT_EQ(res.status().code(), StatusCode::rejected);
  EXPECT_NE(res.status().message().find("amount rejected the transaction: must not be negative"),
            std::string::npos)
      << res.status().message();
  EXPECT_EQ(num(g.read(other)), 1);  // the other write was rolled back too
  EXPECT_EQ(num(g.read(dep)), 1);
  EXPECT_TRUE(g.read(f).is_null());
  ASSERT_TRUE(g.propose(f, 3.0).is_ok());
  ASSERT_TRUE(g.commit().is_ok());
  EXPECT_EQ(num(g.read(f)), 3);
  EXPECT_TRUE(g.check_invariants().is_ok());
}

TEST(Errors, AThrowingFailTransactionFormulaFailsTheCommitAndRollsBack) {
  // Without fail_transaction only the field fails (failed_fields_test.cpp).
  Graph g;
  NodeId x = g.add_variable(1.0, "x");
  FieldSpec spec;
  spec.dependencies = Dependencies::tracked;
  spec.fail_transaction = true;
  spec.formula = [&](Context& c) {
    const double v = c.read(x).number();
    if (v > 100) throw std::runtime_error("too large");
    return Value(v);
  };
  NodeId f = g.add_derived(g.add_spec(std::move(spec)), {}, "checked").value();
  ASSERT_TRUE(g.commit().is_ok());
  ASSERT_TRUE(g.write(x, 1000.0).is_ok());
  auto res = g.commit();
  ASSERT_FALSE(res.is_ok());
  EXPECT_EQ(res.status().code(), StatusCode::formula_error);
  EXPECT_NE(res.status().message().find("formula of checked failed: too large"), std::string::npos);
  EXPECT_EQ(num(g.read(f)), 1);
  EXPECT_EQ(num(g.read(x)), 1);
}

TEST(Errors, WritesNameTheNodeAndTheFix) {
  Graph g;
  NodeId x = g.add_variable(1.0, "x");
  NodeId s = g.add_derived(sum_spec(g), {x}, "total").value();
  Status w = g.write(s, 3.0);
  EXPECT_EQ(w.code(), StatusCode::invalid_argument);
  EXPECT_NE(w.message().find("total is a derived field"), std::string::npos);
  EXPECT_EQ(g.write(999, 1.0).code(), StatusCode::not_found);
  EXPECT_EQ(g.add_derived(12345, {x}).status().code(), StatusCode::invalid_argument);
  FieldSpec declared{[&](Context& c) { return c.read(x); }, Evaluation::strict,
                     Dependencies::declared, {}, "bad"};
  NodeId y = g.add_variable(0.0, "y");
  const NodeId sneaky = g.add_derived(g.add_spec(declared), {y}, "sneaky").value();
  ASSERT_TRUE(g.commit().is_ok());  // a formula's error fails its field only
  EXPECT_EQ(g.condition(sneaky).state, FieldState::failed);
  EXPECT_NE(g.condition(sneaky).reason.find("sneaky reads x, which is not one of its declared inputs"),
            std::string::npos)
      << g.condition(sneaky).reason;
}

TEST(CycleGroup, StartEndDurationResolveAsSeed003Describes) {
  Graph g(GraphOptions{.history_limit = 4});
  CycleGroupDef def;
  def.name = "task";
  def.members = {"start", "end", "duration"};
  def.initial = {Value(0.0), Value(10.0), Value(10.0)};
  auto minus = [](std::span<const Value> in) { return Value(in[0].number() - in[1].number()); };
  auto plus = [](std::span<const Value> in) { return Value(in[0].number() + in[1].number()); };
  def.formulas = {GroupFormula{0, {1, 2}, minus, "start = end - duration"},
                  GroupFormula{1, {0, 2}, plus, "end = start + duration"},
                  GroupFormula{2, {1, 0}, minus, "duration = end - start"}};
  def.default_formulas = {1};
  CycleGroup task = g.add_cycle_group(def).value();
  const NodeId S = task.members[0], E = task.members[1], D = task.members[2];
  ASSERT_TRUE(g.commit().is_ok());
  EXPECT_EQ(num(g.read(E)), 10);

  // User sets start and duration: end is computed (E = S + D).
  ASSERT_TRUE(g.propose(S, 5.0).is_ok());
  ASSERT_TRUE(g.propose(D, 3.0).is_ok());
  ASSERT_TRUE(g.commit().is_ok());
  EXPECT_EQ(num(g.read(S)), 5);
  EXPECT_EQ(num(g.read(D)), 3);
  EXPECT_EQ(num(g.read(E)), 8);

  // Only duration: the default formula moves the end.
  ASSERT_TRUE(g.propose(D, 4.0).is_ok());
  ASSERT_TRUE(g.commit().is_ok());
  EXPECT_EQ(num(g.read(E)), 9);
  EXPECT_EQ(num(g.read(S)), 5);

  // End and duration: start is computed.
  ASSERT_TRUE(g.propose(E, 20.0).is_ok());
  ASSERT_TRUE(g.propose(D, 6.0).is_ok());
  ASSERT_TRUE(g.commit().is_ok());
  EXPECT_EQ(num(g.read(S)), 14);

  // Only end, with start kept: duration follows.
  ASSERT_TRUE(g.set_keep(task, 0, true).is_ok());
  ASSERT_TRUE(g.propose(E, 30.0).is_ok());
  ASSERT_TRUE(g.commit().is_ok());
  EXPECT_EQ(num(g.read(S)), 14);
  EXPECT_EQ(num(g.read(D)), 16);

  // Only end, nothing kept: start = end - duration and duration = end - start tie; the
  // resolver's walk finds the start's rule first (declaration order among equals).
  ASSERT_TRUE(g.set_keep(task, 0, false).is_ok());
  ASSERT_TRUE(g.propose(E, 40.0).is_ok());
  ASSERT_TRUE(g.commit().is_ok());
  EXPECT_EQ(num(g.read(S)), 24);
  EXPECT_EQ(num(g.read(D)), 16);
  EXPECT_TRUE(g.check_invariants().is_ok()) << g.check_invariants().to_string();

  // History covers groups too.
  ASSERT_TRUE(g.undo().is_ok());
  EXPECT_EQ(num(g.read(S)), 14);
  EXPECT_EQ(num(g.read(E)), 30);
}

/// Start, end, duration (0, 10, 10) with end = start + duration as the default.
CycleGroup start_end_duration(Graph& g) {
  CycleGroupDef def;
  def.name = "task";
  def.members = {"start", "end", "duration"};
  def.initial = {Value(0.0), Value(10.0), Value(10.0)};
  auto minus = [](std::span<const Value> in) { return Value(in[0].number() - in[1].number()); };
  auto plus = [](std::span<const Value> in) { return Value(in[0].number() + in[1].number()); };
  def.formulas = {GroupFormula{0, {1, 2}, minus, "start = end - duration"},
                  GroupFormula{1, {0, 2}, plus, "end = start + duration"},
                  GroupFormula{2, {1, 0}, minus, "duration = end - start"}};
  def.default_formulas = {1};
  return g.add_cycle_group(def).value();
}

TEST(CycleGroup, ADefaultFormulaOverwritesAnInconsistentProposal) {
  Graph g;
  const CycleGroup task = start_end_duration(g);
  ASSERT_TRUE(g.commit().is_ok());
  ASSERT_TRUE(g.propose(task.members[0], 5.0).is_ok());
  ASSERT_TRUE(g.propose(task.members[1], 100.0).is_ok());
  ASSERT_TRUE(g.propose(task.members[2], 3.0).is_ok());
  ASSERT_TRUE(g.commit().is_ok());
  EXPECT_EQ(num(g.read(task.members[0])), 5);
  EXPECT_EQ(num(g.read(task.members[1])), 8);  // not the proposed 100
  EXPECT_EQ(num(g.read(task.members[2])), 3);
}

TEST(CycleGroup, KeepIfPossibleLastsOneTransaction) {
  Graph g(GraphOptions{.history_limit = 4});
  const CycleGroup task = start_end_duration(g);
  const NodeId S = task.members[0], E = task.members[1], D = task.members[2];
  ASSERT_TRUE(g.commit().is_ok());

  // End proposed, start kept: the duration follows.
  ASSERT_TRUE(g.propose(E, 30.0).is_ok());
  ASSERT_TRUE(g.keep_if_possible(S).is_ok());
  ASSERT_TRUE(g.commit().is_ok());
  EXPECT_EQ(num(g.read(S)), 0);
  EXPECT_EQ(num(g.read(D)), 30);

  // The flag went with the commit: the start moves now (its rule is tried first).
  ASSERT_TRUE(g.propose(E, 40.0).is_ok());
  ASSERT_TRUE(g.commit().is_ok());
  EXPECT_EQ(num(g.read(S)), 10);
  EXPECT_EQ(num(g.read(D)), 30);

  // reject() drops it too.
  ASSERT_TRUE(g.keep_if_possible(S).is_ok());
  EXPECT_TRUE(g.in_transaction());
  g.reject();
  EXPECT_TRUE(g.check_invariants().is_ok()) << g.check_invariants().to_string();
  ASSERT_TRUE(g.propose(E, 50.0).is_ok());
  ASSERT_TRUE(g.commit().is_ok());
  EXPECT_EQ(num(g.read(S)), 20);

  // A kept member that is also proposed counts as proposed; the duration follows.
  ASSERT_TRUE(g.propose(S, 0.0).is_ok());
  ASSERT_TRUE(g.keep_if_possible(S).is_ok());
  ASSERT_TRUE(g.keep_if_possible(E).is_ok());
  ASSERT_TRUE(g.commit().is_ok());
  EXPECT_EQ(num(g.read(D)), 50);

  ASSERT_TRUE(g.undo().is_ok());
  EXPECT_EQ(num(g.read(S)), 20);
  EXPECT_EQ(num(g.read(D)), 30);
  ASSERT_TRUE(g.redo().is_ok());
  EXPECT_EQ(num(g.read(D)), 50);
  EXPECT_TRUE(g.check_invariants().is_ok()) << g.check_invariants().to_string();
}

TEST(CycleGroup, OnlyMembersCanBeKept) {
  Graph g;
  const CycleGroup task = start_end_duration(g);
  const NodeId x = g.add_variable(1.0, "x");
  ASSERT_TRUE(g.commit().is_ok());
  const Status on_variable = g.keep_if_possible(x);
  EXPECT_EQ(on_variable.code(), StatusCode::invalid_argument);
  EXPECT_NE(on_variable.message().find("x is not a member of a cycle group"), std::string::npos)
      << on_variable.message();
  EXPECT_EQ(g.keep_if_possible(task.dispatcher).code(), StatusCode::invalid_argument);
  EXPECT_EQ(g.keep_if_possible(12345).code(), StatusCode::not_found);
  EXPECT_FALSE(g.in_transaction());
}

TEST(Observers, RunAfterCommitsThatChangeTheNode) {
  Graph g;
  NodeId x = g.add_variable(1.0);
  NodeId parity = g.add_formula([&](Context& c) { return Value(std::fmod(c.read(x).number(), 2.0)); });
  ASSERT_TRUE(g.commit().is_ok());
  std::vector<double> seen;
  ObserverId id = g.observe(parity, [&](NodeId, const Value& v) { seen.push_back(v.number()); });
  for (double v : {2.0, 4.0, 5.0, 7.0, 8.0}) {
    ASSERT_TRUE(g.write(x, v).is_ok());
    ASSERT_TRUE(g.commit().is_ok());
  }
  EXPECT_EQ(seen, (std::vector<double>{0, 1, 0}));
  g.unobserve(id);
  ASSERT_TRUE(g.write(x, 9.0).is_ok());
  ASSERT_TRUE(g.commit().is_ok());
  EXPECT_EQ(seen.size(), 3u);
}

/// `count` variables, each with a field copying it (committed): xs[i] and fs[i].
struct CopiedVariables {
  std::vector<NodeId> xs, fs;
  CopiedVariables(Graph& g, std::size_t count) {
    const SpecId copy = sum_spec(g);
    for (std::size_t i = 0; i < count; ++i) {
      xs.push_back(g.add_variable(0.0));
      fs.push_back(g.add_derived(copy, {xs.back()}).value());
    }
    EXPECT_TRUE(g.commit().is_ok());
  }
};

// Observers come and go at random between commits (lists of a node emptied and reused by
// another): each commit calls exactly the observers of the fields it changed, once each,
// with the new value.
TEST(Observers, EachCommitCallsTheObserversOfWhatChangedOnceEach) {
  Prng rng(7);
  Graph g;
  constexpr std::size_t kFields = 50;
  const CopiedVariables copied(g, kFields);
  const std::vector<NodeId>& xs = copied.xs;
  const std::vector<NodeId>& fs = copied.fs;
  std::map<ObserverId, std::size_t> watching;  // observer -> field index
  std::map<ObserverId, std::vector<double>> seen;
  for (int round = 0; round < 300; ++round) {
    for (int k = 0, n = static_cast<int>(rng.below(4)); k < n; ++k) {
      if (!watching.empty() && rng.below(2) == 0) {
        auto it = watching.begin();
        std::advance(it, static_cast<long>(rng.below(watching.size())));
        g.unobserve(it->first);
        watching.erase(it);
      } else {
        const std::size_t i = rng.below(kFields);
        auto slot = std::make_shared<ObserverId>(0);
        const ObserverId id = g.observe(fs[i], [&seen, slot](NodeId, const Value& v) {
          seen[*slot].push_back(v.number());
        });
        *slot = id;
        watching[id] = i;
      }
    }
    std::vector<double> now(kFields);
    for (std::size_t i = 0; i < kFields; ++i) now[i] = num(g.read(fs[i]));
    std::vector<bool> changes(kFields, false);
    for (int k = 0, n = 1 + static_cast<int>(rng.below(5)); k < n; ++k) {
      const std::size_t i = rng.below(kFields);
      const double v = static_cast<double>(rng.below(3));
      ASSERT_TRUE(g.write(xs[i], v).is_ok());
      changes[i] = v != now[i];  // the last write decides
      now[i] = v;
    }
    seen.clear();
    ASSERT_TRUE(g.commit().is_ok());
    std::map<ObserverId, std::vector<double>> expected;
    for (const auto& [id, i] : watching) {
      if (changes[i]) expected[id] = {now[i]};
    }
    ASSERT_EQ(seen, expected) << "round " << round;
  }
}

// An observer that unobserves the next observer of its node, and observes other nodes
// (which may move the lists), while it runs: the one removed is not called.
TEST(Observers, ChangesMadeByAnObserverTakeEffectAtOnce) {
  Graph g;
  NodeId x = g.add_variable(1.0);
  NodeId f = g.add_derived(sum_spec(g), {x}).value();
  std::vector<NodeId> others;
  for (int i = 0; i < 20; ++i) others.push_back(g.add_derived(sum_spec(g), {x}).value());
  ASSERT_TRUE(g.commit().is_ok());
  std::vector<std::string> calls;
  ObserverId second = 0;
  bool added = false;
  g.observe(f, [&](NodeId, const Value&) {
    calls.push_back("first");
    g.unobserve(second);
    if (added) return;
    added = true;
    for (NodeId o : others) g.observe(o, [&](NodeId, const Value&) { calls.push_back("other"); });
  });
  second = g.observe(f, [&](NodeId, const Value&) { calls.push_back("second"); });
  g.observe(f, [&](NodeId, const Value&) { calls.push_back("third"); });
  ASSERT_TRUE(g.write(x, 2.0).is_ok());
  ASSERT_TRUE(g.commit().is_ok());
  // The observers of `others` were added during the walk of this commit's changes: those
  // of nodes after f in the walk are called too, as they observe a node that changed.
  ASSERT_GE(calls.size(), 2u);
  EXPECT_EQ(calls[0], "first");
  EXPECT_EQ(std::count(calls.begin(), calls.end(), "second"), 0);
  EXPECT_EQ(std::count(calls.begin(), calls.end(), "third"), 1);
  calls.clear();
  ASSERT_TRUE(g.write(x, 3.0).is_ok());
  ASSERT_TRUE(g.commit().is_ok());
  EXPECT_EQ(std::count(calls.begin(), calls.end(), "other"), 20);
  EXPECT_EQ(std::count(calls.begin(), calls.end(), "third"), 1);
}

// Commits changing hundreds of observed fields, whose observers unobserve others (or
// themselves) and add new ones as they run, so that the lists change under the walk that
// reads them ahead (run_observers() prefetches the lists of the nodes 8 to 32 places
// further on). Whatever the order of the walk: an observer removed before its turn is
// never called, one there from the commit's start to its end is called once, with its
// field's new value, and none is called twice.
TEST(Observers, ObserversChangingTheListsDuringALargeCommitAreCalledAsTheListsSay) {
  Prng rng(11);
  Graph g;
  constexpr std::size_t kFields = 400;
  const CopiedVariables copied(g, kFields);
  const std::vector<NodeId>& xs = copied.xs;
  const std::vector<NodeId>& fs = copied.fs;
  std::map<NodeId, std::size_t> field_index;
  for (std::size_t i = 0; i < kFields; ++i) field_index[fs[i]] = i;
  std::set<ObserverId> live;
  std::map<ObserverId, int> calls;  // this commit's calls per observer
  std::vector<double> expected(kFields, 0.0);
  std::vector<std::string> errors;
  std::function<void(std::size_t)> add = [&](std::size_t i) {
    auto slot = std::make_shared<ObserverId>(0);
    const ObserverId id = g.observe(fs[i], [&, slot](NodeId node, const Value& v) {
      const ObserverId self = *slot;
      if (live.count(self) == 0) errors.push_back("observer " + std::to_string(self) + " called after unobserve");
      ++calls[self];
      const auto at = field_index.find(node);
      if (at == field_index.end() || v.number() != expected[at->second]) {
        errors.push_back("observer " + std::to_string(self) + " got the wrong node or value");
      }
      if (rng.below(8) == 0 && !live.empty()) {  // unobserve a live one, perhaps itself
        auto it = live.begin();
        std::advance(it, static_cast<long>(rng.below(live.size())));
        g.unobserve(*it);
        live.erase(it);
      }
      if (rng.below(8) == 0) add(rng.below(kFields));
    });
    *slot = id;
    live.insert(id);
  };
  for (std::size_t i = 0; i < kFields; ++i) {
    for (std::uint64_t k = 0, n = 1 + rng.below(2); k < n; ++k) add(i);
  }
  std::size_t checked = 0;
  for (int round = 1; round <= 30; ++round) {
    for (std::size_t i = 0; i < kFields; ++i) {
      expected[i] = static_cast<double>(round * 1000 + static_cast<int>(i));
      ASSERT_TRUE(g.write(xs[i], expected[i]).is_ok());
    }
    const std::set<ObserverId> at_start = live;
    calls.clear();
    ASSERT_TRUE(g.commit().is_ok());
    ASSERT_TRUE(errors.empty()) << "round " << round << ": " << errors.front();
    for (const auto& [id, n] : calls) ASSERT_EQ(n, 1) << "observer " << id << ", round " << round;
    for (const ObserverId id : at_start) {
      if (live.count(id) != 0) {  // there from start to end: its field changed
        ASSERT_EQ(calls.count(id), 1u) << "observer " << id << " not called, round " << round;
        ++checked;
      }
    }
  }
  EXPECT_GT(checked, 30 * kFields / 2);  // most observers stayed through most commits
}

TEST(Observers, ObservingALazyFieldMakesItComputeAtCommit) {
  Graph g;
  NodeId x = g.add_variable(1.0);
  Counts counts;
  NodeId l = g.add_derived(sum_spec(g, &counts, Evaluation::lazy), {x}).value();
  ASSERT_TRUE(g.commit().is_ok());
  int fired = 0;
  g.observe(l, [&](NodeId, const Value&) { ++fired; });
  ASSERT_TRUE(g.write(x, 2.0).is_ok());
  ASSERT_TRUE(g.commit().is_ok());
  EXPECT_EQ(fired, 1);
  EXPECT_FALSE(g.is_stale(l));
}

TEST(Stepwise, ComputeStopsAtUnresolvedMirrorsAndReportsExportedFields) {
  // Partition view: m mirrors a remote field; e is exported, local reads only x.
  Graph g;
  NodeId x = g.add_variable(1.0, "x");
  NodeId m = g.add_mirror(10.0, "m");
  SpecId sum = sum_spec(g);
  NodeId local = g.add_derived(sum, {x}, "local").value();
  NodeId mixed = g.add_derived(sum, {x, m}, "mixed").value();
  NodeId e = g.add_derived(sum, {mixed}, "e").value();
  g.set_exported(e, true);
  ASSERT_TRUE(g.commit().is_ok());
  EXPECT_EQ(num(g.read(e)), 11);

  ASSERT_TRUE(g.write(x, 2.0).is_ok());
  std::vector<NodeId> stale;
  ASSERT_TRUE(g.mark(&stale).is_ok());
  EXPECT_EQ(stale, std::vector<NodeId>{e});
  ASSERT_TRUE(g.mark_mirror(m, &stale).is_ok());
  std::vector<Resolution> resolved;
  ASSERT_TRUE(g.compute(&resolved).is_ok());
  EXPECT_FALSE(g.is_stale(local));
  EXPECT_EQ(num(g.read(local)), 2);
  EXPECT_TRUE(g.is_stale(mixed));
  EXPECT_TRUE(resolved.empty());
  EXPECT_GT(g.pending_count(), 0u);
  EXPECT_EQ(g.commit().status().code(), StatusCode::failed_precondition);
  EXPECT_EQ(num(g.committed(local)), 1);  // committed values stay readable

  ASSERT_TRUE(g.resolve_mirror(m, true, 20.0).is_ok());
  ASSERT_TRUE(g.compute(&resolved).is_ok());
  EXPECT_EQ(g.pending_count(), 0u);
  ASSERT_EQ(resolved.size(), 1u);
  EXPECT_EQ(resolved[0].node, e);
  EXPECT_TRUE(resolved[0].changed);
  EXPECT_EQ(num(resolved[0].value), 22);
  ASSERT_TRUE(g.commit().is_ok());
  EXPECT_EQ(num(g.read(e)), 22);

  // An unchanged mirror resolves as unchanged: mixed is cut off.
  ASSERT_TRUE(g.mark_mirror(m).is_ok());
  ASSERT_TRUE(g.resolve_mirror(m, false, Value()).is_ok());
  resolved.clear();
  ASSERT_TRUE(g.compute(&resolved).is_ok());
  ASSERT_EQ(resolved.size(), 1u);
  EXPECT_FALSE(resolved[0].changed);
  ASSERT_TRUE(g.commit().is_ok());
  EXPECT_TRUE(g.check_invariants().is_ok());
}

TEST(Stepwise, APreviewOfTheCommitSaysWhatItMakesOnceNothingIsLeftToCompute) {
  Graph g;
  NodeId x = g.add_variable(1.0, "x");
  NodeId y = g.add_variable(5.0, "y");
  NodeId m = g.add_mirror(10.0, "m");
  SpecId sum = sum_spec(g);
  NodeId local = g.add_derived(sum, {x}, "local").value();
  NodeId mixed = g.add_derived(sum, {x, m}, "mixed").value();
  ASSERT_TRUE(g.commit().is_ok());
  const Revision before = g.revision();
  // Nothing open: nothing changes.
  ASSERT_TRUE(g.preview_commit().has_value());
  EXPECT_EQ(g.preview_commit()->revision, before);
  EXPECT_TRUE(g.preview_commit()->changed.empty());

  // x written, y written and written back: while the mirror is unresolved, mixed waits.
  ASSERT_TRUE(g.write(x, 2.0).is_ok());
  ASSERT_TRUE(g.mark().is_ok());
  ASSERT_TRUE(g.write(y, 6.0).is_ok());
  ASSERT_TRUE(g.write(y, 5.0).is_ok());
  ASSERT_TRUE(g.mark().is_ok());
  ASSERT_TRUE(g.mark_mirror(m).is_ok());
  ASSERT_TRUE(g.compute(nullptr).is_ok());
  EXPECT_FALSE(g.preview_commit().has_value());
  // Resolved and computed through: the preview is the commit, and changes nothing itself.
  ASSERT_TRUE(g.resolve_mirror(m, true, 20.0).is_ok());
  ASSERT_TRUE(g.compute(nullptr).is_ok());
  const std::optional<CommitPreview> p = g.preview_commit();
  ASSERT_TRUE(p.has_value());
  EXPECT_NE(p->revision, before);
  EXPECT_TRUE(g.in_transaction());
  Result<CommitStats> c = g.commit();
  ASSERT_TRUE(c.is_ok());
  EXPECT_EQ(p->revision, c->revision);
  EXPECT_EQ(p->changed, std::vector<NodeId>(g.last_changed().begin(), g.last_changed().end()));
  EXPECT_EQ(std::set<NodeId>(p->changed.begin(), p->changed.end()), (std::set<NodeId>{x, m, local, mixed}));

  // A mirror resolved unchanged and nothing else written: a commit of no change.
  ASSERT_TRUE(g.mark_mirror(m).is_ok());
  ASSERT_TRUE(g.resolve_mirror(m, false, Value()).is_ok());
  ASSERT_TRUE(g.compute(nullptr).is_ok());
  const std::optional<CommitPreview> none = g.preview_commit();
  ASSERT_TRUE(none.has_value());
  EXPECT_TRUE(none->changed.empty());
  EXPECT_EQ(none->revision, g.revision());
  const Revision same = g.revision();
  ASSERT_TRUE(g.commit().is_ok());
  EXPECT_EQ(g.revision(), same);
  EXPECT_TRUE(g.check_invariants().is_ok());
}

/// A round of a partition's transaction: `x` written, `mirrors` marked stale (a remote
/// field changed), computed as far as they let it.
void write_and_wait_for(Graph& g, NodeId x, double value, std::initializer_list<NodeId> mirrors) {
  ASSERT_TRUE(g.write(x, value).is_ok());
  ASSERT_TRUE(g.mark().is_ok());
  for (const NodeId m : mirrors) ASSERT_TRUE(g.mark_mirror(m).is_ok());
  ASSERT_TRUE(g.compute(nullptr).is_ok());
}

TEST(Stepwise, AWaitingFieldIsReleasedByTheMirrorsItWaitsForInEitherOrder) {
  for (const bool a_first : {true, false}) {
    SCOPED_TRACE(a_first ? "a resolves first" : "b resolves first");
    Graph g;
    NodeId x = g.add_variable(1.0, "x");
    NodeId a = g.add_mirror(10.0, "a");
    NodeId b = g.add_mirror(100.0, "b");
    Counts counts;
    SpecId sum = sum_spec(g, &counts);
    NodeId fa = g.add_derived(sum, {x, a}, "fa").value();
    NodeId fb = g.add_derived(sum, {x, b}, "fb").value();
    NodeId both = g.add_derived(sum, {fa, fb}, "both").value();
    ASSERT_TRUE(g.commit().is_ok());
    counts.runs.clear();

    write_and_wait_for(g, x, 2.0, {a, b});
    // Every stale field waits, each listed once, by node id.
    EXPECT_EQ(g.pending_count(), 3u);
    const std::span<const NodeId> waiting = g.pending();
    EXPECT_EQ(std::vector<NodeId>(waiting.begin(), waiting.end()), (std::vector<NodeId>{fa, fb, both}));
    EXPECT_EQ(counts.total(), 0);
    // A compute() with nothing resolved since releases nothing.
    ASSERT_TRUE(g.compute(nullptr).is_ok());
    EXPECT_EQ(g.pending_count(), 3u);

    const NodeId first = a_first ? a : b, second = a_first ? b : a;
    const NodeId released = a_first ? fa : fb, held = a_first ? fb : fa;
    ASSERT_TRUE(g.resolve_mirror(first, true, a_first ? 20.0 : 200.0).is_ok());
    ASSERT_TRUE(g.compute(nullptr).is_ok());
    EXPECT_FALSE(g.is_stale(released));
    EXPECT_TRUE(g.is_stale(held));
    EXPECT_TRUE(g.is_stale(both));
    EXPECT_EQ(g.pending_count(), 2u);
    EXPECT_EQ(counts.runs[released], 1);
    EXPECT_EQ(counts.runs[both], 0);

    ASSERT_TRUE(g.resolve_mirror(second, true, a_first ? 200.0 : 20.0).is_ok());
    ASSERT_TRUE(g.compute(nullptr).is_ok());
    EXPECT_EQ(g.pending_count(), 0u);
    EXPECT_TRUE(g.pending().empty());
    // Each field computed once, from final inputs.
    EXPECT_EQ(counts.total(), 3);
    ASSERT_TRUE(g.commit().is_ok());
    EXPECT_EQ(num(g.read(fa)), 22);
    EXPECT_EQ(num(g.read(fb)), 202);
    EXPECT_EQ(num(g.read(both)), 224);
    EXPECT_TRUE(g.check_invariants().is_ok());
  }
}

TEST(Stepwise, AFieldWaitingBehindAnotherWaitingFieldGoesOnWhenThatOneIsComputed) {
  // c1 waits for m1; c2 reads c1 and m2; c3 reads c2: a chain of waiting fields.
  Graph g;
  NodeId x = g.add_variable(1.0, "x");
  NodeId m1 = g.add_mirror(10.0, "m1");
  NodeId m2 = g.add_mirror(100.0, "m2");
  Counts counts;
  SpecId sum = sum_spec(g, &counts);
  NodeId c1 = g.add_derived(sum, {x, m1}, "c1").value();
  NodeId c2 = g.add_derived(sum, {c1, m2}, "c2").value();
  NodeId c3 = g.add_derived(sum, {c2}, "c3").value();
  ASSERT_TRUE(g.commit().is_ok());
  counts.runs.clear();

  write_and_wait_for(g, x, 2.0, {m1, m2});
  EXPECT_EQ(g.pending_count(), 3u);
  // m2 first: c2 still waits for c1, so nothing moves.
  ASSERT_TRUE(g.resolve_mirror(m2, true, 200.0).is_ok());
  ASSERT_TRUE(g.compute(nullptr).is_ok());
  EXPECT_EQ(g.pending_count(), 3u);
  EXPECT_EQ(counts.total(), 0);
  // m1: c1, then c2 (its other mirror resolved already), then c3, in one compute().
  ASSERT_TRUE(g.resolve_mirror(m1, true, 20.0).is_ok());
  ASSERT_TRUE(g.compute(nullptr).is_ok());
  EXPECT_EQ(g.pending_count(), 0u);
  EXPECT_EQ(counts.total(), 3);
  ASSERT_TRUE(g.commit().is_ok());
  EXPECT_EQ(num(g.read(c3)), 222);

  // Again with m1 first: c1 goes on, c2 then waits for m2, and c3 for c2.
  counts.runs.clear();
  write_and_wait_for(g, x, 3.0, {m1, m2});
  ASSERT_TRUE(g.resolve_mirror(m1, true, 30.0).is_ok());
  ASSERT_TRUE(g.compute(nullptr).is_ok());
  EXPECT_FALSE(g.is_stale(c1));
  const std::span<const NodeId> waiting = g.pending();
  EXPECT_EQ(std::vector<NodeId>(waiting.begin(), waiting.end()), (std::vector<NodeId>{c2, c3}));
  ASSERT_TRUE(g.resolve_mirror(m2, true, 300.0).is_ok());
  ASSERT_TRUE(g.compute(nullptr).is_ok());
  EXPECT_EQ(g.pending_count(), 0u);
  EXPECT_EQ(counts.total(), 3);
  ASSERT_TRUE(g.commit().is_ok());
  EXPECT_EQ(num(g.read(c3)), 333);
  EXPECT_TRUE(g.check_invariants().is_ok());
}

TEST(Stepwise, AnUnchangedResolutionTakesBackWhatAnEarlierRoundResolved) {
  Graph g;
  NodeId x = g.add_variable(1.0, "x");
  NodeId m = g.add_mirror(10.0, "m");
  NodeId e = g.add_derived(sum_spec(g), {x, m}, "e").value();
  g.set_exported(e, true);
  ASSERT_TRUE(g.commit().is_ok());
  // Round 1 of a transaction: the remote field is resolved as changed.
  ASSERT_TRUE(g.write(x, 2.0).is_ok());
  ASSERT_TRUE(g.mark().is_ok());
  ASSERT_TRUE(g.mark_mirror(m).is_ok());
  ASSERT_TRUE(g.resolve_mirror(m, true, 20.0).is_ok());
  ASSERT_TRUE(g.compute().is_ok());
  EXPECT_EQ(num(g.read(e)), 22);
  // Round 2: on its owner a write took that back; it resolves as unchanged since the
  // transaction began, so the mirror holds its value from then again.
  ASSERT_TRUE(g.mark().is_ok());
  ASSERT_TRUE(g.mark_mirror(m).is_ok());
  ASSERT_TRUE(g.resolve_mirror(m, false, Value()).is_ok());
  ASSERT_TRUE(g.compute().is_ok());
  EXPECT_EQ(num(g.read(e)), 12);
  ASSERT_TRUE(g.commit().is_ok());
  EXPECT_EQ(num(g.read(m)), 10);
  EXPECT_EQ(num(g.read(e)), 12);
  EXPECT_TRUE(g.check_invariants().is_ok());
}

TEST(Stepwise, AMirrorTakesItsFieldsFailedStateAndWhatReadsItIsBlockedByTheSameCause) {
  Graph g(GraphOptions{.history_limit = 8});
  NodeId x = g.add_variable(1.0, "x");
  NodeId m = g.add_mirror(10.0, "remote.unit");
  NodeId root = g.add_variable(0.0, "remote.price");  // stands for a node the owner computes
  NodeId e = g.add_derived(sum_spec(g), {x, m}, "e").value();
  g.set_exported(e, true);
  ASSERT_TRUE(g.commit().is_ok());
  auto round = [&](bool changed, Value v, FieldCondition c, std::vector<Resolution>* out) {
    ASSERT_TRUE(g.mark_mirror(m).is_ok());
    ASSERT_TRUE(g.resolve_mirror(m, changed, std::move(v), std::move(c)).is_ok());
    ASSERT_TRUE(g.compute(out).is_ok());
    ASSERT_TRUE(g.commit().is_ok());
    ASSERT_TRUE(g.check_invariants().is_ok());
  };
  // The remote field failed: its value is unchanged, its state is news.
  std::vector<Resolution> out;
  round(true, 10.0, FieldCondition{FieldState::failed, 12345, "division by zero"}, &out);
  EXPECT_EQ(g.condition(m), (FieldCondition{FieldState::failed, m, "division by zero"}));
  EXPECT_EQ(g.condition(e), (FieldCondition{FieldState::blocked, m, "division by zero"}));
  EXPECT_EQ(num(g.read(e)), 11);
  ASSERT_EQ(out.size(), 1u);  // e's state travels on with it
  EXPECT_TRUE(out[0].changed);
  EXPECT_EQ(out[0].condition, (FieldCondition{FieldState::blocked, m, "division by zero"}));
  // Blocked on its owner by a field this graph holds no state for: the same cause.
  out.clear();
  round(true, 10.0, FieldCondition{FieldState::blocked, root, "sqrt of -1"}, &out);
  EXPECT_EQ(g.condition(e), (FieldCondition{FieldState::blocked, root, "sqrt of -1"}));
  EXPECT_EQ(g.condition(m), (FieldCondition{FieldState::blocked, root, "sqrt of -1"}));
  // Recovered remotely: the reader computes again, from the new value.
  round(true, 30.0, FieldCondition{}, nullptr);
  EXPECT_EQ(g.condition(e), FieldCondition{});
  EXPECT_EQ(g.condition(m), FieldCondition{});
  EXPECT_EQ(num(g.read(e)), 31);
  EXPECT_EQ(g.failed_count(), 0u);
  // Undo brings the states back with the values.
  ASSERT_TRUE(g.undo().is_ok());
  EXPECT_EQ(g.condition(e), (FieldCondition{FieldState::blocked, root, "sqrt of -1"}));
  EXPECT_EQ(num(g.read(e)), 11);
  ASSERT_TRUE(g.redo().is_ok());
  EXPECT_EQ(g.condition(e), FieldCondition{});
  // A blocked state naming the mirror itself is refused.
  ASSERT_TRUE(g.mark_mirror(m).is_ok());
  EXPECT_EQ(g.resolve_mirror(m, true, 1.0, FieldCondition{FieldState::blocked, m, ""}).code(),
            StatusCode::invalid_argument);
  g.abort();
  EXPECT_TRUE(g.check_invariants().is_ok());
}

TEST(Stepwise, AnUnchangedResolutionTakesBackTheStateAnEarlierRoundResolved) {
  Graph g;
  NodeId x = g.add_variable(1.0, "x");
  NodeId m = g.add_mirror(10.0, "m");
  NodeId e = g.add_derived(sum_spec(g), {x, m}, "e").value();
  g.set_exported(e, true);
  ASSERT_TRUE(g.commit().is_ok());
  ASSERT_TRUE(g.write(x, 2.0).is_ok());
  ASSERT_TRUE(g.mark().is_ok());
  ASSERT_TRUE(g.mark_mirror(m).is_ok());
  ASSERT_TRUE(g.resolve_mirror(m, true, 10.0, FieldCondition{FieldState::failed, m, "boom"}).is_ok());
  ASSERT_TRUE(g.compute().is_ok());
  EXPECT_EQ(g.condition(e).state, FieldState::blocked);
  // Round 2: the owner took the failure back; unchanged since the transaction began.
  ASSERT_TRUE(g.mark().is_ok());
  ASSERT_TRUE(g.mark_mirror(m).is_ok());
  ASSERT_TRUE(g.resolve_mirror(m, false, Value()).is_ok());
  ASSERT_TRUE(g.compute().is_ok());
  ASSERT_TRUE(g.commit().is_ok());
  EXPECT_EQ(g.condition(m), FieldCondition{});
  EXPECT_EQ(g.condition(e), FieldCondition{});
  EXPECT_EQ(num(g.read(e)), 12);
  EXPECT_TRUE(g.check_invariants().is_ok());
}

TEST(Stepwise, AbortDropsAPartlyComputedTransaction) {
  Graph g;
  NodeId x = g.add_variable(1.0);
  NodeId m = g.add_mirror(1.0);
  SpecId sum = sum_spec(g);
  NodeId a = g.add_derived(sum, {x}).value();
  NodeId b = g.add_derived(sum, {a, m}).value();
  ASSERT_TRUE(g.commit().is_ok());
  ASSERT_TRUE(g.write(x, 5.0).is_ok());
  ASSERT_TRUE(g.mark().is_ok());
  ASSERT_TRUE(g.mark_mirror(m).is_ok());
  ASSERT_TRUE(g.compute().is_ok());
  EXPECT_EQ(num(g.read(a)), 5);
  g.abort();
  EXPECT_EQ(num(g.read(a)), 1);
  EXPECT_EQ(num(g.read(b)), 2);
  EXPECT_FALSE(g.is_stale(b));
  EXPECT_TRUE(g.check_invariants().is_ok()) << g.check_invariants().to_string();
}

TEST(Stamps, PropagationStaysExactAcrossTheStampWrapAround) {
  Graph g;
  NodeId x = g.add_variable(0.0);
  Counts counts;
  NodeId l = g.add_derived(sum_spec(g, &counts, Evaluation::lazy), {x}).value();
  NodeId s = g.add_derived(sum_spec(g, &counts), {x}).value();
  ASSERT_TRUE(g.commit().is_ok());
  g.read(l);
  g.set_stamp_for_testing(UINT32_MAX - (1u << 20) - 3);
  for (int i = 1; i <= 10; ++i) {
    ASSERT_TRUE(g.write(x, double(i)).is_ok());
    ASSERT_TRUE(g.commit().is_ok());
    if (i % 3 == 0) {
      EXPECT_EQ(num(g.read(l)), i);
    }
    EXPECT_EQ(num(g.read(s)), i);
  }
  EXPECT_EQ(counts.runs[s], 11);
  EXPECT_EQ(num(g.read(l)), 10);
  EXPECT_TRUE(g.check_invariants().is_ok());
}

TEST(Memory, AScalarDerivedNodeWithTwoInputsTakesAtMost64Bytes) {
  constexpr std::size_t kVars = 1000, kNodes = 100000;
  Graph g;
  g.reserve(kVars + kNodes, 2 * kNodes);
  for (std::size_t i = 0; i < kVars; ++i) g.add_variable(double(i));
  SpecId sum = sum_spec(g);
  const std::size_t before = g.memory_bytes();
  // Each node reads two others, and is read by two later nodes on average.
  for (std::size_t i = 0; i < kNodes; ++i) {
    const auto a = static_cast<NodeId>(i < 2 ? i : kVars + (i * 7919) % i);
    const auto b = static_cast<NodeId>(i < 2 ? i + 2 : kVars + (i * 104729 + 1) % i);
    g.add_derived(sum, {a, b}).value();
  }
  ASSERT_TRUE(g.commit().is_ok());
  const double per_node = double(g.memory_bytes() - before) / kNodes;
  EXPECT_LE(per_node, 64.0 * 1.05) << per_node << " bytes per node";
}


TEST(Introspection, IsMirrorTellsMirrorsFromVariablesAndDerivedFields) {
  Graph g;
  const NodeId x = g.add_variable(1.0, "x");
  const NodeId m = g.add_mirror(10.0, "m");
  const NodeId d = g.add_derived(sum_spec(g), {x, m}, "d").value();
  EXPECT_FALSE(g.is_mirror(x));
  EXPECT_TRUE(g.is_mirror(m));
  EXPECT_FALSE(g.is_mirror(d));
  // A mirror is a variable too: nothing computes it here.
  EXPECT_TRUE(g.is_variable(m));
}

}  // namespace
}  // namespace mgraph
