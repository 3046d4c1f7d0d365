// Relation properties (`items: many Item via order { qty: int = 1 }`): read in patterns
// (`items[*].link.qty`), filters (`where link.qty > 2`), one-hops (`order.link.qty`) and
// wsum; written by link and update_link; gone with unlink and delete; restored by undo and
// redo and images; shared by both sides of a relation that is its own inverse; on the
// incremental and the full-recompute path alike. Also every(..., notEmpty) and wsum.

#include <gtest/gtest.h>

#include <string>

#include "mgraph/graph/schema/store.hpp"
#include "support/schema_files.hpp"

namespace mgraph::schema {

struct StoreProbe {
  static std::uint64_t values_read(const Store& s) { return s.values_read_; }
};

namespace {

constexpr const char* kOrders = R"(
entity Order {
  items: many Item via order { qty: int = 1  paid: bool = false  note: string = "" }
  units: int = sum(items[*].link.qty)
  lines: int = count(items)
  big_lines: int = count(items[*] where link.qty > 2)
  value: float = wsum(items[*].price, items[*].link.qty)
  mean_price: float = wavg(items[*].price, items[*].link.qty)
  dear_units: int = sum(items[*].link.qty where price > 10)
  dear_big: int = count(items[*] where link.qty > 2 and price > 10)
  most: int = max(items[*].link.qty)
  least: int = min(items[*].link.qty)
  mean_qty: float = avg(items[*].link.qty)
  all_paid: bool = every(items[*].link.paid)
  all_paid_some: bool = every(items[*].link.paid, notEmpty)
  any_paid: bool = any(items[*].link.paid, notEmpty)
  noted: int = count(items[*] where link.note != "")
}
entity Item {
  price: float = 0
  my_qty: int = order.link.qty
  my_line: float = price * order.link.qty
}
)";

std::shared_ptr<const Schema> compiled(const char* text, bool incremental) {
  auto r = compile_schema(SourceFile{"t.mgs", text}, CompileOptions{incremental});
  EXPECT_TRUE(r.is_ok()) << r.status().message();
  return std::move(r).value();
}

Value i64(std::int64_t v) { return Value(v); }

using testing::compile_outcome;

class SchemaLinkProperties : public ::testing::TestWithParam<bool> {};

TEST_P(SchemaLinkProperties, PropertiesAreReadInPatternsFiltersAndOneHops) {
  Store s(compiled(kOrders, GetParam()));
  const RecordId o = s.create("Order", {}).value();
  const RecordId a = s.create("Item", {{"price", Value(5.0)}}).value();
  const RecordId b = s.create("Item", {{"price", Value(20.0)}}).value();
  auto get = [&](RecordId id, const char* f) { return s.get(id, f).value(); };
  // Empty: every is true, every with notEmpty false.
  ASSERT_TRUE(s.commit().is_ok());
  EXPECT_EQ(get(o, "all_paid"), Value(true));
  EXPECT_EQ(get(o, "all_paid_some"), Value(false));
  EXPECT_EQ(get(o, "any_paid"), Value(false));
  ASSERT_TRUE(s.link(o, "items", a, {{"qty", i64(2)}}).is_ok());
  ASSERT_TRUE(s.link(o, "items", b, {{"qty", i64(3)}, {"paid", Value(true)}}).is_ok());
  ASSERT_TRUE(s.commit().is_ok());
  EXPECT_EQ(get(o, "units"), i64(5));
  EXPECT_EQ(get(o, "lines"), i64(2));
  EXPECT_EQ(get(o, "big_lines"), i64(1));
  EXPECT_EQ(get(o, "value"), Value(5.0 * 2 + 20.0 * 3));
  EXPECT_EQ(get(o, "mean_price"), Value((5.0 * 2 + 20.0 * 3) / 5));
  EXPECT_EQ(get(o, "dear_units"), i64(3));
  EXPECT_EQ(get(o, "dear_big"), i64(1));
  EXPECT_EQ(get(o, "most"), i64(3));
  EXPECT_EQ(get(o, "least"), i64(2));
  EXPECT_EQ(get(o, "mean_qty"), Value(2.5));
  EXPECT_EQ(get(o, "all_paid"), Value(false));
  EXPECT_EQ(get(o, "all_paid_some"), Value(false));
  EXPECT_EQ(get(o, "any_paid"), Value(true));
  EXPECT_EQ(get(a, "my_qty"), i64(2));
  EXPECT_EQ(get(b, "my_line"), Value(60.0));
  const RecordId la = s.link_record(o, "items", a).value();
  EXPECT_EQ(s.link_record(a, "order", o).value(), la);  // one record, seen from both sides
  EXPECT_EQ(get(la, "qty"), i64(2));

  // A property changes: everything that reads it follows.
  ASSERT_TRUE(s.update_link(a, "order", o, {{"qty", i64(7)}, {"paid", Value(true)}}).is_ok());
  ASSERT_TRUE(s.commit().is_ok());
  EXPECT_EQ(get(o, "units"), i64(10));
  EXPECT_EQ(get(o, "big_lines"), i64(2));
  EXPECT_EQ(get(o, "value"), Value(5.0 * 7 + 20.0 * 3));
  EXPECT_EQ(get(o, "most"), i64(7));
  EXPECT_EQ(get(o, "least"), i64(3));
  EXPECT_EQ(get(o, "all_paid"), Value(true));
  EXPECT_EQ(get(o, "all_paid_some"), Value(true));
  EXPECT_EQ(get(a, "my_qty"), i64(7));
  // A member's field changes: the filters over the link follow too.
  ASSERT_TRUE(s.update(a, {{"price", Value(50.0)}}).is_ok());
  ASSERT_TRUE(s.commit().is_ok());
  EXPECT_EQ(get(o, "dear_units"), i64(10));
  EXPECT_EQ(get(o, "dear_big"), i64(2));
  EXPECT_EQ(get(o, "value"), Value(50.0 * 7 + 20.0 * 3));

  // Unlinking takes the property away; undo brings it back, redo takes it again.
  ASSERT_TRUE(s.unlink(o, "items", a).is_ok());
  ASSERT_TRUE(s.commit().is_ok());
  EXPECT_EQ(get(o, "units"), i64(3));
  EXPECT_EQ(get(a, "my_qty"), i64(0));
  EXPECT_FALSE(s.link_record(o, "items", a).is_ok());
  EXPECT_FALSE(s.exists(la));
  ASSERT_TRUE(s.undo().is_ok());
  EXPECT_EQ(get(o, "units"), i64(10));
  EXPECT_EQ(get(a, "my_qty"), i64(7));
  EXPECT_EQ(s.link_record(o, "items", a).value(), la);
  ASSERT_TRUE(s.redo().is_ok());
  EXPECT_EQ(get(o, "units"), i64(3));
  // Linked again: a new link record with the defaults.
  ASSERT_TRUE(s.link(o, "items", a).is_ok());
  ASSERT_TRUE(s.commit().is_ok());
  EXPECT_EQ(get(o, "units"), i64(4));
  EXPECT_NE(s.link_record(o, "items", a).value(), la);
  // Undo twice: the first link record is the live one again.
  ASSERT_TRUE(s.undo().is_ok());
  ASSERT_TRUE(s.undo().is_ok());
  EXPECT_EQ(s.link_record(o, "items", a).value(), la);
  ASSERT_TRUE(s.update_link(o, "items", a, {{"qty", i64(1)}}).is_ok());
  ASSERT_TRUE(s.commit().is_ok());
  EXPECT_EQ(get(o, "units"), i64(4));

  // Deleting a member deletes its link record.
  ASSERT_TRUE(s.remove(b).is_ok());
  ASSERT_TRUE(s.commit().is_ok());
  EXPECT_EQ(get(o, "units"), i64(1));
  EXPECT_EQ(get(o, "lines"), i64(1));
  // A rejected link leaves nothing.
  ASSERT_TRUE(s.link(o, "items", b).is_ok() == false);  // b is deleted
  const RecordId c = s.create("Item", {}).value();
  ASSERT_TRUE(s.link(o, "items", c, {{"qty", i64(100)}}).is_ok());
  s.reject();
  EXPECT_EQ(get(o, "units"), i64(1));
  EXPECT_FALSE(s.exists(c));
}

TEST_P(SchemaLinkProperties, ScriptsMayNotWriteLinkRecordsOrHiddenRelationsDirectly) {
  Store s(compiled(kOrders, GetParam()));
  const RecordId o = s.create("Order", {}).value();
  const RecordId a = s.create("Item", {}).value();
  ASSERT_TRUE(s.link(o, "items", a).is_ok());
  ASSERT_TRUE(s.commit().is_ok());
  const RecordId l = s.link_record(o, "items", a).value();
  EXPECT_NE(s.update(l, {{"qty", i64(3)}}).message().find("update-link"), std::string::npos);
  EXPECT_NE(s.remove(l).message().find("link record"), std::string::npos);
  EXPECT_NE(s.create("Order.items", {}).status().message().find("made by link"), std::string::npos);
  EXPECT_FALSE(s.link(o, "items@link", l).is_ok());
  EXPECT_EQ(s.update_link(o, "items", a, {{"qty", Value("x")}}).code(), StatusCode::invalid_argument);
  EXPECT_EQ(s.update_link(o, "items", a, {{"nope", i64(1)}}).code(), StatusCode::not_found);
  EXPECT_EQ(s.link(o, "items", s.create("Item", {}).value(), {{"nope", i64(1)}}).code(),
            StatusCode::not_found);
  s.reject();
  EXPECT_EQ(s.get(o, "units").value(), i64(1));
}

constexpr const char* kFriends = R"(
entity Person {
  age: int = 0
  friends: many Person via many friends { weight: float = 1  since: int = 0 }
  bond: float = sum(friends[*].link.weight)
  close_elders: int = count(friends[*] where link.weight > 2 and age > 30)
  old_ties: int = count(friends[*] where link.since < 2000)
  weighted_age: float = wsum(friends[*].age, friends[*].link.weight)
}
)";

TEST_P(SchemaLinkProperties, ASymmetricRelationSharesItsPropertiesBetweenBothSides) {
  Store s(compiled(kFriends, GetParam()));
  const RecordId p = s.create("Person", {{"age", i64(20)}}).value();
  const RecordId q = s.create("Person", {{"age", i64(40)}}).value();
  const RecordId r = s.create("Person", {{"age", i64(50)}}).value();
  ASSERT_TRUE(s.link(p, "friends", q, {{"weight", Value(3.0)}, {"since", i64(1990)}}).is_ok());
  ASSERT_TRUE(s.link(r, "friends", p, {{"weight", Value(0.5)}}).is_ok());
  ASSERT_TRUE(s.commit().is_ok());
  auto get = [&](RecordId id, const char* f) { return s.get(id, f).value(); };
  EXPECT_EQ(get(p, "bond"), Value(3.5));
  EXPECT_EQ(get(q, "bond"), Value(3.0));
  EXPECT_EQ(get(r, "bond"), Value(0.5));
  EXPECT_EQ(get(p, "close_elders"), i64(1));  // q
  EXPECT_EQ(get(q, "close_elders"), i64(0));  // p is 20
  EXPECT_EQ(get(p, "old_ties"), i64(2));  // r's link has since 0
  EXPECT_EQ(get(q, "old_ties"), i64(1));
  EXPECT_EQ(get(p, "weighted_age"), Value(40 * 3.0 + 50 * 0.5));
  EXPECT_EQ(get(q, "weighted_age"), Value(20 * 3.0));
  // Written from either side, both see it.
  ASSERT_TRUE(s.update_link(q, "friends", p, {{"weight", Value(1.0)}}).is_ok());
  ASSERT_TRUE(s.commit().is_ok());
  EXPECT_EQ(get(p, "bond"), Value(1.5));
  EXPECT_EQ(get(q, "bond"), Value(1.0));
  EXPECT_EQ(get(p, "close_elders"), i64(0));
  EXPECT_EQ(s.get(s.link_record(p, "friends", q).value(), "weight").value(), Value(1.0));
  EXPECT_EQ(s.get(s.link_record(q, "friends", p).value(), "weight").value(), Value(1.0));
  ASSERT_TRUE(s.update(r, {{"age", i64(10)}}).is_ok());
  ASSERT_TRUE(s.commit().is_ok());
  EXPECT_EQ(get(p, "weighted_age"), Value(40 * 1.0 + 10 * 0.5));
  // Unlinked from the other side than it was linked from.
  ASSERT_TRUE(s.unlink(q, "friends", p).is_ok());
  ASSERT_TRUE(s.commit().is_ok());
  EXPECT_EQ(get(p, "bond"), Value(0.5));
  EXPECT_EQ(get(q, "bond"), Value(0.0));
  ASSERT_TRUE(s.undo().is_ok());
  EXPECT_EQ(get(p, "bond"), Value(1.5));
  EXPECT_EQ(get(q, "bond"), Value(1.0));
  // Deleting a person takes its links from both sides.
  ASSERT_TRUE(s.remove(p).is_ok());
  ASSERT_TRUE(s.commit().is_ok());
  EXPECT_EQ(get(q, "bond"), Value(0.0));
  EXPECT_EQ(get(r, "bond"), Value(0.0));
}

TEST_P(SchemaLinkProperties, AnImageKeepsTheLinksAndTheirProperties) {
  Store s(compiled(kFriends, GetParam()));
  const RecordId p = s.create("Person", {{"age", i64(35)}}).value();
  const RecordId q = s.create("Person", {{"age", i64(40)}}).value();
  ASSERT_TRUE(s.link(p, "friends", q, {{"weight", Value(3.0)}}).is_ok());
  ASSERT_TRUE(s.commit().is_ok());
  ASSERT_TRUE(s.update_link(p, "friends", q, {{"weight", Value(4.0)}}).is_ok());
  ASSERT_TRUE(s.commit().is_ok());
  Result<StoreImage> image = s.export_image();
  ASSERT_TRUE(image.is_ok()) << image.status().message();
  Store t(compiled(kFriends, GetParam()));
  ASSERT_TRUE(t.import_image(std::move(image).value()).is_ok());
  EXPECT_EQ(t.get(p, "bond").value(), Value(4.0));
  EXPECT_EQ(t.get(q, "close_elders").value(), i64(1));
  // The restored store finds the link records and undoes the history as the original.
  ASSERT_TRUE(t.update_link(q, "friends", p, {{"weight", Value(1.0)}}).is_ok());
  ASSERT_TRUE(t.commit().is_ok());
  EXPECT_EQ(t.get(p, "bond").value(), Value(1.0));
  ASSERT_TRUE(t.undo().is_ok());
  ASSERT_TRUE(t.undo().is_ok());
  EXPECT_EQ(t.get(p, "bond").value(), Value(3.0));
  EXPECT_EQ(t.get(q, "bond").value(), Value(3.0));
}

INSTANTIATE_TEST_SUITE_P(Paths, SchemaLinkProperties, ::testing::Values(true, false),
                         [](const auto& info) { return info.param ? "incremental" : "full"; });

TEST(SchemaLinkProperties, AChangedPropertyOfOneLinkAmong10000LooksAtItOnly) {
  Store s(compiled(kOrders, true));
  const RecordId o = s.create("Order", {}).value();
  std::vector<RecordId> items;
  for (int k = 0; k < 10000; ++k) {
    items.push_back(s.create("Item", {{"price", Value(static_cast<double>(k % 100))}}).value());
    ASSERT_TRUE(s.link(o, "items", items.back(), {{"qty", i64(1 + k % 3)}}).is_ok());
  }
  ASSERT_TRUE(s.commit().is_ok());
  const Value units = s.get(o, "units").value();
  const std::uint64_t before = StoreProbe::values_read(s);
  const Status st = s.update_link(o, "items", items[4321], {{"qty", i64(50)}});
  ASSERT_TRUE(st.is_ok()) << st.message();
  ASSERT_TRUE(s.commit().is_ok());
  // A few values per aggregate over the link, not the 10,000 members.
  EXPECT_LT(StoreProbe::values_read(s) - before, 200u);
  EXPECT_EQ(s.get(o, "units").value(), i64(units.as_int() - (1 + 4321 % 3) + 50));
  EXPECT_EQ(s.get(o, "most").value(), i64(50));
}

TEST(SchemaLinkProperties, LinkEventsNameTheLinkedRecordsAsLinkRecordsAreMade) {
  Store s(compiled(kOrders, true));
  std::vector<MutationEvent> links;
  s.on_event([&](const MutationEvent& e) {
    if (e.type == MutationType::link && e.relation != kNone &&
        s.schema().entities[e.entity].link_of == kNone) {
      links.push_back(e);
    }
  });
  const RecordId o = s.create("Order", {}).value();
  // Enough links for the record table to grow while a link is being made.
  for (int k = 0; k < 300; ++k) {
    const RecordId i = s.create("Item", {}).value();
    ASSERT_TRUE(s.link(o, "items", i, {{"qty", i64(k)}}).is_ok());
  }
  ASSERT_TRUE(s.commit().is_ok());
  ASSERT_EQ(links.size(), 300u);
  for (const MutationEvent& e : links) {
    EXPECT_EQ(s.schema().entities[e.entity].name, "Order");
    EXPECT_EQ(e.record, o);
  }
  EXPECT_EQ(s.get(o, "units").value(), i64(299 * 300 / 2));
}

TEST(SchemaLinkProperties, ErrorsNameThePlace) {
  EXPECT_NE(compile_outcome(R"(
entity A { bs: many B via a { w: int = x } }
entity B { x: int = 0 })")
                .find("link property w has a formula"),
            std::string::npos);
  EXPECT_NE(compile_outcome(R"(
entity A { bs: many B via a  n: int = sum(bs[*].link.w) }
entity B { x: int = 0 })")
                .find("A.bs has none"),
            std::string::npos);
  EXPECT_NE(compile_outcome(R"(
entity A { bs: many B via a { w: int = 1 } }
entity B { a: one A via many bs { v: int = 1 } })")
                .find("declared on both sides"),
            std::string::npos);
  EXPECT_NE(compile_outcome(R"(
entity A { bs: many B via a { source: int = 1 } }
entity B { x: int = 0 })")
                .find("may not be named 'source'"),
            std::string::npos);
  EXPECT_NE(compile_outcome(R"(
entity A { bs: many B via a { w: int = 1 }  n: int = count(bs[*] where link.w > 1 and w > 1) }
entity B { x: int = 0 })")
                .find("write link.w"),
            std::string::npos);
  EXPECT_NE(compile_outcome(R"(
entity A { bs: many B via a { w: int = 1 }  n: int = count(bs[*] where link.w) }
entity B { x: int = 0 })")
                .find("needs a bool condition over the fields of B and its link"),
            std::string::npos);
  EXPECT_NE(compile_outcome(R"(
entity A { bs: many B via a  n: bool = every(bs[*].ok, always) }
entity B { ok: bool = true })")
                .find("notEmpty"),
            std::string::npos);
  EXPECT_NE(compile_outcome(R"(
entity A { bs: many B via a  cs: many C via a  n: float = wsum(bs[*].x, cs[*].x) }
entity B { x: int = 0 }  entity C { x: int = 0 })")
                .find("wsum takes two numeric patterns over the same collection"),
            std::string::npos);
  // A relation without properties takes no values at link.
  Store s(compiled("entity A { bs: many B via a }  entity B { x: int = 0 }", true));
  const RecordId a = s.create("A", {}).value(), b = s.create("B", {}).value();
  EXPECT_NE(s.link(a, "bs", b, {{"w", i64(1)}}).message().find("has no properties"),
            std::string::npos);
  EXPECT_NE(s.update_link(a, "bs", b, {{"w", i64(1)}}).message().find("has no properties"),
            std::string::npos);
}

TEST(SchemaLinkProperties, ANestedConditionReadsItsOwnMembersLinks) {
  constexpr const char* kText = R"(
entity Order {
  items: many Item via order { qty: int = 1 }
  tagged: int = count(items[*] where count(tags[*] where link.w > 1) > 0)
  tagged_big: int = count(items[*] where link.qty > 1 and count(tags[*] where link.w > 1) > 0)
}
entity Item { tags: many Tag via many items { w: int = 0 } }
entity Tag { x: int = 0 }
)";
  for (const bool incremental : {true, false}) {
    Store s(compiled(kText, incremental));
    const RecordId o = s.create("Order", {}).value();
    const RecordId i = s.create("Item", {}).value();
    const RecordId t = s.create("Tag", {}).value();
    ASSERT_TRUE(s.link(o, "items", i).is_ok());
    ASSERT_TRUE(s.link(i, "tags", t, {{"w", i64(2)}}).is_ok());
    ASSERT_TRUE(s.commit().is_ok());
    EXPECT_EQ(s.get(o, "tagged").value(), i64(1));
    EXPECT_EQ(s.get(o, "tagged_big").value(), i64(0));
    ASSERT_TRUE(s.update_link(t, "items", i, {{"w", i64(0)}}).is_ok());
    ASSERT_TRUE(s.update_link(o, "items", i, {{"qty", i64(5)}}).is_ok());
    ASSERT_TRUE(s.commit().is_ok());
    EXPECT_EQ(s.get(o, "tagged").value(), i64(0));
    ASSERT_TRUE(s.update_link(i, "tags", t, {{"w", i64(3)}}).is_ok());
    ASSERT_TRUE(s.commit().is_ok());
    EXPECT_EQ(s.get(o, "tagged").value(), i64(1));
    EXPECT_EQ(s.get(o, "tagged_big").value(), i64(1));
  }
}

TEST(SchemaWsum, IsTheSumOfValueTimesWeightOnBothPaths) {
  constexpr const char* kText = R"(
entity Order {
  items: many Item via order
  value: float = wsum(items[*].price, items[*].qty)
  line_value: float = wsum(items[*].price, items[*].line)
  some_ok: bool = every(items[*].ok, notEmpty)
}
entity Item { price: float = 0  qty: int = 1  line: float = price * 2  ok: bool = true }
)";
  for (const bool incremental : {true, false}) {
    Store s(compiled(kText, incremental));
    const RecordId o = s.create("Order", {}).value();
    ASSERT_TRUE(s.commit().is_ok());
    EXPECT_EQ(s.get(o, "value").value(), Value(0.0));
    EXPECT_EQ(s.get(o, "some_ok").value(), Value(false));
    const RecordId a = s.create("Item", {{"price", Value(2.0)}, {"qty", i64(3)}}).value();
    const RecordId b = s.create("Item", {{"price", Value(5.0)}, {"qty", i64(4)}}).value();
    ASSERT_TRUE(s.link(o, "items", a).is_ok());
    ASSERT_TRUE(s.link(o, "items", b).is_ok());
    ASSERT_TRUE(s.commit().is_ok());
    EXPECT_EQ(s.get(o, "value").value(), Value(26.0));
    EXPECT_EQ(s.get(o, "line_value").value(), Value(2.0 * 4 + 5.0 * 10));
    EXPECT_EQ(s.get(o, "some_ok").value(), Value(true));
    ASSERT_TRUE(s.update(b, {{"ok", Value(false)}, {"qty", i64(1)}}).is_ok());
    ASSERT_TRUE(s.commit().is_ok());
    EXPECT_EQ(s.get(o, "value").value(), Value(11.0));
    EXPECT_EQ(s.get(o, "some_ok").value(), Value(false));
  }
}

}  // namespace
}  // namespace mgraph::schema
