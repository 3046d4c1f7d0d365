// Async fields (docs/SCHEMA.md "Async fields"): `risk: float = async(amount, customer)` is
// a state field that only results write, and a hidden queue effect `risk@request` that
// raises a request, carrying the inputs, each time one of them changes.

#include <gtest/gtest.h>

#include <string>

#include "mgraph/graph/schema/parser.hpp"
#include "mgraph/graph/schema/schema.hpp"
#include "mgraph/graph/schema/store.hpp"
#include "support/schema_files.hpp"

namespace mgraph::schema {
namespace {

constexpr const char* kOrder = R"(entity Order {
  amount: float = 0
  customer: string = ""
  risk: float = async(amount, customer) @retry(100, 2, 400, 5)
  note: string? = async(amount)
  flagged: bool = risk > 0.5
})";

std::shared_ptr<const Schema> order_schema() { return testing::compile_text("o.mgs", kOrder); }

using testing::compile_outcome;

std::uint64_t request_version(Store& s, RecordId id, const std::string& field) {
  return s.version(s.node_of(id, field + "@request").value());
}

TEST(SchemaAsync, AnAsyncFieldIsWrittenByResultsAndItsRequestIsAQueueOfItsInputs) {
  auto schema = order_schema();
  const EntityDef& e = schema->entities[0];
  const FieldDef& risk = e.fields[e.find_field("risk")];
  EXPECT_EQ(risk.kind, FieldKind::state);
  ASSERT_NE(risk.request, kNone);
  const FieldDef& request = e.fields[risk.request];
  EXPECT_EQ(request.name, "risk@request");
  EXPECT_EQ(request.kind, FieldKind::effect);
  EXPECT_EQ(request.effect_kind, EffectKind::queue);
  EXPECT_EQ(request.async_of, e.find_field("risk"));
  EXPECT_EQ(request.carried, (std::vector<std::uint32_t>{e.find_field("amount"), e.find_field("customer")}));
  EXPECT_EQ(request.options.retry.initial, std::chrono::milliseconds(100));
  EXPECT_EQ(request.options.retry.max_attempts, 5u);
  // Its count of accepted results, which `@on_completion(risk)` reads.
  ASSERT_NE(risk.done, kNone);
  const FieldDef& done = e.fields[risk.done];
  EXPECT_EQ(done.name, "risk@done");
  EXPECT_EQ(done.kind, FieldKind::state);
  EXPECT_EQ(done.type, Type::integer);
  EXPECT_EQ(done.async_of, e.find_field("risk"));
  EXPECT_EQ(done.initial, Value(std::int64_t{0}));
  // Until the first result: the type's default, or null for a nullable field.
  EXPECT_EQ(risk.initial, Value(0.0));
  EXPECT_TRUE(e.fields[e.find_field("note")].initial.is_null());
}

TEST(SchemaAsync, DiagnosticsNameTheFieldAndThePlace) {
  auto err = [](const std::string& field) {
    return compile_outcome("entity A {\n  x: int = 0  y: int = 1\n  " + field +
                         "\n  effect e: bool when x > 1\n}\n");
  };
  EXPECT_NE(err("r: float = async(x, nope)").find("t.mgs:3:23: error: async field r names unknown field 'nope' of A"),
            std::string::npos)
      << err("r: float = async(x, nope)");
  EXPECT_NE(err("r: float = async()").find("async field r: async() names no field"), std::string::npos)
      << err("r: float = async()");
  EXPECT_NE(err("r: float = async(x, x)").find("async field r names 'x' twice"), std::string::npos);
  EXPECT_NE(err("r: float = async(r)").find("async field r names itself"), std::string::npos);
  EXPECT_NE(err("r: float = async(e)").find("async field r names 'e', an effect of A"), std::string::npos);
  EXPECT_NE(err("r: float = async(x + y)").find("async takes names of fields of A, not expressions"),
            std::string::npos)
      << err("r: float = async(x + y)");
  EXPECT_NE(err("r: float = async(x) @lazy").find("@lazy on async field r: an async field takes @retry only"),
            std::string::npos)
      << err("r: float = async(x) @lazy");
  EXPECT_NE(err("r: float = async(x) @retry(0, 2, 10, 1)").find("@retry"), std::string::npos);
  EXPECT_NE(err("r: float = 1 + async(x)").find("async(...) is a whole field's value"), std::string::npos)
      << err("r: float = 1 + async(x)");
}

TEST(SchemaAsync, ChangesOfTheInputsRaiseRequestsAndOnlyTheNewestResultIsWritten) {
  Store s(order_schema());
  const RecordId o = s.create("Order", {{"amount", Value(10.0)}, {"customer", Value("ann")}}).value();
  ASSERT_TRUE(s.commit().is_ok());
  // Creation raised the first request: it carries the inputs as the commit left them.
  EXPECT_EQ(s.get(o, "risk@request").value(), Value(std::int64_t{1}));
  EXPECT_EQ(request_version(s, o, "risk"), 1u);
  const FieldDef& request = s.schema().entities[0].fields[s.schema().entities[0].find_field("risk@request")];
  EXPECT_EQ(Store::queue_trigger_json(s.queue_trigger(o, request)),
            "{\"values\":{\"amount\":10,\"customer\":\"ann\"},\"time\":null}");
  EXPECT_EQ(s.get(o, "risk").value(), Value(0.0));

  // A change of an input raises another; a change of nothing it reads does not.
  ASSERT_TRUE(s.update(o, {{"amount", Value(20.0)}}).is_ok());
  ASSERT_TRUE(s.commit().is_ok());
  EXPECT_EQ(request_version(s, o, "risk"), 2u);
  EXPECT_EQ(request_version(s, o, "note"), 2u);
  ASSERT_TRUE(s.update(o, {{"customer", Value("bob")}}).is_ok());
  ASSERT_TRUE(s.commit().is_ok());
  EXPECT_EQ(request_version(s, o, "risk"), 3u);
  EXPECT_EQ(request_version(s, o, "note"), 2u);

  // The result of request 2 comes late: superseded, nothing written.
  Result<bool> late = s.resolve(o, "risk", 2, Value(0.9));
  ASSERT_TRUE(late.is_ok()) << late.status().message();
  EXPECT_FALSE(*late);
  ASSERT_TRUE(s.commit().is_ok());
  EXPECT_EQ(s.get(o, "risk").value(), Value(0.0));
  // The newest one is written, and the graph computes from it; an int widens to float.
  ASSERT_TRUE(s.resolve(o, "risk", 3, Value(0.75)).value());
  ASSERT_TRUE(s.resolve(o, "note", 2, Value("ok")).value());
  ASSERT_TRUE(s.commit().is_ok());
  EXPECT_EQ(s.get(o, "risk").value(), Value(0.75));
  EXPECT_EQ(s.get(o, "flagged").value(), Value(true));
  EXPECT_EQ(s.get(o, "note").value(), Value("ok"));
  // A result is no input: the request stays where it was.
  EXPECT_EQ(request_version(s, o, "risk"), 3u);
  ASSERT_TRUE(s.resolve(o, "risk", 3, Value(std::int64_t{0})).value());
  ASSERT_TRUE(s.commit().is_ok());
  EXPECT_EQ(s.get(o, "risk").value(), Value(0.0));
  EXPECT_EQ(s.get(o, "flagged").value(), Value(false));
  // Undo takes a result back as any write.
  ASSERT_TRUE(s.undo().is_ok());
  EXPECT_EQ(s.get(o, "risk").value(), Value(0.75));
}

// Undo of an input change raises no request (undo walks the history, as for any effect):
// the results of the requests before it are superseded, and the field keeps its value.
TEST(SchemaAsync, AnUndoneInputChangeSupersedesTheRequestsBeforeItAndAsksNothing) {
  Store s(order_schema());
  const RecordId o = s.create("Order", {{"amount", Value(10.0)}}).value();
  ASSERT_TRUE(s.commit().is_ok());
  ASSERT_TRUE(s.resolve(o, "risk", 1, Value(0.25)).value());
  ASSERT_TRUE(s.commit().is_ok());
  ASSERT_TRUE(s.update(o, {{"amount", Value(20.0)}}).is_ok());
  ASSERT_TRUE(s.commit().is_ok());
  EXPECT_EQ(request_version(s, o, "risk"), 2u);
  ASSERT_TRUE(s.undo().is_ok());
  // The count is back to one request, at a version of its own.
  EXPECT_EQ(s.get(o, "risk@request").value(), Value(std::int64_t{1}));
  EXPECT_EQ(request_version(s, o, "risk"), 3u);
  for (const std::uint64_t before : {1u, 2u}) {
    Result<bool> late = s.resolve(o, "risk", before, Value(0.9));
    ASSERT_TRUE(late.is_ok()) << late.status().message();
    EXPECT_FALSE(*late) << before;
    ASSERT_TRUE(s.commit().is_ok());
  }
  EXPECT_EQ(s.get(o, "risk").value(), Value(0.25));
  EXPECT_EQ(s.get(o, "risk@done").value(), Value(std::int64_t{1}));
  // A change of the input asks anew.
  ASSERT_TRUE(s.update(o, {{"amount", Value(30.0)}}).is_ok());
  ASSERT_TRUE(s.commit().is_ok());
  EXPECT_EQ(request_version(s, o, "risk"), 4u);
  EXPECT_EQ(s.get(o, "risk@request").value(), Value(std::int64_t{2}));
}

TEST(SchemaAsync, WrongResultsAndWritesAreRefusedAndChangeNothing) {
  Store s(order_schema());
  const RecordId o = s.create("Order", {{"amount", Value(10.0)}}).value();
  ASSERT_TRUE(s.commit().is_ok());
  Result<bool> wrong = s.resolve(o, "risk", 1, Value("high"));
  ASSERT_FALSE(wrong.is_ok());
  EXPECT_NE(wrong.status().message().find("Order.risk: "), std::string::npos) << wrong.status().message();
  Result<bool> null = s.resolve(o, "risk", 1, Value());
  ASSERT_FALSE(null.is_ok());
  EXPECT_NE(null.status().message().find("not nullable"), std::string::npos) << null.status().message();
  Result<bool> future = s.resolve(o, "risk", 7, Value(0.5));
  ASSERT_FALSE(future.is_ok());
  EXPECT_EQ(future.status().message(), "Order#1.risk has no request of version 7 (the newest is 1)");
  EXPECT_FALSE(s.resolve(o, "amount", 1, Value(0.5)).is_ok());
  Status update = s.update(o, {{"risk", Value(0.5)}});
  ASSERT_FALSE(update.is_ok());
  EXPECT_NE(update.message().find("Order.risk is computed outside the graph (async)"), std::string::npos)
      << update.message();
  EXPECT_FALSE(s.set(o, "risk", Value(0.5)).is_ok());
  EXPECT_FALSE(s.create("Order", {{"risk", Value(0.5)}}).is_ok());
  EXPECT_FALSE(s.create("Order", {{"risk@done", Value(std::int64_t{1})}}).is_ok());
  EXPECT_FALSE(s.set(o, "risk@done", Value(std::int64_t{1})).is_ok());
  EXPECT_FALSE(s.resolve(o, "risk@done", 1, Value(std::int64_t{1})).is_ok());
  s.reject();
  EXPECT_EQ(s.get(o, "risk").value(), Value(0.0));
  // An acknowledgement of the request changes nothing: the request counts what was raised.
  ASSERT_TRUE(s.set(o, "risk@request", Value(false)).is_ok());
  ASSERT_TRUE(s.commit().is_ok());
  EXPECT_EQ(request_version(s, o, "risk"), 1u);
}

TEST(SchemaAsync, AnImageKeepsResultsAndRequests) {
  Store s(order_schema());
  const RecordId o = s.create("Order", {{"amount", Value(10.0)}}).value();
  ASSERT_TRUE(s.commit().is_ok());
  ASSERT_TRUE(s.update(o, {{"amount", Value(11.0)}}).is_ok());
  ASSERT_TRUE(s.commit().is_ok());
  ASSERT_TRUE(s.resolve(o, "risk", 2, Value(0.25)).value());
  ASSERT_TRUE(s.commit().is_ok());
  Result<StoreImage> image = s.export_image();
  ASSERT_TRUE(image.is_ok()) << image.status().message();
  Store back(order_schema());
  ASSERT_TRUE(back.import_image(std::move(image).value()).is_ok());
  EXPECT_EQ(back.get(o, "risk").value(), Value(0.25));
  EXPECT_EQ(back.get(o, "risk@done").value(), Value(std::int64_t{1}));
  EXPECT_EQ(request_version(back, o, "risk"), 2u);
  ASSERT_TRUE(back.update(o, {{"amount", Value(12.0)}}).is_ok());
  ASSERT_TRUE(back.commit().is_ok());
  EXPECT_EQ(request_version(back, o, "risk"), 3u);
}

}  // namespace
}  // namespace mgraph::schema
