// Change feeds (docs/SCHEMA.md "Change feeds"): `effect feed: queue(total) when
// changed(total, status)` is an effect of the graph triggered by every commit that changes
// a field it names, its creation included: a subscription as a node of the graph.

#include <gtest/gtest.h>

#include <string>

#include "mgraph/graph/schema/parser.hpp"
#include "mgraph/graph/schema/schema.hpp"
#include "mgraph/graph/schema/store.hpp"
#include "support/schema_files.hpp"

namespace mgraph::schema {
namespace {

constexpr const char* kOrder = R"(entity Order {
  total: int = 0
  status: string = "new"
  note: string = ""
  effect feed: queue(total, status) when changed(total, status)
  effect dirty: bool when changed(total)
  effect seen: counter when changed(status)
})";

std::shared_ptr<const Schema> order_schema() { return testing::compile_text("o.mgs", kOrder); }

using testing::compile_outcome;

Value count(std::int64_t n) { return Value(n); }

class ChangeFeed : public ::testing::Test {
 protected:
  std::uint64_t version(const std::string& field) { return s.version(s.node_of(o, field).value()); }
  std::string last_trigger() {
    const EntityDef& e = s.schema().entities[0];
    return Store::queue_trigger_json(s.queue_trigger(o, e.fields[e.find_field("feed")]));
  }
  void commit() { ASSERT_TRUE(s.commit().is_ok()); }

  Store s{order_schema()};
  RecordId o = 0;
};

TEST(SchemaChangeFeed, AFeedWatchesFieldsOfItsRecordAndItsConditionCountsTheirChanges) {
  auto schema = order_schema();
  const EntityDef& e = schema->entities[0];
  const FieldDef& feed = e.fields[e.find_field("feed")];
  EXPECT_EQ(feed.kind, FieldKind::effect);
  EXPECT_EQ(feed.effect_kind, EffectKind::queue);
  EXPECT_EQ(feed.watched, (std::vector<std::uint32_t>{e.find_field("total"), e.find_field("status")}));
  EXPECT_EQ(feed.carried, feed.watched);
  EXPECT_EQ(feed.formula.type, Type::integer);
  EXPECT_EQ(feed.formula.slots, (std::vector<std::uint32_t>{e.field_local(e.find_field("total")),
                                                            e.field_local(e.find_field("status"))}));
  // An effect with a condition watches nothing.
  auto plain = compile_schema(SourceFile{"p.mgs", "entity A {\n  x: int = 0\n  effect e: bool when x > 1\n}\n"});
  ASSERT_TRUE(plain.is_ok());
  EXPECT_TRUE((*plain)->entities[0].fields[(*plain)->entities[0].find_field("e")].watched.empty());
}

TEST(SchemaChangeFeed, DiagnosticsNameTheEffectAndThePlace) {
  auto err = [](const std::string& effect) {
    return compile_outcome("entity A {\n  x: int = 0  y: int = 1\n  " + effect +
                         "\n  effect e: bool when x > 1\n}\n");
  };
  EXPECT_NE(err("effect f: queue when changed(x, nope)")
                .find("t.mgs:3:35: error: effect f names unknown field 'nope' of A"),
            std::string::npos)
      << err("effect f: queue when changed(x, nope)");
  EXPECT_NE(err("effect f: queue when changed()").find("effect f: changed() names no field"),
            std::string::npos);
  EXPECT_NE(err("effect f: counter when changed(x, x)").find("effect f names 'x' twice"), std::string::npos);
  EXPECT_NE(err("effect f: bool when changed(e)").find("effect f names 'e', an effect of A"),
            std::string::npos);
  EXPECT_NE(err("effect f: queue when changed(f)").find("effect f names 'f', an effect of A"),
            std::string::npos);
  EXPECT_NE(err("effect f: queue when changed(x + y)").find("changed takes names of fields of A, not expressions"),
            std::string::npos);
  EXPECT_NE(err("effect f: queue when changed(x) @every(5s)")
                .find("@every on effect f: a change feed (when changed(...)) triggers at every commit"),
            std::string::npos)
      << err("effect f: queue when changed(x) @every(5s)");
  EXPECT_NE(err("effect f: queue when changed(x) @batched(10)").find("@batched on effect f"), std::string::npos);
  // Not part of a formula, of a field or of another condition.
  EXPECT_NE(err("z: int = changed(x)").find("changed(...) is a whole effect's condition"), std::string::npos);
  EXPECT_NE(err("effect f: bool when not changed(x)").find("changed(...) is a whole effect's condition"),
            std::string::npos);
  // Annotations that are no timing are taken.
  EXPECT_EQ(err("effect f: queue(x) when changed(x) @immediate @retry(100, 2, 400, 5)"), "(compiled)");
}

TEST_F(ChangeFeed, EachCommitThatChangesAWatchedFieldTriggersItOnceWithTheValuesItLeft) {
  o = s.create("Order", {}).value();
  commit();
  // The creation is the first trigger.
  EXPECT_EQ(s.get(o, "feed").value(), count(1));
  EXPECT_EQ(last_trigger(), R"({"values":{"total":0,"status":"new"},"time":null})");
  EXPECT_EQ(version("feed"), 1u);

  ASSERT_TRUE(s.update(o, {{"total", count(5)}}).is_ok());
  commit();
  EXPECT_EQ(s.get(o, "feed").value(), count(2));
  EXPECT_EQ(last_trigger(), R"({"values":{"total":5,"status":"new"},"time":null})");

  // A field it does not name, or a write of the value a field holds: no trigger.
  ASSERT_TRUE(s.update(o, {{"note", Value("x")}}).is_ok());
  commit();
  ASSERT_TRUE(s.update(o, {{"total", count(5)}}).is_ok());
  commit();
  EXPECT_EQ(version("feed"), 2u);
  EXPECT_EQ(s.get(o, "feed").value(), count(2));

  // Several writes in one transaction: one trigger, with the values the commit left.
  ASSERT_TRUE(s.update(o, {{"total", count(6)}, {"status", Value("open")}}).is_ok());
  ASSERT_TRUE(s.update(o, {{"total", count(7)}}).is_ok());
  commit();
  EXPECT_EQ(version("feed"), 3u);
  EXPECT_EQ(s.get(o, "feed").value(), count(3));
  EXPECT_EQ(last_trigger(), R"({"values":{"total":7,"status":"open"},"time":null})");

  // A bool is pending or not: true since the creation, whatever changed since.
  EXPECT_EQ(s.get(o, "dirty").value(), Value(true));
  EXPECT_EQ(version("dirty"), 1u);
  // A counter counts the pending triggers: the creation and the one change of status.
  EXPECT_EQ(s.get(o, "seen").value(), count(2));
}

TEST_F(ChangeFeed, AnAcknowledgementTakesOneTriggerOffAndTheNextChangeTriggersAgain) {
  o = s.create("Order", {}).value();
  commit();
  ASSERT_TRUE(s.update(o, {{"total", count(1)}}).is_ok());
  commit();
  ASSERT_TRUE(s.set(o, "feed", Value(false)).is_ok());
  ASSERT_TRUE(s.set(o, "dirty", Value(false)).is_ok());
  commit();
  EXPECT_EQ(s.get(o, "feed").value(), count(1));
  EXPECT_EQ(s.get(o, "dirty").value(), Value(false));
  // The acknowledgement is no change of a watched field.
  ASSERT_TRUE(s.set(o, "feed", Value(false)).is_ok());
  commit();
  EXPECT_EQ(s.get(o, "feed").value(), count(0));
  EXPECT_EQ(s.get(o, "dirty").value(), Value(false));

  ASSERT_TRUE(s.update(o, {{"total", count(2)}}).is_ok());
  commit();
  EXPECT_EQ(s.get(o, "feed").value(), count(1));
  EXPECT_EQ(s.get(o, "dirty").value(), Value(true));
  EXPECT_EQ(last_trigger(), R"({"values":{"total":2,"status":"new"},"time":null})");
  // Undo takes the change and its trigger back, as any write.
  ASSERT_TRUE(s.undo().is_ok());
  EXPECT_EQ(s.get(o, "feed").value(), count(0));
  EXPECT_EQ(s.get(o, "dirty").value(), Value(false));
}

TEST_F(ChangeFeed, EveryRecordHasItsOwnFeed) {
  o = s.create("Order", {}).value();
  const RecordId p = s.create("Order", {{"total", count(3)}}).value();
  commit();
  ASSERT_TRUE(s.update(p, {{"status", Value("paid")}}).is_ok());
  commit();
  EXPECT_EQ(s.get(o, "feed").value(), count(1));
  EXPECT_EQ(s.get(p, "feed").value(), count(2));
  EXPECT_EQ(s.get(o, "seen").value(), count(1));
  EXPECT_EQ(s.get(p, "seen").value(), count(2));
}

}  // namespace
}  // namespace mgraph::schema
