#pragma once
// Schema formulas as scalar kernels (docs/DECISIONS.md "Schema formulas as scalar
// kernels"): a derived float field whose formula is arithmetic over numeric fields of its
// own record also compiles to a small postfix program over doubles, which the Store gives
// its FieldSpec as `kernel` (run_scalar_program) and `kernel_data` (the program). The
// lean commit then runs it without a Context, a Frame or a Value, with the same results
// as the formula's closures: the same double operations in the same order, comparisons
// with ops::compare's rules (NaN compares equal), and a result that is NaN or infinite
// failing the field with ops::not_finite's message.
//
// Invariants:
//   1. A program reads only `inputs` (the field's declared inputs, CompiledFormula::slots
//      in order) and its constants; it never throws except through ops::not_finite at the
//      end, so evaluating the branch of an `if` not taken, or both sides of `and`/`or`,
//      changes nothing.
//   2. No int arithmetic runs in a program: an int-typed operation over a field is left to
//      the closures (the kernel's inputs are doubles, which cannot wrap as int64 does);
//      int operations over constants are folded with ops::arith when compiled.
//   3. The stack never holds more than kScalarStackMax doubles (checked when compiled).

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "mgraph/graph/graph.hpp"
#include "mgraph/graph/schema/ast.hpp"
#include "mgraph/graph/schema/schema.hpp"

namespace mgraph::schema {

enum class ScalarOp : std::uint8_t {
  input,     ///< push inputs[arg]
  constant,  ///< push value
  negate,
  add,
  subtract,
  multiply,
  divide,
  modulo,  ///< std::fmod, as ops::arith on floats
  less,
  less_equal,
  greater,
  greater_equal,
  equal,
  not_equal,
  logical_not,
  logical_and,
  logical_or,
  abs,
  sqrt,
  floor,
  ceil,
  round,
  exp,
  log,
  pow,
  min,            ///< of the top `arg` values: the first smallest, as the min() builtin
  max,            ///< of the top `arg` values: the first largest
  jump_if_false,  ///< pop; when 0, continue at instruction `arg`
  jump,           ///< continue at instruction `arg`
};

struct ScalarInstr {
  ScalarOp op = ScalarOp::constant;
  std::uint32_t arg = 0;
  double value = 0;
};

/// Doubles a program may hold on its stack at once.
inline constexpr std::uint32_t kScalarStackMax = 32;

struct ScalarProgram {
  std::vector<ScalarInstr> code;
  /// "Entity.field", for the message of a result that is not finite.
  std::string where;
};

/// The program of `expr`, the formula of derived float field `where` of entity `ent`
/// compiled into `cf`; null when the formula does not qualify (it reads anything but
/// numeric, non-nullable fields of its own record as declared inputs, or uses anything
/// but arithmetic, comparisons, logic, if/then/else, numeric literals and the numeric
/// builtins, or int arithmetic over a field).
std::shared_ptr<const ScalarProgram> compile_scalar_program(const EntityDef& ent,
                                                            const ast::Expr& expr,
                                                            const CompiledFormula& cf,
                                                            std::string where);

/// A program as a kernel runs it: its code in ScalarKernels::code.
struct PackedProgram {
  const ScalarInstr* code = nullptr;
  std::uint32_t size = 0;
  const std::string* where = nullptr;  ///< ScalarProgram::where, in the Schema
  /// The kernel that runs it: run_scalar_program, or for the commonest programs (`x`,
  /// `x op y`, `x op 2`, `2 op x` with op one of + - * /) a function of that form, which
  /// reads its operands here (inputs `a`, `b`, constant `c`) instead of dispatching on
  /// instructions: an interpreter's dispatch costs a mispredicted jump per instruction
  /// when consecutive fields run different programs.
  ScalarKernel kernel = nullptr;
  std::uint32_t a = 0;
  std::uint32_t b = 0;
  double c = 0;
  /// What such a kernel computes (FieldSpec::kernel_form), Op::none for the others.
  KernelForm form;
};

/// The programs of a Store's fields packed back to back, in the order of their fields, so
/// that a commit running the kernels of consecutive fields reads memory in order instead
/// of a heap block per program (cellx: a separate block per program cost 2× the C++
/// kernels in cache misses). Filled once; `kernel_data` points into `programs`.
struct ScalarKernels {
  std::vector<ScalarInstr> code;
  std::vector<PackedProgram> programs;
  /// Room for `programs` programs of `instructions` instructions in all: nothing moves
  /// while add() stays within it.
  void reserve(std::size_t programs, std::size_t instructions);
  /// `p` packed; the pointer to give FieldSpec::kernel_data. REQUIRES: room (reserve).
  const PackedProgram* add(const ScalarProgram& p);
};

/// The ScalarKernel of any program: `data` is a PackedProgram.
double run_scalar_program(std::span<const double> inputs, NodeId node, const void* data);

}  // namespace mgraph::schema
