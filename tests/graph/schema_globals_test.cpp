// Global values (`global NAME: TYPE`) and aggregates over whole entities (`count(Order)`):
// the global record the Store creates with itself, what formulas read of it, what the
// Store refuses to do to it, and the errors of schemas that misuse them.

#include <gtest/gtest.h>

#include <string>

#include "mgraph/graph/schema/store.hpp"
#include "support/schema_files.hpp"

namespace mgraph::schema {
namespace {

constexpr const char* kShop = R"(
global rate: float = 0.5
global revenue: float = sum(Order[*].gross)
global n: int = count(Order)
global n_open: int = count(Order[*] where not closed)
global low: float = min(Order[*].gross)
global busy: bool = n_open > 1
entity Order {
  net: float = 0
  closed: bool = false
  gross: float = net * (1 + global.rate)
  others: int = count(Order) - 1
}
entity Note { text: string = "" }
)";

std::unique_ptr<Store> store_for(const char* text, bool incremental = true) {
  auto r = compile_schema(SourceFile{"t.mgs", text}, CompileOptions{incremental});
  EXPECT_TRUE(r.is_ok()) << r.status().message();
  return std::make_unique<Store>(std::move(r).value());
}

Value i64(std::int64_t v) { return Value(v); }

class SchemaGlobals : public ::testing::TestWithParam<bool> {};

TEST_P(SchemaGlobals, WholeEntityAggregatesFollowCreatesUpdatesDeletesAndUndo) {
  auto s = store_for(kShop, GetParam());
  // The global record exists before any transaction, with its defaults.
  EXPECT_TRUE(s->exists(kGlobalRecord));
  EXPECT_EQ(s->get(kGlobalRecord, "rate").value(), Value(0.5));
  EXPECT_EQ(s->get(kGlobalRecord, "n").value(), i64(0));
  EXPECT_EQ(s->get(kGlobalRecord, "low").value(), Value(0.0));  // empty: 0
  const RecordId a = s->create("Order", {{"net", Value(10.0)}}).value();
  EXPECT_EQ(a, kGlobalRecord + 1);
  const RecordId b = s->create("Order", {{"net", Value(30.0)}}).value();
  s->create("Note", {}).value();  // not aggregated as a whole: no effect
  ASSERT_TRUE(s->commit().is_ok());
  auto global = [&](const char* f) { return s->get(kGlobalRecord, f).value(); };
  EXPECT_EQ(global("revenue"), Value(60.0));
  EXPECT_EQ(global("n"), i64(2));
  EXPECT_EQ(global("n_open"), i64(2));
  EXPECT_EQ(global("low"), Value(15.0));
  EXPECT_EQ(global("busy"), Value(true));
  EXPECT_EQ(s->get(a, "others").value(), i64(1));

  // A global state value is written as a field; formulas reading it follow.
  ASSERT_TRUE(s->set(kGlobalRecord, "rate", Value(0.0)).is_ok());
  ASSERT_TRUE(s->update(b, {{"closed", Value(true)}}).is_ok());
  ASSERT_TRUE(s->commit().is_ok());
  EXPECT_EQ(s->get(a, "gross").value(), Value(10.0));
  EXPECT_EQ(global("revenue"), Value(40.0));
  EXPECT_EQ(global("n_open"), i64(1));
  EXPECT_EQ(global("busy"), Value(false));

  ASSERT_TRUE(s->remove(a).is_ok());
  ASSERT_TRUE(s->commit().is_ok());
  EXPECT_EQ(global("n"), i64(1));
  EXPECT_EQ(global("revenue"), Value(30.0));
  EXPECT_EQ(global("low"), Value(30.0));
  EXPECT_EQ(s->get(b, "others").value(), i64(0));
  ASSERT_TRUE(s->undo().is_ok());
  EXPECT_EQ(global("n"), i64(2));
  EXPECT_EQ(global("low"), Value(10.0));
  // Undo does not reach before the global record: back at revision 0 it is still there.
  ASSERT_TRUE(s->undo().is_ok());
  ASSERT_TRUE(s->undo().is_ok());
  EXPECT_FALSE(s->undo().is_ok());
  EXPECT_TRUE(s->exists(kGlobalRecord));
  EXPECT_EQ(global("rate"), Value(0.5));
  EXPECT_EQ(global("n"), i64(0));
}

INSTANTIATE_TEST_SUITE_P(IncrementalAndFull, SchemaGlobals, ::testing::Bool(),
                         [](const auto& info) { return info.param ? "Incremental" : "Full"; });

TEST(SchemaGlobalsStore, TheGlobalRecordIsNotCreatedDeletedOrLinkedByHand) {
  auto s = store_for(kShop);
  const Status created = s->create("global", {}).status();
  EXPECT_EQ(created.code(), StatusCode::invalid_argument);
  EXPECT_NE(created.message().find("exists from the start"), std::string::npos);
  EXPECT_NE(s->remove(kGlobalRecord).message().find("cannot be deleted"), std::string::npos);
  const RecordId a = s->create("Order", {}).value();
  const Status unlinked = s->unlink(a, "global", kGlobalRecord);
  EXPECT_EQ(unlinked.code(), StatusCode::invalid_argument);
  EXPECT_NE(unlinked.message().find("Order.global is kept by the store"), std::string::npos)
      << unlinked.message();
  EXPECT_FALSE(s->link(kGlobalRecord, "Order", a).is_ok());
  EXPECT_FALSE(s->check_link(kGlobalRecord, "Order", a).is_ok());
  EXPECT_EQ(s->update(kGlobalRecord, {{"revenue", Value(1.0)}}).code(),
            StatusCode::invalid_argument);
}

TEST(SchemaGlobalsStore, AnImageRebuildsTheGlobalRecordInANewStore) {
  auto s = store_for(kShop);
  const RecordId a = s->create("Order", {{"net", Value(4.0)}}).value();
  ASSERT_TRUE(s->set(kGlobalRecord, "rate", Value(1.0)).is_ok());
  ASSERT_TRUE(s->commit().is_ok());
  Result<StoreImage> image = s->export_image();
  ASSERT_TRUE(image.is_ok()) << image.status().message();
  auto t = store_for(kShop);
  ASSERT_TRUE(t->import_image(std::move(image).value()).is_ok());
  EXPECT_EQ(t->get(kGlobalRecord, "revenue").value(), Value(8.0));
  EXPECT_EQ(t->get(kGlobalRecord, "rate").value(), Value(1.0));
  ASSERT_TRUE(t->remove(a).is_ok());
  ASSERT_TRUE(t->commit().is_ok());
  EXPECT_EQ(t->get(kGlobalRecord, "n").value(), i64(0));
  ASSERT_TRUE(t->undo().is_ok());
  ASSERT_TRUE(t->undo().is_ok());
  EXPECT_EQ(t->get(kGlobalRecord, "rate").value(), Value(0.5));
  EXPECT_EQ(t->get(kGlobalRecord, "n").value(), i64(0));
}

TEST(SchemaGlobalsStore, ACycleThroughAWholeEntityAggregateFailsTheCommitWithItsPath) {
  auto s = store_for(R"(
    global total: int = sum(A[*].x)
    entity A { y: int = 1  x: int = y + global.total })");
  ASSERT_TRUE(s->create("A", {}).is_ok());
  const Result<CommitStats> c = s->commit();
  ASSERT_FALSE(c.is_ok());
  EXPECT_EQ(c.status().code(), StatusCode::cycle);
  EXPECT_NE(c.status().message().find("global#1.total"), std::string::npos)
      << c.status().message();
  EXPECT_EQ(s->get(kGlobalRecord, "total").value(), i64(0));
}

using testing::compile_error;

TEST(SchemaGlobalsErrors, MisusesAreReportedAtTheirPlace) {
  EXPECT_EQ(compile_error("entity A { x: float = global.rate }"),
            "t.mgs:1:23: error: 'global' names the global values, and this schema declares "
            "none (global NAME: TYPE [= ...] at the top level)\n"
            "  entity A { x: float = global.rate }\n"
            "                        ^");
  EXPECT_NE(compile_error("global rate: float = 1\nentity A { x: float = global.rat }")
                .find("2:30: error: unknown field 'rat' in entity global"),
            std::string::npos);
  EXPECT_NE(compile_error("global A: int = 1\nentity A { x: int = 0 }\n"
                          "entity B { n: int = count(A) }")
                .find("1:8: error: global 'A' has the name of entity A"),
            std::string::npos);
  EXPECT_NE(compile_error("entity A { x: int = 0 }\nentity B { n: int = A }")
                .find("a collection is not a value"),
            std::string::npos);
  EXPECT_NE(compile_error("global x: int = 1\nglobal x: int = 2").find("'x' is declared twice"),
            std::string::npos);
  EXPECT_NE(compile_error("entity global { x: int = 0 }").find("expected an entity name"),
            std::string::npos);
  // A field or relation of the formula's own entity hides an entity of the same name.
  auto ok = compile_schema(SourceFile{"t.mgs",
                                      "entity B { x: int = 0 }\n"
                                      "entity A { B: many B via a  n: int = count(B) }"});
  ASSERT_TRUE(ok.is_ok()) << ok.status().message();
  EXPECT_EQ((*ok)->global_entity, kNone);
}

}  // namespace
}  // namespace mgraph::schema
