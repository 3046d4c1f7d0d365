// Formula compiler: resolves names against the schema, types every sub-expression and
// builds closures. Each closure captures only indices (slots, locals), so evaluation
// never looks a name up.

#include <algorithm>
#include <cmath>
#include <functional>

#include "compiler.hpp"
#include "ops.hpp"

namespace mgraph::schema {
namespace {

/// Evaluates constant operands once, at compile time: they read nothing.
class ConstantFrame final : public Frame {
 public:
  Value slot(std::uint32_t) override { throw ops::FormulaError("a constant reads no field"); }
  Value self() override { throw ops::FormulaError("a constant reads no field"); }
  std::uint64_t record() override { return 0; }
  Value read(std::uint64_t, std::uint32_t) override {
    throw ops::FormulaError("a constant reads no field");
  }
  const std::vector<std::uint64_t>& members(std::uint64_t, std::uint32_t) override {
    throw ops::FormulaError("a constant reads no field");
  }
};

/// A number as ops::arith reads it (ops::num), with the double case inline.
inline double real_of(const Value& v) { return v.is_double() ? v.as_double() : ops::num(v); }

/// An operand of float arithmetic: a folded constant, an own field's slot, or a closure.
struct RealOperand {
  enum class Kind : std::uint8_t { constant, slot, eval };
  Kind kind = Kind::eval;
  double constant = 0;
  std::uint32_t slot = kNone;
  Eval eval;

  double get(Frame& fr) const {
    switch (kind) {
      case Kind::constant:
        return constant;
      case Kind::slot:
        return real_of(fr.slot(slot));
      case Kind::eval:
        break;
    }
    return real_of(eval(fr));
  }
};

RealOperand real_operand(const Typed& t, Eval eval) {
  RealOperand op;
  if (t.constant) {
    try {
      ConstantFrame frame;
      op.constant = real_of(eval(frame));
      op.kind = RealOperand::Kind::constant;
      return op;
    } catch (const ops::FormulaError&) {
      // Left to fail at run time, where the error names the field.
    }
  }
  if (t.slot != kNone) {
    op.kind = RealOperand::Kind::slot;
    op.slot = t.slot;
    return op;
  }
  op.eval = std::move(eval);
  return op;
}

template <class Op>
Eval real_binary(RealOperand x, RealOperand y) {
  return [x = std::move(x), y = std::move(y)](Frame& fr) {
    return Value(Op{}(x.get(fr), y.get(fr)));
  };
}

// Recursion depth of walk_path is the path length, which the parser's depth bounds.
}  // namespace

void walk_path(Frame& frame, const std::vector<Step>& path, std::size_t i, std::uint64_t start,
               const std::function<void(std::uint64_t)>& fn) {
  if (i == path.size()) {
    fn(start);
    return;
  }
  if (!path[i].many) {
    const Value id = frame.read(start, path[i].local);
    if (id.is_int()) walk_path(frame, path, i + 1, static_cast<std::uint64_t>(id.as_int()), fn);
    return;
  }
  for (std::uint64_t m : frame.members(start, path[i].local)) walk_path(frame, path, i + 1, m, fn);
}

bool ExprCompiler::error(SourceLoc loc, std::string message) {
  if (diags_->size() < kDiagnosticsMax) diags_->push_back({loc, std::move(message)});
  return false;
}

std::uint32_t ExprCompiler::slot_of(std::uint32_t local) {
  auto& s = current_->slots;
  auto it = std::find(s.begin(), s.end(), local);
  if (it != s.end()) return static_cast<std::uint32_t>(it - s.begin());
  s.push_back(local);
  return static_cast<std::uint32_t>(s.size() - 1);
}

bool ExprCompiler::compile(const ast::Expr& e, CompiledFormula* out) {
  *out = CompiledFormula{};
  current_ = out;
  own_fields_.clear();
  Typed t;
  if (!value_of(e, &t)) return false;
  out->eval = std::move(t.eval);
  out->type = t.type;
  return true;
}

bool ExprCompiler::value_of(const ast::Expr& e, Typed* out) {
  if (!expr(e, out)) return false;
  switch (out->kind) {
    case Typed::Kind::value:
      return true;
    case Typed::Kind::record:
      return error(e.loc, "a related record is not a value; read one of its fields (rel.field)");
    case Typed::Kind::collection:
    case Typed::Kind::each:
      return error(e.loc,
                   "a collection is not a value; aggregate it, e.g. count(...) or sum(items[*].x)");
  }
  return false;
}

bool ExprCompiler::expr(const ast::Expr& e, Typed* out) {
  out->loc = e.loc;
  out->slot = kNone;
  switch (e.kind) {
    case ast::ExprKind::literal: {
      const Value v = e.literal;
      out->type = v.is_bool()     ? Type::boolean
                  : v.is_int()    ? Type::integer
                  : v.is_double() ? Type::real
                  : v.is_string() ? Type::string
                                  : Type::null;
      out->eval = [v](Frame&) { return v; };
      return true;
    }
    case ast::ExprKind::self: {
      if (restricted_ || self_type_ == Type::null) {
        return error(e.loc, "'self' is only allowed in the formula of a derived field");
      }
      current_->reads_self = true;
      out->type = self_type_;
      out->constant = false;
      out->eval = [](Frame& f) { return f.self(); };
      return true;
    }
    case ast::ExprKind::name:
      return name(e, out);
    case ast::ExprKind::member:
      return member(e, out);
    case ast::ExprKind::each: {
      if (!expr(*e.args[0], out)) return false;
      if (out->kind != Typed::Kind::collection) {
        return error(e.loc, "[*] applies to a many-relation (e.g. items[*])");
      }
      out->kind = Typed::Kind::each;
      return true;
    }
    case ast::ExprKind::unary:
      return unary(e, out);
    case ast::ExprKind::binary:
      return binary(e, out);
    case ast::ExprKind::cond:
      return cond(e, out);
    case ast::ExprKind::list:
      return list(e, out);
    case ast::ExprKind::call:
      return call(e, out);
    case ast::ExprKind::filter:
      return error(e.loc,
                   "'where' filters the members of an aggregate: it goes inside count, sum, "
                   "avg, min, max, any or every, e.g. count(items[*] where price > 10)");
  }
  return false;
}

Typed ExprCompiler::field_value(std::uint32_t field, SourceLoc loc) {
  const EntityDef& ent = schema_.entities[entity_];
  Typed t;
  t.loc = loc;
  t.type = ent.fields[field].type;
  t.constant = false;
  own_fields_.push_back(field);
  const std::uint32_t k = slot_of(ent.field_local(field));
  t.eval = [k](Frame& f) { return f.slot(k); };
  t.slot = k;
  return t;
}

bool ExprCompiler::name(const ast::Expr& e, Typed* out) {
  const EntityDef& ent = schema_.entities[entity_];
  if (link_other_ != kNone) {
    // A `where` over link records: `link` is the link, other names the member's.
    if (e.text == "link") {
      out->kind = Typed::Kind::record;
      out->entity = entity_;
      out->path.clear();
      out->from_global = false;
      out->constant = false;
      return true;
    }
    const RelationDef& other = ent.relations[link_other_];
    const EntityDef& member = schema_.entities[other.target];
    if (member.find_field(e.text) != kNone || member.find_relation(e.text) != kNone) {
      Typed base;
      base.kind = Typed::Kind::record;
      base.entity = other.target;
      base.path = {Step{false, link_other_, ent.relation_local(link_other_), other.target}};
      base.constant = false;
      return member_of(std::move(base), e.text, e.loc, out);
    }
    if (ent.find_field(e.text) != kNone) {
      return error(e.loc, "'" + e.text + "' is a property of the link, not a field of " +
                              member.name + ": write link." + e.text);
    }
  }
  if (e.text == kGlobalEntity) {
    if (schema_.global_entity == kNone) {
      return error(e.loc,
                   "'global' names the global values, and this schema declares none "
                   "(global NAME: TYPE [= ...] at the top level)");
    }
    if (restricted_) return error(e.loc, "a cycle rule may only read members of its group");
    out->kind = Typed::Kind::record;
    out->entity = schema_.global_entity;
    out->path.clear();
    out->from_global = entity_ != schema_.global_entity;
    out->constant = false;
    return true;
  }
  const std::uint32_t f = ent.find_field(e.text);
  if (f != kNone) {
    if (restricted_ && std::find(allowed_.begin(), allowed_.end(), f) == allowed_.end()) {
      return error(e.loc, "a cycle rule may only read members of its group, not '" + e.text + "'");
    }
    *out = field_value(f, e.loc);
    return true;
  }
  const std::uint32_t r = ent.find_relation(e.text);
  if (r != kNone) {
    if (restricted_) return error(e.loc, "a cycle rule may not follow relations");
    const RelationDef& rel = ent.relations[r];
    out->kind = rel.many ? Typed::Kind::collection : Typed::Kind::record;
    out->entity = rel.target;
    out->path = {Step{rel.many, r, ent.relation_local(r), rel.target}};
    out->from_global = false;
    out->constant = false;
    return true;
  }
  // An entity as a whole (`count(Order)`): the global record's relation to all its records.
  if (schema_.global_entity != kNone && schema_.find_entity(e.text) != kNone) {
    const EntityDef& g = schema_.entities[schema_.global_entity];
    const std::uint32_t all = g.find_relation(e.text);
    if (all != kNone && g.relations[all].implicit) {
      if (restricted_) return error(e.loc, "a cycle rule may not aggregate");
      out->kind = Typed::Kind::collection;
      out->entity = g.relations[all].target;
      out->path = {Step{true, all, g.relation_local(all), out->entity}};
      out->from_global = true;
      out->constant = false;
      return true;
    }
  }
  return error(e.loc, "unknown name '" + e.text + "' in entity " + ent.name);
}

bool ExprCompiler::member(const ast::Expr& e, Typed* out) {
  Typed base;
  if (!expr(*e.args[0], &base)) return false;
  return member_of(std::move(base), e.text, e.loc, out);
}

std::uint32_t ExprCompiler::hop_origin(const Typed& t) const {
  MG_ASSERT(!t.path.empty());
  if (t.path.size() >= 2) return t.path[t.path.size() - 2].target;
  return t.from_global ? schema_.global_entity : entity_;
}

std::uint32_t ExprCompiler::value_local(const Typed& t) const {
  if (t.local != kNone) return t.local;
  if (t.field == kNone) return kNone;
  return schema_.entities[t.path.back().target].field_local(t.field);
}

bool ExprCompiler::linkify(Typed* t, SourceLoc loc) {
  const EntityDef& from = schema_.entities[hop_origin(*t)];
  const Step last = t->path.back();
  const RelationDef& rel = from.relations[last.relation];
  if (rel.link == kNone) {
    return error(loc, "'link' names the properties of a relation's links, and " + from.name +
                          "." + rel.name + " has none (declare them as " + rel.name +
                          ": ... via ... { name: type = default })");
  }
  const RelationDef& to_links = from.relations[rel.link];
  const std::uint32_t link_entity = to_links.target;
  t->path.back() = Step{to_links.many, rel.link, from.relation_local(rel.link), link_entity};
  t->entity = link_entity;
  if (t->kind == Typed::Kind::each && t->field != kNone) {
    // The member's field, read through the link's other end by a node of the link record.
    const EntityDef& link = schema_.entities[link_entity];
    const std::uint32_t other = to_links.link_other;
    const std::uint32_t member = link.relations[other].target;
    t->local = through(link_entity, {Step{false, other, link.relation_local(other), member}},
                       schema_.entities[member].field_local(t->field), Value(), t->type);
  }
  return true;
}

bool ExprCompiler::member_of(Typed base, const std::string& text, SourceLoc loc, Typed* out) {
  if (base.kind == Typed::Kind::value) {
    return error(loc, "'." + text + "' needs a related record on its left");
  }
  if (base.kind == Typed::Kind::collection) {
    return error(loc,
                 "use [*] to reach '" + text + "' of every member (e.g. items[*]." + text + ")");
  }
  if (base.kind == Typed::Kind::each && base.field != kNone) {
    return error(loc, "'" + text + "' follows a field, not a record");
  }
  if (text == "link" && !base.path.empty()) {
    // The link of the last hop (`items[*].link.qty`, `order.link.qty`): its properties.
    const EntityDef& from = schema_.entities[hop_origin(base)];
    if (from.relations[base.path.back().relation].link != kNone) {
      if (!linkify(&base, loc)) return false;
      *out = std::move(base);
      out->loc = loc;
      return true;
    }
  }
  const EntityDef& target = schema_.entities[base.entity];
  const std::uint32_t f = target.find_field(text);
  const std::uint32_t r = target.find_relation(text);
  if ((f == kNone && r == kNone) || (r != kNone && target.relations[r].hidden)) {
    if (text == "link" && !base.path.empty()) return linkify(&base, loc);  // its error
    return error(loc, "unknown field '" + text + "' in entity " + target.name);
  }
  if (f != kNone && base.kind == Typed::Kind::record && base.path.empty() && !base.from_global) {
    *out = field_value(f, loc);  // `global.x` in a global formula, `link.qty` in a where
    return true;
  }
  *out = base;
  out->loc = loc;
  if (r != kNone) {
    const RelationDef& rel = target.relations[r];
    out->path.push_back(Step{rel.many, r, target.relation_local(r), rel.target});
    out->entity = rel.target;
    if (rel.many) {
      out->kind = Typed::Kind::collection;
    } else if (base.kind == Typed::Kind::record) {
      out->kind = Typed::Kind::record;
    }
    return true;
  }
  out->type = target.fields[f].type;
  if (base.kind == Typed::Kind::each) {
    out->field = f;
    return true;
  }
  // A field of a related record: follow the one-hops, the zero of its type when unlinked.
  current_->tracked = true;
  out->kind = Typed::Kind::value;
  out->constant = false;
  const std::uint32_t local = target.field_local(f);
  read_elsewhere(base.entity, local);
  const Value zero = zero_of(out->type);
  out->eval = [path = base.path, local, zero, global = base.from_global](Frame& fr) {
    Value v = zero;
    walk_path(fr, path, 0, global ? kGlobalRecord : fr.record(),
              [&](std::uint64_t id) { v = fr.read(id, local); });
    return v;
  };
  return true;
}

bool ExprCompiler::unary(const ast::Expr& e, Typed* out) {
  Typed a;
  if (!value_of(*e.args[0], &a)) return false;
  *out = a;
  out->slot = kNone;  // eval is replaced below
  if (e.text == "not") {
    if (a.type != Type::boolean)
      return error(e.loc, std::string("'not' needs a bool, got ") + type_name(a.type));
    out->eval = [f = std::move(a.eval)](Frame& fr) { return Value(!ops::truthy(f(fr))); };
    return true;
  }
  if (!numeric(a.type) && a.type != Type::tensor) {
    return error(e.loc, std::string("'-' needs a number or a tensor, got ") + type_name(a.type));
  }
  out->eval = [f = std::move(a.eval)](Frame& fr) { return ops::negate(f(fr)); };
  return true;
}

bool ExprCompiler::binary(const ast::Expr& e, Typed* out) {
  Typed a, b;
  const bool ok_a = value_of(*e.args[0], &a);
  const bool ok_b = value_of(*e.args[1], &b);
  if (!ok_a || !ok_b) return false;
  out->constant = a.constant && b.constant;
  const std::string& op = e.text;
  auto mismatch = [&] {
    return error(e.loc, "operator '" + op + "' cannot combine " + type_name(a.type) + " and " +
                            type_name(b.type));
  };
  Eval fa = std::move(a.eval), fb = std::move(b.eval);
  if (op == "and" || op == "or") {
    if (a.type != Type::boolean || b.type != Type::boolean) return mismatch();
    out->type = Type::boolean;
    const bool is_and = op == "and";
    out->eval = [fa, fb, is_and](Frame& fr) {
      const bool x = ops::truthy(fa(fr));
      if (x != is_and) return Value(x);  // short circuit
      return Value(ops::truthy(fb(fr)));
    };
    return true;
  }
  if (op == "==" || op == "!=" || op == "<" || op == "<=" || op == ">" || op == ">=") {
    const bool eq = op == "==" || op == "!=";
    const bool comparable =
        (numeric(a.type) && numeric(b.type)) ||
        (a.type == Type::string && b.type == Type::string) ||
        (eq && (a.type == b.type || a.type == Type::null || b.type == Type::null));
    if (!comparable) return mismatch();
    out->type = Type::boolean;
    out->eval = [fa, fb, op](Frame& fr) { return ops::compare(op, fa(fr), fb(fr)); };
    return true;
  }
  const char c = op[0];
  if (a.type == Type::tensor || b.type == Type::tensor) {
    if (!(a.type == Type::tensor || numeric(a.type)) ||
        !(b.type == Type::tensor || numeric(b.type)) || c == '%') {
      return mismatch();
    }
    out->type = Type::tensor;
  } else if (a.type == Type::string || b.type == Type::string) {
    if (c != '+' || a.type != b.type) return mismatch();
    out->type = Type::string;
  } else if (numeric(a.type) && numeric(b.type)) {
    out->type = (a.type == Type::integer && b.type == Type::integer && c != '/') ? Type::integer
                                                                                 : Type::real;
  } else {
    return mismatch();
  }
  // `/` always divides as floats: 1 / 2 is 0.5, as in a spreadsheet.
  const bool to_real = out->type == Type::real;
  if (to_real && c != '%' && numeric(a.type) && numeric(b.type)) {
    // Float arithmetic on numbers: what ops::arith computes for these types (both read as
    // ops::num, the result a double), without its dispatch; constants are folded and own
    // fields read straight from their slots.
    RealOperand x = real_operand(a, std::move(fa)), y = real_operand(b, std::move(fb));
    switch (c) {
      case '+':
        out->eval = real_binary<std::plus<double>>(std::move(x), std::move(y));
        break;
      case '-':
        out->eval = real_binary<std::minus<double>>(std::move(x), std::move(y));
        break;
      case '*':
        out->eval = real_binary<std::multiplies<double>>(std::move(x), std::move(y));
        break;
      default:
        out->eval = real_binary<std::divides<double>>(std::move(x), std::move(y));
        break;
    }
    return true;
  }
  out->eval = [fa, fb, c, to_real](Frame& fr) {
    Value v = ops::arith(c, fa(fr), fb(fr));
    return to_real && v.is_int() ? Value(static_cast<double>(v.as_int())) : v;
  };
  return true;
}

bool ExprCompiler::cond(const ast::Expr& e, Typed* out) {
  Typed c, a, b;
  // All three are compiled, so that each reports its own errors.
  const bool ok_c = value_of(*e.args[0], &c);
  const bool ok_a = value_of(*e.args[1], &a);
  const bool ok_b = value_of(*e.args[2], &b);
  if (!ok_c || !ok_a || !ok_b) return false;
  if (c.type != Type::boolean)
    return error(e.args[0]->loc,
                 std::string("'if' needs a bool condition, got ") + type_name(c.type));
  Type t = a.type;
  if (a.type != b.type) {
    if (numeric(a.type) && numeric(b.type)) {
      t = Type::real;
    } else if (a.type == Type::null || b.type == Type::null) {
      t = a.type == Type::null ? b.type : a.type;
    } else {
      return error(e.loc, std::string("the branches of 'if' differ: ") + type_name(a.type) +
                              " and " + type_name(b.type));
    }
  }
  out->type = t;
  out->constant = c.constant && a.constant && b.constant;
  out->eval = [fc = std::move(c.eval), fa = std::move(a.eval), fb = std::move(b.eval),
               t](Frame& fr) {
    Value v = ops::truthy(fc(fr)) ? fa(fr) : fb(fr);
    return t == Type::real && v.is_int() ? Value(static_cast<double>(v.as_int())) : v;
  };
  return true;
}

bool ExprCompiler::list(const ast::Expr& e, Typed* out) {
  std::vector<Eval> items;
  out->type = Type::tensor;
  for (const auto& arg : e.args) {
    Typed t;
    if (!value_of(*arg, &t)) return false;
    if (!numeric(t.type) && t.type != Type::tensor) {
      return error(arg->loc, std::string("tensor literals hold numbers, got ") + type_name(t.type));
    }
    out->constant = out->constant && t.constant;
    items.push_back(std::move(t.eval));
  }
  out->eval = [items = std::move(items)](Frame& fr) {
    std::vector<Value> vs;
    vs.reserve(items.size());
    for (const Eval& f : items) vs.push_back(f(fr));
    return ops::list(vs);
  };
  return true;
}

}  // namespace mgraph::schema
