// Aggregates over patterns: compiled into accumulators (AggregateDef) that records keep
// incrementally, one per level of a nested pattern, or into a scan of the collection
// (the full-recompute path, CompileOptions::incremental_aggregates = false).
//
// A pattern is a path of relation hops from the formula's record. Its accumulators live
// on the record that owns the first many-hop: leading one-hops are followed when the
// formula runs (tracked, O(1)). Each many-hop adds a level: the accumulator of the level
// combines, over the members, either the members' fields (last many-hop), the fields
// read through trailing one-hops (a hidden node per member), or the members' own
// accumulators for the rest of the path (nested patterns). Counts and sums add up across
// levels, min and max take the min and max of the levels below, wavg carries its
// numerator and the sum of the weights.

#include <algorithm>
#include <cstdio>

#include "compiler.hpp"
#include "ops.hpp"

namespace mgraph::schema {
namespace {

bool bag(AccKind k) { return k == AccKind::min || k == AccKind::max; }

/// Whether two patterns walk the same relations from the formula's record.
bool same_path(const std::vector<Step>& a, const std::vector<Step>& b) {
  return std::equal(a.begin(), a.end(), b.begin(), b.end(),
                    [](const Step& x, const Step& y) { return x.relation == y.relation; });
}

/// `e` as source text, for the names of hidden nodes (`price where qty > 0`). Its depth
/// is the tree's height, which the parser bounds.
void append_text(const ast::Expr& e, std::string* out) {
  auto arg = [&](std::size_t i) { append_text(*e.args[i], out); };
  switch (e.kind) {
    case ast::ExprKind::literal:
      if (e.literal.is_bool()) {
        *out += e.literal.as_bool() ? "true" : "false";
      } else if (e.literal.is_int()) {
        *out += std::to_string(e.literal.as_int());
      } else if (e.literal.is_double()) {
        char buf[32];
        std::snprintf(buf, sizeof buf, "%g", e.literal.as_double());
        *out += buf;
      } else if (e.literal.is_string()) {
        *out += '"';
        *out += e.literal.as_string();
        *out += '"';
      } else {
        *out += "null";
      }
      return;
    case ast::ExprKind::name:
    case ast::ExprKind::self:
      *out += e.text;
      return;
    case ast::ExprKind::member:
      arg(0);
      *out += '.';
      *out += e.text;
      return;
    case ast::ExprKind::each:
      arg(0);
      *out += "[*]";
      return;
    case ast::ExprKind::unary:
      *out += e.text == "not" ? "not " : "-";
      arg(0);
      return;
    case ast::ExprKind::binary:
    case ast::ExprKind::filter:
      *out += '(';
      arg(0);
      *out += ' ';
      *out += e.text;
      *out += ' ';
      arg(1);
      *out += ')';
      return;
    case ast::ExprKind::cond:
      *out += "(if ";
      arg(0);
      *out += " then ";
      arg(1);
      *out += " else ";
      arg(2);
      *out += ')';
      return;
    case ast::ExprKind::call:
    case ast::ExprKind::list:
      *out += e.kind == ast::ExprKind::call ? e.text + "(" : std::string("[");
      for (std::size_t i = 0; i < e.args.size(); ++i) {
        if (i > 0) *out += ", ";
        arg(i);
      }
      *out += e.kind == ast::ExprKind::call ? ')' : ']';
      return;
  }
}

/// The formula reading accumulators `acc` and combining their values with `combine`.
template <class Combine>
Eval combined(ExprCompiler::Accumulated acc, Combine combine) {
  constexpr std::size_t kQuantitiesMax = 2;
  MG_ASSERT(acc.slots.size() <= kQuantitiesMax && acc.locals.size() <= kQuantitiesMax);
  if (acc.own && acc.slots.size() == 1) {
    return [k = acc.slots[0], combine](Frame& fr) {
      const Value v = fr.slot(k);
      return combine(&v);
    };
  }
  if (acc.own) {
    return [slots = std::move(acc.slots), combine](Frame& fr) {
      Value v[kQuantitiesMax];
      for (std::size_t j = 0; j < slots.size(); ++j) v[j] = fr.slot(slots[j]);
      return combine(v);
    };
  }
  return [acc = std::move(acc), combine](Frame& fr) {
    Value v[kQuantitiesMax];
    for (std::size_t j = 0; j < acc.locals.size(); ++j) v[j] = acc.zeros[j];
    walk_path(fr, acc.prefix, 0, acc.start != 0 ? acc.start : fr.record(), [&](std::uint64_t id) {
      for (std::size_t j = 0; j < acc.locals.size(); ++j) v[j] = fr.read(id, acc.locals[j]);
    });
    return combine(v);
  };
}

}  // namespace

const char* acc_kind_name(AccKind kind) {
  static constexpr const char* kNames[] = {"count", "present", "sum", "product", "min", "max"};
  return kNames[static_cast<int>(kind)];
}

bool ExprCompiler::computed_local(std::uint32_t ent, std::uint32_t local) const {
  const EntityDef& e = schema_.entities[ent];
  if (local >= 1 && local <= e.fields.size()) return e.fields[local - 1].kind != FieldKind::state;
  for (const AggregateDef& a : e.aggregates) {
    if (a.local == local) return a.computed;
  }
  return true;  // a hidden node
}

Type ExprCompiler::local_type(std::uint32_t ent, std::uint32_t local) const {
  const EntityDef& e = schema_.entities[ent];
  if (local >= 1 && local <= e.fields.size()) return e.fields[local - 1].type;
  for (const AggregateDef& a : e.aggregates) {
    if (a.local == local) return a.type;
  }
  for (const HiddenDef& h : e.hidden) {
    if (h.local == local) return h.formula.type;
  }
  MG_ASSERT_MSG(false, "local_type of a local that is no field, accumulator or hidden node");
  return Type::null;
}

std::string ExprCompiler::local_name(std::uint32_t ent, std::uint32_t local) const {
  const EntityDef& e = schema_.entities[ent];
  if (local == kNone) return "";
  if (local >= 1 && local <= e.fields.size()) return e.fields[local - 1].name;
  for (const AggregateDef& a : e.aggregates) {
    if (a.local == local) return a.name;
  }
  for (const HiddenDef& h : e.hidden) {
    if (h.local == local) return h.name;
  }
  std::string out = "#";
  out += std::to_string(local);
  return out;
}

std::uint32_t ExprCompiler::accumulator(std::uint32_t ent, AggregateDef def) {
  const RelationDef& rel = schema_.entities[ent].relations[def.relation];
  MG_ASSERT(rel.many);
  const std::uint32_t member = rel.target;
  const bool has_source = def.kind != AccKind::members;
  def.computed = has_source && (computed_local(member, def.source) ||
                                (def.weight != kNone && computed_local(member, def.weight)));
  switch (def.kind) {
    case AccKind::members:
    case AccKind::present:
      def.type = Type::integer;
      break;
    case AccKind::product:
      def.type = Type::real;
      break;
    default:
      def.type = local_type(member, def.source) == Type::real ? Type::real : Type::integer;
  }
  // Appended piece by piece: g++ 12 warns falsely (-Wrestrict) about chains of `+`.
  def.name = rel.name;
  def.name += '.';
  def.name += acc_kind_name(def.kind);
  if (has_source) {
    def.name += '(';
    def.name += local_name(member, def.source);
    if (def.weight != kNone) {
      def.name += " * ";
      def.name += local_name(member, def.weight);
    }
    def.name += ')';
  }
  EntityDef& e = schema_.entities[ent];
  for (const AggregateDef& a : e.aggregates) {
    if (a.kind == def.kind && a.relation == def.relation && a.source == def.source &&
        a.weight == def.weight) {
      return a.local;
    }
  }
  def.local = e.local_count++;
  e.aggregates.push_back(std::move(def));
  return e.aggregates.back().local;
}

std::uint32_t ExprCompiler::through(std::uint32_t ent, std::vector<Step> hops, std::uint32_t local,
                                    Value zero, Type type) {
  MG_ASSERT(!hops.empty());
  const EntityDef& owner = schema_.entities[ent];
  std::string name = owner.relations[hops[0].relation].name;
  for (std::size_t k = 1; k < hops.size(); ++k) {
    name += '.';
    name += schema_.entities[hops[k - 1].target].relations[hops[k].relation].name;
  }
  if (local != kNone) {
    name += '.';
    name += local_name(hops.back().target, local);
  }
  for (const HiddenDef& h : owner.hidden) {
    if (h.name == name) return h.local;
  }
  read_elsewhere(hops.back().target, local);
  HiddenDef h;
  h.name = std::move(name);
  h.formula.tracked = true;
  h.formula.type = type;
  h.formula.eval = [hops = std::move(hops), local, zero = std::move(zero)](Frame& fr) {
    Value v = zero;
    walk_path(fr, hops, 0, fr.record(),
              [&](std::uint64_t id) { v = local == kNone ? Value(true) : fr.read(id, local); });
    return v;
  };
  EntityDef& e = schema_.entities[ent];
  h.local = e.local_count++;
  e.hidden.push_back(std::move(h));
  return e.hidden.back().local;
}

bool ExprCompiler::mentions_link(const ast::Expr& e) {
  if (e.kind == ast::ExprKind::name) return e.text == "link";
  // A nested aggregate's condition is about its own members' links.
  if (e.kind == ast::ExprKind::filter) return mentions_link(*e.args[0]);
  // A member's text is a name after a dot (`x.link`), not the link of this condition.
  return std::any_of(e.args.begin(), e.args.end(),
                     [](const auto& a) { return mentions_link(*a); });
}

std::uint32_t ExprCompiler::filtered(std::uint32_t ent, std::uint32_t local,
                                     const ast::Expr& where, bool keep_null,
                                     std::uint32_t link_other) {
  ExprCompiler sub(schema_, ent, options_, diags_);
  sub.link_other_ = link_other;
  CompiledFormula cond;
  if (!sub.compile(where, &cond)) return kNone;
  const EntityDef& e = schema_.entities[ent];
  if (cond.type != Type::boolean) {
    const std::string over =
        link_other != kNone ? schema_.entities[e.relations[link_other].target].name + " and its link"
                            : e.name;
    error(where.loc, std::string("'where' needs a bool condition over the fields of ") + over +
                         ", got " + type_name(cond.type));
    return kNone;
  }
  std::string name = local == kNone ? std::string("exists") : local_name(ent, local);
  name += " where ";
  std::string text;
  append_text(where, &text);
  // The outer parentheses of a binary condition say nothing in a name.
  if (where.kind == ast::ExprKind::binary) text = text.substr(1, text.size() - 2);
  name += text;
  // A null value of a nullable field counts as 0 where the condition holds (count, sum,
  // avg, any, every), and as no value for min and max.
  const bool is_field = local != kNone && local >= 1 && local <= e.fields.size();
  const bool zero_null = !keep_null && is_field && e.fields[local - 1].nullable;
  if (zero_null) name += " (null as 0)";
  for (const HiddenDef& h : e.hidden) {
    if (h.name == name) return h.local;
  }
  HiddenDef h;
  h.name = std::move(name);
  h.formula = std::move(cond);
  h.formula.type = local == kNone ? Type::boolean : local_type(ent, local);
  std::uint32_t k = kNone;
  if (local != kNone) {
    // The value's slot, shared with the condition when it reads the field too.
    auto& slots = h.formula.slots;
    const auto it = std::find(slots.begin(), slots.end(), local);
    k = static_cast<std::uint32_t>(it - slots.begin());
    if (it == slots.end()) slots.push_back(local);
  }
  h.formula.eval = [holds = std::move(h.formula.eval), k,
                    zero = zero_null ? zero_of(h.formula.type) : Value()](Frame& fr) {
    if (!ops::truthy(holds(fr))) return Value();
    if (k == kNone) return Value(true);
    Value v = fr.slot(k);
    return v.is_null() ? zero : v;
  };
  EntityDef& owner = schema_.entities[ent];
  h.local = owner.local_count++;
  owner.hidden.push_back(std::move(h));
  return owner.hidden.back().local;
}

std::uint32_t ExprCompiler::product(std::uint32_t ent, std::uint32_t x, std::uint32_t w) {
  std::string name = local_name(ent, x);
  name += " * ";
  name += local_name(ent, w);
  for (const HiddenDef& h : schema_.entities[ent].hidden) {
    if (h.name == name) return h.local;
  }
  HiddenDef h;
  h.name = name;
  h.formula.type = Type::real;
  h.formula.slots = {x};
  if (w != x) h.formula.slots.push_back(w);
  const std::uint32_t kw = w == x ? 0 : 1;
  h.formula.eval = [kw](Frame& fr) { return Value(ops::num(fr.slot(0)) * ops::num(fr.slot(kw))); };
  EntityDef& e = schema_.entities[ent];
  h.local = e.local_count++;
  e.hidden.push_back(std::move(h));
  return e.hidden.back().local;
}

std::uint32_t ExprCompiler::level(std::uint32_t ent, const std::vector<Step>& path, std::size_t i,
                                  const Quantity& q) {
  MG_ASSERT(i < path.size());
  if (!path[i].many) {
    // One-hops between two many-hops: the record they reach keeps the rest of the path,
    // and a hidden node of `ent` reads it through them.
    std::size_t k = i;
    while (k < path.size() && !path[k].many) ++k;
    MG_ASSERT(k < path.size());
    const std::uint32_t reached = path[k - 1].target;
    const std::uint32_t inner = level(reached, path, k, q);
    const Type t = local_type(reached, inner);
    return through(ent,
                   {path.begin() + static_cast<std::ptrdiff_t>(i),
                    path.begin() + static_cast<std::ptrdiff_t>(k)},
                   inner, bag(q.kind) ? Value() : zero_of(t), t);
  }
  const std::uint32_t member = path[i].target;
  const std::size_t j = i + 1;
  const bool last_many = std::none_of(path.begin() + static_cast<std::ptrdiff_t>(j), path.end(),
                                      [](const Step& s) { return s.many; });
  AggregateDef def;
  def.relation = path[i].relation;
  if (!last_many) {
    // A nested pattern: combine the members' accumulators for the rest of the path.
    def.source = level(member, path, j, q);
    def.kind = bag(q.kind) ? q.kind : AccKind::sum;
    return accumulator(ent, std::move(def));
  }
  // The members' fields, or what trailing one-hops reach from them (null when unlinked,
  // which counts as no member, as a scan that cannot follow the hop).
  const bool trailing = j < path.size();
  // A filtered quantity reads the end entity's hidden node instead of the field: null
  // where the condition does not hold, which counts as no member too.
  auto source = [&](std::uint32_t local, std::uint32_t filter) {
    const std::uint32_t at_end = filter != kNone ? filter : local;
    if (!trailing) return at_end;
    const Type t = at_end == kNone ? Type::boolean : local_type(path.back().target, at_end);
    return through(member, {path.begin() + static_cast<std::ptrdiff_t>(j), path.end()}, at_end,
                   Value(), t);
  };
  switch (q.kind) {
    case AccKind::members: {
      const bool some = trailing || q.filtered != kNone;
      def.kind = some ? AccKind::present : AccKind::members;
      if (some) def.source = source(q.field, q.filtered);
      break;
    }
    case AccKind::product: {
      const std::uint32_t x = source(q.field, kNone), w = source(q.weight, kNone);
      if (!computed_local(member, x) && !computed_local(member, w)) {
        def.kind = AccKind::product;
        def.source = x;
        def.weight = w;
      } else {
        // Computed factors: a hidden node per member multiplies them, and their sum is
        // an incremental field.
        def.kind = AccKind::sum;
        def.source = product(member, x, w);
      }
      break;
    }
    default:
      def.kind = q.kind;
      def.source = source(q.field, q.filtered);
  }
  return accumulator(ent, std::move(def));
}

ExprCompiler::Accumulated ExprCompiler::accumulated(const std::vector<Step>& path,
                                                    const std::vector<Quantity>& qs,
                                                    bool from_global) {
  std::size_t k = 0;
  while (!path[k].many) ++k;
  Accumulated acc;
  // A pattern from the global record: the accumulators are the global record's, read by
  // every formula of another entity through its fixed id.
  acc.own = k == 0 && !from_global;
  if (from_global) acc.start = kGlobalRecord;
  const std::uint32_t owner = k == 0 ? (from_global ? schema_.global_entity : entity_)
                                     : path[k - 1].target;
  for (const Quantity& q : qs) {
    const std::uint32_t local = level(owner, path, k, q);
    if (acc.own) {
      acc.slots.push_back(slot_of(local));
      continue;
    }
    const Type t = local_type(owner, local);
    read_elsewhere(owner, local);
    acc.locals.push_back(local);
    acc.zeros.push_back(bag(q.kind) ? Value() : zero_of(t));
  }
  if (!acc.own) {
    current_->tracked = true;
    acc.prefix.assign(path.begin(), path.begin() + static_cast<std::ptrdiff_t>(k));
  }
  return acc;
}

Eval ExprCompiler::scan(const std::vector<Step>& path, std::uint32_t local, AggOp op, bool ints,
                        bool filtered, bool from_global) {
  current_->tracked = true;
  read_elsewhere(path.back().target, local);
  if (from_global) read_elsewhere(schema_.global_entity, path[0].local);
  return [path, local, op, ints, filtered, from_global](Frame& fr) {
    std::int64_t n = 0, isum = 0;
    double sum = 0;
    Value best;
    const std::uint64_t start = from_global ? kGlobalRecord : fr.record();
    walk_path(fr, path, 0, start, [&](std::uint64_t id) {
      if (local == kNone) {
        ++n;
        return;
      }
      const Value v = fr.read(id, local);
      if (filtered && v.is_null()) return;  // the member's condition does not hold
      ++n;
      if (filtered && op == AggOp::count) return;
      if (ints) {
        isum = ops::add_wrapping(isum, v.is_int() ? v.as_int() : 0);
      } else {
        sum += ops::num(v);
      }
      if ((op == AggOp::min || op == AggOp::max) && !v.is_null()) {  // null: no value
        if (best.is_null() ||
            (op == AggOp::min ? ops::num(v) < ops::num(best) : ops::num(v) > ops::num(best))) {
          best = v;
        }
      }
    });
    const double total = ints ? static_cast<double>(isum) : sum;
    switch (op) {
      case AggOp::count:
        return Value(n);
      case AggOp::sum:
        return ints ? Value(isum) : Value(sum);
      case AggOp::avg:
        return Value(n == 0 ? 0.0 : total / static_cast<double>(n));
      case AggOp::any:
        return Value(total > 0);
      case AggOp::every:
        return Value(total == static_cast<double>(n));
      default:
        return best.is_null() ? (ints ? Value(std::int64_t{0}) : Value(0.0)) : best;
    }
  };
}

bool ExprCompiler::aggregate(const ast::Expr& e, AggOp op, const Typed& pattern,
                             const ast::Expr* where, Typed* out, bool not_empty) {
  Typed arg = pattern;
  const bool records_only =
      arg.kind == Typed::Kind::collection || (arg.kind == Typed::Kind::each && arg.field == kNone);
  if (records_only && op != AggOp::count) {
    return error(e.loc, std::string(agg_name(op)) + " needs a field of every member, e.g. " +
                            agg_name(op) + "(items[*].price)");
  }
  const Type elem = arg.type;
  if ((op == AggOp::any || op == AggOp::every) && elem != Type::boolean) {
    return error(e.loc, std::string(agg_name(op)) + " needs bool members, got " + type_name(elem));
  }
  if ((op == AggOp::sum || op == AggOp::avg || op == AggOp::min || op == AggOp::max) &&
      !numeric(elem)) {
    return error(e.loc,
                 std::string(agg_name(op)) + " needs numeric members, got " + type_name(elem));
  }
  out->kind = Typed::Kind::value;
  out->constant = false;
  out->type = op == AggOp::count                         ? Type::integer
              : op == AggOp::avg                         ? Type::real
              : (op == AggOp::any || op == AggOp::every) ? Type::boolean
                                                         : elem;
  // A condition that names the link (`count(items[*] where link.qty > 2)`): the pattern
  // walks the link records, and the condition reads the member through them.
  std::uint32_t link_other = kNone;
  if (where != nullptr) {
    const EntityDef& end = schema_.entities[arg.path.back().target];
    if (end.link_of == kNone && mentions_link(*where) && end.find_field("link") == kNone &&
        end.find_relation("link") == kNone) {
      if (!linkify(&arg, where->loc)) return false;
    }
    if (schema_.entities[arg.path.back().target].link_of != kNone) {
      link_other = schema_.entities[hop_origin(arg)].relations[arg.path.back().relation].link_other;
    }
  }
  const std::uint32_t end_entity = arg.path.back().target;
  const std::uint32_t value = op == AggOp::count ? kNone : value_local(arg);
  // A condition on the members: a hidden node of the end entity holds what the member
  // contributes, or null where the condition does not hold.
  std::uint32_t filter = kNone;
  if (where != nullptr) {
    filter = filtered(end_entity, value, *where, op == AggOp::min || op == AggOp::max, link_other);
    if (filter == kNone) return false;
  }
  const bool has_many =
      std::any_of(arg.path.begin(), arg.path.end(), [](const Step& s) { return s.many; });
  if (!options_.incremental_aggregates || !has_many) {
    // Without a many-hop the pattern reaches at most one record: its scan is O(1).
    const std::uint32_t local = filter != kNone ? filter : value;
    Eval scanned =
        scan(arg.path, local, op, elem == Type::integer, filter != kNone, arg.from_global);
    if (not_empty && op == AggOp::every) {
      // Without members the answer is false: a count of the same members says whether.
      Eval n = scan(arg.path, filter, AggOp::count, false, filter != kNone, arg.from_global);
      scanned = [scanned = std::move(scanned), n = std::move(n)](Frame& fr) {
        return Value(ops::integer(n(fr)) > 0 && ops::truthy(scanned(fr)));
      };
    }
    out->eval = std::move(scanned);
    return true;
  }
  // Count counts the members the whole path reaches, so it follows the field's hops too.
  const std::uint32_t reached = value_local(arg);
  const Quantity count{AccKind::members, reached, kNone, filter};
  const Quantity sum{AccKind::sum, reached, kNone, filter};
  switch (op) {
    case AggOp::count:
      out->eval = combined(accumulated(arg.path, {count}, arg.from_global),
                           [](const Value* v) { return Value(ops::integer(v[0])); });
      break;
    case AggOp::sum: {
      Accumulated acc = accumulated(arg.path, {sum}, arg.from_global);
      if (acc.own) {
        out->eval = [k = acc.slots[0]](Frame& f) { return f.slot(k); };  // the hot case
      } else {
        out->eval = combined(std::move(acc), [](const Value* v) { return v[0]; });
      }
      break;
    }
    case AggOp::avg:
      out->eval = combined(accumulated(arg.path, {count, sum}, arg.from_global), [](const Value* v) {
        const double n = ops::num(v[0]);
        return Value(n == 0 ? 0.0 : ops::num(v[1]) / n);
      });
      break;
    case AggOp::any:
      out->eval = combined(accumulated(arg.path, {sum}, arg.from_global),
                           [](const Value* v) { return Value(ops::num(v[0]) > 0); });
      break;
    case AggOp::every:
      // notEmpty (interaqt's Every): no members is false, not true.
      out->eval = combined(accumulated(arg.path, {count, sum}, arg.from_global),
                           [not_empty](const Value* v) {
        const double n = ops::num(v[0]);
        return Value(ops::num(v[1]) == n && (!not_empty || n > 0));
      });
      break;
    default: {
      // Without members the multiset is empty: the accumulator is null, the result 0.
      const Value zero = zero_of(elem);
      const Quantity best{op == AggOp::min ? AccKind::min : AccKind::max, reached, kNone, filter};
      out->eval = combined(accumulated(arg.path, {best}, arg.from_global),
                           [zero](const Value* v) { return v[0].is_null() ? zero : v[0]; });
    }
  }
  return true;
}

bool ExprCompiler::wavg(const ast::Expr& e, Typed* out, bool sum_only) {
  const char* fn = sum_only ? "wsum" : "wavg";
  if (e.args.size() != 2) return error(e.loc, std::string(fn) + "(values, weights) takes two patterns");
  for (const auto& a : e.args) {
    if (a->kind == ast::ExprKind::filter) {
      return error(a->loc, std::string(fn) +
                               " takes no 'where': divide two filtered sums instead, e.g. "
                               "sum(items[*].amount where c) / sum(items[*].qty where c)");
    }
  }
  Typed v, w;
  if (!expr(*e.args[0], &v) || !expr(*e.args[1], &w)) return false;
  auto usage = [&] {
    return error(e.loc, std::string(fn) +
                            " takes two numeric patterns over the same collection, e.g. " + fn +
                            "(items[*].price, items[*].qty) or " + fn +
                            "(items[*].price, items[*].link.qty)");
  };
  if (v.kind != Typed::Kind::each || w.kind != Typed::Kind::each || v.field == kNone ||
      w.field == kNone || !numeric(v.type) || !numeric(w.type) ||
      v.from_global != w.from_global || v.path.size() != w.path.size()) {
    return usage();
  }
  // One over the members and one over their links (`items[*].price`, `items[*].link.qty`):
  // both walk the links.
  if (!same_path(v.path, w.path)) {
    const bool v_link = schema_.entities[v.path.back().target].link_of != kNone;
    const bool w_link = schema_.entities[w.path.back().target].link_of != kNone;
    if (v_link == w_link) return usage();
    Typed& member = v_link ? w : v;
    const Typed& link = v_link ? v : w;
    const EntityDef& from = schema_.entities[hop_origin(member)];
    if (from.relations[member.path.back().relation].link != link.path.back().relation)
      return usage();
    if (!linkify(&member, e.loc)) return false;
    if (!same_path(v.path, w.path)) return usage();
  }
  out->type = Type::real;
  out->constant = false;
  out->kind = Typed::Kind::value;
  const std::uint32_t lv = value_local(v), lw = value_local(w);
  const bool has_many =
      std::any_of(v.path.begin(), v.path.end(), [](const Step& s) { return s.many; });
  if (options_.incremental_aggregates && has_many) {
    const Quantity numerator{AccKind::product, lv, lw};
    if (sum_only) {
      out->eval = combined(accumulated(v.path, {numerator}, v.from_global),
                           [](const Value* x) { return Value(ops::num(x[0])); });
      return true;
    }
    const Quantity weights{AccKind::sum, lw};
    out->eval = combined(accumulated(v.path, {numerator, weights}, v.from_global),
                         [](const Value* x) {
      const double den = ops::num(x[1]);
      return Value(den == 0 ? 0.0 : ops::num(x[0]) / den);
    });
    return true;
  }
  current_->tracked = true;
  read_elsewhere(v.path.back().target, lv);
  read_elsewhere(v.path.back().target, lw);
  if (v.from_global) read_elsewhere(schema_.global_entity, v.path[0].local);
  out->eval = [path = v.path, lv, lw, global = v.from_global, sum_only](Frame& fr) {
    double num = 0, den = 0;
    walk_path(fr, path, 0, global ? kGlobalRecord : fr.record(), [&](std::uint64_t id) {
      const double wt = ops::num(fr.read(id, lw));
      num += wt * ops::num(fr.read(id, lv));
      den += wt;
    });
    if (sum_only) return Value(num);
    return Value(den == 0 ? 0.0 : num / den);
  };
  return true;
}

}  // namespace mgraph::schema
