#pragma once
// Documents of a compiled schema held in one embedded Graph.
//
// Every record owns the nodes of its entity's layout (schema.hpp). Writes, links and
// deletes produce mutation events (interaqt's RecordMutationEvent) that keep
// incremental aggregates up to date inside the same transaction: O(1) per event for
// count/sum/avg/any/every/wavg, O(log n) for min/max (an ordered multiset), never a
// rescan; over computed fields the engine hands the changes of the members' values
// (Dependencies::incremental) in the same transaction.
//
// Invariants:
//   1. A record id is its index in records_ plus one; ids are never reused. With a global
//      entity (global values, aggregates over whole entities), record 1 is the global
//      record, created with the Store outside any transaction (create_global()).
//   2. members of a many-relation are sorted and mirror the inverse side exactly.
//   3. Store-side state that the Graph does not version (memberships, min/max
//      multisets) changes only through journaled operations, so reject/undo/redo
//      undo them in step with the Graph. The inputs of an incremental accumulator (over
//      computed sources) are exactly the sources of its members: they follow the
//      membership operations, live and when restored (restore()). Its multiset changes
//      at commit, from its computations that stand (deferred_bags_, empty between
//      transactions).
//   4. The variables of records (exists, state fields, relation and aggregate nodes) are
//      written only through the Store. Inside a transaction the Store reads them through
//      current(): the values it wrote in this transaction, else the committed value. A
//      Graph::read there would mark the pending writes and make the next write revisit
//      the whole transaction journal, which turns a batch of n mutations into O(n^2).
//      What it wrote is forgotten when the transaction ends, also when Graph::commit or
//      reject ends it directly (txn_current()).
//   5. A record's nodes are consecutive: node `local` of a record is its first node plus
//      layouts_[entity][local], the order create_nodes creates them in. A record keeps
//      only that first node, so it needs no node list of its own.
//
// Thread-safety: none, as Graph.

#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "mgraph/graph/graph.hpp"
#include "mgraph/graph/schema/schema.hpp"
#include "mgraph/graph/schema/store_image.hpp"

namespace mgraph::json {
class Object;
}

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

/// Where records live when the documents are spread over partitions (the cluster's
/// partitioned documents, actors/partitioned.hpp). Every partition's Store holds every
/// record, in the same order and at the same node ids; a record is *owned* by one
/// partition, a stable function of its id. The owner computes the record's derived
/// fields, accumulators over computed sources, effects and cycle groups; elsewhere those
/// nodes are mirrors (Graph::add_mirror) that the owner's resolutions fill. The inputs —
/// the exists flag, state fields, relations, memberships and accumulators the Store
/// writes — are applied on every partition alike, so structure checks give the same
/// answer everywhere and undo/redo stay local.
struct Placement {
  std::uint32_t partition = 0;
  std::uint32_t partitions = 1;  ///< 1: one Store owns everything (the embedded engine)
  /// Varies the placement (tests place records at random); 0 on a cluster.
  std::uint64_t salt = 0;

  /// The partition owning record `id`: the high 32 bits of FNV-1a of (salt, id) modulo
  /// `partitions`.
  static std::uint32_t partition_of(std::uint64_t id, std::uint32_t partitions,
                                    std::uint64_t salt = 0);
  bool owns(std::uint64_t id) const {
    return partitions <= 1 || partition_of(id, partitions, salt) == partition;
  }
};

struct StoreOptions {
  /// Committed revisions kept for undo().
  std::size_t history_limit = 64;
  Placement placement;
};

using FieldValues = std::vector<std::pair<std::string, Value>>;

struct ScalarKernels;  // graph/src/schema/kernel.hpp

class Store {
 public:
  explicit Store(std::shared_ptr<const Schema> schema, StoreOptions options = {});
  Store(const Store&) = delete;
  Store& operator=(const Store&) = delete;

  const Schema& schema() const { return *schema_; }
  Graph& graph() { return graph_; }
  const Graph& graph() const { return graph_; }
  const Placement& placement() const { return options_.placement; }
  /// Whether this Store computes record `id` (always, unless partitioned).
  bool owns(RecordId id) const { return options_.placement.owns(id); }
  /// Of the nodes the last commit, undo or redo changed, those of records this Store owns,
  /// lazy fields aside: a partition's share of CommitStats::changed.
  std::size_t owned_changed() const;
  /// What commit() would make of the open transaction, changing nothing (Graph::
  /// preview_commit): the revision after it and what owned_changed() would then say.
  /// nullopt while the graph has something left to compute.
  struct CommitPreview {
    Revision revision = 0;
    std::size_t owned_changed = 0;
  };
  std::optional<CommitPreview> preview_commit() const;
  /// Graphviz lines of the nodes of owned records: `nodes[n]` declares node n, `edges[n]`
  /// its incoming edges; empty for nodes owned elsewhere. Partitions' parts merge into
  /// what dot() prints for the whole graph.
  struct DotParts {
    std::vector<std::string> nodes, edges;
  };
  DotParts dot_parts();
  /// The text dot() prints, from the parts of every partition.
  static std::string merge_dot(const std::vector<DotParts>& parts);

  // ---- Mutations (inside the open transaction; commit() makes them a revision) ----

  /// Creates a record with the given state fields (others take their defaults).
  Result<RecordId> create(std::string_view entity, const FieldValues& values);
  /// Writes state fields; a cycle-group member receives a proposed value. Members named
  /// in `keep` are kept if possible in this transaction (Graph::keep_if_possible); a name
  /// that is not a member of the record fails the update before anything is written.
  Status update(RecordId id, const FieldValues& values, std::span<const std::string> keep = {});
  /// Unlinks every relation of the record, then deletes it.
  Status remove(RecordId id);
  /// Links two records. A relation with properties (docs/SCHEMA.md "Relation properties")
  /// takes their values in `properties` (the others take their defaults) and keeps them in
  /// a link record of its link entity (two for a relation that is its own inverse, one
  /// from each side, kept equal); a relation without properties takes none.
  Status link(RecordId id, std::string_view relation, RecordId other,
              const FieldValues& properties = {});
  /// Writes properties of the link between two linked records (either side may name it).
  Status update_link(RecordId id, std::string_view relation, RecordId other,
                     const FieldValues& properties);
  /// The link record holding the properties of the link between two linked records,
  /// seen from `id`'s side: its fields are the properties (get(), node_of()).
  Result<RecordId> link_record(RecordId id, std::string_view relation, RecordId other);
  /// What link() would answer, changing no value: its checks, and the cycle checks of the
  /// accumulator inputs this Store would add (on a partitioned cluster, those of the
  /// records it owns). Like link(), it may leave a transaction open.
  Status check_link(RecordId id, std::string_view relation, RecordId other);
  Status unlink(RecordId id, std::string_view relation, RecordId other);
  /// Proposes a value: a write for state fields and group members; for an effect an
  /// acknowledgement (bool: true -> false; counter and queue: one fewer pending).
  Status set(RecordId id, std::string_view field, Value value);
  /// The result of request `version` of async field `field` (docs/SCHEMA.md "Async
  /// fields"), in the open transaction: written (true) when that request is the newest, the
  /// field's request version (`FIELD@request`); superseded (false, nothing written) when the
  /// inputs changed since. A value of the wrong type, or a version never raised, is refused.
  Result<bool> resolve(RecordId id, std::string_view field, std::uint64_t version, Value value);

  /// Writes the schema's clock (Schema::clock_field: ms since the Unix epoch) in the open
  /// transaction, as a state write: time is an input, and the timed fields that read it
  /// recompute at the commit (docs/SCHEMA.md "Execution timing"). Refused when the schema
  /// has no clock, when `ms` is negative or past kTimeMsMax, and when the clock would go
  /// back: undo alone takes it back.
  Status set_clock(std::int64_t ms);
  /// The clock in the open transaction; failed_precondition when the schema has none.
  Result<std::int64_t> clock();

  Result<CommitStats> commit();
  void reject();
  /// A revision in which nothing of this Store changed (Graph::add_revision): a partition
  /// keeps in step with another whose commit changed something.
  Status add_revision();
  Status undo();
  Status redo();

  // ---- Reads ----

  Result<Value> get(RecordId id, std::string_view field);
  /// The field's value at `revision`, one that undo or redo can reach (Graph::value_at):
  /// the record must have existed then. At the current revision, get().
  Result<Value> get_at(RecordId id, std::string_view field, Revision revision);
  /// Times the field's value changed: in commits, and by undo and redo, which change
  /// values too. A (field, version) pair names one value.
  std::uint64_t version(NodeId node) const { return node < versions_.size() ? versions_[node] : 0; }
  /// What a node holds: its record and, for a field's node, the field's definition (null
  /// for exists flags, relations, aggregates and hidden effect conditions).
  struct NodeField {
    RecordId record = 0;
    std::uint32_t entity = kNone;
    const FieldDef* field = nullptr;
  };
  NodeField field_at(NodeId node) const;
  /// Where the inputs the open transaction wrote lead, for a driver committing without a
  /// partition (actors/partitioned.hpp, "Commits around an unreachable partition"): sets
  /// `owners` to the partitions owning their records (sorted, distinct) and answers
  /// whether each of them is read by its record's formulas alone, so that no other
  /// partition computes anything from them. False if one is read elsewhere
  /// (EntityDef::read_elsewhere, the source of an accumulator over computed sources) or
  /// belongs to the global record. Inputs are state fields, exists flags, relations and
  /// the accumulators the Store writes (an update of a summed field writes its sum too).
  /// O(inputs written).
  bool written_stays_with_owners(std::vector<std::uint32_t>* owners) const;
  /// What a trigger of a queue effect keeps (docs/SCHEMA.md "Queue effects"): the values
  /// of the fields it carries (FieldDef::carried, in that order) and the clock (`@clock`;
  /// null when the schema has none), as the record holds them now.
  struct QueueTrigger {
    std::vector<std::pair<std::string, Value>> values;
    Value time;
    friend bool operator==(const QueueTrigger&, const QueueTrigger&) = default;
  };
  QueueTrigger queue_trigger(RecordId id, const FieldDef& effect);
  /// `{"values":{"total":150,...},"time":5000}`: a QueueTrigger as one object; with
  /// `count`, the effect's value after the trigger first (`{"value":2,"values":...}`).
  static std::string queue_trigger_json(const QueueTrigger& trigger, const Value* count = nullptr);
  Result<NodeId> node_of(RecordId id, std::string_view field) const;
  bool exists(RecordId id);
  Result<std::uint32_t> entity_of(RecordId id) const;
  /// Members of a many-relation, sorted.
  Result<std::vector<RecordId>> members(RecordId id, std::string_view relation) const;
  /// JSON: the field's value and each input with its value.
  Result<std::string> explain(RecordId id, std::string_view field);
  /// What a node is and holds, read without computing anything, so it may be called at any
  /// moment, inside a transaction too (the admin socket's explain and dot).
  struct NodeView {
    std::string name;        ///< "Entity#id.field" (display_name), else the graph's name
    RecordId record = 0;     ///< the record it belongs to; 0: none
    /// The field's kind (state, derived, effect, member); for a record's node that is no
    /// field, "input" if the Store writes it (exists flag, relation, accumulator) and
    /// "computed" if a formula does (aggregate, hidden node).
    const char* kind = "input";
    Value value;             ///< as of the last commit (Graph::committed)
    std::uint64_t version = 0;
    /// Another partition computes it (its record's owner); here it is a mirror.
    bool mirror = false;
    bool lazy = false;
    std::uint32_t line = 0;  ///< the schema line defining the field; 0: no field
    std::vector<NodeId> inputs;  ///< its dependencies (none for inputs and mirrors)
    /// Graph::condition: failed or blocked fields keep their last good value.
    FieldState state = FieldState::ok;
    std::string blocked_by;  ///< blocked: the failed field's name (display_name)
    std::string reason;      ///< failed, blocked: the failed formula's error
  };
  /// REQUIRES: node < graph().node_count().
  NodeView describe(NodeId node) const;
  /// The graph in Graphviz dot.
  std::string dot();

  // ---- Checkpoints (store_image.hpp) ----

  /// The documents' state, history included. Fails (failed_precondition) inside a
  /// transaction, or when a failed creation left nodes that a rebuild would not make.
  Result<StoreImage> export_image();
  /// Rebuilds the records of `image` in this Store, which must be new (no records),
  /// and takes back their state. On failure the Store is unusable: discard it.
  Status import_image(StoreImage image);

  /// Called with every mutation event, after the Store has applied it.
  void on_event(std::function<void(const MutationEvent&)> listener) {
    listeners_.push_back(std::move(listener));
  }

 private:
  class FieldFrame;
  /// Of `nodes`, those of records this Store owns, lazy fields aside.
  std::size_t owned_count(std::span<const NodeId> nodes) const;
  struct Collections {
    std::vector<std::vector<RecordId>> members;         ///< by relation index (many only)
    /// By aggregate (accumulator) index, min/max only: the members' values. For an
    /// accumulator over computed sources it changes at Store::commit (deferred_bags_).
    std::vector<std::map<double, std::uint32_t>> bags;
  };
  struct Record {
    std::uint32_t entity = kNone;
    NodeId base = kNoNode;  ///< its first node; kNoNode if its creation failed
    std::unique_ptr<Collections> extra;  ///< null for entities without many-relations
  };
  /// A journaled change to Store-side state; applying it with `insert` flipped undoes it.
  /// The same struct is what an image keeps of the undo/redo history.
  using Op = StoreOpImage;
  /// Accumulator `aggregate` of entity `entity` combines this local of its members, which
  /// reach their owners through their relation `inverse`.
  struct Watcher {
    std::uint32_t entity, aggregate, inverse;
  };
  /// What the incremental field `node` (a min/max accumulator over computed sources)
  /// found in its last computation of the open transaction: the values to take out of
  /// and put into its multiset at commit, if that computation stands then.
  struct DeferredBag {
    NodeId node = kNoNode;
    RecordId owner = 0;
    std::uint32_t aggregate = 0;
    std::vector<double> removed, added;
  };
  /// An input of an incremental field to restore (restore()).
  struct EdgeChange {
    NodeId node, input;
    bool present;
  };

  Result<Record*> live(RecordId id);
  /// Node `local` of a record (invariant 5). REQUIRES: r.base != kNoNode.
  NodeId node(const Record& r, std::uint32_t local) const {
    return r.base + layouts_[r.entity][local];
  }
  const Record* find(RecordId id) const;
  Status check_field(const Record& r, std::string_view field, std::uint32_t* index) const;
  /// EntityDef::find_field, through field_index_ for large entities.
  std::uint32_t find_field(std::uint32_t entity, std::string_view name) const;
  void build_specs();
  /// `exists`: the exists flag's first value (true only for the global record, which
  /// exists from the start, outside any transaction).
  Status create_nodes(RecordId id, const std::vector<Value>& initial, bool exists = false);
  /// create_nodes for a record owned by another partition: inputs as variables, computed
  /// nodes as mirrors named as the owner names them, in the same node order.
  void create_mirror_nodes(RecordId id, const std::vector<Value>& initial, bool exists = false);
  /// The global record (kGlobalRecord), when the schema has a global entity: created with
  /// the Store, before any transaction, so no undo takes it away.
  void create_global();
  /// Why `rel` of entity `entity` cannot be linked or unlinked by name (an implicit
  /// relation, kept by the Store), or ok.
  Status check_named(std::uint32_t entity, std::uint32_t rel) const;
  /// mirror_plans_, from layouts_.
  void build_mirror_plans();
  /// The memberships (many-relations) and min/max bags of a new record, if its entity has
  /// either.
  void make_collections(Record& r) const;
  std::string node_name(RecordId id, std::string_view what) const;
  /// "Entity#id.what" of a record's node; the Graph's name for other nodes.
  std::string display_name(NodeId n) const;
  /// Adds "state", "blocked_by" and "reason" to `out` when `n` is failed or blocked.
  void add_condition(json::Object& out, NodeId n) const;
  std::vector<Value> field_values(const Record& r);
  void emit(MutationEvent e);
  /// Writes a variable in the open transaction (opening one) and remembers the value.
  Status write(NodeId node, Value v);
  /// The value of variable `node` in the open transaction (invariant 4). O(1).
  Value current(NodeId node) const;
  /// Forgets the values written in the transaction that just ended.
  void end_transaction();
  /// Counts a new version for every field the last commit, undo or redo changed.
  void count_versions();

  Status connect(RecordId a, std::uint32_t rel, RecordId b, bool insert,
                 const FieldValues* properties = nullptr);
  /// update() and remove() of any record, link records included (which scripts name
  /// through their links only).
  Status update_record(RecordId id, const FieldValues& values, std::span<const std::string> keep);
  Status remove_record(RecordId id);
  /// Refuses what a script may not do to a link record by its id.
  Status check_not_link(RecordId id, const char* what) const;
  /// The field values of a new record of `entity`: defaults, then `values` (state and group
  /// members only).
  Result<std::vector<Value>> initial_values(std::uint32_t entity, const FieldValues& values) const;
  /// The link record of `a`'s side of relation `rel` (with properties) that reaches `b`,
  /// or 0. O(1) through links_, else a scan of a's links.
  RecordId find_link(RecordId a, std::uint32_t rel, RecordId b);
  /// Creates the link record(s) of a new link of `a`.`rel` to `b`.
  Status add_link_records(RecordId a, std::uint32_t rel, RecordId b,
                          const std::vector<Value>& initial);
  /// Deletes them (before the link goes).
  Status remove_link_records(RecordId a, std::uint32_t rel, RecordId b);
  /// connect()'s checks before it changes anything (the inputs' cycle check aside).
  Status check_connect(RecordId a, std::uint32_t rel, RecordId b, bool insert);
  /// link()/unlink() by relation name.
  Status connect_named(RecordId id, std::string_view relation, RecordId other, bool insert,
                       const FieldValues* properties = nullptr);
  void set_side(RecordId a, std::uint32_t rel, RecordId b, bool insert);
  void apply(const Op& op, bool forward);

  // ---- Accumulators (store_aggregates.cpp) ----

  /// Watchers and the specs of incremental accumulators. REQUIRES: layouts_ built.
  void build_accumulators();
  static Value initial_of(const AggregateDef& a);
  /// Adds the sources of `b` (`a`) to the incremental accumulators of `a` over `rel` (of
  /// `b` over `inverse`) before a link; on a cycle none stays added.
  Status add_inputs(RecordId a, std::uint32_t rel, RecordId b, std::uint32_t inverse);
  /// `member` joins (sign 1) or leaves (-1) the accumulators of `owner` over `rel`.
  void join(RecordId owner, std::uint32_t rel, RecordId member, int sign);
  /// Record `id` joins its own accumulators over `rel` and over its inverse, in the order
  /// of the entity's aggregates (an inner one before the outer ones over it).
  void join_self(RecordId id, std::uint32_t rel, std::uint32_t inverse);
  void acc_join(RecordId owner, std::uint32_t agg, RecordId member, int sign);
  /// Local `local` of `member`, a source of accumulator `agg` of `owner`, changed.
  void acc_change(RecordId owner, std::uint32_t agg, RecordId member, std::uint32_t local,
                  const Value& old_v, const Value& new_v);
  /// The Store wrote local `local` of record `id`: the accumulators over it follow.
  void notify(RecordId id, std::uint32_t local, const Value& old_v, const Value& new_v);
  /// Writes accumulator `agg` of `owner`, whose value now is `old` (acc_value()).
  void write_acc(RecordId owner, std::uint32_t agg, const Value& old, Value v);
  void set_acc(RecordId owner, const Record& o, const AggregateDef& a, NodeId n, const Value& old,
               Value v);
  Value acc_value(RecordId owner, std::uint32_t agg) const;
  void add_to_acc(RecordId owner, const Record& o, const AggregateDef& a, const Value& old_v,
                  const Value& new_v);
  void bag_op(RecordId owner, std::uint32_t agg, double v, bool insert);
  void refresh_bag_value(RecordId owner, std::uint32_t agg);
  /// Formulas of incremental accumulators (Dependencies::incremental).
  Value incremental_sum(Context& c, const AggregateDef& a);
  Value incremental_bag(Context& c, std::uint32_t entity, std::uint32_t agg);
  /// Applies journaled operations (forward, or backward in reverse order) outside a
  /// transaction, with the inputs of incremental accumulators that memberships imply.
  void restore(const std::vector<Op>& ops, bool forward);
  /// Undo and redo in two steps around the Graph's own: first only the inputs `ops` take
  /// away from incremental fields (`removals`), then the rest. The Graph's step may give a
  /// tracked formula an input that, with one of those still there, would close a cycle.
  void restore(const std::vector<Op>& ops, bool forward, bool removals);
  /// At commit: the multiset changes of computations that stand, journaled in pending_.
  void apply_deferred_bags();
  void clear_deferred_bags();

  std::shared_ptr<const Schema> schema_;
  StoreOptions options_;
  Graph graph_;
  std::vector<Record> records_;
  std::vector<RecordId> owner_;  ///< by NodeId
  /// The link record last made for (record, relation, other), a hint for find_link():
  /// checked before use (undo, redo and images may have changed which one is live).
  struct LinkKey {
    RecordId a;
    std::uint32_t rel;
    RecordId b;
    friend bool operator==(const LinkKey&, const LinkKey&) = default;
  };
  struct LinkKeyHash {
    std::size_t operator()(const LinkKey& k) const;
  };
  std::unordered_map<LinkKey, RecordId, LinkKeyHash> links_;
  std::vector<std::uint64_t> versions_;
  /// specs_[entity][field]; effect conditions at fields.size() + field.
  std::vector<std::vector<SpecId>> specs_;
  std::vector<std::vector<std::uint32_t>> layouts_;  ///< [entity][local]: offset from base
  /// A record's node at one offset of its layout, as a partition that does not own the
  /// record creates it: an input (written on every partition, a variable), or a computed
  /// node (a mirror, named as the owner's engine names it after "Entity#id.").
  struct MirrorNode {
    std::uint32_t local = 0;
    bool input = true;
    std::uint32_t aggregate = kNone;  ///< an accumulator the Store keeps: its index
    std::string name;
    /// A computed node that formulas of other records read: its owner sends its changes
    /// to the other partitions. Others change nothing elsewhere and stay at the owner.
    bool read_elsewhere = false;
  };
  std::vector<std::vector<MirrorNode>> mirror_plans_;  ///< [entity][offset]
  /// [entity]: field name -> index, for entities with many fields (else empty). The views
  /// point into schema_, which the Store keeps alive.
  std::vector<std::unordered_map<std::string_view, std::uint32_t>> field_index_;
  std::vector<std::vector<std::vector<Watcher>>> watchers_;  ///< [entity][local]
  std::vector<std::vector<SpecId>> acc_specs_;     ///< [entity][aggregate]: computed ones
  std::vector<std::vector<SpecId>> hidden_specs_;  ///< [entity][hidden node]
  /// The scalar programs of the fields that run as kernels, packed (kernel.hpp); their
  /// specs' kernel_data point into it.
  std::shared_ptr<ScalarKernels> kernels_;
  /// Min/max multiset changes found by incremental accumulators in the open transaction
  /// (DeferredBag), and the index of each node's entry. Empty outside a transaction.
  std::vector<DeferredBag> deferred_bags_;
  std::unordered_map<NodeId, std::uint32_t> deferred_index_;
  std::vector<EdgeChange> edge_scratch_;  ///< restore()
  /// Values the Store's formulas looked at: slots, reads and member lists of compiled
  /// formulas, and input changes of incremental accumulators. A measure of work that
  /// tests read (StoreProbe) to tell an incremental update from a rescan.
  std::uint64_t values_read_ = 0;
  friend struct StoreProbe;
  std::vector<Op> pending_;
  std::deque<std::vector<Op>> undo_;
  std::vector<std::vector<Op>> redo_;
  std::vector<std::function<void(const MutationEvent&)>> listeners_;
  /// Index of `node` in txn_nodes_, kNone if this transaction did not write it.
  std::uint32_t txn_find(NodeId node) const;
  /// Whether txn_nodes_ belong to the Graph's open transaction: false once it ended
  /// behind the Store's back (Graph::commit or reject called directly).
  bool txn_current() const;
  std::uint32_t txn_hash(NodeId node) const;
  void txn_rehash(std::size_t size);  ///< REQUIRES: size a power of two
  static constexpr std::size_t kTxnTableMin = 64;
  // Variables written in the open transaction and their values (txn_nodes_[i] holds
  // txn_values_[i]), found through an open-addressing table of indices + 1 (0: empty)
  // that is at most half full. It grows with the transaction and shrinks back after it,
  // so a small transaction's lookups stay in cache whatever the store's size.
  std::vector<NodeId> txn_nodes_;
  std::vector<Value> txn_values_;
  std::vector<std::uint32_t> txn_table_ = std::vector<std::uint32_t>(kTxnTableMin, 0);
  std::uint32_t txn_shift_ = 32 - 6;  ///< 32 - log2(txn_table_.size())
  Revision txn_revision_ = 0;         ///< the Graph's revision when txn_nodes_ began
  std::vector<NodeId> inputs_scratch_;  ///< create_nodes: declared inputs of one field
};

}  // namespace mgraph::schema
