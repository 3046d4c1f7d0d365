// Schema formulas as scalar kernels (graph/src/schema/kernel.hpp): which formulas compile
// to a program, and that a store running them as kernels gives the same values, states and
// reasons as one running the closures, on random formulas and random inputs.

#include <gtest/gtest.h>

#include <bit>
#include <cmath>
#include <initializer_list>
#include <limits>
#include <string>
#include <vector>

#include "mgraph/graph/prng.hpp"
#include "mgraph/graph/schema/store.hpp"

namespace mgraph::schema {
namespace {

std::shared_ptr<const Schema> compiled(const std::string& text, bool kernels) {
  CompileOptions options;
  options.scalar_kernels = kernels;
  auto r = compile_schema(SourceFile{"t.mgs", text}, options);
  EXPECT_TRUE(r.is_ok()) << r.status().message() << "\n" << text;
  return r.is_ok() ? std::move(r).value() : nullptr;
}

bool has_kernel(const Schema& s, const std::string& field) {
  const EntityDef& e = s.entities[0];
  const std::uint32_t f = e.find_field(field);
  EXPECT_NE(f, kNone) << field;
  return f != kNone && e.fields[f].formula.scalar != nullptr;
}

/// Equal values, a double to the bit (-0.0 is not 0.0 here; NaN is NaN).
bool same(const Value& a, const Value& b) {
  if (a.is_double() && b.is_double()) {
    return std::bit_cast<std::uint64_t>(a.as_double()) == std::bit_cast<std::uint64_t>(b.as_double()) ||
           (std::isnan(a.as_double()) && std::isnan(b.as_double()));
  }
  return a == b;
}

TEST(SchemaKernel, ArithmeticOverOwnNumbersQualifiesAndTheRestDoesNot) {
  const std::string text = R"(
entity E {
  i: int = 0  j: int = 0  x: float = 0  y: float = 0  n: float?  b: bool = false  s: string = ""
  items: many I via owner  other: one I via many others
  plain: float = x * 2 + y / 3 - 1
  mixed: float = i / j + x % 2.5 - -x
  choose: float = if x > y and not (i == j) then min(x, i, 3) else max(y, 2) + pow(x, 0.5)
  math: float = abs(x) + sqrt(y) + floor(x) + ceil(y) + round(x) + exp(y) + log(x)
  folded: float = x + (2 * 3 - 7 % 4) + -(5)
  chained: float = plain + choose
  picks: float = if i < j then i else j
  int_arith: float = i + j
  int_neg: float = -i
  int_field: int = i + j
  intish: int = i
  nullable: float = n + 1
  flag: float = if b then 1 else 0
  through: float = other.v
  aggregate: float = sum(items[*].v)
  previous: float = self + x
  text: float = len(s)
  bad_constant: float = x + 1 % 0
  timed: float = x * 2 @every(1s)
}
entity I { v: float = 0 }
)";
  auto s = compiled(text, true);
  ASSERT_NE(s, nullptr);
  for (const char* f : {"plain", "mixed", "choose", "math", "folded", "chained", "picks"})
    EXPECT_TRUE(has_kernel(*s, f)) << f;
  // Int arithmetic over fields, int fields, nullable, bool and string inputs, relations,
  // aggregates, self, a constant that fails at run time: closures only.
  for (const char* f : {"int_arith", "int_neg", "int_field", "intish", "nullable", "flag",
                        "through", "aggregate", "previous", "text", "bad_constant"}) {
    EXPECT_FALSE(has_kernel(*s, f)) << f;
  }
  auto off = compiled(text, false);
  ASSERT_NE(off, nullptr);
  EXPECT_FALSE(has_kernel(*off, "plain"));
}

TEST(SchemaKernel, AFloatFieldStoresADoubleAndFailsOnANonFiniteResultWithTheFormulasReason) {
  const std::string text = R"(
entity E {
  x: float = 1  i: int = 2
  q: float = x / (i - 2 * x)
  r: float = q + 1
  k: int = i * 3
}
)";
  for (bool kernels : {true, false}) {
    SCOPED_TRACE(kernels ? "kernels" : "closures");
    auto schema = compiled(text, kernels);
    ASSERT_NE(schema, nullptr);
    EXPECT_EQ(has_kernel(*schema, "q"), kernels);
    Store s(schema);
    const RecordId id = s.create("E", {}).value();
    ASSERT_TRUE(s.commit().is_ok());
    // 1 / (2 - 2): infinite; q fails, r is blocked, the int field stays an int.
    const NodeId q = s.node_of(id, "q").value();
    const NodeId r = s.node_of(id, "r").value();
    EXPECT_EQ(s.graph().condition(q).state, FieldState::failed);
    EXPECT_EQ(s.graph().condition(q).reason,
              "E.q: the result is infinite; a float field holds finite numbers");
    EXPECT_EQ(s.graph().condition(r).state, FieldState::blocked);
    EXPECT_EQ(s.get(id, "k").value(), Value(std::int64_t{6}));
    ASSERT_TRUE(s.update(id, {{"x", Value(0.5)}}).is_ok());
    ASSERT_TRUE(s.commit().is_ok());
    EXPECT_EQ(s.graph().condition(q).state, FieldState::ok);
    EXPECT_TRUE(same(s.get(id, "q").value(), Value(0.5)));
    EXPECT_TRUE(same(s.get(id, "r").value(), Value(1.5)));
    ASSERT_TRUE(s.update(id, {{"x", Value(0.0)}, {"i", Value(std::int64_t{0})}}).is_ok());
    ASSERT_TRUE(s.commit().is_ok());  // 0 / 0
    EXPECT_EQ(s.graph().condition(q).reason,
              "E.q: the result is NaN; a float field holds finite numbers");
  }
}

TEST(SchemaKernel, NaNComparesEqualToEverythingAsInTheFormulas) {
  // ops::compare orders by -1/0/1 from < and >: NaN is neither, so it is "equal".
  const std::string text = R"(
entity E {
  x: float = 0  y: float = 0
  le: float = if x / y <= 1 then y + 1 else y + 2
  ge: float = if x / y >= 1 then y + 1 else y + 2
  eq: float = if x / y == 5 then y + 1 else y + 2
  ne: float = if x / y != 5 then y + 1 else y + 2
  lt: float = if x / y < 5 then y + 1 else y + 2
  least: float = min(x / y, 3) * 0 + max(y, x / y)
  ratio: float = x / y
  scaled: float = 2 / y
  copy: float = ratio
}
)";
  for (bool kernels : {true, false}) {
    SCOPED_TRACE(kernels ? "kernels" : "closures");
    auto schema = compiled(text, kernels);
    ASSERT_NE(schema, nullptr);
    Store s(schema);
    const RecordId id = s.create("E", {}).value();
    ASSERT_TRUE(s.commit().is_ok());
    EXPECT_EQ(s.get(id, "le").value(), Value(1.0));
    EXPECT_EQ(s.get(id, "ge").value(), Value(1.0));
    EXPECT_EQ(s.get(id, "eq").value(), Value(1.0));
    EXPECT_EQ(s.get(id, "ne").value(), Value(2.0));
    EXPECT_EQ(s.get(id, "lt").value(), Value(2.0));
    // min(NaN, 3) keeps its first argument; max(0, NaN) too; NaN * 0 is NaN: failed.
    EXPECT_EQ(s.graph().condition(s.node_of(id, "least").value()).reason,
              "E.least: the result is NaN; a float field holds finite numbers");
    // The kernels of `x op y` and `c op x` (PackedProgram::kernel) check their result too.
    EXPECT_EQ(s.graph().condition(s.node_of(id, "ratio").value()).reason,
              "E.ratio: the result is NaN; a float field holds finite numbers");
    EXPECT_EQ(s.graph().condition(s.node_of(id, "scaled").value()).reason,
              "E.scaled: the result is infinite; a float field holds finite numbers");
    EXPECT_EQ(s.graph().condition(s.node_of(id, "copy").value()).state, FieldState::blocked);
    ASSERT_TRUE(s.update(id, {{"x", Value(3.0)}, {"y", Value(-0.5)}}).is_ok());
    ASSERT_TRUE(s.commit().is_ok());
    EXPECT_EQ(s.get(id, "copy").value(), Value(-6.0));
    EXPECT_EQ(s.get(id, "scaled").value(), Value(-4.0));
  }
}

TEST(SchemaKernel, AFailTransactionKernelRollsBackWithTheFormulasMessage) {
  const std::string text = R"(
entity E {
  x: float = 1  y: float = 1
  q: float = x / y @fail_transaction
}
)";
  for (bool kernels : {true, false}) {
    SCOPED_TRACE(kernels ? "kernels" : "closures");
    auto schema = compiled(text, kernels);
    ASSERT_NE(schema, nullptr);
    EXPECT_EQ(has_kernel(*schema, "q"), kernels);
    Store s(schema);
    const RecordId id = s.create("E", {}).value();
    ASSERT_TRUE(s.commit().is_ok());
    ASSERT_TRUE(s.update(id, {{"y", Value(0.0)}}).is_ok());
    const Result<CommitStats> r = s.commit();
    ASSERT_FALSE(r.is_ok());
    EXPECT_EQ(r.status().code(), StatusCode::formula_error);
    EXPECT_NE(r.status().message().find("E.q: the result is infinite"), std::string::npos)
        << r.status().message();
    EXPECT_EQ(s.get(id, "y").value(), Value(1.0));  // rolled back
    EXPECT_EQ(s.get(id, "q").value(), Value(1.0));
  }
}

// ---- Random formulas: the kernel store against the closure store ----

/// Concatenates `parts` (GCC 12 misreports `"(" + std::string` under -Wrestrict).
std::string cat(std::initializer_list<std::string> parts) {
  std::string out;
  for (const std::string& p : parts) out.append(p);
  return out;
}

class Formulas {
 public:
  explicit Formulas(Prng& prng) : prng_(prng) {}

  /// A numeric expression over `names_` (numeric fields), `depth` levels at most.
  std::string number(int depth) {
    const std::uint64_t pick = depth <= 0 ? prng_.below(3) : prng_.below(14);
    switch (pick) {
      case 0:
      case 1:
        ++reads_;
        return names_[prng_.below(names_.size())];
      case 2:
        return literal();
      case 3:
      case 4:
      case 5: {
        static const char* kOps[] = {"+", "-", "*", "/", "%"};
        return cat({"(", number(depth - 1), " ", kOps[prng_.below(5)], " ", number(depth - 1), ")"});
      }
      case 6:
        return cat({"-", number(depth - 1)});
      case 7:
        return cat({"(if ", boolean(depth - 1), " then ", number(depth - 1), " else ",
                    number(depth - 1), ")"});
      case 8: {
        static const char* kMath[] = {"abs", "sqrt", "floor", "ceil", "round", "exp", "log"};
        return cat({kMath[prng_.below(7)], "(", number(depth - 1), ")"});
      }
      case 9:
        return cat({"pow(", number(depth - 1), ", ", number(depth - 1), ")"});
      case 10: {
        std::string call = prng_.below(2) == 0 ? "min(" : "max(";
        const std::uint64_t n = 2 + prng_.below(2);
        for (std::uint64_t k = 0; k < n; ++k) {
          if (k != 0) call.append(", ");
          call.append(number(depth - 1));
        }
        return call.append(")");
      }
      default:
        return cat({"(", number(depth - 1), " + ", number(depth - 1), ")"});
    }
  }

  std::string boolean(int depth) {
    const std::uint64_t pick = depth <= 0 ? 0 : prng_.below(6);
    static const char* kCmp[] = {"<", "<=", ">", ">=", "==", "!="};
    switch (pick) {
      case 0:
      case 1:
      case 2:
        return cat({"(", number(depth - 1), " ", kCmp[prng_.below(6)], " ", number(depth - 1), ")"});
      case 3:
        return cat({"(", boolean(depth - 1), prng_.below(2) ? " and " : " or ", boolean(depth - 1),
                    ")"});
      case 4:
        return cat({"(not ", boolean(depth - 1), ")"});
      default:
        return cat({"(", boolean(depth - 1), prng_.below(2) ? " == " : " != ", boolean(depth - 1),
                    ")"});
    }
  }

  std::string literal() {
    static const char* kLiterals[] = {"0", "1", "2", "-3", "7", "0.0", "0.5", "-2.5", "1e300",
                                      "9007199254740993", "3.75"};
    return kLiterals[prng_.below(std::size(kLiterals))];
  }

  /// A formula that reads a field (one that reads none is a state field's default).
  std::string formula(int depth) {
    for (;;) {
      reads_ = 0;
      std::string f = number(depth);
      if (reads_ > 0) return f;
    }
  }

  std::vector<std::string> names_;

 private:
  int reads_ = 0;
  Prng& prng_;
};

Value random_value(Prng& prng, bool integer) {
  if (integer) {
    static const std::int64_t kInts[] = {0, 1, -1, 2, 7, -40, 1000000,
                                         9007199254740993,  // 2^53 + 1: not a double
                                         std::numeric_limits<std::int64_t>::max(),
                                         std::numeric_limits<std::int64_t>::min()};
    return Value(kInts[prng.below(std::size(kInts))]);
  }
  static const double kReals[] = {0.0, -0.0, 1.0, -1.0, 0.5, 2.25, -3.5, 1e-300, 1e300, -1e308, 7.0};
  return Value(kReals[prng.below(std::size(kReals))]);
}

TEST(SchemaKernel, KernelsGiveTheFormulasValuesStatesAndReasonsOnRandomFormulas) {
  constexpr int kSchemas = 120;
  constexpr int kCommits = 60;
  constexpr int kDerived = 12;
  int kernels_seen = 0;
  for (int round = 0; round < kSchemas; ++round) {
    Prng prng(0x5eed0000 + static_cast<std::uint64_t>(round));
    Formulas gen(prng);
    std::string text = "entity E {\n  i0: int = 0  i1: int = 3  f0: float = 0  f1: float = 1.5"
                       "  f2: float = -2\n";
    gen.names_ = {"i0", "i1", "f0", "f1", "f2"};
    std::vector<std::string> derived;
    for (int k = 0; k < kDerived; ++k) {
      const std::string name = cat({"d", std::to_string(k)});
      // Some lazy fields (computed when read, the Context path) and some with a custom
      // equality (the lean commit runs their kernel through the Context formula).
      static const char* kAnnotations[] = {"", "", "", "", " @lazy", " @tolerance(0.5)"};
      text.append(cat({"  ", name, ": float = ", gen.formula(1 + static_cast<int>(prng.below(4))),
                       kAnnotations[prng.below(std::size(kAnnotations))], "\n"}));
      gen.names_.push_back(name);  // later formulas read it
      derived.push_back(name);
    }
    text += "}\n";
    SCOPED_TRACE(text);
    auto with = compiled(text, true);
    auto without = compiled(text, false);
    ASSERT_NE(with, nullptr);
    ASSERT_NE(without, nullptr);
    for (const std::string& d : derived) kernels_seen += has_kernel(*with, d) ? 1 : 0;
    Store a(with), b(without);
    const RecordId id = a.create("E", {}).value();
    ASSERT_EQ(b.create("E", {}).value(), id);
    auto compare = [&](int step) {
      for (const std::string& d : derived) {
        const Value va = a.get(id, d).value(), vb = b.get(id, d).value();
        EXPECT_TRUE(same(va, vb)) << "step " << step << " " << d << ": " << va.to_json() << " vs "
                                  << vb.to_json();
        const FieldCondition ca = a.graph().condition(a.node_of(id, d).value());
        const FieldCondition cb = b.graph().condition(b.node_of(id, d).value());
        EXPECT_EQ(ca, cb) << "step " << step << " " << d << ": " << ca.reason << " vs "
                          << cb.reason;
      }
    };
    auto commit_both = [&](int step) {
      const Result<CommitStats> ra = a.commit(), rb = b.commit();
      ASSERT_EQ(ra.is_ok(), rb.is_ok()) << step;
      compare(step);
    };
    commit_both(0);
    const Revision created = a.graph().revision();  // undo goes no further back
    for (int step = 1; step <= kCommits; ++step) {
      const std::uint64_t action = prng.below(10);
      if (action == 0 && a.graph().revision() > created) {
        ASSERT_TRUE(a.undo().is_ok());
        ASSERT_TRUE(b.undo().is_ok());
        compare(step);
        continue;
      }
      if (action == 1 && a.graph().can_redo()) {
        ASSERT_TRUE(a.redo().is_ok());
        ASSERT_TRUE(b.redo().is_ok());
        compare(step);
        continue;
      }
      FieldValues values;
      for (const char* f : {"i0", "i1", "f0", "f1", "f2"}) {
        if (prng.below(2) == 0) continue;
        values.emplace_back(f, random_value(prng, f[0] == 'i'));
      }
      ASSERT_TRUE(a.update(id, values).is_ok());
      ASSERT_TRUE(b.update(id, values).is_ok());
      commit_both(step);
    }
  }
  // Most formulas qualify (int arithmetic over a field does not).
  EXPECT_GT(kernels_seen, kSchemas * kDerived / 3);
}

}  // namespace
}  // namespace mgraph::schema
