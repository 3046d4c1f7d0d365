// The schema language front end: syntax, and errors that say file:line:col with the
// offending line and a caret.

#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "mgraph/graph/schema/parser.hpp"
#include "mgraph/graph/schema/schema.hpp"
#include "mgraph/graph/schema/store.hpp"
#include "support/schema_files.hpp"

namespace mgraph::schema {
namespace {

using testing::compile_error;

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
      "t.mgs",
      "entity A { y: float = 0  x: float = y @tolerance(0.01) @batched(100, 5000) @versioned }"});
  ASSERT_TRUE(ok.is_ok()) << ok.status().message();
  const FieldDef& f = (*ok)->entities[0].fields[1];
  EXPECT_EQ(f.options.timing, Timing::batched);
  EXPECT_EQ(f.options.timing_args.size(), 2u);
  EXPECT_TRUE(f.options.versioned);
  EXPECT_DOUBLE_EQ(f.options.tolerance, 0.01);
}

TEST(SchemaParser, RetryOnAnEffectSetsItsPolicyAndDefaultsOtherwise) {
  auto ok = compile_schema(SourceFile{"t.mgs",
                                      "entity A {\n  x: int = 0\n"
                                      "  effect hot: bool when x > 1 @retry(50, 1.5, 400, 4)\n"
                                      "  effect warm: counter when x > 0\n}\n"});
  ASSERT_TRUE(ok.is_ok()) << ok.status().message();
  const EntityDef& a = (*ok)->entities[0];
  const RetryPolicy& hot = a.fields[a.find_field("hot")].options.retry;
  EXPECT_EQ(hot.initial, std::chrono::milliseconds(50));
  EXPECT_DOUBLE_EQ(hot.multiplier, 1.5);
  EXPECT_EQ(hot.max_delay, std::chrono::milliseconds(400));
  EXPECT_EQ(hot.max_attempts, 4u);
  EXPECT_EQ(a.fields[a.find_field("warm")].options.retry, RetryPolicy{});
  // The pauses grow by the multiplier up to the cap.
  EXPECT_EQ(hot.delay_after(1), std::chrono::milliseconds(50));
  EXPECT_EQ(hot.delay_after(2), std::chrono::milliseconds(75));
  EXPECT_EQ(hot.delay_after(3), std::chrono::milliseconds(112));
  EXPECT_EQ(hot.delay_after(9), std::chrono::milliseconds(400));
  EXPECT_EQ(RetryPolicy{}.delay_after(1000), std::chrono::milliseconds(60'000));
}

TEST(SchemaParser, DeliveryModesAreSetOnEffectsAndKeptWithTheirRetries) {
  auto ok = compile_schema(SourceFile{"t.mgs",
                                      "entity A {\n  x: int = 0\n"
                                      "  effect ping: bool when x > 1 @fire_and_forget\n"
                                      "  effect jobs: counter when x > 0 @counted @retry(50, 2, 400, 3)\n"
                                      "  effect log: queue(x) when x > 2 @acknowledged\n"
                                      "  effect plain: counter when x > 3\n}\n"});
  ASSERT_TRUE(ok.is_ok()) << ok.status().message();
  const EntityDef& a = (*ok)->entities[0];
  auto mode = [&](const char* name) { return a.fields[a.find_field(name)].options.retry.mode; };
  EXPECT_EQ(mode("ping"), DeliveryMode::fire_and_forget);
  EXPECT_EQ(mode("jobs"), DeliveryMode::counted);
  EXPECT_EQ(mode("log"), DeliveryMode::acknowledged);
  EXPECT_EQ(mode("plain"), DeliveryMode::acknowledged);
  // @retry after the mode keeps it.
  EXPECT_EQ(a.fields[a.find_field("jobs")].options.retry.max_attempts, 3u);
  EXPECT_STREQ(delivery_mode_name(DeliveryMode::fire_and_forget), "fire_and_forget");
  for (const DeliveryMode m : {DeliveryMode::acknowledged, DeliveryMode::fire_and_forget, DeliveryMode::counted}) {
    EXPECT_EQ(delivery_mode_named(delivery_mode_name(m)), m);
  }
  EXPECT_EQ(delivery_mode_named("retry"), std::nullopt);
  EXPECT_EQ(delivery_mode_named("Counted"), std::nullopt);
}

TEST(SchemaParser, DeliveryModeErrorsSayWhatTheModeAppliesTo) {
  auto err = [](const std::string& effect) {
    return compile_error("entity A {\n  x: int = 0\n  " + effect + "\n}\n");
  };
  EXPECT_NE(err("effect e: bool when x > 1 @counted")
                .find("t.mgs:3:30: error: @counted applies to counter effects ('e' is a bool effect: "
                      "it has one trigger pending at most)"),
            std::string::npos)
      << err("effect e: bool when x > 1 @counted");
  EXPECT_NE(err("effect e: queue(x) when x > 1 @counted")
                .find("@counted applies to counter effects ('e' is a queue effect: each trigger keeps "
                      "its values, so each is acknowledged alone)"),
            std::string::npos);
  EXPECT_NE(err("effect e: counter when x > 1 @counted @fire_and_forget")
                .find("@fire_and_forget: effect e already has the delivery mode @counted; an effect has "
                      "one"),
            std::string::npos);
  EXPECT_NE(err("effect e: bool when x > 1 @fire_and_forget(1)").find("@fire_and_forget takes no arguments"),
            std::string::npos);
  EXPECT_NE(err("y: int = x @acknowledged")
                .find("@acknowledged applies to effects only ('y' is a derived field)"),
            std::string::npos)
      << err("y: int = x @acknowledged");
  RetryPolicy unknown;
  unknown.mode = static_cast<DeliveryMode>(7);
  EXPECT_EQ(unknown.check().message(), "delivery mode 7 is unknown");
}

TEST(SchemaParser, RetryErrorsNameTheArgumentAndTheBound) {
  auto err = [](const std::string& annotation) {
    return compile_error("entity A {\n  x: int = 0\n  effect e: bool when x > 1 " + annotation +
                         "\n}\n");
  };
  EXPECT_NE(err("@retry(1, 2)").find("t.mgs:3:30: error: @retry takes (initial_ms, multiplier, "
                                     "max_delay_ms, max_attempts), e.g. @retry(1000, 2, 60000, "
                                     "8); got 2 arguments"),
            std::string::npos)
      << err("@retry(1, 2)");
  EXPECT_NE(err("@retry(1.5, 2, 10, 3)").find("@retry: initial_ms must be an integer, got 1.5"),
            std::string::npos);
  EXPECT_NE(err("@retry(10, \"x\", 10, 3)").find("@retry: multiplier must be a number, got \"x\""),
            std::string::npos);
  EXPECT_NE(err("@retry(0, 2, 10, 3)")
                .find("@retry on effect 'e': initial delay 0 ms is outside [1 ms, 86400000 ms]"),
            std::string::npos)
      << err("@retry(0, 2, 10, 3)");
  EXPECT_NE(err("@retry(10, 0.5, 10, 3)").find("multiplier 0.500000 is outside [1, 100]"),
            std::string::npos);
  EXPECT_NE(err("@retry(10, 2, 5, 3)")
                .find("max delay 5 ms is outside [the initial delay 10 ms, 86400000 ms]"),
            std::string::npos);
  EXPECT_NE(err("@retry(10, 2, 50, 0)").find("max attempts 0 is outside [1, 1000]"),
            std::string::npos);
  EXPECT_NE(err("@retry(10, 2, 50, 5000)").find("max attempts 5000 is outside [1, 1000]"),
            std::string::npos);
  EXPECT_NE(err("@retry(-1, 2, 50, 3)").find("@retry: initial_ms must not be negative, got -1"),
            std::string::npos);
  EXPECT_NE(compile_error("entity A { x: int = 0 @retry(10, 2, 50, 3) }")
                .find("@retry applies to effects only ('x' is a state field)"),
            std::string::npos);
}

TEST(SchemaParser, AQueueNamesTheFieldsEachTriggerCarries) {
  auto ok = compile_schema(SourceFile{"t.mgs",
                                      "entity A {\n  total: int = 0\n"
                                      "  effect notify: queue(total, status, doubled) when total > 100\n"
                                      "  effect plain: queue when total > 0\n"
                                      "  status: string = \"new\"  doubled: int = total * 2\n}\n"});
  ASSERT_TRUE(ok.is_ok()) << ok.status().message();
  const EntityDef& a = (*ok)->entities[0];
  const FieldDef& notify = a.fields[a.find_field("notify")];
  EXPECT_EQ(notify.effect_kind, EffectKind::queue);
  // In the order written; fields declared after the effect too.
  EXPECT_EQ(notify.carried, (std::vector<std::uint32_t>{a.find_field("total"), a.find_field("status"),
                                                         a.find_field("doubled")}));
  EXPECT_TRUE(a.fields[a.find_field("plain")].carried.empty());
}

TEST(SchemaParser, QueueFieldErrorsNameTheFieldAndTheKind) {
  auto err = [](const std::string& effect) {
    return compile_error("entity A {\n  x: int = 0\n  effect e: " + effect +
                         " when x > 1\n  effect other: bool when x > 2\n}\n");
  };
  EXPECT_NE(err("queue(x, nope)").find("t.mgs:3:22: error: effect e carries unknown field 'nope' of A"),
            std::string::npos)
      << err("queue(x, nope)");
  EXPECT_NE(err("counter(x)").find(
                "t.mgs:3:13: error: effect e: only a queue carries values with each trigger (counter "
                "keeps no values); write queue(...)"),
            std::string::npos)
      << err("counter(x)");
  EXPECT_NE(err("bool(x)").find("only a queue carries values with each trigger (bool keeps no values)"),
            std::string::npos);
  EXPECT_NE(err("queue()").find("effect e: queue() names no field"), std::string::npos) << err("queue()");
  EXPECT_NE(err("queue(x, x)").find("t.mgs:3:22: error: effect e carries 'x' twice"), std::string::npos)
      << err("queue(x, x)");
  EXPECT_NE(err("queue(other)").find("effect e carries 'other', an effect of A; a queue carries "
                                     "fields, not effects"),
            std::string::npos)
      << err("queue(other)");
  EXPECT_NE(err("queue(x").find("t.mgs:3:21: error:"), std::string::npos) << err("queue(x");
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

// ---- Found by tests/fuzz/schema_fuzz.cpp: each crashed, aborted or hit UB before ----

std::shared_ptr<const Schema> compiled(const std::string& text) {
  auto r = compile_schema(SourceFile{"t.mgs", text});
  EXPECT_TRUE(r.is_ok()) << r.status().message();
  return r.is_ok() ? std::move(r).value() : nullptr;
}

std::string repeated(std::string_view piece, std::size_t n) {
  std::string out;
  for (std::size_t i = 0; i < n; ++i) out += piece;
  return out;
}

TEST(SchemaFuzz, LongOperatorChainsAreBoundedLikeNesting) {
  // A chain grows the tree by a loop, not by recursion: it overflowed the stack of the
  // compiler before the parser bounded the tree's height.
  EXPECT_NE(compile_error("entity A { x: int = 1" + repeated(" + 1", 20000) + " }")
                .find("nested too deeply"),
            std::string::npos);
  EXPECT_NE(compile_error("entity A { r: one A via s  x: int = " + repeated("r.", 20000) + "x }")
                .find("nested too deeply"),
            std::string::npos);
  EXPECT_NE(compile_error("entity A { b: bool = true" + repeated(" and true", 20000) + " }")
                .find("nested too deeply"),
            std::string::npos);
  // Below the bound a chain still compiles.
  EXPECT_NE(compiled("entity A { x: int = 1" + repeated(" + 1", 150) + " }"), nullptr);
}

TEST(SchemaFuzz, WavgNeedsBothPatternsOverTheSameCollection) {
  // Two collections of the same length of path passed the check, and the weights were
  // then read from the values' records at the weights' node index: out of bounds.
  const std::string msg = compile_error(
      "entity O { a: many X via o1  b: many Y via o2  w: float = wavg(a[*].p, b[*].q) }\n"
      "entity X { p: float = 0 }\n"
      "entity Y { z1: float = 0  z2: float = 0  q: float = 2 }\n");
  EXPECT_NE(msg.find("wavg takes two numeric patterns over the same collection"), std::string::npos)
      << msg;
  EXPECT_NE(compiled("entity O { a: many X via o  w: float = wavg(a[*].p, a[*].q) }\n"
                     "entity X { p: float = 0  q: float = 1 }\n"),
            nullptr);
}

TEST(SchemaFuzz, NullArgumentsOfTypedFunctionsCountAsZero) {
  // `if c then null else 1` is typed int but may give null; the accessors asserted on it.
  auto schema = compiled(R"(entity A {
    b: bool = true
    sub: string = substr("abc", if true then null else 1)
    up: string = upper(if b then null else "a")
    has: bool = contains("abc", if b then null else "z")
    s: tensor = slice([1, 2, 3], if b then null else 1)
  })");
  ASSERT_NE(schema, nullptr);
  const EntityDef& a = schema->entities[0];
  EXPECT_EQ(a.fields[a.find_field("sub")].initial, Value("abc"));
  Store store(schema);
  const RecordId id = store.create("A", {}).value();
  ASSERT_TRUE(store.commit().is_ok());
  EXPECT_EQ(store.get(id, "up").value(), Value(""));
  EXPECT_EQ(store.get(id, "has").value(), Value(true));
  EXPECT_EQ(store.get(id, "s").value(), Value(Tensor::vector(std::vector<double>{1, 2, 3})));
  ASSERT_TRUE(store.update(id, {{"b", Value(false)}}).is_ok());
  ASSERT_TRUE(store.commit().is_ok());
  EXPECT_EQ(store.get(id, "up").value(), Value("A"));
  EXPECT_EQ(store.get(id, "has").value(), Value(false));
  // A null window is a window of 0: a formula error that fails the field, not an abort.
  Store windows(
      compiled("entity W { b: bool = true\n"
               "  w: float = window_avg([1, 2], if b then null else 1) }"));
  const RecordId w = windows.create("W", {}).value();
  ASSERT_TRUE(windows.commit().is_ok());
  const FieldCondition c = windows.graph().condition(windows.node_of(w, "w").value());
  EXPECT_EQ(c.state, FieldState::failed);
  EXPECT_NE(c.reason.find("window_avg needs a positive window"), std::string::npos) << c.reason;
}

TEST(SchemaFuzz, IntMinModuloMinusOneIsZero) {
  // x86 traps on INT64_MIN % -1; C++ calls it undefined.
  auto schema = compiled("entity A { x: int = (-9223372036854775807 - 1) % -1 }");
  ASSERT_NE(schema, nullptr);
  EXPECT_EQ(schema->entities[0].fields[0].initial, Value(std::int64_t{0}));
}

TEST(SchemaFuzz, AxisStatisticsOfEmptyMatricesAreZeroOrNaN) {
  // Eigen's mean of an empty column reads an element that is not there.
  auto schema = compiled(R"(entity A {
    m: tensor = mean(reshape([], 0, 3), 0)
    s: tensor = std(reshape([], 0, 2), 0)
    c: tensor = correlate(reshape([], 0, 2))
  })");
  ASSERT_NE(schema, nullptr);
  const EntityDef& a = schema->entities[0];
  EXPECT_EQ(a.fields[0].initial, Value(Tensor::vector(std::vector<double>{0, 0, 0})));
  EXPECT_EQ(a.fields[1].initial, Value(Tensor::vector(std::vector<double>{0, 0})));
  const Tensor c = a.fields[2].initial.as_tensor();
  ASSERT_EQ(c.size(), 4u);
  for (double x : c.data()) EXPECT_TRUE(std::isnan(x));
}

TEST(SchemaFuzz, HugeTensorResultsAreFormulaErrors) {
  // A 20000 x 20000 result exceeds Tensor::elements_max; Eigen was asked for 3.2 GB.
  const std::string v = "[1" + repeated(", 1", 19999) + "]";
  const std::string msg = compile_error("entity A { m: tensor = matmul(transpose(" + v + "), " + v +
                                        ")  c: tensor = correlate(reshape(" + v + ", 1, 20000)) }");
  EXPECT_NE(msg.find("matmul: the result would have more than elements_max elements"),
            std::string::npos);
  EXPECT_NE(msg.find("correlate: the result would have more than elements_max elements"),
            std::string::npos);
}

TEST(SchemaFuzz, StringResultsAreBounded) {
  // Each field doubles the string: 8 bytes times 2^20 would have been 8 MiB, and forty
  // fields exhaust any memory.
  std::string text = "entity A { a: string = \"xxxxxxxx\"  b0: string = a + a";
  for (int i = 1; i <= 20; ++i) {
    text += "  b" + std::to_string(i) + ": string = b" + std::to_string(i - 1) + " + b" +
            std::to_string(i - 1);
  }
  Store store(compiled(text + " }"));
  const RecordId a = store.create("A", {}).value();
  ASSERT_TRUE(store.commit().is_ok());
  // The first string over the limit fails its field; the fields after it are blocked.
  const FieldCondition c = store.graph().condition(store.node_of(a, "b20").value());
  EXPECT_EQ(c.state, FieldState::blocked);
  EXPECT_NE(c.reason.find("exceeds the limit"), std::string::npos) << c.reason;
  EXPECT_EQ(store.graph().condition(c.cause).state, FieldState::failed);
}

TEST(SchemaFuzz, SelfInverseRelationDoesNotLinkARecordToItself) {
  // Both sides of `r` are the same list: a self-link entered the record twice and the
  // journal's membership assertion aborted.
  Store store(compiled("entity P { r: many P via many r  n: int = count(r) }"));
  const RecordId a = store.create("P", {}).value();
  const RecordId b = store.create("P", {}).value();
  const Status self = store.link(a, "r", a);
  EXPECT_EQ(self.code(), StatusCode::invalid_argument);
  EXPECT_NE(self.message().find("is its own inverse"), std::string::npos) << self.message();
  ASSERT_TRUE(store.link(a, "r", b).is_ok());
  ASSERT_TRUE(store.commit().is_ok());
  EXPECT_EQ(store.members(a, "r").value(), std::vector<RecordId>{b});
  EXPECT_EQ(store.members(b, "r").value(), std::vector<RecordId>{a});
  EXPECT_EQ(store.get(b, "n").value(), Value(std::int64_t{1}));
}

TEST(SchemaFuzz, IntAggregatesNearTheLimitsWrapOrSaturate) {
  // The incremental sum overflowed int64 (UB), and the min/max multiset cast 2^63 back
  // to int64 (UB). Both aggregate paths must agree.
  constexpr std::int64_t kMax = std::numeric_limits<std::int64_t>::max();
  for (const bool incremental : {true, false}) {
    auto r = compile_schema(SourceFile{"t.mgs",
                                       "entity O { items: many I via o  s: int = sum(items[*].q)"
                                       "  hi: int = max(items[*].q) }\nentity I { q: int = 0 }\n"},
                            CompileOptions{incremental});
    ASSERT_TRUE(r.is_ok()) << r.status().message();
    Store store(std::move(r).value());
    const RecordId o = store.create("O", {}).value();
    const RecordId i = store.create("I", {{"q", Value(kMax)}}).value();
    const RecordId j = store.create("I", {{"q", Value(std::int64_t{1})}}).value();
    ASSERT_TRUE(store.link(o, "items", i).is_ok());
    ASSERT_TRUE(store.link(o, "items", j).is_ok());
    ASSERT_TRUE(store.commit().is_ok());
    EXPECT_EQ(store.get(o, "s").value(), Value(std::numeric_limits<std::int64_t>::min()))
        << "incremental " << incremental;
    EXPECT_EQ(store.get(o, "hi").value(), Value(kMax)) << "incremental " << incremental;
    ASSERT_TRUE(store.update(j, {{"q", Value(std::int64_t{4})}}).is_ok());
    ASSERT_TRUE(store.commit().is_ok());
    EXPECT_EQ(store.get(o, "s").value(), Value(std::numeric_limits<std::int64_t>::min() + 3));
  }
}

}  // namespace
}  // namespace mgraph::schema
