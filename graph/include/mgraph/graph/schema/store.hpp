#pragma once
// Documents of a compiled schema held in one embedded Graph.
//
// Every record owns the nodes of its entity's layout (schema.hpp). Writes, links and
// deletes produce mutation events (interaqt's RecordMutationEvent) that keep
// incremental aggregates up to date inside the same transaction: O(1) per event for
// count/sum/avg/any/every, O(log n) for min/max (an ordered multiset), never a rescan.
//
// Invariants:
//   1. A record id is its index in records_ plus one; ids are never reused.
//   2. members of a many-relation are sorted and mirror the inverse side exactly.
//   3. Store-side state that the Graph does not version (memberships, min/max
//      multisets) changes only through journaled operations, so reject/undo/redo
//      undo them in step with the Graph.
//
// Thread-safety: none, as Graph.

#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "mgraph/graph/graph.hpp"
#include "mgraph/graph/schema/schema.hpp"

namespace mgraph::schema {

using RecordId = std::uint64_t;

enum class MutationType : std::uint8_t { create, update, remove, link, unlink };
const char* mutation_name(MutationType type);

/// One change to the documents. For link/unlink, `record` is the side the relation
/// was named from and `other` the record linked to it.
struct MutationEvent {
  MutationType type = MutationType::create;
  std::uint32_t entity = kNone;
  RecordId record = 0;
  std::vector<Value> values;        ///< the record's fields after (create, update)
  std::vector<Value> old_values;    ///< the record's fields before (update, remove)
  std::vector<std::uint32_t> diff;  ///< fields an update changed
  std::uint32_t relation = kNone;
  RecordId other = 0;
};

struct StoreOptions {
  /// Committed revisions kept for undo().
  std::size_t history_limit = 64;
};

using FieldValues = std::vector<std::pair<std::string, Value>>;

class Store {
 public:
  explicit Store(std::shared_ptr<const Schema> schema, StoreOptions options = {});
  Store(const Store&) = delete;
  Store& operator=(const Store&) = delete;

  const Schema& schema() const { return *schema_; }
  Graph& graph() { return graph_; }

  // ---- Mutations (inside the open transaction; commit() makes them a revision) ----

  /// Creates a record with the given state fields (others take their defaults).
  Result<RecordId> create(std::string_view entity, const FieldValues& values);
  /// Writes state fields; a cycle-group member receives a proposed value.
  Status update(RecordId id, const FieldValues& values);
  /// Unlinks every relation of the record, then deletes it.
  Status remove(RecordId id);
  Status link(RecordId id, std::string_view relation, RecordId other);
  Status unlink(RecordId id, std::string_view relation, RecordId other);
  /// Proposes a value: a write for state fields and group members; for an effect an
  /// acknowledgement (bool: true -> false; counter and queue: one fewer pending).
  Status set(RecordId id, std::string_view field, Value value);

  Result<CommitStats> commit();
  void reject();
  Status undo();
  Status redo();

  // ---- Reads ----

  Result<Value> get(RecordId id, std::string_view field);
  /// Times the field changed in a commit.
  std::uint64_t version(NodeId node) const { return node < versions_.size() ? versions_[node] : 0; }
  Result<NodeId> node_of(RecordId id, std::string_view field) const;
  bool exists(RecordId id);
  Result<std::uint32_t> entity_of(RecordId id) const;
  /// Members of a many-relation, sorted.
  Result<std::vector<RecordId>> members(RecordId id, std::string_view relation) const;
  /// JSON: the field's value and each input with its value.
  Result<std::string> explain(RecordId id, std::string_view field);
  /// The graph in Graphviz dot.
  std::string dot();

  /// Called with every mutation event, after the Store has applied it.
  void on_event(std::function<void(const MutationEvent&)> listener) {
    listeners_.push_back(std::move(listener));
  }

 private:
  class FieldFrame;
  struct Record {
    std::uint32_t entity = kNone;
    std::vector<NodeId> nodes;                          ///< by local index
    std::vector<std::vector<RecordId>> members;         ///< by relation index (many only)
    std::vector<std::map<double, std::uint32_t>> bags;  ///< by aggregate index (min/max)
  };
  /// A journaled change to Store-side state; applying it with `insert` flipped undoes it.
  struct Op {
    bool membership = true;  ///< else a min/max multiset
    bool insert = true;
    RecordId record = 0;
    std::uint32_t index = 0;  ///< relation or aggregate index
    RecordId other = 0;       ///< membership
    double value = 0;         ///< multiset
  };
  struct Watcher {  ///< aggregate `aggregate` of entity `entity` reads this field via `inverse`
    std::uint32_t entity, aggregate, inverse;
  };

  Result<Record*> live(RecordId id);
  const Record* find(RecordId id) const;
  Status check_field(const Record& r, std::string_view field, std::uint32_t* index) const;
  void build_specs();
  Status create_nodes(RecordId id, const std::vector<Value>& initial);
  std::string node_name(RecordId id, std::string_view what) const;
  std::vector<Value> field_values(const Record& r);
  void emit(MutationEvent e);
  Status write(NodeId node, Value v);

  Status connect(RecordId a, std::uint32_t rel, RecordId b, bool insert);
  void set_side(RecordId a, std::uint32_t rel, RecordId b, bool insert);
  void aggregate_member(RecordId owner, std::uint32_t agg, RecordId member, int sign);
  void aggregate_change(RecordId owner, std::uint32_t agg, const Value& old_v, const Value& new_v);
  void bag_op(RecordId owner, std::uint32_t agg, double v, bool insert);
  void apply(const Op& op, bool forward);
  void refresh_bag_value(RecordId owner, std::uint32_t agg);

  std::shared_ptr<const Schema> schema_;
  StoreOptions options_;
  Graph graph_;
  std::vector<Record> records_;
  std::vector<RecordId> owner_;  ///< by NodeId
  std::vector<std::uint64_t> versions_;
  /// specs_[entity][field]; effect conditions at fields.size() + field.
  std::vector<std::vector<SpecId>> specs_;
  std::vector<std::vector<std::vector<Watcher>>> watchers_;  ///< [entity][field]
  std::vector<Op> pending_;
  std::deque<std::vector<Op>> undo_;
  std::vector<std::vector<Op>> redo_;
  std::vector<std::function<void(const MutationEvent&)>> listeners_;
};

}  // namespace mgraph::schema
