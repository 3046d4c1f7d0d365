// Bounds of the schema front end, checked as the text is read: a schema far past a
// limit fails at the first declaration beyond it (file:line:col), without building the
// rest, and names are looked up in O(1) however many members an entity has.

#include <gtest/gtest.h>

#include <string>

#include "mgraph/graph/schema/parser.hpp"
#include "mgraph/graph/schema/schema.hpp"
#include "support/schema_files.hpp"

namespace mgraph::schema {
namespace {

using testing::compile_error;

/// `n` times: `before`, the number, `after` (appended piece by piece: GCC 12 warns
/// wrongly about `"x" + std::to_string(i)` at -O3).
std::string numbered(std::size_t n, std::string_view before, std::string_view after) {
  std::string text;
  for (std::size_t i = 0; i < n; ++i) text.append(before).append(std::to_string(i)).append(after);
  return text;
}

/// "entity E {\n" then `n` lines "  fI: int\n" (line I + 2), then "}\n".
std::string entity_with_fields(std::size_t n) {
  return "entity E {\n" + numbered(n, "  f", ": int\n") + "}\n";
}

TEST(SchemaLimits, MembersPastTheLimitFailAtTheFirstOneBeyondIt) {
  // 500,000 members: the error names the line of member 4,097 (line 4,098), the first
  // member past kMembersMax, not the entity after reading all of them.
  const std::string msg = compile_error(entity_with_fields(500'000));
  EXPECT_EQ(msg.rfind("t.mgs:4098:3: error: entity E has more than 4096 members", 0), 0u) << msg;
}

TEST(SchemaLimits, EveryKindOfMemberCounts) {
  // Relations (each with its implicit inverse) up to the limit, then one effect.
  std::string text = "entity E {\n";
  for (std::size_t i = 0; i < kMembersMax; ++i) {
    const std::string n = std::to_string(i);
    text.append("  r").append(n).append(": one E via s").append(n).append("\n");
  }
  text += "  effect fx: bool when true\n}\n";
  const std::string msg = compile_error(text);
  EXPECT_NE(msg.find(":4098:3: error: entity E has more than 4096 members"), std::string::npos)
      << msg.substr(0, 200);
}

TEST(SchemaLimits, TheLimitItselfCompiles) {
  auto r = compile_schema(SourceFile{"t.mgs", entity_with_fields(kMembersMax)});
  ASSERT_TRUE(r.is_ok()) << r.status().message().substr(0, 200);
  const EntityDef& e = (*r)->entities[0];
  EXPECT_EQ(e.find_field("f0"), 0u);
  EXPECT_EQ(e.find_field("f4095"), 4095u);
  EXPECT_EQ(e.find_field("f4096"), kNone);
}

TEST(SchemaLimits, EntitiesPastTheLimitFailAtTheFirstOneBeyondIt) {
  const std::string msg = compile_error(numbered(3 * kEntitiesMax, "entity E", " {}\n"));
  EXPECT_EQ(msg.rfind("t.mgs:4097:1: error: more than 4096 entities", 0), 0u) << msg;
}

TEST(SchemaLimits, CycleGroupsAreBoundedToo) {
  const std::string names = numbered(3 * kMembersMax, "a", ", ");
  const std::string members =
      compile_error("entity E {\n  cycle g(" + names + "z) {}\n}\n");
  EXPECT_NE(members.find("t.mgs:2:"), std::string::npos) << members.substr(0, 200);
  EXPECT_NE(members.find("cycle group g has more than 4096 members"), std::string::npos)
      << members.substr(0, 200);
  std::string rules;
  for (std::size_t i = 0; i < 3 * kMembersMax; ++i) rules += "    a = 1\n";
  const std::string many_rules =
      compile_error("entity E {\n  a: int\n  cycle g(a) {\n" + rules + "  }\n}\n");
  EXPECT_EQ(many_rules.rfind("t.mgs:4100:5: error: cycle group g has more than 4096 rules", 0),
            0u)
      << many_rules.substr(0, 200);
}

TEST(SchemaLimits, DuplicateNamesFindTheFirstDeclaration) {
  const std::string a(1, 'a'), b(1, 'b'), r(1, 'r');
  EntityDef e;
  e.fields.resize(3);
  e.fields[0].name = a;
  e.fields[1].name = b;
  e.index_names();
  e.fields[2].name = a;  // added after indexing: found by the scan of the rest
  EXPECT_EQ(e.find_field(a), 0u);
  EXPECT_EQ(e.find_field(b), 1u);
  e.index_names();
  EXPECT_EQ(e.find_field(a), 0u);
  e.relations.resize(1);
  e.relations[0].name = r;
  EXPECT_EQ(e.find_relation(r), 0u);
  EXPECT_EQ(e.find_relation(a), kNone);
}

}  // namespace
}  // namespace mgraph::schema

namespace mgraph::schema {
namespace {

TEST(SchemaLimits, CycleGroupsTheEngineCannotResolveAreRefusedAtCompileTime) {
  std::string fields, names;
  for (int i = 0; i < 17; ++i) {
    fields += std::string("  m") + std::to_string(i) + ": float = 0\n";
    names += std::string(i ? ", " : "") + "m" + std::to_string(i);
  }
  const std::string wide = compile_error("entity E {\n" + fields + "  cycle g(" + names +
                                         ") { m0 = m1 }\n}\n");
  EXPECT_EQ(wide.rfind("t.mgs:19:9: error: cycle group g has 17 members; the engine resolves "
                       "groups of at most 16",
                       0),
            0u)
      << wide;
  std::string rules;
  for (int i = 0; i < 16; ++i) rules += std::string("    a = b + ") + std::to_string(i) + "\n";
  const std::string many =
      compile_error("entity E {\n  a: float = 0  b: float = 0\n  cycle g(a, b) {\n" + rules + "  }\n}\n");
  EXPECT_NE(many.find("cycle group g has 16 rules; the engine resolves groups of at most 15"),
            std::string::npos)
      << many;
  const std::string self =
      compile_error("entity E {\n  a: float = 0  b: float = 0\n  cycle g(a, b) { a = a + b }\n}\n");
  EXPECT_EQ(self.rfind("t.mgs:3:19: error: the rule for a reads a: a rule computes its member "
                       "from the other members",
                       0),
            0u)
      << self;
}

}  // namespace
}  // namespace mgraph::schema
