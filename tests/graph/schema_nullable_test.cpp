// Nullable fields (`start: float?`): null as a value, what formulas make of it, and the
// rule of each aggregate (null counts as 0 in count, sum and avg, and as no value in min
// and max), on the incremental and the full-recompute path.

#include <gtest/gtest.h>

#include <string>

#include "mgraph/graph/schema/store.hpp"
#include "support/schema_files.hpp"

namespace mgraph::schema {
namespace {

constexpr const char* kProjects = R"(
entity Project {
  tasks: many Task via project
  n: int = count(tasks)
  started: int = count(tasks[*] where start != null)
  total: float = sum(tasks[*].start)
  mean: float = avg(tasks[*].start)
  first: float = min(tasks[*].start)
  last: float = max(tasks[*].start)
  mean_big: float = avg(tasks[*].start where big)
  low_big: float = min(tasks[*].start where big)
  all_done: bool = every(tasks[*].done)
  any_done: bool = any(tasks[*].done)
}
entity Task {
  start: float?
  done: bool?
  big: bool = true
  days: int? = 3
  end: float? = if start == null then null else start + days
  later: int = days + 1
}
)";

std::unique_ptr<Store> store_for(const std::string& text, bool incremental = true) {
  auto r = compile_schema(SourceFile{"t.mgs", text}, CompileOptions{incremental});
  EXPECT_TRUE(r.is_ok()) << r.status().message();
  return std::make_unique<Store>(std::move(r).value());
}

Value i64(std::int64_t v) { return Value(v); }

class SchemaNullable : public ::testing::TestWithParam<bool> {};

TEST_P(SchemaNullable, NullIsAValueThatFormulasAndAggregatesReadByTheirRules) {
  auto s = store_for(kProjects, GetParam());
  const RecordId p = s->create("Project", {}).value();
  const RecordId a = s->create("Task", {{"start", Value(10.0)}}).value();
  const RecordId b = s->create("Task", {}).value();
  ASSERT_TRUE(s->link(p, "tasks", a).is_ok());
  ASSERT_TRUE(s->link(p, "tasks", b).is_ok());
  ASSERT_TRUE(s->commit().is_ok());
  auto get = [&](RecordId id, const char* f) { return s->get(id, f).value(); };
  EXPECT_EQ(get(b, "start"), Value());  // no default: null
  EXPECT_EQ(get(b, "days"), i64(3));
  EXPECT_EQ(get(b, "end"), Value());    // a nullable derived field gives null
  EXPECT_EQ(get(a, "end"), Value(13.0));
  EXPECT_EQ(get(p, "n"), i64(2));
  EXPECT_EQ(get(p, "started"), i64(1));  // `!= null`: has a value
  EXPECT_EQ(get(p, "total"), Value(10.0));  // null adds 0
  EXPECT_EQ(get(p, "mean"), Value(5.0));    // and counts in avg
  EXPECT_EQ(get(p, "first"), Value(10.0));  // no value for min and max
  EXPECT_EQ(get(p, "last"), Value(10.0));
  EXPECT_EQ(get(p, "mean_big"), Value(5.0));  // filtered: the same rules
  EXPECT_EQ(get(p, "low_big"), Value(10.0));
  EXPECT_EQ(get(p, "all_done"), Value(false));  // null is not true
  EXPECT_EQ(get(p, "any_done"), Value(false));

  // Arithmetic reads null as 0, and an int stays an int.
  ASSERT_TRUE(s->update(b, {{"start", Value(4.0)}, {"days", Value()}, {"done", Value(true)}})
                  .is_ok());
  ASSERT_TRUE(s->commit().is_ok());
  EXPECT_EQ(get(b, "end"), Value(4.0));
  EXPECT_EQ(get(b, "later"), i64(1));
  EXPECT_EQ(get(p, "first"), Value(4.0));
  EXPECT_EQ(get(p, "started"), i64(2));
  EXPECT_EQ(get(p, "any_done"), Value(true));

  // Back to null: the member leaves min and max, and stays in count and avg.
  ASSERT_TRUE(s->update(a, {{"start", Value()}}).is_ok());
  ASSERT_TRUE(s->commit().is_ok());
  EXPECT_EQ(get(p, "last"), Value(4.0));
  EXPECT_EQ(get(p, "mean"), Value(2.0));
  EXPECT_EQ(get(p, "low_big"), Value(4.0));
  EXPECT_EQ(get(a, "end"), Value());
  ASSERT_TRUE(s->update(b, {{"start", Value()}}).is_ok());
  ASSERT_TRUE(s->commit().is_ok());
  EXPECT_EQ(get(p, "first"), Value(0.0));  // no value at all: as an empty aggregate
  EXPECT_EQ(get(p, "started"), i64(0));
  ASSERT_TRUE(s->undo().is_ok());
  EXPECT_EQ(get(p, "first"), Value(4.0));
}

INSTANTIATE_TEST_SUITE_P(IncrementalAndFull, SchemaNullable, ::testing::Bool(),
                         [](const auto& info) { return info.param ? "Incremental" : "Full"; });

TEST(SchemaNullableStore, OnlyNullableFieldsTakeNull) {
  auto s = store_for(kProjects);
  const Status created = s->create("Task", {{"big", Value()}}).status();
  EXPECT_EQ(created.code(), StatusCode::invalid_argument);
  EXPECT_EQ(created.message(),
            "Task.big is bool, not nullable: declare it bool? to let it hold null");
  const RecordId t = s->create("Task", {{"start", Value()}}).value();
  EXPECT_FALSE(s->update(t, {{"big", Value()}}).is_ok());
  EXPECT_FALSE(s->set(t, "big", Value()).is_ok());
  EXPECT_TRUE(s->set(t, "start", Value()).is_ok());
  EXPECT_FALSE(s->update(t, {{"start", Value("x")}}).is_ok());  // still a float
}

using testing::compile_error;

TEST(SchemaNullableErrors, NullOnlyWhereDeclared) {
  EXPECT_EQ(compile_error("entity A { x: float = null }"),
            "t.mgs:1:23: error: field x is not nullable: declare it float? to let it hold null\n"
            "  entity A { x: float = null }\n"
            "                        ^");
  EXPECT_NE(compile_error("entity A { a: float? = 1  b: float = 0\n"
                          "  cycle g(a, b) { a = b  b = a @default } }")
                .find("member a is nullable"),
            std::string::npos);
  EXPECT_NE(compile_error("entity A { x: float?? }").find("expected"), std::string::npos);
  auto ok = compile_schema(SourceFile{"t.mgs", "entity A { x: float? = null  y: int? = 2 }"});
  ASSERT_TRUE(ok.is_ok()) << ok.status().message();
  EXPECT_TRUE((*ok)->entities[0].fields[0].nullable);
  EXPECT_EQ((*ok)->entities[0].fields[0].initial, Value());
  EXPECT_EQ((*ok)->entities[0].fields[1].initial, i64(2));
}

}  // namespace
}  // namespace mgraph::schema
