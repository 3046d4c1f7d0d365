// Store: records as graph nodes, compiled formulas as shared FieldSpecs, relations,
// mutation events and the transaction journal of Store-side state.

#include "mgraph/graph/schema/store.hpp"

#include <algorithm>
#include <array>
#include <bit>
#include <cmath>

#include "mgraph/graph/clock.hpp"
#include "mgraph/graph/hash.hpp"
#include "mgraph/graph/json.hpp"
#include "kernel.hpp"
#include "ops.hpp"

namespace mgraph::schema {

const char* mutation_name(MutationType type) {
  static constexpr const char* kNames[] = {"create", "update", "delete", "link", "unlink"};
  return kNames[static_cast<int>(type)];
}

/// The Frame a compiled formula sees inside the Graph: slots are the declared inputs
/// (declared formulas) or the record's own nodes read as tracked dependencies.
class Store::FieldFrame final : public Frame {
 public:
  FieldFrame(Store& s, Context& c, const CompiledFormula& f, Type self_type)
      : s_(s), c_(c), f_(f), self_type_(self_type) {}
  Value slot(std::uint32_t k) override {
    ++s_.values_read_;
    if (!f_.tracked) return c_.input(k);
    return c_.read(s_.node(s_.records_[record() - 1], f_.slots[k]));
  }
  Value self() override {
    const Value& v = c_.self();
    return v.is_null() ? zero_of(self_type_) : v;
  }
  /// Looked up on first use: a formula over declared inputs never needs it.
  std::uint64_t record() override {
    if (id_ == 0) id_ = s_.owner_[c_.node()];
    return id_;
  }
  Value read(std::uint64_t id, std::uint32_t local) override {
    MG_ASSERT(id >= 1 && id <= s_.records_.size());
    ++s_.values_read_;
    return c_.read(s_.node(s_.records_[id - 1], local));
  }
  const std::vector<std::uint64_t>& members(std::uint64_t id, std::uint32_t local) override {
    MG_ASSERT(id >= 1 && id <= s_.records_.size());
    const Record& r = s_.records_[id - 1];
    c_.read(s_.node(r, local));  // the membership version: a dependency on the collection
    const EntityDef& e = s_.schema_->entities[r.entity];
    const auto& members = r.extra->members[local - e.relation_local(0)];
    s_.values_read_ += 1 + members.size();
    return members;
  }

 private:
  Store& s_;
  Context& c_;
  RecordId id_ = 0;
  const CompiledFormula& f_;
  Type self_type_;
};

namespace {

/// Frame of a cycle-group rule: its slots are the member values the group passes in.
class SpanFrame final : public Frame {
 public:
  explicit SpanFrame(std::span<const Value> in) : in_(in) {}
  Value slot(std::uint32_t k) override { return in_[k]; }
  Value self() override { return Value(); }
  std::uint64_t record() override { return 0; }
  Value read(std::uint64_t, std::uint32_t) override {
    throw ops::FormulaError("a cycle rule reads group members only");
  }
  const std::vector<std::uint64_t>& members(std::uint64_t, std::uint32_t) override {
    throw ops::FormulaError("a cycle rule reads group members only");
  }

 private:
  std::span<const Value> in_;
};

Value checked(Result<Value> v, const std::string& where) {
  if (!v.is_ok()) throw ops::FormulaError(where + ": " + v.status().message());
  return std::move(v).value();
}

/// A formula's result as a value of its field's type: coerce(), without building a
/// Result when the value has the type already (the common case). NaN or an infinity
/// fails a float field (ops::not_finite); tensors may hold NaN (an undefined correlation
/// says so).
Value typed(Value v, Type type, const std::string& where) {
  const bool same = (type == Type::real && v.is_double()) ||
                    (type == Type::integer && v.is_int()) ||
                    (type == Type::boolean && v.is_bool());
  if (same) {
    if (type == Type::real && !std::isfinite(v.as_double())) [[unlikely]]
      ops::not_finite(v.as_double(), where);
    return v;
  }
  Value c = checked(coerce(v, type), where);
  if (c.is_double() && !std::isfinite(c.as_double())) [[unlikely]]
    ops::not_finite(c.as_double(), where);
  return c;
}

/// A value written to state field `d` of entity `e`: null only if the field is nullable,
/// else coerce()'s value of its type.
Result<Value> written(const EntityDef& e, const FieldDef& d, const Value& v) {
  if (v.is_null()) {
    if (d.nullable) return v;
    return Status(StatusCode::invalid_argument,
                  e.name + "." + d.name + " is " + type_name(d.type) +
                      ", not nullable: declare it " + type_name(d.type) + "? to let it hold null");
  }
  Result<Value> c = coerce(v, d.type);
  if (!c.is_ok())
    return Status(StatusCode::invalid_argument, e.name + "." + d.name + ": " + c.status().message());
  return c;
}

/// A state field that only Store::resolve writes: an async field or its count of results.
bool only_resolved(const FieldDef& d) {
  return d.request != kNone || (d.async_of != kNone && d.kind == FieldKind::state);
}

/// Why a script may not write `d` (only_resolved).
Status async_refused(const EntityDef& e, const FieldDef& d) {
  if (d.request == kNone) {
    const std::string& of = e.fields[d.async_of].name;
    return Status(StatusCode::invalid_argument,
                  e.name + "." + d.name + " counts the results written to " + of +
                      ": only resolve " + of + " VERSION VALUE adds to it");
  }
  return Status(StatusCode::invalid_argument,
                e.name + "." + d.name + " is computed outside the graph (async): only a result "
                "writes it, with resolve " + d.name + " VERSION VALUE");
}

Equality tolerance_equality(double tol) {
  return [tol](const Value& a, const Value& b) {
    if (a.is_double() && b.is_double()) return std::fabs(a.as_double() - b.as_double()) <= tol;
    if (a.is_tensor() && b.is_tensor()) {
      const Tensor x = a.as_tensor(), y = b.as_tensor();
      if (!std::equal(x.shape().begin(), x.shape().end(), y.shape().begin(), y.shape().end())) {
        return false;
      }
      for (std::size_t i = 0; i < x.size(); ++i) {
        if (std::fabs(x.data()[i] - y.data()[i]) > tol) return false;
      }
      return true;
    }
    return a == b;
  };
}

/// The node of a timed field (an effect's condition), `gated` in an entity of `layout`
/// (docs/SCHEMA.md "Execution timing"): an incremental field over the value of its formula
/// (TimingDef::value_local, its first input) and the triggers. It takes the value when it
/// is first computed and when a trigger changed (conditional: while the predicate holds),
/// and keeps its own otherwise. The engine computes inputs first, so peek() reads them
/// up to date.
///
/// An effect's condition under `@on_completion(x)` takes each completion as an event: it
/// holds 1 + the completions so far (its one trigger, TimingDef::triggers) when the
/// condition is true at a completion and 0 when it is false, so that two completions in a
/// row where it is true are two changes of the node, and the effect triggers at each.
Formula timing_gate(const std::vector<std::uint32_t>& layout, std::uint32_t gated,
                    const FieldDef& d, const std::string& where) {
  const TimingDef& t = d.timed;
  const NodeId back_value = layout[gated] - layout[t.value_local];
  const NodeId back_predicate = d.options.timing == Timing::conditional
                                    ? layout[gated] - layout[t.triggers.at(0)]
                                    : kNoNode;
  const NodeId back_completions =
      d.options.timing == Timing::on_completion && d.kind == FieldKind::effect
          ? layout[gated] - layout[t.triggers.at(0)]
          : kNoNode;
  const Type type = d.kind == FieldKind::effect ? Type::boolean : d.type;
  return [back_value, back_predicate, back_completions, type,
          nullable = d.nullable && d.kind != FieldKind::effect, where](Context& c) -> Value {
    const NodeId value = c.node() - back_value;
    bool first = false, triggered = false;
    for (const InputChange& ch : c.changes()) {
      first = first || !ch.was_input;
      triggered = triggered || ch.input != value;
    }
    if (back_predicate != kNoNode) triggered = ops::truthy(c.peek(c.node() - back_predicate));
    if (!first && !triggered) return c.self();
    Value v = c.peek(value);
    if (nullable && v.is_null()) return v;
    if (back_completions != kNoNode) {
      if (!typed(std::move(v), type, where).as_bool()) return Value(std::int64_t{0});
      const Value n = c.peek(c.node() - back_completions);
      return Value((n.is_int() ? n.as_int() : 0) + 1);
    }
    return typed(std::move(v), type, where);
  };
}

}  // namespace

Store::Store(std::shared_ptr<const Schema> schema, StoreOptions options)
    : schema_(std::move(schema)),
      options_(options),
      graph_(GraphOptions{.history_limit = options.history_limit}) {
  MG_ASSERT(schema_ != nullptr);
  build_specs();
  if (schema_->global_entity != kNone) create_global();
}

void Store::create_global() {
  const EntityDef& g = schema_->entities[schema_->global_entity];
  std::vector<Value> initial;
  for (const FieldDef& f : g.fields) initial.push_back(f.initial);
  records_.push_back(Record{schema_->global_entity, kNoNode, nullptr});
  MG_ASSERT(records_.size() == kGlobalRecord);
  MG_ASSERT(create_nodes(kGlobalRecord, initial, true).is_ok());
}

Status Store::check_named(std::uint32_t entity, std::uint32_t rel) const {
  const EntityDef& e = schema_->entities[entity];
  const RelationDef& d = e.relations[rel];
  if (d.hidden) {
    return Status(StatusCode::invalid_argument,
                  e.name + "." + d.name +
                      " is kept by the store with the links of a relation with properties");
  }
  if (!d.implicit) return Status::ok();
  const RelationDef& inv = schema_->entities[d.target].relations[d.inverse];
  const std::string whole = d.many ? d.name : inv.name;
  return Status(StatusCode::invalid_argument,
                e.name + "." + d.name + " is kept by the store: every " + whole +
                    " record is a member of global." + whole + " from its creation to its "
                    "deletion, for the aggregates over all of them");
}

std::uint32_t Store::find_field(std::uint32_t entity, std::string_view name) const {
  const auto& index = field_index_[entity];
  if (index.empty()) return schema_->entities[entity].find_field(name);
  const auto it = index.find(name);
  return it == index.end() ? kNone : it->second;
}

void Store::build_specs() {
  const auto& ents = schema_->entities;
  // Field names of large entities are hashed; a short list is faster to scan.
  constexpr std::size_t kScannedFieldsMax = 16;
  field_index_.resize(ents.size());
  for (std::uint32_t ei = 0; ei < ents.size(); ++ei) {
    if (ents[ei].fields.size() <= kScannedFieldsMax) continue;
    for (std::uint32_t f = 0; f < ents[ei].fields.size(); ++f)
      field_index_[ei].emplace(ents[ei].fields[f].name, f);
  }
  specs_.resize(ents.size());
  watchers_.resize(ents.size());
  // Node layout of a record: the order create_nodes creates its nodes in, as offsets from
  // its first node, by local index (invariant 5).
  layouts_.resize(ents.size());
  for (std::uint32_t ei = 0; ei < ents.size(); ++ei) {
    const EntityDef& e = ents[ei];
    std::vector<std::uint32_t>& layout = layouts_[ei];
    layout.assign(e.local_count, kNone);
    std::uint32_t next = 0;
    layout[EntityDef::exists_local] = next++;
    for (std::uint32_t f = 0; f < e.fields.size(); ++f) {
      if (e.fields[f].kind == FieldKind::state) layout[e.field_local(f)] = next++;
    }
    for (std::uint32_t rel = 0; rel < e.relations.size(); ++rel)
      layout[e.relation_local(rel)] = next++;
    for (const AggregateDef& a : e.aggregates) layout[a.local] = next++;
    for (const GroupDef& g : e.groups) {  // Graph::add_cycle_group: dispatcher, then members
      layout[g.dispatcher_local] = next++;
      for (std::uint32_t m : g.members) layout[e.field_local(m)] = next++;
    }
    for (std::uint32_t f : e.creation_order) {
      for (const HiddenDef& h : e.hidden) {
        if (h.before == f) layout[h.local] = next++;
      }
      if (e.fields[f].kind == FieldKind::effect) layout[e.fields[f].cond_local] = next++;
      layout[e.field_local(f)] = next++;
    }
    for (const HiddenDef& h : e.hidden) {
      if (h.before == kNone) layout[h.local] = next++;
    }
    MG_ASSERT(next == e.local_count);
  }
  build_mirror_plans();
  build_accumulators();
  // The fields that run as kernels (CompiledFormula::scalar, not timed): their programs
  // are packed in field order below, with room made first so that nothing moves.
  auto runs_kernel = [](const FieldDef& d) {
    return d.kind == FieldKind::derived && !d.timed.gated() && d.formula.scalar != nullptr;
  };
  std::size_t kernel_count = 0, instructions = 0;
  for (const EntityDef& e : ents) {
    for (const FieldDef& d : e.fields) {
      if (!runs_kernel(d)) continue;
      ++kernel_count;
      instructions += d.formula.scalar->code.size();
    }
  }
  kernels_ = std::make_shared<ScalarKernels>();
  kernels_->reserve(kernel_count, instructions);
  hidden_specs_.resize(ents.size());
  for (std::uint32_t ei = 0; ei < ents.size(); ++ei) {
    const EntityDef& e = ents[ei];
    for (const HiddenDef& h : e.hidden) {
      FieldSpec spec;
      spec.name = e.name + "." + h.name;
      spec.dependencies = h.formula.tracked ? Dependencies::tracked : Dependencies::declared;
      // A hidden value may be null (a hop unlinked): no coercion to a field's type.
      spec.formula = [this, cf = &h.formula, self_type = h.self_type](Context& c) {
        FieldFrame frame(*this, c, *cf, self_type);
        return cf->eval(frame);
      };
      // A timed field's formula runs here (TimingDef::value_local): its failure is the
      // field's, so @fail_transaction goes with it.
      if (h.before != kNone && e.fields[h.before].timed.value_local == h.local)
        spec.fail_transaction = e.fields[h.before].options.fail_transaction;
      hidden_specs_[ei].push_back(graph_.add_spec(std::move(spec)));
    }
    specs_[ei].assign(2 * e.fields.size(), 0);
    for (std::uint32_t f = 0; f < e.fields.size(); ++f) {
      const FieldDef& d = e.fields[f];
      if (d.kind != FieldKind::derived && d.kind != FieldKind::effect) continue;
      const CompiledFormula* cf = &d.formula;
      const std::string where = e.name + "." + d.name;
      FieldSpec value;
      value.name = where;
      value.dependencies = cf->tracked ? Dependencies::tracked : Dependencies::declared;
      value.fail_transaction = d.options.fail_transaction;
      if (d.timed.gated()) {
        const std::uint32_t gated = d.kind == FieldKind::effect ? d.cond_local : e.field_local(f);
        value.dependencies = Dependencies::incremental;
        if (d.options.tolerance >= 0) value.equality = tolerance_equality(d.options.tolerance);
        value.formula = timing_gate(layouts_[ei], gated, d, where);
        specs_[ei][d.kind == FieldKind::effect ? e.fields.size() + f : f] =
            graph_.add_spec(std::move(value));
        if (d.kind == FieldKind::derived) continue;
      } else if (d.kind == FieldKind::derived) {
        value.evaluation = d.options.lazy ? Evaluation::lazy : Evaluation::strict;
        if (d.options.tolerance >= 0) value.equality = tolerance_equality(d.options.tolerance);
        value.formula = [this, cf, type = d.type, nullable = d.nullable, where](Context& c) {
          FieldFrame frame(*this, c, *cf, type);
          Value v = cf->eval(frame);
          if (nullable && v.is_null()) return v;  // `TYPE?`: no value
          return typed(std::move(v), type, where);
        };
        if (runs_kernel(d)) {
          // The same formula as a program over doubles (kernel.hpp): add_spec() makes the
          // Context formula from it, and the lean commit runs it directly.
          const PackedProgram* program = kernels_->add(*cf->scalar);
          value.kernel = program->kernel;
          value.kernel_data = program;
          value.kernel_form = program->form;
        }
        specs_[ei][f] = graph_.add_spec(std::move(value));
        continue;
      }
      // An effect is two nodes: its condition, and the effect, which changes only when the
      // condition does (equality cutoff) or when it is acknowledged (a proposal).
      if (d.async_of != kNone || !d.watched.empty()) {
        // An async field's request, or a change feed (`when changed(...)`): its "condition"
        // counts the changes of the inputs (creation included), so that the effect, below,
        // is triggered by each (a count is true once it is not 0).
        value.formula = [](Context& c) {
          const Value& prev = c.self();
          return Value(prev.is_int() ? prev.as_int() + 1 : std::int64_t{1});
        };
        specs_[ei][e.fields.size() + f] = graph_.add_spec(std::move(value));
      } else if (!d.timed.gated()) {
        value.formula = [this, cf, where](Context& c) {
          FieldFrame frame(*this, c, *cf, Type::boolean);
          return typed(cf->eval(frame), Type::boolean, where);
        };
        specs_[ei][e.fields.size() + f] = graph_.add_spec(std::move(value));
      }
      FieldSpec fx;
      fx.name = where;
      fx.dependencies = Dependencies::declared;
      fx.formula = [kind = d.effect_kind, request = d.async_of != kNone](Context& c) {
        const Value& prev = c.self();
        if (request) {
          // Requests raised so far: never lowered (an acknowledgement changes nothing), so
          // that its version is the newest request's (Store::resolve).
          const std::int64_t raised = prev.is_int() ? prev.as_int() : 0;
          return c.has_proposed() ? Value(raised) : Value(raised + 1);
        }
        const bool boolean = kind == EffectKind::boolean;
        const std::int64_t pending = prev.is_int() ? prev.as_int() : 0;
        if (c.has_proposed())
          return boolean ? Value(false) : Value(std::max<std::int64_t>(0, pending - 1));
        // The condition: a bool, or under @on_completion a count, 0 when false (timing_gate).
        const Value& cond = c.input(0);
        if (cond.is_int() ? cond.as_int() == 0 : !ops::truthy(cond))
          return prev.is_null() ? (boolean ? Value(false) : Value(std::int64_t{0})) : prev;
        return boolean ? Value(true) : Value(pending + 1);
      };
      specs_[ei][f] = graph_.add_spec(std::move(fx));
    }
  }
}

std::string Store::node_name(RecordId id, std::string_view what) const {
  return schema_->entities[records_[id - 1].entity].name + "#" + std::to_string(id) + "." +
         std::string(what);
}

Result<std::vector<Value>> Store::initial_values(std::uint32_t ei,
                                                 const FieldValues& values) const {
  const EntityDef& e = schema_->entities[ei];
  std::vector<Value> initial;
  initial.reserve(e.fields.size());
  for (const FieldDef& f : e.fields) initial.push_back(f.initial);
  for (const auto& [name, v] : values) {
    const std::uint32_t f = find_field(ei, name);
    if (f == kNone)
      return Status(StatusCode::not_found, "unknown field '" + name + "' in entity " + e.name);
    const FieldDef& d = e.fields[f];
    if (d.kind != FieldKind::state && d.kind != FieldKind::member) {
      return Status(StatusCode::invalid_argument,
                    e.name + "." + name + " is computed; it cannot be given");
    }
    if (only_resolved(d)) return async_refused(e, d);
    Result<Value> c = written(e, d, v);
    if (!c.is_ok()) return c.status();
    initial[f] = std::move(c).value();
  }
  return initial;
}

Result<RecordId> Store::create(std::string_view entity, const FieldValues& values) {
  const std::uint32_t ei = schema_->find_entity(entity);
  if (ei == kNone)
    return Status(StatusCode::not_found, "unknown entity '" + std::string(entity) + "'");
  const EntityDef& e = schema_->entities[ei];
  if (ei == schema_->global_entity) {
    return Status(StatusCode::invalid_argument,
                  "the global record exists from the start and is the only one; write its "
                  "values with set global.NAME = VALUE");
  }
  if (e.link_of != kNone) {
    return Status(StatusCode::invalid_argument,
                  e.name + " holds the properties of links: link records are made by link");
  }
  Result<std::vector<Value>> made = initial_values(ei, values);
  if (!made.is_ok()) return made.status();
  std::vector<Value> initial = std::move(made).value();
  const RecordId id = records_.size() + 1;
  records_.push_back(Record{ei, kNoNode, nullptr});
  if (Status s = create_nodes(id, initial); !s.is_ok()) {
    records_[id - 1].base = kNoNode;  // never live: its nodes are incomplete
    return s;
  }
  if (Status s = write(node(records_[id - 1], EntityDef::exists_local), Value(true)); !s.is_ok())
    return s;
  // A record of an entity aggregated as a whole joins the global record's relation to it.
  for (std::uint32_t rel = 0; rel < e.relations.size(); ++rel) {
    const RelationDef& d = e.relations[rel];
    if (!d.implicit) continue;
    if (Status s = connect(kGlobalRecord, d.inverse, id, true); !s.is_ok()) {
      // A cycle through an aggregate over the whole entity: the record is not created.
      MG_ASSERT(write(node(records_[id - 1], EntityDef::exists_local), Value(false)).is_ok());
      records_[id - 1].base = kNoNode;
      return s;
    }
  }
  if (listeners_.empty()) return id;
  MutationEvent ev;
  ev.type = MutationType::create;
  ev.entity = ei;
  ev.record = id;
  ev.values = std::move(initial);
  emit(std::move(ev));
  return id;
}

std::uint32_t Placement::partition_of(std::uint64_t id, std::uint32_t partitions,
                                      std::uint64_t salt) {
  if (partitions <= 1) return 0;
  // The high half: modulo a power of two, FNV-1a's low bits depend only on the low bits
  // of each byte, which would place records by the parity of their ids.
  return static_cast<std::uint32_t>((Fnv1a64().u64(salt).u64(id).value() >> 32) % partitions);
}

void Store::build_mirror_plans() {
  const auto& ents = schema_->entities;
  mirror_plans_.resize(ents.size());
  for (std::uint32_t ei = 0; ei < ents.size(); ++ei) {
    const EntityDef& e = ents[ei];
    std::vector<MirrorNode>& plan = mirror_plans_[ei];
    plan.assign(e.local_count, MirrorNode{});
    for (std::uint32_t local = 0; local < e.local_count; ++local) plan[layouts_[ei][local]].local = local;
    // Computed nodes: named as the owner's engine names them (create_nodes).
    auto computed = [&](std::uint32_t local, std::string name) {
      MirrorNode& m = plan[layouts_[ei][local]];
      m.input = false;
      m.name = std::move(name);
    };
    for (std::uint32_t f = 0; f < e.fields.size(); ++f) {
      const FieldDef& d = e.fields[f];
      if (d.kind != FieldKind::state) computed(e.field_local(f), d.name);
      if (d.kind == FieldKind::effect) computed(d.cond_local, d.name + "?");
    }
    for (std::uint32_t k = 0; k < e.aggregates.size(); ++k) {
      const AggregateDef& a = e.aggregates[k];
      if (a.computed) {
        computed(a.local, a.name);
      } else {
        plan[layouts_[ei][a.local]].aggregate = k;
      }
    }
    for (const HiddenDef& h : e.hidden) computed(h.local, h.name);
    for (const GroupDef& g : e.groups) computed(g.dispatcher_local, g.name);
    for (const std::uint32_t local : e.read_elsewhere) plan[layouts_[ei][local]].read_elsewhere = true;
  }
  // Accumulators over computed sources read every member's source.
  for (const EntityDef& e : ents) {
    for (const AggregateDef& a : e.aggregates) {
      if (!a.computed) continue;
      const std::uint32_t member = e.relations[a.relation].target;
      for (const std::uint32_t local : {a.source, a.weight}) {
        if (local != kNone) mirror_plans_[member][layouts_[member][local]].read_elsewhere = true;
      }
    }
  }
}

void Store::make_collections(Record& r) const {
  const EntityDef& e = schema_->entities[r.entity];
  const bool many = std::any_of(e.relations.begin(), e.relations.end(),
                                [](const RelationDef& d) { return d.many; });
  if (!many && e.aggregates.empty()) return;  // a record with neither allocates none
  r.extra = std::make_unique<Collections>();
  r.extra->members.resize(e.relations.size());
  r.extra->bags.resize(e.aggregates.size());
}

void Store::create_mirror_nodes(RecordId id, const std::vector<Value>& initial, bool exists) {
  Record& r = records_[id - 1];
  const EntityDef& e = schema_->entities[r.entity];
  r.base = static_cast<NodeId>(graph_.node_count());
  owner_.resize(r.base + e.local_count, 0);
  const std::vector<MirrorNode>& plan = mirror_plans_[r.entity];
  for (std::uint32_t offset = 0; offset < e.local_count; ++offset) {
    const std::uint32_t local = plan[offset].local;
    NodeId n = kNoNode;
    if (!plan[offset].input) {
      n = graph_.add_mirror(Value(), node_name(id, plan[offset].name));
    } else if (local == EntityDef::exists_local) {
      n = graph_.add_variable(Value(exists));
    } else if (local < e.relation_local(0)) {
      n = graph_.add_variable(initial[local - 1]);
    } else if (local < e.relation_local(0) + e.relations.size()) {
      n = graph_.add_variable(e.relations[local - e.relation_local(0)].many
                                  ? Value(std::int64_t{0})
                                  : Value());
    } else {
      MG_ASSERT(plan[offset].aggregate != kNone);
      n = graph_.add_variable(initial_of(e.aggregates[plan[offset].aggregate]));
    }
    MG_ASSERT(n == r.base + offset);
    owner_[n] = id;
  }
  make_collections(r);
  versions_.resize(graph_.node_count(), 0);
}

Status Store::create_nodes(RecordId id, const std::vector<Value>& initial, bool exists) {
  if (!owns(id)) {
    create_mirror_nodes(id, initial, exists);
    return Status::ok();
  }
  Record& r = records_[id - 1];
  const EntityDef& e = schema_->entities[r.entity];
  const std::vector<std::uint32_t>& layout = layouts_[r.entity];
  r.base = static_cast<NodeId>(graph_.node_count());
  // Every node lands where the entity's layout says (invariant 5).
  auto own = [&](std::uint32_t local, NodeId n) {
    MG_ASSERT(n == r.base + layout[local]);
    if (owner_.size() <= n) owner_.resize(n + 1, 0);
    owner_[n] = id;
  };
  // Variables carry no name in the Graph (a name there costs a hash-map entry and a
  // string per node): the Store names them from their record and local (display_name).
  // Derived fields keep theirs, for the engine's cycle and formula messages.
  own(EntityDef::exists_local, graph_.add_variable(Value(exists)));
  for (std::uint32_t f = 0; f < e.fields.size(); ++f) {
    if (e.fields[f].kind == FieldKind::state)
      own(e.field_local(f), graph_.add_variable(initial[f]));
  }
  for (std::uint32_t rel = 0; rel < e.relations.size(); ++rel) {
    own(e.relation_local(rel),
        graph_.add_variable(e.relations[rel].many ? Value(std::int64_t{0}) : Value()));
  }
  for (std::uint32_t k = 0; k < e.aggregates.size(); ++k) {
    const AggregateDef& a = e.aggregates[k];
    if (!a.computed) {
      own(a.local, graph_.add_variable(initial_of(a)));
      continue;
    }
    // Its inputs, the members' sources, come with the links (add_inputs).
    Result<NodeId> n = graph_.add_derived(acc_specs_[r.entity][k], std::span<const NodeId>{},
                                          node_name(id, a.name));
    if (!n.is_ok()) return n.status();
    own(a.local, *n);
  }
  make_collections(r);
  for (const GroupDef& g : e.groups) {
    CycleGroupDef def;
    def.name = node_name(id, g.name);
    for (std::uint32_t m : g.members) {
      def.members.push_back(node_name(id, e.fields[m].name));
      def.initial.push_back(initial[m]);
    }
    for (const GroupRuleDef& rule : g.rules) {
      GroupFormula gf;
      gf.output = rule.output;
      gf.inputs.assign(rule.inputs.begin(), rule.inputs.end());
      gf.name = rule.text;
      const Type type = e.fields[g.members[rule.output]].type;
      gf.compute = [cf = &rule.formula, type](std::span<const Value> in) {
        SpanFrame frame(in);
        return checked(coerce(cf->eval(frame), type), "cycle rule");
      };
      if (rule.is_default) def.default_formulas.push_back(def.formulas.size());
      def.formulas.push_back(std::move(gf));
    }
    Result<CycleGroup> cg = graph_.add_cycle_group(std::move(def));
    if (!cg.is_ok()) return cg.status();
    own(g.dispatcher_local, cg->dispatcher);
    for (std::size_t m = 0; m < g.members.size(); ++m)
      own(e.field_local(g.members[m]), cg->members[m]);
  }
  std::vector<NodeId>& inputs = inputs_scratch_;
  auto create_hidden = [&](std::uint32_t k) -> Status {
    const CompiledFormula& cf = e.hidden[k].formula;
    inputs.clear();
    if (!cf.tracked) {
      for (std::uint32_t local : cf.slots) inputs.push_back(node(r, local));
    }
    Result<NodeId> n =
        graph_.add_derived(hidden_specs_[r.entity][k], inputs, node_name(id, e.hidden[k].name));
    if (!n.is_ok()) return n.status();
    own(e.hidden[k].local, *n);
    return Status::ok();
  };
  for (std::uint32_t f : e.creation_order) {
    const FieldDef& d = e.fields[f];
    inputs.clear();
    if (d.timed.gated()) {
      for (std::uint32_t k = 0; k < e.hidden.size(); ++k) {
        if (e.hidden[k].before != f) continue;
        if (Status s = create_hidden(k); !s.is_ok()) return s;
      }
      // The gate reads the value of the formula and the triggers (timing_gate).
      inputs.clear();
      inputs.push_back(node(r, d.timed.value_local));
      for (std::uint32_t local : d.timed.triggers) inputs.push_back(node(r, local));
    } else if (!d.formula.tracked) {
      for (std::uint32_t local : d.formula.slots) inputs.push_back(node(r, local));
    }
    if (d.kind == FieldKind::effect) {
      Result<NodeId> cond = graph_.add_derived(specs_[r.entity][e.fields.size() + f], inputs,
                                               node_name(id, d.name + "?"));
      if (!cond.is_ok()) return cond.status();
      own(d.cond_local, *cond);
      inputs = {*cond};
    }
    Result<NodeId> n = graph_.add_derived(specs_[r.entity][f], inputs, node_name(id, d.name));
    if (!n.is_ok()) return n.status();
    own(e.field_local(f), *n);
  }
  for (std::uint32_t k = 0; k < e.hidden.size(); ++k) {
    if (e.hidden[k].before != kNone) continue;
    if (Status s = create_hidden(k); !s.is_ok()) return s;
  }
  MG_ASSERT(graph_.node_count() == r.base + e.local_count);
  versions_.resize(graph_.node_count(), 0);
  if (options_.placement.partitions > 1) {
    // Other partitions mirror every computed node; they learn of the changes of those
    // that formulas of other records read.
    for (const MirrorNode& m : mirror_plans_[r.entity]) {
      if (!m.input && m.read_elsewhere) graph_.set_exported(node(r, m.local), true);
    }
  }
  return Status::ok();
}

const Store::Record* Store::find(RecordId id) const {
  return id >= 1 && id <= records_.size() ? &records_[id - 1] : nullptr;
}

Result<Store::Record*> Store::live(RecordId id) {
  if (find(id) == nullptr) return Status(StatusCode::not_found, "no record #" + std::to_string(id));
  Record& r = records_[id - 1];
  const Value e = r.base == kNoNode ? Value() : current(node(r, EntityDef::exists_local));
  if (!e.is_bool() || !e.as_bool()) {
    return Status(StatusCode::not_found,
                  "record #" + std::to_string(id) + " does not exist (deleted or rolled back)");
  }
  return &r;
}

bool Store::exists(RecordId id) { return live(id).is_ok(); }

Result<std::uint32_t> Store::entity_of(RecordId id) const {
  const Record* r = find(id);
  if (r == nullptr) return Status(StatusCode::not_found, "no record #" + std::to_string(id));
  return r->entity;
}

Status Store::check_field(const Record& r, std::string_view field, std::uint32_t* index) const {
  const EntityDef& e = schema_->entities[r.entity];
  *index = find_field(r.entity, field);
  if (*index == kNone)
    return Status(StatusCode::not_found,
                  "unknown field '" + std::string(field) + "' in entity " + e.name);
  return Status::ok();
}

std::vector<Value> Store::field_values(const Record& r) {
  std::vector<Value> out;
  const EntityDef& e = schema_->entities[r.entity];
  for (std::uint32_t f = 0; f < e.fields.size(); ++f) {
    // Group members are derived nodes: their value in the transaction needs the engine.
    out.push_back(e.fields[f].kind == FieldKind::state    ? current(node(r, e.field_local(f)))
                  : e.fields[f].kind == FieldKind::member ? graph_.read(node(r, e.field_local(f)))
                                                          : Value());
  }
  return out;
}

void Store::emit(MutationEvent e) {
  for (const auto& l : listeners_) l(e);
}

Status Store::write(NodeId node, Value v) {
  // A transaction committed or dropped behind the Store's back leaves nothing to remember.
  if (!txn_nodes_.empty() && !txn_current()) end_transaction();
  // Multiset changes of a transaction that ended behind the Store's back are void.
  if (!deferred_bags_.empty() && !graph_.in_transaction()) clear_deferred_bags();
  if (Status s = graph_.write(node, v); !s.is_ok()) return s;
  if (txn_nodes_.empty()) txn_revision_ = graph_.revision();
  const std::uint32_t found = txn_find(node);
  if (found != kNone) {
    txn_values_[found] = std::move(v);
    return Status::ok();
  }
  if (2 * (txn_nodes_.size() + 1) > txn_table_.size()) txn_rehash(2 * txn_table_.size());
  std::uint32_t h = txn_hash(node);
  const std::uint32_t mask = static_cast<std::uint32_t>(txn_table_.size() - 1);
  while (txn_table_[h] != 0) h = (h + 1) & mask;
  txn_table_[h] = static_cast<std::uint32_t>(txn_nodes_.size() + 1);
  txn_nodes_.push_back(node);
  txn_values_.push_back(std::move(v));
  return Status::ok();
}

std::uint32_t Store::txn_hash(NodeId node) const {
  // Fibonacci hashing: the top bits of the product index the table.
  return static_cast<std::uint32_t>(node * 0x9E3779B1u) >> txn_shift_;
}

bool Store::txn_current() const {
  return graph_.in_transaction() && graph_.revision() == txn_revision_;
}

std::uint32_t Store::txn_find(NodeId node) const {
  if (txn_nodes_.empty() || !txn_current()) return kNone;
  const std::uint32_t mask = static_cast<std::uint32_t>(txn_table_.size() - 1);
  for (std::uint32_t h = txn_hash(node);; h = (h + 1) & mask) {
    const std::uint32_t e = txn_table_[h];
    if (e == 0) return kNone;
    if (txn_nodes_[e - 1] == node) return e - 1;
  }
}

void Store::txn_rehash(std::size_t size) {
  size = std::max<std::size_t>(size, kTxnTableMin);
  txn_table_.assign(size, 0);
  txn_shift_ = static_cast<std::uint32_t>(32 - std::countr_zero(size));
  const std::uint32_t mask = static_cast<std::uint32_t>(size - 1);
  for (std::uint32_t i = 0; i < txn_nodes_.size(); ++i) {
    std::uint32_t h = txn_hash(txn_nodes_[i]);
    while (txn_table_[h] != 0) h = (h + 1) & mask;
    txn_table_[h] = i + 1;
  }
}

Value Store::current(NodeId node) const {
  const std::uint32_t found = txn_find(node);
  if (found != kNone) return txn_values_[found];
  // Not written in this transaction: the committed value is the current one (O(1) for a
  // node the transaction did not journal).
  return graph_.committed(node);
}

bool Store::written_stays_with_owners(std::vector<std::uint32_t>* owners) const {
  owners->clear();
  if (!txn_current()) return true;  // nothing written in the open transaction
  for (const NodeId n : txn_nodes_) {
    if (n >= owner_.size() || owner_[n] == 0) return false;  // no record's: not known here
    const RecordId id = owner_[n];
    const Record& r = records_[id - 1];
    if (r.entity == schema_->global_entity || r.base == kNoNode || n < r.base) return false;
    const std::vector<MirrorNode>& plan = mirror_plans_[r.entity];
    const std::size_t offset = n - r.base;
    if (offset >= plan.size() || plan[offset].read_elsewhere) return false;
    owners->push_back(Placement::partition_of(id, options_.placement.partitions, options_.placement.salt));
  }
  std::sort(owners->begin(), owners->end());
  owners->erase(std::unique(owners->begin(), owners->end()), owners->end());
  return true;
}

void Store::end_transaction() {
  if (txn_nodes_.empty()) return;
  txn_nodes_.clear();
  txn_values_.clear();
  // A table grown by a large transaction shrinks back, so small ones stay in cache.
  txn_rehash(kTxnTableMin);
}

Status Store::check_not_link(RecordId id, const char* what) const {
  const Record* r = find(id);
  if (r == nullptr || schema_->entities[r->entity].link_of == kNone) return Status::ok();
  const EntityDef& e = schema_->entities[r->entity];
  const EntityDef& owner = schema_->entities[e.link_of];
  return Status(StatusCode::invalid_argument,
                "#" + std::to_string(id) + " is a link record of " + e.name + "; " + what +
                    " it through its link (update-link or unlink REF." +
                    owner.relations[e.link_relation].name + " REF)");
}

Status Store::update(RecordId id, const FieldValues& values, std::span<const std::string> keep) {
  if (Status s = check_not_link(id, "write"); !s.is_ok()) return s;
  return update_record(id, values, keep);
}

Status Store::update_record(RecordId id, const FieldValues& values,
                            std::span<const std::string> keep) {
  // The fields of the first few values, looked up once: for the prefetch and the writes.
  constexpr std::size_t kFoundMax = 8;
  std::array<std::uint32_t, kFoundMax> found;
  found.fill(kNone);
  const std::size_t found_count = std::min(values.size(), kFoundMax);
  if (const Record* r = find(id); r != nullptr && r->base != kNoNode) {
    // In a store larger than the cache, the lines an update touches after the record
    // (its existence flag, each written field's node and value, their version counters)
    // are each a miss: asked for together here, they overlap instead of following one
    // another.
    graph_.prefetch(node(*r, EntityDef::exists_local));
    for (std::size_t i = 0; i < found_count; ++i) {
      found[i] = find_field(r->entity, values[i].first);
      if (found[i] == kNone) continue;
      const NodeId n = node(*r, schema_->entities[r->entity].field_local(found[i]));
      graph_.prefetch(n);
      if (n < versions_.size()) __builtin_prefetch(&versions_[n], 1);
    }
  }
  Result<Record*> rr = live(id);
  if (!rr.is_ok()) return rr.status();
  Record& r = **rr;
  const EntityDef& e = schema_->entities[r.entity];
  std::vector<NodeId> kept;
  for (const std::string& name : keep) {
    std::uint32_t f = 0;
    if (Status s = check_field(r, name, &f); !s.is_ok()) return s;
    if (e.fields[f].kind != FieldKind::member) {
      return Status(StatusCode::invalid_argument,
                    e.name + "." + name +
                        " is not a member of a cycle group: keep= names a member, as keep=start");
    }
    kept.push_back(node(r, e.field_local(f)));
  }
  // The event carries the whole record twice: built only when someone listens.
  const bool listened = !listeners_.empty();
  MutationEvent ev;
  if (listened) {
    ev.type = MutationType::update;
    ev.entity = r.entity;
    ev.record = id;
    ev.old_values = field_values(r);
  }
  for (std::size_t i = 0; i < values.size(); ++i) {
    const auto& [name, v] = values[i];
    std::uint32_t f = i < found_count ? found[i] : kNone;
    if (f == kNone) {
      if (Status s = check_field(r, name, &f); !s.is_ok()) return s;
    }
    const FieldDef& d = e.fields[f];
    if (only_resolved(d)) return async_refused(e, d);
    Result<Value> c = written(e, d, v);
    if (!c.is_ok()) return c.status();
    const NodeId n = node(r, e.field_local(f));
    if (d.kind == FieldKind::member) {
      // The owner's group decides; elsewhere the member is a mirror of its decision.
      if (!owns(id)) {
        graph_.begin();
        continue;
      }
      if (Status s = graph_.propose(n, *c); !s.is_ok()) return s;
      continue;
    }
    if (d.kind != FieldKind::state) {
      return Status(StatusCode::invalid_argument,
                    e.name + "." + name + " is computed by its formula; it cannot be written");
    }
    const Value old = current(n);
    if (Status s = write(n, *c); !s.is_ok()) return s;
    if (old == *c) continue;
    // Accumulators of every record this one belongs to, through the inverse.
    if (!watchers_[r.entity][e.field_local(f)].empty()) notify(id, e.field_local(f), old, *c);
  }
  for (const NodeId n : kept) {
    // As for proposals: the owner's group decides.
    if (!owns(id)) {
      graph_.begin();
      continue;
    }
    if (Status s = graph_.keep_if_possible(n); !s.is_ok()) return s;
  }
  if (!listened) return Status::ok();
  ev.values = field_values(r);
  for (std::uint32_t f = 0; f < ev.values.size(); ++f) {
    if (ev.values[f] != ev.old_values[f]) ev.diff.push_back(f);
  }
  emit(std::move(ev));
  return Status::ok();
}

Status Store::remove(RecordId id) {
  if (Status s = check_not_link(id, "delete"); !s.is_ok()) return s;
  return remove_record(id);
}

Status Store::remove_record(RecordId id) {
  Result<Record*> rr = live(id);
  if (!rr.is_ok()) return rr.status();
  const std::uint32_t ei = (*rr)->entity;
  if (ei == schema_->global_entity) {
    return Status(StatusCode::invalid_argument,
                  "the global record cannot be deleted; write its values with set");
  }
  const EntityDef& e = schema_->entities[ei];
  // Implicit relations too: the record leaves the aggregates over its whole entity.
  for (std::uint32_t rel = 0; rel < e.relations.size(); ++rel) {
    Record& r = records_[id - 1];
    if (e.relations[rel].many) {
      const std::vector<RecordId> ms = r.extra->members[rel];  // a copy: unlinking edits the list
      for (RecordId m : ms) {
        if (Status s = connect(id, rel, m, false); !s.is_ok()) return s;
      }
    } else {
      const Value o = current(node(r, e.relation_local(rel)));
      if (o.is_int()) {
        if (Status s = connect(id, rel, static_cast<RecordId>(o.as_int()), false); !s.is_ok())
          return s;
      }
    }
  }
  // The event reads group members through the engine: only when someone listens (a read
  // would compute part of the transaction before the partitions marked it).
  MutationEvent ev;
  if (!listeners_.empty()) {
    ev.type = MutationType::remove;
    ev.entity = ei;
    ev.record = id;
    ev.old_values = field_values(records_[id - 1]);
  }
  if (Status s = write(node(records_[id - 1], EntityDef::exists_local), Value(false)); !s.is_ok())
    return s;
  if (!listeners_.empty()) emit(std::move(ev));
  return Status::ok();
}

Status Store::connect_named(RecordId id, std::string_view relation, RecordId other,
                            bool insert, const FieldValues* properties) {
  Result<Record*> rr = live(id);
  if (!rr.is_ok()) return rr.status();
  const std::uint32_t rel = schema_->entities[(*rr)->entity].find_relation(relation);
  if (rel == kNone)
    return Status(StatusCode::not_found, "unknown relation '" + std::string(relation) +
                                             "' in entity " +
                                             schema_->entities[(*rr)->entity].name);
  if (Status s = check_named((*rr)->entity, rel); !s.is_ok()) return s;
  return connect(id, rel, other, insert, properties);
}

Status Store::link(RecordId id, std::string_view relation, RecordId other,
                   const FieldValues& properties) {
  return connect_named(id, relation, other, true, &properties);
}

std::size_t Store::LinkKeyHash::operator()(const LinkKey& k) const {
  return static_cast<std::size_t>(Fnv1a64().u64(k.a).u64(k.rel).u64(k.b).value());
}

RecordId Store::find_link(RecordId a, std::uint32_t rel, RecordId b) {
  const Record& ra = records_[a - 1];
  const EntityDef& ea = schema_->entities[ra.entity];
  const std::uint32_t side = ea.relations[rel].link;
  const RelationDef& to_links = ea.relations[side];
  const EntityDef& link = schema_->entities[to_links.target];
  const std::uint32_t other = link.relation_local(to_links.link_other);
  const std::uint32_t back = link.relation_local(
      to_links.link_other == EntityDef::link_source ? EntityDef::link_target
                                                    : EntityDef::link_source);
  auto reaches = [&](RecordId l) {
    const Record* r = find(l);
    if (r == nullptr || r->base == kNoNode || r->entity != to_links.target) return false;
    const Value e = current(node(*r, EntityDef::exists_local));
    if (!e.is_bool() || !e.as_bool()) return false;
    const Value x = current(node(*r, other)), y = current(node(*r, back));
    return x.is_int() && static_cast<RecordId>(x.as_int()) == b && y.is_int() &&
           static_cast<RecordId>(y.as_int()) == a;
  };
  if (const auto it = links_.find(LinkKey{a, rel, b}); it != links_.end() && reaches(it->second))
    return it->second;
  // The hint is stale (an undo or redo brought back another link record, or the store was
  // rebuilt from an image): the links of `a` say.
  RecordId found = 0;
  if (to_links.many) {
    for (RecordId l : ra.extra->members[side]) {
      if (reaches(l)) {
        found = l;
        break;
      }
    }
  } else {
    const Value l = current(node(ra, ea.relation_local(side)));
    if (l.is_int() && reaches(static_cast<RecordId>(l.as_int()))) found = static_cast<RecordId>(l.as_int());
  }
  if (found != 0) links_[LinkKey{a, rel, b}] = found;
  return found;
}

Status Store::add_link_records(RecordId a, std::uint32_t rel, RecordId b,
                               const std::vector<Value>& initial) {
  const EntityDef& ea = schema_->entities[records_[a - 1].entity];
  const RelationDef& d = ea.relations[rel];
  const RelationDef& to_links = ea.relations[d.link];
  // The link record's source is the side that declared the properties.
  const bool a_is_source = to_links.link_other == EntityDef::link_target;
  const bool symmetric = d.inverse == rel && d.target == records_[a - 1].entity;
  const std::pair<RecordId, RecordId> ends[2] = {
      a_is_source ? std::pair{a, b} : std::pair{b, a}, {b, a}};
  for (int k = 0; k < (symmetric ? 2 : 1); ++k) {
    const RecordId id = records_.size() + 1;
    records_.push_back(Record{to_links.target, kNoNode, nullptr});
    if (Status s = create_nodes(id, initial); !s.is_ok()) {
      records_[id - 1].base = kNoNode;
      return s;
    }
    if (Status s = write(node(records_[id - 1], EntityDef::exists_local), Value(true)); !s.is_ok())
      return s;
    Status s = connect(id, EntityDef::link_source, ends[k].first, true);
    if (s.is_ok()) s = connect(id, EntityDef::link_target, ends[k].second, true);
    if (!s.is_ok()) {
      MG_ASSERT(remove_record(id).is_ok());  // half linked: no link finds it
      return s;
    }
    if (symmetric) {
      links_[LinkKey{ends[k].first, rel, ends[k].second}] = id;
    } else {
      links_[LinkKey{a, rel, b}] = id;
      links_[LinkKey{b, d.inverse, a}] = id;
    }
  }
  return Status::ok();
}

Status Store::remove_link_records(RecordId a, std::uint32_t rel, RecordId b) {
  const EntityDef& ea = schema_->entities[records_[a - 1].entity];
  const RelationDef& d = ea.relations[rel];
  const bool symmetric = d.inverse == rel && d.target == records_[a - 1].entity;
  for (int k = 0; k < (symmetric ? 2 : 1); ++k) {
    const RecordId l = k == 0 ? find_link(a, rel, b) : find_link(b, rel, a);
    if (l == 0) continue;  // only when a link whose second record failed is taken back
    if (Status s = remove_record(l); !s.is_ok()) return s;
  }
  links_.erase(LinkKey{a, rel, b});
  links_.erase(LinkKey{b, d.inverse, a});
  return Status::ok();
}

Result<RecordId> Store::link_record(RecordId id, std::string_view relation, RecordId other) {
  Result<Record*> rr = live(id);
  if (!rr.is_ok()) return rr.status();
  const EntityDef& e = schema_->entities[(*rr)->entity];
  const std::uint32_t rel = e.find_relation(relation);
  if (rel == kNone || e.relations[rel].hidden) {
    return Status(StatusCode::not_found,
                  "unknown relation '" + std::string(relation) + "' in entity " + e.name);
  }
  if (e.relations[rel].link == kNone) {
    return Status(StatusCode::invalid_argument,
                  e.name + "." + e.relations[rel].name + " has no properties");
  }
  if (Result<Record*> ro = live(other); !ro.is_ok()) return ro.status();
  const RecordId l = find_link(id, rel, other);
  if (l == 0) {
    return Status(StatusCode::failed_precondition, e.name + "#" + std::to_string(id) + "." +
                                                       e.relations[rel].name + " and #" +
                                                       std::to_string(other) + " are not linked");
  }
  return l;
}

Status Store::update_link(RecordId id, std::string_view relation, RecordId other,
                          const FieldValues& properties) {
  Result<RecordId> l = link_record(id, relation, other);
  if (!l.is_ok()) return l.status();
  if (Status s = update_record(*l, properties, {}); !s.is_ok()) return s;
  const Record& r = records_[id - 1];
  const EntityDef& e = schema_->entities[r.entity];
  const std::uint32_t rel = e.find_relation(relation);
  if (e.relations[rel].inverse == rel && e.relations[rel].target == r.entity) {
    // The other side's link record holds the same properties.
    return update_record(find_link(other, rel, id), properties, {});
  }
  return Status::ok();
}

Status Store::unlink(RecordId id, std::string_view relation, RecordId other) {
  return connect_named(id, relation, other, false);
}

Status Store::check_link(RecordId id, std::string_view relation, RecordId other) {
  Result<Record*> rr = live(id);
  if (!rr.is_ok()) return rr.status();
  const std::uint32_t rel = schema_->entities[(*rr)->entity].find_relation(relation);
  if (rel == kNone)
    return connect_named(id, relation, other, true);  // the same error, and no change
  if (Status s = check_named((*rr)->entity, rel); !s.is_ok()) return s;
  if (Status s = check_connect(id, rel, other, true); !s.is_ok()) return s;
  const std::uint32_t inverse = schema_->entities[(*rr)->entity].relations[rel].inverse;
  // The inputs are added as link() adds them (a second one may close a cycle through the
  // first), then taken back: added and removed in one transaction, the fields see no change.
  if (Status s = add_inputs(id, rel, other, inverse); !s.is_ok()) return s;
  auto take_back = [&](RecordId owner, std::uint32_t r, RecordId member) {
    if (!owns(owner)) return;
    const Record& o = records_[owner - 1];
    const Record& m = records_[member - 1];
    for (const AggregateDef& g : schema_->entities[o.entity].aggregates) {
      if (g.computed && g.relation == r)
        MG_ASSERT(graph_.remove_input(node(o, g.local), node(m, g.source)).is_ok());
    }
  };
  take_back(other, inverse, id);
  take_back(id, rel, other);
  return Status::ok();
}

Status Store::check_connect(RecordId a, std::uint32_t rel, RecordId b, bool insert) {
  const Record& ra = records_[a - 1];
  const EntityDef& ea = schema_->entities[ra.entity];
  const RelationDef& d = ea.relations[rel];
  Result<Record*> rb = live(b);
  if (!rb.is_ok()) return rb.status();
  if ((*rb)->entity != d.target) {
    return Status(StatusCode::invalid_argument, ea.name + "." + d.name + " links to " +
                                                    schema_->entities[d.target].name +
                                                    ", not to #" + std::to_string(b));
  }
  const EntityDef& eb = schema_->entities[d.target];
  const RelationDef& inv = eb.relations[d.inverse];
  // A relation that is its own inverse (`friends: many P via many friends`) writes both
  // sides at once; a record linked to itself would enter the same side twice.
  if (insert && a == b && d.inverse == rel) {
    return Status(StatusCode::invalid_argument, ea.name + "." + d.name +
                                                    " is its own inverse; it cannot link #" +
                                                    std::to_string(a) + " to itself");
  }
  // Check both sides before changing either, so a refused link changes nothing.
  auto linked = [&](const Record& r, std::uint32_t local, std::uint32_t relation, bool many,
                    RecordId to) {
    if (many) {
      const auto& m = r.extra->members[relation];
      return std::binary_search(m.begin(), m.end(), to);
    }
    const Value v = current(node(r, local));
    return v.is_int() && static_cast<RecordId>(v.as_int()) == to;
  };
  const bool is_linked = linked(ra, ea.relation_local(rel), rel, d.many, b);
  if (insert == is_linked) {
    return Status(StatusCode::failed_precondition,
                  ea.name + "#" + std::to_string(a) + "." + d.name + " and #" +
                      std::to_string(b) + (insert ? " are already linked" : " are not linked"));
  }
  if (insert) {
    auto occupied = [&](const Record& r, std::uint32_t local) {
      return !current(node(r, local)).is_null();
    };
    if (!d.many && occupied(ra, ea.relation_local(rel))) {
      return Status(
          StatusCode::failed_precondition,
          ea.name + "#" + std::to_string(a) + "." + d.name + " is already linked; unlink it first");
    }
    if (!inv.many && occupied(**rb, eb.relation_local(d.inverse))) {
      return Status(StatusCode::failed_precondition, eb.name + "#" + std::to_string(b) + "." +
                                                         inv.name +
                                                         " is already linked; unlink it first");
    }
  }
  return Status::ok();
}

Status Store::connect(RecordId a, std::uint32_t rel, RecordId b, bool insert,
                      const FieldValues* properties) {
  if (Status s = check_connect(a, rel, b, insert); !s.is_ok()) return s;
  // By value: link records are appended to records_ below.
  const std::uint32_t a_entity = records_[a - 1].entity;
  const EntityDef& ea = schema_->entities[a_entity];
  const RelationDef& d = ea.relations[rel];
  // A relation with properties: its link records are made after the link, and go before.
  std::vector<Value> link_initial;
  if (d.link != kNone) {
    if (insert) {
      Result<std::vector<Value>> made = initial_values(
          ea.relations[d.link].target, properties != nullptr ? *properties : FieldValues{});
      if (!made.is_ok()) return made.status();
      link_initial = std::move(made).value();
    } else if (Status s = remove_link_records(a, rel, b); !s.is_ok()) {
      return s;
    }
  } else if (properties != nullptr && !properties->empty()) {
    return Status(StatusCode::invalid_argument,
                  ea.name + "." + d.name + " has no properties; its links take no values");
  }
  // Inputs of incremental accumulators first: adding one refuses a cycle, and then the
  // link changes nothing.
  if (insert) {
    if (Status s = add_inputs(a, rel, b, d.inverse); !s.is_ok()) return s;
  }
  // Each side's accumulators join (leave) together with the membership through which
  // the member reaches them: `a` reaches b's notifications through b's inverse list.
  // Otherwise, with nested patterns over a self-inverse relation, a change that one
  // side's join makes would reach the other side's accumulator before its own join
  // counts the member, and count it twice.
  if (insert && a == b) {
    // A record linked to itself reaches its own accumulators through the sides being set.
    // Set first, a change its join makes to an inner accumulator (nested patterns) would
    // reach an outer one before that one counts it; joined relation by relation, an outer
    // one over one side could count the inner value over the other before it changes. So
    // it joins every accumulator of both sides, inner ones first, and then the sides are
    // set: each outer one counts the inner value as it is. (Unlinking takes the sides away
    // last, so there a notification finds the member counted.)
    join_self(a, rel, d.inverse);
    set_side(b, d.inverse, a, true);
    set_side(a, rel, b, true);
  } else if (insert) {
    set_side(b, d.inverse, a, true);
    join(a, rel, b, 1);
    set_side(a, rel, b, true);
    join(b, d.inverse, a, 1);
  } else {
    join(b, d.inverse, a, -1);
    set_side(a, rel, b, false);
    join(a, rel, b, -1);
    set_side(b, d.inverse, a, false);
  }
  if (insert && d.link != kNone) {
    if (Status s = add_link_records(a, rel, b, link_initial); !s.is_ok()) {
      // A link record refused (a cycle through its accumulators): the link goes back too,
      // so that the failed link changes nothing.
      MG_ASSERT(connect(a, rel, b, false).is_ok());
      return s;
    }
  }
  if (listeners_.empty()) return Status::ok();
  MutationEvent ev;
  ev.type = insert ? MutationType::link : MutationType::unlink;
  ev.entity = a_entity;
  ev.record = a;
  ev.relation = rel;
  ev.other = b;
  emit(std::move(ev));
  return Status::ok();
}

void Store::set_side(RecordId a, std::uint32_t rel, RecordId b, bool insert) {
  Record& r = records_[a - 1];
  const EntityDef& e = schema_->entities[r.entity];
  const NodeId n = node(r, e.relation_local(rel));
  if (e.relations[rel].many) {
    const Op op{true, insert, a, rel, b, 0};
    apply(op, true);
    pending_.push_back(op);
    MG_ASSERT(write(n, Value(current(n).as_int() + 1)).is_ok());
  } else {
    MG_ASSERT(write(n, insert ? Value(static_cast<std::int64_t>(b)) : Value()).is_ok());
  }
}

void Store::apply(const Op& op, bool forward) {
  Record& r = records_[op.record - 1];
  const bool insert = forward == op.insert;
  if (op.membership) {
    auto& m = r.extra->members[op.index];
    const auto it = std::lower_bound(m.begin(), m.end(), op.other);
    if (insert) {
      MG_ASSERT(it == m.end() || *it != op.other);
      m.insert(it, op.other);
    } else {
      MG_ASSERT(it != m.end() && *it == op.other);
      m.erase(it);
    }
    return;
  }
  auto& bag = r.extra->bags[op.index];
  if (insert) {
    ++bag[op.value];
  } else {
    auto it = bag.find(op.value);
    MG_ASSERT(it != bag.end());
    if (--it->second == 0) bag.erase(it);
  }
}

Result<std::int64_t> Store::clock() {
  if (schema_->clock_field == kNone) {
    return Status(StatusCode::failed_precondition,
                  "this schema has no clock: no field is timed by @every, @at or @batched "
                  "with an interval");
  }
  Result<Value> v = get(kGlobalRecord, kClockField);
  if (!v.is_ok()) return v.status();
  return v->is_int() ? v->as_int() : 0;
}

Status Store::set_clock(std::int64_t ms) {
  Result<std::int64_t> now = clock();
  if (!now.is_ok()) return now.status();
  if (ms < 0 || ms > kTimeMsMax) {
    return Status(StatusCode::invalid_argument,
                  "clock " + std::to_string(ms) + " is outside [0, " + std::to_string(kTimeMsMax) +
                      "] ms since 1970");
  }
  if (ms < *now) {
    return Status(StatusCode::invalid_argument,
                  "the clock does not go back: it is " + format_utc_ms(*now) + ", not " +
                      format_utc_ms(ms) + " (undo takes a tick back)");
  }
  return update(kGlobalRecord, {{std::string(kClockField), Value(ms)}});
}

Status Store::set(RecordId id, std::string_view field, Value value) {
  Result<Record*> rr = live(id);
  if (!rr.is_ok()) return rr.status();
  Record& r = **rr;
  std::uint32_t f = 0;
  if (Status s = check_field(r, field, &f); !s.is_ok()) return s;
  const EntityDef& e = schema_->entities[r.entity];
  const FieldDef& d = e.fields[f];
  switch (d.kind) {
    case FieldKind::state:
    case FieldKind::member:
      return update(id, {{std::string(field), std::move(value)}});
    case FieldKind::effect:
      // The owner's effect takes the acknowledgement; a request of an async field counts
      // the requests raised, which no acknowledgement lowers (Store::resolve).
      if (!owns(id) || d.async_of != kNone) {
        graph_.begin();
        return Status::ok();
      }
      return graph_.propose(node(r, e.field_local(f)), Value(false));
    case FieldKind::derived:
      break;
  }
  return Status(StatusCode::invalid_argument,
                e.name + "." + std::string(field) +
                    " is computed by its formula; it takes no proposed value");
}

Result<bool> Store::resolve(RecordId id, std::string_view field, std::uint64_t version,
                            Value value) {
  Result<Record*> rr = live(id);
  if (!rr.is_ok()) return rr.status();
  Record& r = **rr;
  std::uint32_t f = 0;
  if (Status s = check_field(r, field, &f); !s.is_ok()) return s;
  const EntityDef& e = schema_->entities[r.entity];
  const FieldDef& d = e.fields[f];
  if (d.request == kNone) {
    return Status(StatusCode::invalid_argument,
                  e.name + "." + d.name + " is not an async field: resolve writes the result of "
                  "a field declared = async(...)");
  }
  Result<Value> c = written(e, d, value);
  if (!c.is_ok()) return c.status();
  const std::uint64_t newest = versions_[node(r, e.field_local(d.request))];
  if (version == 0 || version > newest) {
    return Status(StatusCode::not_found,
                  e.name + "#" + std::to_string(id) + "." + d.name + " has no request of version " +
                      std::to_string(version) + " (the newest is " + std::to_string(newest) + ")");
  }
  if (version < newest) {
    graph_.begin();  // one transaction, as an acknowledgement that changes nothing
    return false;    // superseded: the inputs changed since
  }
  MutationEvent ev;
  if (!listeners_.empty()) {
    ev.type = MutationType::update;
    ev.entity = r.entity;
    ev.record = id;
    ev.old_values = field_values(r);
  }
  const NodeId n = node(r, e.field_local(f));
  const Value old = current(n);
  if (Status s = write(n, *c); !s.is_ok()) return s;
  if (old != *c && !watchers_[r.entity][e.field_local(f)].empty())
    notify(id, e.field_local(f), old, *c);
  // The completion, in the same transaction: one more accepted result, even of the same
  // value, which `@on_completion(risk)` reads (no formula aggregates a hidden field).
  const NodeId done = node(r, e.field_local(d.done));
  const Value results = current(done);
  if (Status s = write(done, Value((results.is_int() ? results.as_int() : 0) + 1)); !s.is_ok())
    return s;
  if (listeners_.empty()) return true;
  ev.values = field_values(r);
  if (old != *c) ev.diff.push_back(f);
  ev.diff.push_back(d.done);
  emit(std::move(ev));
  return true;
}

Result<CommitStats> Store::commit() {
  const Revision before = graph_.revision();
  Result<CommitStats> res = graph_.commit();
  end_transaction();
  if (!res.is_ok()) {
    clear_deferred_bags();
    restore(pending_, false);
    pending_.clear();
    return res;
  }
  if (!deferred_bags_.empty()) apply_deferred_bags();
  if (graph_.revision() != before) {
    undo_.push_back(std::move(pending_));
    while (undo_.size() > options_.history_limit) undo_.pop_front();
    redo_.clear();
    count_versions();
  } else {
    // No value changed: the operations cancelled out (a value changed and changed back).
    restore(pending_, false);
  }
  pending_.clear();
  return res;
}

void Store::reject() {
  graph_.reject();
  end_transaction();
  if (!deferred_bags_.empty()) clear_deferred_bags();
  restore(pending_, false);
  pending_.clear();
}

void Store::count_versions() {
  versions_.resize(graph_.node_count(), 0);
  // Lazy fields filling their cache are not changes of the documents (a commit does not
  // report them either).
  for (NodeId n : graph_.last_changed()) {
    if (!graph_.is_lazy(n)) ++versions_[n];
  }
}

Status Store::add_revision() {
  if (graph_.in_transaction()) {
    return Status(StatusCode::failed_precondition,
                  "commit or reject the open transaction before add_revision");
  }
  if (Status s = graph_.add_revision(); !s.is_ok()) return s;
  undo_.emplace_back();  // nothing to restore
  while (undo_.size() > options_.history_limit) undo_.pop_front();
  redo_.clear();
  count_versions();
  return Status::ok();
}

Status Store::undo() {
  if (graph_.in_transaction())
    return Status(StatusCode::failed_precondition,
                  "commit or reject the open transaction before undo");
  end_transaction();
  if (!graph_.can_undo()) return graph_.undo();  // its reason
  MG_ASSERT(!undo_.empty());
  std::vector<Op> ops = std::move(undo_.back());
  undo_.pop_back();
  restore(ops, false, true);
  MG_ASSERT(graph_.undo().is_ok());
  restore(ops, false, false);
  redo_.push_back(std::move(ops));
  count_versions();
  return Status::ok();
}

Status Store::redo() {
  if (graph_.in_transaction())
    return Status(StatusCode::failed_precondition,
                  "commit or reject the open transaction before redo");
  end_transaction();
  if (!graph_.can_redo()) return graph_.redo();  // its reason
  MG_ASSERT(!redo_.empty());
  std::vector<Op> ops = std::move(redo_.back());
  redo_.pop_back();
  restore(ops, true, true);
  MG_ASSERT(graph_.redo().is_ok());
  restore(ops, true, false);
  undo_.push_back(std::move(ops));
  count_versions();
  return Status::ok();
}

Result<NodeId> Store::node_of(RecordId id, std::string_view field) const {
  const Record* r = find(id);
  if (r == nullptr) return Status(StatusCode::not_found, "no record #" + std::to_string(id));
  if (r->base == kNoNode)
    return Status(StatusCode::not_found, "record #" + std::to_string(id) + " was never created");
  const EntityDef& e = schema_->entities[r->entity];
  const std::uint32_t f = find_field(r->entity, field);
  if (f != kNone) return node(*r, e.field_local(f));
  const std::uint32_t rel = e.find_relation(field);
  if (rel != kNone) return node(*r, e.relation_local(rel));
  return Status(StatusCode::not_found,
                "unknown field '" + std::string(field) + "' in entity " + e.name);
}

Result<Value> Store::get(RecordId id, std::string_view field) {
  Result<Record*> rr = live(id);
  if (!rr.is_ok()) return rr.status();
  Result<NodeId> n = node_of(id, field);
  if (!n.is_ok()) return n.status();
  return graph_.try_read(*n);
}

Store::QueueTrigger Store::queue_trigger(RecordId id, const FieldDef& effect) {
  QueueTrigger t;
  Result<std::uint32_t> entity = entity_of(id);
  if (entity.is_ok()) {
    const EntityDef& e = schema_->entities[*entity];
    for (const std::uint32_t f : effect.carried) {
      Result<Value> v = get(id, e.fields[f].name);
      t.values.emplace_back(e.fields[f].name, v.is_ok() ? std::move(v).value() : Value());
    }
  }
  if (schema_->clock_field != kNone) {
    Result<Value> now = get(kGlobalRecord, kClockField);
    if (now.is_ok()) t.time = std::move(now).value();
  }
  return t;
}

std::string Store::queue_trigger_json(const QueueTrigger& trigger, const Value* count) {
  json::Object values;
  for (const auto& [name, v] : trigger.values) values.raw(name, v.to_json());
  json::Object o;
  if (count != nullptr) o.raw("value", count->to_json());
  return o.raw("values", values.done()).raw("time", trigger.time.to_json()).done();
}

Result<Value> Store::get_at(RecordId id, std::string_view field, Revision revision) {
  if (revision == graph_.revision() && !graph_.in_transaction()) return get(id, field);
  const Record* r = find(id);
  if (r == nullptr) return Status(StatusCode::not_found, "no record #" + std::to_string(id));
  Result<NodeId> n = node_of(id, field);
  if (!n.is_ok()) return n.status();
  Result<Value> v = graph_.value_at(*n, revision);
  if (!v.is_ok()) return v.status();
  Result<Value> e = graph_.value_at(node(*r, EntityDef::exists_local), revision);
  if (!e.is_ok() || !e->is_bool() || !e->as_bool()) {
    return Status(StatusCode::not_found, "record #" + std::to_string(id) +
                                             " did not exist at revision " + std::to_string(revision));
  }
  return v;
}

Result<std::vector<RecordId>> Store::members(RecordId id, std::string_view relation) const {
  const Record* r = find(id);
  if (r == nullptr) return Status(StatusCode::not_found, "no record #" + std::to_string(id));
  const EntityDef& e = schema_->entities[r->entity];
  const std::uint32_t rel = e.find_relation(relation);
  if (rel == kNone || !e.relations[rel].many) {
    return Status(StatusCode::not_found,
                  "no many-relation '" + std::string(relation) + "' in entity " + e.name);
  }
  return r->extra->members[rel];
}

}  // namespace mgraph::schema
