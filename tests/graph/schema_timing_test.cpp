// Execution timing (docs/SCHEMA.md "Execution timing"): @every, @at, @batched,
// @conditional and @on_completion on derived fields and effects, under the schema's clock,
// which only transactions move (Store::set_clock): no test here waits for time to pass.
// Replays of the same transactions give the same values, undo takes a tick back, and bad
// annotations are reported at their place.

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "mgraph/graph/clock.hpp"
#include "mgraph/graph/prng.hpp"
#include "mgraph/graph/schema/store.hpp"
#include "support/schema_files.hpp"

namespace mgraph::schema {
namespace {

std::unique_ptr<Store> store_for(const std::string& text, StoreOptions options = {}) {
  auto r = compile_schema(SourceFile{"t.mgs", text});
  EXPECT_TRUE(r.is_ok()) << r.status().message();
  if (!r.is_ok()) return nullptr;
  return std::make_unique<Store>(std::move(r).value(), options);
}

using testing::compile_outcome;

Value i64(std::int64_t v) { return Value(v); }

class Timed {
 public:
  explicit Timed(const std::string& schema, StoreOptions options = {})
      : s(store_for(schema, options)) {}
  void tick(std::int64_t ms) {
    ASSERT_TRUE(s->set_clock(ms).is_ok());
    ASSERT_TRUE(s->commit().is_ok());
  }
  void put(RecordId id, const char* field, Value v) {
    ASSERT_TRUE(s->update(id, {{field, std::move(v)}}).is_ok());
    ASSERT_TRUE(s->commit().is_ok());
  }
  Value get(RecordId id, const char* field) { return s->get(id, field).value(); }
  std::unique_ptr<Store> s;
};

TEST(SchemaTiming, EveryRecomputesWhenTheClockCrossesAMultipleOfThePeriod) {
  Timed t("entity S { x: int = 1  slow: int = x * 2 @every(5s)  now: int = x * 2 }");
  const RecordId a = t.s->create("S", {}).value();
  ASSERT_TRUE(t.s->commit().is_ok());
  EXPECT_EQ(t.get(a, "slow"), i64(2));  // computed when the record is created
  t.put(a, "x", i64(3));
  EXPECT_EQ(t.get(a, "now"), i64(6));
  EXPECT_EQ(t.get(a, "slow"), i64(2));  // pending until the clock crosses 5 s
  t.tick(4'999);
  EXPECT_EQ(t.get(a, "slow"), i64(2));
  t.tick(5'000);
  EXPECT_EQ(t.get(a, "slow"), i64(6));
  t.put(a, "x", i64(4));
  t.put(a, "x", i64(5));
  t.tick(9'999);
  EXPECT_EQ(t.get(a, "slow"), i64(6));
  t.tick(23'000);  // several periods at once: one recomputation, with the last value
  EXPECT_EQ(t.get(a, "slow"), i64(10));
  // A tick with nothing pending changes nothing.
  const NodeId slow = t.s->node_of(a, "slow").value();
  const std::uint64_t version = t.s->version(slow);
  t.tick(30'000);
  EXPECT_EQ(t.s->version(slow), version);
}

TEST(SchemaTiming, UndoAndRedoTakeATickBackAndForth) {
  Timed t("entity S { x: int = 1  slow: int = x + 100 @every(1s) }");
  const RecordId a = t.s->create("S", {}).value();
  ASSERT_TRUE(t.s->commit().is_ok());
  t.put(a, "x", i64(2));
  t.tick(1'000);
  EXPECT_EQ(t.get(a, "slow"), i64(102));
  ASSERT_TRUE(t.s->undo().is_ok());  // the tick
  EXPECT_EQ(t.s->clock().value(), 0);
  EXPECT_EQ(t.get(a, "slow"), i64(101));
  EXPECT_EQ(t.get(a, "x"), i64(2));
  ASSERT_TRUE(t.s->redo().is_ok());
  EXPECT_EQ(t.s->clock().value(), 1'000);
  EXPECT_EQ(t.get(a, "slow"), i64(102));
  // After an undo the clock may be moved again from where undo left it.
  ASSERT_TRUE(t.s->undo().is_ok());
  t.tick(500);
  EXPECT_EQ(t.get(a, "slow"), i64(101));
  t.tick(2'000);
  EXPECT_EQ(t.get(a, "slow"), i64(102));
}

TEST(SchemaTiming, TheClockDoesNotGoBackAndNeedsATimedSchema) {
  Timed t("entity S { x: int = 1  slow: int = x @every(1s) }");
  t.tick(2'000);
  const Status back = t.s->set_clock(1'999);
  EXPECT_EQ(back.code(), StatusCode::invalid_argument);
  EXPECT_NE(back.message().find("does not go back: it is 1970-01-01T00:00:02Z, not "
                                "1970-01-01T00:00:01.999Z"),
            std::string::npos)
      << back.message();
  EXPECT_EQ(t.s->set_clock(-1).code(), StatusCode::invalid_argument);
  auto plain = store_for("entity S { x: int = 1  y: int = x @conditional(x > 0) }");
  EXPECT_EQ(plain->set_clock(1).code(), StatusCode::failed_precondition);
  EXPECT_EQ(plain->schema().global_entity, kNone);  // no clock: no global record
}

TEST(SchemaTiming, AtRecomputesOnceWhenTheClockPassesTheTime) {
  Timed t(R"(entity S { x: int = 1  closing: int = x @at("1970-01-01T00:01:00Z") })");
  const RecordId a = t.s->create("S", {}).value();
  ASSERT_TRUE(t.s->commit().is_ok());
  t.put(a, "x", i64(7));
  t.tick(59'999);
  EXPECT_EQ(t.get(a, "closing"), i64(1));
  t.tick(60'000);
  EXPECT_EQ(t.get(a, "closing"), i64(7));
  t.put(a, "x", i64(8));
  t.tick(600'000);
  EXPECT_EQ(t.get(a, "closing"), i64(7));  // once
  // A record created after the time is computed when created, and never again.
  const RecordId b = t.s->create("S", {{"x", i64(3)}}).value();
  ASSERT_TRUE(t.s->commit().is_ok());
  t.put(b, "x", i64(4));
  EXPECT_EQ(t.get(b, "closing"), i64(3));
}

TEST(SchemaTiming, BatchedRecomputesAfterCountChangesOrWhenTheIntervalPassed) {
  Timed t("entity S { x: int = 0  every3: int = x @batched(3)  mixed: int = x @batched(3, 1s) }");
  const RecordId a = t.s->create("S", {}).value();
  ASSERT_TRUE(t.s->commit().is_ok());
  t.put(a, "x", i64(1));
  t.put(a, "x", i64(2));
  EXPECT_EQ(t.get(a, "every3"), i64(0));
  EXPECT_EQ(t.get(a, "mixed"), i64(0));
  t.put(a, "x", i64(3));  // the third change
  EXPECT_EQ(t.get(a, "every3"), i64(3));
  EXPECT_EQ(t.get(a, "mixed"), i64(3));
  t.put(a, "x", i64(4));
  t.tick(999);
  EXPECT_EQ(t.get(a, "mixed"), i64(3));
  t.tick(1'000);  // the interval passed with one change pending
  EXPECT_EQ(t.get(a, "mixed"), i64(4));
  EXPECT_EQ(t.get(a, "every3"), i64(3));
  t.put(a, "x", i64(5));
  t.put(a, "x", i64(6));
  EXPECT_EQ(t.get(a, "every3"), i64(6));
  // A write that leaves the value as it was is no change.
  t.put(a, "x", i64(6));
  t.put(a, "x", i64(7));
  t.put(a, "x", i64(8));
  EXPECT_EQ(t.get(a, "every3"), i64(6));
  t.put(a, "x", i64(9));
  EXPECT_EQ(t.get(a, "every3"), i64(9));
}

TEST(SchemaTiming, ConditionalFollowsItsFormulaWhileThePredicateHolds) {
  Timed t(R"(entity S {
    x: int = 1  status: string = "draft"
    shown: int = x * 10 @conditional(status == "open" and x > 0)
  })");
  const RecordId a = t.s->create("S", {}).value();
  ASSERT_TRUE(t.s->commit().is_ok());
  EXPECT_EQ(t.get(a, "shown"), i64(10));  // computed when created
  t.put(a, "x", i64(2));
  EXPECT_EQ(t.get(a, "shown"), i64(10));
  t.put(a, "status", Value("open"));  // the pending change comes in
  EXPECT_EQ(t.get(a, "shown"), i64(20));
  t.put(a, "x", i64(3));
  EXPECT_EQ(t.get(a, "shown"), i64(30));
  t.put(a, "x", i64(-1));  // the predicate fails on this very change: kept
  EXPECT_EQ(t.get(a, "shown"), i64(30));
  t.put(a, "x", i64(4));
  EXPECT_EQ(t.get(a, "shown"), i64(40));
}

TEST(SchemaTiming, OnCompletionRecomputesWhenTheNamedFieldBecomesTrue) {
  Timed t(R"(entity Upload {
    bytes: int = 0  done: bool = false
    size: int = bytes @on_completion(done)
    effect finished: bool when bytes > 0 @on_completion
  })");
  const RecordId a = t.s->create("Upload", {}).value();
  ASSERT_TRUE(t.s->commit().is_ok());
  t.put(a, "bytes", i64(100));
  t.put(a, "bytes", i64(250));
  EXPECT_EQ(t.get(a, "size"), i64(0));
  // A bare @on_completion on an effect: the condition is the completion, as without it.
  EXPECT_EQ(t.get(a, "finished"), Value(true));
  t.put(a, "done", Value(true));
  EXPECT_EQ(t.get(a, "size"), i64(250));
  t.put(a, "bytes", i64(300));
  t.put(a, "done", Value(false));  // not a completion
  EXPECT_EQ(t.get(a, "size"), i64(250));
  t.put(a, "done", Value(true));  // completes again
  EXPECT_EQ(t.get(a, "size"), i64(300));
}

TEST(SchemaTiming, ATimedEffectSeesItsConditionAtTheTicksOnly) {
  Timed t("entity S { x: int = 0  effect hot: counter when x > 5 @every(1m) }");
  const RecordId a = t.s->create("S", {}).value();
  ASSERT_TRUE(t.s->commit().is_ok());
  t.put(a, "x", i64(10));
  EXPECT_EQ(t.get(a, "hot"), i64(0));
  t.tick(60'000);
  EXPECT_EQ(t.get(a, "hot"), i64(1));
  // Down and up again between ticks: the effect does not see it.
  t.put(a, "x", i64(0));
  t.put(a, "x", i64(9));
  t.tick(120'000);
  EXPECT_EQ(t.get(a, "hot"), i64(1));
  t.put(a, "x", i64(0));
  t.tick(180'000);
  t.put(a, "x", i64(9));
  t.tick(240'000);
  EXPECT_EQ(t.get(a, "hot"), i64(2));
}

TEST(SchemaTiming, ConditionalAndOnCompletionEffectsSeeTheirConditionWhenLetThrough) {
  Timed t(R"(entity Job {
    load: int = 0  armed: bool = false  done: bool = false
    effect high: bool when load > 10 @conditional(armed)
    effect big_result: counter when load > 100 @on_completion(done)
  })");
  const RecordId a = t.s->create("Job", {}).value();
  ASSERT_TRUE(t.s->commit().is_ok());
  t.put(a, "load", i64(50));
  EXPECT_EQ(t.get(a, "high"), Value(false));  // not armed: the condition waits
  t.put(a, "armed", Value(true));
  EXPECT_EQ(t.get(a, "high"), Value(true));
  t.put(a, "load", i64(500));
  EXPECT_EQ(t.get(a, "big_result"), i64(0));
  t.put(a, "done", Value(true));
  EXPECT_EQ(t.get(a, "big_result"), i64(1));
  // Down and up again before the next completion: one more trigger when it completes.
  t.put(a, "load", i64(0));
  t.put(a, "done", Value(false));
  t.put(a, "done", Value(true));
  EXPECT_EQ(t.get(a, "big_result"), i64(1));  // the condition is false at this completion
  t.put(a, "load", i64(200));
  t.put(a, "done", Value(false));
  t.put(a, "done", Value(true));
  EXPECT_EQ(t.get(a, "big_result"), i64(2));
  // True at the next completion too: one more trigger (a completion is an event).
  t.put(a, "done", Value(false));
  t.put(a, "done", Value(true));
  EXPECT_EQ(t.get(a, "big_result"), i64(3));
}

// `@on_completion(risk)` on an async field: each accepted result completes, even of the
// value the field held; a superseded result and changes of the inputs alone do not. An
// effect sees each completion as an event: it triggers at each one where its condition
// holds, not only when the condition turns true.
TEST(SchemaTiming, OnCompletionOfAnAsyncFieldCompletesWithEachAcceptedResult) {
  Timed t(R"(entity Order {
    amount: float = 0
    risk: float = async(amount)
    scored: float = amount @on_completion(risk)
    effect high: counter when risk > 0.5 @on_completion(risk)
    effect scored_again: counter when amount > 0 @on_completion(risk)
  })");
  Store& s = *t.s;
  const RecordId o = s.create("Order", {{"amount", Value(10.0)}}).value();
  ASSERT_TRUE(s.commit().is_ok());
  EXPECT_EQ(t.get(o, "scored"), Value(10.0));  // computed when the record is created
  EXPECT_EQ(t.get(o, "risk@done"), i64(0));
  EXPECT_EQ(t.get(o, "scored_again"), i64(1));  // the condition holds at the creation
  auto resolve = [&](std::uint64_t version, double v) {
    Result<bool> r = s.resolve(o, "risk", version, Value(v));
    EXPECT_TRUE(r.is_ok()) << r.status().message();
    EXPECT_TRUE(s.commit().is_ok());
    return r.is_ok() && *r;
  };
  // Inputs that change alone complete nothing.
  t.put(o, "amount", Value(20.0));  // request 2
  EXPECT_EQ(t.get(o, "scored"), Value(10.0));
  EXPECT_EQ(t.get(o, "high"), i64(0));
  EXPECT_EQ(t.get(o, "scored_again"), i64(1));
  EXPECT_TRUE(resolve(2, 0.75));
  EXPECT_EQ(t.get(o, "risk@done"), i64(1));
  EXPECT_EQ(t.get(o, "scored"), Value(20.0));
  EXPECT_EQ(t.get(o, "high"), i64(1));
  EXPECT_EQ(t.get(o, "scored_again"), i64(2));
  // A superseded result completes nothing; the newest one does, with the same value.
  t.put(o, "amount", Value(30.0));  // request 3
  t.put(o, "amount", Value(40.0));  // request 4
  EXPECT_FALSE(resolve(3, 0.9));
  EXPECT_EQ(t.get(o, "risk@done"), i64(1));
  EXPECT_EQ(t.get(o, "scored"), Value(20.0));
  EXPECT_EQ(t.get(o, "high"), i64(1));
  EXPECT_TRUE(resolve(4, 0.75));
  EXPECT_EQ(t.get(o, "risk@done"), i64(2));
  EXPECT_EQ(t.get(o, "scored"), Value(40.0));
  EXPECT_EQ(t.get(o, "high"), i64(2));  // true at two completions in a row: two triggers
  EXPECT_EQ(t.get(o, "scored_again"), i64(3));
  // The same request answered again: one more completion, as the consumer sent one more.
  EXPECT_TRUE(resolve(4, 0.2));
  EXPECT_EQ(t.get(o, "high"), i64(2));  // false at this completion
  EXPECT_EQ(t.get(o, "scored_again"), i64(4));
  EXPECT_TRUE(resolve(4, 0.8));
  EXPECT_EQ(t.get(o, "high"), i64(3));
  // Undo takes a completion back with its result: the count is a value like the others.
  ASSERT_TRUE(s.undo().is_ok());
  EXPECT_EQ(t.get(o, "risk@done"), i64(3));
  EXPECT_EQ(t.get(o, "high"), i64(2));
  EXPECT_EQ(t.get(o, "risk"), Value(0.2));
  // Scripts do not write the count.
  Status write = s.update(o, {{"risk@done", i64(9)}});
  EXPECT_EQ(write.message(), "Order.risk@done counts the results written to risk: only resolve risk "
                             "VERSION VALUE adds to it");
  s.reject();
}

TEST(SchemaTiming, TimedFieldsReadRelationsSelfAndGlobals) {
  Timed t(R"(
    global rate: float = 2
    entity Order {
      items: many Item via order
      total: float = sum(items[*].price) * global.rate @every(1s)
      seen: int = self + 1 @every(1s)
    }
    entity Item { price: float = 0 })");
  const RecordId o = t.s->create("Order", {}).value();
  const RecordId i = t.s->create("Item", {{"price", Value(5.0)}}).value();
  ASSERT_TRUE(t.s->commit().is_ok());
  ASSERT_TRUE(t.s->link(o, "items", i).is_ok());
  ASSERT_TRUE(t.s->set(kGlobalRecord, "rate", Value(3.0)).is_ok());
  ASSERT_TRUE(t.s->commit().is_ok());
  EXPECT_EQ(t.get(o, "total"), Value(0.0));
  t.tick(1'000);
  EXPECT_EQ(t.get(o, "total"), Value(15.0));
  // `self` is the formula's own previous value: the value runs at once, the field shows it
  // at the ticks.
  EXPECT_EQ(t.get(o, "seen"), i64(1));
}

TEST(SchemaTiming, AFailingTimedFormulaFailsTheFieldOrItsTransaction) {
  Timed t(R"(entity S {
    d: int = 1
    q: int = 100 % d @every(1s)
    strict: int = 100 % d @every(1s) @fail_transaction
  })");
  const RecordId a = t.s->create("S", {}).value();
  ASSERT_TRUE(t.s->commit().is_ok());
  // The formula runs at once: the transaction that makes it fail is rolled back for
  // @fail_transaction, and commits otherwise, the field blocked by its failed value.
  ASSERT_TRUE(t.s->update(a, {{"d", i64(0)}}).is_ok());
  const Result<CommitStats> rolled = t.s->commit();
  EXPECT_EQ(rolled.status().code(), StatusCode::formula_error) << rolled.status().message();
  EXPECT_EQ(t.get(a, "d"), i64(1));
  auto lax = store_for("entity S { d: int = 1  q: int = 100 % d @every(1s) }");
  const RecordId b = lax->create("S", {}).value();
  ASSERT_TRUE(lax->commit().is_ok());
  ASSERT_TRUE(lax->update(b, {{"d", i64(0)}}).is_ok());
  ASSERT_TRUE(lax->commit().is_ok());
  ASSERT_TRUE(lax->set_clock(1'000).is_ok());
  ASSERT_TRUE(lax->commit().is_ok());
  EXPECT_EQ(lax->get(b, "q").value(), i64(0));  // the last good value
  EXPECT_NE(lax->graph().condition(lax->node_of(b, "q").value()).state, FieldState::ok);
  ASSERT_TRUE(lax->update(b, {{"d", i64(7)}}).is_ok());
  ASSERT_TRUE(lax->commit().is_ok());
  EXPECT_EQ(lax->graph().condition(lax->node_of(b, "q").value()).state, FieldState::ok);
  EXPECT_EQ(lax->get(b, "q").value(), i64(0));  // recovered, pending until the next tick
  ASSERT_TRUE(lax->set_clock(2'000).is_ok());
  ASSERT_TRUE(lax->commit().is_ok());
  EXPECT_EQ(lax->get(b, "q").value(), i64(2));
}

/// The state of one record under a random stream of writes and ticks, as the reference:
/// what each timed field must hold.
struct Model {
  std::int64_t x = 0;
  bool open = false;
  std::int64_t clock = 0;
  std::int64_t every = 0, batched = 0, conditional = 0;
  std::int64_t changes = 0;
};

constexpr const char* kRandomSchema = R"(entity S {
  x: int = 0  open: bool = false
  every: int = x @every(7s)
  batched: int = x @batched(4)
  conditional: int = x @conditional(open)
})";

/// Applies `steps` random transactions from `seed` to `t`, checking against the model
/// after each; returns every committed value of the record's timed fields, in order.
std::vector<Value> run_random(Timed& t, std::uint64_t seed, int steps) {
  std::vector<Value> seen;
  const RecordId a = t.s->create("S", {}).value();
  EXPECT_TRUE(t.s->commit().is_ok());
  Model m;
  Prng prng(seed);
  for (int step = 0; step < steps; ++step) {
    switch (prng.below(3)) {
      case 0: {
        const auto x = static_cast<std::int64_t>(prng.below(5));
        EXPECT_TRUE(t.s->update(a, {{"x", i64(x)}}).is_ok());
        if (x != m.x) {
          m.x = x;
          if (++m.changes % 4 == 0) m.batched = x;
        }
        break;
      }
      case 1:
        m.open = !m.open;
        EXPECT_TRUE(t.s->update(a, {{"open", Value(m.open)}}).is_ok());
        break;
      case 2: {
        const std::int64_t next = m.clock + static_cast<std::int64_t>(prng.below(10'000));
        EXPECT_TRUE(t.s->set_clock(next).is_ok());
        if (next / 7'000 != m.clock / 7'000) m.every = m.x;
        m.clock = next;
        break;
      }
    }
    if (m.open) m.conditional = m.x;
    EXPECT_TRUE(t.s->commit().is_ok());
    EXPECT_EQ(t.get(a, "every"), i64(m.every)) << "step " << step;
    EXPECT_EQ(t.get(a, "batched"), i64(m.batched)) << "step " << step;
    EXPECT_EQ(t.get(a, "conditional"), i64(m.conditional)) << "step " << step;
    for (const char* f : {"every", "batched", "conditional"}) seen.push_back(t.get(a, f));
  }
  return seen;
}

TEST(SchemaTiming, RandomStreamsMatchTheModelAndReplayIdentically) {
  for (std::uint64_t seed : {1u, 2u, 3u}) {
    Timed first(kRandomSchema);
    Timed again(kRandomSchema);
    const std::vector<Value> a = run_random(first, seed, 400);
    const std::vector<Value> b = run_random(again, seed, 400);
    EXPECT_EQ(a, b) << "seed " << seed;
  }
}

TEST(SchemaTiming, ATimedFieldSurvivesAnImage) {
  Timed t("entity S { x: int = 1  slow: int = x @every(1s) }");
  const RecordId a = t.s->create("S", {}).value();
  ASSERT_TRUE(t.s->commit().is_ok());
  t.put(a, "x", i64(2));
  Result<StoreImage> image = t.s->export_image();
  ASSERT_TRUE(image.is_ok()) << image.status().message();
  Timed back("entity S { x: int = 1  slow: int = x @every(1s) }");
  ASSERT_TRUE(back.s->import_image(std::move(image).value()).is_ok());
  EXPECT_EQ(back.get(a, "slow"), i64(1));  // the pending change stays pending
  back.put(a, "x", i64(5));                // the gate's first computation after the image
  EXPECT_EQ(back.get(a, "slow"), i64(1));
  back.put(a, "x", i64(2));
  back.tick(1'000);
  EXPECT_EQ(back.get(a, "slow"), i64(2));
  back.put(a, "x", i64(3));
  EXPECT_EQ(back.get(a, "slow"), i64(2));
}

TEST(SchemaTiming, AnnotationsParseDurationsAndTimes) {
  auto r = compile_schema(SourceFile{
      "t.mgs",
      R"(entity S { x: int = 0  a: int = x @every(250ms)  b: int = x @every(2h)
                    c: int = x @at("2026-12-03T10:00:00.250Z")  d: int = x @batched(10, 1d)
                    e: int = x @every(1500) })"});
  ASSERT_TRUE(r.is_ok()) << r.status().message();
  const EntityDef& s = (*r)->entities[0];
  EXPECT_EQ(s.fields[s.find_field("a")].timed.period_ms, 250);
  EXPECT_EQ(s.fields[s.find_field("b")].timed.period_ms, 7'200'000);
  EXPECT_EQ(s.fields[s.find_field("c")].timed.at_ms, 1'796'292'000'250);
  EXPECT_EQ(s.fields[s.find_field("d")].timed.count, 10);
  EXPECT_EQ(s.fields[s.find_field("d")].timed.period_ms, 86'400'000);
  EXPECT_EQ(s.fields[s.find_field("e")].timed.period_ms, 1'500);
  EXPECT_NE((*r)->clock_field, kNone);
}

TEST(SchemaTiming, BadAnnotationsAreReportedAtTheirPlace) {
  struct Case {
    const char* member;
    const char* message;
  };
  const Case cases[] = {
      {"y: int = x @every(0s)", "1:36: error: @every: the period: '0s' is not a duration"},
      {"y: int = x @every(5 parsecs)", "1:44: error: expected ')', found 'parsecs'"},
      {"y: int = x @every(5w)", "1:43: error: expected ')', found 'w'"},
      {"y: int = x @every()", "1:36: error: @every takes one period, e.g. @every(5s)"},
      {"y: int = x @every(1s, 2s)", "1:36: error: @every takes one period"},
      {"y: int = x @at(\"2026-02-30\")",
       "1:36: error: @at: '2026-02-30' is not a UTC time: write 2026-12-03"},
      {"y: int = x @at(true)", "1:36: error: @at takes one UTC time"},
      {"y: int = x @batched(0)", "1:36: error: @batched: the count must be an integer in [1, "},
      {"y: int = x @batched(2.5)", "1:36: error: @batched: the count must be an integer"},
      {"y: int = x @batched(3, \"soon\")",
       "1:36: error: @batched: the interval: 'soon' is not a duration"},
      {"y: int = x @conditional(x + 1)", "1:50: error: @conditional needs a bool condition, got int"},
      {"y: int = x @conditional(nope)", "1:48: error: unknown name 'nope' in entity S"},
      {"y: int = x @conditional(y > 0)",
       "1:50: error: @conditional: the condition of y reads the field itself"},
      {"y: int = x @conditional", "1:36: error: @conditional takes a bool condition"},
      {"y: int = x @on_completion(x)",
       "1:50: error: @on_completion names a bool field or an async field of S"},
      {"y: int = x @on_completion", "1:36: error: @on_completion on a derived field names"},
      {"y: int = x @every(1s) @batched(2)",
       "1:47: error: @batched: field y already has the timing @every; a field has one timing"},
      {"y: int = x @every(1s) @lazy", "1:36: error: @every and @lazy"},
      {"y: int = 3 @every(1s)",
       "1:36: error: @every applies to derived fields and effects ('y' is a state field"},
      {"y: int = x @temporal(\"1s\")", "1:36: error: @temporal is written @every(PERIOD)"},
  };
  for (const Case& c : cases) {
    const std::string text = std::string("entity S { x: int = 0  ") + c.member + " }";
    const std::string msg = compile_outcome(text);
    EXPECT_NE(msg.find(std::string("t.mgs:") + c.message), std::string::npos)
        << c.member << "\n"
        << msg;
  }
}

TEST(Clock, ParsesAndFormatsTimesAndDurations) {
  EXPECT_EQ(parse_utc_ms("1970-01-01").value(), 0);
  EXPECT_EQ(parse_utc_ms("2000-03-01T00:00:00Z").value(), 951'868'800'000);
  EXPECT_EQ(parse_utc_ms("2024-02-29T23:59:59.999Z").value(), 1'709'251'199'999);
  EXPECT_FALSE(parse_utc_ms("2023-02-29").is_ok());
  EXPECT_FALSE(parse_utc_ms("2026-12-03T10:00:00").is_ok());  // no zone: not UTC for sure
  EXPECT_FALSE(parse_utc_ms("1969-12-31").is_ok());
  EXPECT_EQ(format_utc_ms(1'709'251'199'999), "2024-02-29T23:59:59.999Z");
  EXPECT_EQ(format_utc_ms(951'868'800'000), "2000-03-01T00:00:00Z");
  for (std::int64_t ms : {std::int64_t{0}, std::int64_t{86'399'999}, std::int64_t{1'796'292'000'250},
                          kTimeMsMax / 2}) {
    EXPECT_EQ(parse_utc_ms(format_utc_ms(ms)).value(), ms) << ms;
  }
  EXPECT_EQ(parse_duration_ms("250ms").value(), 250);
  EXPECT_EQ(parse_duration_ms("5s").value(), 5'000);
  EXPECT_EQ(parse_duration_ms("2m").value(), 120'000);
  EXPECT_EQ(parse_duration_ms("1d").value(), 86'400'000);
  EXPECT_EQ(parse_duration_ms("42").value(), 42);
  EXPECT_FALSE(parse_duration_ms("0s").is_ok());
  EXPECT_FALSE(parse_duration_ms("-5s").is_ok());
  EXPECT_FALSE(parse_duration_ms("5 s").is_ok());
  EXPECT_FALSE(parse_duration_ms("999999999999999d").is_ok());
  ManualClock manual(1'000);
  const WallClock read = manual.clock();
  manual.advance(500);
  EXPECT_EQ(read(), 1'500);
  manual.set(7);
  EXPECT_EQ(read(), 7);
}

}  // namespace
}  // namespace mgraph::schema
