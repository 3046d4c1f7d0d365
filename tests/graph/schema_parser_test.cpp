// The schema language front end: syntax, and errors that say file:line:col with the
// offending line and a caret.

#include <gtest/gtest.h>

#include "mgraph/graph/schema/parser.hpp"
#include "mgraph/graph/schema/schema.hpp"

namespace mgraph::schema {
namespace {

std::string compile_error(const std::string& text) {
  auto r = compile_schema(SourceFile{"t.mgs", text});
  EXPECT_FALSE(r.is_ok()) << "expected an error for:\n" << text;
  return r.is_ok() ? std::string() : r.status().message();
}

TEST(SchemaParser, ParsesEntitiesFieldsRelationsEffectsAndGroups) {
  const char* text = R"(
entity Order {
  discount: float = 0
  items: many Item via order
  total: float = sum(items[*].price) * (1 - discount)
  running: float = self + total  @lazy
  effect big: bool when total > 100 @on_completion
}
entity Item { price: float = 0  qty: int = 1 }
entity Task {
  start: float = 0  end: float = 10  duration: float = 10
  cycle schedule(start, end, duration) { end = start + duration @default  start = end - duration }
}
)";
  auto r = compile_schema(SourceFile{"t.mgs", text});
  ASSERT_TRUE(r.is_ok()) << r.status().message();
  const Schema& s = **r;
  ASSERT_EQ(s.entities.size(), 3u);
  const EntityDef& order = s.entities[0];
  EXPECT_EQ(order.fields[order.find_field("discount")].kind, FieldKind::state);
  EXPECT_EQ(order.fields[order.find_field("total")].kind, FieldKind::derived);
  EXPECT_TRUE(order.fields[order.find_field("running")].options.lazy);
  EXPECT_TRUE(order.fields[order.find_field("running")].formula.reads_self);
  const FieldDef& big = order.fields[order.find_field("big")];
  EXPECT_EQ(big.kind, FieldKind::effect);
  EXPECT_EQ(big.options.timing, Timing::on_completion);
  // The inverse relation is synthesized on Item, as `one Order`.
  const EntityDef& item = s.entities[1];
  const std::uint32_t inv = item.find_relation("order");
  ASSERT_NE(inv, kNone);
  EXPECT_FALSE(item.relations[inv].many);
  EXPECT_EQ(order.aggregates.size(), 1u);
  const EntityDef& task = s.entities[2];
  ASSERT_EQ(task.groups.size(), 1u);
  EXPECT_EQ(task.groups[0].rules.size(), 2u);
  EXPECT_TRUE(task.groups[0].rules[0].is_default);
}

TEST(SchemaParser, SyntaxErrorShowsFileLineColumnLineAndCaret) {
  const std::string msg = compile_error("entity A {\n  x: float = 1 +\n}\n");
  EXPECT_EQ(msg, "t.mgs:3:1: error: expected an expression, found '}'\n  }\n  ^");
}

TEST(SchemaParser, UnknownFieldThroughAPatternPointsAtTheName) {
  const std::string msg = compile_error(
      "entity O {\n  items: many I via o\n  total: float = sum(items[*].prise)\n}\n"
      "entity I { price: float = 0 }\n");
  EXPECT_EQ(msg,
            "t.mgs:3:31: error: unknown field 'prise' in entity I\n"
            "    total: float = sum(items[*].prise)\n"
            "                                ^");
}

TEST(SchemaParser, TypeMismatchIsReported) {
  EXPECT_NE(compile_error("entity A { s: string = \"x\"  n: float = s * 2 }")
                .find("1:42: error: operator '*' cannot combine string and int"),
            std::string::npos);
  EXPECT_NE(compile_error("entity A { a: int = 1  b: string = a + 1 }")
                .find("field b is string but its formula gives int"),
            std::string::npos);
  EXPECT_NE(
      compile_error("entity A { a: bool = 1 }").find("field a is bool but its formula gives int"),
      std::string::npos);
}

TEST(SchemaParser, ImmediateCycleReportsTheWholePath) {
  const std::string msg = compile_error(
      "entity A {\n  x: int = 0\n  a: int = b + x\n  b: int = c\n  c: int = a * 2\n}\n");
  EXPECT_NE(msg.find("t.mgs:3:3: error: immediate cycle: A.a -> A.b -> A.c -> A.a"),
            std::string::npos)
      << msg;
}

TEST(SchemaParser, SelfIsNotACycle) {
  auto r = compile_schema(SourceFile{"t.mgs", "entity A { x: int = 1  total: int = self + x }"});
  EXPECT_TRUE(r.is_ok()) << r.status().message();
}

TEST(SchemaParser, ReportsSeveralSemanticErrorsAtOnce) {
  const std::string msg = compile_error(
      "entity A {\n  r: many Nope via a\n}\nentity B {\n  x: flot = 0\n  y: int = zz\n}\n");
  EXPECT_NE(msg.find("2:11: error: unknown entity 'Nope'"), std::string::npos) << msg;
  EXPECT_NE(msg.find("5:6: error: unknown type 'flot'"), std::string::npos) << msg;
}

TEST(SchemaParser, InverseMustMirrorTheRelation) {
  const std::string msg =
      compile_error("entity A { bs: many B via a }\nentity B { a: many A via bs }\n");
  EXPECT_NE(msg.find("does not mirror"), std::string::npos) << msg;
}

TEST(SchemaParser, AnnotationsAreChecked) {
  EXPECT_NE(compile_error("entity A { x: int = 0 @lazy }").find("@lazy applies to derived fields"),
            std::string::npos);
  EXPECT_NE(compile_error("entity A { x: int = 0 @sparkly }").find("unknown annotation @sparkly"),
            std::string::npos);
  auto ok = compile_schema(SourceFile{
      "t.mgs", "entity A { x: float = 0 @tolerance(0.01) @batched(100, 5000) @versioned }"});
  ASSERT_TRUE(ok.is_ok()) << ok.status().message();
  const FieldDef& f = (*ok)->entities[0].fields[0];
  EXPECT_EQ(f.options.timing, Timing::batched);
  EXPECT_EQ(f.options.timing_args.size(), 2u);
  EXPECT_TRUE(f.options.versioned);
  EXPECT_DOUBLE_EQ(f.options.tolerance, 0.01);
}

TEST(SchemaParser, CycleRulesReadOnlyTheirMembers) {
  const std::string msg = compile_error(
      "entity T { s: float = 0  e: float = 0  other: float = 1\n"
      "  cycle g(s, e) { e = s + other } }");
  EXPECT_NE(msg.find("may only read members of its group, not 'other'"), std::string::npos) << msg;
}

TEST(SchemaParser, RejectsDeepNestingWithoutCrashing) {
  std::string deep =
      "entity A { x: int = " + std::string(5000, '(') + "1" + std::string(5000, ')') + " }";
  EXPECT_NE(compile_error(deep).find("nested too deeply"), std::string::npos);
  EXPECT_NE(compile_error("entity A { s: string = \"open }").find("unterminated string"),
            std::string::npos);
}

}  // namespace
}  // namespace mgraph::schema
