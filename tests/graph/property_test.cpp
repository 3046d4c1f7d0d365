// Property test of the engine against a naive full-recompute model (property_model.hpp).
//
// Each seed draws a random DAG (variables and derived fields: strict and lazy, declared
// and tracked, dynamic reads, custom cutoff equalities, self-reference accumulators,
// glitch motifs) and a random sequence of actions (writes, commit, reject, undo, redo,
// branch, reads, structure growth). After every action the runner compares every node's
// read() with the model, checks check_invariants(), the commit statistics and the
// undo/redo state. While the engine runs, every formula checks that each input it reads
// has its consistent value for the state being computed, that self() is the previous
// committed value, and that it runs at most once per state and graph.
//
// A failure prints the seed, then shrinks the scenario (fewer nodes, fewer actions,
// simpler fields) and prints what is left. Replay one seed:
//   MGRAPH_PROPERTY_SEED=17 ./mgraph_graph_tests --gtest_filter='Property.UndoRedo*'
// Run more seeds per test:  MGRAPH_PROPERTY_SEEDS=5000
// Print every action:       MGRAPH_PROPERTY_TRACE=1

#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <span>
#include <sstream>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "mgraph/graph/graph.hpp"
#include "property_model.hpp"
#include "support/env.hpp"

namespace mgraph::property {
namespace {

// ---------------------------------------------------------------------------------------
// Scenarios: a graph definition plus actions, replayable and shrinkable.

enum class Act : std::uint8_t {
  write,
  commit,
  reject,
  undo,
  redo,
  branch,
  drop,
  read,
  grow,
  verify,
  stamp,  ///< set_stamp_for_testing(UINT32_MAX - count): near the wrap-around of stamps
};

struct Action {
  Act act = Act::commit;
  std::uint32_t track = 0;  ///< index of the graph acted on, in order of creation
  NodeId node = 0;          ///< write, read
  Value value;              ///< write
  std::uint32_t count = 0;  ///< grow: nodes to add; stamp: distance to UINT32_MAX
};

struct Scenario {
  std::string mix;
  std::uint64_t seed = 0;
  std::size_t history_limit = 0;
  bool sparse = false;        ///< lazy nodes are read only by read and verify actions
  bool verify_in_tx = true;   ///< compare every node while a transaction is open too
  std::vector<NodeDef> defs;  ///< all nodes; the first initial_nodes exist from the start
  std::size_t initial_nodes = 0;
  std::vector<Action> actions;
};

/// Tracks alive at once (the original graph and its branches).
constexpr std::size_t tracks_max = 3;
/// Graphs up to this size are all compared after every action, not just the one acted on.
constexpr std::size_t cross_check_nodes_max = 300;

std::string node_ref(NodeId id) {
  // Appending (not "#" + to_string) avoids GCC 12's false -Wrestrict at -O3.
  std::string ref = "#";
  ref += std::to_string(id);
  return ref;
}

const char* eq_name(Eq eq) {
  switch (eq) {
    case Eq::exact:
      return "exact";
    case Eq::exact_hook:
      return "exact_hook";
    case Eq::tolerance:
      return "tolerance";
    case Eq::decade:
      return "decade";
    case Eq::frozen:
      return "frozen";
  }
  return "?";
}

const char* op_name(Op op) {
  switch (op) {
    case Op::variable:
      return "variable";
    case Op::sum:
      return "sum";
    case Op::alternating:
      return "alternating";
    case Op::min:
      return "min";
    case Op::max:
      return "max";
    case Op::select:
      return "select";
    case Op::prefix:
      return "prefix";
    case Op::plus_one:
      return "plus_one";
    case Op::twice:
      return "twice";
    case Op::check:
      return "check";
  }
  return "?";
}

std::string describe(const NodeDef& d) {
  std::ostringstream out;
  if (d.is_variable()) {
    out << "variable " << d.initial.to_json();
    return out.str();
  }
  out << (d.lazy ? "lazy " : "strict ") << (d.tracked ? "tracked " : "declared ")
      << (d.read_by_id ? "read_by_id " : "") << op_name(d.op) << "(";
  for (std::size_t k = 0; k < d.inputs.size(); ++k) {
    out << (k == 0 ? "" : ", ") << node_ref(d.inputs[k]);
  }
  out << ")";
  if (d.constant != 0) out << " const=" << d.constant;
  if (d.accumulate) out << " accumulate(self+)";
  if (d.eq != Eq::exact) out << " eq=" << eq_name(d.eq);
  out << (d.out == Out::int64 ? " -> int" : " -> double");
  return out.str();
}

std::string describe(const Action& a) {
  std::ostringstream out;
  out << "t" << a.track << " ";
  switch (a.act) {
    case Act::write:
      out << "write " << node_ref(a.node) << " = " << a.value.to_json();
      break;
    case Act::commit:
      out << "commit";
      break;
    case Act::reject:
      out << "reject";
      break;
    case Act::undo:
      out << "undo";
      break;
    case Act::redo:
      out << "redo";
      break;
    case Act::branch:
      out << "branch (new track)";
      break;
    case Act::drop:
      out << "drop";
      break;
    case Act::read:
      out << "read " << node_ref(a.node);
      break;
    case Act::grow:
      out << "grow +" << a.count << " nodes, commit";
      break;
    case Act::verify:
      out << "verify all nodes";
      break;
    case Act::stamp:
      out << "set_stamp_for_testing(UINT32_MAX - " << a.count << ")";
      break;
  }
  return out.str();
}

std::string describe(const Scenario& s) {
  std::ostringstream out;
  out << "  history_limit=" << s.history_limit << " sparse=" << s.sparse
      << " verify_in_tx=" << s.verify_in_tx << " nodes=" << s.defs.size()
      << " built before the first commit=" << s.initial_nodes << "\n";
  for (std::size_t i = 0; i < s.defs.size(); ++i) {
    out << "  " << node_ref(static_cast<NodeId>(i)) << " = " << describe(s.defs[i]) << "\n";
  }
  out << "  (after every action, on every graph: check_invariants(), then read() of each node in\n"
      << "   id order -- lazy ones only if sparse=0 -- unless a transaction is open and\n"
      << "   verify_in_tx=0; graphs above " << cross_check_nodes_max
      << " nodes: only the one acted on)\n";
  out << "  t0 build, commit\n";
  for (const Action& a : s.actions) out << "  " << describe(a) << "\n";
  return out.str();
}

bool trace_enabled() {
  const char* v = std::getenv("MGRAPH_PROPERTY_TRACE");
  return v != nullptr && *v != '\0' && std::strcmp(v, "0") != 0;
}

// ---------------------------------------------------------------------------------------
// The probe: what formulas check while the engine runs them.

bool motif_intact(const std::vector<NodeDef>& defs, NodeId id) {
  const NodeDef& w = defs[id];
  if (w.op != Op::check || w.inputs.size() != 2) return false;
  const NodeDef& y = defs[w.inputs[0]];
  const NodeDef& z = defs[w.inputs[1]];
  return y.op == Op::plus_one && z.op == Op::twice && y.inputs == z.inputs && y.inputs.size() == 1;
}

/// Shared by every formula of a runner. Before each engine call the runner points it at
/// the model's state that the call computes (`expected`) and at the committed state that
/// self() must return (`previous`, null when self() is not checked).
struct Probe {
  const std::vector<NodeDef>* defs = nullptr;
  const State* expected = nullptr;
  const State* previous = nullptr;
  std::vector<std::uint64_t>* last_run = nullptr;  ///< per node: state epoch of its last run
  std::uint64_t epoch = 1;                         ///< bumped by every action that changes state
  std::size_t runs = 0;                            ///< formula runs since reset by the runner
  std::string failure;

  void fail(std::string message) {
    if (failure.empty()) failure = std::move(message);
  }

  Value run(Context& ctx) {
    const NodeId id = ctx.node();
    ++runs;
    if (defs == nullptr || expected == nullptr || last_run == nullptr || id >= expected->size()) {
      fail("formula: node " + node_ref(id) + " ran outside an engine call of its graph");
      return Value(std::int64_t{0});
    }
    const NodeDef& d = (*defs)[id];
    if ((*last_run)[id] == epoch) {
      fail("twice: node " + node_ref(id) + " ran twice in one state of one graph");
    }
    (*last_run)[id] = epoch;
    if (!d.tracked && ctx.input_count() != d.inputs.size()) {
      fail("formula: node " + node_ref(id) + " has input_count() " +
           std::to_string(ctx.input_count()) + ", declared " + std::to_string(d.inputs.size()));
      return Value(std::int64_t{0});
    }
    auto read = [&](std::size_t k) -> Value {
      const NodeId src = d.inputs[k];
      Value v = d.tracked || d.read_by_id ? ctx.read(src) : ctx.input(k);
      if (!(v == expected->value[src])) {
        fail("glitch: node " + node_ref(id) + " read " + node_ref(src) + " = " + v.to_json() +
             " while its value in the state being computed is " + expected->value[src].to_json());
      }
      return v;
    };
    Value self;
    if (!d.lazy) {
      self = ctx.self();
      if (previous != nullptr && !(self == previous->value[id])) {
        fail("self: node " + node_ref(id) + " got self() = " + self.to_json() +
             ", the previous committed value is " + previous->value[id].to_json());
      }
    }
    bool motif_ok = true;
    Value out = evaluate(d, read, self, motif_ok);
    if (!motif_ok && motif_intact(*defs, id)) {
      fail("glitch: check node " + node_ref(id) + " saw y and z computed from different x");
    }
    return out;
  }
};

// ---------------------------------------------------------------------------------------
// The runner: one engine graph per track, each beside its model.

struct Track {
  Graph graph;
  bool alive = true;
  std::size_t nodes = 0;  ///< the track has defs[0, nodes)
  State committed;        ///< model: the last committed state
  Writes writes;          ///< model: the open transaction
  bool in_tx = false;
  State view;  ///< model: committed with writes applied (S4)
  History history;
  Revision revision_max = 0;  ///< highest revision this graph issued
  bool stamp_moved = false;   ///< set_stamp_for_testing() moves stamps forward once
  std::vector<std::uint64_t> last_run;
};

class Runner {
 public:
  explicit Runner(const Scenario& s) : s_(s), trace_(trace_enabled()) {
    probe_.defs = &s_.defs;
    for (NodeId i = 0; i < s_.defs.size(); ++i) {
      if (s_.defs[i].is_variable()) variables_.push_back(i);
    }
    Track t;
    t.graph = Graph(GraphOptions{s_.history_limit});
    t.revision_max = t.graph.revision();
    t.committed.revision = t.graph.revision();
    tracks_.push_back(std::move(t));
    if (trace_)
      std::fprintf(stderr, "[property] %s seed %llu: build\n", s_.mix.c_str(),
                   static_cast<unsigned long long>(s_.seed));
    if (s_.initial_nodes > 64 && s_.seed % 2 == 0)
      tracks_[0].graph.reserve(s_.initial_nodes, 3 * s_.initial_nodes);
    add_nodes(tracks_[0], std::min(s_.initial_nodes, s_.defs.size()));
    if (failed()) return;
    commit(tracks_[0]);
    tracks_[0].history.reset(tracks_[0].committed, s_.history_limit);
    verify_all(0, !s_.sparse);
    adopt_probe_failure();
  }
  Runner(const Runner&) = delete;
  Runner& operator=(const Runner&) = delete;

  bool failed() const { return !failure_.empty(); }
  const std::string& failure() const { return failure_; }
  /// Index into the scenario's actions of the failing one; SIZE_MAX if during the build.
  std::size_t failed_at() const { return failed_at_; }

  /// Replays the whole scenario; true when it failed.
  bool run_all() {
    for (std::size_t k = 0; k < s_.actions.size() && !failed(); ++k) apply(s_.actions[k], k);
    return failed();
  }

  /// Applies one action, then compares. Returns false when the action does not apply
  /// in the current state and was skipped (shrinking removes actions it depends on).
  bool apply(const Action& a, std::size_t index) {
    if (failed()) return false;
    if (a.track >= tracks_.size() || !tracks_[a.track].alive) return false;
    current_ = index;
    Track& t = tracks_[a.track];
    if (trace_) std::fprintf(stderr, "[property] #%zu %s\n", index, describe(a).c_str());
    bool applied = true;
    switch (a.act) {
      case Act::write:
        applied = write(t, a.node, a.value);
        break;
      case Act::commit:
        commit(t);
        break;
      case Act::reject:
        applied = reject(t);
        break;
      case Act::undo:
        applied = undo(t);
        break;
      case Act::redo:
        applied = redo(t);
        break;
      case Act::branch:
        applied = branch(a.track);
        break;
      case Act::drop:
        applied = drop(a.track);
        break;
      case Act::read:
        applied = read_one(t, a.node);
        break;
      case Act::grow:
        applied = grow(t, a.track, a.count);
        break;
      case Act::verify:
        break;
      case Act::stamp:
        applied = move_stamp(t, a.count);
        break;
    }
    if (!applied || failed()) {
      adopt_probe_failure();
      return applied;
    }
    const bool all = a.act == Act::verify;
    const Track& acted = tracks_[a.track];
    if (acted.alive && (!acted.in_tx || s_.verify_in_tx)) {
      verify(tracks_[a.track], all || !s_.sparse);
    }
    const bool cross = all || a.act == Act::branch || a.act == Act::drop ||
                       tracks_[0].nodes <= cross_check_nodes_max;
    for (std::size_t k = 0; cross && k < tracks_.size() && !failed(); ++k) {
      if (k == a.track || !tracks_[k].alive) continue;
      if (!tracks_[k].in_tx || s_.verify_in_tx) verify(tracks_[k], all || !s_.sparse);
    }
    adopt_probe_failure();
    return true;
  }

  const std::vector<Track>& tracks() const { return tracks_; }
  const std::vector<NodeId>& variables() const { return variables_; }
  std::size_t alive_count() const {
    std::size_t n = 0;
    for (const Track& t : tracks_) n += t.alive ? 1 : 0;
    return n;
  }

 private:
  void fail(const std::string& message) {
    if (failed()) return;
    failure_ = message;
    failed_at_ = current_;
  }
  /// What a formula saw is reported only when the comparisons after the action found
  /// nothing: a wrong value of an input is then named as such, and what remains is a
  /// true glitch (an input not yet final) or a second run.
  void adopt_probe_failure() {
    if (!probe_.failure.empty() && failure_.empty()) {
      failure_ = probe_.failure;
      failed_at_ = current_;
    }
  }

  /// Points the formulas at what the next engine call must compute.
  void expect(Track& t, const State* expected, const State* previous) {
    probe_.expected = expected;
    probe_.previous = previous;
    probe_.last_run = &t.last_run;
  }
  void new_state() { ++probe_.epoch; }

  SpecId spec_for(Track& t, const NodeDef& d) {
    const auto key = std::make_tuple(d.lazy, d.tracked, static_cast<int>(d.eq));
    const auto found = specs_.find(key);
    if (found != specs_.end()) return found->second;
    FieldSpec spec;
    Probe* probe = &probe_;
    spec.formula = [probe](Context& ctx) { return probe->run(ctx); };
    spec.evaluation = d.lazy ? Evaluation::lazy : Evaluation::strict;
    spec.dependencies = d.tracked ? Dependencies::tracked : Dependencies::declared;
    if (d.eq != Eq::exact) {
      const Eq eq = d.eq;
      spec.equality = [eq](const Value& a, const Value& b) { return cutoff_equal(eq, a, b); };
    }
    spec.name = std::string(d.lazy ? "lazy_" : "strict_") + (d.tracked ? "tracked_" : "declared_") +
                eq_name(d.eq);
    const SpecId id = t.graph.add_spec(std::move(spec));
    specs_.emplace(key, id);
    return id;
  }

  /// Adds defs[t.nodes, t.nodes + count) to the engine and to the model.
  void add_nodes(Track& t, std::size_t count) {
    const std::size_t end = std::min(s_.defs.size(), t.nodes + count);
    for (std::size_t i = t.nodes; i < end && !failed(); ++i) {
      const NodeDef& d = s_.defs[i];
      std::string name = "n";
      name += std::to_string(i);
      NodeId got = kNoNode;
      if (d.is_variable()) {
        got = t.graph.add_variable(d.initial, name);
      } else {
        const SpecId spec = spec_for(t, d);
        // Tracked specs ignore declared inputs; pass them for every other node to check that.
        const bool pass_inputs = !d.tracked || i % 2 == 0;
        auto r = t.graph.add_derived(
            spec, pass_inputs ? std::span<const NodeId>(d.inputs) : std::span<const NodeId>(),
            name);
        if (!r.is_ok()) {
          return fail("status: add_derived(" + node_ref(static_cast<NodeId>(i)) +
                      ") failed: " + r.status().to_string());
        }
        got = *r;
      }
      if (got != i) {
        return fail("structure: node " + node_ref(static_cast<NodeId>(i)) + " got id " +
                    std::to_string(got));
      }
      t.committed.add(d);
      t.last_run.push_back(0);
    }
    t.nodes = end;
    t.view = t.committed;
  }

  bool write(Track& t, NodeId node, const Value& value) {
    if (node >= t.nodes || !s_.defs[node].is_variable()) return false;
    t.writes[node] = value;
    t.in_tx = true;
    refresh_view(t);
    new_state();
    expect(t, &t.view, &t.committed);
    const Status st = t.graph.write(node, value);
    if (!st.is_ok()) fail("status: write(" + node_ref(node) + ") failed: " + st.to_string());
    return true;
  }

  void refresh_view(Track& t) {
    std::vector<std::uint8_t> changed;
    bool motif_ok = true;
    t.view = apply_commit(s_.defs, t.committed, t.writes, changed, motif_ok);
  }

  /// Commits on the engine and the model, then compares the CommitStats.
  void commit(Track& t) {
    std::vector<std::uint8_t> changed;
    bool motif_ok = true;
    State next = apply_commit(s_.defs, t.committed, t.writes, changed, motif_ok);
    new_state();
    expect(t, &next, &t.committed);
    probe_.runs = 0;
    auto r = t.graph.commit();
    const std::size_t runs = probe_.runs;
    if (!r.is_ok()) return fail("status: commit() failed: " + r.status().to_string());
    const CommitStats stats = *r;
    if (stats.computed != runs) {
      fail("stats: CommitStats::computed = " + std::to_string(stats.computed) + " but " +
           std::to_string(runs) + " formulas ran during commit()");
    }
    // S5: variables and strict fields change exactly as the model says; lazy fields
    // computed during the commit may be listed too.
    std::size_t must = 0;
    for (NodeId i = 0; i < changed.size(); ++i) {
      if (changed[i] && counts_for_revision(s_.defs[i])) ++must;
    }
    const std::span<const NodeId> listed = t.graph.last_changed();
    std::vector<std::uint8_t> seen(t.nodes, 0);
    for (const NodeId id : listed) {
      if (id >= t.nodes || seen[id]) {
        return fail("stats: last_changed() lists " + node_ref(id) + " twice or out of range");
      }
      seen[id] = 1;
      if (!changed[id] && counts_for_revision(s_.defs[id])) {
        return fail("stats: last_changed() lists " + node_ref(id) + " (" + describe(s_.defs[id]) +
                    ") which did not change: " + next.value[id].to_json());
      }
    }
    for (NodeId i = 0; i < changed.size(); ++i) {
      if (changed[i] && counts_for_revision(s_.defs[i]) && !seen[i]) {
        return fail("stats: node " + node_ref(i) + " (" + describe(s_.defs[i]) + ") changed " +
                    t.committed.value[i].to_json() + " -> " + next.value[i].to_json() +
                    " but last_changed() does not list it");
      }
    }
    if (stats.changed != listed.size()) {
      fail("stats: CommitStats::changed = " + std::to_string(stats.changed) +
           " but last_changed() lists " + std::to_string(listed.size()));
    }
    if (must > 0) {
      if (stats.revision <= t.revision_max) {
        fail("history: a commit that changed " + std::to_string(must) + " nodes got revision " +
             std::to_string(stats.revision) + ", not above " + std::to_string(t.revision_max));
      }
      next.revision = stats.revision;
      t.revision_max = std::max(t.revision_max, stats.revision);
    } else {
      if (stats.revision != t.committed.revision) {
        fail("history: a commit without change moved the revision from " +
             std::to_string(t.committed.revision) + " to " + std::to_string(stats.revision));
      }
      next.revision = t.committed.revision;
    }
    if (t.graph.revision() != stats.revision) {
      fail("history: revision() = " + std::to_string(t.graph.revision()) +
           " after a commit that returned " + std::to_string(stats.revision));
    }
    if (must > 0) {
      t.history.push(next);
    } else {
      t.history.push_nothing();
    }
    t.committed = std::move(next);
    t.writes.clear();
    t.in_tx = false;
    t.view = t.committed;
  }

  bool reject(Track& t) {
    if (!t.in_tx) return false;
    t.writes.clear();
    t.in_tx = false;
    t.view = t.committed;
    new_state();
    expect(t, &t.committed, nullptr);
    t.graph.reject();
    return true;
  }

  /// Undo when the model has an older state; when it has none (and knows it, S6) the
  /// engine must refuse and change nothing.
  bool undo(Track& t) {
    if (t.in_tx) return false;
    const bool possible = t.history.can_undo();
    if (!possible && !t.history.undo_known()) return false;
    if (possible) t.committed = t.history.undo();
    t.view = t.committed;
    new_state();
    expect(t, &t.committed, nullptr);
    const Status st = t.graph.undo();
    if (possible && !st.is_ok()) fail("history: undo() failed: " + st.to_string());
    if (!possible && st.is_ok()) fail("history: undo() succeeded beyond the history limit");
    return true;
  }

  bool redo(Track& t) {
    if (t.in_tx) return false;
    const bool possible = t.history.can_redo();
    if (!possible && !t.history.redo_known()) return false;
    if (possible) t.committed = t.history.redo();
    t.view = t.committed;
    new_state();
    expect(t, &t.committed, nullptr);
    const Status st = t.graph.redo();
    if (possible && !st.is_ok()) fail("history: redo() failed: " + st.to_string());
    if (!possible && st.is_ok()) fail("history: redo() succeeded with nothing to redo");
    return true;
  }

  /// Moves the change stamp near its wrap-around. Only forward, and only with every
  /// node up to date (the engine asserts that), so once per graph and not in sparse mode.
  bool move_stamp(Track& t, std::uint32_t distance) {
    if (t.in_tx || s_.sparse || t.stamp_moved) return false;
    t.stamp_moved = true;
    new_state();
    expect(t, &t.committed, nullptr);
    t.graph.set_stamp_for_testing(UINT32_MAX - distance);
    return true;
  }

  bool branch(std::uint32_t from) {
    if (tracks_[from].in_tx || alive_count() >= tracks_max) return false;
    new_state();
    Track b;
    const Track& p = tracks_[from];
    b.graph = p.graph.branch();
    b.nodes = p.nodes;
    b.committed = p.committed;
    b.view = p.view;
    b.history = p.history.branched();
    b.revision_max = p.revision_max;
    b.last_run.assign(p.nodes, 0);
    tracks_.push_back(std::move(b));
    return true;
  }

  bool drop(std::uint32_t track) {
    if (track == 0) return false;
    new_state();
    tracks_[track].graph = Graph();
    tracks_[track].alive = false;
    return true;
  }

  bool read_one(Track& t, NodeId node) {
    if (node >= t.nodes) return false;
    expect(t, &t.view, &t.committed);
    const Value got = t.graph.read(node);
    if (!(got == t.view.value[node])) {
      fail("value: read(" + node_ref(node) + ") = " + got.to_json() + ", model " +
           t.view.value[node].to_json() + "  [" + describe(s_.defs[node]) + "]");
    }
    return true;
  }

  bool grow(Track& t, std::uint32_t track, std::uint32_t count) {
    if (track != 0 || t.in_tx || t.nodes >= s_.defs.size() || count == 0) return false;
    new_state();
    add_nodes(t, count);
    if (failed()) return true;
    commit(t);
    t.history.reset(t.committed, s_.history_limit);
    return true;
  }

  void verify_all(std::size_t acted, bool full) {
    for (std::size_t k = 0; k < tracks_.size() && !failed(); ++k) {
      if (!tracks_[k].alive) continue;
      if (k == acted || !tracks_[k].in_tx || s_.verify_in_tx) verify(tracks_[k], full);
    }
  }

  /// Compares one graph with its model. `full`: lazy nodes are read too.
  void verify(Track& t, bool full) {
    const Status st = t.graph.check_invariants();
    if (!st.is_ok()) return fail("invariants: " + st.to_string());
    if (t.graph.node_count() != t.nodes) {
      return fail("structure: node_count() = " + std::to_string(t.graph.node_count()) + ", model " +
                  std::to_string(t.nodes));
    }
    if (t.graph.in_transaction() != t.in_tx) {
      return fail(std::string("history: in_transaction() = ") + (t.in_tx ? "false" : "true") +
                  ", model " + (t.in_tx ? "true" : "false"));
    }
    if (t.graph.revision() != t.committed.revision) {
      return fail("history: revision() = " + std::to_string(t.graph.revision()) + ", model " +
                  std::to_string(t.committed.revision));
    }
    if (!t.in_tx && t.history.undo_known() && t.graph.can_undo() != t.history.can_undo()) {
      return fail(std::string("history: can_undo() = ") + (t.graph.can_undo() ? "true" : "false") +
                  ", model " + (t.history.can_undo() ? "true" : "false") + " (history_limit " +
                  std::to_string(s_.history_limit) + ")");
    }
    if (!t.in_tx && t.history.redo_known() && t.graph.can_redo() != t.history.can_redo()) {
      return fail(std::string("history: can_redo() = ") + (t.graph.can_redo() ? "true" : "false") +
                  ", model " + (t.history.can_redo() ? "true" : "false"));
    }
    expect(t, &t.view, &t.committed);
    std::vector<NodeId> deps;
    for (NodeId i = 0; i < t.nodes && !failed(); ++i) {
      const NodeDef& d = s_.defs[i];
      if (!full && d.lazy) continue;
      const Value got = t.graph.read(i);
      if (!(got == t.view.value[i])) {
        return fail("value: read(" + node_ref(i) + ") = " + got.to_json() + ", model " +
                    t.view.value[i].to_json() + (t.in_tx ? " (transaction open)" : "") + "  [" +
                    describe(d) + "]");
      }
      if (t.in_tx && !d.lazy && !(t.graph.committed(i) == t.committed.value[i])) {
        return fail("value: committed(" + node_ref(i) + ") = " + t.graph.committed(i).to_json() +
                    " in a transaction, model " + t.committed.value[i].to_json());
      }
      if (d.is_variable()) continue;
      if (t.graph.is_stale(i)) return fail("staleness: " + node_ref(i) + " is stale after read()");
      const std::span<const NodeId> got_deps = t.graph.dependencies(i);
      deps.assign(got_deps.begin(), got_deps.end());
      std::sort(deps.begin(), deps.end());
      deps.erase(std::unique(deps.begin(), deps.end()), deps.end());
      std::vector<NodeId> want = d.tracked ? t.view.deps[i] : d.inputs;
      std::sort(want.begin(), want.end());
      want.erase(std::unique(want.begin(), want.end()), want.end());
      if (deps != want) {
        std::string a, b;
        for (const NodeId x : deps) a += node_ref(x) + " ";
        for (const NodeId x : want) b += node_ref(x) + " ";
        return fail("deps: dependencies(" + node_ref(i) + ") = { " + a + "}, model { " + b +
                    "}  [" + describe(d) + "]");
      }
    }
    if (!full && !t.in_tx) {
      for (NodeId i = 0; i < t.nodes; ++i) {
        if (!s_.defs[i].is_variable() && !s_.defs[i].lazy && t.graph.is_stale(i)) {
          return fail("staleness: strict " + node_ref(i) + " is stale outside a transaction");
        }
      }
    }
  }

  const Scenario& s_;
  const bool trace_;
  Probe probe_;
  std::vector<Track> tracks_;
  std::vector<NodeId> variables_;
  std::map<std::tuple<bool, bool, int>, SpecId> specs_;
  std::string failure_;
  std::size_t current_ = SIZE_MAX;
  std::size_t failed_at_ = SIZE_MAX;
};

// ---------------------------------------------------------------------------------------
// Generation.

/// A feature mix: per-mille chances of each node feature and which actions occur.
struct Mix {
  const char* name = "";
  std::uint64_t salt = 0;    ///< separates the random streams of mixes run with one seed
  unsigned variables = 250;  ///< chance a node is a variable
  unsigned lazy = 0;         ///< derived: lazy (pure, default equality)
  unsigned tracked = 0;      ///< derived: tracked dependencies
  unsigned dynamic = 300;    ///< derived: select/prefix (reads depend on an input's value)
  unsigned accumulate = 0;   ///< strict: value = self() + op
  unsigned custom_eq = 0;    ///< strict: a cutoff equality other than operator==
  unsigned doubles = 150;    ///< derived: double output
  unsigned motif = 100;      ///< a y = x+1, z = 2x, check(y, z) triple
  unsigned duplicates = 30;  ///< the same input twice
  bool undo = false;
  bool branch = false;
  bool grow = false;         ///< structure added between commits
  bool stamp = false;        ///< change stamps moved near their wrap-around
  bool sparse = false;       ///< lazy nodes read only by read and verify actions
  bool verify_in_tx = true;  ///< compare (and read) while a transaction is open
  std::size_t seeds_default = 300;
  /// Graph size and action count; 0 draws them as draw_size() and draw_action_count() do.
  std::size_t nodes_min = 0;
  std::size_t nodes_max = 0;
  std::size_t actions_min = 0;
  std::size_t actions_max = 0;
};

Value fresh_value(Rng& rng, bool is_double) {
  if (is_double) return Value(static_cast<double>(rng.between(-80, 80)) / 4.0);
  return Value(rng.between(-20, 20));
}

NodeId pick_input(Rng& rng, std::size_t i) {
  constexpr std::int64_t window = 12;
  if (rng.chance(700)) {
    return static_cast<NodeId>(
        rng.between(std::max<std::int64_t>(0, static_cast<std::int64_t>(i) - window),
                    static_cast<std::int64_t>(i) - 1));
  }
  return static_cast<NodeId>(rng.below(i));
}

std::vector<NodeId> pick_inputs(Rng& rng, const Mix& mix, std::size_t i, std::size_t m) {
  const bool duplicates = rng.chance(mix.duplicates);
  std::vector<NodeId> inputs;
  constexpr int attempts_max = 8;
  while (inputs.size() < m) {
    NodeId x = pick_input(rng, i);
    for (int a = 0; a < attempts_max && !duplicates &&
                    std::find(inputs.begin(), inputs.end(), x) != inputs.end();
         ++a) {
      x = pick_input(rng, i);
    }
    inputs.push_back(x);
  }
  return inputs;
}

Eq pick_eq(Rng& rng, Out out) {
  const auto r = rng.below(100);
  if (out == Out::float64) return r < 60 ? Eq::tolerance : r < 85 ? Eq::exact_hook : Eq::frozen;
  return r < 50 ? Eq::decade : r < 70 ? Eq::tolerance : r < 90 ? Eq::exact_hook : Eq::frozen;
}

/// Timing, dependency mode, accumulation and equality of a derived node.
void pick_field_kind(Rng& rng, const Mix& mix, NodeDef& d, bool pure) {
  d.lazy = rng.chance(mix.lazy);
  d.tracked = rng.chance(mix.tracked);
  d.read_by_id = !d.tracked && rng.chance(200);
  if (d.lazy || pure) return;
  d.accumulate = rng.chance(mix.accumulate);
  if (rng.chance(mix.custom_eq)) d.eq = pick_eq(rng, d.out);
}

NodeDef make_derived(Rng& rng, const Mix& mix, std::size_t i) {
  NodeDef d;
  if (rng.chance(mix.dynamic)) {
    d.op = rng.chance(500) ? Op::select : Op::prefix;
  } else {
    constexpr Op generic[] = {Op::sum, Op::alternating, Op::min, Op::max};
    d.op = generic[rng.below(4)];
  }
  std::size_t m = 0;
  if (d.op == Op::select) {
    m = 3;
  } else if (d.op == Op::prefix) {
    m = static_cast<std::size_t>(rng.between(2, 6));
  } else {
    m = static_cast<std::size_t>(rng.chance(50) ? rng.between(5, 8) : rng.between(1, 4));
  }
  d.inputs = pick_inputs(rng, mix, i, m);
  d.out = rng.chance(mix.doubles) ? Out::float64 : Out::int64;
  d.constant = rng.between(-5, 5);
  pick_field_kind(rng, mix, d, false);
  return d;
}

std::vector<NodeDef> make_defs(Rng& rng, const Mix& mix, std::size_t n) {
  std::vector<NodeDef> defs;
  defs.reserve(n);
  while (defs.size() < n) {
    const std::size_t i = defs.size();
    if (i < 2 || rng.chance(mix.variables)) {
      NodeDef v;
      v.out = rng.chance(200) ? Out::float64 : Out::int64;
      v.initial = fresh_value(rng, v.out == Out::float64);
      defs.push_back(v);
    } else if (i + 3 <= n && rng.chance(mix.motif)) {
      const NodeId x = pick_input(rng, i);
      NodeDef y, z, w;
      y.op = Op::plus_one;
      y.inputs = {x};
      pick_field_kind(rng, mix, y, true);
      z.op = Op::twice;
      z.inputs = {x};
      pick_field_kind(rng, mix, z, true);
      w.op = Op::check;
      w.inputs = {static_cast<NodeId>(i), static_cast<NodeId>(i + 1)};
      pick_field_kind(rng, mix, w, false);
      if (w.eq == Eq::tolerance) w.eq = Eq::decade;
      defs.push_back(y);
      defs.push_back(z);
      defs.push_back(w);
    } else {
      defs.push_back(make_derived(rng, mix, i));
    }
  }
  return defs;
}

/// Most graphs are small; a few are large (up to 10^4 nodes).
std::size_t draw_size(Rng& rng) {
  const auto r = rng.below(1000);
  if (r < 850) return static_cast<std::size_t>(rng.between(10, 200));
  if (r < 975) return static_cast<std::size_t>(rng.between(200, 1000));
  return static_cast<std::size_t>(rng.between(1000, 10000));
}

std::size_t draw_action_count(Rng& rng, std::size_t nodes) {
  if (nodes <= 200) return static_cast<std::size_t>(rng.between(40, 120));
  if (nodes <= 1000) return static_cast<std::size_t>(rng.between(30, 60));
  return static_cast<std::size_t>(rng.between(20, 40));
}

Value write_value(Rng& rng, const NodeDef& var, const Value& current) {
  const bool is_double = var.out == Out::float64;
  const auto r = rng.below(100);
  if (r < 15) return current;  // the same value back
  if (r < 30) {
    if (current.is_int()) return Value(wrap_add(current.as_int(), rng.between(-3, 3)));
    if (current.is_double()) return Value(current.as_double() + 0.25 * rng.between(-4, 4));
  }
  if (r < 35) return Value(rng.between(-(std::int64_t{1} << 62), std::int64_t{1} << 62));
  if (r < 42) {  // the same number with the other type: 3 and 3.0 differ
    if (current.is_int()) return Value(as_double(current));
    if (current.is_double()) return Value(as_int(current));
  }
  if (r < 45) return rng.chance(500) ? Value() : Value(rng.chance(500));
  return fresh_value(rng, is_double);
}

/// The next actions for the current state; usually one, two for a net-unchanged write pair.
std::vector<Action> next_actions(Rng& rng, const Runner& r, const Mix& mix,
                                 const std::vector<NodeDef>& defs) {
  std::vector<std::uint32_t> alive;
  for (std::uint32_t k = 0; k < r.tracks().size(); ++k) {
    if (r.tracks()[k].alive) alive.push_back(k);
  }
  const std::uint32_t track = alive.size() > 1 && rng.chance(600)
                                  ? alive.back()
                                  : alive[static_cast<std::size_t>(rng.below(alive.size()))];
  const Track& t = r.tracks()[track];
  Action a;
  a.track = track;
  auto write = [&]() {
    std::vector<NodeId> vars;
    for (const NodeId v : r.variables()) {
      if (v < t.nodes) vars.push_back(v);
    }
    a.act = Act::write;
    a.node = vars[static_cast<std::size_t>(rng.below(vars.size()))];
    const Value& current = t.view.value[a.node];
    if (rng.chance(150)) {  // twice in one transaction, back to the committed value
      Action first = a;
      first.value = fresh_value(rng, defs[a.node].out == Out::float64);
      a.value = t.committed.value[a.node];
      return std::vector<Action>{first, a};
    }
    a.value = write_value(rng, defs[a.node], current);
    return std::vector<Action>{a};
  };
  auto read = [&]() {
    a.act = Act::read;
    a.node = static_cast<NodeId>(rng.below(t.nodes));
    return std::vector<Action>{a};
  };
  const auto roll = rng.below(100);
  if (t.in_tx) {
    if (roll < 45) return write();
    if (roll < 78) {
      a.act = Act::commit;
    } else if (roll < 90 || !mix.verify_in_tx) {
      a.act = Act::reject;  // mixes that do not verify in a transaction do not read in one
    } else {
      return read();
    }
    return {a};
  }
  if (roll < 38) return write();
  // Mostly where the model can undo (redo); sometimes where it knows the engine cannot.
  if (roll < 55 && mix.undo && (t.history.can_undo() || (roll < 41 && t.history.undo_known()))) {
    a.act = Act::undo;
  } else if (roll < 64 && mix.undo &&
             (t.history.can_redo() || (roll < 57 && t.history.redo_known()))) {
    a.act = Act::redo;
  } else if (roll < 69 && mix.branch && r.alive_count() < tracks_max) {
    a.act = Act::branch;
  } else if (roll < 72 && mix.branch && track != 0) {
    a.act = Act::drop;
  } else if (roll < 80) {
    return read();
  } else if (roll < 84 && mix.grow && track == 0 && t.nodes < defs.size()) {
    a.act = Act::grow;
    a.count = static_cast<std::uint32_t>(rng.between(1, 12));
  } else if (roll < 86 && mix.stamp && !t.stamp_moved) {
    a.act = Act::stamp;
    // Below the engine's renormalization headroom (2^20), or a few stamps above it.
    constexpr std::int64_t headroom = std::int64_t{1} << 20;
    a.count = static_cast<std::uint32_t>(rng.chance(500) ? rng.between(0, 64)
                                                         : headroom + rng.between(-64, 512));
  } else if (roll < 88) {
    a.act = Act::commit;  // nothing written: no change, no new revision
  } else if (roll < 91) {
    a.act = Act::verify;
  } else {
    return write();
  }
  return {a};
}

// ---------------------------------------------------------------------------------------
// Shrinking: the smallest scenario, found greedily, that fails the same way.

std::string failure_kind(const std::string& failure) {
  return failure.substr(0, failure.find(':'));
}

/// Keeps defs[0, m); drops actions on removed nodes.
Scenario truncate_nodes(const Scenario& s, std::size_t m) {
  Scenario t = s;
  t.defs.resize(m);
  t.initial_nodes = std::min(t.initial_nodes, m);
  t.actions.clear();
  for (const Action& a : s.actions) {
    if ((a.act == Act::write || a.act == Act::read) && a.node >= m) continue;
    t.actions.push_back(a);
  }
  return t;
}

/// Removes node j, which nothing reads, renumbering the nodes after it.
Scenario remove_node(const Scenario& s, NodeId j) {
  Scenario t = s;
  t.defs.erase(t.defs.begin() + j);
  for (NodeDef& d : t.defs) {
    for (NodeId& x : d.inputs) x -= x > j ? 1 : 0;
  }
  if (j < t.initial_nodes) --t.initial_nodes;
  t.actions.clear();
  for (Action a : s.actions) {
    if (a.act == Act::write || a.act == Act::read) {
      if (a.node == j) continue;
      a.node -= a.node > j ? 1 : 0;
    }
    t.actions.push_back(a);
  }
  return t;
}

class Shrinker {
 public:
  explicit Shrinker(std::string kind) : kind_(std::move(kind)) {}

  Scenario shrink(Scenario s) {
    // 1. The shortest node prefix (binary search; hi always fails).
    std::size_t lo = 2, hi = s.defs.size();
    while (lo < hi) {
      const std::size_t mid = lo + (hi - lo) / 2;
      if (fails(truncate_nodes(s, mid))) {
        hi = mid;
      } else {
        lo = mid + 1;
      }
    }
    s = truncate_nodes(s, hi);
    // 2. Fewer actions and simpler nodes, while either makes progress.
    constexpr int passes_max = 4;
    for (int pass = 0; pass < passes_max; ++pass) {
      const std::size_t before = s.defs.size() + s.actions.size() + inputs(s);
      s = drop_actions(std::move(s));
      s = simplify_nodes(std::move(s));
      s = simplify_values(std::move(s));
      if (s.defs.size() + s.actions.size() + inputs(s) == before) break;
    }
    return s;
  }
  std::size_t attempts() const { return attempts_; }

 private:
  static std::size_t inputs(const Scenario& s) {
    std::size_t n = 0;
    for (const NodeDef& d : s.defs) n += d.inputs.size();
    return n;
  }

  /// Fewest inputs an op reads (the kernel indexes them).
  static std::size_t inputs_min(Op op) {
    switch (op) {
      case Op::select:
        return 3;
      case Op::prefix:
      case Op::check:
        return 2;
      default:
        return 1;
    }
  }

  bool fails(const Scenario& s) {
    // Bounded by replays and by work (nodes times actions), so that shrinking a failure
    // on a 10^4-node graph stays within seconds, sanitizers included.
    const std::size_t work = s.defs.size() * (s.actions.size() + 1);
    if (attempts_ >= attempts_max || work > work_left_) return false;
    ++attempts_;
    work_left_ -= work;
    Runner r(s);
    return r.run_all() && failure_kind(r.failure()) == kind_;
  }

  /// Smaller written values: the same integer modulo 100.
  Scenario simplify_values(Scenario s) {
    for (std::size_t k = 0; k < s.actions.size(); ++k) {
      const Value& v = s.actions[k].value;
      if (s.actions[k].act != Act::write || !v.is_int() ||
          (v.as_int() > -100 && v.as_int() < 100)) {
        continue;
      }
      Scenario t = s;
      t.actions[k].value = Value(v.as_int() % 100);
      if (fails(t)) s = std::move(t);
    }
    return s;
  }

  /// Applies `edit` to node j when it applies and the result still fails.
  template <class Edit>
  bool try_edit(Scenario& s, NodeId j, Edit edit) {
    Scenario t = s;
    if (!edit(t.defs[j]) || !fails(t)) return false;
    s = std::move(t);
    return true;
  }

  /// ddmin over the actions.
  Scenario drop_actions(Scenario s) {
    for (std::size_t chunk = std::max<std::size_t>(1, s.actions.size() / 2); chunk >= 1;
         chunk /= 2) {
      for (std::size_t i = 0; i < s.actions.size();) {
        Scenario t = s;
        const std::size_t end = std::min(t.actions.size(), i + chunk);
        t.actions.erase(t.actions.begin() + static_cast<std::ptrdiff_t>(i),
                        t.actions.begin() + static_cast<std::ptrdiff_t>(end));
        if (fails(t)) {
          s = std::move(t);
        } else {
          i += chunk;
        }
      }
      if (chunk == 1) break;
    }
    return s;
  }

  /// Per node, from the last: remove it, make it a variable, or drop one feature.
  Scenario simplify_nodes(Scenario s) {
    for (std::size_t k = s.defs.size(); k-- > 0;) {
      const NodeId j = static_cast<NodeId>(k);
      bool read_by_others = false;
      for (const NodeDef& d : s.defs) {
        read_by_others = read_by_others || std::count(d.inputs.begin(), d.inputs.end(), j) > 0;
      }
      if (!read_by_others && s.defs.size() > 2) {
        Scenario t = remove_node(s, j);
        if (fails(t)) {
          s = std::move(t);
          continue;
        }
      }
      if (s.defs[j].is_variable()) continue;
      if (try_edit(s, j, [](NodeDef& d) {
            d = NodeDef();
            d.initial = Value(std::int64_t{0});
            return true;
          })) {
        continue;
      }
      try_edit(s, j, [](NodeDef& d) { return std::exchange(d.lazy, false); });
      try_edit(s, j, [](NodeDef& d) { return std::exchange(d.tracked, false); });
      try_edit(s, j, [](NodeDef& d) { return std::exchange(d.accumulate, false); });
      try_edit(s, j, [](NodeDef& d) { return std::exchange(d.read_by_id, false); });
      try_edit(s, j, [](NodeDef& d) { return std::exchange(d.eq, Eq::exact) != Eq::exact; });
      try_edit(s, j, [](NodeDef& d) { return std::exchange(d.constant, 0) != 0; });
      for (std::size_t k = s.defs[j].inputs.size(); k-- > 0;) {
        try_edit(s, j, [k](NodeDef& d) {
          if (d.inputs.size() <= inputs_min(d.op) || k >= d.inputs.size()) return false;
          d.inputs.erase(d.inputs.begin() + static_cast<std::ptrdiff_t>(k));
          return true;
        });
      }
    }
    return s;
  }

  static constexpr std::size_t attempts_max = 3000;
  static constexpr std::size_t work_max = 10'000'000;
  std::string kind_;
  std::size_t attempts_ = 0;
  std::size_t work_left_ = work_max;
};

// ---------------------------------------------------------------------------------------
// Driving seeds.

/// What a crash report names: the test and seed running when the process died.
char g_crash_note[256] = "";

extern "C" void on_fatal_signal(int sig) {
  const ssize_t ignored = ::write(2, g_crash_note, std::strlen(g_crash_note));
  (void)ignored;
  std::signal(sig, SIG_DFL);
  std::raise(sig);
}

void install_crash_note() {
  static bool installed = false;
  if (installed) return;
  installed = true;
  std::signal(SIGABRT, on_fatal_signal);
  std::signal(SIGSEGV, on_fatal_signal);
}

using testing::env_u64;

const char* current_test_name() {
  const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
  return info != nullptr ? info->name() : "?";
}

/// Builds and runs one seed; returns the scenario run so far and the failure, if any.
std::pair<Scenario, std::string> run_seed(const Mix& mix, std::uint64_t seed) {
  Rng rng(seed * 0x9E3779B97F4A7C15ull ^ mix.salt);
  Scenario s;
  s.mix = mix.name;
  s.seed = seed;
  constexpr std::size_t limits[] = {0, 1, 2, 3, 5, 8, 64};
  s.history_limit = mix.undo ? limits[1 + rng.below(6)] : limits[rng.below(2)];
  s.sparse = mix.sparse;
  s.verify_in_tx = mix.verify_in_tx;
  const std::size_t n =
      mix.nodes_max == 0
          ? draw_size(rng)
          : static_cast<std::size_t>(rng.between(static_cast<std::int64_t>(mix.nodes_min),
                                                 static_cast<std::int64_t>(mix.nodes_max)));
  s.defs = make_defs(rng, mix, n);
  s.initial_nodes = mix.grow ? std::max<std::size_t>(2, n * rng.between(40, 80) / 100) : n;
  const std::size_t actions =
      mix.actions_max == 0
          ? draw_action_count(rng, n)
          : static_cast<std::size_t>(rng.between(static_cast<std::int64_t>(mix.actions_min),
                                                 static_cast<std::int64_t>(mix.actions_max)));
  Runner r(s);
  for (std::size_t k = 0; k < actions && !r.failed(); ++k) {
    for (Action& a : next_actions(rng, r, mix, s.defs)) {
      s.actions.push_back(a);
      r.apply(s.actions.back(), s.actions.size() - 1);
      if (r.failed()) break;
    }
  }
  std::string failure;
  if (r.failed()) {
    std::ostringstream out;
    out << r.failure() << "\n  at ";
    if (r.failed_at() < s.actions.size()) {
      out << "action #" << r.failed_at() << " (" << describe(s.actions[r.failed_at()]) << ")";
    } else {
      out << "the build and first commit";
    }
    failure = out.str();
  }
  return {std::move(s), failure};
}

/// Reports a failing seed at once (so a crash while shrinking loses nothing), then
/// shrinks it and reports what is left.
void report(const Mix& mix, const Scenario& s, const std::string& failure) {
  ADD_FAILURE() << "\nProperty failure: " << mix.name << " seed " << s.seed << " (" << s.defs.size()
                << " nodes, " << s.actions.size() << " actions)\n  " << failure
                << "\n  replay: MGRAPH_PROPERTY_SEED=" << s.seed
                << " ./mgraph_graph_tests --gtest_filter=Property." << current_test_name();
  std::fflush(stdout);
  std::snprintf(g_crash_note, sizeof g_crash_note,
                "\n[property] died while shrinking the failure of Property.%s seed %llu\n",
                current_test_name(), static_cast<unsigned long long>(s.seed));
  Shrinker shrinker(failure_kind(failure));
  const Scenario small = shrinker.shrink(s);
  Runner r(small);
  if (r.run_all()) {
    ADD_FAILURE() << "Seed " << s.seed << " shrunk (" << shrinker.attempts() << " replays) to "
                  << small.defs.size() << " nodes, " << small.actions.size()
                  << " actions; fails with:\n  " << r.failure() << "\n  at action #"
                  << r.failed_at() << "\n"
                  << describe(small);
  } else {
    ADD_FAILURE() << "Seed " << s.seed << ": shrinking lost the failure; the whole scenario:\n"
                  << describe(s);
  }
}

void run_mix(const Mix& mix) {
  install_crash_note();
  const std::uint64_t one = env_u64("MGRAPH_PROPERTY_SEED", 0);
  const std::uint64_t count = env_u64("MGRAPH_PROPERTY_SEEDS", mix.seeds_default);
  const std::uint64_t first = one != 0 ? one : 1;
  const std::uint64_t last = one != 0 ? one : count;
  constexpr int reported_max = 2;
  int reported = 0;
  std::uint64_t failures = 0;
  for (std::uint64_t seed = first; seed <= last; ++seed) {
    std::snprintf(g_crash_note, sizeof g_crash_note,
                  "\n[property] died in Property.%s seed %llu: replay with "
                  "MGRAPH_PROPERTY_SEED=%llu MGRAPH_PROPERTY_TRACE=1\n",
                  current_test_name(), static_cast<unsigned long long>(seed),
                  static_cast<unsigned long long>(seed));
    auto [scenario, failure] = run_seed(mix, seed);
    if (failure.empty()) continue;
    ++failures;
    if (reported < reported_max) {
      ++reported;
      report(mix, scenario, failure);
    }
  }
  g_crash_note[0] = '\0';
  EXPECT_EQ(failures, 0u) << "seeds " << first << ".." << last << " of mix " << mix.name;
}

// Each randomized TEST runs one mix; ctest runs the TESTs in parallel.
constexpr Mix kStrictDeclared{.name = "strict_declared", .salt = 0x5151};
constexpr Mix kLazyTracked{
    .name = "lazy_tracked", .salt = 0x1a2b, .lazy = 450, .tracked = 600, .dynamic = 350};
// Accumulators and cutoffs without reads inside transactions, to tell their failures
// apart from those of reads in a transaction.
constexpr Mix kCutoffAccumulate{.name = "cutoff_accumulate",
                                .salt = 0xacc0,
                                .lazy = 200,
                                .tracked = 450,
                                .accumulate = 350,
                                .custom_eq = 450,
                                .doubles = 200,
                                .verify_in_tx = false};
constexpr Mix kUndoRedo{.name = "undo_redo",
                        .salt = 0x0d0,
                        .lazy = 300,
                        .tracked = 450,
                        .accumulate = 250,
                        .custom_eq = 300,
                        .undo = true,
                        .stamp = true};
constexpr Mix kBranches{.name = "branches",
                        .salt = 0xb4a,
                        .lazy = 300,
                        .tracked = 450,
                        .accumulate = 250,
                        .custom_eq = 300,
                        .undo = true,
                        .branch = true,
                        .stamp = true};
constexpr Mix kSparse{.name = "sparse_lazy",
                      .salt = 0x5a7,
                      .lazy = 650,
                      .tracked = 500,
                      .dynamic = 350,
                      .accumulate = 200,
                      .custom_eq = 250,
                      .undo = true,
                      .branch = true,
                      .sparse = true};
constexpr Mix kGrowing{.name = "growing",
                       .salt = 0x960,
                       .lazy = 300,
                       .tracked = 450,
                       .accumulate = 250,
                       .custom_eq = 300,
                       .undo = true,
                       .grow = true};
constexpr Mix kEverything{.name = "everything",
                          .salt = 0xe7e,
                          .lazy = 350,
                          .tracked = 500,
                          .dynamic = 350,
                          .accumulate = 300,
                          .custom_eq = 350,
                          .doubles = 200,
                          .motif = 150,
                          .duplicates = 50,
                          .undo = true,
                          .branch = true,
                          .grow = true,
                          .stamp = true};
// Small graphs, long histories: many undo/redo steps over lazy fields left stale, with
// writes that come back to the committed value.
constexpr Mix kHistoryStress{.name = "history_stress",
                             .salt = 0x4157,
                             .lazy = 600,
                             .tracked = 400,
                             .dynamic = 350,
                             .accumulate = 250,
                             .custom_eq = 250,
                             .undo = true,
                             .sparse = true,
                             .seeds_default = 2000,
                             .nodes_min = 6,
                             .nodes_max = 40,
                             .actions_min = 150,
                             .actions_max = 300};
// Small graphs, long runs of branches, each undone, redone and written on its own.
constexpr Mix kBranchStress{.name = "branch_stress",
                            .salt = 0xb57,
                            .lazy = 400,
                            .tracked = 400,
                            .dynamic = 350,
                            .accumulate = 250,
                            .custom_eq = 250,
                            .undo = true,
                            .branch = true,
                            .stamp = true,
                            .seeds_default = 1000,
                            .nodes_min = 6,
                            .nodes_max = 40,
                            .actions_min = 150,
                            .actions_max = 300};

// ---------------------------------------------------------------------------------------
// Randomized tests, one per feature mix so that ctest runs them in parallel.

TEST(Property, StrictDeclaredFieldsMatchFullRecompute) { run_mix(kStrictDeclared); }
TEST(Property, LazyAndTrackedFieldsMatchFullRecompute) { run_mix(kLazyTracked); }
TEST(Property, CutoffAndAccumulatorsFollowTheModel) { run_mix(kCutoffAccumulate); }
TEST(Property, UndoRedoRestoreCommittedStates) { run_mix(kUndoRedo); }
TEST(Property, BranchesStayIndependent) { run_mix(kBranches); }
TEST(Property, LazyFieldsLeftStaleAcrossCommitsMatch) { run_mix(kSparse); }
TEST(Property, StructureGrowingBetweenCommitsMatches) { run_mix(kGrowing); }
TEST(Property, AllFeaturesTogetherMatchTheModel) { run_mix(kEverything); }
TEST(Property, LongHistoriesOfSmallGraphsMatch) { run_mix(kHistoryStress); }
TEST(Property, LongRunsOfSmallBranchesMatch) { run_mix(kBranchStress); }

// ---------------------------------------------------------------------------------------
// The model on hand-computed cases: each feature changes what the oracle expects.

/// Runs apply_commit on `state` and returns the value of node `n`.
struct ModelRun {
  std::vector<NodeDef> defs;
  State state;

  NodeId add(NodeDef d) {
    defs.push_back(d);
    state.add(d);
    return static_cast<NodeId>(defs.size() - 1);
  }
  void commit(const Writes& writes = {}) {
    std::vector<std::uint8_t> changed;
    bool motif_ok = true;
    state = apply_commit(defs, state, writes, changed, motif_ok);
    EXPECT_TRUE(motif_ok);
  }
  std::int64_t at(NodeId n) const { return as_int(state.value[n]); }
};

NodeDef variable_def(std::int64_t v) {
  NodeDef d;
  d.initial = Value(v);
  return d;
}

NodeDef derived_def(Op op, std::vector<NodeId> inputs) {
  NodeDef d;
  d.op = op;
  d.inputs = std::move(inputs);
  return d;
}

TEST(PropertyModel, AccumulatorRunsOnlyInCommitsWhereADependencyChanged) {
  ModelRun m;
  const NodeId x = m.add(variable_def(1));
  NodeDef acc = derived_def(Op::sum, {x});
  acc.accumulate = true;
  const NodeId a = m.add(acc);
  m.commit();
  EXPECT_EQ(m.at(a), 1);  // new: runs with self() = null
  m.commit();
  EXPECT_EQ(m.at(a), 1);  // nothing changed
  m.commit({{x, Value(std::int64_t{1})}});
  EXPECT_EQ(m.at(a), 1);  // the same value written back is no change
  m.commit({{x, Value(1.0)}});
  EXPECT_EQ(m.at(a), 2);  // 1.0 is not 1
  m.commit({{x, Value(std::int64_t{4})}});
  EXPECT_EQ(m.at(a), 6);
}

TEST(PropertyModel, CutoffKeepsTheStoredValueWhileEqualitySaysUnchanged) {
  ModelRun m;
  const NodeId x = m.add(variable_def(3));
  NodeDef d = derived_def(Op::sum, {x});
  d.eq = Eq::decade;
  const NodeId dec = m.add(d);
  NodeDef acc = derived_def(Op::sum, {dec});
  acc.accumulate = true;
  const NodeId a = m.add(acc);
  m.commit();
  EXPECT_EQ(m.at(dec), 3);
  EXPECT_EQ(m.at(a), 3);
  m.commit({{x, Value(std::int64_t{7})}});
  EXPECT_EQ(m.at(dec), 3);  // 7 / 10 == 3 / 10: unchanged, so the accumulator does not run
  EXPECT_EQ(m.at(a), 3);
  m.commit({{x, Value(std::int64_t{12})}});
  EXPECT_EQ(m.at(dec), 12);
  EXPECT_EQ(m.at(a), 15);
}

TEST(PropertyModel, TrackedAccumulatorFollowsOnlyWhatItsLastRunRead) {
  ModelRun m;
  const NodeId c = m.add(variable_def(1));
  const NodeId x = m.add(variable_def(10));
  const NodeId y = m.add(variable_def(20));
  NodeDef sel = derived_def(Op::select, {c, x, y});
  sel.tracked = true;
  sel.accumulate = true;
  const NodeId s = m.add(sel);
  m.commit();
  EXPECT_EQ(m.at(s), 10);  // c odd: reads x
  EXPECT_EQ(m.state.deps[s], (std::vector<NodeId>{c, x}));
  m.commit({{y, Value(std::int64_t{21})}});
  EXPECT_EQ(m.at(s), 10);  // y is not a dependency now
  m.commit({{c, Value(std::int64_t{2})}});
  EXPECT_EQ(m.at(s), 31);  // c even: reads y
  EXPECT_EQ(m.state.deps[s], (std::vector<NodeId>{c, y}));
}

TEST(PropertyModel, HistoryKeepsAtMostTheLimitOfUndoSteps) {
  State s;
  History h;
  h.reset(s, 2);
  EXPECT_FALSE(h.undo_known());  // whether the first commit can be undone is open (S6)
  for (Revision r = 1; r <= 3; ++r) {
    s.revision = r;
    h.push(s);
  }
  EXPECT_TRUE(h.undo_known());
  EXPECT_EQ(h.undo().revision, 2u);
  EXPECT_EQ(h.undo().revision, 1u);
  EXPECT_FALSE(h.can_undo());
  EXPECT_TRUE(h.undo_known());
  EXPECT_EQ(h.redo().revision, 2u);
  h.push_nothing();  // a commit without change: redo may or may not survive
  EXPECT_FALSE(h.can_redo());
  EXPECT_FALSE(h.redo_known());
}

// ---------------------------------------------------------------------------------------
// Directed engine cases: each feature the randomized tests rely on, with known values.

std::int64_t int_of(const Value& v) { return v.is_int() ? v.as_int() : 0; }

SpecId spec_of(Graph& g, Formula f, Evaluation e = Evaluation::strict,
               Dependencies d = Dependencies::declared, Equality eq = {}) {
  FieldSpec spec;
  spec.formula = std::move(f);
  spec.evaluation = e;
  spec.dependencies = d;
  spec.equality = std::move(eq);
  return g.add_spec(std::move(spec));
}

NodeId derived(Graph& g, SpecId spec, std::initializer_list<NodeId> inputs, const char* name) {
  auto r = g.add_derived(spec, inputs, name);
  EXPECT_TRUE(r.is_ok()) << r.status().to_string();
  return r.is_ok() ? *r : kNoNode;
}

CommitStats commit_ok(Graph& g) {
  auto r = g.commit();
  EXPECT_TRUE(r.is_ok()) << r.status().to_string();
  return r.is_ok() ? *r : CommitStats{};
}

void write_ok(Graph& g, NodeId n, std::int64_t v) {
  const Status st = g.write(n, Value(v));
  EXPECT_TRUE(st.is_ok()) << st.to_string();
}

TEST(PropertyDirected, DiamondNeverSeesAMixOfOldAndNewInputs) {
  Graph g;
  int mixed = 0;
  int runs = 0;
  const NodeId x = g.add_variable(Value(std::int64_t{1}), "x");
  const NodeId y =
      derived(g, spec_of(g, [](Context& k) { return Value(int_of(k.input(0)) + 1); }), {x}, "y");
  const NodeId z =
      derived(g,
              spec_of(
                  g, [](Context& k) { return Value(int_of(k.input(0)) * 2); }, Evaluation::lazy),
              {x}, "z");
  const Formula check = [&](Context& k) {
    ++runs;
    const std::int64_t a = int_of(k.input(0));
    const std::int64_t b = int_of(k.input(1));
    if ((a - 1) * 2 != b) ++mixed;
    return Value(a + b);
  };
  const NodeId w = derived(g, spec_of(g, check), {y, z}, "w");
  commit_ok(g);
  for (std::int64_t v = 2; v < 12; ++v) {
    write_ok(g, x, v);
    runs = 0;
    const CommitStats stats = commit_ok(g);
    EXPECT_EQ(runs, 1) << "w runs once per commit";
    EXPECT_EQ(stats.computed, 3u);
    EXPECT_EQ(int_of(g.read(w)), (v + 1) + 2 * v);
  }
  EXPECT_EQ(mixed, 0);
}

TEST(PropertyDirected, AccumulatorRunsOnlyInCommitsWhereAnInputChanged) {
  Graph g(GraphOptions{4});
  const NodeId x = g.add_variable(Value(std::int64_t{1}), "x");
  const NodeId acc = derived(
      g, spec_of(g, [](Context& k) { return Value(int_of(k.self()) + int_of(k.input(0))); }), {x},
      "acc");
  commit_ok(g);
  EXPECT_EQ(int_of(g.read(acc)), 1);
  const Revision r1 = g.revision();
  write_ok(g, x, 1);  // the same value back
  EXPECT_EQ(commit_ok(g).changed, 0u);
  EXPECT_EQ(g.revision(), r1);
  write_ok(g, x, 9);  // twice, net unchanged
  write_ok(g, x, 1);
  EXPECT_EQ(commit_ok(g).changed, 0u);
  EXPECT_EQ(int_of(g.read(acc)), 1);
  write_ok(g, x, 4);
  const CommitStats stats = commit_ok(g);
  EXPECT_EQ(stats.changed, 2u);
  EXPECT_GT(stats.revision, r1);
  EXPECT_EQ(int_of(g.read(acc)), 5);
  ASSERT_TRUE(g.undo().is_ok());
  EXPECT_EQ(int_of(g.read(acc)), 1);
  ASSERT_TRUE(g.redo().is_ok());
  EXPECT_EQ(int_of(g.read(acc)), 5);
}

TEST(PropertyDirected, CustomEqualityCutsOffPropagation) {
  Graph g;
  int downstream_runs = 0;
  const NodeId x = g.add_variable(Value(std::int64_t{3}), "x");
  const Equality same_decade = [](const Value& a, const Value& b) {
    return a.is_int() && b.is_int() && a.as_int() / 10 == b.as_int() / 10;
  };
  const NodeId d = derived(g,
                           spec_of(
                               g, [](Context& k) { return k.input(0); }, Evaluation::strict,
                               Dependencies::declared, same_decade),
                           {x}, "decade");
  const Formula count = [&](Context& k) {
    ++downstream_runs;
    return Value(int_of(k.input(0)) + 1);
  };
  const NodeId after = derived(g, spec_of(g, count), {d}, "after");
  commit_ok(g);
  downstream_runs = 0;
  write_ok(g, x, 7);
  commit_ok(g);
  EXPECT_EQ(int_of(g.read(d)), 3) << "7 is in 3's decade: the stored value stays";
  EXPECT_EQ(downstream_runs, 0);
  write_ok(g, x, 12);
  commit_ok(g);
  EXPECT_EQ(int_of(g.read(d)), 12);
  EXPECT_EQ(int_of(g.read(after)), 13);
  EXPECT_EQ(downstream_runs, 1);
}

TEST(PropertyDirected, DynamicDependenciesFollowTheCondition) {
  Graph g;
  int runs = 0;
  const NodeId c = g.add_variable(Value(std::int64_t{1}), "c");
  const NodeId a = g.add_variable(Value(std::int64_t{10}), "a");
  const NodeId b = g.add_variable(Value(std::int64_t{20}), "b");
  const Formula select = [&](Context& k) {
    ++runs;
    return int_of(k.read(c)) > 0 ? k.read(a) : k.read(b);
  };
  const NodeId s =
      derived(g, spec_of(g, select, Evaluation::strict, Dependencies::tracked), {}, "select");
  commit_ok(g);
  EXPECT_EQ(int_of(g.read(s)), 10);
  runs = 0;
  write_ok(g, b, 21);
  commit_ok(g);
  EXPECT_EQ(runs, 0) << "b is not read while c > 0";
  write_ok(g, c, -1);
  commit_ok(g);
  EXPECT_EQ(int_of(g.read(s)), 21);
  const std::span<const NodeId> deps = g.dependencies(s);
  EXPECT_EQ(std::vector<NodeId>(deps.begin(), deps.end()), (std::vector<NodeId>{c, b}));
  runs = 0;
  write_ok(g, a, 11);
  commit_ok(g);
  EXPECT_EQ(runs, 0) << "a is no longer a dependency";
}

TEST(PropertyDirected, HistoryLimitBoundsUndoAndANewCommitDiscardsRedo) {
  Graph g(GraphOptions{2});
  const NodeId x = g.add_variable(Value(std::int64_t{0}), "x");
  commit_ok(g);
  for (std::int64_t v = 1; v <= 4; ++v) {
    write_ok(g, x, v);
    commit_ok(g);
  }
  ASSERT_TRUE(g.undo().is_ok());
  ASSERT_TRUE(g.undo().is_ok());
  EXPECT_EQ(int_of(g.read(x)), 2);
  EXPECT_FALSE(g.can_undo());
  EXPECT_FALSE(g.undo().is_ok());
  ASSERT_TRUE(g.redo().is_ok());
  EXPECT_EQ(int_of(g.read(x)), 3);
  write_ok(g, x, 7);
  commit_ok(g);
  EXPECT_FALSE(g.can_redo());
  EXPECT_EQ(int_of(g.read(x)), 7);
}

TEST(PropertyDirected, BranchAndParentNeverSeeEachOthersCommits) {
  Graph g(GraphOptions{2});
  const NodeId x = g.add_variable(Value(std::int64_t{1}), "x");
  const NodeId l =
      derived(g,
              spec_of(
                  g, [](Context& k) { return Value(int_of(k.input(0)) * 10); }, Evaluation::lazy),
              {x}, "lazy");
  commit_ok(g);
  Graph b = g.branch();
  write_ok(b, x, 2);
  commit_ok(b);
  EXPECT_EQ(int_of(b.read(l)), 20);
  EXPECT_EQ(int_of(g.read(l)), 10);
  write_ok(g, x, 3);
  commit_ok(g);
  EXPECT_EQ(int_of(g.read(l)), 30);
  EXPECT_EQ(int_of(b.read(l)), 20);
  EXPECT_TRUE(g.check_invariants().is_ok());
  EXPECT_TRUE(b.check_invariants().is_ok());
}

// ---------------------------------------------------------------------------------------
// Minimal reproductions of engine failures the randomized tests found.

TEST(PropertyRegression, ReadInATransactionFollowsAWriteBackToTheCommittedValue) {
  Graph g;
  const NodeId x = g.add_variable(Value(std::int64_t{1}), "x");
  const NodeId y =
      derived(g, spec_of(g, [](Context& k) { return Value(int_of(k.input(0)) + 100); }), {x}, "y");
  commit_ok(g);
  write_ok(g, x, 5);
  EXPECT_EQ(int_of(g.read(y)), 105);
  write_ok(g, x, 1);  // back to the committed value
  EXPECT_EQ(int_of(g.read(y)), 101);
  commit_ok(g);
  EXPECT_EQ(int_of(g.read(y)), 101) << "the committed state must hold y = x + 100";
}

TEST(PropertyRegression, SelfIsThePreviousCommittedValueWhenReadInATransaction) {
  Graph g;
  const NodeId x = g.add_variable(Value(std::int64_t{1}), "x");
  const NodeId acc = derived(
      g, spec_of(g, [](Context& k) { return Value(int_of(k.self()) + int_of(k.input(0))); }), {x},
      "acc");
  commit_ok(g);
  write_ok(g, x, 5);
  EXPECT_EQ(int_of(g.read(acc)), 6);
  write_ok(g, x, 6);
  EXPECT_EQ(int_of(g.read(acc)), 7) << "self() is the committed 1, not the 6 read before";
  commit_ok(g);
  EXPECT_EQ(int_of(g.read(acc)), 7) << "reads must not change what commit() produces";
}

TEST(PropertyRegression, CommitWithoutATransactionEmptiesLastChanged) {
  Graph g;
  const NodeId x = g.add_variable(Value(std::int64_t{1}), "x");
  derived(g, spec_of(g, [](Context& k) { return Value(int_of(k.input(0)) + 1); }), {x}, "y");
  commit_ok(g);
  write_ok(g, x, 5);
  EXPECT_EQ(commit_ok(g).changed, 2u);
  const CommitStats stats = commit_ok(g);
  EXPECT_EQ(stats.changed, 0u);
  EXPECT_EQ(g.last_changed().size(), stats.changed) << "last_changed() is about the last commit";
}

/// e reads the lazy l while c is even; one commit makes c odd so e stops reading l.
struct LazyBehindASwitch {
  Graph g{GraphOptions{3}};
  NodeId x = g.add_variable(Value(std::int64_t{1}), "x");
  NodeId o = g.add_variable(Value(std::int64_t{7}), "o");
  NodeId l = derived(g,
                     spec_of(
                         g, [](Context& k) { return k.input(0); }, Evaluation::lazy),
                     {x}, "l");
  NodeId c =
      derived(g, spec_of(g, [](Context& k) { return Value(int_of(k.input(0)) + 1); }), {x}, "c");
  NodeId e = derived(
      g,
      spec_of(
          g, [this](Context& k) { return (int_of(k.read(c)) & 1) != 0 ? k.read(o) : k.read(l); },
          Evaluation::strict, Dependencies::tracked),
      {}, "e");
};

TEST(PropertyRegression, UndoRecomputesALazyFieldThatAnEagerReaderStoppedReading) {
  LazyBehindASwitch s;
  commit_ok(s.g);  // c = 2: e reads l
  EXPECT_EQ(int_of(s.g.read(s.l)), 1);
  write_ok(s.g, s.x, 2);
  commit_ok(s.g);  // c = 3: e reads o
  EXPECT_EQ(int_of(s.g.read(s.l)), 2);
  ASSERT_TRUE(s.g.undo().is_ok());
  EXPECT_EQ(int_of(s.g.read(s.x)), 1);
  EXPECT_EQ(int_of(s.g.read(s.l)), 1) << "l = x after undo";
}

TEST(PropertyRegression, UndoKeepsTheDependentsOfAStaleLazyFieldStale) {
  LazyBehindASwitch s;
  commit_ok(s.g);  // c = 2: e reads l
  write_ok(s.g, s.x, 2);
  commit_ok(s.g);  // c = 3: e reads o; l is not read
  ASSERT_TRUE(s.g.undo().is_ok());
  EXPECT_TRUE(s.g.check_invariants().is_ok());
  EXPECT_EQ(int_of(s.g.read(s.x)), 1);
  const Status st = s.g.check_invariants();
  EXPECT_TRUE(st.is_ok()) << st.to_string();
  EXPECT_EQ(int_of(s.g.read(s.e)), 1);
  EXPECT_EQ(int_of(s.g.read(s.l)), 1);
}

TEST(PropertyRegression, UndoAfterACommitWithoutChangesRestoresTrackedLazyFields) {
  Graph g(GraphOptions{3});
  const NodeId c = g.add_variable(Value(std::int64_t{1}), "c");
  const NodeId a = g.add_variable(Value(std::int64_t{10}), "a");
  const NodeId b = g.add_variable(Value(std::int64_t{20}), "b");
  const NodeId l = derived(
      g,
      spec_of(
          g, [=](Context& k) { return (int_of(k.read(c)) & 1) != 0 ? k.read(a) : k.read(b); },
          Evaluation::lazy, Dependencies::tracked),
      {}, "l");
  commit_ok(g);
  write_ok(g, c, 2);
  commit_ok(g);
  EXPECT_EQ(int_of(g.read(l)), 20);
  EXPECT_EQ(commit_ok(g).changed, 0u);  // nothing to commit
  ASSERT_TRUE(g.undo().is_ok());
  EXPECT_EQ(int_of(g.read(l)), 10) << "c = 1 again: l reads a";
  write_ok(g, a, 11);
  commit_ok(g);
  EXPECT_EQ(int_of(g.read(l)), 11);
}

TEST(PropertyRegression, UndoAfterAWriteBackCommitKeepsLazyDependentsStale) {
  Graph g(GraphOptions{3});
  const NodeId p = g.add_variable(Value(std::int64_t{1}), "p");
  const NodeId a = g.add_variable(Value(std::int64_t{0}), "a");
  const SpecId copy = spec_of(
      g, [](Context& k) { return k.input(0); }, Evaluation::lazy);
  const SpecId negate = spec_of(
      g, [](Context& k) { return Value(-int_of(k.input(0))); }, Evaluation::lazy);
  const NodeId l1 = derived(g, copy, {p}, "l1");
  const NodeId l2 = derived(g, copy, {l1}, "l2");
  const NodeId l3 = derived(g, negate, {l1}, "l3");
  commit_ok(g);
  EXPECT_EQ(int_of(g.read(l2)), 1);
  EXPECT_EQ(int_of(g.read(l3)), -1);
  write_ok(g, a, 1);
  commit_ok(g);
  write_ok(g, p, 2);
  EXPECT_EQ(int_of(g.read(p)), 2);  // a read in the transaction marks l1, l2, l3 stale
  write_ok(g, p, 1);
  EXPECT_EQ(commit_ok(g).changed, 0u);  // net unchanged
  EXPECT_EQ(int_of(g.read(l3)), -1);    // brings l1 and l3 up to date, not l2
  ASSERT_TRUE(g.undo().is_ok());        // undoes a = 1
  const Status st = g.check_invariants();
  EXPECT_TRUE(st.is_ok()) << st.to_string();
  write_ok(g, p, 5);
  commit_ok(g);
  EXPECT_EQ(int_of(g.read(l2)), 5) << "l2 = l1 = p";
  EXPECT_EQ(int_of(g.read(l3)), -5);
}

TEST(PropertyRegression, RedoKeepsLazyDependentsStale) {
  Graph g(GraphOptions{8});
  const NodeId x = g.add_variable(Value(std::int64_t{10}), "x");
  const NodeId a = g.add_variable(Value(std::int64_t{0}), "a");
  const NodeId b = g.add_variable(Value(std::int64_t{0}), "b");
  const NodeId s = derived(g, spec_of(g, [](Context& k) { return k.input(0); }), {x}, "s");
  const NodeId l1 =
      derived(g,
              spec_of(
                  g, [](Context& k) { return Value(2 * int_of(k.input(0))); }, Evaluation::lazy),
              {s}, "l1");
  const NodeId c =
      derived(g, spec_of(g, [](Context& k) { return Value(0 * int_of(k.input(0))); }), {b}, "c");
  const NodeId l2 =
      derived(g,
              spec_of(
                  g, [](Context& k) { return Value(int_of(k.input(0)) + int_of(k.input(1))); },
                  Evaluation::lazy),
              {l1, c}, "l2");
  commit_ok(g);
  write_ok(g, a, 0);  // the same value
  EXPECT_EQ(int_of(g.read(c)), 0);
  write_ok(g, a, 14);
  commit_ok(g);  // revision A
  write_ok(g, b, 3);
  EXPECT_EQ(int_of(g.read(c)), 0);
  write_ok(g, b, 0);
  EXPECT_EQ(commit_ok(g).changed, 0u);  // net unchanged
  write_ok(g, x, 8);
  commit_ok(g);  // revision B
  ASSERT_TRUE(g.undo().is_ok());
  ASSERT_TRUE(g.undo().is_ok());
  ASSERT_TRUE(g.redo().is_ok());
  ASSERT_TRUE(g.redo().is_ok());
  const Status st = g.check_invariants();
  EXPECT_TRUE(st.is_ok()) << st.to_string();
  write_ok(g, x, 9);
  commit_ok(g);
  EXPECT_EQ(int_of(g.read(l2)), 18) << "l2 = 2 * x + 0";
}

TEST(PropertyRegression, UndoTwiceThenRedoTwiceRecomputesALazyField) {
  Graph g(GraphOptions{3});
  const NodeId x = g.add_variable(Value(std::int64_t{1}), "x");
  const NodeId u = g.add_variable(Value(std::int64_t{5}), "u");
  const NodeId s =
      derived(g, spec_of(g, [](Context& k) { return Value(int_of(k.input(0)) + 1); }), {x}, "s");
  const NodeId l = derived(g,
                           spec_of(
                               g, [](Context& k) { return k.input(0); }, Evaluation::lazy),
                           {s}, "l");
  commit_ok(g);
  write_ok(g, u, -11);
  EXPECT_EQ(int_of(g.read(l)), 2);
  commit_ok(g);  // revision A
  write_ok(g, x, 10);
  EXPECT_EQ(int_of(g.read(s)), 11);
  write_ok(g, x, 1);
  EXPECT_EQ(commit_ok(g).changed, 0u);  // net unchanged
  write_ok(g, x, -22);
  commit_ok(g);  // revision B
  ASSERT_TRUE(g.undo().is_ok());
  ASSERT_TRUE(g.undo().is_ok());
  ASSERT_TRUE(g.redo().is_ok());
  ASSERT_TRUE(g.redo().is_ok());
  EXPECT_EQ(int_of(g.read(s)), -21);
  EXPECT_EQ(int_of(g.read(l)), -21) << "l = s after redo";
}

TEST(PropertyRegression, LazyFieldHasAValueAfterUndoUndoRedoRedoUndo) {
  Graph g(GraphOptions{2});
  const NodeId x = g.add_variable(Value(std::int64_t{19}), "x");
  const NodeId y = g.add_variable(Value(std::int64_t{-6}), "y");
  const NodeId s =
      derived(g, spec_of(g, [](Context& k) { return Value(int_of(k.input(0)) + 1); }), {y}, "s");
  const NodeId l = derived(g,
                           spec_of(
                               g, [](Context& k) { return k.input(1); }, Evaluation::lazy),
                           {s, x}, "l");
  commit_ok(g);
  write_ok(g, x, 13);
  commit_ok(g);  // revision 1
  EXPECT_EQ(int_of(g.read(l)), 13);
  write_ok(g, y, -1);
  commit_ok(g);  // revision 2: l is stale
  ASSERT_TRUE(g.undo().is_ok());
  ASSERT_TRUE(g.undo().is_ok());
  ASSERT_TRUE(g.redo().is_ok());
  ASSERT_TRUE(g.redo().is_ok());
  ASSERT_TRUE(g.undo().is_ok());  // revision 1 again
  EXPECT_EQ(g.read(l), Value(std::int64_t{13})) << "l = x";
}

}  // namespace
}  // namespace mgraph::property
