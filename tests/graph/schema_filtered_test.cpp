// Filtered aggregates (`count(items[*] where price > 10)`): values as members' fields
// change, as they are linked, unlinked and deleted, through undo and redo, on both the
// incremental and the full-recompute path; and the errors of bad conditions.

#include <gtest/gtest.h>

#include <string>

#include "mgraph/graph/schema/store.hpp"
#include "support/schema_files.hpp"

namespace mgraph::schema {
namespace {

constexpr const char* kOrders = R"(
entity Order {
  items: many Item via order
  n_big: int = count(items[*] where price > 10)
  n_all: int = count(items)
  paid: float = sum(items[*].price where qty > 0)
  mean_big: float = avg(items[*].price where price > 10)
  low_big: float = min(items[*].price where price > 10)
  high_small: float = max(items[*].price where price <= 10)
  any_free: bool = any(items[*].free where qty > 0)
  all_free: bool = every(items[*].free where qty > 0)
  qty_big: int = sum(items[*].qty where line > 50)
}
entity Item {
  price: float = 0
  qty: int = 1
  line: float = price * qty
  free: bool = price == 0
}
)";

std::unique_ptr<Store> store_for(const char* text, bool incremental) {
  auto r = compile_schema(SourceFile{"t.mgs", text}, CompileOptions{incremental});
  EXPECT_TRUE(r.is_ok()) << r.status().message();
  return std::make_unique<Store>(std::move(r).value());
}

Value i64(std::int64_t v) { return Value(v); }

class SchemaFiltered : public ::testing::TestWithParam<bool> {};

TEST_P(SchemaFiltered, MembersEnterAndLeaveAsTheirFieldsLinksAndRecordsChange) {
  auto s = store_for(kOrders, GetParam());
  const RecordId o = s->create("Order", {}).value();
  const RecordId a = s->create("Item", {{"price", Value(5.0)}, {"qty", i64(2)}}).value();
  const RecordId b = s->create("Item", {{"price", Value(20.0)}, {"qty", i64(3)}}).value();
  const RecordId c = s->create("Item", {{"price", Value(0.0)}, {"qty", i64(0)}}).value();
  for (RecordId i : {a, b, c}) ASSERT_TRUE(s->link(o, "items", i).is_ok());
  ASSERT_TRUE(s->commit().is_ok());
  auto get = [&](const char* f) { return s->get(o, f).value(); };
  EXPECT_EQ(get("n_big"), i64(1));
  EXPECT_EQ(get("n_all"), i64(3));
  EXPECT_EQ(get("paid"), Value(25.0));  // c has qty 0
  EXPECT_EQ(get("mean_big"), Value(20.0));
  EXPECT_EQ(get("low_big"), Value(20.0));
  EXPECT_EQ(get("high_small"), Value(5.0));
  EXPECT_EQ(get("any_free"), Value(false));  // c is free but has qty 0
  EXPECT_EQ(get("all_free"), Value(false));
  EXPECT_EQ(get("qty_big"), i64(3));  // b's line is 60

  // c's qty flips its condition: it enters paid, any_free and all_free.
  ASSERT_TRUE(s->update(c, {{"qty", i64(1)}}).is_ok());
  // a's price flips price > 10: it leaves high_small and enters the big ones.
  ASSERT_TRUE(s->update(a, {{"price", Value(30.0)}}).is_ok());
  ASSERT_TRUE(s->commit().is_ok());
  EXPECT_EQ(get("n_big"), i64(2));
  EXPECT_EQ(get("paid"), Value(50.0));
  EXPECT_EQ(get("mean_big"), Value(25.0));
  EXPECT_EQ(get("low_big"), Value(20.0));
  EXPECT_EQ(get("high_small"), Value(0.0));
  EXPECT_EQ(get("any_free"), Value(true));
  EXPECT_EQ(get("all_free"), Value(false));
  EXPECT_EQ(get("qty_big"), i64(5));  // a's line is 60 now

  // Unlinking and deleting members take them out; the empty filter gives the zeros.
  ASSERT_TRUE(s->unlink(o, "items", b).is_ok());
  ASSERT_TRUE(s->remove(a).is_ok());
  ASSERT_TRUE(s->commit().is_ok());
  EXPECT_EQ(get("n_big"), i64(0));
  EXPECT_EQ(get("n_all"), i64(1));
  EXPECT_EQ(get("paid"), Value(0.0));
  EXPECT_EQ(get("mean_big"), Value(0.0));
  EXPECT_EQ(get("low_big"), Value(0.0));
  EXPECT_EQ(get("all_free"), Value(true));  // c alone: free, qty 1
  EXPECT_EQ(get("qty_big"), i64(0));

  // Undo brings a and b back with their contributions; redo takes them out again.
  ASSERT_TRUE(s->undo().is_ok());
  EXPECT_EQ(get("n_big"), i64(2));
  EXPECT_EQ(get("low_big"), Value(20.0));
  EXPECT_EQ(get("qty_big"), i64(5));
  ASSERT_TRUE(s->redo().is_ok());
  EXPECT_EQ(get("n_big"), i64(0));
  EXPECT_EQ(get("all_free"), Value(true));
}

TEST_P(SchemaFiltered, ConditionsMayFollowRelationsAndNestedPatterns) {
  auto s = store_for(R"(
    entity Customer {
      vip: bool = false
      orders: many Order via customer
      big: int = count(orders[*].items[*] where price > 10)
      vip_lines: int = count(orders[*].items[*] where order.customer.vip)
    }
    entity Order { items: many Item via order }
    entity Item { price: float = 0 })",
                     GetParam());
  const RecordId c = s->create("Customer", {}).value();
  const RecordId o = s->create("Order", {}).value();
  const RecordId i = s->create("Item", {{"price", Value(11.0)}}).value();
  ASSERT_TRUE(s->link(c, "orders", o).is_ok());
  ASSERT_TRUE(s->link(o, "items", i).is_ok());
  ASSERT_TRUE(s->commit().is_ok());
  EXPECT_EQ(s->get(c, "big").value(), i64(1));
  EXPECT_EQ(s->get(c, "vip_lines").value(), i64(0));
  ASSERT_TRUE(s->update(c, {{"vip", Value(true)}}).is_ok());
  ASSERT_TRUE(s->update(i, {{"price", Value(1.0)}}).is_ok());
  ASSERT_TRUE(s->commit().is_ok());
  EXPECT_EQ(s->get(c, "big").value(), i64(0));
  EXPECT_EQ(s->get(c, "vip_lines").value(), i64(1));
}

INSTANTIATE_TEST_SUITE_P(IncrementalAndFull, SchemaFiltered, ::testing::Bool(),
                         [](const auto& info) { return info.param ? "Incremental" : "Full"; });

using testing::compile_error;

constexpr const char* kItem = "entity I { price: float = 0  o: one O via many items }\n";

TEST(SchemaFilteredErrors, BadConditionsAreReportedAtTheirPlace) {
  // Not a bool.
  EXPECT_EQ(compile_error(std::string("entity O { n: int = count(items[*] where price) }\n") +
                          kItem),
            "t.mgs:1:42: error: 'where' needs a bool condition over the fields of I, got float\n"
            "  entity O { n: int = count(items[*] where price) }\n"
            "                                           ^");
  // A name of the owner, not of the member.
  EXPECT_NE(compile_error(std::string("entity O { k: int = 1  n: int = count(items[*] where "
                                      "k > 0) }\n") +
                          kItem)
                .find("1:54: error: unknown name 'k' in entity I"),
            std::string::npos);
  // Outside an aggregate.
  EXPECT_NE(compile_error(std::string("entity O { x: float = 1  n: bool = x where x > 0 }\n") +
                          kItem)
                .find("expected"),
            std::string::npos);
  EXPECT_NE(
      compile_error(std::string("entity O { x: float = 1  n: float = max(x where x > 0, 1) }\n") +
                    kItem)
          .find("'where' filters the members of a collection"),
      std::string::npos);
  // wavg takes none.
  EXPECT_NE(compile_error(std::string("entity O { w: float = wavg(items[*].price where price > "
                                      "0, items[*].price) }\n") +
                          kItem)
                .find("wavg takes no 'where'"),
            std::string::npos);
  // `where` is reserved.
  EXPECT_NE(compile_error("entity O { where: int = 1 }").find("expected"), std::string::npos);
}

}  // namespace
}  // namespace mgraph::schema
