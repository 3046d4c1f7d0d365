// compile_schema: declarations, relations and their inverses, field kinds and types,
// formula compilation, annotations, cycle groups, and immediate-cycle detection.

#include <algorithm>
#include <functional>

#include "compiler.hpp"
#include "kernel.hpp"
#include "mgraph/graph/clock.hpp"
#include "mgraph/graph/cycle_resolution.hpp"
#include "mgraph/graph/schema/parser.hpp"
#include "ops.hpp"

namespace mgraph::schema {
namespace {

bool parse_type(std::string_view s, Type* t) {
  static constexpr std::pair<std::string_view, Type> kTypes[] = {{"bool", Type::boolean},
                                                                 {"int", Type::integer},
                                                                 {"float", Type::real},
                                                                 {"string", Type::string},
                                                                 {"tensor", Type::tensor}};
  for (auto [name, type] : kTypes) {
    if (s == name) {
      *t = type;
      return true;
    }
  }
  return false;
}

// A formula that names nothing is a constant: the field is state with that default.
bool names_nothing(const ast::Expr& e) {
  if (e.kind == ast::ExprKind::name || e.kind == ast::ExprKind::self ||
      e.kind == ast::ExprKind::member || e.kind == ast::ExprKind::each) {
    return false;
  }
  return std::all_of(e.args.begin(), e.args.end(), [](const auto& a) { return names_nothing(*a); });
}

// `risk: float = async(amount, customer)`: a field computed outside the graph.
bool is_async(const ast::Field& f) {
  return f.value != nullptr && f.value->kind == ast::ExprKind::call && f.value->text == "async";
}

/// The timing annotations (docs/SCHEMA.md "Execution timing") and the timing each sets.
constexpr std::pair<std::string_view, Timing> kTimings[] = {
    {"immediate", Timing::immediate},     {"on_completion", Timing::on_completion},
    {"conditional", Timing::conditional}, {"every", Timing::temporal},
    {"at", Timing::temporal},             {"batched", Timing::batched}};

/// `effect feed: queue(total) when changed(total, status)`: a change feed (FieldDef::watched).
bool is_change_feed(const ast::Effect& fx) {
  return fx.when != nullptr && fx.when->kind == ast::ExprKind::call && fx.when->text == "changed";
}

/// Evaluates constant formulas at compile time.
class ConstantFrame final : public Frame {
 public:
  Value slot(std::uint32_t) override { throw ops::FormulaError("a constant reads no field"); }
  Value self() override { return Value(); }
  std::uint64_t record() override { return 0; }
  Value read(std::uint64_t, std::uint32_t) override {
    throw ops::FormulaError("a constant reads no field");
  }
  const std::vector<std::uint64_t>& members(std::uint64_t, std::uint32_t) override { return none_; }

 private:
  std::vector<std::uint64_t> none_;
};

/// @batched's count at most: a batch is a number of changes, not a schedule.
constexpr std::int64_t kBatchMax = 1'000'000'000;

class Checker {
 public:
  Checker(Schema& schema, const CompileOptions& options) : s_(schema), options_(options) {}

  bool run(ast::Schema& tree) {
    link_entities(tree);
    declare(tree);
    // Relations only need names, so their errors are reported along with declaration errors.
    if (s_.entities.size() == tree.entities.size()) relate(tree);
    if (diags_.empty()) mark_links();
    if (!diags_.empty()) return false;
    globals(tree);
    if (!diags_.empty()) return false;
    for (EntityDef& e : s_.entities) {
      e.local_count = 1 + static_cast<std::uint32_t>(e.fields.size() + e.relations.size());
    }
    // Group members are marked first: an aggregate over a member is not fed by updates.
    for (std::uint32_t i = 0; i < tree.entities.size(); ++i) mark_members(i, tree.entities[i]);
    for (std::uint32_t i = 0; i < tree.entities.size(); ++i) formulas(i, tree.entities[i]);
    for (std::uint32_t i = 0; i < tree.entities.size(); ++i) groups(i, tree.entities[i]);
    if (diags_.empty()) {
      // A global entity the checker made has no formulas, but may have the clock.
      own_deps_.resize(s_.entities.size());
      for (std::uint32_t i = 0; i < s_.entities.size(); ++i)
        own_deps_[i].resize(s_.entities[i].fields.size());
      for (std::uint32_t i = 0; i < s_.entities.size(); ++i) order(i);
    }
    return diags_.empty();
  }
  const std::vector<Diagnostic>& diagnostics() const { return diags_; }

 private:
  bool error(SourceLoc loc, std::string message) {
    if (diags_.size() < kDiagnosticsMax) diags_.push_back({loc, std::move(message)});
    return false;
  }

  /// A relation with properties (`items: many Item via order { qty: int = 1 }`) becomes a
  /// link entity named `Order.items` whose records are its links: its fields are the
  /// properties, its relation `source` reaches the Order (inverse `Order.items@link`, as
  /// many as `items`) and `target` the Item (inverse `Item.order@link`). A relation that is
  /// its own inverse (`friends`) has a link record from each side: `target`'s inverse is
  /// then `friends@in`, which no formula reads. The link entities go after the declared
  /// ones, before the global entity (which stays the last).
  void link_entities(ast::Schema& tree) {
    const bool has_global = !tree.entities.empty() && tree.entities.back().name == kGlobalEntity;
    const std::size_t n = tree.entities.size() - (has_global ? 1 : 0);
    std::vector<ast::Entity> made;
    for (std::size_t i = 0; i < n; ++i) {
      ast::Entity& owner = tree.entities[i];
      for (std::uint32_t r = 0; r < owner.relations.size(); ++r) {
        ast::Relation& rel = owner.relations[r];
        if (!rel.has_properties) continue;
        const bool symmetric = rel.inverse == rel.name && rel.target == owner.name;
        // Declared on both sides: two sets of properties for one link.
        for (const ast::Entity& t : tree.entities) {
          if (t.name != rel.target || symmetric) continue;
          for (const ast::Relation& b : t.relations) {
            if (b.name == rel.inverse && b.has_properties && b.inverse == rel.name &&
                (&t != &owner || &b > &rel)) {
              error(b.properties_loc, "the properties of " + owner.name + "." + rel.name +
                                          " are declared on both sides; declare them on one");
            }
          }
        }
        ast::Entity link;
        link.name = owner.name + "." + rel.name;
        link.loc = rel.properties_loc;
        for (ast::Field& p : rel.properties) {
          if (p.name == "source" || p.name == "target") {
            error(p.loc, "a link property may not be named '" + p.name +
                             "': the link's ends are its source and target");
          }
          link.fields.push_back(std::move(p));
        }
        rel.properties.clear();
        ast::Relation source;
        source.name = "source";
        source.loc = rel.properties_loc;
        source.target = owner.name;
        source.target_loc = rel.loc;
        source.inverse_many = rel.many;
        source.inverse = rel.name + "@link";
        source.inverse_loc = rel.loc;
        ast::Relation target;
        target.name = "target";
        target.loc = rel.properties_loc;
        target.target = rel.target;
        target.target_loc = rel.target_loc;
        target.inverse_many = symmetric || rel.inverse_many;
        target.inverse = rel.inverse + (symmetric ? "@in" : "@link");
        target.inverse_loc = rel.inverse_loc;
        link.relations.push_back(std::move(source));
        link.relations.push_back(std::move(target));
        links_.push_back({static_cast<std::uint32_t>(i), r,
                          static_cast<std::uint32_t>(n + made.size()), symmetric});
        made.push_back(std::move(link));
      }
    }
    tree.entities.insert(tree.entities.begin() + static_cast<std::ptrdiff_t>(n),
                         std::make_move_iterator(made.begin()), std::make_move_iterator(made.end()));
  }

  /// After relate(): the relations to link records, on both sides, and the link entities.
  void mark_links() {
    for (const LinkDecl& l : links_) {
      EntityDef& link = s_.entities[l.link_entity];
      link.link_of = l.entity;
      link.link_relation = l.relation;
      link.relations[EntityDef::link_source].hidden = true;
      link.relations[EntityDef::link_target].hidden = true;
      for (const FieldDef& f : link.fields) {
        if (f.kind != FieldKind::state) {
          error(f.loc, "link property " + f.name +
                           " has a formula; a link property is a value given by link and "
                           "update-link (a constant default is allowed)");
        }
      }
      EntityDef& owner = s_.entities[l.entity];
      RelationDef& rel = owner.relations[l.relation];
      const std::uint32_t own_side = owner.find_relation(rel.name + "@link");
      MG_ASSERT(own_side != kNone);
      rel.link = own_side;
      owner.relations[own_side].hidden = true;
      owner.relations[own_side].link_other = EntityDef::link_target;
      EntityDef& other = s_.entities[rel.target];
      if (l.symmetric) {
        other.relations[other.find_relation(rel.name + "@in")].hidden = true;
        continue;
      }
      RelationDef& inv = other.relations[rel.inverse];
      const std::uint32_t other_side = other.find_relation(inv.name + "@link");
      MG_ASSERT(other_side != kNone);
      inv.link = other_side;
      other.relations[other_side].hidden = true;
      other.relations[other_side].link_other = EntityDef::link_source;
    }
  }

  bool name_taken(const EntityDef& e, std::string_view name) const {
    return e.find_field(name) != kNone || e.find_relation(name) != kNone;
  }

  void declare(const ast::Schema& tree) {
    if (tree.entities.size() > kEntitiesMax) {
      error({1, 1}, "more than " + std::to_string(kEntitiesMax) + " entities");
      return;
    }
    for (const ast::Entity& a : tree.entities) {
      if (s_.find_entity(a.name) != kNone) error(a.loc, "entity " + a.name + " is declared twice");
      EntityDef e;
      e.name = a.name;
      e.loc = a.loc;
      if (a.fields.size() + a.effects.size() + a.relations.size() > kMembersMax) {
        error(a.loc,
              "entity " + a.name + " has more than " + std::to_string(kMembersMax) + " members");
      }
      std::vector<std::uint32_t> asyncs;  // indices into a.fields and e.fields alike
      for (const ast::Field& f : a.fields) {
        if (name_taken(e, f.name)) error(f.loc, "'" + f.name + "' is declared twice in " + a.name);
        FieldDef d;
        d.name = f.name;
        d.loc = f.loc;
        if (!parse_type(f.type, &d.type)) {
          error(f.type_loc, "unknown type '" + f.type + "' (bool, int, float, string, tensor)");
        }
        d.kind =
            (f.value == nullptr || names_nothing(*f.value)) ? FieldKind::state : FieldKind::derived;
        d.nullable = f.nullable;
        if (is_async(f)) {
          // Written by results only; its annotations go to its request (below).
          d.kind = FieldKind::state;
          asyncs.push_back(static_cast<std::uint32_t>(e.fields.size()));
        } else {
          options(f.annotations, &d);
        }
        e.fields.push_back(std::move(d));
        e.index_names();
      }
      for (const ast::Effect& fx : a.effects) {
        if (name_taken(e, fx.name))
          error(fx.loc, "'" + fx.name + "' is declared twice in " + a.name);
        FieldDef d;
        d.name = fx.name;
        d.loc = fx.loc;
        d.kind = FieldKind::effect;
        if (fx.kind == "bool") {
          d.effect_kind = EffectKind::boolean;
        } else if (fx.kind == "counter" || fx.kind == "queue") {
          d.effect_kind = fx.kind == "counter" ? EffectKind::counter : EffectKind::queue;
        } else {
          error(fx.kind_loc, "unknown effect kind '" + fx.kind + "' (bool, counter, queue)");
        }
        d.type = d.effect_kind == EffectKind::boolean ? Type::boolean : Type::integer;
        if (fx.has_carried) carried(a, fx, e, &d);
        options(fx.annotations, &d);
        if (is_change_feed(fx)) change_feed(a, fx, e, &d);
        e.fields.push_back(std::move(d));
        e.index_names();
      }
      // The request of each async field: a hidden queue effect after every declared member.
      for (const std::uint32_t f : asyncs) {
        const ast::Field& af = a.fields[f];
        FieldDef r;
        r.name = af.name + "@request";
        r.loc = af.loc;
        r.kind = FieldKind::effect;
        r.effect_kind = EffectKind::queue;
        r.type = Type::integer;
        r.async_of = f;
        async_inputs(a, af, e, &r);
        for (const ast::Annotation& an : af.annotations) {
          if (an.name == "retry") {
            retry(an, &r);
          } else {
            error(an.loc, "@" + an.name + " on async field " + af.name +
                              ": an async field takes @retry only (how its requests are "
                              "delivered); its value is the last result sent back");
          }
        }
        e.fields[f].request = static_cast<std::uint32_t>(e.fields.size());
        e.fields.push_back(std::move(r));
        // Its count of accepted results, written with each (Store::resolve): what
        // `@on_completion(risk)` reads, as a value, so undo and images need nothing new.
        FieldDef done;
        done.name = af.name + "@done";
        done.loc = af.loc;
        done.kind = FieldKind::state;
        done.type = Type::integer;
        done.initial = Value(std::int64_t{0});
        done.async_of = f;
        e.fields[f].done = static_cast<std::uint32_t>(e.fields.size());
        e.fields.push_back(std::move(done));
        e.index_names();
      }
      // Relation names are reserved now so that a field may not shadow them.
      for (const ast::Relation& r : a.relations) {
        if (name_taken(e, r.name)) error(r.loc, "'" + r.name + "' is declared twice in " + a.name);
        RelationDef d;
        d.name = r.name;
        d.loc = r.loc;
        d.many = r.many;
        e.relations.push_back(std::move(d));
        e.index_names();
        for (const ast::Annotation& an : r.annotations) {
          error(an.loc, "unknown annotation @" + an.name + " on a relation");
        }
      }
      s_.entities.push_back(std::move(e));
      s_.index_names();
    }
  }

  /// `queue(total, status)`: distinct fields of the effect's record, declared before it
  /// or after, but no effect (an effect's count is not what a trigger is about).
  void carried(const ast::Entity& a, const ast::Effect& fx, const EntityDef& e, FieldDef* d) {
    if (d->effect_kind != EffectKind::queue) {
      error(fx.kind_loc, "effect " + fx.name + ": only a queue carries values with each trigger (" +
                             fx.kind + " keeps no values); write queue(...)");
      return;
    }
    if (fx.carried.empty()) {
      error(fx.kind_loc, "effect " + fx.name +
                             ": queue() names no field; name the fields each trigger carries, "
                             "e.g. queue(total, status), or write queue");
      return;
    }
    for (std::size_t i = 0; i < fx.carried.size(); ++i) {
      const std::string& name = fx.carried[i];
      const std::uint32_t f = e.find_field(name);
      const bool effect =
          std::any_of(a.effects.begin(), a.effects.end(), [&](const ast::Effect& o) { return o.name == name; });
      if (effect) {
        error(fx.carried_locs[i], "effect " + fx.name + " carries '" + name + "', an effect of " +
                                      a.name + "; a queue carries fields, not effects");
      } else if (f == kNone) {
        error(fx.carried_locs[i],
              "effect " + fx.name + " carries unknown field '" + name + "' of " + a.name);
      } else if (std::find(d->carried.begin(), d->carried.end(), f) != d->carried.end()) {
        error(fx.carried_locs[i], "effect " + fx.name + " carries '" + name + "' twice");
      } else {
        d->carried.push_back(f);
      }
    }
  }

  /// What named_fields() says of the call it checks, in its errors.
  struct NamedFieldsText {
    std::string who;      ///< "async field risk", "effect feed"
    std::string fn;       ///< "async", "changed"
    std::string purpose;  ///< "it is computed from", "whose changes trigger it"
    std::string example;  ///< "async(amount, customer)"
    std::string not_effects;  ///< after "an effect of A; ": "it is computed from fields, not effects"
  };

  /// The arguments of `call` as distinct fields of the record, none an effect (nor the
  /// field `self`, if given), appended to *out; an error for each that is not.
  void named_fields(const ast::Entity& a, const ast::Expr& call, const EntityDef& e,
                    const NamedFieldsText& t, const std::string& self, std::vector<std::uint32_t>* out) {
    if (call.args.empty()) {
      error(call.loc, t.who + ": " + t.fn + "() names no field; name the fields of " + a.name + " " +
                          t.purpose + ", e.g. " + t.example);
      return;
    }
    for (const auto& arg : call.args) {
      if (arg->kind != ast::ExprKind::name) {
        error(arg->loc, t.who + ": " + t.fn + " takes names of fields of " + a.name +
                            ", not expressions; compute the expression in a derived field "
                            "and name it");
        continue;
      }
      const std::string& name = arg->text;
      const std::uint32_t f = e.find_field(name);
      const bool effect =
          std::any_of(a.effects.begin(), a.effects.end(), [&](const ast::Effect& o) { return o.name == name; });
      if (name == self) {
        error(arg->loc, t.who + " names itself; it is computed from other fields");
      } else if (effect) {
        error(arg->loc, t.who + " names '" + name + "', an effect of " + a.name + "; " + t.not_effects);
      } else if (f == kNone) {
        error(arg->loc, t.who + " names unknown field '" + name + "' of " + a.name);
      } else if (std::find(out->begin(), out->end(), f) != out->end()) {
        error(arg->loc, t.who + " names '" + name + "' twice");
      } else {
        out->push_back(f);
      }
    }
  }

  /// `async(amount, customer)`: distinct fields of the record, none an effect nor the
  /// async field itself; the request carries their values (FieldDef::carried).
  void async_inputs(const ast::Entity& a, const ast::Field& af, const EntityDef& e, FieldDef* r) {
    named_fields(a, *af.value, e,
                 {"async field " + af.name, "async", "it is computed from", "async(amount, customer)",
                  "it is computed from fields, not effects"},
                 af.name, &r->carried);
  }

  /// `when changed(total, status)`: distinct fields of the record, none an effect, each
  /// change of which triggers the effect (FieldDef::watched). No timing but @immediate: a
  /// feed is told of every commit that changes them.
  void change_feed(const ast::Entity& a, const ast::Effect& fx, const EntityDef& e, FieldDef* d) {
    named_fields(a, *fx.when, e,
                 {"effect " + fx.name, "changed", "whose changes trigger it", "changed(total, status)",
                  "a feed follows fields, not effects"},
                 std::string(), &d->watched);
    for (const ast::Annotation& an : fx.annotations) {
      for (auto [name, t] : kTimings) {
        if (an.name != name || t == Timing::immediate) continue;
        error(an.loc, "@" + an.name + " on effect " + fx.name +
                          ": a change feed (when changed(...)) triggers at every commit that "
                          "changes what it names; it takes no timing");
      }
    }
  }

  void options(const std::vector<ast::Annotation>& as, FieldDef* d) {
    const ast::Annotation* timed = nullptr;
    const ast::Annotation* mode = nullptr;
    for (const ast::Annotation& a : as) {
      bool timing = false;
      for (auto [name, t] : kTimings) {
        if (a.name != name) continue;
        timing = true;
        if (timed != nullptr) {
          error(a.loc, "@" + a.name + ": field " + d->name + " already has the timing @" +
                           timed->name + "; a field has one timing");
          break;
        }
        timed = &a;
        d->options.timing = t;
        d->options.timing_args = a.args;
        timing_args(a, d);
      }
      if (timing) continue;
      if (a.name == "temporal") {
        error(a.loc, "@temporal is written @every(PERIOD), e.g. @every(5s), or @at(TIME), e.g. "
                     "@at(\"2026-12-03T10:00:00Z\")");
        continue;
      }
      if (a.name == "lazy") {
        if (d->kind != FieldKind::derived) error(a.loc, "@lazy applies to derived fields only");
        d->options.lazy = true;
      } else if (a.name == "retry") {
        retry(a, d);
      } else if (const std::optional<DeliveryMode> named = delivery_mode_named(a.name)) {
        delivery_mode(a, *named, d, &mode);
      } else if (a.name == "versioned") {
        d->options.versioned = true;
      } else if (a.name == "fail_transaction") {
        if (d->kind != FieldKind::derived && d->kind != FieldKind::effect) {
          error(a.loc, "@fail_transaction applies to derived and effect fields only");
        }
        d->options.fail_transaction = true;
      } else if (a.name == "tolerance") {
        if (a.args.size() != 1 || !a.args[0].is_number() || a.args[0].number() < 0) {
          error(a.loc, "@tolerance takes one non-negative number");
        } else if (d->type != Type::real && d->type != Type::tensor) {
          error(a.loc, "@tolerance applies to float and tensor fields");
        } else {
          d->options.tolerance = a.args[0].number();
        }
      } else {
        error(a.loc, "unknown annotation @" + a.name +
                         " (lazy, versioned, fail_transaction, tolerance, retry, acknowledged, "
                         "fire_and_forget, counted, immediate, every, at, batched, conditional, "
                         "on_completion)");
      }
    }
    if (timed != nullptr && d->options.timing != Timing::immediate && d->options.lazy) {
      error(timed->loc, "@" + timed->name + " and @lazy: a timed field is computed when its "
                        "timing says, a lazy one when it is read; choose one");
    }
  }

  /// Checks the arguments of a timing annotation other than its expression (formulas()
  /// compiles that) and keeps them in d->timed.
  void timing_args(const ast::Annotation& a, FieldDef* d) {
    const Timing t = d->options.timing;
    if (t == Timing::immediate) {
      if (!a.args.empty()) error(a.loc, "@immediate takes no arguments");
      return;
    }
    if (d->kind != FieldKind::derived && d->kind != FieldKind::effect) {
      error(a.loc, "@" + a.name + " applies to derived fields and effects ('" + d->name +
                       "' is a " + field_kind_name(d->kind) + " field, which scripts write)");
      return;
    }
    auto duration = [&](const Value& v, const char* what, std::int64_t* out) {
      Result<std::int64_t> ms = v.is_int()      ? parse_duration_ms(std::to_string(v.as_int()))
                                : v.is_string() ? parse_duration_ms(v.as_string())
                                                : Result<std::int64_t>(Status(
                                                      StatusCode::invalid_argument,
                                                      v.to_json() + " is not a duration"));
      if (!ms.is_ok()) {
        error(a.loc, "@" + a.name + ": " + what + ": " + ms.status().message());
        return false;
      }
      *out = *ms;
      return true;
    };
    if (a.name == "every") {
      if (a.args.size() != 1) {
        error(a.loc, "@every takes one period, e.g. @every(5s), @every(250ms), @every(1h)");
        return;
      }
      if (duration(a.args[0], "the period", &d->timed.period_ms)) needs_clock_ = true;
    } else if (a.name == "at") {
      if (a.args.size() != 1 || !(a.args[0].is_string() || a.args[0].is_int())) {
        error(a.loc, "@at takes one UTC time, e.g. @at(\"2026-12-03T10:00:00Z\"), or "
                     "milliseconds since 1970");
        return;
      }
      Result<std::int64_t> ms = a.args[0].is_int() ? Result<std::int64_t>(a.args[0].as_int())
                                                   : parse_utc_ms(a.args[0].as_string());
      if (ms.is_ok() && (*ms < 0 || *ms > kTimeMsMax)) {
        ms = Status(StatusCode::invalid_argument,
                    a.args[0].to_json() + " is outside [0, " + std::to_string(kTimeMsMax) + "]");
      }
      if (!ms.is_ok()) {
        error(a.loc, "@at: " + ms.status().message());
        return;
      }
      d->timed.at = true;
      d->timed.at_ms = *ms;
      needs_clock_ = true;
    } else if (a.name == "batched") {
      static constexpr const char* kUsage =
          "@batched takes (count) or (count, interval), e.g. @batched(100) or "
          "@batched(100, 5s): recomputed after count changes, or when the interval passed";
      if (a.args.empty() || a.args.size() > 2) {
        error(a.loc, kUsage);
        return;
      }
      if (!a.args[0].is_int() || a.args[0].as_int() < 1 || a.args[0].as_int() > kBatchMax) {
        error(a.loc, "@batched: the count must be an integer in [1, " +
                         std::to_string(kBatchMax) + "], got " + a.args[0].to_json() + " (" +
                         kUsage + ")");
        return;
      }
      d->timed.count = a.args[0].as_int();
      if (a.args.size() == 2) {
        if (duration(a.args[1], "the interval", &d->timed.period_ms)) needs_clock_ = true;
      }
    } else if (!a.expr) {
      // conditional, on_completion: the expression is compiled with the formulas.
      if (a.name == "conditional") {
        error(a.loc, "@conditional takes a bool condition, e.g. @conditional(status == \"open\")");
      } else if (d->kind != FieldKind::effect) {
        error(a.loc, "@on_completion on a derived field names the bool field that completes, "
                     "e.g. @on_completion(done)");
      }
    }
  }

  /// `@acknowledged`, `@fire_and_forget` or `@counted` (annotation `a`, naming `mode`) on an
  /// effect: its delivery mode. `*seen` is the mode annotation met before on the field, if any.
  void delivery_mode(const ast::Annotation& a, DeliveryMode mode, FieldDef* d, const ast::Annotation** seen) {
    if (d->kind != FieldKind::effect) {
      error(a.loc, "@" + a.name + " applies to effects only ('" + d->name + "' is a " +
                       field_kind_name(d->kind) + " field): it says how the effect's triggers "
                       "reach its consumers");
      return;
    }
    if (!a.args.empty()) {
      error(a.loc, "@" + a.name + " takes no arguments");
      return;
    }
    if (*seen != nullptr) {
      error(a.loc, "@" + a.name + ": effect " + d->name + " already has the delivery mode @" +
                       (*seen)->name + "; an effect has one");
      return;
    }
    *seen = &a;
    if (mode == DeliveryMode::counted && d->effect_kind != EffectKind::counter) {
      error(a.loc, "@counted applies to counter effects ('" + d->name + "' is a " +
                       (d->effect_kind == EffectKind::boolean
                            ? std::string{"bool effect: it has one trigger pending at most"}
                            : std::string{"queue effect: each trigger keeps its values, so each "
                                          "is acknowledged alone"}) +
                       ")");
      return;
    }
    d->options.retry.mode = mode;
  }

  /// `@retry(initial_ms, multiplier, max_delay_ms, max_attempts)` on an effect.
  void retry(const ast::Annotation& a, FieldDef* d) {
    if (d->kind != FieldKind::effect) {
      error(a.loc, "@retry applies to effects only ('" + d->name + "' is a " +
                       field_kind_name(d->kind) + " field)");
      return;
    }
    static constexpr const char* kUsage =
        "@retry takes (initial_ms, multiplier, max_delay_ms, max_attempts), e.g. "
        "@retry(1000, 2, 60000, 8)";
    if (a.args.size() != 4) {
      error(a.loc, std::string{kUsage} + "; got " + std::to_string(a.args.size()) +
                       " argument" + (a.args.size() == 1 ? "" : "s"));
      return;
    }
    const char* const kWhat[] = {"initial_ms", "multiplier", "max_delay_ms", "max_attempts"};
    for (std::size_t i = 0; i < 4; ++i) {
      const bool ok = i == 1 ? a.args[i].is_number() : a.args[i].is_int();
      if (!ok) {
        error(a.loc, std::string{"@retry: "} + kWhat[i] + " must be " +
                         (i == 1 ? "a number" : "an integer") + ", got " + a.args[i].to_json() +
                         " (" + kUsage + ")");
        return;
      }
    }
    for (std::size_t i : {0, 2, 3}) {
      if (a.args[i].as_int() < 0) {
        error(a.loc, std::string{"@retry: "} + kWhat[i] + " must not be negative, got " +
                         a.args[i].to_json());
        return;
      }
    }
    if (a.args[3].as_int() > std::int64_t{kRetryAttemptsMax}) {
      error(a.loc, "@retry on effect '" + d->name + "': max attempts " + a.args[3].to_json() +
                       " is outside [1, " + std::to_string(kRetryAttemptsMax) + "]");
      return;
    }
    RetryPolicy p = d->options.retry;  // keeps a delivery mode written before it
    p.initial = std::chrono::milliseconds(a.args[0].as_int());
    p.multiplier = a.args[1].number();
    p.max_delay = std::chrono::milliseconds(a.args[2].as_int());
    p.max_attempts = static_cast<std::uint32_t>(a.args[3].as_int());
    if (Status s = p.check(); !s.is_ok()) {
      error(a.loc, "@retry on effect '" + d->name + "': " + s.message());
      return;
    }
    d->options.retry = p;
  }

  void relate(const ast::Schema& tree) {
    struct Pending {
      std::uint32_t entity, relation;
      const ast::Relation* a;
    };
    std::vector<Pending> missing;
    for (std::uint32_t i = 0; i < tree.entities.size(); ++i) {
      for (std::uint32_t r = 0; r < tree.entities[i].relations.size(); ++r) {
        const ast::Relation& a = tree.entities[i].relations[r];
        const std::uint32_t t = s_.find_entity(a.target);
        if (t == kNone) {
          error(a.target_loc, "unknown entity '" + a.target + "'");
          continue;
        }
        s_.entities[i].relations[r].target = t;
        EntityDef& target = s_.entities[t];
        const std::uint32_t inv = target.find_relation(a.inverse);
        if (inv == kNone) {
          if (target.find_field(a.inverse) != kNone) {
            error(a.inverse_loc, "inverse '" + a.inverse + "' is a field of " + target.name);
            continue;
          }
          missing.push_back({i, r, &a});
          continue;
        }
        const ast::Relation& b = tree.entities[t].relations[inv];
        if (b.target != s_.entities[i].name || b.inverse != a.name || b.many != a.inverse_many) {
          error(a.inverse_loc, "inverse " + target.name + "." + a.inverse + " is declared as '" +
                                   (b.many ? "many " : "one ") + b.target + " via " + b.inverse +
                                   "', which does not mirror " + s_.entities[i].name + "." +
                                   a.name);
          continue;
        }
        s_.entities[i].relations[r].inverse = inv;
      }
    }
    for (const Pending& p : missing) {
      EntityDef& target = s_.entities[s_.entities[p.entity].relations[p.relation].target];
      const std::uint32_t existing = target.find_relation(p.a->inverse);
      if (existing != kNone) {
        // Two relations claim the same implicit inverse.
        error(p.a->inverse_loc, "inverse " + target.name + "." + p.a->inverse +
                                    " is already the inverse of another relation");
        continue;
      }
      RelationDef d;
      d.name = p.a->inverse;
      d.loc = p.a->inverse_loc;
      d.many = p.a->inverse_many;
      d.target = p.entity;
      d.inverse = p.relation;
      target.relations.push_back(std::move(d));
      target.index_names();
      s_.entities[p.entity].relations[p.relation].inverse =
          static_cast<std::uint32_t>(target.relations.size() - 1);
    }
  }

  /// Entities that formulas of `ei` name as a whole (`count(Order)`): names that are no
  /// field or relation of `ei` but an entity's. Recursion is bounded by the tree's height.
  void whole_entities(std::uint32_t ei, const ast::Expr& e, std::vector<bool>* named) const {
    if (e.kind == ast::ExprKind::name && e.text != kGlobalEntity) {
      const EntityDef& own = s_.entities[ei];
      const std::uint32_t t = s_.find_entity(e.text);
      if (t != kNone && own.find_field(e.text) == kNone && own.find_relation(e.text) == kNone)
        (*named)[t] = true;
    }
    for (const auto& a : e.args) whole_entities(ei, *a, named);
  }

  /// The global entity: the `global` declarations (the parser puts them in an entity of
  /// that name, the last one), and a relation from it to every entity that a formula
  /// aggregates as a whole, which the Store keeps (RelationDef::implicit): `Order` on the
  /// global entity, with the inverse `global` on Order.
  void globals(const ast::Schema& tree) {
    std::vector<bool> named(s_.entities.size(), false);
    for (std::uint32_t i = 0; i < tree.entities.size(); ++i) {
      for (const ast::Field& f : tree.entities[i].fields) {
        if (f.value != nullptr) whole_entities(i, *f.value, &named);
      }
      for (const ast::Effect& fx : tree.entities[i].effects) whole_entities(i, *fx.when, &named);
    }
    const bool declared = !tree.entities.empty() && tree.entities.back().name == kGlobalEntity;
    const bool aggregated = std::find(named.begin(), named.end(), true) != named.end();
    if (!declared && !aggregated && !needs_clock_) return;
    if (!declared) {
      EntityDef g;
      g.name = std::string(kGlobalEntity);
      s_.entities.push_back(std::move(g));
      s_.index_names();
      named.push_back(false);
    }
    const auto gi = static_cast<std::uint32_t>(s_.entities.size() - 1);
    s_.global_entity = gi;
    if (needs_clock_) {
      // After the declared globals and their effects, whose indices formulas() walks.
      EntityDef& g = s_.entities[gi];
      FieldDef clock;
      clock.name = std::string(kClockField);
      clock.loc = g.loc;
      clock.type = Type::integer;
      clock.initial = Value(std::int64_t{0});
      s_.clock_field = static_cast<std::uint32_t>(g.fields.size());
      g.fields.push_back(std::move(clock));
      g.index_names();
    }
    for (std::uint32_t t = 0; t < gi; ++t) {
      if (!named[t]) continue;
      EntityDef& g = s_.entities[gi];
      EntityDef& target = s_.entities[t];
      if (const std::uint32_t f = g.find_field(target.name); f != kNone) {
        error(g.fields[f].loc, "global '" + target.name + "' has the name of entity " +
                                   target.name + ", which a formula aggregates as a whole");
        continue;
      }
      RelationDef all;
      all.name = target.name;
      all.loc = target.loc;
      all.many = true;
      all.target = t;
      all.inverse = static_cast<std::uint32_t>(target.relations.size());
      all.implicit = true;
      RelationDef back;
      back.name = std::string(kGlobalEntity);
      back.loc = target.loc;
      back.target = gi;
      back.inverse = static_cast<std::uint32_t>(g.relations.size());
      back.implicit = true;
      g.relations.push_back(std::move(all));
      g.index_names();
      target.relations.push_back(std::move(back));
      target.index_names();
    }
  }

  void formulas(std::uint32_t ei, const ast::Entity& a) {
    ExprCompiler c(s_, ei, options_, &diags_);
    own_deps_.resize(s_.entities.size());
    own_deps_[ei].assign(s_.entities[ei].fields.size(), {});
    auto compile_field = [&](std::uint32_t f, const ast::Expr& expr) {
      FieldDef& d = s_.entities[ei].fields[f];
      c.set_self_type(d.kind == FieldKind::derived ? d.type : Type::null);
      CompiledFormula cf;
      if (!c.compile(expr, &cf)) return;
      own_deps_[ei][f] = c.own_fields();
      const Type want = d.kind == FieldKind::effect ? Type::boolean : d.type;
      const bool fits = cf.type == want || cf.type == Type::null ||
                        (want == Type::real && cf.type == Type::integer);
      if (!fits) {
        error(expr.loc,
              std::string(d.kind == FieldKind::effect ? "the condition of effect " : "field ") +
                  d.name + " is " + type_name(want) + " but its formula gives " +
                  type_name(cf.type));
        return;
      }
      if (d.kind == FieldKind::derived || d.kind == FieldKind::effect) {
        // A float field's arithmetic over its record's numbers also runs as a kernel
        // (kernel.hpp); an int field cannot: a kernel's result is stored as a double.
        if (d.kind == FieldKind::derived && d.type == Type::real && options_.scalar_kernels) {
          cf.scalar = compile_scalar_program(s_.entities[ei], expr, cf,
                                             s_.entities[ei].name + "." + d.name);
        }
        s_.entities[ei].fields[f].formula = std::move(cf);
        return;
      }
      ConstantFrame frame;
      try {
        const Value constant = cf.eval(frame);
        if (constant.is_null()) {
          if (d.nullable) {
            s_.entities[ei].fields[f].initial = Value();
          } else {
            error(expr.loc, "field " + d.name + " is not nullable: declare it " +
                                type_name(d.type) + "? to let it hold null");
          }
          return;
        }
        Result<Value> v = coerce(constant, d.type);
        if (!v.is_ok()) {
          error(expr.loc, v.status().message());
          return;
        }
        s_.entities[ei].fields[f].initial = std::move(v).value();
      } catch (const std::exception& ex) {
        error(expr.loc, std::string("default of ") + d.name + " fails: " + ex.what());
      }
    };
    std::uint32_t f = 0;
    for (const ast::Field& af : a.fields) {
      FieldDef& d = s_.entities[ei].fields[f];
      if (is_async(af)) {
        d.initial = d.nullable ? Value() : zero_of(d.type);  // until the first result
      } else if (af.value != nullptr) {
        compile_field(f, *af.value);
        if (d.kind == FieldKind::derived) timing(c, ei, f, af.annotations);
      } else {
        d.initial = d.nullable ? Value() : zero_of(d.type);
      }
      ++f;
    }
    for (const ast::Effect& fx : a.effects) {
      FieldDef& d = s_.entities[ei].fields[f];
      if (is_change_feed(fx)) {
        counts_changes(ei, f, d.watched);
      } else {
        compile_field(f, *fx.when);
      }
      d.cond_local = s_.entities[ei].local_count++;
      timing(c, ei, f, fx.annotations);
      ++f;
    }
    // Requests of async fields: created after their inputs, which they read; the other
    // partitions mirror them, so that all of them tell the newest request alike.
    EntityDef& e = s_.entities[ei];
    for (; f < e.fields.size(); ++f) {
      FieldDef& r = e.fields[f];
      if (r.async_of == kNone || r.kind != FieldKind::effect) continue;
      r.cond_local = e.local_count++;
      counts_changes(ei, f, r.carried);
      e.read_elsewhere.push_back(e.field_local(f));
    }
  }

  /// Effect `f` of entity `ei` has a condition that counts the changes of `fields` of its
  /// record (an async field's request, a change feed: Store::build_specs) instead of a
  /// formula: an int reading them.
  void counts_changes(std::uint32_t ei, std::uint32_t f, const std::vector<std::uint32_t>& fields) {
    EntityDef& e = s_.entities[ei];
    FieldDef& d = e.fields[f];
    d.formula.type = Type::integer;
    for (const std::uint32_t in : fields) d.formula.slots.push_back(e.field_local(in));
    own_deps_[ei][f] = fields;
  }

  /// A hidden node of entity `ei` created just before field `before`.
  std::uint32_t helper(std::uint32_t ei, std::uint32_t before, std::string name,
                       CompiledFormula formula, Type self_type = Type::null) {
    EntityDef& e = s_.entities[ei];
    HiddenDef h;
    h.name = e.fields[before].name + "@" + name;
    h.formula = std::move(formula);
    h.local = e.local_count++;
    h.before = before;
    h.self_type = self_type;
    e.hidden.push_back(std::move(h));
    return e.hidden.back().local;
  }

  /// The clock read as a dependency, through the global record.
  CompiledFormula clock_formula(Type type, std::function<Value(std::int64_t)> of) const {
    CompiledFormula cf;
    cf.type = type;
    cf.tracked = true;
    const std::uint32_t local = s_.entities[s_.global_entity].field_local(s_.clock_field);
    cf.eval = [local, of = std::move(of)](Frame& frame) {
      const Value now = frame.read(kGlobalRecord, local);
      return of(now.is_int() ? now.as_int() : 0);
    };
    return cf;
  }

  /// The helpers of a timed field (TimingDef), once its formula (an effect's condition)
  /// compiled. The clock field exists: globals() ran.
  void timing(ExprCompiler& c, std::uint32_t ei, std::uint32_t f,
              const std::vector<ast::Annotation>& as) {
    FieldDef& d0 = s_.entities[ei].fields[f];
    const Timing t = d0.options.timing;
    if (t == Timing::immediate || !d0.formula.eval) return;
    const ast::Annotation* a = nullptr;
    for (const ast::Annotation& x : as) {
      if (x.name == "every" || x.name == "at" || x.name == "batched" ||
          x.name == "conditional" || x.name == "on_completion") {
        a = &x;
      }
    }
    if (a == nullptr) return;
    // An effect's bare @on_completion: its condition is the completion, as without it
    // (timing_args() reported the others without an expression).
    if ((t == Timing::conditional || t == Timing::on_completion) && !a->expr) return;
    const std::size_t diags = diags_.size();
    TimingDef timed = d0.timed;
    std::vector<std::uint32_t> reads;  // own fields the helpers read
    // The formula computed at once; `self` in it is the value's own previous one.
    const Type self_type = d0.kind == FieldKind::derived ? d0.type : Type::null;
    CompiledFormula value = d0.formula;
    if (t == Timing::conditional) {
      c.set_self_type(Type::null);
      CompiledFormula pred;
      if (!c.compile(*a->expr, &pred)) return;
      if (pred.reads_self) {
        error(a->expr->loc, "@conditional: the condition may not read self");
        return;
      }
      if (pred.type != Type::boolean) {
        error(a->expr->loc, std::string("@conditional needs a bool condition, got ") +
                                type_name(pred.type));
        return;
      }
      reads = c.own_fields();
      if (std::find(reads.begin(), reads.end(), f) != reads.end()) {
        error(a->expr->loc, "@conditional: the condition of " + s_.entities[ei].fields[f].name +
                                " reads the field itself; it may read the others");
        return;
      }
      timed.triggers.push_back(helper(ei, f, "when", std::move(pred)));
    } else if (t == Timing::on_completion) {
      const EntityDef& e = s_.entities[ei];
      const std::uint32_t named =
          a->expr->kind == ast::ExprKind::name ? e.find_field(a->expr->text) : kNone;
      const bool async = named != kNone && e.fields[named].done != kNone;
      if (named == kNone || named == f || (!async && e.fields[named].type != Type::boolean)) {
        error(a->expr->loc, "@on_completion names a bool field or an async field of " + e.name +
                                ": it completes when the bool becomes true, or with each result "
                                "of the async field, e.g. @on_completion(done)");
        return;
      }
      timed.completion = named;
      if (async) {
        // Each accepted result adds one to `risk@done` (Store::resolve): a change of that
        // state field is the completion, whatever the result's value.
        reads.push_back(e.fields[named].done);
        timed.triggers.push_back(e.field_local(e.fields[named].done));
      } else {
        reads.push_back(named);
        // How many times it became true: recomputed only when it changes.
        CompiledFormula edges;
        edges.type = Type::integer;
        edges.reads_self = true;
        edges.slots = {e.field_local(named)};
        edges.eval = [](Frame& frame) {
          const Value prev = frame.self();
          const std::int64_t n = prev.is_int() ? prev.as_int() : 0;
          const Value now = frame.slot(0);
          return Value(now.is_bool() && now.as_bool() ? n + 1 : n);
        };
        timed.triggers.push_back(helper(ei, f, "completions", std::move(edges)));
      }
    } else if (t == Timing::temporal) {
      if (timed.at) {
        timed.triggers.push_back(helper(ei, f, "at", clock_formula(Type::boolean,
                                                                   [at = timed.at_ms](std::int64_t now) {
                                                                     return Value(now >= at);
                                                                   })));
      } else {
        timed.triggers.push_back(helper(ei, f, "every",
                                        clock_formula(Type::integer, [p = timed.period_ms](
                                                                         std::int64_t now) {
                                          return Value(floor_div(now, p));
                                        })));
      }
    }
    if (diags_.size() != diags) return;
    timed.value_local = helper(ei, f, "value", std::move(value), self_type);
    if (t == Timing::batched) {
      // Changes of the value, counted by a node it alone feeds; the batch number opens
      // the gate every `count` of them.
      CompiledFormula changes;
      changes.type = Type::integer;
      changes.reads_self = true;
      changes.slots = {timed.value_local};
      changes.eval = [](Frame& frame) {
        const Value prev = frame.self();
        return Value(prev.is_int() ? prev.as_int() + 1 : std::int64_t{0});
      };
      const std::uint32_t counted = helper(ei, f, "changes", std::move(changes));
      CompiledFormula batch;
      batch.type = Type::integer;
      batch.slots = {counted};
      batch.eval = [n = timed.count](Frame& frame) {
        const Value k = frame.slot(0);
        return Value((k.is_int() ? k.as_int() : 0) / n);
      };
      timed.triggers.push_back(helper(ei, f, "batch", std::move(batch)));
      if (timed.period_ms > 0) {
        timed.triggers.push_back(helper(ei, f, "interval",
                                        clock_formula(Type::integer, [p = timed.period_ms](
                                                                         std::int64_t now) {
                                          return Value(floor_div(now, p));
                                        })));
      }
    }
    for (std::uint32_t r : reads) {
      if (r != f) own_deps_[ei][f].push_back(r);
    }
    s_.entities[ei].fields[f].timed = std::move(timed);
  }

  static std::int64_t floor_div(std::int64_t a, std::int64_t b) {
    return a / b - ((a % b != 0) && ((a < 0) != (b < 0)) ? 1 : 0);
  }

  void mark_members(std::uint32_t ei, const ast::Entity& a) {
    EntityDef& ent = s_.entities[ei];
    for (std::uint32_t gi = 0; gi < a.groups.size(); ++gi) {
      const ast::CycleGroup& g = a.groups[gi];
      for (std::size_t m = 0; m < g.members.size(); ++m) {
        const std::uint32_t f = ent.find_field(g.members[m]);
        if (f == kNone) {
          error(g.member_locs[m], "unknown field '" + g.members[m] + "' in entity " + ent.name);
        } else if (ent.fields[f].nullable) {
          error(g.member_locs[m], "member " + g.members[m] +
                                      " is nullable: the members of a cycle group always hold a "
                                      "value");
        } else if (ent.fields[f].kind != FieldKind::state || ent.fields[f].group != kNone ||
                   ent.fields[f].request != kNone) {
          error(g.member_locs[m],
                "member " + g.members[m] +
                    " must be a state field of no other group (the group computes it)");
        } else {
          ent.fields[f].kind = FieldKind::member;
          ent.fields[f].group = gi;
        }
      }
    }
  }

  void groups(std::uint32_t ei, const ast::Entity& a) {
    for (std::uint32_t gi = 0; gi < a.groups.size(); ++gi) {
      const ast::CycleGroup& g = a.groups[gi];
      EntityDef& ent = s_.entities[ei];
      GroupDef def;
      def.name = g.name;
      for (const std::string& m : g.members) {
        const std::uint32_t f = ent.find_field(m);
        if (f != kNone && ent.fields[f].group == gi) def.members.push_back(f);
      }
      if (def.members.size() != g.members.size()) continue;
      ExprCompiler c(s_, ei, options_, &diags_);
      c.restrict_to(def.members);
      for (const ast::GroupRule& r : g.rules) {
        const auto out = std::find(g.members.begin(), g.members.end(), r.member);
        if (out == g.members.end()) {
          error(r.loc, "'" + r.member + "' is not a member of cycle group " + g.name);
          continue;
        }
        GroupRuleDef rule;
        rule.output = static_cast<std::uint32_t>(out - g.members.begin());
        rule.is_default = r.is_default;
        rule.text = r.member;
        if (!c.compile(*r.value, &rule.formula)) continue;
        const FieldDef& target = ent.fields[def.members[rule.output]];
        if (!(rule.formula.type == target.type ||
              (target.type == Type::real && rule.formula.type == Type::integer))) {
          error(r.value->loc, "member " + target.name + " is " + type_name(target.type) +
                                  " but this rule gives " + type_name(rule.formula.type));
          continue;
        }
        for (std::uint32_t local : rule.formula.slots) {
          const auto it =
              std::find_if(def.members.begin(), def.members.end(),
                           [&](std::uint32_t m) { return ent.field_local(m) == local; });
          rule.inputs.push_back(static_cast<std::uint32_t>(it - def.members.begin()));
        }
        if (std::find(rule.inputs.begin(), rule.inputs.end(), rule.output) != rule.inputs.end()) {
          error(r.loc, "the rule for " + r.member + " reads " + r.member +
                                  ": a rule computes its member from the other members");
          continue;
        }
        def.rules.push_back(std::move(rule));
      }
      // The engine's bounds (cycle_resolution.hpp), so a record never fails to be created.
      if (def.members.size() > kGroupMembersMax) {
        error(g.loc, "cycle group " + g.name + " has " + std::to_string(def.members.size()) +
                         " members; the engine resolves groups of at most " +
                         std::to_string(kGroupMembersMax));
      }
      if (def.rules.size() > kGroupFormulasMax) {
        error(g.loc, "cycle group " + g.name + " has " + std::to_string(def.rules.size()) +
                         " rules; the engine resolves groups of at most " +
                         std::to_string(kGroupFormulasMax));
      }
      def.dispatcher_local = ent.local_count++;
      ent.groups.push_back(std::move(def));
    }
  }

  // Depth-first over own-field reads: an edge back to a field on the stack is an
  // immediate cycle (the same record would need its own value). Post-order gives
  // the creation order, dependencies first.
  void order(std::uint32_t ei) {
    EntityDef& ent = s_.entities[ei];
    const std::size_t n = ent.fields.size();
    std::vector<int> state(n, 0);  // 0 new, 1 on stack, 2 done
    std::vector<std::uint32_t> stack;
    std::function<bool(std::uint32_t)> visit = [&](std::uint32_t f) {
      if (state[f] == 2) return true;
      if (state[f] == 1) {
        std::string path;
        const auto from = std::find(stack.begin(), stack.end(), f);
        for (auto it = from; it != stack.end(); ++it)
          path += ent.name + "." + ent.fields[*it].name + " -> ";
        path += ent.name + "." + ent.fields[f].name;
        return error(ent.fields[f].loc, "immediate cycle: " + path);
      }
      state[f] = 1;
      stack.push_back(f);
      for (std::uint32_t d : own_deps_[ei][f]) {
        if (!visit(d)) return false;
      }
      stack.pop_back();
      state[f] = 2;
      const FieldKind k = ent.fields[f].kind;
      if (k == FieldKind::derived || k == FieldKind::effect) ent.creation_order.push_back(f);
      return true;
    };
    for (std::uint32_t f = 0; f < n; ++f) {
      stack.clear();
      if (!visit(f)) return;
    }
  }

  struct LinkDecl {
    std::uint32_t entity, relation, link_entity;
    bool symmetric;
  };
  std::vector<LinkDecl> links_;
  Schema& s_;
  const CompileOptions& options_;
  std::vector<Diagnostic> diags_;
  std::vector<std::vector<std::vector<std::uint32_t>>> own_deps_;
  /// A field's timing reads the clock: the global entity gets Schema::clock_field.
  bool needs_clock_ = false;
};

}  // namespace

const char* type_name(Type type) {
  switch (type) {
    case Type::null:
      return "null";
    case Type::boolean:
      return "bool";
    case Type::integer:
      return "int";
    case Type::real:
      return "float";
    case Type::string:
      return "string";
    case Type::tensor:
      return "tensor";
  }
  return "?";
}

Value zero_of(Type type) {
  switch (type) {
    case Type::boolean:
      return Value(false);
    case Type::integer:
      return Value(std::int64_t{0});
    case Type::real:
      return Value(0.0);
    case Type::string:
      return Value("");
    case Type::tensor:
      return Tensor::vector({});
    default:
      return Value();
  }
}

Result<Value> coerce(const Value& v, Type type) {
  switch (type) {
    case Type::boolean:
      if (v.is_bool()) return v;
      break;
    case Type::integer:
      if (v.is_int()) return v;
      break;
    case Type::real:
      if (v.is_double()) return v;
      if (v.is_int()) return Value(static_cast<double>(v.as_int()));
      break;
    case Type::string:
      if (v.is_string()) return v;
      break;
    case Type::tensor:
      if (v.is_tensor()) return v;
      break;
    case Type::null:
      return v;
  }
  return Status(StatusCode::invalid_argument,
                std::string("expected ") + type_name(type) + ", got " + v.to_json());
}

std::chrono::milliseconds RetryPolicy::delay_after(std::uint32_t attempt) const {
  // Multiplied step by step and capped each time, so that no power overflows.
  double ms = static_cast<double>(initial.count());
  const double cap = static_cast<double>(max_delay.count());
  for (std::uint32_t k = 1; k < attempt && ms < cap; ++k) ms *= multiplier;
  return std::chrono::milliseconds(static_cast<std::int64_t>(std::min(ms, cap)));
}

Status RetryPolicy::check() const {
  auto bad = [](std::string what) {
    return Status(StatusCode::invalid_argument, std::move(what));
  };
  const auto ms = [](std::chrono::milliseconds d) { return std::to_string(d.count()) + " ms"; };
  if (initial < kRetryDelayMin || initial > kRetryDelayMax) {
    return bad("initial delay " + ms(initial) + " is outside [" + ms(kRetryDelayMin) + ", " +
               ms(kRetryDelayMax) + "]");
  }
  if (!(multiplier >= kRetryMultiplierMin && multiplier <= kRetryMultiplierMax)) {
    return bad("multiplier " + std::to_string(multiplier) + " is outside [1, 100]");
  }
  if (max_delay < initial || max_delay > kRetryDelayMax) {
    return bad("max delay " + ms(max_delay) + " is outside [the initial delay " + ms(initial) +
               ", " + ms(kRetryDelayMax) + "]");
  }
  if (max_attempts < 1 || max_attempts > kRetryAttemptsMax) {
    return bad("max attempts " + std::to_string(max_attempts) + " is outside [1, " +
               std::to_string(kRetryAttemptsMax) + "]");
  }
  if (mode > DeliveryMode::counted) {
    return bad("delivery mode " + std::to_string(static_cast<int>(mode)) + " is unknown");
  }
  return Status::ok();
}

const char* delivery_mode_name(DeliveryMode mode) {
  switch (mode) {
    case DeliveryMode::acknowledged:
      return "acknowledged";
    case DeliveryMode::fire_and_forget:
      return "fire_and_forget";
    case DeliveryMode::counted:
      return "counted";
  }
  return "unknown";
}

std::optional<DeliveryMode> delivery_mode_named(std::string_view name) {
  for (const DeliveryMode mode :
       {DeliveryMode::acknowledged, DeliveryMode::fire_and_forget, DeliveryMode::counted}) {
    if (name == delivery_mode_name(mode)) return mode;
  }
  return std::nullopt;
}

const char* timing_name(Timing timing) {
  static constexpr const char* kNames[] = {"immediate", "on_completion", "conditional", "temporal",
                                           "batched"};
  return kNames[static_cast<int>(timing)];
}

const char* field_kind_name(FieldKind kind) {
  static constexpr const char* kNames[] = {"state", "derived", "effect", "member"};
  return kNames[static_cast<int>(kind)];
}

const char* agg_name(AggOp op) {
  static constexpr const char* kNames[] = {"count", "sum", "avg", "min", "max", "any", "every"};
  return kNames[static_cast<int>(op)];
}

namespace {

/// The first of `items` named `n`: in `index` (covering items[0, indexed)), else by a scan
/// of the rest.
template <typename Items>
std::uint32_t find_name(const NameIndex& index, std::uint32_t indexed, const Items& items,
                        std::string_view n) {
  if (const auto it = index.find(n); it != index.end()) return it->second;
  for (std::uint32_t i = indexed; i < items.size(); ++i) {
    if (items[i].name == n) return i;
  }
  return kNone;
}

/// Adds items[*indexed, size) to `index`; an earlier item of the same name stays.
template <typename Items>
void index_items(NameIndex* index, std::uint32_t* indexed, const Items& items) {
  for (; *indexed < items.size(); ++*indexed) index->emplace(items[*indexed].name, *indexed);
}

}  // namespace

std::uint32_t EntityDef::find_field(std::string_view n) const {
  return find_name(field_names, indexed_fields, fields, n);
}

std::uint32_t EntityDef::find_relation(std::string_view n) const {
  return find_name(relation_names, indexed_relations, relations, n);
}

void EntityDef::index_names() {
  index_items(&field_names, &indexed_fields, fields);
  index_items(&relation_names, &indexed_relations, relations);
}

std::uint32_t Schema::find_entity(std::string_view n) const {
  return find_name(entity_names, indexed_entities, entities, n);
}

void Schema::index_names() { index_items(&entity_names, &indexed_entities, entities); }

Result<std::shared_ptr<const Schema>> compile_schema(const SourceFile& file,
                                                     CompileOptions options) {
  Result<ast::Schema> parsed = parse_schema(file);
  if (!parsed.is_ok()) return parsed.status();
  ast::Schema tree = std::move(parsed).value();
  auto schema = std::make_shared<Schema>();
  schema->source = file;
  Checker checker(*schema, options);
  if (!checker.run(tree)) {
    return Status(StatusCode::invalid_argument, format_diagnostics(file, checker.diagnostics()));
  }
  return std::shared_ptr<const Schema>(std::move(schema));
}

}  // namespace mgraph::schema
