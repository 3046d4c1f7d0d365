// Transactions: the journal of one open transaction, commit, rollback, undo/redo.
//
// Values change in place; the first change of a node in a transaction saves its old
// value and change stamp in the journal. Rollback restores the journal; commit moves
// it into the bounded undo history. Undo and redo swap a record with the live state,
// so the same record serves both directions.

#include <algorithm>
#include <bit>

#include "graph_state.hpp"

namespace mgraph {

namespace {
// Stamps left for one transaction before the wrap-around renormalization.
constexpr std::uint32_t kStampHeadroom = 1u << 20;
}  // namespace

std::uint32_t GraphState::next_stamp() {
  MG_ASSERT_MSG(stamp < UINT32_MAX - 1, "change stamp exhausted inside one transaction");
  stamp_computed = false;
  return ++stamp;
}

void GraphState::open_txn() {
  if (txn_open) return;
  if (stamp >= UINT32_MAX - kStampHeadroom) renormalize_stamps();
  txn_open = true;
  computing = false;
  txn_first_stamp = next_stamp();
  // Lazy fields read since they were defined are no longer new.
  pending_new.erase(std::remove_if(pending_new.begin(), pending_new.end(),
                                   [&](NodeId n) { return nodes[n].computed_at != 0; }),
                    pending_new.end());
}

std::uint32_t GraphState::input_stamp() {
  open_txn();
  if (stamp_computed) next_stamp();
  return stamp;
}

void GraphState::journal_value(NodeId n) {
  if (journaled(n)) return;
  journal.values.push_back(JournalEntry{n, nodes[n].changed_at, values[n]});
}

Status GraphState::write(NodeId n, Value v) {
  if (computed_in_txn) reset_computations();
  const std::uint32_t s = input_stamp();
  if (!journaled(n)) {
    journal_value(n);
    written.push_back(Written{n, static_cast<std::uint32_t>(journal.values.size() - 1)});
    set(n, kWritten);
  } else if (!has(n, kWritten)) {
    // Journaled by an earlier write in this transaction that mark() already handled.
    std::uint32_t index = 0;
    for (std::size_t i = journal.values.size(); i-- > 0;) {
      if (journal.values[i].node == n) {
        index = static_cast<std::uint32_t>(i);
        break;
      }
    }
    written.push_back(Written{n, index});
    set(n, kWritten);
    rewritten = true;
  }
  values[n] = std::move(v);
  nodes[n].changed_at = s;
  return Status::ok();
}

void GraphState::unstage_journal() {
  if (lean_staged_count == 0) return;
  journal.values.reserve(journal.values.size() + lean_staged_count);
  for (std::size_t k = 0; k < lean_staged_count; ++k) {
    const StagedDouble& e = lean_staged[k];
    journal.values.push_back(JournalEntry{e.node, e.changed_at, Value(e.value)});
  }
  lean_staged_count = 0;
}

void GraphState::rollback() {
  unstage_journal();
  unwind();
  for (std::size_t i = journal.values.size(); i-- > 0;) {
    JournalEntry& e = journal.values[i];
    if (e.node == kNoNode) continue;
    values[e.node] = std::move(e.value);
    nodes[e.node].changed_at = e.changed_at;
  }
  for (std::size_t i = journal.deps.size(); i-- > 0;) {
    set_deps(journal.deps[i].node, journal.deps[i].deps);
  }
  for (std::size_t i = journal.conditions.size(); i-- > 0;) swap_condition(journal.conditions[i]);
  journal.conditions.clear();
  // Whatever this transaction brought up to date was stale before it: stale again,
  // with its old computation stamp. Then nodes this transaction marked were fresh.
  for (std::size_t i = freshened.size(); i-- > 0;) {
    nodes[freshened[i].node].computed_at = freshened[i].computed_at;
    set(freshened[i].node, kStale);
  }
  for (NodeId x : marked) clear(x, kStale | kMarked);
  for (NodeId x : marked_mirrors) clear(x, kStale | kMirrorPending);
  marked_mirrors.clear();
  for (NodeId x : pending_new) {
    set(x, kStale | kForce);
    nodes[x].computed_at = 0;
  }
  for (const Written& w : written) clear(w.node, kWritten);
  for (NodeId n : forced_txn) {
    if (nodes[n].computed_at != 0) clear(n, kForce);
  }
  marked_pos = 0;
  queue.clear();
  queue_pos = 0;
  written.clear();
  forced.clear();
  forced_txn.clear();
  proposals.clear();
  kept.clear();
  marked.clear();
  freshened.clear();
  computed_in_txn = false;
  rewritten = false;
  clear_waiting();
  exported_marked.clear();
  exported_listed.clear();
  exported_stale_reported = 0;
  exported_taken_back = false;
  exported_reported.clear();
  exported_done.clear();
  deps_journaled.clear();
  clear_input_logs();
  journal.values.clear();
  journal.deps.clear();
  txn_open = false;
}

void GraphState::reset_computations() {
  unstage_journal();
  unwind();
  if (computing) exported_taken_back = true;
  for (std::size_t i = journal.values.size(); i-- > 0;) {
    JournalEntry& e = journal.values[i];
    if (e.node == kNoNode || is_variable(e.node)) continue;
    values[e.node] = std::move(e.value);
    nodes[e.node].changed_at = e.changed_at;
    e.node = kNoNode;
  }
  for (std::size_t i = journal.deps.size(); i-- > 0;) {
    set_deps(journal.deps[i].node, journal.deps[i].deps);
  }
  journal.deps.clear();
  deps_journaled.clear();
  // Every condition belongs to a derived node: all of them go back.
  for (std::size_t i = journal.conditions.size(); i-- > 0;) swap_condition(journal.conditions[i]);
  journal.conditions.clear();
  for (std::size_t i = freshened.size(); i-- > 0;) {
    nodes[freshened[i].node].computed_at = freshened[i].computed_at;
    set(freshened[i].node, kStale);
  }
  freshened.clear();
  for (NodeId x : marked) set(x, kStale);
  // Marked nodes keep the computation stamp of this transaction; a new stamp on the
  // inputs still changed makes them recompute, exactly as in a fresh transaction.
  const std::uint32_t s = next_stamp();
  for (const JournalEntry& e : journal.values) {
    if (e.node != kNoNode) nodes[e.node].changed_at = s;
  }
  for (NodeId n : forced_txn) set(n, kForce);
  marked_pos = 0;
  queue.clear();
  queue_pos = 0;
  for (NodeId n : forced_txn) {
    if (has(n, kStale)) queue.push_back(n);
  }
  for (NodeId n : pending_new) {
    if (has(n, kStale)) queue.push_back(n);
  }
  clear_waiting();
  exported_reported.clear();
  exported_done.clear();
  computed_in_txn = false;
}

void GraphState::push_revision(RevisionRecord rec) {
  rec.before = revision;
  rec.after = next_revision++;
  revision = rec.after;
  redo_stack.clear();
  if (options.history_limit > 0) {
    if (!undo_stack.empty()) {
      for (auto& r : ambient) undo_stack.back().after_pulls.push_back(std::move(r));
    }
    ambient.clear();
    undo_stack.push_back(std::move(rec));
    while (undo_stack.size() > options.history_limit) undo_stack.pop_front();
  }
}

bool GraphState::changed_back(const JournalEntry& e) const {
  return spec_of(e.node).custom_equality ? spec_of(e.node).spec.equality(e.value, values[e.node])
                                         : e.value == values[e.node];
}

std::optional<CommitPreview> GraphState::preview_commit() const {
  // Left to compute: fields that wait, or (with no transaction open) fields added since
  // the last commit, which commit() computes. A marked mirror still unresolved holds
  // nothing back when no field waits: its own change is not listed.
  if (!waiting_for.empty()) return std::nullopt;
  CommitPreview out{revision, {}};
  if (!txn_open) {
    if (!pending_new.empty()) return std::nullopt;
    return out;
  }
  // finalize_commit()'s list, without changing anything.
  MG_ASSERT(lean_staged_count == 0);  // staged only within commit()
  for (const JournalEntry& e : journal.values) {
    if (e.node == kNoNode || (rewritten && changed_back(e)) || !is_eager(e.node)) continue;
    out.changed.push_back(e.node);
  }
  if (!out.changed.empty()) out.revision = next_revision;
  return out;
}

void GraphState::finalize_commit() {
  const bool keep_history = options.history_limit > 0;
  // The staged entries stay apart only on the common path below, which lists them too.
  if (rewritten || keep_history || lean_blockers != 0) unstage_journal();
  last_changed.clear();
  if (!rewritten) {
    // The common case, in one pass without growth checks: every entry is a change.
    const std::size_t entries = journal.values.size() + lean_staged_count;
    if (last_changed.capacity() < entries) {
      // The capacities push_back would have grown to.
      last_changed.reserve(std::bit_ceil(entries));
    }
    last_changed.resize(entries);
    NodeId* out = last_changed.data();
    if (lean_blockers == 0) {
      // No lazy field in the graph (they keep commits off the lean path): no node to look at.
      for (const JournalEntry& e : journal.values) {
        *out = e.node;
        out += e.node != kNoNode ? 1 : 0;
      }
      for (std::size_t k = 0; k < lean_staged_count; ++k) *out++ = lean_staged[k].node;
      lean_staged_count = 0;
    } else {
      for (const JournalEntry& e : journal.values) {
        // A lazy field filling its cache is not a change of the graph's state.
        if (e.node != kNoNode && is_eager(e.node)) *out++ = e.node;  // variables are never lazy
      }
    }
    last_changed.resize(static_cast<std::size_t>(out - last_changed.data()));
  } else {
    for (JournalEntry& e : journal.values) {
      if (e.node == kNoNode) continue;
      // Only a variable written again after a mark() can end where it started.
      if (changed_back(e)) {
        // Changed and changed back within the transaction: not a change.
        nodes[e.node].changed_at = e.changed_at;
        e.node = kNoNode;
        continue;
      }
      if (is_eager(e.node)) last_changed.push_back(e.node);
    }
  }
  RevisionRecord rec;
  for (NodeId x : marked) {
    clear(x, kMarked);
    if (keep_history && has(x, kStale)) rec.left_stale.push_back(x);
  }
  if (keep_history) {
    rec.values = std::move(journal.values);
    rec.values.erase(std::remove_if(rec.values.begin(), rec.values.end(),
                                    [](const JournalEntry& e) { return e.node == kNoNode; }),
                     rec.values.end());
    rec.deps = std::move(journal.deps);
    rec.conditions = std::move(journal.conditions);
    rec.freshened = std::move(freshened);
    journal = RevisionRecord{};
    freshened = {};
  }
  marked.clear();
  marked_mirrors.clear();
  clear_waiting();  // nothing waits (commit() checked): what a round left of its bookkeeping
  marked_pos = 0;
  queue.clear();
  queue_pos = 0;
  freshened.clear();
  computed_in_txn = false;
  rewritten = false;
  forced_txn.clear();
  pending_new.erase(std::remove_if(pending_new.begin(), pending_new.end(),
                                   [&](NodeId n) { return nodes[n].computed_at != 0; }),
                    pending_new.end());
  proposals.clear();
  kept.clear();
  exported_marked.clear();
  exported_listed.clear();
  exported_stale_reported = 0;
  exported_taken_back = false;
  exported_reported.clear();
  exported_done.clear();
  deps_journaled.clear();
  clear_input_logs();
  if (!last_changed.empty()) {
    push_revision(std::move(rec));
  } else if (keep_history) {
    // No value changed, but flags, stamps and dependencies may have: they go with
    // the pulls since the last revision, which undo takes back first.
    if (!rec.empty()) ambient.push_back(std::move(rec));
  }
  journal.values.clear();
  journal.deps.clear();
  journal.conditions.clear();
  txn_open = false;
  trim_scratch();
}

void GraphState::trim_scratch() {
  // A huge transaction (the first evaluation of a large graph) must not pin its
  // scratch memory for the graph's lifetime; ordinary ones keep their capacity.
  constexpr std::size_t kScratchKeepMax = std::size_t{1} << 16;
  auto trim = [](auto& v) {
    if (v.capacity() > kScratchKeepMax) {
      v.clear();
      v.shrink_to_fit();
    }
  };
  trim(journal.values);
  trim(marked);
  trim(queue);
  trim(freshened);
  trim(mark_stack);
  trim(pending_new);
  trim(forced_txn);
  trim(lean_scheduled);
  trim(lean_layers[0]);
  trim(lean_layers[1]);
  trim(lean_changed);
  if (lean_staged.size() > kScratchKeepMax) {
    lean_staged.resize(kLeanStagedEntries);
    lean_staged.shrink_to_fit();
  }
  // The height lists and their bits go together (both are empty between commits).
  if (lean_levels.capacity() > kScratchKeepMax) {
    trim(lean_levels);
    lean_height_bits.clear();
    lean_height_bits.shrink_to_fit();
  }
}

Result<CommitStats> GraphState::commit() {
  if (!txn_open && pending_new.empty()) {
    last_changed.clear();
    return CommitStats{revision, 0, 0};
  }
  open_txn();
  const std::uint64_t computed_before = computed_count;
  const bool lean = lean_eligible();
  try {
    if (lean) {
      propagate_lean();
    } else {
      mark();
      computing = true;
      compute_pending(nullptr);
    }
  } catch (...) {
    const Status failed = failure_status(std::current_exception(), kNoNode);
    rollback();
    return Status(failed.code(), failed.message() + "; the transaction was rolled back");
  }
  std::size_t unresolved = 0;
  for (NodeId m : marked_mirrors) unresolved += has(m, kMirrorPending) ? 1 : 0;
  if (unresolved != 0 || !waiting_for.empty()) unstage_journal();  // the transaction stays open
  if (unresolved != 0 && waiting_for.empty()) {
    return Status(StatusCode::failed_precondition,
                  std::to_string(unresolved) + " mirrors were marked stale and not resolved");
  }
  if (!waiting_for.empty()) {
    return Status(StatusCode::failed_precondition,
                  std::to_string(waiting_for.size()) +
                      " fields wait for unresolved mirrors; resolve them before commit");
  }
  const auto computed = static_cast<std::size_t>(computed_count - computed_before);
  finalize_commit();
  return CommitStats{revision, computed, last_changed.size(), lean, lean && lean_planned};
}

void GraphState::unapply(RevisionRecord& rec) {
  // What followed the revision is taken back first, and kept: redo replays it.
  for (std::size_t i = rec.after_pulls.size(); i-- > 0;) unapply(rec.after_pulls[i]);
  for (NodeId n : rec.left_stale) clear(n, kStale);
  for (std::size_t i = rec.values.size(); i-- > 0;) {
    JournalEntry& e = rec.values[i];
    std::swap(values[e.node], e.value);
    std::swap(nodes[e.node].changed_at, e.changed_at);
  }
  for (std::size_t i = rec.deps.size(); i-- > 0;) {
    DepsEntry& e = rec.deps[i];
    const std::span<const NodeId> cur = deps_of(e.node);
    std::vector<NodeId> now(cur.begin(), cur.end());
    set_deps(e.node, e.deps);
    e.deps = std::move(now);
  }
  for (std::size_t i = rec.conditions.size(); i-- > 0;) swap_condition(rec.conditions[i]);
  for (std::size_t i = rec.freshened.size(); i-- > 0;) {
    Freshened& f = rec.freshened[i];
    std::swap(nodes[f.node].computed_at, f.computed_at);
    if (f.was_stale) set(f.node, kStale);
  }
}

void GraphState::apply(RevisionRecord& rec) {
  for (Freshened& f : rec.freshened) {
    std::swap(nodes[f.node].computed_at, f.computed_at);
    clear(f.node, kStale);
  }
  for (DepsEntry& e : rec.deps) {
    const std::span<const NodeId> cur = deps_of(e.node);
    std::vector<NodeId> now(cur.begin(), cur.end());
    set_deps(e.node, e.deps);
    e.deps = std::move(now);
  }
  for (ConditionEntry& e : rec.conditions) swap_condition(e);
  for (JournalEntry& e : rec.values) {
    std::swap(values[e.node], e.value);
    std::swap(nodes[e.node].changed_at, e.changed_at);
  }
  for (NodeId n : rec.left_stale) set(n, kStale);
  for (RevisionRecord& r : rec.after_pulls) apply(r);
}

void GraphState::renormalize_stamps() {
  // Bring every stale lazy field up to date so stamps carry no information any more,
  // then restart the clock. Runs once per ~4 billion transactions.
  for (NodeId n = 0; n < values.size(); ++n) {
    if (!has(n, kStale) || nodes[n].computed_at == 0) continue;
    try {
      if (ensure(n)) continue;
    } catch (...) {
      unwind();
    }
    set(n, kForce);
  }
  for (NodeId n = 0; n < values.size(); ++n) {
    nodes[n].changed_at = 1;
    if (nodes[n].computed_at != 0) nodes[n].computed_at = 1;
  }
  clamp_history_stamps(1);
  stamp = 1;
  stamp_computed = false;
}

void GraphState::clamp_history_stamps(std::uint32_t s) {
  // Stamps inside history records must stay comparable with the live ones. A node
  // that a record would make stale again gets computed_at 0, so it recomputes once
  // when read, which is what its staleness meant.
  auto clamp = [s](RevisionRecord& rec, auto& self) -> void {
    for (auto& e : rec.values) e.changed_at = std::min(e.changed_at, s);
    for (auto& f : rec.freshened) f.computed_at = f.was_stale || f.computed_at == 0 ? 0 : s;
    for (auto& r : rec.after_pulls) self(r, self);
  };
  for (auto& rec : undo_stack) clamp(rec, clamp);
  for (auto& rec : redo_stack) clamp(rec, clamp);
  for (auto& rec : ambient) clamp(rec, clamp);
}

const Value& GraphState::txn_start_value(NodeId n) const {
  MG_ASSERT(lean_staged_count == 0);  // a lean commit unstages before any formula runs
  if (journaled(n)) {
    for (std::size_t i = journal.values.size(); i-- > 0;) {
      if (journal.values[i].node == n) return journal.values[i].value;
    }
  }
  return values[n];
}

const Value& GraphState::read(NodeId n, Status* error) {
  if (!has(n, kStale) && written.empty() && forced.empty()) return values[n];
  try {
    if (!written.empty() || !forced.empty()) mark();
    // Only a read that computes makes a later write undo computations.
    if (txn_open && has(n, kStale)) computed_in_txn = true;
    ensure(n);
  } catch (...) {
    const Status failed = failure_status(std::current_exception(), n);
    unwind();
    if (error) *error = failed;
  }
  return values[n];
}

Status GraphState::failure_status(std::exception_ptr failure, NodeId reading) const {
  try {
    std::rethrow_exception(failure);
  } catch (const CycleError& e) {
    return Status(StatusCode::cycle, "dependency cycle " + e.path);
  } catch (const RejectError& e) {
    return Status(StatusCode::rejected, name_of(e.node) + " rejected the transaction: " + e.reason);
  } catch (const InputFailed& e) {
    return Status(StatusCode::formula_error, running_node_name() + " reads " + name_of(e.cause) +
                                                 ", whose formula failed");
  } catch (const BlockedError&) {
    return Status(StatusCode::failed_precondition,
                  (reading == kNoNode ? std::string("a field") : name_of(reading)) +
                      " waits for an unresolved mirror");
  } catch (const std::exception& e) {
    const bool nothing_running = frames.empty() && current == kNoNode;
    const std::string where =
        nothing_running && reading != kNoNode ? name_of(reading) : running_node_name();
    return Status(StatusCode::formula_error, "formula of " + where + " failed: " + e.what());
  } catch (...) {
    return Status(StatusCode::formula_error,
                  "formula of " + running_node_name() + " threw something that is not a std::exception");
  }
}

}  // namespace mgraph
