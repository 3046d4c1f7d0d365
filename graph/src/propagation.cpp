// Marking and computing: the push-pull core of a transaction.
//
// mark() walks dependents of changed inputs, flags them stale and queues the eager
// ones. compute_pending() then brings each queued node up to date with ensure(),
// which first brings the node's stale inputs up to date, iteratively (no recursion
// for chains), and runs the formula only if an input changed since the node's last
// computation (equality cutoff). Marking finishes before computing starts, so a
// node runs only when every input that can change in this transaction is final:
// glitch-free, and at most once per node since computing clears the stale flag.

#include <algorithm>
#include <bit>
#include <cstddef>
#include <cstring>
#include <iterator>
#include <new>
#include <unordered_set>

#include "graph_state.hpp"

namespace mgraph {

void GraphState::mark_node(NodeId start) {
  mark_stack.push_back(start);
  while (!mark_stack.empty()) {
    const NodeId x = mark_stack.back();
    mark_stack.pop_back();
    if (has(x, kStale)) continue;  // invariant 2: its dependents are stale already
    set(x, kStale | kMarked);
    marked.push_back(x);  // compute() walks this list for the eager ones
    if (has(x, kExported)) note_exported_marked(x);
    for (NodeId d : rdeps_of(x)) {
      if (has(d, kIncremental)) [[unlikely]] note_marked(d, x, nullptr);
      if (!has(d, kStale)) mark_stack.push_back(d);
    }
  }
}

void GraphState::mark_dependents(NodeId n, const Value* old_value) {
  for (NodeId d : rdeps_of(n)) {
    if (has(d, kIncremental)) [[unlikely]] note_marked(d, n, old_value);
    if (!has(d, kStale)) mark_node(d);
  }
}

void GraphState::note_marked(NodeId node, NodeId input, const Value* old_value) {
  note_input(node, input, InputEvent::marked,
             old_value != nullptr ? *old_value : start_value(input));
}

void GraphState::note_input(NodeId node, NodeId input, InputEvent event, const Value& old_value) {
  const auto [log_it, new_log] =
      input_log_of.try_emplace(node, static_cast<std::uint32_t>(input_logs.size()));
  if (new_log) input_logs.push_back(InputLog{node, {}, {}, false});
  InputLog& log = input_logs[log_it->second];
  const std::uint64_t key = (std::uint64_t{node} << 32) | input;
  const auto [it, first] =
      touched_index.try_emplace(key, static_cast<std::uint32_t>(log.inputs.size()));
  if (first) {
    // The first touch tells what the node's computations so far have seen of the input.
    const bool was = event != InputEvent::added;
    log.inputs.push_back(TouchedInput{input, was, event != InputEvent::removed,
                                      was ? old_value : Value()});
    if (event != InputEvent::removed) log.pull.push_back(input);
    return;
  }
  TouchedInput& t = log.inputs[it->second];
  if (event == InputEvent::added && !t.is_input) {
    t.is_input = true;
    log.pull.push_back(input);
  } else if (event == InputEvent::removed && t.is_input) {
    t.is_input = false;
    log.pull_dirty = true;
  }
}

std::span<const NodeId> GraphState::incremental_pull(NodeId n) {
  if (nodes[n].computed_at == 0) return deps_of(n);
  const auto it = input_log_of.find(n);
  if (it == input_log_of.end()) return {};
  InputLog& log = input_logs[it->second];
  if (log.pull_dirty) {
    // Only between marking and computing: nothing notes inputs while formulas run.
    log.pull.clear();
    for (const TouchedInput& t : log.inputs) {
      if (t.is_input) log.pull.push_back(t.input);
    }
    log.pull_dirty = false;
  }
  return log.pull;
}

Value GraphState::eval_incremental(NodeId n, Context& ctx, const SpecEntry& se) {
  // A computation taken back (reset_computations, rollback) must give its stamp back too,
  // so that Graph::ran_in_transaction tells; note_fresh skips marked nodes without history.
  if (txn_open && has(n, kMarked) && options.history_limit == 0) {
    freshened.push_back(Freshened{n, nodes[n].computed_at, false});
  }
  std::vector<InputChange> changes;
  if (nodes[n].computed_at == 0) {
    // The first computation (or the first since a rollback made it new again): every
    // input is added, and self() is null.
    const std::span<const NodeId> ds = deps_of(n);
    changes.reserve(ds.size());
    for (NodeId d : ds) changes.push_back(InputChange{d, false, true, Value(), values[d]});
  } else if (const auto it = input_log_of.find(n); it != input_log_of.end()) {
    const InputLog& log = input_logs[it->second];
    changes.reserve(log.inputs.size());
    for (const TouchedInput& t : log.inputs) {
      if (!t.was_input && !t.is_input) continue;
      const Value now = t.is_input ? values[t.input] : Value();
      if (t.was_input && t.is_input && t.old_value == now) continue;
      changes.push_back(InputChange{t.input, t.was_input, t.is_input, t.old_value, now});
    }
  }
  // A formula that reads a stale node may nest another computation: restore on the way out.
  struct Running {
    GraphState& g;
    const std::vector<InputChange>* changes;
    NodeId node;
    Running(GraphState& gs, const std::vector<InputChange>* c, NodeId x)
        : g(gs), changes(gs.running_changes), node(gs.running_incremental) {
      g.running_changes = c;
      g.running_incremental = x;
    }
    ~Running() {
      g.running_changes = changes;
      g.running_incremental = node;
    }
  } running(*this, &changes, n);
  return se.spec.formula(ctx);
}

void GraphState::clear_input_logs_now() {
  input_logs.clear();
  input_log_of.clear();
  touched_index.clear();
}

const Value* GraphState::settle_written(const Written& w) {
  const NodeId v = w.node;
  clear(v, kWritten);
  JournalEntry& e = journal.values[w.journal_index];
  MG_ASSERT(e.node == v);
  if (values[v] == e.value) {
    // Written back to its committed value: no change, no journal entry.
    nodes[v].changed_at = e.changed_at;
    e.node = kNoNode;
    return nullptr;
  }
  return &e.value;
}

void GraphState::mark() {
  for (const Written& w : written) {
    if (const Value* old_value = settle_written(w)) mark_dependents(w.node, old_value);
  }
  written.clear();
  for (NodeId n : pending_new) {
    // New or redefined: stale since it was defined, so not "marked" by this
    // transaction; a repeated mark() may queue it twice, which compute skips.
    if (!has(n, kStale)) continue;  // computed already in this transaction (read)
    if (is_eager(n)) queue.push_back(n);
    if (has(n, kExported)) note_exported_marked(n);
    mark_dependents(n);  // dependents of a redefined field
  }
  for (NodeId n : forced) {
    if (has(n, kStale)) {
      // Stale already (new, or a lazy node from an earlier transaction): it now has
      // to run in this one.
      queue.push_back(n);
    } else {
      mark_node(n);
      if (!is_eager(n)) queue.push_back(n);  // a proposal must be decided in this transaction
    }
  }
  forced.clear();
}

inline bool GraphState::finish_node(NodeId x, Value&& v) {
  if (!conditions.empty()) [[unlikely]] set_condition(x, FieldCondition{});  // recovered
  return finish_value(x, std::move(v));
}

inline bool GraphState::finish_value(NodeId x, Value&& v) {
  const SpecEntry& se = spec_of(x);
  const bool same = se.custom_equality ? se.spec.equality(values[x], v) : values[x] == v;
  note_fresh(x, nodes[x].computed_at);
  nodes[x].computed_at = stamp;
  clear(x, kStale | kForce);
  if (same) return false;
  if (txn_open) {
    if (!journaled(x)) {
      // The old value moves into the journal: no copy, no reference count traffic.
      journal.values.push_back(JournalEntry{x, nodes[x].changed_at, std::move(values[x])});
    }
  } else if (options.history_limit > 0) {
    pulls().values.push_back(JournalEntry{x, nodes[x].changed_at, std::move(values[x])});
  }
  values[x] = std::move(v);
  nodes[x].changed_at = stamp;
  return true;
}

inline bool GraphState::try_compute_in_order(NodeId n) {
  // Fast path for a declared node whose inputs are all up to date, which is every
  // node of a strict graph visited in pull order. A declared formula reads only its
  // inputs, so it cannot start another computation: no evaluation frame is needed.
  const SpecEntry& se = spec_of(n);
  if (se.tracked || se.kind != SpecKind::formula || has(n, kForce) || nodes[n].computed_at == 0) {
    return false;
  }
  bool need = false;
  const std::uint32_t at = nodes[n].computed_at;
  const std::span<const NodeId> ds = deps_of(n);
  for (NodeId d : ds) {
    if (has(d, kStale)) return false;
    need |= nodes[d].changed_at > at;
  }
  if (!need) {
    note_fresh(n, at);
    clear(n, kStale);
    return true;
  }
  if (!conditions.empty()) [[unlikely]] {
    if (const NodeId cause = failed_input(n); cause != kNoNode) {
      settle_failed(n, FieldCondition{FieldState::blocked, cause, {}});
      return true;
    }
  }
  current = n;
  Context ctx(*this, n, values.data(), ds.data(), static_cast<std::uint32_t>(ds.size()));
  try {
    Value v = se.spec.formula(ctx);
    ++computed_count;
    stamp_computed = true;
    finish_node(n, std::move(v));
  } catch (const std::exception& e) {
    formula_threw(n, e);
  }
  current = kNoNode;
  return true;
}

bool GraphState::ensure(NodeId root) {
  if (!has(root, kStale)) return true;
  if (has(root, kMirrorPending)) {
    block_mirror = block_key = root;
    return false;
  }
  if (!blocked.empty()) {
    if (const auto it = blocked.find(root); it != blocked.end()) {
      block_mirror = block_key = it->second;
      return false;
    }
  }
  if (has(root, kVisiting)) throw CycleError{cycle_path(root)};
  const std::size_t base = frames.size();
  frames.push_back(Frame{root, 0, false});
  set(root, kVisiting);
  while (frames.size() > base) {
    Frame& f = frames.back();
    const NodeId x = f.node;
    if (!f.need && (has(x, kForce) || nodes[x].computed_at == 0)) f.need = true;
    const bool tracked = spec_of(x).tracked;
    const std::span<const NodeId> ds = has(x, kIncremental) ? incremental_pull(x) : deps_of(x);
    bool descended = false;
    while (f.next_dep < ds.size()) {
      // A tracked formula may read other inputs this time: stop at the first change.
      if (tracked && f.need) break;
      const NodeId d = ds[f.next_dep];
      if (has(d, kStale)) {
        NodeId waits_for = kNoNode;  // the mirror
        NodeId key = kNoNode;        // what to wait for: the mirror, or a waiting field
        if (has(d, kMirrorPending)) {
          waits_for = key = d;
        } else if (!blocked.empty()) {
          if (const auto it = blocked.find(d); it != blocked.end()) {
            waits_for = it->second;
            key = waiting_for.count(d) != 0 ? d : waits_for;
          }
        }
        if (waits_for != kNoNode) {
          for (std::size_t i = base; i < frames.size(); ++i) {
            clear(frames[i].node, kVisiting);
            blocked.emplace(frames[i].node, waits_for);
          }
          frames.resize(base);
          block_mirror = waits_for;
          block_key = key;
          return false;
        }
        if (has(d, kVisiting)) throw CycleError{cycle_path(d)};
        set(d, kVisiting);
        frames.push_back(Frame{d, 0, false});  // invalidates f
        descended = true;
        break;
      }
      if (nodes[d].changed_at > nodes[x].computed_at) f.need = true;
      ++f.next_dep;
    }
    if (descended) continue;
    if (f.need) {
      const std::size_t track_size = track.size();
      try {
        run_formula(x);  // may stack frames of its own and pop them again
      } catch (const NeedFirst& first) {
        // Too deep to nest: compute `first.node` on this loop's stack, then run x again.
        track.resize(track_size);
        const NodeId d = first.node;
        if (has(d, kVisiting)) throw CycleError{cycle_path(d)};
        set(d, kVisiting);
        frames.push_back(Frame{d, 0, false});
        continue;
      }
    } else {
      note_fresh(x, nodes[x].computed_at);
      clear(x, kStale);
    }
    note_computed_export(x);
    clear(x, kVisiting);
    frames.pop_back();
  }
  return true;
}

void GraphState::run_formula(NodeId x) {
  const SpecEntry& se = spec_of(x);
  if (!conditions.empty() && se.kind == SpecKind::formula && !se.tracked) [[unlikely]] {
    // Declared inputs are up to date: a failed or blocked one blocks the formula.
    if (const NodeId cause = failed_input(x); cause != kNoNode) {
      settle_failed(x, FieldCondition{FieldState::blocked, cause, {}});
      return;
    }
  }
  const auto track_begin = static_cast<std::uint32_t>(track.size());
  const Span ds = nodes[x].deps;
  const bool declared = !se.tracked && se.kind != SpecKind::incremental;
  Context ctx(*this, x, values.data(), edges.get(ds).data(), declared ? ds.count : 0u);
  Value v;
  struct NestGuard {
    std::uint32_t& depth;
    explicit NestGuard(std::uint32_t& d) : depth(d) { ++depth; }
    ~NestGuard() { --depth; }
  } nest(nest_depth);
  NodeId blocked_by = kNoNode;  // a tracked read met a failed or blocked field
  bool threw = false;
  std::string error;
  switch (se.kind) {
    case SpecKind::formula:
      try {
        v = se.spec.formula(ctx);
      } catch (const InputFailed& f) {
        blocked_by = f.cause;
      } catch (const std::exception& e) {
        ++formula_failures;
        if (se.spec.fail_transaction) throw;
        threw = true;
        error = e.what();
      }
      break;
    // Cycle-group rules and incremental formulas keep rolling the transaction back: a
    // resolution is all members or none, and an incremental value cannot skip changes.
    case SpecKind::group_member: v = eval_group_member(ctx, se); break;
    case SpecKind::group_dispatcher: v = eval_group_dispatcher(x, se); break;
    case SpecKind::incremental: v = eval_incremental(x, ctx, se); break;
    case SpecKind::variable:
    case SpecKind::mirror: MG_ASSERT_MSG(false, "variables have no formula");
  }
  // A tracked formula that stopped at a failed field depends on what it read so far,
  // that field included: it runs again when one of them changes (or recovers).
  if (se.tracked) {
    const std::span<const NodeId> reads(track.data() + track_begin, track.size() - track_begin);
    const std::span<const NodeId> old = deps_of(x);
    if (!std::equal(reads.begin(), reads.end(), old.begin(), old.end())) {
      std::vector<NodeId> unique;
      unique.reserve(reads.size());
      std::unordered_set<NodeId> seen;
      for (NodeId r : reads) {
        if (seen.insert(r).second) unique.push_back(r);
      }
      if (!std::equal(unique.begin(), unique.end(), old.begin(), old.end())) {
        if (txn_open && deps_journaled.insert(x).second) {
          journal.deps.push_back(DepsEntry{x, std::vector<NodeId>(old.begin(), old.end())});
        } else if (!txn_open && options.history_limit > 0) {
          pulls().deps.push_back(DepsEntry{x, std::vector<NodeId>(old.begin(), old.end())});
        }
        set_deps(x, unique);
      }
    }
    track.resize(track_begin);
  }
  ++computed_count;
  stamp_computed = true;
  if (blocked_by != kNoNode || threw) [[unlikely]] {
    settle_failed(x, threw ? FieldCondition{FieldState::failed, x, std::move(error)}
                           : FieldCondition{FieldState::blocked, blocked_by, {}});
    return;
  }
  if (se.kind == SpecKind::incremental && !conditions.empty()) [[unlikely]] {
    // An incremental field computes on over a failed input's last good value (it never
    // changes while failed) and is blocked by it, so its dependents wait.
    if (const NodeId cause = failed_input(x); cause != kNoNode) {
      set_condition(x, FieldCondition{FieldState::blocked, cause, {}});
      finish_value(x, std::move(v));
      return;
    }
  }
  finish_node(x, std::move(v));
}

// ---- Failed fields ----

void GraphState::set_condition(NodeId n, FieldCondition c) {
  const auto it = conditions.find(n);
  if (it == conditions.end() ? c.state == FieldState::ok : it->second == c) return;
  FieldCondition old;
  if (it != conditions.end()) old = std::move(it->second);
  if (c.state == FieldState::ok) {
    conditions.erase(it);  // not end(): an ok node with no entry returned above
  } else if (it != conditions.end()) {
    it->second = std::move(c);
  } else {
    conditions.emplace(n, std::move(c));
  }
  // The value is journaled with its stamp, as a change of value would be: rollback and
  // undo restore both, and the revision counts the node as changed.
  if (txn_open) {
    journal.conditions.push_back(ConditionEntry{n, std::move(old)});
    if (!journaled(n)) journal.values.push_back(JournalEntry{n, nodes[n].changed_at, values[n]});
  } else if (options.history_limit > 0) {
    RevisionRecord& rec = pulls();
    rec.conditions.push_back(ConditionEntry{n, std::move(old)});
    rec.values.push_back(JournalEntry{n, nodes[n].changed_at, values[n]});
  }
  nodes[n].changed_at = stamp;
}

NodeId GraphState::failed_input(NodeId n) {
  // The failing input with the least id, so that the cause named does not depend on the
  // order of a hash table: the same state names the same cause on every replay.
  NodeId input = kNoNode;
  const std::span<const NodeId> ds = deps_of(n);
  if (has(n, kIncremental) && conditions.size() < ds.size()) {
    for (const auto& entry : conditions) {
      if (entry.first < input && input_position(n, entry.first) != kNoNode) input = entry.first;
    }
  } else {
    for (NodeId d : ds) {
      if (d < input && conditions.count(d) != 0) input = d;
    }
  }
  return input == kNoNode ? kNoNode : failure_cause(input);
}

std::string GraphState::reason_of_cause(NodeId cause) const {
  if (const auto it = conditions.find(cause); it != conditions.end()) return it->second.reason;
  NodeId by = kNoNode;
  std::string reason;
  for (const auto& [x, c] : conditions) {
    if (c.cause == cause && is_mirror(x) && x < by) {
      by = x;
      reason = c.reason;
    }
  }
  return reason;
}

FieldCondition GraphState::txn_start_condition(NodeId n) const {
  for (const ConditionEntry& e : journal.conditions) {
    if (e.node == n) return e.condition;  // the first entry holds what it was before
  }
  const auto it = conditions.find(n);
  return it == conditions.end() ? FieldCondition{} : it->second;
}

void GraphState::settle_failed(NodeId n, FieldCondition c) {
  note_fresh(n, nodes[n].computed_at);
  nodes[n].computed_at = stamp;
  stamp_computed = true;  // an input changed after this must take a later stamp
  clear(n, kStale | kForce);
  set_condition(n, std::move(c));
}

void GraphState::formula_threw(NodeId n, const std::exception& e) {
  ++formula_failures;
  if (spec_of(n).spec.fail_transaction) throw;  // rethrows `e`: commit() rolls back
  ++computed_count;
  stamp_computed = true;
  settle_failed(n, FieldCondition{FieldState::failed, n, e.what()});
}

void GraphState::swap_condition(ConditionEntry& e) {
  const auto it = conditions.find(e.node);
  FieldCondition live;
  if (it != conditions.end()) {
    live = std::move(it->second);
    conditions.erase(it);
  }
  if (e.condition.state != FieldState::ok) conditions.emplace(e.node, std::move(e.condition));
  e.condition = std::move(live);
}

void GraphState::compute_pending(std::vector<Resolution>* resolved) {
  // Queues the fields waiting for `key` (a mirror resolved, a field computed) that still
  // wait for it.
  auto wake = [&](NodeId key) {
    const auto it = waiters.find(key);
    if (it == waiters.end()) return;
    const std::vector<NodeId> fields = std::move(it->second);
    waiters.erase(it);
    for (const NodeId n : fields) {
      const auto w = waiting_for.find(n);
      if (w == waiting_for.end() || w->second != key) continue;
      waiting_for.erase(w);
      queue.push_back(n);
    }
  };
  // `n` is computed (or was, by another field's walk): it waits no more, and what waits
  // for it may go on.
  auto done_with = [&](NodeId n) {
    if (waiters.empty()) return;  // nothing waits (every graph but a partition's)
    waiting_for.erase(n);
    wake(n);
  };
  // The fields waiting for a mirror resolved since the last call are tried again; the
  // others wait on (nothing they wait for has changed).
  for (const NodeId m : resolved_mirrors) wake(m);
  resolved_mirrors.clear();
  // Entry by entry: clear() also zeroes the bucket array, which a large round left large,
  // at every call.
  for (auto it = blocked.begin(); it != blocked.end();) it = blocked.erase(it);
  // Pull order: ensure() computes a node's stale inputs before the node, so the
  // order of the queue does not matter for correctness; mark order makes the fast
  // path (every input already fresh) the common case.
  computed_in_txn = txn_open;
  auto process = [&](NodeId n) {
    bool done = false;
    block_mirror = block_key = kNoNode;
    try {
      if (try_compute_in_order(n)) {
        note_computed_export(n);
        done = true;
      } else {
        done = ensure(n);
      }
    } catch (const BlockedError&) {
      // A formula read a node that waits for a mirror: retry after it resolves.
      unwind();
      blocked.emplace(n, block_mirror);
    }
    if (done) {
      done_with(n);
      return;
    }
    MG_ASSERT_MSG(block_key != kNoNode, "a field waits for nothing");
    // Listed once: a field tried while it waits keeps what it waits for.
    if (waiting_for.emplace(n, block_key).second) waiters[block_key].push_back(n);
  };
  for (; marked_pos < marked.size(); ++marked_pos) {
    const NodeId n = marked[marked_pos];
    if (has(n, kStale) && is_eager(n)) process(n);
  }
  for (; queue_pos < queue.size(); ++queue_pos) {
    const NodeId n = queue[queue_pos];
    if (has(n, kStale)) {
      process(n);
    } else {
      done_with(n);
    }
  }
  if (resolved != nullptr) {
    const std::vector<NodeId> done = std::move(exported_done);
    exported_done.clear();
    for (const NodeId n : done) {
      // Stale again (taken back, marked in a later round): noted again when computed.
      // Never in exported_marked: no other partition was told it is stale.
      if (has(n, kStale) || exported_listed.count(n) == 0 || !exported_reported.insert(n).second) continue;
      Resolution r{n, journaled(n), values[n], {}};
      if (!conditions.empty()) [[unlikely]] {
        if (const auto it = conditions.find(n); it != conditions.end()) {
          r.condition = it->second;
          if (r.condition.state == FieldState::blocked) r.condition.reason = reason_of_cause(r.condition.cause);
        }
      }
      resolved->push_back(std::move(r));
    }
  }
}

bool GraphState::lean_formula(NodeId x, const SpecEntry& se) {
  const std::span<const NodeId> ds = deps_of(x);
  Context ctx(*this, x, values.data(), ds.data(), static_cast<std::uint32_t>(ds.size()));
  bool changed = true;  // a formula that throws fails x: a change
  Value v;
  try {
    v = se.spec.formula(ctx);
  } catch (const std::exception& e) {
    formula_threw(x, e);  // fails x (its dependents are blocked), or rethrows
    clear(x, kMarked);
    return changed;
  }
  changed = finish_node(x, std::move(v));
  ++computed_count;
  clear(x, kMarked);
  return changed;
}

bool GraphState::lean_eligible() const {
  // Every O(1): the first term is kept by the structure calls, the others say that the
  // transaction only wrote variables and nothing has marked or computed in it yet.
  return lean_blockers == 0 && marked.empty() && forced.empty() && forced_txn.empty() &&
         pending_new.empty() && proposals.empty() && kept.empty() && !computed_in_txn &&
         marked_mirrors.empty() && queue.empty() && waiting_for.empty() && input_logs.empty();
}

namespace {

/// A layer of at most this many nodes is prefetched stage by stage for all its nodes at
/// once (propagate_lean's visit_layer): about the misses a core keeps in flight.
constexpr std::size_t kLeanPrefetchWholeLayer = 32;

/// What a lean commit reads and writes per field, held in locals: structure does not
/// change while formulas run, and nothing but the lean loops grows these lists, so the
/// columns need not be reloaded after every store and every call of a formula
/// (DECISIONS.md "Scalar kernels"). Inlined into each loop, it lives in registers.
struct LeanRun {
  NodeRecord* node_at;
  const NodeId* edge_data;
  const SpecEntry* spec_entries;
  const GraphState::LeanKernel* kernel_at;
  Value* value_at;
  std::uint32_t now_stamp;
  std::uint32_t first_stamp;
  bool keep_history;
  /// Columns of the nodes to visit are prefetched ahead (graphs larger than the cache).
  bool prefetch;
  std::uint64_t kernels_run = 0;  ///< added to computed_count on the way out
  /// The journal entries of fields whose old value was a double go to the staged part of
  /// the journal (GraphState::lean_staged), trivially copied into room made ahead: a push
  /// into journal.values is a call the compiler may or may not inline into a loop (it did
  /// not once this file grew), and around a call the loop's state leaves the registers.
  /// The count lives here while a loop runs: settle() stores it in the GraphState when
  /// the loop ends, resume() reads it back, and unstage() moves the staged entries into
  /// journal.values before anything that may read the journal or throw out of the loop.
  GraphState::StagedDouble* staged;
  std::size_t staged_room;
  std::size_t staged_count;

  explicit LeanRun(GraphState& g)
      : node_at(g.nodes.data()),
        edge_data(g.edges.data()),
        spec_entries(g.specs.data()),
        kernel_at(g.lean_kernels.data()),
        value_at(g.values.data()),
        now_stamp(g.stamp),
        first_stamp(g.txn_first_stamp),
        keep_history(g.options.history_limit > 0),
        prefetch(g.values.size() >= GraphState::kLeanPrefetchNodes),
        staged(g.lean_staged.data()),
        staged_room(g.lean_staged.size()),
        staged_count(g.lean_staged_count) {}

  /// Journals x's old value `old`, changed at `changed_at`, which the caller then replaces.
  [[gnu::always_inline]] void journal(GraphState& g, NodeId x, std::uint32_t changed_at, Value& old) {
    if (old.is_double() && staged_count != staged_room) [[likely]] {
      staged[staged_count++] = GraphState::StagedDouble{x, changed_at, old.as_double()};
    } else {
      journal_rare(g, x, changed_at, old);
    }
  }
  [[gnu::noinline]] void journal_rare(GraphState& g, NodeId x, std::uint32_t changed_at, Value& old) {
    if (!old.is_double()) {
      g.journal.values.push_back(JournalEntry{x, changed_at, std::move(old)});
      return;
    }
    grow(g);
    staged[staged_count++] = GraphState::StagedDouble{x, changed_at, old.as_double()};
  }
  /// Doubles the room for staged entries (the count stays).
  [[gnu::noinline]] void grow(GraphState& g) { make_room(g, staged_count + 1); }
  /// Room for `entries` staged entries in all, at least doubled (the count stays).
  [[gnu::noinline]] void make_room(GraphState& g, std::size_t entries) {
    settle(g);
    g.lean_staged.resize(std::max({GraphState::kLeanStagedEntries, 2 * staged_room, entries}));
    resume(g);
  }
  void settle(GraphState& g) const { g.lean_staged_count = staged_count; }
  void resume(GraphState& g) {
    staged = g.lean_staged.data();
    staged_room = g.lean_staged.size();
    staged_count = g.lean_staged_count;
  }
  [[gnu::always_inline]] void unstage(GraphState& g) {
    if (staged_count != 0) [[unlikely]] {
      settle(g);
      g.unstage_journal();
      staged_count = 0;
    }
  }

  // The three stages of prefetching a node a loop will visit, each needing the previous
  // one's lines: its own columns, its dependency list, its inputs' values.
  [[gnu::always_inline]] void prefetch_columns(NodeId x) const {
    __builtin_prefetch(node_at + x, 1);
    __builtin_prefetch(value_at + x, 1);
  }
  [[gnu::always_inline]] void prefetch_deps(NodeId x) const {
    __builtin_prefetch(edge_data + node_at[x].deps.offset);
  }
  [[gnu::always_inline]] void prefetch_inputs(NodeId x) const { prefetch_listed<0>(node_at[x].deps, value_at); }
  // The same two stages for what scheduling a node's dependents reads once it changed
  // (the unplanned commit): its list of dependents, then their records' flags.
  [[gnu::always_inline]] void prefetch_dependent_list(NodeId x) const {
    __builtin_prefetch(edge_data + node_at[x].rdeps.offset);
  }
  [[gnu::always_inline]] void prefetch_dependents(NodeId x) const { prefetch_listed<1>(node_at[x].rdeps, node_at); }
  /// The entries of `column` for the first kLeanPrefetchInputs nodes of the edge list
  /// `list`, for reading (kWrite 0) or writing (1).
  template <int kWrite, typename T>
  [[gnu::always_inline]] void prefetch_listed(Span list, const T* column) const {
    const NodeId* const nodes = edge_data + list.offset;
    const std::uint32_t count = std::min<std::uint32_t>(list.count, GraphState::kLeanPrefetchInputs);
    for (std::uint32_t k = 0; k < count; ++k) __builtin_prefetch(column + nodes[k], kWrite);
  }
};

/// Whether the value `now` equals the double `result` as Value's equality says: ==, except
/// that NaN equals NaN.
[[gnu::always_inline]] inline bool same_double(const Value& now, double result) {
  return now.is_double() &&
         (now.as_double() == result || (result != result && now.as_double() != now.as_double()));
}

/// A kernel field (FieldSpec::kernel, no custom equality, no failed field in the graph):
/// its inputs as doubles, the kernel called directly, the double compared with the old
/// value and stored in place. No Context, no std::function, no Value built. Whether it
/// changed (a kernel that throws fails x, which is a change, or rethrows).
[[gnu::always_inline]] inline bool lean_kernel(GraphState& g, LeanRun& r, NodeId x,
                                              const GraphState::LeanKernel kernel) {
  NodeRecord* const node_at = r.node_at;
  const Span ds = node_at[x].deps;
  const NodeId* const inputs = r.edge_data + ds.offset;
  const std::uint32_t count = ds.count;
  double local[4];
  double* in = local;
  if (count > 4) [[unlikely]] {
    if (g.kernel_inputs.size() < count) g.kernel_inputs.resize(count);
    in = g.kernel_inputs.data();
  }
  double result;
  try {
    if (count == 1) {
      in[0] = kernel_input(r.value_at[inputs[0]], 0);  // chain, broad: no loop
    } else {
      for (std::uint32_t k = 0; k < count; ++k) in[k] = kernel_input(r.value_at[inputs[k]], k);
    }
    result = kernel.kernel(std::span<const double>(in, count), x, kernel.data);
  } catch (const std::exception& e) {
    r.unstage(g);
    g.formula_threw(x, e);  // fails x (its dependents are blocked), or rethrows
    node_at[x].meta &= ~kMarked;
    return true;
  }
  ++r.kernels_run;
  if (r.keep_history) g.freshened.push_back(Freshened{x, node_at[x].computed_at, false});
  node_at[x].computed_at = r.now_stamp;
  node_at[x].meta &= ~(kStale | kForce | kMarked);
  Value& now = r.value_at[x];
  if (same_double(now, result)) return false;
  if (node_at[x].changed_at < r.first_stamp) r.journal(g, x, node_at[x].changed_at, now);
  // (A double journaled is staged as a copy: it is still there to replace.)
  if (now.is_double()) [[likely]] {
    now.replace_double(result);
  } else {
    now = Value(result);
  }
  node_at[x].changed_at = r.now_stamp;
  return true;
}

/// Computes x, flagged kStale | kMarked (scheduled or planned); whether it changed.
[[gnu::always_inline]] inline bool lean_compute(GraphState& g, LeanRun& r, NodeId x) {
  g.current = x;
  if (!g.conditions.empty()) [[unlikely]] {
    // A failed or blocked field exists: the general routine blocks x behind a failed
    // input, or fails it, or recovers it. A change of condition moves its change stamp
    // as a change of value does.
    r.unstage(g);
    g.run_formula(x);
    r.node_at[x].meta &= ~kMarked;
    return r.node_at[x].changed_at == g.stamp;
  }
  if (const GraphState::LeanKernel kernel = r.kernel_at[r.node_at[x].spec]; kernel.kernel != nullptr) {
    return lean_kernel(g, r, x, kernel);
  }
  r.unstage(g);  // a formula may read the journal (txn_start_value) or throw
  return g.lean_formula(x, r.spec_entries[r.node_at[x].spec]);
}

/// A plan's flags of change by slot (GraphState::lean_changed), room for `sources` sources
/// and `steps` steps: the sources, its key, all changed.
std::uint8_t* changed_flags(GraphState& g, std::size_t sources, std::size_t steps) {
  g.lean_changed.resize(sources + steps);
  std::uint8_t* const changed = g.lean_changed.data();
  std::fill_n(changed, sources, std::uint8_t{1});
  return changed;
}

/// Follows `plan` (lean_plan.hpp): its steps in order, each computed if an input of it in
/// the plan changed, flagged as it would be when scheduled without a plan. The one field
/// flagged when a formula throws out of it is g.current. Out of line: the loops of
/// GraphState::propagate_lean() keep their own inlined copy of the computation; and `r` is
/// not the caller's own LeanRun, which then stays in registers.
[[gnu::noinline]] void follow_plan(GraphState& g, LeanRun& r, const LeanPlan& plan) {
  const std::size_t first_step = plan.sources.size();
  const std::size_t count = plan.steps.size();
  std::uint8_t* const changed = changed_flags(g, first_step, count);
  const LeanPlan::Step* const steps = plan.steps.data();
  const std::uint32_t* const slots = plan.slots.data();
  constexpr std::size_t d = GraphState::kLeanPrefetchDistance;
  for (std::size_t i = 0; i < count; ++i) {
    if (r.prefetch) [[unlikely]] {
      // Only for steps that look as if they will compute (by their first input's flag,
      // which for a step ahead may still be the last commit's: a guess, good across a
      // layer): a listed field left alone must cost no miss.
      auto likely_computed = [&](const LeanPlan::Step& a) {
        return changed[a.count == 1 ? a.slot : slots[a.slot]] != 0;
      };
      if (i + 3 * d < count && likely_computed(steps[i + 3 * d])) r.prefetch_columns(steps[i + 3 * d].node);
      if (i + 2 * d < count && likely_computed(steps[i + 2 * d])) r.prefetch_deps(steps[i + 2 * d].node);
      if (i + d < count && likely_computed(steps[i + d])) r.prefetch_inputs(steps[i + d].node);
    }
    const LeanPlan::Step s = steps[i];
    bool input_changed;
    if (s.count == 1) [[likely]] {
      input_changed = changed[s.slot] != 0;
    } else {
      std::uint8_t any = 0;
      for (std::uint32_t k = s.slot; k < s.slot + s.count; ++k) any |= changed[slots[k]];
      input_changed = any != 0;
    }
    std::uint8_t now = 0;
    if (input_changed) {
      r.node_at[s.node].meta |= kStale | kMarked;
      now = lean_compute(g, r, s.node) ? 1 : 0;
    }
    changed[first_step + i] = now;
  }
  r.settle(g);
}

/// lean_compute() out of line, for what a loop rarely needs.
[[gnu::noinline]] bool lean_compute_rare(GraphState& g, LeanRun& r, NodeId x) { return lean_compute(g, r, x); }

/// What follow_form_plan()'s inner loop reads and never changes.
struct FormLoop {
  const LeanPlan::FormStep* steps;
  std::size_t count;
  const std::uint8_t* changed;  ///< flags by slot: the sources', then the steps'
  std::uint8_t* changed_out;    ///< the steps' flags (changed + the plan's source count)
  NodeRecord* node_at;
  Value* value_at;
  std::uint32_t now_stamp;
  std::uint32_t first_stamp;
};

/// Where follow_form_plan()'s inner loop stands: the step it is at and the room it
/// writes into, made ahead by the outer loop for every step left.
struct FormCursor {
  std::size_t i = 0;
  GraphState::StagedDouble* staged = nullptr;  ///< next staged journal entry
  Freshened* fresh = nullptr;  ///< next entry of g.freshened (history on)
  std::uint64_t kernels_run = 0;
  std::uint64_t skipped = 0;  ///< steps passed over (no input changed)
};

/// Steps from c.i on, each form computed in line, until the end or a step it cannot
/// compute in line (then c.i is that step): an input or the old value not a double, or a
/// result not finite. No call, no throw and no check of room: the loop's state stays in
/// registers, and the outer loop does whatever needs a call. Aligned to a cache line, so
/// that where the loop falls does not move with every change elsewhere in the library
/// (broad and chain moved 5-8% between builds that did not change this file).
template <bool kPrefetch, bool kHistory>
[[gnu::noinline, gnu::aligned(64)]] void forms_in_line(const FormLoop& l, FormCursor& c) {
  const LeanPlan::FormStep* const steps = l.steps;
  const std::size_t count = l.count;
  const std::uint8_t* const changed = l.changed;
  std::uint8_t* const changed_out = l.changed_out;
  NodeRecord* const node_at = l.node_at;
  Value* const value_at = l.value_at;
  const std::uint32_t now_stamp = l.now_stamp;
  const std::uint32_t first_stamp = l.first_stamp;
  GraphState::StagedDouble* staged = c.staged;
  Freshened* fresh = c.fresh;
  constexpr std::size_t d = GraphState::kLeanPrefetchDistance;
  const std::size_t first = c.i;
  const std::uint64_t skipped_before = c.skipped;
  // changed_at and computed_at, side by side in the record, both set to now_stamp.
  static_assert(offsetof(NodeRecord, computed_at) == offsetof(NodeRecord, changed_at) + 4);
  const std::uint64_t both_stamps = std::uint64_t{now_stamp} << 32 | now_stamp;
  std::size_t i = c.i;
  // The field this loop computed last and its value (a double): only this loop writes
  // values while it runs, so the value stays the field's until the loop returns.
  NodeId last_node = kNoNode;
  double last_value = 0;
  for (; i < count; ++i) {
    const LeanPlan::FormStep& s = steps[i];
    if ((changed[s.slot_a] | changed[s.slot_b]) == 0) {
      changed_out[i] = 0;
      ++c.skipped;  // in memory: the loop's registers are for the steps that compute
      continue;
    }
    if constexpr (kPrefetch) {
      if (i + d < count) {
        const LeanPlan::FormStep& ahead = steps[i + d];
        __builtin_prefetch(node_at + ahead.node, 1);
        __builtin_prefetch(value_at + ahead.node, 1);
        __builtin_prefetch(value_at + ahead.in_a);
        __builtin_prefetch(value_at + ahead.in_b);
      }
    }
    const NodeId x = s.node;
    // An input that is the field computed just before (a chain) comes from a register:
    // through memory, each step would wait for the store of the one before it.
    double a;
    double b;
    if (s.in_a == last_node) {
      a = last_value;
    } else {
      const Value& va = value_at[s.in_a];
      if (!va.is_double()) [[unlikely]] break;
      a = va.as_double();
    }
    if (s.in_b == s.in_a) {  // a form of one input (FormStep: in_a twice)
      b = a;
    } else if (s.in_b == last_node) {
      b = last_value;
    } else {
      const Value& vb = value_at[s.in_b];
      if (!vb.is_double()) [[unlikely]] break;
      b = vb.as_double();
    }
    Value& now = value_at[x];
    if (!now.is_double()) [[unlikely]] break;
    double result;
    switch (s.code) {
      case LeanPlan::FormCode::copy: result = a; break;
      case LeanPlan::FormCode::add: result = a + b; break;
      case LeanPlan::FormCode::subtract: result = a - b; break;
      case LeanPlan::FormCode::multiply: result = a * b; break;
      case LeanPlan::FormCode::divide: result = a / b; break;
      case LeanPlan::FormCode::add_c: result = a + s.c; break;
      case LeanPlan::FormCode::subtract_c: result = a - s.c; break;
      case LeanPlan::FormCode::multiply_c: result = a * s.c; break;
      case LeanPlan::FormCode::divide_c: result = a / s.c; break;
      case LeanPlan::FormCode::c_subtract: result = s.c - a; break;
      case LeanPlan::FormCode::c_divide: result = s.c / a; break;
      default: __builtin_unreachable();
    }
    if (!std::isfinite(result)) [[unlikely]] break;
    // As lean_kernel(); a finite result equals the old double by ==. No store that
    // changes nothing: the flags are cleared only where set, and a change writes both
    // stamps with one store.
    NodeRecord& rec = node_at[x];
    const double old = now.as_double();
    if constexpr (kHistory) *fresh++ = Freshened{x, rec.computed_at, false};
    if ((rec.meta & (kStale | kForce | kMarked)) != 0) [[unlikely]] rec.meta &= ~(kStale | kForce | kMarked);
    if (old != result) {
      if (rec.changed_at < first_stamp) *staged++ = GraphState::StagedDouble{x, rec.changed_at, old};
      now.replace_double(result);
      std::memcpy(reinterpret_cast<unsigned char*>(&rec) + offsetof(NodeRecord, changed_at), &both_stamps,
                  sizeof both_stamps);
      changed_out[i] = 1;
    } else {
      rec.computed_at = now_stamp;
      changed_out[i] = 0;
    }
    last_node = x;
    last_value = result;  // x's value now, changed or not (then old == result)
  }
  // Every step from `first` to i computed, but those skipped.
  c.kernels_run += (i - first) - (c.skipped - skipped_before);
  c.i = i;
  c.staged = staged;
  c.fresh = fresh;
}

/// Follows a plan of kernel fields with forms (LeanPlan::form_steps): the same fields as
/// follow_plan() computes, with the same records, each form computed in line from its
/// inputs' values (forms_in_line). A field whose input is not a double, whose result is
/// not finite or whose old value is not a double is computed as follow_plan() computes it
/// (its kernel converts, fails or throws), and so is every field once one has failed.
///
/// Between runs of the inner loop, and so around every call that may throw, r's staged
/// count and g.freshened are exact: room is made for the inner loop only while it runs.
[[gnu::noinline]] void follow_form_plan(GraphState& g, LeanRun& r, const LeanPlan& plan) {
  const std::size_t first_step = plan.sources.size();
  const std::size_t count = plan.form_steps.size();
  std::uint8_t* const changed = changed_flags(g, first_step, count);
  const FormLoop loop{plan.form_steps.data(), count,       changed,     changed + first_step,
                      r.node_at,              r.value_at,  r.now_stamp, r.first_stamp};
  const bool history = r.keep_history;
  FormCursor c;
  while (c.i < count) {
    if (g.conditions.empty()) {  // no failed or blocked field: forms in line
      // Room for an entry of every step left: the inner loop never checks.
      if (r.staged_room - r.staged_count < count - c.i) r.make_room(g, r.staged_count + (count - c.i));
      c.staged = r.staged + r.staged_count;
      const std::size_t fresh_at = g.freshened.size();
      if (history) {
        g.freshened.resize(fresh_at + (count - c.i));
        c.fresh = g.freshened.data() + fresh_at;
      }
      if (r.prefetch) {
        history ? forms_in_line<true, true>(loop, c) : forms_in_line<true, false>(loop, c);
      } else {
        history ? forms_in_line<false, true>(loop, c) : forms_in_line<false, false>(loop, c);
      }
      r.staged_count = static_cast<std::size_t>(c.staged - r.staged);
      if (history) g.freshened.resize(static_cast<std::size_t>(c.fresh - g.freshened.data()));
      if (c.i == count) break;
    }
    // As follow_plan() computes it: through the kernel, or once a field failed (which
    // puts a condition in the graph) through the general routine, which blocks the fields
    // that depend on it.
    const LeanPlan::FormStep& s = loop.steps[c.i];
    if ((changed[s.slot_a] | changed[s.slot_b]) == 0) {
      loop.changed_out[c.i] = 0;
    } else {
      r.node_at[s.node].meta |= kStale | kMarked;
      loop.changed_out[c.i] = lean_compute_rare(g, r, s.node) ? 1 : 0;
    }
    ++c.i;
  }
  r.settle(g);
  r.kernels_run += c.kernels_run;
}

}  // namespace

bool GraphState::lean_lane_compute(LeanLane& lane, NodeId x) {
  NodeRecord& rec = nodes[x];
  const Span ds = rec.deps;
  const NodeId* const inputs = edges.data() + ds.offset;
  Value& now = values[x];
  const LeanKernel kernel = lean_kernels[rec.spec];
  bool same;
  double result = 0;
  Value v;
  // Nothing of x is written before its computation has returned: one that throws leaves x
  // as it was, to be run again by the calling thread (which fails x or rethrows).
  try {
    if (kernel.kernel != nullptr) {
      double local[4];
      double* in = local;
      if (ds.count > 4) [[unlikely]] {
        if (lane.inputs.size() < ds.count) lane.inputs.resize(ds.count);
        in = lane.inputs.data();
      }
      for (std::uint32_t k = 0; k < ds.count; ++k) in[k] = kernel_input(values[inputs[k]], k);
      result = kernel.kernel(std::span<const double>(in, ds.count), x, kernel.data);
      same = same_double(now, result);
    } else {
      const SpecEntry& se = specs[rec.spec];
      Context ctx(*this, x, values.data(), inputs, ds.count);
      v = se.spec.formula(ctx);
      same = se.custom_equality ? se.spec.equality(now, v) : now == v;
    }
  } catch (...) {
    lane.deferred.push_back(x);
    return false;
  }
  ++lane.computed;
  if (options.history_limit > 0) lane.freshened.push_back(Freshened{x, rec.computed_at, false});
  rec.computed_at = stamp;
  rec.meta &= ~(kStale | kForce | kMarked);
  if (same) return false;
  if (rec.changed_at < txn_first_stamp) {
    if (now.is_double()) {
      lane.staged.push_back(StagedDouble{x, rec.changed_at, now.as_double()});
    } else {
      lane.journal.push_back(JournalEntry{x, rec.changed_at, std::move(now)});
    }
  }
  if (kernel.kernel != nullptr) {
    now = Value(result);
  } else {
    now = std::move(v);
  }
  rec.changed_at = stamp;
  return true;
}

namespace {

/// One layer of the unplanned lean commit computed on several lanes (GraphState::LeanLane):
/// what the lanes of one LaneRunner::run() share. The layer's list is in `lanes` pieces:
/// the calling thread's list of height `cur`, then lane u's `now` for u = 1, 2, ...
struct LanesLayer {
  GraphState* g;
  std::uint32_t lanes;
  std::uint32_t cur;
  std::size_t total;  ///< nodes in all pieces
  const NodeId* first;  ///< the calling thread's list of height `cur` ...
  std::size_t first_size;  ///< ... and its count
};

/// Pass 1 on `lane`: computes its share of the layer and sorts the dependents of what
/// changed by owning lane. Runs the visit for the list's entries [begin, end) piece by
/// piece, prefetching ahead as propagate_lean's visit_layer() does (but the dependents'
/// records, which their owner reads in pass 2).
void lanes_compute(void* context, std::uint32_t lane_index) {
  const LanesLayer& layer = *static_cast<const LanesLayer*>(context);
  GraphState& g = *layer.g;
  GraphState::LeanLane& lane = g.lean_lanes[lane_index];
  lane.journal.clear();
  lane.staged.clear();
  lane.freshened.clear();
  lane.deferred.clear();
  for (GraphState::LeanLane::Out& out : lane.out) out.nodes.clear();
  lane.computed = 0;
  lane.failed = false;
  const std::size_t begin = layer.total * lane_index / layer.lanes;
  const std::size_t end = layer.total * (lane_index + 1) / layer.lanes;
  const LeanRun run(g);  // its columns and prefetches (read only: nothing here is staged)
  const NodeRecord* const node_at = run.node_at;
  const NodeId* const edge_data = run.edge_data;
  constexpr std::size_t d = GraphState::kLeanPrefetchDistance;
  try {
    std::size_t first = 0;  // index of piece p's first node in the layer
    for (std::uint32_t p = 0; p < layer.lanes; ++p) {
      const NodeId* const piece = p == 0 ? layer.first : g.lean_lanes[p].now.data();
      const std::size_t size = p == 0 ? layer.first_size : g.lean_lanes[p].now.size();
      const std::size_t from = std::max(begin, first);
      const std::size_t to = std::min(end, first + size);
      first += size;
      if (from >= to) continue;
      const NodeId* const list = piece + (from - (first - size));
      const std::size_t count = to - from;
      // LeanRun's three stages, the dependent list with the dependencies (its dependents'
      // records are prefetched by their owner in pass 2).
      auto lists = [&](NodeId x) {
        run.prefetch_deps(x);
        run.prefetch_dependent_list(x);
      };
      if (run.prefetch) {
        for (std::size_t k = 0; k < std::min(count, 3 * d); ++k) run.prefetch_columns(list[k]);
        for (std::size_t k = 0; k < std::min(count, 2 * d); ++k) lists(list[k]);
        for (std::size_t k = 0; k < std::min(count, d); ++k) run.prefetch_inputs(list[k]);
      }
      for (std::size_t k = 0; k < count; ++k) {
        if (run.prefetch) {
          if (k + 3 * d < count) run.prefetch_columns(list[k + 3 * d]);
          if (k + 2 * d < count) lists(list[k + 2 * d]);
          if (k + d < count) run.prefetch_inputs(list[k + d]);
        }
        const NodeId x = list[k];
        if (!g.lean_lane_compute(lane, x)) continue;
        const Span r = node_at[x].rdeps;
        for (const NodeId *at = edge_data + r.offset, *e = at + r.count; at != e; ++at) {
          lane.out[GraphState::lean_lane_of(*at, layer.lanes)].nodes.push_back(*at);
        }
      }
    }
  } catch (...) {
    lane.failed = true;  // out of memory: the commit rethrows (it is rolled back)
  }
}

/// Pass 2 on `lane`: schedules the dependents it owns, from every lane's share in lane
/// order. REQUIRES: its `next` and `far` have room for them all (no allocation, no throw).
void lanes_schedule(void* context, std::uint32_t lane_index) {
  const LanesLayer& layer = *static_cast<const LanesLayer*>(context);
  GraphState& g = *layer.g;
  GraphState::LeanLane& lane = g.lean_lanes[lane_index];
  const LeanRun run(g);  // its columns and whether to prefetch (read only, as in pass 1)
  NodeRecord* const node_at = run.node_at;
  constexpr std::size_t kAhead = 8;  // records of dependents prefetched this many entries ahead
  for (std::uint32_t t = 0; t < layer.lanes; ++t) {
    const std::vector<NodeId>& out = g.lean_lanes[t].out[lane_index].nodes;
    const std::size_t count = out.size();
    for (std::size_t k = 0; k < count; ++k) {
      if (run.prefetch && k + kAhead < count) __builtin_prefetch(node_at + out[k + kAhead], 1);
      const NodeId dep = out[k];
      const std::uint32_t m = node_at[dep].meta;
      if ((m & kStale) != 0) continue;  // scheduled already
      node_at[dep].meta = m | kStale | kMarked;
      (m >> kFlagBits == layer.cur + 1 ? lane.next : lane.far).push_back(dep);
    }
  }
}

}  // namespace

void GraphState::propagate_lean() {
  if (options.lanes != nullptr && options.lanes->lanes() > 1) {
    propagate_lean_on<true>();
  } else {
    propagate_lean_on<false>();
  }
}

template <bool kLanes>
void GraphState::propagate_lean_on() {
  // Push instead of mark-then-pull. Marking exists for what a lean graph does not have:
  // lazy fields that stay stale (invariant 2), formulas that read undeclared nodes, fields
  // waiting for mirrors, exported fields to report. Here a node is scheduled when an input
  // changed and computed when its height comes up, when every input is final since inputs
  // are lower (invariant 1): glitch-free, each node at most once, and nothing past an
  // unchanged value (the cutoff) is touched at all. Scheduled nodes carry kStale | kMarked
  // as marked ones do, so finish_node() records them as the general path does.
  //
  // Heights come up in order: `cur` is the one being computed. A node scheduled one
  // height above goes to the list `next` (the common case: layers, chains); higher ones
  // to a list per height, found by a bit per height. Once height `cur` is done, the next
  // one is cur + 1 if `next` holds nodes, else the lowest height with a list.
  //
  // Structure does not change while formulas run, and nothing but this loop grows the
  // scratch lists: columns and lists are held in locals, which spares reloading them
  // after every store and every call of a formula (DECISIONS.md "Scalar kernels").
  //
  // When the changed variables have a plan that pays (lean_plan.hpp), follow_plan() walks
  // it instead and nothing is scheduled: the same fields, computed in an order of heights.
  std::uint32_t low = kLeanEnd;  // lowest and highest height with a list
  std::uint32_t high = 0;
  MG_ASSERT(lean_staged_count == 0);
  if (lean_staged.size() < kLeanStagedEntries) lean_staged.resize(kLeanStagedEntries);
  LeanRun run(*this);
  NodeRecord* const node_at = run.node_at;
  const NodeId* const edge_data = run.edge_data;
  std::uint32_t cur = 0;  // variables have height 0
  // lean_scheduled is used up to `scheduled`; its size is the room it has. The same for
  // the two lists of lean_layers: the one computed now and `next`.
  std::uint32_t scheduled = 0;
  LeanEntry* sched = lean_scheduled.data();
  std::size_t sched_room = lean_scheduled.size();
  LeanLevel* levels = lean_levels.data();
  std::size_t level_count = lean_levels.size();
  std::uint64_t* height_bits = lean_height_bits.data();
  int next_list = 0;
  NodeId* next = lean_layers[0].data();
  std::size_t next_room = lean_layers[0].size();
  NodeId* now_list = lean_layers[1].data();  // lean_layers[1 - next_list], the height computed
  std::size_t now_room = lean_layers[1].size();
  std::size_t next_size = 0;
  std::size_t now_size = 0;  // entries of lean_layers[1 - next_list] (the height computed)
  // On a graph larger than the cache, the nodes a commit computes lie scattered over the
  // columns, and each visit would wait for its misses one after the other. So the columns
  // of the nodes a layer will visit are prefetched a few nodes ahead, in three stages
  // (LeanRun): the misses of several nodes then overlap (DECISIONS.md "Engine locality").
  // A graph that fits in the cache skips it: the prefetches would only add instructions.
  const bool prefetch = run.prefetch;
  auto prefetch_columns = [&](NodeId x) __attribute__((always_inline)) { run.prefetch_columns(x); };
  auto prefetch_deps = [&](NodeId x) __attribute__((always_inline)) { run.prefetch_deps(x); };
  auto prefetch_inputs = [&](NodeId x) __attribute__((always_inline)) { run.prefetch_inputs(x); };
  // Visits the `count` nodes at `list` (one layer), prefetching ahead when `prefetch`.
  auto visit_layer = [&](const NodeId* list, std::size_t count, auto&& visit_one)
      __attribute__((always_inline)) {
    constexpr std::size_t d = kLeanPrefetchDistance;
    const bool ahead = prefetch && count > 1;
    // A short layer (a few dependents of one variable) gets each stage for all its nodes
    // at once, so that all their misses of a stage overlap; a long one has its first nodes
    // get their three stages at once, and later ones d, 2d and 3d nodes ahead.
    const bool whole = count <= kLeanPrefetchWholeLayer;
    if (ahead) [[unlikely]] {
      for (std::size_t k = 0; k < (whole ? count : std::min(count, 3 * d)); ++k) prefetch_columns(list[k]);
      for (std::size_t k = 0; k < (whole ? count : std::min(count, 2 * d)); ++k) {
        prefetch_deps(list[k]);
        run.prefetch_dependent_list(list[k]);
      }
      for (std::size_t k = 0; k < (whole ? count : std::min(count, d)); ++k) {
        prefetch_inputs(list[k]);
        run.prefetch_dependents(list[k]);
      }
    }
    const bool each = ahead && !whole;
    // One loop (one copy of the visit), so that the journal push inside stays inlined.
    for (std::size_t k = 0; k < count; ++k) {
      if (each) [[unlikely]] {
        if (k + 3 * d < count) prefetch_columns(list[k + 3 * d]);
        if (k + 2 * d < count) {
          prefetch_deps(list[k + 2 * d]);
          run.prefetch_dependent_list(list[k + 2 * d]);
        }
        if (k + d < count) {
          prefetch_inputs(list[k + d]);
          run.prefetch_dependents(list[k + d]);
        }
      }
      visit_one(list[k]);
    }
  };
  // Lists d, flagged already, at its height h > cur + 1.
  auto schedule_high = [&](NodeId d, std::uint32_t h) __attribute__((always_inline)) {
    if (h >= level_count) [[unlikely]] {
      lean_levels.resize(std::size_t{h} + 1);
      lean_height_bits.resize(std::size_t{h} / 64 + 1);
      levels = lean_levels.data();
      level_count = lean_levels.size();
      height_bits = lean_height_bits.data();
    }
    if (scheduled == sched_room) [[unlikely]] {
      lean_scheduled.resize(std::max<std::size_t>(64, 2 * sched_room));
      sched = lean_scheduled.data();
      sched_room = lean_scheduled.size();
    }
    const std::uint32_t index = scheduled++;
    sched[index] = LeanEntry{d, kLeanEnd};
    LeanLevel& level = levels[h];
    if (level.head == kLeanEnd) {
      level.head = index;
      height_bits[h / 64] |= std::uint64_t{1} << (h % 64);
      low = std::min(low, h);
      high = std::max(high, h);
    } else {
      sched[level.tail].next = index;
    }
    level.tail = index;
  };
  auto schedule_dependents = [&](NodeId n) __attribute__((always_inline)) {
    const Span r = node_at[n].rdeps;
    for (const NodeId *d_at = edge_data + r.offset, *end = d_at + r.count; d_at != end; ++d_at) {
      const NodeId d = *d_at;
      const std::uint32_t m = node_at[d].meta;
      if ((m & kStale) != 0) continue;  // scheduled already
      node_at[d].meta = m | kStale | kMarked;
      const std::uint32_t h = m >> kFlagBits;
      if (h == cur + 1) [[likely]] {
        if (next_size == next_room) [[unlikely]] {
          std::vector<NodeId>& list = lean_layers[next_list];
          list.resize(std::max<std::size_t>(64, 2 * next_room));
          next = list.data();
          next_room = list.size();
        }
        next[next_size++] = d;
        continue;
      }
      schedule_high(d, h);
    }
  };
  auto visit = [&](NodeId x) __attribute__((always_inline)) {
    if (lean_compute(*this, run, x)) schedule_dependents(x);
  };
  // A layer of at least GraphOptions::lanes_min_layer nodes goes to the lanes, if
  // there are several (LeanLane), when no field has failed. Lane u >= 1 then keeps the part
  // of the next height it scheduled in its `next` (side_size nodes in all), which becomes
  // its `now` (side_now) when that height comes up.
  LaneRunner* const runner = options.lanes.get();
  const std::uint32_t lane_count = kLanes ? runner->lanes() : 1;
  if constexpr (kLanes) {
    if (lean_lanes.size() != lane_count) lean_lanes.assign(lane_count, LeanLane{});
    for (LeanLane& lane : lean_lanes) {
      lane.out.resize(lane_count);
      lane.now.clear();
      lane.next.clear();
      lane.far.clear();
    }
  }
  std::size_t side_size = 0;
  std::size_t side_now = 0;
  bool on_lanes = false;  // a layer went to the lanes
  // The lanes' journal entries and fields made fresh join the commit's, in lane order: the
  // old doubles staged after the caller's, the others into the journal (as LeanRun does).
  auto merge_lanes = [&]() {
    for (LeanLane& lane : lean_lanes) {
      journal.values.insert(journal.values.end(), std::make_move_iterator(lane.journal.begin()),
                            std::make_move_iterator(lane.journal.end()));
      lane.journal.clear();
      const std::size_t staged = run.staged_count + lane.staged.size();
      if (staged > run.staged_room) run.make_room(*this, staged);
      std::copy(lane.staged.begin(), lane.staged.end(), run.staged + run.staged_count);
      run.staged_count += lane.staged.size();
      lane.staged.clear();
      freshened.insert(freshened.end(), lane.freshened.begin(), lane.freshened.end());
      lane.freshened.clear();
      computed_count += lane.computed;
      lane.computed = 0;
    }
  };
  // Height `cur` (now_list and the lanes' `now`) computed on the lanes, in two passes.
  auto lanes_layer = [&]() __attribute__((noinline)) {
    on_lanes = true;
    LanesLayer layer{this, lane_count, cur, now_size + side_now, now_list, now_size};
    runner->run(lanes_compute, &layer);
    merge_lanes();
    for (const LeanLane& lane : lean_lanes) {
      if (lane.failed) throw std::bad_alloc();
    }
    // Computations that threw run again here, where a failure is handled (or rethrown);
    // their dependents join lane 0's share.
    for (LeanLane& lane : lean_lanes) {
      for (const NodeId x : lane.deferred) {
        if (!lean_compute(*this, run, x)) continue;
        const Span r = node_at[x].rdeps;
        for (const NodeId* d = edge_data + r.offset, *end = d + r.count; d != end; ++d) {
          lean_lanes[0].out[lean_lane_of(*d, lane_count)].nodes.push_back(*d);
        }
      }
      lane.deferred.clear();
    }
    for (std::uint32_t u = 0; u < lane_count; ++u) {
      std::size_t room = 0;
      for (const LeanLane& lane : lean_lanes) room += lane.out[u].nodes.size();
      MG_ASSERT(lean_lanes[u].next.empty() && lean_lanes[u].far.empty());
      lean_lanes[u].next.reserve(room);
      lean_lanes[u].far.reserve(room);
    }
    runner->run(lanes_schedule, &layer);
    std::vector<NodeId>& mine = lean_lanes[0].next;
    if (next_size + mine.size() > next_room) {
      std::vector<NodeId>& list = lean_layers[next_list];
      list.resize(std::max({std::size_t{64}, 2 * next_room, next_size + mine.size()}));
      next = list.data();
      next_room = list.size();
    }
    std::copy(mine.begin(), mine.end(), next + next_size);
    next_size += mine.size();
    mine.clear();
    for (std::uint32_t u = 1; u < lane_count; ++u) side_size += lean_lanes[u].next.size();
    for (LeanLane& lane : lean_lanes) {
      for (const NodeId d : lane.far) schedule_high(d, height(d));
      lane.far.clear();
    }
  };
  const std::uint64_t computed_before = computed_count;
  LeanRun planned_run = run;
  LeanPlan* plan = nullptr;
  lean_planned = false;
  try {
    lean_sources.clear();
    for (const Written& w : written) {
      if (settle_written(w) != nullptr) lean_sources.push_back(w.node);
    }
    written.clear();
    if (options.plan_after != 0 && !lean_sources.empty()) {
      std::sort(lean_sources.begin(), lean_sources.end());  // distinct: written lists each once
      plan = lean_plans.find(lean_sources, *this);
    }
    if (plan != nullptr && plan->useful) {
      lean_planned = true;
      if (!plan->form_steps.empty()) {
        follow_form_plan(*this, planned_run, *plan);
      } else {
        follow_plan(*this, planned_run, *plan);
      }
      run.resume(*this);
    }
    for (const NodeId source : lean_planned ? std::span<const NodeId>() : std::span<const NodeId>(lean_sources)) {
      if (prefetch) {
        // Scheduling reads the flags of each dependent: fetch them all first.
        const Span r = node_at[source].rdeps;
        for (const NodeId* d = edge_data + r.offset, *end = d + r.count; d != end; ++d) {
          __builtin_prefetch(node_at + *d, 1);
        }
      }
      schedule_dependents(source);
    }
    for (;;) {
      bool listed = true;  // height cur has a list of its own
      if (next_size != 0 || (kLanes && side_size != 0)) {
        // `next` holds height cur now: it is computed, while a new `next` fills up.
        ++cur;
        if (kLanes && side_size != 0) {
          for (std::uint32_t u = 1; u < lane_count; ++u) std::swap(lean_lanes[u].now, lean_lanes[u].next);
          side_now = side_size;
          side_size = 0;
        }
        // The lists trade places (in locals: a swap, no vector read).
        now_size = next_size;
        next_list = 1 - next_list;
        std::swap(next, now_list);
        std::swap(next_room, now_room);
        next_size = 0;
        // (low: no height had a list in this commit, as on chains and layers.)
        listed = low != kLeanEnd && cur < level_count &&
                 (height_bits[cur / 64] >> (cur % 64) & 1) != 0;
      } else {
        // The lowest height with a list: every bit at `cur` and below is clear.
        std::uint32_t h = kLeanEnd;
        for (std::size_t word = cur / 64; low != kLeanEnd && word <= high / 64; ++word) {
          if (const std::uint64_t bits = height_bits[word]; bits != 0) {
            h = static_cast<std::uint32_t>(word * 64 + std::countr_zero(bits));
            break;
          }
        }
        if (h == kLeanEnd) break;
        cur = h;
      }
      if (kLanes && now_size + side_now >= options.lanes_min_layer && conditions.empty()) {
        lanes_layer();
      } else {
        if (now_size != 0) visit_layer(now_list, now_size, visit);
        for (std::uint32_t u = 1; kLanes && side_now != 0 && u < lane_count; ++u) {
          visit_layer(lean_lanes[u].now.data(), lean_lanes[u].now.size(), visit);
        }
      }
      now_size = 0;
      if (kLanes && side_now != 0) {
        for (std::uint32_t u = 1; u < lane_count; ++u) lean_lanes[u].now.clear();
        side_now = 0;
      }
      if (listed) {
        height_bits[cur / 64] &= ~(std::uint64_t{1} << (cur % 64));
        std::uint32_t i = levels[cur].head;
        levels[cur] = LeanLevel{};
        for (; i != kLeanEnd; i = sched[i].next) visit(sched[i].node);
      }
    }
    run.settle(*this);  // finalize_commit() reads the staged entries
    computed_count += run.kernels_run + planned_run.kernels_run;
    stamp_computed = stamp_computed || scheduled != 0 || cur != 0 || (lean_planned && !plan->steps.empty());
    const auto computed = static_cast<std::size_t>(computed_count - computed_before);
    if (plan != nullptr) {
      LeanPlans::note_computed(*plan, computed);
    } else if (options.plan_after != 0 && !on_lanes) {
      // A key whose commits reach layers wide enough for the lanes gets no plan: a plan is
      // followed on the calling thread alone, slower than the lanes (DECISIONS.md "Layers
      // computed on several cores").
      lean_plans.note_unplanned(lean_sources, computed, *this);
    }
  } catch (...) {
    // The lanes' entries not merged yet (an allocation failed in a pass) join first; the
    // nodes their lists hold are flagged, so they go to rollback() with the rest.
    if constexpr (kLanes) {
      merge_lanes();
      for (LeanLane& lane : lean_lanes) {
        for (const std::vector<NodeId>* list : {&lane.now, &lane.next, &lane.far}) {
          marked.insert(marked.end(), list->begin(), list->end());
        }
        lane.now.clear();
        lane.next.clear();
        lane.far.clear();
        lane.deferred.clear();
      }
    }
    // Hand the scheduled nodes to rollback() as marked ones: it makes them fresh again.
    // Those computed already are fresh, but with history they are in `freshened`, which
    // rollback() makes stale: they go to it as well (nothing else is in it yet).
    // rollback() restores the journal: the entries staged go into it first. Of the two
    // runs, the one that ran last has the larger count.
    lean_staged_count = std::max(run.staged_count, planned_run.staged_count);
    unstage_journal();
    computed_count += run.kernels_run + planned_run.kernels_run;
    stamp_computed = true;
    for (const Freshened& f : freshened) marked.push_back(f.node);
    for (std::uint32_t k = 0; k < scheduled; ++k) {
      marked.push_back(sched[k].node);
      levels[height(sched[k].node)] = LeanLevel{};
    }
    for (std::size_t k = 0; k < now_size; ++k) marked.push_back(now_list[k]);
    for (std::size_t k = 0; k < next_size; ++k) marked.push_back(next[k]);
    // A planned commit flags the field it computes, and no other.
    if (lean_planned && current != kNoNode) marked.push_back(current);
    std::fill(lean_height_bits.begin(), lean_height_bits.end(), 0);
    throw;
  }
  current = kNoNode;
}

void GraphState::unwind() {
  for (const Frame& f : frames) clear(f.node, kVisiting);
  frames.clear();
  track.clear();
  current = kNoNode;
}

std::string GraphState::cycle_path(NodeId again) const {
  // The frames from `again` to the top form the cycle: each reads the next.
  std::string path;
  std::size_t start = frames.size();
  for (std::size_t i = frames.size(); i-- > 0;) {
    if (frames[i].node == again) {
      start = i;
      break;
    }
  }
  for (std::size_t i = start; i < frames.size(); ++i) path += name_of(frames[i].node) + " -> ";
  path += name_of(again);
  return path;
}

void GraphState::raise_height(NodeId start, std::uint32_t h_min) {
  // Dependents of a raised node may need raising too. Reaching `start` again would
  // mean a cycle, which marking and the visiting flag rule out before we get here.
  std::vector<std::pair<NodeId, std::uint32_t>> stack{{start, h_min}};
  for (std::size_t steps = 0; !stack.empty(); ++steps) {
    auto [x, h] = stack.back();
    stack.pop_back();
    MG_ASSERT_MSG(steps == 0 || x != start, "height propagation returned to its start: cycle");
    if (height(x) >= h) continue;
    set_height(x, h);
    for (NodeId d : rdeps_of(x)) stack.push_back({d, h + 1});
  }
}

}  // namespace mgraph
