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

#include "compiler.hpp"
#include "ops.hpp"

namespace mgraph::schema {
namespace {

bool numeric(Type t) { return t == Type::integer || t == Type::real; }
bool bag(AccKind k) { return k == AccKind::min || k == AccKind::max; }

/// Whether two patterns walk the same relations from the formula's record.
bool same_path(const std::vector<Step>& a, const std::vector<Step>& b) {
  return std::equal(a.begin(), a.end(), b.begin(), b.end(),
                    [](const Step& x, const Step& y) { return x.relation == y.relation; });
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
    walk_path(fr, acc.prefix, 0, fr.record(), [&](std::uint64_t id) {
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
  const EntityDef& end = schema_.entities[path.back().target];
  auto source = [&](std::uint32_t field) {
    if (!trailing) return schema_.entities[member].field_local(field);
    const Type t = field == kNone ? Type::boolean : end.fields[field].type;
    return through(member, {path.begin() + static_cast<std::ptrdiff_t>(j), path.end()},
                   field == kNone ? kNone : end.field_local(field), Value(), t);
  };
  switch (q.kind) {
    case AccKind::members:
      def.kind = trailing ? AccKind::present : AccKind::members;
      if (trailing) def.source = source(q.field);
      break;
    case AccKind::product: {
      const std::uint32_t x = source(q.field), w = source(q.weight);
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
      def.source = source(q.field);
  }
  return accumulator(ent, std::move(def));
}

ExprCompiler::Accumulated ExprCompiler::accumulated(const std::vector<Step>& path,
                                                    const std::vector<Quantity>& qs) {
  std::size_t k = 0;
  while (!path[k].many) ++k;
  Accumulated acc;
  acc.own = k == 0;
  const std::uint32_t owner = acc.own ? entity_ : path[k - 1].target;
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

Eval ExprCompiler::scan(const std::vector<Step>& path, std::uint32_t local, AggOp op, bool ints) {
  current_->tracked = true;
  read_elsewhere(path.back().target, local);
  return [path, local, op, ints](Frame& fr) {
    std::int64_t n = 0, isum = 0;
    double sum = 0;
    Value best;
    walk_path(fr, path, 0, fr.record(), [&](std::uint64_t id) {
      ++n;
      if (local == kNone) return;
      const Value v = fr.read(id, local);
      if (ints) {
        isum = ops::add_wrapping(isum, v.is_int() ? v.as_int() : 0);
      } else {
        sum += ops::num(v);
      }
      if (op == AggOp::min || op == AggOp::max) {
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

bool ExprCompiler::aggregate(const ast::Expr& e, AggOp op, const Typed& arg, Typed* out) {
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
  const EntityDef& target = schema_.entities[arg.path.back().target];
  const std::uint32_t field = op == AggOp::count ? kNone : arg.field;
  const bool has_many =
      std::any_of(arg.path.begin(), arg.path.end(), [](const Step& s) { return s.many; });
  if (!options_.incremental_aggregates || !has_many) {
    // Without a many-hop the pattern reaches at most one record: its scan is O(1).
    out->eval = scan(arg.path, field == kNone ? kNone : target.field_local(field), op,
                     elem == Type::integer);
    return true;
  }
  // Count counts the members the whole path reaches, so it follows the field's hops too.
  const Quantity count{AccKind::members, arg.field};
  const Quantity sum{AccKind::sum, arg.field};
  switch (op) {
    case AggOp::count:
      out->eval = combined(accumulated(arg.path, {count}),
                           [](const Value* v) { return Value(ops::integer(v[0])); });
      break;
    case AggOp::sum: {
      Accumulated acc = accumulated(arg.path, {sum});
      if (acc.own) {
        out->eval = [k = acc.slots[0]](Frame& f) { return f.slot(k); };  // the hot case
      } else {
        out->eval = combined(std::move(acc), [](const Value* v) { return v[0]; });
      }
      break;
    }
    case AggOp::avg:
      out->eval = combined(accumulated(arg.path, {count, sum}), [](const Value* v) {
        const double n = ops::num(v[0]);
        return Value(n == 0 ? 0.0 : ops::num(v[1]) / n);
      });
      break;
    case AggOp::any:
      out->eval = combined(accumulated(arg.path, {sum}),
                           [](const Value* v) { return Value(ops::num(v[0]) > 0); });
      break;
    case AggOp::every:
      out->eval = combined(accumulated(arg.path, {count, sum}),
                           [](const Value* v) { return Value(ops::num(v[1]) == ops::num(v[0])); });
      break;
    default: {
      // Without members the multiset is empty: the accumulator is null, the result 0.
      const Value zero = zero_of(elem);
      const Quantity best{op == AggOp::min ? AccKind::min : AccKind::max, arg.field};
      out->eval = combined(accumulated(arg.path, {best}),
                           [zero](const Value* v) { return v[0].is_null() ? zero : v[0]; });
    }
  }
  return true;
}

bool ExprCompiler::wavg(const ast::Expr& e, Typed* out) {
  if (e.args.size() != 2) return error(e.loc, "wavg(values, weights) takes two patterns");
  Typed v, w;
  if (!expr(*e.args[0], &v) || !expr(*e.args[1], &w)) return false;
  if (v.kind != Typed::Kind::each || w.kind != Typed::Kind::each || v.field == kNone ||
      w.field == kNone || !numeric(v.type) || !numeric(w.type) || !same_path(v.path, w.path)) {
    return error(e.loc,
                 "wavg takes two numeric patterns over the same collection, e.g. "
                 "wavg(items[*].price, items[*].qty)");
  }
  out->type = Type::real;
  out->constant = false;
  out->kind = Typed::Kind::value;
  const bool has_many =
      std::any_of(v.path.begin(), v.path.end(), [](const Step& s) { return s.many; });
  if (options_.incremental_aggregates && has_many) {
    const Quantity numerator{AccKind::product, v.field, w.field};
    const Quantity weights{AccKind::sum, w.field};
    out->eval = combined(accumulated(v.path, {numerator, weights}), [](const Value* x) {
      const double den = ops::num(x[1]);
      return Value(den == 0 ? 0.0 : ops::num(x[0]) / den);
    });
    return true;
  }
  current_->tracked = true;
  const EntityDef& target = schema_.entities[v.path.back().target];
  const std::uint32_t lv = target.field_local(v.field), lw = target.field_local(w.field);
  read_elsewhere(v.path.back().target, lv);
  read_elsewhere(v.path.back().target, lw);
  out->eval = [path = v.path, lv, lw](Frame& fr) {
    double num = 0, den = 0;
    walk_path(fr, path, 0, fr.record(), [&](std::uint64_t id) {
      const double wt = ops::num(fr.read(id, lw));
      num += wt * ops::num(fr.read(id, lv));
      den += wt;
    });
    return Value(den == 0 ? 0.0 : num / den);
  };
  return true;
}

}  // namespace mgraph::schema
