// Function calls of the formula language: scalar math, strings and tensors; aggregates
// over collections are compiled in aggregates.cpp.

#include <algorithm>
#include <cmath>
#include <map>

#include "compiler.hpp"
#include "ops.hpp"

namespace mgraph::schema {
namespace {

struct AggName {
  const char* name;
  AggOp op;
};
constexpr AggName kAggregates[] = {
    {"count", AggOp::count}, {"sum", AggOp::sum}, {"avg", AggOp::avg},    {"min", AggOp::min},
    {"max", AggOp::max},     {"any", AggOp::any}, {"every", AggOp::every}};

Value as_real(const Value& v) { return v.is_int() ? Value(static_cast<double>(v.as_int())) : v; }

}  // namespace

bool ExprCompiler::call(const ast::Expr& e, Typed* out) {
  const std::string& fn = e.text;
  out->kind = Typed::Kind::value;
  // Aggregates take a collection or a pattern as their first argument.
  for (const AggName& a : kAggregates) {
    if (fn != a.name) continue;
    if (e.args.empty()) return error(e.loc, fn + " needs an argument");
    const ast::Expr* pattern = e.args[0].get();
    const ast::Expr* where = nullptr;
    if (pattern->kind == ast::ExprKind::filter) {
      where = pattern->args[1].get();
      pattern = pattern->args[0].get();
    }
    Typed first;
    if (!expr(*pattern, &first)) return false;
    if (first.kind != Typed::Kind::value) {
      // every(items[*].ok, notEmpty): false without members (interaqt's notEmpty).
      bool not_empty = false;
      if (e.args.size() == 2 && (a.op == AggOp::every || a.op == AggOp::any) &&
          e.args[1]->kind == ast::ExprKind::name && e.args[1]->text == "notEmpty") {
        not_empty = true;
      } else if (e.args.size() != 1) {
        return error(e.loc, fn + " over a collection takes one argument" +
                                (a.op == AggOp::every || a.op == AggOp::any
                                     ? std::string(", and notEmpty: ") + fn +
                                           "(items[*].ok, notEmpty)"
                                     : std::string()));
      }
      if (restricted_) return error(e.loc, "a cycle rule may not aggregate");
      return aggregate(e, a.op, first, where, out, not_empty);
    }
    if (where != nullptr) {
      return error(e.args[0]->loc,
                   "'where' filters the members of a collection, e.g. " + fn +
                       "(items[*].price where qty > 0); " + fn + "'s argument is a value");
    }
    break;  // a value: min(a, b), sum(tensor), ... below
  }
  if (fn == "wavg" || fn == "wsum") return wavg(e, out, fn == "wsum");

  std::vector<Typed> args(e.args.size());
  bool ok = true;
  for (std::size_t i = 0; i < e.args.size(); ++i) ok = value_of(*e.args[i], &args[i]) && ok;
  if (!ok) return false;
  out->constant = std::all_of(args.begin(), args.end(), [](const Typed& t) { return t.constant; });
  std::vector<Eval> fs;
  for (Typed& t : args) fs.push_back(std::move(t.eval));
  auto arity = [&](std::size_t lo, std::size_t hi) {
    if (args.size() >= lo && args.size() <= hi) return true;
    return error(e.loc, fn + " takes " + std::to_string(lo) +
                            (hi != lo ? " to " + std::to_string(hi) : std::string()) +
                            " arguments");
  };
  auto want = [&](std::size_t i, bool okay, const char* what) {
    if (okay) return true;
    return error(e.args[i]->loc, fn + ": argument " + std::to_string(i + 1) + " must be " + what +
                                     ", got " + type_name(args[i].type));
  };
  auto is_num = [&](std::size_t i) { return want(i, numeric(args[i].type), "a number"); };
  auto is_int = [&](std::size_t i) { return want(i, args[i].type == Type::integer, "an int"); };
  auto is_str = [&](std::size_t i) { return want(i, args[i].type == Type::string, "a string"); };
  auto is_tensor = [&](std::size_t i) { return want(i, args[i].type == Type::tensor, "a tensor"); };
  auto set = [&](Type t, Eval f) {
    out->type = t;
    out->eval = std::move(f);
    return true;
  };

  // ---- scalar math ----
  using UnaryMath = double (*)(double);
  static const std::map<std::string, UnaryMath> kMath = {{"abs", [](double x) { return std::fabs(x); }},
                                                         {"sqrt", [](double x) { return std::sqrt(x); }},
                                                         {"floor", [](double x) { return std::floor(x); }},
                                                         {"ceil", [](double x) { return std::ceil(x); }},
                                                         {"round", [](double x) { return std::round(x); }},
                                                         {"exp", [](double x) { return std::exp(x); }},
                                                         {"log", [](double x) { return std::log(x); }}};
  if (auto it = kMath.find(fn); it != kMath.end()) {
    if (!arity(1, 1) || !is_num(0)) return false;
    return set(Type::real,
               [f = fs[0], m = it->second](Frame& fr) { return Value(m(ops::num(f(fr)))); });
  }
  if (fn == "pow") {
    if (!arity(2, 2) || !is_num(0) || !is_num(1)) return false;
    return set(Type::real, [a = fs[0], b = fs[1]](Frame& fr) {
      return Value(std::pow(ops::num(a(fr)), ops::num(b(fr))));
    });
  }
  if ((fn == "min" || fn == "max") && args.size() >= 2) {
    Type t = Type::integer;
    for (std::size_t i = 0; i < args.size(); ++i) {
      if (!is_num(i)) return false;
      if (args[i].type == Type::real) t = Type::real;
    }
    const bool is_min = fn == "min";
    return set(t, [fs, is_min, t](Frame& fr) {
      Value best = fs[0](fr);
      for (std::size_t i = 1; i < fs.size(); ++i) {
        Value v = fs[i](fr);
        if (is_min ? ops::num(v) < ops::num(best) : ops::num(v) > ops::num(best)) best = v;
      }
      return t == Type::real ? as_real(best) : best;
    });
  }
  // ---- strings ----
  if (fn == "len") {
    if (!arity(1, 1) || !want(0, args[0].type == Type::string || args[0].type == Type::tensor,
                              "a string or a tensor")) {
      return false;
    }
    return set(Type::integer, [f = fs[0]](Frame& fr) {
      const Value v = f(fr);
      return Value(static_cast<std::int64_t>(v.is_string() ? v.as_string().size()
                                                           : ops::as_tensor(v).size()));
    });
  }
  if (fn == "upper" || fn == "lower") {
    if (!arity(1, 1) || !is_str(0)) return false;
    const bool up = fn == "upper";
    return set(Type::string, [f = fs[0], up](Frame& fr) {
      std::string s(ops::text(f(fr)));
      for (char& ch : s)
        ch = static_cast<char>(up ? std::toupper(static_cast<unsigned char>(ch))
                                  : std::tolower(static_cast<unsigned char>(ch)));
      return Value(s);
    });
  }
  if (fn == "concat") {
    if (!arity(1, 64)) return false;
    return set(Type::string, [fs](Frame& fr) {
      std::string s;
      for (const Eval& f : fs) {
        const Value v = f(fr);
        s += v.is_string() ? std::string(v.as_string()) : v.to_json();
        if (s.size() > ops::kStringBytesMax) break;  // text_value reports it
      }
      return ops::text_value(std::move(s));
    });
  }
  if (fn == "str") {
    if (!arity(1, 1)) return false;
    return set(Type::string, [f = fs[0]](Frame& fr) {
      const Value v = f(fr);
      return v.is_string() ? v : ops::text_value(v.to_json());
    });
  }
  if (fn == "substr") {
    if (!arity(2, 3) || !is_str(0) || !is_int(1) || (args.size() == 3 && !is_int(2))) return false;
    return set(Type::string, [fs](Frame& fr) {
      const Value s = fs[0](fr);
      const std::string_view v = ops::text(s);
      const auto start = static_cast<std::size_t>(std::clamp<std::int64_t>(
          ops::integer(fs[1](fr)), 0, static_cast<std::int64_t>(v.size())));
      std::size_t n = std::string_view::npos;
      if (fs.size() == 3)
        n = static_cast<std::size_t>(std::max<std::int64_t>(0, ops::integer(fs[2](fr))));
      return Value(v.substr(start, n));
    });
  }
  if (fn == "contains" || fn == "starts_with") {
    if (!arity(2, 2) || !is_str(0) || !is_str(1)) return false;
    const bool prefix = fn == "starts_with";
    return set(Type::boolean, [a = fs[0], b = fs[1], prefix](Frame& fr) {
      const Value x = a(fr), y = b(fr);
      const std::string_view hay = ops::text(x), needle = ops::text(y);
      return Value(prefix ? hay.substr(0, needle.size()) == needle
                          : hay.find(needle) != std::string_view::npos);
    });
  }
  // ---- tensors ----
  if (fn == "sum" || fn == "min" || fn == "max" || fn == "avg" || fn == "count") {
    if (!arity(1, 1) || !is_tensor(0)) return false;
    if (fn == "count") {
      return set(Type::integer, [f = fs[0]](Frame& fr) {
        return Value(static_cast<std::int64_t>(ops::as_tensor(f(fr)).size()));
      });
    }
    Value (*r)(const Value&) = fn == "sum"   ? ops::reduce_sum
                               : fn == "min" ? ops::reduce_min
                               : fn == "max" ? ops::reduce_max
                                             : [](const Value& v) { return ops::mean(v, -1); };
    return set(Type::real, [f = fs[0], r](Frame& fr) { return r(f(fr)); });
  }
  if (fn == "mean" || fn == "std") {
    if (!arity(1, 2) || !is_tensor(0) || (args.size() == 2 && !is_int(1))) return false;
    const bool m = fn == "mean";
    return set(args.size() == 2 ? Type::tensor : Type::real, [fs, m](Frame& fr) {
      const std::int64_t axis = fs.size() == 2 ? ops::integer(fs[1](fr)) : -1;
      return m ? ops::mean(fs[0](fr), axis) : ops::stddev(fs[0](fr), axis);
    });
  }
  if (fn == "slice") {
    if (!arity(2, 3) || !is_tensor(0) || !is_int(1) || (args.size() == 3 && !is_int(2)))
      return false;
    return set(Type::tensor, [fs](Frame& fr) {
      std::optional<std::int64_t> end;
      if (fs.size() == 3) end = ops::integer(fs[2](fr));
      return ops::slice(fs[0](fr), ops::integer(fs[1](fr)), end);
    });
  }
  if (fn == "window_avg") {
    if (!arity(2, 2) || !is_tensor(0) || !is_int(1)) return false;
    return set(Type::real, [a = fs[0], n = fs[1]](Frame& fr) {
      return ops::window_avg(a(fr), ops::integer(n(fr)));
    });
  }
  if (fn == "dot" || fn == "matmul") {
    if (!arity(2, 2) || !is_tensor(0) || !is_tensor(1)) return false;
    const bool d = fn == "dot";
    return set(d ? Type::real : Type::tensor, [a = fs[0], b = fs[1], d](Frame& fr) {
      return d ? ops::dot(a(fr), b(fr)) : ops::matmul(a(fr), b(fr));
    });
  }
  if (fn == "transpose" || fn == "correlate") {
    if (!arity(1, 1) || !is_tensor(0)) return false;
    const bool t = fn == "transpose";
    return set(Type::tensor, [a = fs[0], t](Frame& fr) {
      return t ? ops::transpose(a(fr)) : ops::correlate(a(fr));
    });
  }
  if (fn == "reshape") {
    if (!arity(2, 1 + Tensor::rank_max) || !is_tensor(0)) return false;
    for (std::size_t i = 1; i < args.size(); ++i) {
      if (!is_int(i)) return false;
    }
    return set(Type::tensor, [fs](Frame& fr) {
      std::vector<std::int64_t> dims;
      for (std::size_t i = 1; i < fs.size(); ++i) dims.push_back(ops::integer(fs[i](fr)));
      return ops::reshape(fs[0](fr), dims);
    });
  }
  if (fn == "async") {
    return error(e.loc, "async(...) is a whole field's value, computed outside the graph "
                        "(risk: float = async(amount, customer)), not part of a formula");
  }
  if (fn == "changed") {
    return error(e.loc, "changed(...) is a whole effect's condition (effect feed: queue(total) "
                        "when changed(total)), not part of a formula");
  }
  return error(e.loc, "unknown function '" + fn + "'");
}

}  // namespace mgraph::schema
