// Transactions: the journal of one open transaction, commit, rollback, undo/redo.
//
// Values change in place; the first change of a node in a transaction saves its old
// value and change stamp in the journal. Rollback restores the journal; commit moves
// it into the bounded undo history. Undo and redo swap a record with the live state,
// so the same record serves both directions.

#include <algorithm>

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
  next_stamp();
}

std::uint32_t GraphState::input_stamp() {
  open_txn();
  if (stamp_computed) next_stamp();
  return stamp;
}

void GraphState::journal_value(NodeId n) {
  if (has(n, kJournaled)) return;
  journal.values.push_back(JournalEntry{n, changed_at[n], values[n]});
  set(n, kJournaled);
}

Status GraphState::write(NodeId n, Value v) {
  const std::uint32_t s = input_stamp();
  if (!has(n, kJournaled)) {
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
  }
  values[n] = std::move(v);
  changed_at[n] = s;
  return Status::ok();
}

void GraphState::rollback() {
  unwind();
  for (std::size_t i = journal.values.size(); i-- > 0;) {
    JournalEntry& e = journal.values[i];
    if (e.node == kNoNode) continue;
    values[e.node] = std::move(e.value);
    changed_at[e.node] = e.changed_at;
    clear(e.node, kJournaled);
  }
  for (std::size_t i = journal.deps.size(); i-- > 0;) {
    set_deps(journal.deps[i].node, journal.deps[i].deps);
  }
  for (NodeId x : marked) clear(x, kStale | kMarked | kMirrorPending);
  for (NodeId x : prestale_cleared) set(x, kStale | kForce);
  for (NodeId x : pending_new) {
    set(x, kStale | kForce);
    computed_at[x] = 0;
  }
  for (const Written& w : written) clear(w.node, kWritten);
  for (const auto& [node, value] : proposals) {
    if (computed_at[node] != 0) clear(node, kForce);
  }
  for (std::uint32_t h = bucket_lo; h <= bucket_hi && h < buckets.size(); ++h) buckets[h].clear();
  bucket_lo = UINT32_MAX;
  bucket_hi = 0;
  written.clear();
  forced.clear();
  proposals.clear();
  marked.clear();
  prestale_cleared.clear();
  deferred.clear();
  blocked.clear();
  exported_marked.clear();
  exported_reported.clear();
  deps_journaled.clear();
  journal.values.clear();
  journal.deps.clear();
  txn_open = false;
}

void GraphState::finalize_commit() {
  last_changed.clear();
  for (const JournalEntry& e : journal.values) {
    if (e.node == kNoNode) continue;
    last_changed.push_back(e.node);
    clear(e.node, kJournaled);
  }
  for (NodeId x : marked) clear(x, kMarked);
  marked.clear();
  prestale_cleared.clear();
  pending_new.erase(std::remove_if(pending_new.begin(), pending_new.end(),
                                   [&](NodeId n) { return computed_at[n] != 0; }),
                    pending_new.end());
  proposals.clear();
  exported_marked.clear();
  exported_reported.clear();
  deps_journaled.clear();
  if (!last_changed.empty()) {
    journal.before = revision;
    journal.after = next_revision++;
    revision = journal.after;
    redo_stack.clear();
    if (options.history_limit > 0) {
      // Drop entries that a write-back made dead before keeping the record.
      auto& v = journal.values;
      v.erase(std::remove_if(v.begin(), v.end(), [](const JournalEntry& e) { return e.node == kNoNode; }),
              v.end());
      undo_stack.push_back(std::move(journal));
      journal = RevisionRecord{};
      while (undo_stack.size() > options.history_limit) undo_stack.pop_front();
    }
  }
  journal.values.clear();
  journal.deps.clear();
  txn_open = false;
}

Result<CommitStats> GraphState::commit() {
  if (!txn_open && pending_new.empty()) return CommitStats{revision, 0, 0};
  open_txn();
  computed_count = 0;
  try {
    mark(nullptr);
    computing = true;
    compute_buckets(nullptr);
  } catch (const CycleError& e) {
    rollback();
    return Status(StatusCode::cycle,
                  "dependency cycle " + e.path + "; the transaction was rolled back");
  } catch (const RejectError& e) {
    rollback();
    return Status(StatusCode::rejected, name_of(e.node) + " rejected the transaction: " + e.reason);
  } catch (const std::exception& e) {
    const std::string where = frames.empty() ? std::string("a formula") : name_of(frames.back().node);
    rollback();
    return Status(StatusCode::formula_error, "formula of " + where + " failed: " + e.what() +
                                                 "; the transaction was rolled back");
  }
  if (!deferred.empty()) {
    return Status(StatusCode::failed_precondition,
                  std::to_string(deferred.size()) +
                      " fields wait for unresolved mirrors; resolve them before commit");
  }
  const std::size_t computed = computed_count;
  finalize_commit();
  return CommitStats{revision, computed, last_changed.size()};
}

void GraphState::swap_record(RevisionRecord& rec) {
  next_stamp();
  for (std::size_t i = rec.values.size(); i-- > 0;) {
    JournalEntry& e = rec.values[i];
    std::swap(values[e.node], e.value);
    std::swap(changed_at[e.node], e.changed_at);
  }
  for (std::size_t i = rec.deps.size(); i-- > 0;) {
    DepsEntry& e = rec.deps[i];
    const std::span<const NodeId> cur = deps_of(e.node);
    std::vector<NodeId> now(cur.begin(), cur.end());
    set_deps(e.node, e.deps);
    e.deps = std::move(now);
  }
  invalidate_lazy_after_swap(rec);
}

void GraphState::invalidate_lazy_after_swap(const RevisionRecord& rec) {
  // Lazy fields computed after the record's revision hold values of the other side
  // of the swap. A lazy field with an eager node downstream was pulled by that node's
  // computation and is consistent; every other lazy field downstream becomes stale.
  // Post-order over dependents gives descendants before ancestors.
  std::unordered_map<NodeId, bool> keep;  // node -> has an eager descendant
  std::vector<std::pair<NodeId, std::uint32_t>> stack;
  std::vector<NodeId> order;
  auto candidate = [&](NodeId d) { return !is_eager(d) && !has(d, kStale); };
  for (const JournalEntry& e : rec.values) {
    for (NodeId d : rdeps_of(e.node)) {
      if (!candidate(d) || keep.count(d) != 0) continue;
      keep[d] = false;
      stack.push_back({d, 0});
      while (!stack.empty()) {
        auto& [x, i] = stack.back();
        const std::span<const NodeId> rd = rdeps_of(x);
        if (i < rd.size()) {
          const NodeId y = rd[i++];
          if (candidate(y) && keep.count(y) == 0) {
            keep[y] = false;
            stack.push_back({y, 0});
          }
          continue;
        }
        bool eager_below = false;
        for (NodeId y : rd) {
          if (is_eager(y)) eager_below = true;
          auto it = keep.find(y);
          if (it != keep.end() && it->second) eager_below = true;
        }
        keep[x] = eager_below;
        order.push_back(x);
        stack.pop_back();
      }
    }
  }
  for (NodeId x : order) {
    if (!keep[x]) set(x, kStale | kForce);
  }
}

Status undo_precondition(const GraphState& g) {
  if (g.txn_open) {
    return Status(StatusCode::failed_precondition,
                  "a transaction is open: commit() or reject() it before undo/redo");
  }
  return Status::ok();
}

void GraphState::renormalize_stamps() {
  // Bring every stale lazy field up to date so stamps carry no information any more,
  // then restart the clock. Runs once per ~4 billion transactions.
  for (NodeId n = 0; n < values.size(); ++n) {
    if (!has(n, kStale) || computed_at[n] == 0) continue;
    try {
      if (ensure(n)) continue;
    } catch (...) {
      unwind();
    }
    set(n, kForce);
  }
  for (NodeId n = 0; n < values.size(); ++n) {
    changed_at[n] = 1;
    if (computed_at[n] != 0) computed_at[n] = 1;
  }
  for (auto& rec : undo_stack) {
    for (auto& e : rec.values) e.changed_at = 1;
  }
  for (auto& rec : redo_stack) {
    for (auto& e : rec.values) e.changed_at = 1;
  }
  stamp = 1;
  stamp_computed = false;
}

const Value& GraphState::read(NodeId n, Status* error) {
  if (!has(n, kStale) && written.empty() && forced.empty()) return values[n];
  try {
    if (!written.empty() || !forced.empty()) mark(nullptr);
    ensure(n);
  } catch (const CycleError& e) {
    unwind();
    if (error) *error = Status(StatusCode::cycle, "dependency cycle " + e.path);
  } catch (const RejectError& e) {
    unwind();
    if (error) *error = Status(StatusCode::rejected, name_of(e.node) + " rejected: " + e.reason);
  } catch (const BlockedError&) {
    unwind();
    if (error) {
      *error = Status(StatusCode::failed_precondition, name_of(n) + " waits for a mirror");
    }
  } catch (const std::exception& e) {
    const std::string where = frames.empty() ? name_of(n) : name_of(frames.back().node);
    unwind();
    if (error) *error = Status(StatusCode::formula_error, "formula of " + where + " failed: " + e.what());
  }
  return values[n];
}

}  // namespace mgraph
