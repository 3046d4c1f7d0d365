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

TEST(SchemaFormula, RuntimeErrorFailsTheCommitAndRollsBack) {
  auto s = store_for("entity A { v: tensor = [1, 2]  w: tensor = [1, 2]  d: float = dot(v, w) }");
  const RecordId a = s->create("A", {}).value();
  ASSERT_TRUE(s->commit().is_ok());
  ASSERT_TRUE(s->update(a, {{"w", Value(Tensor::make({3}, {1, 2, 3}).value())}}).is_ok());
  auto res = s->commit();
  ASSERT_FALSE(res.is_ok());
  EXPECT_EQ(res.status().code(), StatusCode::formula_error);
  EXPECT_NE(res.status().message().find("dot of tensors of different sizes"), std::string::npos);
  EXPECT_EQ(s->get(a, "d").value(), Value(5.0));
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
