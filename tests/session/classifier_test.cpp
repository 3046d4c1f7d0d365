// The command classifier: each command word becomes its typed operation; malformed lines
// become `invalid` operations carrying the error and the names resolved before it.

#include <gtest/gtest.h>

#include "mgraph/session/classifier.hpp"

namespace mgraph::session {
namespace {

/// Resolves "a" and "b" (ids 1 and 2), "#N", and nothing else.
Result<RecordRef> known(std::string_view name) {
  if (std::optional<RecordId> id = record_id_of(name)) return RecordRef{*id, {}, std::string(name)};
  if (name == "a") return RecordRef{1, {}, "a"};
  if (name == "b") return RecordRef{2, {}, "b"};
  return Status(StatusCode::not_found, "unknown record '" + std::string(name) + "'");
}

Op op_of(std::string_view line) {
  std::optional<Classified> c = classify(line, known);
  EXPECT_TRUE(c.has_value()) << line;
  return c ? c->op : Op{};
}

TEST(Classifier, BlankLinesAndCommentsAreNoOperation) {
  EXPECT_FALSE(classify("", known).has_value());
  EXPECT_FALSE(classify("   \t ", known).has_value());
  EXPECT_FALSE(classify("# create Order o1", known).has_value());
}

TEST(Classifier, CreateTakesEntityAliasAndValues) {
  std::optional<Classified> c = classify("create Order o1 discount=0.5 label=\"x y\"", known);
  ASSERT_TRUE(c.has_value());
  EXPECT_EQ(c->op.kind, OpKind::create);
  EXPECT_EQ(c->op.entity, "Order");
  EXPECT_EQ(c->alias, "o1");
  ASSERT_EQ(c->op.values.size(), 2u);
  EXPECT_EQ(c->op.values[0].first, "discount");
  EXPECT_EQ(c->op.values[0].second, Value(0.5));
  EXPECT_EQ(c->op.values[1].second, Value(std::string("x y")));
  // Without an alias the first word after the entity is a field.
  c = classify("create Order discount=1", known);
  ASSERT_TRUE(c.has_value());
  EXPECT_EQ(c->alias, "");
  EXPECT_EQ(c->op.values.size(), 1u);
}

TEST(Classifier, UpdateKeepsMembersNamedWhereAValueWouldBeALiteral) {
  Op op = op_of("update a end=20 keep=start keep=duration");
  EXPECT_EQ(op.kind, OpKind::update);
  ASSERT_EQ(op.values.size(), 1u);
  EXPECT_EQ(op.values[0].first, "end");
  EXPECT_EQ(op.keep, (std::vector<std::string>{"start", "duration"}));
  // A literal after keep= writes a field named keep.
  op = op_of("update a keep=1 flag=true keep=\"s\" keep=false keep=null keep=_x");
  EXPECT_EQ(op.kind, OpKind::update);
  ASSERT_EQ(op.values.size(), 5u);
  EXPECT_EQ(op.values[0], (std::pair<std::string, Value>{"keep", Value(std::int64_t{1})}));
  EXPECT_EQ(op.values[2].second, Value(std::string("s")));
  EXPECT_EQ(op.values[3].second, Value(false));
  EXPECT_EQ(op.values[4].second, Value());
  EXPECT_EQ(op.keep, (std::vector<std::string>{"_x"}));
  // Create takes no keep flags: there the name is a value, and not a literal.
  op = op_of("create Task t keep=start");
  EXPECT_EQ(op.kind, OpKind::invalid);
  EXPECT_TRUE(op.keep.empty());
  EXPECT_EQ(op_of("update a keep=").kind, OpKind::invalid);
}

TEST(Classifier, EveryCommandWordHasItsKind) {
  EXPECT_EQ(op_of("update a x=1").kind, OpKind::update);
  EXPECT_EQ(op_of("delete a").kind, OpKind::remove);
  EXPECT_EQ(op_of("link a.items b").kind, OpKind::link);
  EXPECT_EQ(op_of("unlink a.items #7").kind, OpKind::unlink);
  EXPECT_EQ(op_of("set a.start = 3").kind, OpKind::set);
  EXPECT_EQ(op_of("ack a.done").kind, OpKind::ack);
  EXPECT_EQ(op_of("commit").kind, OpKind::commit);
  EXPECT_EQ(op_of("reject").kind, OpKind::reject);
  EXPECT_EQ(op_of("undo").kind, OpKind::undo);
  EXPECT_EQ(op_of("redo").kind, OpKind::redo);
  EXPECT_EQ(op_of("get a.total").kind, OpKind::get);
  EXPECT_EQ(op_of("explain a.total").kind, OpKind::explain);
  EXPECT_EQ(op_of("dot").kind, OpKind::dot);
  const Op link = op_of("link a.items #7");
  ASSERT_EQ(link.refs.size(), 2u);
  EXPECT_EQ(link.refs[0].id, 1u);
  EXPECT_EQ(link.refs[1].id, 7u);
  EXPECT_EQ(link.name, "items");
  const Op get = op_of("get   a.total  ");
  EXPECT_EQ(get.text, "a.total  ");
  EXPECT_EQ(get.name, "total");
  EXPECT_EQ(op_of("set a.start 3").value, Value(std::int64_t{3}));
  EXPECT_EQ(op_of("ack a.done").value, Value(false));
}

TEST(Classifier, MalformedLinesCarryTheirError) {
  const Op unknown = op_of("frobnicate now");
  EXPECT_EQ(unknown.kind, OpKind::invalid);
  EXPECT_NE(unknown.error.message().find("unknown command 'frobnicate'"), std::string::npos);
  EXPECT_EQ(op_of("update a x=").error.message(), "expected a value");
  EXPECT_EQ(op_of("update a x").error.message(), "expected field=value");
  EXPECT_EQ(op_of("get total").error.message(), "get needs REF.field");
  EXPECT_EQ(op_of("commit now").error.message(), "unexpected 'now'");
  EXPECT_EQ(op_of("set a.x = [1, \"a\"]").error.message(), "tensor elements are numbers");
  EXPECT_EQ(op_of("update nobody x=1").error.message(), "unknown record 'nobody'");
  EXPECT_EQ(op_of("update nobody x=1").error.code(), StatusCode::not_found);
  const std::string long_line(kScriptLineMax + 1, 'x');
  EXPECT_EQ(op_of(long_line).kind, OpKind::invalid);
}

TEST(Classifier, AnErrorAfterANameKeepsTheNamesResolvedBeforeIt) {
  // The executor fails such a line with "unknown record" when a name meant a record whose
  // creation failed earlier in the batch, as running the line would have.
  const Op op = op_of("link a.items b extra");
  EXPECT_EQ(op.kind, OpKind::invalid);
  EXPECT_EQ(op.refs.size(), 2u);
  EXPECT_EQ(op.error.message(), "unexpected 'extra'");
}

TEST(Classifier, RecordIdsAreHashNumbers) {
  EXPECT_EQ(record_id_of("#12"), RecordId{12});
  EXPECT_EQ(record_id_of("Order#3"), RecordId{3});
  EXPECT_FALSE(record_id_of("o1").has_value());
  EXPECT_FALSE(record_id_of("#12x").has_value());
  EXPECT_FALSE(record_id_of("#").has_value());
}

TEST(Classifier, ScriptValuesParseAlone) {
  EXPECT_EQ(parse_script_value("[[1, 2], [3, 4]]")->as_tensor().shape().size(), 2u);
  EXPECT_FALSE(parse_script_value("1 2").is_ok());
  EXPECT_EQ(*parse_script_value("-2.5"), Value(-2.5));
}

}  // namespace
}  // namespace mgraph::session

namespace mgraph::session {
namespace {

TEST(Operations, EveryKindNamesItsRecords) {
  EXPECT_EQ(refs_of(OpKind::create), 0u);
  EXPECT_EQ(refs_of(OpKind::get), 1u);
  EXPECT_EQ(refs_of(OpKind::link), 2u);
  for (std::size_t k = 0; k < kOpKinds; ++k) {
    const auto kind = static_cast<OpKind>(k);
    // What the classifier builds for each kind names as many records as refs_of says.
    if (kind == OpKind::invalid) continue;
    EXPECT_STRNE(op_kind_name(kind), "");
  }
  EXPECT_EQ(op_of("link a.items b").refs.size(), refs_of(OpKind::link));
  EXPECT_EQ(op_of("get a.total").refs.size(), refs_of(OpKind::get));
  EXPECT_EQ(op_of("create Order").refs.size(), refs_of(OpKind::create));
}

}  // namespace
}  // namespace mgraph::session

namespace mgraph::session {
namespace {

TEST(Classifier, ClockTakesNowADurationOrAUtcTime) {
  const Op now = op_of("clock now   # the time of day");
  EXPECT_EQ(now.kind, OpKind::clock);
  EXPECT_EQ(now.text, "now");  // the client puts the time it reads there
  const Op forward = op_of("clock +1500ms");
  EXPECT_EQ(forward.kind, OpKind::clock);
  EXPECT_EQ(forward.text, "+");
  EXPECT_EQ(forward.value, Value(std::int64_t{1500}));
  const Op to = op_of("clock 2026-12-03T10:00:00Z");
  EXPECT_EQ(to.kind, OpKind::clock);
  EXPECT_TRUE(to.text.empty());
  EXPECT_EQ(to.value, Value(std::int64_t{1'796'292'000'000}));
  EXPECT_TRUE(is_logged(OpKind::clock));
  EXPECT_TRUE(is_mutation(OpKind::clock));
  for (const char* bad : {"clock", "clock +", "clock +5 s", "clock 2026-13-01", "clock later",
                          "clock now now"}) {
    const Op op = op_of(bad);
    EXPECT_EQ(op.kind, OpKind::invalid) << bad;
    EXPECT_NE(op.error.message().find("clock"), std::string::npos) << bad << ": "
                                                                   << op.error.message();
  }
}

}  // namespace
}  // namespace mgraph::session
