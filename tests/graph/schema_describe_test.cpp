// Store::describe: what a node is and holds, read without computing anything — the
// engine side of `mgraphctl explain` and `mgraphctl dot`.

#include <gtest/gtest.h>

#include <algorithm>

#include "mgraph/graph/schema/store.hpp"

namespace mgraph::schema {
namespace {

constexpr const char* kOrders = R"(entity Order {
  discount: float = 0
  items: many Item via order
  subtotal: float = sum(items[*].price)
  total: float = subtotal * (1 - discount)
}
entity Item { price: float = 0 }
)";

std::shared_ptr<const Schema> orders() {
  auto r = compile_schema(SourceFile{"orders.mgs", kOrders});
  EXPECT_TRUE(r.is_ok()) << r.status().message();
  return std::move(r).value();
}

/// The names of `view`'s inputs.
std::vector<std::string> input_names(const Store& s, const Store::NodeView& view) {
  std::vector<std::string> names;
  for (const NodeId n : view.inputs) names.push_back(s.describe(n).name);
  std::sort(names.begin(), names.end());
  return names;
}

TEST(SchemaDescribe, NamesAFieldsKindValueVersionLineAndInputs) {
  Store s(orders());
  const RecordId o = s.create("Order", {{"discount", Value(0.5)}}).value();
  const RecordId i = s.create("Item", {{"price", Value(40.0)}}).value();
  ASSERT_TRUE(s.link(o, "items", i).is_ok());
  ASSERT_TRUE(s.commit().is_ok());

  const Store::NodeView total = s.describe(s.node_of(o, "total").value());
  EXPECT_EQ(total.name, "Order#1.total");
  EXPECT_EQ(total.record, o);
  EXPECT_STREQ(total.kind, "derived");
  EXPECT_EQ(total.value, Value(20.0));
  EXPECT_EQ(total.version, 1u);
  EXPECT_EQ(total.line, 5u);
  EXPECT_FALSE(total.mirror);
  EXPECT_EQ(input_names(s, total), (std::vector<std::string>{"Order#1.discount", "Order#1.subtotal"}));

  const Store::NodeView discount = s.describe(s.node_of(o, "discount").value());
  EXPECT_STREQ(discount.kind, "state");
  EXPECT_EQ(discount.line, 2u);
  EXPECT_TRUE(discount.inputs.empty());
  // The subtotal reads the accumulator the Store keeps over the items' prices.
  const Store::NodeView subtotal = s.describe(s.node_of(o, "subtotal").value());
  ASSERT_FALSE(subtotal.inputs.empty());
  EXPECT_STREQ(s.describe(subtotal.inputs[0]).kind, "input");
}

TEST(SchemaDescribe, ReadsCommittedValuesAndComputesNothingInsideATransaction) {
  Store s(orders());
  const RecordId o = s.create("Order", {}).value();
  const RecordId i = s.create("Item", {{"price", Value(10.0)}}).value();
  ASSERT_TRUE(s.link(o, "items", i).is_ok());
  ASSERT_TRUE(s.commit().is_ok());
  ASSERT_TRUE(s.update(i, {{"price", Value(30.0)}}).is_ok());
  const NodeId total = s.node_of(o, "total").value();
  ASSERT_TRUE(s.graph().mark().is_ok());
  ASSERT_TRUE(s.graph().is_stale(total));
  EXPECT_EQ(s.describe(total).value, Value(10.0));
  EXPECT_EQ(s.describe(s.node_of(i, "price").value()).value, Value(10.0));
  EXPECT_TRUE(s.graph().is_stale(total));  // describe computed nothing
  ASSERT_TRUE(s.commit().is_ok());
  EXPECT_EQ(s.describe(total).value, Value(30.0));
  EXPECT_EQ(s.describe(total).version, 2u);
}

TEST(SchemaDescribe, AFieldAnotherPartitionComputesIsAMirrorWithoutInputs) {
  StoreOptions options;
  options.placement = Placement{0, 2, 0};
  Store s(orders(), options);
  // Records until one is owned by each partition.
  RecordId mine = 0, theirs = 0;
  for (int k = 0; k < 64 && (mine == 0 || theirs == 0); ++k) {
    const RecordId id = s.create("Order", {}).value();
    (s.owns(id) ? mine : theirs) = id;
  }
  ASSERT_NE(mine, 0u);
  ASSERT_NE(theirs, 0u);
  const Store::NodeView here = s.describe(s.node_of(mine, "total").value());
  EXPECT_FALSE(here.mirror);
  EXPECT_EQ(here.inputs.size(), 2u);
  const Store::NodeView there = s.describe(s.node_of(theirs, "total").value());
  EXPECT_TRUE(there.mirror);
  EXPECT_STREQ(there.kind, "derived");  // the field's kind, computed at its owner
  EXPECT_TRUE(there.inputs.empty());
  // State fields are applied on every partition: no mirror.
  EXPECT_FALSE(s.describe(s.node_of(theirs, "discount").value()).mirror);
}

}  // namespace
}  // namespace mgraph::schema
