// Schema formulas as scalar kernels: the compiler of the qualifying subset to a postfix
// program over doubles, and its interpreter (kernel.hpp).

#include "kernel.hpp"

#include <algorithm>
#include <functional>
#include <cmath>
#include <optional>

#include "mgraph/graph/assert.hpp"
#include "ops.hpp"

namespace mgraph::schema {
namespace {

struct NamedOp {
  const char* name;
  ScalarOp op;
};
constexpr NamedOp kUnaryMath[] = {{"abs", ScalarOp::abs},     {"sqrt", ScalarOp::sqrt},
                                  {"floor", ScalarOp::floor}, {"ceil", ScalarOp::ceil},
                                  {"round", ScalarOp::round}, {"exp", ScalarOp::exp},
                                  {"log", ScalarOp::log}};
constexpr NamedOp kCompare[] = {{"<", ScalarOp::less},     {"<=", ScalarOp::less_equal},
                                {">", ScalarOp::greater},  {">=", ScalarOp::greater_equal},
                                {"==", ScalarOp::equal},   {"!=", ScalarOp::not_equal}};

/// An int operation over int constants, as the closures compute it (ops::arith and
/// ops::negate on Values); nullopt when `e` is not one, or when it throws (`1 % 0` fails
/// the field each time it runs, which a program does not do).
std::optional<Value> int_constant(const ast::Expr& e) {
  switch (e.kind) {
    case ast::ExprKind::literal:
      if (e.literal.is_int()) return e.literal;
      return std::nullopt;
    case ast::ExprKind::unary: {
      if (e.text != "-") return std::nullopt;
      std::optional<Value> a = int_constant(*e.args[0]);
      if (!a) return std::nullopt;
      return ops::negate(*a);
    }
    case ast::ExprKind::binary: {
      const std::string& op = e.text;
      if (op != "+" && op != "-" && op != "*" && op != "%") return std::nullopt;
      std::optional<Value> a = int_constant(*e.args[0]);
      std::optional<Value> b = int_constant(*e.args[1]);
      if (!a || !b) return std::nullopt;
      try {
        return ops::arith(op[0], *a, *b);
      } catch (const ops::FormulaError&) {
        return std::nullopt;
      }
    }
    default:
      return std::nullopt;
  }
}

/// Emits the postfix code of one formula; every method returns the type of what it
/// emitted, or Type::null when the formula does not qualify.
class Emitter {
 public:
  Emitter(const EntityDef& ent, const CompiledFormula& cf) : ent_(ent), cf_(cf) {}

  Type expr(const ast::Expr& e) {
    switch (e.kind) {
      case ast::ExprKind::literal:
        return literal(e.literal);
      case ast::ExprKind::name:
        return name(e.text);
      case ast::ExprKind::unary:
        return unary(e);
      case ast::ExprKind::binary:
        return binary(e);
      case ast::ExprKind::cond:
        return cond(e);
      case ast::ExprKind::call:
        return call(e);
      default:  // self, relations, patterns, tensors, `where`
        return Type::null;
    }
  }

  std::vector<ScalarInstr> take() { return std::move(code_); }

 private:
  Type push(ScalarOp op, double value, std::uint32_t arg, Type type) {
    if (depth_ == kScalarStackMax) return Type::null;
    ++depth_;
    code_.push_back(ScalarInstr{op, arg, value});
    return type;
  }
  /// An operation that pops `pops` values and pushes one.
  void op(ScalarOp o, std::uint32_t pops, std::uint32_t arg = 0) {
    depth_ -= pops - 1;
    code_.push_back(ScalarInstr{o, arg, 0});
  }

  Type literal(const Value& v) {
    if (v.is_int()) return push(ScalarOp::constant, static_cast<double>(v.as_int()), 0, Type::integer);
    if (v.is_double()) return push(ScalarOp::constant, v.as_double(), 0, Type::real);
    if (v.is_bool()) return push(ScalarOp::constant, v.as_bool() ? 1 : 0, 0, Type::boolean);
    return Type::null;  // strings, null
  }

  /// An own field read as a declared input: numeric and never null.
  Type name(const std::string& text) {
    const std::uint32_t f = ent_.find_field(text);
    if (f == kNone) return Type::null;
    const FieldDef& d = ent_.fields[f];
    if (!numeric(d.type) || d.nullable) return Type::null;
    const auto it = std::find(cf_.slots.begin(), cf_.slots.end(), ent_.field_local(f));
    if (it == cf_.slots.end()) return Type::null;
    return push(ScalarOp::input, 0, static_cast<std::uint32_t>(it - cf_.slots.begin()), d.type);
  }

  Type folded(const ast::Expr& e) {
    std::optional<Value> v = int_constant(e);
    if (!v) return Type::null;
    return literal(*v);
  }

  Type unary(const ast::Expr& e) {
    if (e.text == "not") {
      if (expr(*e.args[0]) != Type::boolean) return Type::null;
      op(ScalarOp::logical_not, 1);
      return Type::boolean;
    }
    const std::size_t mark = code_.size();
    const std::uint32_t depth = depth_;
    const Type t = expr(*e.args[0]);
    if (t == Type::integer) {
      code_.resize(mark);
      depth_ = depth;
      return folded(e);
    }
    if (t != Type::real) return Type::null;
    op(ScalarOp::negate, 1);
    return Type::real;
  }

  Type binary(const ast::Expr& e) {
    const std::string& text = e.text;
    const std::size_t mark = code_.size();
    const std::uint32_t depth = depth_;
    const Type a = expr(*e.args[0]);
    if (a == Type::null) return Type::null;
    const Type b = expr(*e.args[1]);
    if (b == Type::null) return Type::null;
    if (text == "and" || text == "or") {
      if (a != Type::boolean || b != Type::boolean) return Type::null;
      op(text == "and" ? ScalarOp::logical_and : ScalarOp::logical_or, 2);
      return Type::boolean;
    }
    for (const NamedOp& c : kCompare) {
      if (text != c.name) continue;
      const bool eq = c.op == ScalarOp::equal || c.op == ScalarOp::not_equal;
      if (!(numeric(a) && numeric(b)) && !(eq && a == Type::boolean && b == Type::boolean))
        return Type::null;
      op(c.op, 2);
      return Type::boolean;
    }
    if (!numeric(a) || !numeric(b)) return Type::null;
    const char c = text[0];
    if (a == Type::integer && b == Type::integer && c != '/') {
      // Int arithmetic (wrap-around, integer %): over constants only, folded.
      code_.resize(mark);
      depth_ = depth;
      return folded(e);
    }
    switch (c) {
      case '+':
        op(ScalarOp::add, 2);
        break;
      case '-':
        op(ScalarOp::subtract, 2);
        break;
      case '*':
        op(ScalarOp::multiply, 2);
        break;
      case '/':
        op(ScalarOp::divide, 2);
        break;
      case '%':
        op(ScalarOp::modulo, 2);
        break;
      default:
        return Type::null;
    }
    return Type::real;
  }

  Type cond(const ast::Expr& e) {
    if (expr(*e.args[0]) != Type::boolean) return Type::null;
    const std::size_t branch = code_.size();
    op(ScalarOp::jump_if_false, 1, 0);
    --depth_;  // it pops the condition and pushes nothing
    const std::uint32_t depth = depth_;
    const Type a = expr(*e.args[1]);
    if (a == Type::null) return Type::null;
    const std::size_t skip = code_.size();
    op(ScalarOp::jump, 1, 0);
    code_[branch].arg = static_cast<std::uint32_t>(code_.size());
    depth_ = depth;
    const Type b = expr(*e.args[2]);
    if (b == Type::null) return Type::null;
    code_[skip].arg = static_cast<std::uint32_t>(code_.size());
    if (a == b) return a;
    if (numeric(a) && numeric(b)) return Type::real;
    return Type::null;
  }

  Type call(const ast::Expr& e) {
    const std::string& fn = e.text;
    for (const NamedOp& m : kUnaryMath) {
      if (fn != m.name) continue;
      if (e.args.size() != 1 || !numeric(expr(*e.args[0]))) return Type::null;
      op(m.op, 1);
      return Type::real;
    }
    if (fn == "pow") {
      if (e.args.size() != 2 || !numeric(expr(*e.args[0])) || !numeric(expr(*e.args[1])))
        return Type::null;
      op(ScalarOp::pow, 2);
      return Type::real;
    }
    if ((fn == "min" || fn == "max") && e.args.size() >= 2) {
      Type t = Type::integer;
      for (const auto& arg : e.args) {
        const Type a = expr(*arg);
        if (!numeric(a)) return Type::null;
        if (a == Type::real) t = Type::real;
      }
      const auto n = static_cast<std::uint32_t>(e.args.size());
      op(fn == "min" ? ScalarOp::min : ScalarOp::max, n, n);
      return t;
    }
    return Type::null;  // aggregates, strings, tensors
  }

  const EntityDef& ent_;
  const CompiledFormula& cf_;
  std::vector<ScalarInstr> code_;
  std::uint32_t depth_ = 0;
};

}  // namespace

std::shared_ptr<const ScalarProgram> compile_scalar_program(const EntityDef& ent,
                                                            const ast::Expr& expr,
                                                            const CompiledFormula& cf,
                                                            std::string where) {
  if (cf.tracked || cf.reads_self || !numeric(cf.type)) return nullptr;
  Emitter emitter(ent, cf);
  if (!numeric(emitter.expr(expr))) return nullptr;
  auto program = std::make_shared<ScalarProgram>();
  program->code = emitter.take();
  program->where = std::move(where);
  return program;
}

namespace {

// The kernels of the commonest programs (PackedProgram::kernel): the same operation on
// the same doubles as the interpreter, and the same check of the result.
inline double finite(double result, const PackedProgram& p) {
  if (!std::isfinite(result)) [[unlikely]] ops::not_finite(result, *p.where);
  return result;
}

double copy_kernel(std::span<const double> in, NodeId, const void* data) {
  const auto& p = *static_cast<const PackedProgram*>(data);
  return finite(in[p.a], p);
}

template <class Op>
double inputs_kernel(std::span<const double> in, NodeId, const void* data) {
  const auto& p = *static_cast<const PackedProgram*>(data);
  return finite(Op{}(in[p.a], in[p.b]), p);
}

template <class Op>
double input_constant_kernel(std::span<const double> in, NodeId, const void* data) {
  const auto& p = *static_cast<const PackedProgram*>(data);
  return finite(Op{}(in[p.a], p.c), p);
}

template <class Op>
double constant_input_kernel(std::span<const double> in, NodeId, const void* data) {
  const auto& p = *static_cast<const PackedProgram*>(data);
  return finite(Op{}(p.c, in[p.a]), p);
}

/// The kernel of `x op y` in the operand form F (inputs_kernel, ...) for `op`; null for
/// other operations.
template <template <class> class F>
ScalarKernel binary_kernel(ScalarOp op) {
  switch (op) {
    case ScalarOp::add:
      return F<std::plus<double>>::run;
    case ScalarOp::subtract:
      return F<std::minus<double>>::run;
    case ScalarOp::multiply:
      return F<std::multiplies<double>>::run;
    case ScalarOp::divide:
      return F<std::divides<double>>::run;
    default:
      return nullptr;
  }
}
template <class Op>
struct Inputs {
  static constexpr ScalarKernel run = inputs_kernel<Op>;
};
template <class Op>
struct InputConstant {
  static constexpr ScalarKernel run = input_constant_kernel<Op>;
};
template <class Op>
struct ConstantInput {
  static constexpr ScalarKernel run = constant_input_kernel<Op>;
};

/// The KernelForm of `x op y` for `op`, Op::none for other operations.
KernelForm::Op form_op(ScalarOp op) {
  switch (op) {
    case ScalarOp::add:
      return KernelForm::Op::add;
    case ScalarOp::subtract:
      return KernelForm::Op::subtract;
    case ScalarOp::multiply:
      return KernelForm::Op::multiply;
    case ScalarOp::divide:
      return KernelForm::Op::divide;
    default:
      return KernelForm::Op::none;
  }
}

/// Chooses p.kernel from its code, and fills the operands a specialized kernel reads and
/// the form that describes it (the commit computes that in line, and calls the kernel for
/// a result that is not finite, which fails the field with its message).
void specialize(PackedProgram& p) {
  p.kernel = run_scalar_program;
  p.form = KernelForm{};
  const ScalarInstr* code = p.code;
  if (p.size == 1 && code[0].op == ScalarOp::input) {
    p.kernel = copy_kernel;
    p.a = code[0].arg;
    p.form = KernelForm{KernelForm::Op::copy, KernelForm::Operands::inputs, p.a, p.a, 0.0};
    return;
  }
  if (p.size != 3) return;
  const bool x_input = code[0].op == ScalarOp::input, y_input = code[1].op == ScalarOp::input;
  const bool x_constant = code[0].op == ScalarOp::constant;
  const bool y_constant = code[1].op == ScalarOp::constant;
  ScalarKernel k = nullptr;
  if (x_input && y_input) {
    k = binary_kernel<Inputs>(code[2].op);
    p.a = code[0].arg;
    p.b = code[1].arg;
  } else if (x_input && y_constant) {
    k = binary_kernel<InputConstant>(code[2].op);
    p.a = code[0].arg;
    p.c = code[1].value;
  } else if (x_constant && y_input) {
    k = binary_kernel<ConstantInput>(code[2].op);
    p.a = code[1].arg;
    p.c = code[0].value;
  }
  if (k == nullptr) return;
  p.kernel = k;
  p.form.op = form_op(code[2].op);
  p.form.operands = x_input && y_input ? KernelForm::Operands::inputs
                    : x_input          ? KernelForm::Operands::input_constant
                                       : KernelForm::Operands::constant_input;
  p.form.a = p.a;
  p.form.b = x_input && y_input ? p.b : p.a;
  p.form.c = p.c;
}

}  // namespace

void ScalarKernels::reserve(std::size_t program_count, std::size_t instructions) {
  programs.reserve(program_count);
  code.reserve(instructions);
}

const PackedProgram* ScalarKernels::add(const ScalarProgram& p) {
  MG_ASSERT(programs.size() < programs.capacity() &&
            code.capacity() - code.size() >= p.code.size());
  const std::size_t at = code.size();
  code.insert(code.end(), p.code.begin(), p.code.end());
  PackedProgram packed;
  packed.code = code.data() + at;
  packed.size = static_cast<std::uint32_t>(p.code.size());
  packed.where = &p.where;
  specialize(packed);
  programs.push_back(packed);
  return &programs.back();
}

double run_scalar_program(std::span<const double> inputs, NodeId, const void* data) {
  const auto& program = *static_cast<const PackedProgram*>(data);
  const ScalarInstr* const code = program.code;
  const std::size_t size = program.size;
  // stack[0] is never a value: `top` starts there, so it never points before the array.
  double stack[kScalarStackMax + 1];
  double* top = stack;  // the last value pushed
  // Comparisons as ops::compare: -1, 0 or 1 from < and >, so NaN compares equal.
  for (std::size_t pc = 0; pc < size; ++pc) {
    const ScalarInstr& in = code[pc];
    switch (in.op) {
      case ScalarOp::input:
        *++top = inputs[in.arg];
        break;
      case ScalarOp::constant:
        *++top = in.value;
        break;
      case ScalarOp::negate:
        *top = -*top;
        break;
      case ScalarOp::add:
        top[-1] = top[-1] + top[0];
        --top;
        break;
      case ScalarOp::subtract:
        top[-1] = top[-1] - top[0];
        --top;
        break;
      case ScalarOp::multiply:
        top[-1] = top[-1] * top[0];
        --top;
        break;
      case ScalarOp::divide:
        top[-1] = top[-1] / top[0];
        --top;
        break;
      case ScalarOp::modulo:
        top[-1] = std::fmod(top[-1], top[0]);
        --top;
        break;
      case ScalarOp::less:
        top[-1] = top[-1] < top[0] ? 1 : 0;
        --top;
        break;
      case ScalarOp::less_equal:
        top[-1] = top[-1] > top[0] ? 0 : 1;
        --top;
        break;
      case ScalarOp::greater:
        top[-1] = top[-1] > top[0] ? 1 : 0;
        --top;
        break;
      case ScalarOp::greater_equal:
        top[-1] = top[-1] < top[0] ? 0 : 1;
        --top;
        break;
      case ScalarOp::equal:
        top[-1] = top[-1] < top[0] || top[-1] > top[0] ? 0 : 1;
        --top;
        break;
      case ScalarOp::not_equal:
        top[-1] = top[-1] < top[0] || top[-1] > top[0] ? 1 : 0;
        --top;
        break;
      case ScalarOp::logical_not:
        *top = *top == 0 ? 1 : 0;
        break;
      case ScalarOp::logical_and:
        top[-1] = top[-1] != 0 && top[0] != 0 ? 1 : 0;
        --top;
        break;
      case ScalarOp::logical_or:
        top[-1] = top[-1] != 0 || top[0] != 0 ? 1 : 0;
        --top;
        break;
      case ScalarOp::abs:
        *top = std::fabs(*top);
        break;
      case ScalarOp::sqrt:
        *top = std::sqrt(*top);
        break;
      case ScalarOp::floor:
        *top = std::floor(*top);
        break;
      case ScalarOp::ceil:
        *top = std::ceil(*top);
        break;
      case ScalarOp::round:
        *top = std::round(*top);
        break;
      case ScalarOp::exp:
        *top = std::exp(*top);
        break;
      case ScalarOp::log:
        *top = std::log(*top);
        break;
      case ScalarOp::pow:
        top[-1] = std::pow(top[-1], top[0]);
        --top;
        break;
      case ScalarOp::min:
      case ScalarOp::max: {
        // As the builtin: the first argument, replaced by each later one that is
        // strictly smaller (larger).
        double* const first = top - (in.arg - 1);
        double best = *first;
        for (const double* v = first + 1; v <= top; ++v) {
          if (in.op == ScalarOp::min ? *v < best : *v > best) best = *v;
        }
        *first = best;
        top = first;
        break;
      }
      case ScalarOp::jump_if_false:
        if (*top-- == 0) pc = in.arg - 1;
        break;
      case ScalarOp::jump:
        pc = in.arg - 1;
        break;
    }
  }
  const double result = stack[1];
  if (!std::isfinite(result)) [[unlikely]] ops::not_finite(result, *program.where);
  return result;
}

}  // namespace mgraph::schema
