// Graph::export_image / import_image: the state of a graph as plain data (image.hpp).

#include <algorithm>
#include <iterator>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "graph_state.hpp"
#include "mgraph/graph/hash.hpp"
#include "mgraph/graph/image.hpp"

namespace mgraph {
namespace {

/// Flags that are state (kept in an image); the others follow the structure (kLazy),
/// the owner (kObserved, kExported) or exist only inside a transaction.
constexpr std::uint32_t kImageFlags = kStale | kForce;
/// Flags an import keeps from the graph it fills: every flag that is neither state nor
/// transient, i.e. those that follow the structure or the owner (kLazy, kObserved,
/// kExported and any structure flag added later).
constexpr std::uint32_t kKeptFlags =
    kFlagMask & ~(kImageFlags | kWritten | kVisiting | kMirrorPending);

Status bad_image(const std::string& what) {
  return Status(StatusCode::invalid_argument, "graph image: " + what);
}

/// Checks that every node id a history record names is below `n`, recursively.
/// A condition naming nodes in range with a state it may have: failed names the field
/// itself, blocked another field; ok (only in history: the condition before a change)
/// names none. Any other state is no state.
bool condition_valid(const ConditionEntry& c, std::size_t n, bool ok_allowed) {
  if (c.node >= n) return false;
  switch (c.condition.state) {
    case FieldState::ok: return ok_allowed;
    case FieldState::failed: return c.condition.cause == c.node;
    case FieldState::blocked: return c.condition.cause < n && c.condition.cause != c.node;
  }
  return false;
}

bool record_in_range(const RevisionRecord& r, std::size_t n, std::size_t depth) {
  if (depth > 64) return false;
  for (const JournalEntry& e : r.values) {
    if (e.node >= n) return false;
  }
  for (const DepsEntry& e : r.deps) {
    if (e.node >= n) return false;
    for (NodeId d : e.deps) {
      if (d >= n) return false;
    }
  }
  for (const Freshened& f : r.freshened) {
    if (f.node >= n) return false;
  }
  for (NodeId x : r.left_stale) {
    if (x >= n) return false;
  }
  for (const ConditionEntry& c : r.conditions) {
    if (!condition_valid(c, n, true)) return false;
  }
  for (const RevisionRecord& a : r.after_pulls) {
    if (!record_in_range(a, n, depth + 1)) return false;
  }
  return true;
}

/// Flattens per-node edge lists into offsets + ids.
void flatten(const GraphState& g, Span NodeRecord::*field, std::vector<std::uint64_t>* offsets,
             std::vector<NodeId>* ids) {
  offsets->reserve(g.nodes.size() + 1);
  offsets->push_back(0);
  for (const NodeRecord& r : g.nodes) {
    const std::span<const NodeId> list = g.edges.get(r.*field);
    ids->insert(ids->end(), list.begin(), list.end());
    offsets->push_back(ids->size());
  }
}

/// Whether offsets/ids describe `n` lists of node ids below `n`.
bool lists_valid(const std::vector<std::uint64_t>& offsets, const std::vector<NodeId>& ids,
                 std::size_t n) {
  if (offsets.size() != n + 1 || offsets.front() != 0 || offsets.back() != ids.size()) return false;
  for (std::size_t i = 0; i < n; ++i) {
    if (offsets[i] > offsets[i + 1] || offsets[i + 1] - offsets[i] > EdgeArena::list_max) {
      return false;
    }
  }
  return std::all_of(ids.begin(), ids.end(), [n](NodeId d) { return d < n; });
}

/// Graph invariants 1-4 (graph.hpp) over the state in `im`, with the structure of `g`:
/// which nodes are variables, and which are eager (lazy flags follow the structure,
/// observed and exported flags stay as they are in `g`). REQUIRES: the per-node arrays
/// have g's node count and the edge lists are valid (lists_valid).
Status check_image_invariants(const GraphState& g, const GraphImage& im) {
  const std::size_t n = im.values.size();
  auto height = [&im](std::size_t x) { return im.meta[x] >> kFlagBits; };
  auto stale = [&im](std::size_t x) { return (im.meta[x] & kStale) != 0; };
  auto list = [](const std::vector<std::uint64_t>& offsets, const std::vector<NodeId>& ids,
                 std::size_t x) {
    return std::span<const NodeId>(ids.data() + offsets[x], offsets[x + 1] - offsets[x]);
  };
  // Every edge as (input << 32 | dependent), once from each side: equal when sorted.
  std::vector<std::uint64_t> forward, backward;
  forward.reserve(im.dep_ids.size());
  backward.reserve(im.rdep_ids.size());
  for (std::size_t x = 0; x < n; ++x) {
    auto where = [x] { return "node " + std::to_string(x); };
    if (g.is_variable(static_cast<NodeId>(x)) && height(x) != 0)
      return bad_image("variable " + std::to_string(x) + " has height " +
                       std::to_string(height(x)));
    for (const NodeId d : list(im.dep_offsets, im.dep_ids, x)) {
      if (height(x) <= height(d)) {
        return bad_image(where() + " (height " + std::to_string(height(x)) +
                         ") is not above its input " + std::to_string(d) + " (height " +
                         std::to_string(height(d)) + ")");
      }
      forward.push_back((std::uint64_t{d} << 32) | x);
    }
    for (const NodeId r : list(im.rdep_offsets, im.rdep_ids, x))
      backward.push_back((std::uint64_t{x} << 32) | r);
    if (stale(x) && im.computed_at[x] != 0) {
      for (const NodeId r : list(im.rdep_offsets, im.rdep_ids, x)) {
        if (!stale(r))
          return bad_image(where() + " is stale but its dependent " + std::to_string(r) +
                           " is not");
      }
      if (g.is_eager(static_cast<NodeId>(x))) return bad_image("eager " + where() + " is stale");
    }
  }
  std::sort(forward.begin(), forward.end());
  std::sort(backward.begin(), backward.end());
  if (forward != backward)
    return bad_image("dependency and dependent lists do not list the same edges");
  return Status::ok();
}

}  // namespace

std::uint64_t Graph::shape() const {
  const GraphState& g = state();
  // Over the node count, the spec count and each node's spec id.
  Fnv1a64 h;
  h.u64(g.values.size()).u64(g.specs.size()).u64(g.groups.size());
  for (const NodeRecord& r : g.nodes) h.u64(r.spec);
  return h.value();
}

Result<GraphImage> Graph::export_image() const {
  const GraphState& g = state();
  if (g.txn_open) {
    return Status(StatusCode::failed_precondition,
                  "export_image() inside an open transaction: commit() or reject() it first");
  }
  GraphImage im;
  im.shape = shape();
  const std::size_t n = g.values.size();
  im.values.assign(g.values.begin(), g.values.end());
  im.meta.resize(n);
  for (std::size_t x = 0; x < n; ++x) {
    im.meta[x] = (g.nodes[x].meta & ~kFlagMask) | (g.nodes[x].meta & kImageFlags);
  }
  im.changed_at.resize(n);
  im.computed_at.resize(n);
  for (std::size_t x = 0; x < n; ++x) {
    im.changed_at[x] = g.nodes[x].changed_at;
    im.computed_at[x] = g.nodes[x].computed_at;
  }
  flatten(g, &NodeRecord::deps, &im.dep_offsets, &im.dep_ids);
  flatten(g, &NodeRecord::rdeps, &im.rdep_offsets, &im.rdep_ids);
  for (const GroupState& gs : g.groups) im.group_keep.push_back(gs.keep);
  im.stamp = g.stamp;
  im.txn_first_stamp = g.txn_first_stamp;
  im.stamp_computed = g.stamp_computed;
  im.revision = g.revision;
  im.next_revision = g.next_revision;
  im.last_changed = g.last_changed;
  im.pending_new = g.pending_new;
  im.forced = g.forced;
  im.undo.assign(g.undo_stack.begin(), g.undo_stack.end());
  im.redo = g.redo_stack;
  im.ambient = g.ambient;
  im.conditions.reserve(g.conditions.size());
  for (const auto& [node, condition] : g.conditions) im.conditions.push_back(ConditionEntry{node, condition});
  std::sort(im.conditions.begin(), im.conditions.end(),
            [](const ConditionEntry& a, const ConditionEntry& b) { return a.node < b.node; });
  return im;
}

Status Graph::import_image(GraphImage im) {
  const GraphState& cur = state();
  if (cur.txn_open) {
    return Status(StatusCode::failed_precondition,
                  "import_image() inside an open transaction: commit() or reject() it first");
  }
  const std::size_t n = cur.values.size();
  if (im.shape != shape()) {
    return Status(StatusCode::failed_precondition,
                  "graph image: taken from a graph of another structure (shape " +
                      std::to_string(im.shape) + ", this graph " + std::to_string(shape()) +
                      ", " + std::to_string(n) + " nodes)");
  }
  // Everything is checked before anything changes.
  if (im.values.size() != n || im.meta.size() != n || im.changed_at.size() != n ||
      im.computed_at.size() != n) {
    return bad_image("per-node arrays do not have " + std::to_string(n) + " entries");
  }
  if (!lists_valid(im.dep_offsets, im.dep_ids, n) || !lists_valid(im.rdep_offsets, im.rdep_ids, n)) {
    return bad_image("dependency lists are malformed or name nodes out of range");
  }
  for (std::size_t x = 0; x < n; ++x) {
    if ((im.meta[x] & kFlagMask & ~kImageFlags) != 0)
      return bad_image("node " + std::to_string(x) + " has transient flags set");
    if ((im.meta[x] & kStale) != 0 && cur.is_variable(static_cast<NodeId>(x)))
      return bad_image("variable " + std::to_string(x) + " is marked stale");
  }
  if (Status s = check_image_invariants(cur, im); !s.is_ok()) return s;
  if (im.group_keep.size() != cur.groups.size()) return bad_image("wrong number of cycle groups");
  for (std::size_t i = 0; i < cur.groups.size(); ++i) {
    if (im.group_keep[i].size() != cur.groups[i].members.size())
      return bad_image("keep flags of cycle group " + std::to_string(i) + " have the wrong size");
  }
  auto in_range = [n](const std::vector<NodeId>& v) {
    return std::all_of(v.begin(), v.end(), [n](NodeId x) { return x < n; });
  };
  if (!in_range(im.last_changed) || !in_range(im.pending_new) || !in_range(im.forced))
    return bad_image("node lists name nodes out of range");
  for (const auto* stack : {&im.undo, &im.redo, &im.ambient}) {
    for (const RevisionRecord& r : *stack) {
      if (!record_in_range(r, n, 0)) return bad_image("history names nodes out of range");
    }
  }
  if (im.stamp == 0 || im.txn_first_stamp > im.stamp || im.revision >= im.next_revision)
    return bad_image("stamps or revisions are inconsistent");
  for (std::size_t i = 0; i < im.conditions.size(); ++i) {
    const ConditionEntry& c = im.conditions[i];
    if (!condition_valid(c, n, false) || (cur.is_variable(c.node) && !cur.is_mirror(c.node)))
      return bad_image("the condition of node " + std::to_string(c.node) + " is no condition it may have");
    if (i > 0 && im.conditions[i - 1].node >= c.node) return bad_image("conditions are not in node order");
  }

  GraphState& g = mut();
  g.structure_changed();  // heights and edges come from the image
  g.values.assign(std::make_move_iterator(im.values.begin()), std::make_move_iterator(im.values.end()));
  for (std::size_t x = 0; x < n; ++x) {
    g.nodes[x].meta = (im.meta[x] & ~kFlagMask) | (im.meta[x] & kImageFlags) |
                (g.nodes[x].meta & kKeptFlags);
  }
  for (std::size_t x = 0; x < n; ++x) {
    g.nodes[x].changed_at = im.changed_at[x];
    g.nodes[x].computed_at = im.computed_at[x];
  }
  EdgeArena fresh;
  fresh.reserve(im.dep_ids.size() + im.rdep_ids.size());
  for (std::size_t x = 0; x < n; ++x) {
    Span d;
    fresh.assign(d, std::span<const NodeId>(im.dep_ids.data() + im.dep_offsets[x],
                                            im.dep_offsets[x + 1] - im.dep_offsets[x]));
    g.nodes[x].deps = d;
    Span r;
    fresh.assign(r, std::span<const NodeId>(im.rdep_ids.data() + im.rdep_offsets[x],
                                            im.rdep_offsets[x + 1] - im.rdep_offsets[x]));
    g.nodes[x].rdeps = r;
  }
  g.edges = std::move(fresh);
  for (std::size_t i = 0; i < g.groups.size(); ++i) g.groups[i].keep = std::move(im.group_keep[i]);
  g.stamp = im.stamp;
  g.txn_first_stamp = im.txn_first_stamp;
  g.stamp_computed = im.stamp_computed;
  g.revision = im.revision;
  g.next_revision = im.next_revision;
  g.last_changed = std::move(im.last_changed);
  g.pending_new = std::move(im.pending_new);
  g.forced = std::move(im.forced);
  g.undo_stack.assign(std::make_move_iterator(im.undo.begin()),
                      std::make_move_iterator(im.undo.end()));
  g.redo_stack = std::move(im.redo);
  g.ambient = std::move(im.ambient);
  g.conditions.clear();
  for (ConditionEntry& c : im.conditions) g.conditions.emplace(c.node, std::move(c.condition));
  return Status::ok();
}

}  // namespace mgraph
