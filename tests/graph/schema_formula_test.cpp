// Formulas evaluated through a Store: arithmetic, strings, conditionals, relations,
// tensors, self.

#include <gtest/gtest.h>

#include "mgraph/graph/schema/store.hpp"

namespace mgraph::schema {
namespace {

std::unique_ptr<Store> store_for(const std::string& text) {
  auto r = compile_schema(SourceFile{"t.mgs", text});
  EXPECT_TRUE(r.is_ok()) << r.status().message();
  return std::make_unique<Store>(std::move(r).value());
}

TEST(SchemaFormula, ScalarArithmeticStringsAndConditionals) {
  auto s = store_for(R"(entity A {
    n: int = 7  x: float = 2.5  name: string = "Ada"
    div: float = n / 2
    mod: int = n % 4
    cmp: bool = n > 3 and not (x >= 3) or false
    pick: string = if n > 5 then upper(name) else lower(name)
    text: string = concat(name, "-", str(n)) + "!"
    has: bool = contains(name, "da") and starts_with(name, "A")
    sub: string = substr(name, 1, 1)
    m: float = max(n, x, 3) + min(1, 2) + abs(-2) + pow(2, 3) + sqrt(16)
  })");
  const RecordId a = s->create("A", {}).value();
  ASSERT_TRUE(s->commit().is_ok());
  EXPECT_EQ(s->get(a, "div").value(), Value(3.5));
  EXPECT_EQ(s->get(a, "mod").value(), Value(std::int64_t{3}));
  EXPECT_EQ(s->get(a, "cmp").value(), Value(true));
  EXPECT_EQ(s->get(a, "pick").value(), Value("ADA"));
  EXPECT_EQ(s->get(a, "text").value(), Value("Ada-7!"));
  EXPECT_EQ(s->get(a, "has").value(), Value(true));
  EXPECT_EQ(s->get(a, "sub").value(), Value("d"));
  EXPECT_EQ(s->get(a, "m").value(), Value(7.0 + 1 + 2 + 8 + 4));
}

TEST(SchemaFormula, RelationTraversalFollowsRelinking) {
  auto s = store_for(R"(
    entity Customer { discount: float = 0 }
    entity Order { customer: one Customer via many orders  price: float = 100
                   due: float = price * (1 - customer.discount) })");
  const RecordId c1 = s->create("Customer", {{"discount", Value(0.5)}}).value();
  const RecordId c2 = s->create("Customer", {{"discount", Value(0.25)}}).value();
  const RecordId o = s->create("Order", {}).value();
  ASSERT_TRUE(s->commit().is_ok());
  EXPECT_EQ(s->get(o, "due").value(), Value(100.0));  // unlinked: the zero discount
  ASSERT_TRUE(s->link(o, "customer", c1).is_ok());
  ASSERT_TRUE(s->commit().is_ok());
  EXPECT_EQ(s->get(o, "due").value(), Value(50.0));
  ASSERT_TRUE(s->unlink(o, "customer", c1).is_ok());
  ASSERT_TRUE(s->link(c2, "orders", o).is_ok());  // from the other side
  ASSERT_TRUE(s->commit().is_ok());
  EXPECT_EQ(s->get(o, "due").value(), Value(75.0));
  ASSERT_TRUE(s->update(c2, {{"discount", Value(0.0)}}).is_ok());
  ASSERT_TRUE(s->commit().is_ok());
  EXPECT_EQ(s->get(o, "due").value(), Value(100.0));
  EXPECT_EQ(s->link(o, "customer", c1).code(), StatusCode::failed_precondition);
}

TEST(SchemaFormula, TensorFunctions) {
  auto s = store_for(R"(entity A {
    v: tensor = [1, 2, 3, 4]
    m: tensor = [[1, 2], [3, 4]]
    d: float = dot(v, v)
    mm: tensor = matmul(m, transpose(m))
    r: tensor = reshape(v, 2, 2) * 2 + 1
    col_mean: tensor = mean(m, 0)
    row_std: tensor = std(m, 1)
    w: float = window_avg(v, 2)
    tail: tensor = slice(v, 1, -1)
    total: float = sum(v) + len(v)
  })");
  const RecordId a = s->create("A", {}).value();
  ASSERT_TRUE(s->commit().is_ok());
  EXPECT_EQ(s->get(a, "d").value(), Value(30.0));
  EXPECT_EQ(s->get(a, "mm").value(), Value(Tensor::make({2, 2}, {5, 11, 11, 25}).value()));
  EXPECT_EQ(s->get(a, "r").value(), Value(Tensor::make({2, 2}, {3, 5, 7, 9}).value()));
  EXPECT_EQ(s->get(a, "col_mean").value(), Value(Tensor::make({2}, {2, 3}).value()));
  EXPECT_EQ(s->get(a, "row_std").value(), Value(Tensor::make({2}, {0.5, 0.5}).value()));
  EXPECT_EQ(s->get(a, "w").value(), Value(3.5));
  EXPECT_EQ(s->get(a, "tail").value(), Value(Tensor::make({2}, {2, 3}).value()));
  EXPECT_EQ(s->get(a, "total").value(), Value(14.0));
}

TEST(SchemaFormula, RuntimeErrorFailsTheFieldAndTheCommitStands) {
  auto s = store_for("entity A { v: tensor = [1, 2]  w: tensor = [1, 2]  d: float = dot(v, w) }");
  const RecordId a = s->create("A", {}).value();
  ASSERT_TRUE(s->commit().is_ok());
  ASSERT_TRUE(s->update(a, {{"w", Value(Tensor::make({3}, {1, 2, 3}).value())}}).is_ok());
  ASSERT_TRUE(s->commit().is_ok());
  EXPECT_EQ(s->get(a, "w").value(), Value(Tensor::make({3}, {1, 2, 3}).value()));
  EXPECT_EQ(s->get(a, "d").value(), Value(5.0));  // the last good value
  const FieldCondition c = s->graph().condition(s->node_of(a, "d").value());
  EXPECT_EQ(c.state, FieldState::failed);
  EXPECT_NE(c.reason.find("dot of tensors of different sizes"), std::string::npos) << c.reason;
}

TEST(SchemaFormula, FailTransactionMakesARuntimeErrorRollBack) {
  auto s = store_for(
      "entity A { v: tensor = [1, 2]  w: tensor = [1, 2]  d: float = dot(v, w) @fail_transaction }");
  const RecordId a = s->create("A", {}).value();
  ASSERT_TRUE(s->commit().is_ok());
  ASSERT_TRUE(s->update(a, {{"w", Value(Tensor::make({3}, {1, 2, 3}).value())}}).is_ok());
  auto res = s->commit();
  ASSERT_FALSE(res.is_ok());
  EXPECT_EQ(res.status().code(), StatusCode::formula_error);
  EXPECT_NE(res.status().message().find("dot of tensors of different sizes"), std::string::npos);
  EXPECT_EQ(s->get(a, "w").value(), Value(Tensor::make({2}, {1, 2}).value()));
  EXPECT_EQ(s->graph().condition(s->node_of(a, "d").value()).state, FieldState::ok);
}

TEST(SchemaFormula, FailTransactionAppliesToComputedFieldsOnly) {
  auto r = compile_schema(SourceFile{"t.mgs", "entity A { x: int = 1 @fail_transaction }"});
  ASSERT_FALSE(r.is_ok());
  EXPECT_NE(r.status().message().find("@fail_transaction applies to derived and effect fields only"),
            std::string::npos)
      << r.status().message();
}

TEST(SchemaFormula, DivisionByZeroAndNaNFailAFloatFieldUntilTheInputsChange) {
  auto s = store_for(
      "entity A { a: float = 1  b: float = 2  n: int = 5  k: int = 1\n"
      "  q: float = a / b  r: float = sqrt(a - b)  m: int = n % k  shown: float = q * 10 }");
  const RecordId a = s->create("A", {}).value();
  ASSERT_TRUE(s->commit().is_ok());
  auto cond = [&](const char* f) { return s->graph().condition(s->node_of(a, f).value()); };
  EXPECT_EQ(s->get(a, "shown").value(), Value(5.0));
  // Float division by zero: infinite; sqrt of a negative: NaN; int modulo by zero.
  ASSERT_TRUE(s->update(a, {{"b", Value(0.0)}, {"k", Value(std::int64_t{0})}}).is_ok());
  ASSERT_TRUE(s->commit().is_ok());
  EXPECT_EQ(cond("q").state, FieldState::failed);
  EXPECT_EQ(cond("q").reason, "A.q: the result is infinite; a float field holds finite numbers");
  EXPECT_EQ(s->get(a, "q").value(), Value(0.5));
  EXPECT_EQ(cond("m").state, FieldState::failed);
  EXPECT_NE(cond("m").reason.find("integer modulo by zero"), std::string::npos) << cond("m").reason;
  EXPECT_EQ(cond("shown").state, FieldState::blocked);
  EXPECT_EQ(cond("shown").cause, s->node_of(a, "q").value());
  EXPECT_EQ(s->get(a, "shown").value(), Value(5.0));
  ASSERT_TRUE(s->update(a, {{"a", Value(-1.0)}, {"b", Value(1.0)}}).is_ok());
  ASSERT_TRUE(s->commit().is_ok());
  EXPECT_EQ(cond("q").state, FieldState::ok);
  EXPECT_EQ(cond("r").state, FieldState::failed);
  EXPECT_EQ(cond("r").reason, "A.r: the result is NaN; a float field holds finite numbers");
  EXPECT_EQ(s->get(a, "shown").value(), Value(-10.0));
  EXPECT_EQ(cond("shown").state, FieldState::ok);
  EXPECT_TRUE(s->graph().check_invariants().is_ok());
}

TEST(SchemaFormula, AnAggregateOverAFailedMemberIsBlocked) {
  auto s = store_for(
      "entity Order { items: many Item via order  total: float = sum(items[*].net)"
      "  shown: float = total }\n"
      "entity Item { price: float = 1  qty: float = 1  net: float = price / qty }");
  const RecordId o = s->create("Order", {}).value();
  const RecordId i1 = s->create("Item", {{"price", Value(10.0)}}).value();
  const RecordId i2 = s->create("Item", {{"price", Value(4.0)}}).value();
  ASSERT_TRUE(s->link(o, "items", i1).is_ok());
  ASSERT_TRUE(s->link(o, "items", i2).is_ok());
  ASSERT_TRUE(s->commit().is_ok());
  EXPECT_EQ(s->get(o, "total").value(), Value(14.0));
  auto cond = [&](RecordId r, const char* f) { return s->graph().condition(s->node_of(r, f).value()); };
  ASSERT_TRUE(s->update(i1, {{"qty", Value(0.0)}}).is_ok());
  ASSERT_TRUE(s->update(i2, {{"price", Value(6.0)}}).is_ok());
  ASSERT_TRUE(s->commit().is_ok());
  EXPECT_EQ(cond(i1, "net").state, FieldState::failed);
  // The order's total is blocked by the failed member, and what reads it keeps its value.
  EXPECT_EQ(cond(o, "total").state, FieldState::blocked);
  EXPECT_EQ(cond(o, "total").cause, s->node_of(i1, "net").value());
  EXPECT_EQ(s->get(o, "total").value(), Value(14.0));
  EXPECT_EQ(cond(o, "shown").state, FieldState::blocked);
  EXPECT_EQ(s->get(o, "shown").value(), Value(14.0));
  ASSERT_TRUE(s->update(i1, {{"qty", Value(2.0)}}).is_ok());
  ASSERT_TRUE(s->commit().is_ok());
  EXPECT_EQ(s->get(o, "total").value(), Value(11.0));
  EXPECT_EQ(s->get(o, "shown").value(), Value(11.0));
  EXPECT_EQ(cond(o, "total").state, FieldState::ok);
  EXPECT_EQ(cond(o, "shown").state, FieldState::ok);
  EXPECT_EQ(s->graph().failed_count(), 0u);
  EXPECT_TRUE(s->graph().check_invariants().is_ok());
}

TEST(SchemaFormula, SelfAccumulatesAndDeclaredFieldsUseDeclaredInputs) {
  auto s = store_for("entity A { x: int = 1  total: int = self + x  double: int = 2 * x }");
  const RecordId a = s->create("A", {}).value();
  ASSERT_TRUE(s->commit().is_ok());
  for (int i = 2; i <= 4; ++i) {
    ASSERT_TRUE(s->update(a, {{"x", Value(i)}}).is_ok());
    ASSERT_TRUE(s->commit().is_ok());
  }
  EXPECT_EQ(s->get(a, "total").value(), Value(std::int64_t{10}));
  const NodeId d = s->node_of(a, "double").value();
  ASSERT_EQ(s->graph().dependencies(d).size(), 1u);
  EXPECT_EQ(s->graph().dependencies(d)[0], s->node_of(a, "x").value());
}

}  // namespace
}  // namespace mgraph::schema
