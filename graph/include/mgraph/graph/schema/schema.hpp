#pragma once
// A checked schema: entities with typed fields, relations named in both directions,
// derived fields compiled to closures, incremental aggregates and cycle groups.
//
// compile_schema() parses, resolves every name, types every formula and compiles it
// once; evaluation then indexes arrays and never looks a name up.
//
// Record layout: every record of an entity owns `local_count` graph nodes, addressed by
// a *local* index: 0 is the `exists` flag, 1..F the fields in declaration order, then
// one node per relation (the linked id for `one`, a membership version for `many`),
// then hidden nodes appended by the compiler (accumulators, effect conditions,
// cycle-group dispatchers, values read through relations and products for wavg).

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "mgraph/graph/schema/diagnostic.hpp"
#include "mgraph/graph/status.hpp"
#include "mgraph/graph/value.hpp"

namespace mgraph::schema {

inline constexpr std::uint32_t kNone = UINT32_MAX;
/// Entities, and members per entity, one schema may declare.
inline constexpr std::size_t kEntitiesMax = 4096;
inline constexpr std::size_t kMembersMax = 4096;
/// Semantic errors reported before the checker gives up.
inline constexpr std::size_t kDiagnosticsMax = 20;

enum class Type : std::uint8_t { null, boolean, integer, real, string, tensor };
/// int or float.
inline constexpr bool numeric(Type t) { return t == Type::integer || t == Type::real; }
/// "null", "bool", "int", "float", "string", "tensor".
const char* type_name(Type type);
/// The zero of a type: false, 0, 0.0, "", an empty vector; null for null.
Value zero_of(Type type);
/// `v` as a value of `type` (an int widens to float); an error when it is not one.
Result<Value> coerce(const Value& v, Type type);

/// Execution timing (seed 000 §3; docs/SCHEMA.md "Execution timing"): when a derived
/// field, or an effect's condition, takes the value of its formula. `temporal` is
/// `@every(period)` or `@at(time)`.
enum class Timing : std::uint8_t { immediate, on_completion, conditional, temporal, batched };
const char* timing_name(Timing timing);

enum class FieldKind : std::uint8_t { state, derived, effect, member };
/// "state", "derived", "effect", "member".
const char* field_kind_name(FieldKind kind);
enum class EffectKind : std::uint8_t { boolean, counter, queue };

/// What a running formula sees. Implemented by the document store (graph formulas)
/// and by cycle groups; compiled closures only call these.
class Frame {
 public:
  virtual ~Frame() = default;
  /// The formula's k-th input slot (CompiledFormula::slots[k]) of the current record.
  virtual Value slot(std::uint32_t k) = 0;
  /// The field's previous value, or the zero of its type before the first computation.
  virtual Value self() = 0;
  /// Id of the record the formula runs for.
  virtual std::uint64_t record() = 0;
  /// Node `local` of record `id`, read as a dependency. REQUIRES: a tracked formula.
  virtual Value read(std::uint64_t id, std::uint32_t local) = 0;
  /// Members of many-relation node `local` of record `id` (read as a dependency), sorted.
  virtual const std::vector<std::uint64_t>& members(std::uint64_t id, std::uint32_t local) = 0;
};

using Eval = std::function<Value(Frame&)>;

/// A formula over numbers compiled for FieldSpec::kernel (graph/src/schema/kernel.hpp).
struct ScalarProgram;

struct CompiledFormula {
  Eval eval;
  Type type = Type::null;
  /// Locals read through Frame::slot, in slot order.
  std::vector<std::uint32_t> slots;
  /// Walks relations or scans collections: dependencies are tracked, not declared.
  bool tracked = false;
  bool reads_self = false;
  /// The same formula as a program over doubles that the Store runs as the field's
  /// FieldSpec::kernel, when it qualifies (docs/DECISIONS.md "Schema formulas as scalar
  /// kernels"); null otherwise. Shared by the copies of the schema's formulas.
  std::shared_ptr<const ScalarProgram> scalar;
};

/// How an effect's triggers reach its consumers on a cluster (seed 000 §2.3's communication
/// patterns; docs/SCHEMA.md "Delivery modes"), by `@acknowledged` (the default),
/// `@fire_and_forget` or `@counted` on the effect:
/// - acknowledged: each trigger is a delivery, sent again until a consumer acknowledges it;
/// - fire_and_forget: each trigger is sent once, and the cluster acknowledges it itself as
///   it sends it (sent again only when that acknowledgement cannot commit);
/// - counted (counter effects): the triggers of a record's effect that come before one is
///   sent form one delivery, which carries their count and whose acknowledgement settles
///   them all.
/// Values are stored in the log and checkpoints: never renumber, only add.
enum class DeliveryMode : std::uint8_t { acknowledged = 0, fire_and_forget = 1, counted = 2 };
/// "acknowledged", "fire_and_forget", "counted": also the annotation that sets it.
const char* delivery_mode_name(DeliveryMode mode);
/// The mode named `name` (delivery_mode_name's inverse); nullopt for any other name.
std::optional<DeliveryMode> delivery_mode_named(std::string_view name);

/// How an effect's deliveries are sent again until acknowledged (`@retry(initial,
/// multiplier, max_delay, max_attempts)` on the effect; these defaults when absent): the
/// first send is at once, attempt k+1 follows attempt k by initial * multiplier^(k-1),
/// capped at max_delay; when max_attempts sends have gone unacknowledged for the delay
/// after the last, the delivery is a dead letter (session/effect_delivery.hpp).
struct RetryPolicy {
  std::chrono::milliseconds initial{1'000};
  double multiplier = 2.0;
  std::chrono::milliseconds max_delay{60'000};
  std::uint32_t max_attempts = 8;
  /// How its triggers become deliveries (above); kept with the retries because both travel
  /// with every trigger from its partition to the coordinator.
  DeliveryMode mode = DeliveryMode::acknowledged;
  /// The pause after attempt `attempt` (1-based) before the next one, or before the
  /// delivery becomes a dead letter after the last.
  std::chrono::milliseconds delay_after(std::uint32_t attempt) const;
  /// Ok, or what is out of bounds (the bounds below) or unknown, naming the value.
  Status check() const;
  friend bool operator==(const RetryPolicy&, const RetryPolicy&) = default;
};
/// Bounds of a retry policy. Delays: at least a millisecond (a zero delay would resend in
/// a loop), at most a day (a consumer gone longer than that is for the dead letters).
inline constexpr std::chrono::milliseconds kRetryDelayMin{1};
inline constexpr std::chrono::milliseconds kRetryDelayMax{24 * 3'600'000};
/// A multiplier below 1 would shrink the pauses; above 100 the second pause is already
/// the cap for any useful initial delay.
inline constexpr double kRetryMultiplierMin = 1.0;
inline constexpr double kRetryMultiplierMax = 100.0;
/// Sends of one delivery: bounded so that a consumer that never acknowledges ends its
/// deliveries as dead letters instead of being sent them for ever.
inline constexpr std::uint32_t kRetryAttemptsMax = 1'000;

struct FieldOptions {
  bool lazy = false;
  bool versioned = false;
  /// @fail_transaction: a failing formula rolls its transaction back instead of failing
  /// the field (docs/SCHEMA.md "Failed fields").
  bool fail_transaction = false;
  double tolerance = -1;  ///< >= 0: custom equality |a - b| <= tolerance (float, tensor)
  Timing timing = Timing::immediate;
  std::vector<Value> timing_args;
  RetryPolicy retry;  ///< effect: `@retry(...)`, or the defaults
};

/// A timed field (any timing but immediate) as the Store runs it. Its formula is computed
/// at once by a hidden node (`value`); the field's own node (the condition's, for an
/// effect) is a gate, an incremental field over `value` and the `triggers`, that takes
/// `value` when its record is created and then only when a trigger changes (conditional:
/// whenever the predicate, the one trigger, holds). Every helper is a HiddenDef created
/// just before the field (HiddenDef::before). Time is the global record's clock
/// (Schema::clock_field), which only transactions write: replaying them replays the field.
struct TimingDef {
  std::int64_t period_ms = 0;  ///< every: the period; batched: the interval (0: none)
  std::int64_t at_ms = 0;      ///< at: the time (ms since the Unix epoch)
  bool at = false;             ///< temporal: `@at`, not `@every`
  std::int64_t count = 0;      ///< batched: changes of the value per recomputation (0: none)
  /// on_completion: the field that completes, a bool field (its rises) or an async field
  /// (its accepted results, counted by FieldDef::done)
  std::uint32_t completion = kNone;
  std::uint32_t value_local = kNone;  ///< kNone: the field is not timed
  /// Locals whose change opens the gate; conditional: the predicate, whose truth does.
  std::vector<std::uint32_t> triggers;
  bool gated() const { return value_local != kNone; }
};

struct FieldDef {
  std::string name;
  SourceLoc loc;
  FieldKind kind = FieldKind::state;
  Type type = Type::null;
  /// `TYPE?`: the field may hold null (no value); its default is null unless it has one.
  bool nullable = false;
  Value initial;  ///< state and member fields
  FieldOptions options;
  EffectKind effect_kind = EffectKind::boolean;
  CompiledFormula formula;           ///< derived: the value; effect: the condition
  std::uint32_t cond_local = kNone;  ///< effect: hidden node holding the condition
  std::uint32_t group = kNone;       ///< member: its cycle group
  TimingDef timed;                   ///< derived, effect: how a timing runs (see there)
  /// Queue effect: the fields of its record (indices into EntityDef::fields) whose values
  /// each trigger carries, in the order written (`queue(total, status)`).
  std::vector<std::uint32_t> carried;
  /// Effect `when changed(total, status)` (docs/SCHEMA.md "Change feeds"): the fields of its
  /// record (indices into EntityDef::fields) each change of which triggers it, creation
  /// included. Its condition node counts those changes instead of evaluating a formula.
  /// Empty for an effect with a condition.
  std::vector<std::uint32_t> watched;
  /// Async field (`risk: float = async(amount, customer)`, docs/SCHEMA.md "Async fields"):
  /// a state field that only results write (Store::resolve), and the index of its request,
  /// the hidden effect `risk@request` appended after the entity's declared fields and
  /// effects. kNone: not an async field.
  std::uint32_t request = kNone;
  /// Async field: the index of its count of accepted results, the hidden int state field
  /// `risk@done` appended after its request, which Store::resolve adds one to in the
  /// transaction that writes a result (so `@on_completion(risk)` reads a value). kNone:
  /// not an async field.
  std::uint32_t done = kNone;
  /// The index of the async field of which this field is the request (a queue effect
  /// carrying the inputs, `carried`, whose value counts the requests raised, one per change
  /// of an input, creation included, so that its version names the newest request) or the
  /// count of accepted results (`risk@done`, a state field). kNone otherwise.
  std::uint32_t async_of = kNone;
};

struct RelationDef {
  std::string name;
  SourceLoc loc;
  bool many = false;
  std::uint32_t target = kNone;   ///< entity index
  std::uint32_t inverse = kNone;  ///< relation index in the target entity
  /// Kept by the Store, not by links: the global record's relation to every record of an
  /// entity that a formula aggregates as a whole (`count(Order)`), and its inverse.
  bool implicit = false;
  /// A relation with properties (`items: many Item via order { qty: int = 1 }`, and its
  /// inverse): the relation of this entity to its link records (`items@link`), which the
  /// Store keeps with the links. kNone: no properties.
  std::uint32_t link = kNone;
  /// A relation to link records (`items@link`, RelationDef::link of another): the relation
  /// of the link entity that reaches the other end of the link from this side. kNone:
  /// not such a relation.
  std::uint32_t link_other = kNone;
  /// Kept by the Store with the links of a relation with properties (`items@link`, a link
  /// entity's `source` and `target`): never linked or unlinked by name.
  bool hidden = false;
};

enum class AggOp : std::uint8_t { count, sum, avg, min, max, any, every };
const char* agg_name(AggOp op);

/// How an accumulator combines what the members of its relation contribute.
enum class AccKind : std::uint8_t {
  members,  ///< how many members there are
  present,  ///< how many members' sources are not null (a path of one-hops that ends)
  sum,      ///< the sum of the sources (a bool counts 1; int sums wrap around)
  product,  ///< the sum of source * weight (the numerator of wavg)
  min,      ///< the least source, from an ordered multiset; null without members
  max,      ///< the greatest source, likewise
};
const char* acc_kind_name(AccKind kind);

/// An accumulator: one number every record of an entity keeps about the members of one
/// of its many-relations. Aggregates read them: count, sum, avg (sum / members), any and
/// every (the number of true members against all), min, max, wavg (product / sum of the
/// weights). A nested pattern (`orders[*].items[*].price`) is an accumulator over the
/// accumulators of the entity in between, and a one-hop inside a pattern is a hidden node
/// (HiddenDef) that reads through it.
///
/// A source the Store writes (a state field, or an accumulator that is itself a variable)
/// makes the accumulator a variable that the Store updates from mutation events: O(1) per
/// event, O(log n) for min/max. A computed source (derived field, group member, effect,
/// hidden node, computed accumulator) makes it an incremental field
/// (Dependencies::incremental) whose inputs are the members' sources: the engine hands it
/// the sources that changed in the transaction, so it also costs O(changes).
struct AggregateDef {
  AccKind kind = AccKind::members;
  std::uint32_t relation = kNone;
  std::uint32_t source = kNone;  ///< local of the member entity (all kinds but members)
  std::uint32_t weight = kNone;  ///< product: local of the second factor
  Type type = Type::integer;     ///< integer or real
  std::uint32_t local = kNone;   ///< the owner's node holding it
  bool computed = false;         ///< the source is computed: `local` is an incremental field
  std::string name;              ///< e.g. "items.sum(price)", for messages and explain
};

/// A hidden derived node of every record of an entity, a source of accumulators: a value
/// read through one-relations (null, or the zero of an accumulator, when a hop is
/// unlinked), or the product of two of the record's values.
struct HiddenDef {
  std::string name;
  CompiledFormula formula;
  std::uint32_t local = kNone;
  /// A timed field's helper (TimingDef): created just before that field's nodes, since
  /// the field reads it. kNone: created after all fields.
  std::uint32_t before = kNone;
  Type self_type = Type::null;  ///< what `self` reads before the first computation
};

struct GroupRuleDef {
  std::uint32_t output = 0;           ///< index into GroupDef::members
  std::vector<std::uint32_t> inputs;  ///< indices into members, in slot order
  CompiledFormula formula;
  bool is_default = false;
  std::string text;
};

struct GroupDef {
  std::string name;
  std::vector<std::uint32_t> members;  ///< field indices
  std::vector<GroupRuleDef> rules;
  std::uint32_t dispatcher_local = kNone;
};

/// Hashes names for lookups by std::string_view in a map keyed by std::string.
struct NameHash {
  using is_transparent = void;
  std::size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
};
/// Names to indices; of equal names, the first one declared.
using NameIndex = std::unordered_map<std::string, std::uint32_t, NameHash, std::equal_to<>>;

struct EntityDef {
  std::string name;
  SourceLoc loc;
  std::vector<FieldDef> fields;
  std::vector<RelationDef> relations;
  std::vector<AggregateDef> aggregates;
  std::vector<HiddenDef> hidden;  ///< created after the fields, in this order
  std::vector<GroupDef> groups;
  /// Derived and effect fields, dependencies first (the order records create them in).
  std::vector<std::uint32_t> creation_order;
  std::uint32_t local_count = 1;
  /// Locals that formulas of other records read (through a one-hop, a scan, or as the
  /// source of an accumulator over computed values), possibly repeated: on a partitioned
  /// cluster only these, of a record's computed nodes, travel to other partitions.
  std::vector<std::uint32_t> read_elsewhere;
  /// A link entity (`Order.items`): the records holding the properties of the links of
  /// relation `link_relation` of entity `link_of` (docs/SCHEMA.md "Relation properties").
  /// Its relation 0 (`source`) reaches the record of `link_of`, relation 1 (`target`) the
  /// other. A relation that is its own inverse has two link records per link, one from
  /// each side, which the Store keeps equal. kNone: an entity of the schema.
  std::uint32_t link_of = kNone;
  std::uint32_t link_relation = kNone;
  static constexpr std::uint32_t link_source = 0;
  static constexpr std::uint32_t link_target = 1;

  static constexpr std::uint32_t exists_local = 0;
  std::uint32_t field_local(std::uint32_t f) const { return 1 + f; }
  std::uint32_t relation_local(std::uint32_t r) const {
    return 1 + static_cast<std::uint32_t>(fields.size()) + r;
  }
  /// The first field (relation) of that name, or kNone: a hash lookup among the names
  /// index_names() saw, then a scan of those added since.
  std::uint32_t find_field(std::string_view name) const;
  std::uint32_t find_relation(std::string_view name) const;
  /// Indexes the fields and relations added since the last call (names must not change
  /// afterwards). The checker calls it as it declares them, so that looking names up
  /// stays O(1) with thousands of members.
  void index_names();

  NameIndex field_names;
  NameIndex relation_names;
  std::uint32_t indexed_fields = 0;
  std::uint32_t indexed_relations = 0;
};

/// The record holding the global values (`global NAME: TYPE`) and the accumulators of
/// aggregates over whole entities: the first record of a Store whose schema has a global
/// entity, created with the Store.
inline constexpr std::uint64_t kGlobalRecord = 1;
/// The name of the global entity (a reserved word, so no declared entity has it).
inline constexpr std::string_view kGlobalEntity = "global";
/// The name of the clock field of the global entity (Schema::clock_field): not a name a
/// schema or a script line can write, so only the `clock` command sets it.
inline constexpr std::string_view kClockField = "@clock";

struct Schema {
  SourceFile source;
  std::vector<EntityDef> entities;
  /// The global entity, the last one, or kNone when the schema declares no global value
  /// and aggregates no entity as a whole. Its relation named after an entity (`Order`)
  /// has every record of it as members (RelationDef::implicit).
  std::uint32_t global_entity = kNone;
  /// The clock (`@clock`, ms since the Unix epoch, an int): a state field of the global
  /// entity that schemas with a time-based timing (`@every`, `@at`, `@batched` with an
  /// interval) get; only transactions write it (the script command `clock`). kNone: none.
  std::uint32_t clock_field = kNone;
  /// As EntityDef::find_field, for entities.
  std::uint32_t find_entity(std::string_view name) const;
  /// Indexes the entities added since the last call (not their members: see
  /// EntityDef::index_names).
  void index_names();

  NameIndex entity_names;
  std::uint32_t indexed_entities = 0;
};

struct CompileOptions {
  /// Aggregates kept incrementally in accumulators (AggregateDef). Off: every aggregate
  /// rescans its collection when it recomputes (the full-recompute path).
  bool incremental_aggregates = true;
  /// Derived float fields whose formula is arithmetic over numeric fields of their own
  /// record also compile to a scalar program, which the commit runs as a kernel
  /// (CompiledFormula::scalar). Off: every formula runs as closures over a Context only.
  bool scalar_kernels = true;
};

/// Parses and checks a schema file. Errors carry file:line:col, the line and a caret;
/// several semantic errors are reported at once (up to kDiagnosticsMax).
Result<std::shared_ptr<const Schema>> compile_schema(const SourceFile& file,
                                                     CompileOptions options = {});

}  // namespace mgraph::schema
