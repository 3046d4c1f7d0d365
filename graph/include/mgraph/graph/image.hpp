#pragma once
// A Graph's state as plain data: what a checkpoint keeps so that a graph rebuilt with
// the same structure (the same nodes, defined in the same order with the same specs)
// continues exactly where the saved one stopped, history included.
//
// Structure is not in the image: formulas are code. Whoever owns the graph (a Store, a
// partition) rebuilds it, then Graph::import_image() puts the state back. The shape
// fingerprint refuses an image taken from another structure.
//
// The codec (codec/) turns an image into bytes; the engine knows nothing of formats.

#include <cstdint>
#include <vector>

#include "mgraph/graph/graph.hpp"
#include "mgraph/graph/value.hpp"

namespace mgraph {

/// One node's value before the transaction changed it.
struct JournalEntry {
  NodeId node;
  std::uint32_t changed_at;
  Value value;
};

/// One node's dependency list before the transaction changed it.
struct DepsEntry {
  NodeId node;
  std::vector<NodeId> deps;
};

/// A node that went from stale to fresh.
struct Freshened {
  NodeId node;
  std::uint32_t computed_at;  ///< the other side's computation stamp (swapped by undo/redo)
  bool was_stale;             ///< stale before the transaction (not marked by it)
};

/// One node's condition (failed, blocked) before the transaction changed it.
struct ConditionEntry {
  NodeId node;
  FieldCondition condition;
};

/// What one committed revision changed, exactly: values with their change stamps,
/// dependency lists, which nodes it brought up to date and which it left stale.
/// Undo and redo swap these with the live state, so one record serves both.
struct RevisionRecord {
  Revision before = 0;
  Revision after = 0;
  std::vector<JournalEntry> values;
  std::vector<DepsEntry> deps;
  std::vector<Freshened> freshened;
  std::vector<NodeId> left_stale;  ///< marked by this revision and still stale after it
  /// Conditions the revision changed, in the order it changed them (a node may repeat).
  std::vector<ConditionEntry> conditions;
  /// What happened after this revision and before the next one (lazy computations
  /// outside transactions, commits that changed no value), undone first, latest first.
  std::vector<RevisionRecord> after_pulls;
  bool pull_segment = false;  ///< records lazy computations outside a transaction

  bool empty() const {
    return values.empty() && deps.empty() && freshened.empty() && left_stale.empty() &&
           conditions.empty();
  }
};

/// Bits of GraphImage::meta below the height (the engine's flag bits).
inline constexpr std::uint32_t kImageFlagBits = 9;

/// Everything about a Graph that is not its structure, at rest (no open transaction).
struct GraphImage {
  /// Fingerprint of the structure: node count and each node's spec (Graph::shape()).
  std::uint64_t shape = 0;
  std::vector<Value> values;
  /// Per node: height << kImageFlagBits | flags, of which only stale (bit 0) and force
  /// (bit 5) are state; the others follow the structure or exist only inside a
  /// transaction.
  std::vector<std::uint32_t> meta;
  std::vector<std::uint32_t> changed_at;
  std::vector<std::uint32_t> computed_at;
  /// Dependency lists: those of node n are dep_ids[dep_offsets[n], dep_offsets[n + 1]).
  /// Reverse lists likewise; their order is kept, since it orders marking.
  std::vector<std::uint64_t> dep_offsets;
  std::vector<NodeId> dep_ids;
  std::vector<std::uint64_t> rdep_offsets;
  std::vector<NodeId> rdep_ids;
  /// Keep flags of each cycle group's members.
  std::vector<std::vector<bool>> group_keep;
  std::uint32_t stamp = 1;
  std::uint32_t txn_first_stamp = 1;
  bool stamp_computed = false;
  Revision revision = 0;
  Revision next_revision = 1;
  std::vector<NodeId> last_changed;
  std::vector<NodeId> pending_new;  ///< fields never computed yet (lazy ones never read)
  std::vector<NodeId> forced;       ///< fields to recompute at the next commit
  std::vector<RevisionRecord> undo;  ///< oldest first
  std::vector<RevisionRecord> redo;
  std::vector<RevisionRecord> ambient;
  /// The fields failed or blocked now (never ok), by node: a restored graph tells the same
  /// conditions, and a failed field recovers when its inputs change, as in the saved one.
  std::vector<ConditionEntry> conditions;
};

}  // namespace mgraph
