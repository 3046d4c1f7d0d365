#pragma once
// The oracle of tests/graph/property_test.cpp: a naive model of what a Graph must hold.
//
// The test builds the same random DAG twice: as a real mgraph::Graph, and as a list of
// NodeDef that this model evaluates by brute force. Both run the very same kernel
// (evaluate() below) on the values they are given, so any divergence comes from
// propagation, cutoff, history or branching, never from arithmetic.
//
// Semantics the model defines (and the engine is held to):
//
//   S1. A State holds, per node, its stored value, whether a derived node has run at
//       least once (`computed`), and for tracked nodes the sorted set of nodes its last
//       run read (`deps`). Nodes are numbered so that every input of node i is < i:
//       ascending id order is a topological order, including for dynamic reads.
//   S2. commit(C, T) from committed state C and transaction writes T (last write per
//       variable wins) yields C', node by node in id order:
//       - a variable takes T's value if written, else keeps C's; it CHANGED iff the new
//         value differs from C's by Value::operator== (writing the same value back, or
//         writing twice with the net value unchanged, is no change; 1 and 1.0 differ);
//       - a pure derived node (no self-reference) runs: v = f(values of C');
//       - an accumulator (reads self()) runs iff it was never computed or at least one
//         of its dependencies CHANGED in this commit. Its dependencies are its declared
//         inputs, or for a tracked node the nodes its previous run read (restored with
//         the value by undo/redo, since they belong to the computation that produced
//         the value). self() is the node's value in C;
//       - when a derived node runs, its stored value becomes v iff it was never computed
//         or its cutoff equality says C's value and v differ; it CHANGED iff so.
//         A rerun with unchanged inputs is idempotent for every equality used here
//         (all are reflexive), which is why pure nodes may simply always run.
//   S3. Lazy nodes are pure, with the default equality: when the engine computes them
//       is driven by reads, so a history-dependent lazy node would have no oracle. The
//       model computes them eagerly; their value is f of the current inputs.
//   S4. Inside an open transaction, read() returns commit(C, T) — the value commit()
//       would produce now. A read never changes what a later commit produces.
//   S5. A commit creates a revision iff a variable or a strict derived node CHANGED.
//       Revisions only grow: a new one exceeds every revision issued before on that
//       graph. reject() drops T; undo()/redo() restore whole States (values and deps).
//   S6. history_limit h: at most h undo steps; undo()/redo() beyond them fail and change
//       nothing. Whether the first commit after build (or after a structure change) can
//       itself be undone is not specified, so the model never undoes past it and does
//       not compare can_undo() there; likewise a branch's history before the branch
//       point, and redo entries that a no-change commit may or may not discard.
//       reject() keeps redo entries: a dropped transaction never happened.
//   S7. branch() copies the State and the open-transaction-free graph; afterwards the
//       two evolve independently. Structure changes (new nodes) are not versioned: the
//       model adds them to the committed State and restarts the history there (S6).
//   S8. Reads, check_invariants() and set_stamp_for_testing() change no value.
//
// What the model leaves open is not compared: when lazy fields compute, how many
// formulas a commit runs (it must equal CommitStats::computed and each field runs at
// most once per state), and which lazy fields last_changed() lists.

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "mgraph/graph/graph.hpp"
#include "mgraph/graph/prng.hpp"

namespace mgraph::property {

/// The project's splitmix64 (mgraph/graph/prng.hpp) with the draws the model needs: a
/// seed printed by a failing run replays the same graph and operations anywhere.
class Rng {
 public:
  explicit Rng(std::uint64_t seed) : prng_(seed) {}

  std::uint64_t next() { return prng_.next(); }
  /// In [0, bound). The modulo bias is negligible here and keeps the stream portable.
  std::uint64_t below(std::uint64_t bound) {
    MG_ASSERT(bound > 0);
    return prng_.below(bound);
  }
  /// In [lo, hi], both inclusive. REQUIRES: lo <= hi.
  std::int64_t between(std::int64_t lo, std::int64_t hi) {
    MG_ASSERT(lo <= hi);
    // Unsigned arithmetic: hi - lo may not fit in an int64.
    const std::uint64_t span = static_cast<std::uint64_t>(hi) - static_cast<std::uint64_t>(lo);
    MG_ASSERT(span < UINT64_MAX);
    return static_cast<std::int64_t>(static_cast<std::uint64_t>(lo) + below(span + 1));
  }
  bool chance(unsigned per_mille) { return below(1000) < per_mille; }

 private:
  Prng prng_;
};

/// What a node computes. Every op reads its inputs in order, except select and prefix,
/// whose reads depend on the value of input 0 (dynamic dependencies when tracked).
enum class Op : std::uint8_t {
  variable,
  sum,          ///< constant + Σ inputs
  alternating,  ///< constant + Σ ±(k+1)·input_k
  min,
  max,
  select,    ///< input0 odd ? input1 : input2
  prefix,    ///< constant + Σ input_1..input_c, c = 1 + |input0| mod (m-1)
  plus_one,  ///< glitch motif y = x + 1
  twice,     ///< glitch motif z = 2x
  check,     ///< glitch motif w(y, z): y - 1 == z / 2 in every consistent state
};

/// Cutoff equality of a derived field: `true` means "unchanged".
enum class Eq : std::uint8_t {
  exact,       ///< FieldSpec::equality left empty: Value::operator==
  exact_hook,  ///< the same relation, passed as a custom equality
  tolerance,   ///< numbers of one type within tolerance_max of each other
  decade,      ///< int64 values with the same quotient by 10
  frozen,      ///< any two non-null values: the node never changes after its first run
};

inline constexpr double tolerance_max = 2.5;
/// Doubles are kept below this magnitude so no arithmetic overflows or loses range.
inline constexpr double magnitude_max = 1e6;

enum class Out : std::uint8_t { int64, float64 };

/// One node of a scenario. Variables use `initial`; derived fields the rest.
struct NodeDef {
  Op op = Op::variable;
  Out out = Out::int64;
  bool lazy = false;
  bool tracked = false;     ///< Context::read; otherwise declared inputs
  bool read_by_id = false;  ///< declared, but read through Context::read(id)
  bool accumulate = false;  ///< value = self() + op; strict only
  Eq eq = Eq::exact;
  std::int64_t constant = 0;
  std::vector<NodeId> inputs;  ///< declared inputs, or the nodes a tracked formula may read
  Value initial;

  bool is_variable() const { return op == Op::variable; }
};

inline std::int64_t wrap_add(std::int64_t a, std::int64_t b) {
  return static_cast<std::int64_t>(static_cast<std::uint64_t>(a) + static_cast<std::uint64_t>(b));
}
inline std::int64_t wrap_mul(std::int64_t a, std::int64_t b) {
  return static_cast<std::int64_t>(static_cast<std::uint64_t>(a) * static_cast<std::uint64_t>(b));
}

/// Any value as an integer; doubles are floored (they are bounded, see magnitude_max).
inline std::int64_t as_int(const Value& v) {
  switch (v.type()) {
    case ValueType::boolean:
      return v.as_bool() ? 1 : 0;
    case ValueType::int64:
      return v.as_int();
    case ValueType::float64: {
      const double d = v.as_double();
      return d > -9e18 && d < 9e18 ? static_cast<std::int64_t>(std::floor(d)) : 0;
    }
    default:
      return 0;
  }
}
/// Any value as a bounded double.
inline double as_double(const Value& v) {
  switch (v.type()) {
    case ValueType::boolean:
      return v.as_bool() ? 1.0 : 0.0;
    case ValueType::int64:
      return static_cast<double>(v.as_int() % 1000003);
    case ValueType::float64:
      return std::fmod(v.as_double(), magnitude_max);
    default:
      return 0.0;
  }
}

template <class T>
struct Arith;
template <>
struct Arith<std::int64_t> {
  static std::int64_t of(const Value& v) { return as_int(v); }
  static std::int64_t add(std::int64_t a, std::int64_t b) { return wrap_add(a, b); }
  static std::int64_t scale(std::int64_t a, std::int64_t k) { return wrap_mul(a, k); }
  static Value done(std::int64_t a) { return Value(a); }
};
template <>
struct Arith<double> {
  static double of(const Value& v) { return as_double(v); }
  static double add(double a, double b) { return a + b; }
  static double scale(double a, std::int64_t k) { return a * static_cast<double>(k); }
  static Value done(double a) { return Value(std::fmod(a, magnitude_max)); }
};

/// Whether the motif w = check(y, z) sees y and z derived from one x.
inline bool motif_consistent(std::int64_t y, std::int64_t z) {
  return wrap_mul(wrap_add(y, -1), 2) == z;
}

template <class T, class Read>
Value evaluate_as(const NodeDef& d, Read& read, const Value& self) {
  using A = Arith<T>;
  const std::size_t m = d.inputs.size();
  T r = A::of(Value(d.constant));
  switch (d.op) {
    case Op::sum:
      for (std::size_t k = 0; k < m; ++k) r = A::add(r, A::of(read(k)));
      break;
    case Op::alternating:
      for (std::size_t k = 0; k < m; ++k) {
        const std::int64_t factor = (k % 2 == 0 ? 1 : -1) * static_cast<std::int64_t>(k + 1);
        r = A::add(r, A::scale(A::of(read(k)), factor));
      }
      break;
    case Op::min:
    case Op::max:
      r = A::of(read(0));
      for (std::size_t k = 1; k < m; ++k) {
        const T x = A::of(read(k));
        r = d.op == Op::min ? std::min(r, x) : std::max(r, x);
      }
      break;
    case Op::select:
      r = (as_int(read(0)) & 1) != 0 ? A::of(read(1)) : A::of(read(2));
      break;
    case Op::prefix: {
      const auto c = 1 + static_cast<std::uint64_t>(as_int(read(0))) % (m - 1);
      for (std::size_t k = 1; k <= c; ++k) r = A::add(r, A::of(read(k)));
      break;
    }
    default:
      MG_ASSERT_MSG(false, "not a generic op");
  }
  if (d.accumulate) r = A::add(A::of(self), r);
  return A::done(r);
}

/// The kernel shared by the engine's formulas and the model. `read(k)` returns the
/// value of d.inputs[k] (and records the read); `self` is the previous committed value.
/// Sets `motif_ok` to false when a check node sees an inconsistent (y, z).
template <class Read>
Value evaluate(const NodeDef& d, Read&& read, const Value& self, bool& motif_ok) {
  switch (d.op) {
    case Op::plus_one:
      return Value(wrap_add(as_int(read(0)), 1));
    case Op::twice:
      return Value(wrap_mul(as_int(read(0)), 2));
    case Op::check: {
      const std::int64_t y = as_int(read(0));
      const std::int64_t z = as_int(read(1));
      if (!motif_consistent(y, z)) motif_ok = false;
      std::int64_t r = wrap_add(y, z);
      if (d.accumulate) r = wrap_add(as_int(self), r);
      return Value(r);
    }
    default:
      return d.out == Out::int64 ? evaluate_as<std::int64_t>(d, read, self)
                                 : evaluate_as<double>(d, read, self);
  }
}

/// The cutoff relation of `eq`: true means "unchanged". Reflexive for every kind.
inline bool cutoff_equal(Eq eq, const Value& a, const Value& b) {
  switch (eq) {
    case Eq::exact:
    case Eq::exact_hook:
      return a == b;
    case Eq::tolerance:
      return a.is_number() && a.type() == b.type() &&
             std::fabs(a.number() - b.number()) < tolerance_max;
    case Eq::decade:
      return a.is_int() && b.is_int() && a.as_int() / 10 == b.as_int() / 10;
    case Eq::frozen:
      return !a.is_null() && !b.is_null();
  }
  return false;
}

/// S1: the state of every node of one graph.
struct State {
  std::vector<Value> value;
  std::vector<std::vector<NodeId>> deps;  ///< tracked derived nodes: what the last run read
  std::vector<std::uint8_t> computed;     ///< derived nodes: has run at least once
  Revision revision = 0;

  std::size_t size() const { return value.size(); }
  void add(const NodeDef& d) {
    value.push_back(d.is_variable() ? d.initial : Value());
    deps.emplace_back();
    computed.push_back(0);
  }
};

/// Transaction writes: variable -> last value written (S2: the last write wins).
using Writes = std::map<NodeId, Value>;

/// S2: the state commit() must produce from `base` and `writes`. `changed` receives, per
/// node, whether it CHANGED; `motif_ok` turns false if the model itself sees an
/// inconsistent check (a broken motif, e.g. after shrinking replaced a member).
inline State apply_commit(const std::vector<NodeDef>& defs, const State& base, const Writes& writes,
                          std::vector<std::uint8_t>& changed, bool& motif_ok) {
  State next = base;
  const std::size_t n = base.size();
  MG_ASSERT(n <= defs.size());
  changed.assign(n, 0);
  std::vector<NodeId> reads;
  for (NodeId i = 0; i < n; ++i) {
    const NodeDef& d = defs[i];
    if (d.is_variable()) {
      const auto w = writes.find(i);
      if (w != writes.end()) {
        next.value[i] = w->second;
        changed[i] = !(w->second == base.value[i]);
      }
      continue;
    }
    const bool fresh = base.computed[i] == 0;
    if (d.accumulate && !fresh) {
      const std::vector<NodeId>& deps = d.tracked ? base.deps[i] : d.inputs;
      bool any = false;
      for (const NodeId dep : deps) any = any || changed[dep] != 0;
      if (!any) continue;
    }
    reads.clear();
    auto read = [&](std::size_t k) -> const Value& {
      MG_ASSERT(k < d.inputs.size() && d.inputs[k] < i);
      reads.push_back(d.inputs[k]);
      return next.value[d.inputs[k]];
    };
    const Value v = evaluate(d, read, base.value[i], motif_ok);
    if (d.tracked) {
      std::sort(reads.begin(), reads.end());
      reads.erase(std::unique(reads.begin(), reads.end()), reads.end());
      next.deps[i] = reads;
    }
    next.computed[i] = 1;
    if (fresh || !cutoff_equal(d.eq, base.value[i], v)) {
      next.value[i] = v;
      changed[i] = 1;
    }
  }
  return next;
}

/// Whether a node counts for S5 (a revision is created when one of these CHANGED).
inline bool counts_for_revision(const NodeDef& d) { return d.is_variable() || !d.lazy; }

/// S5, S6: committed States that undo()/redo() walk.
class History {
 public:
  /// Starts at `current` (the first commit, a structure change, or a branch point).
  void reset(const State& current, std::size_t limit) {
    entries_.assign(1, current);
    cursor_ = 0;
    limit_ = limit;
    floor_ambiguous_ = limit > 0;
    redo_ambiguous_ = true;
  }
  /// A commit that created a revision: discards redo entries, bounds the depth.
  void push(const State& s) {
    entries_.resize(cursor_ + 1);
    entries_.push_back(s);
    ++cursor_;
    while (entries_.size() > limit_ + 1) {
      entries_.erase(entries_.begin());
      --cursor_;
      floor_ambiguous_ = false;
    }
    redo_ambiguous_ = false;
  }
  /// A commit without change: the engine may or may not discard redo entries.
  void push_nothing() {
    if (cursor_ + 1 < entries_.size()) redo_ambiguous_ = true;
    entries_.resize(cursor_ + 1);
  }
  bool can_undo() const { return cursor_ > 0; }
  bool can_redo() const { return cursor_ + 1 < entries_.size(); }
  /// Whether the engine's can_undo()/can_redo() must equal the model's.
  bool undo_known() const { return can_undo() || !floor_ambiguous_; }
  bool redo_known() const { return can_redo() || !redo_ambiguous_; }
  const State& undo() {
    MG_ASSERT(can_undo());
    return entries_[--cursor_];
  }
  const State& redo() {
    MG_ASSERT(can_redo());
    return entries_[++cursor_];
  }
  /// A branch shares none of the history it may or may not have inherited (S6).
  History branched() const {
    History h;
    h.reset(entries_[cursor_], limit_);
    return h;
  }

 private:
  std::vector<State> entries_;
  std::size_t cursor_ = 0;
  std::size_t limit_ = 0;
  bool floor_ambiguous_ = false;
  bool redo_ambiguous_ = true;
};

}  // namespace mgraph::property
