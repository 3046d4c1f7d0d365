// Async fields in scripts (docs/SCHEMA.md "Async fields", docs/SCRIPTS.md `resolve`): each
// change of an input raises a request that carries the inputs; `resolve REF.field VERSION
// VALUE` writes the newest request's result, answers "superseded" for an older one, and is
// an ordinary write for undo and for the replay of a persistent session.

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <initializer_list>
#include <string>
#include <tuple>
#include <vector>

#include <nlohmann/json.hpp>

#include "mgraph/session/persistent_session.hpp"
#include "mgraph/session/script_runner.hpp"

namespace mgraph::session {
namespace {

namespace fs = std::filesystem;

constexpr const char* kSchema = R"(entity Order {
  amount: float = 0
  customer: string = ""
  risk: float = async(amount, customer) @retry(100, 2, 400, 5)
  flagged: bool = risk > 0.5
}
)";

std::shared_ptr<const schema::Schema> compiled() {
  auto r = schema::compile_schema(schema::SourceFile{"a.mgs", kSchema});
  EXPECT_TRUE(r.is_ok()) << r.status().message();
  return std::move(r).value();
}

std::string run(ScriptRunner& runner, std::initializer_list<const char*> lines) {
  std::string out;
  std::size_t n = 0;
  for (const char* line : lines) runner.run_line(line, ++n, &out);
  return out;
}

TEST(SessionAsync, ResultsOfTheNewestRequestAreWrittenOlderOnesAreSuperseded) {
  ScriptRunner runner(compiled());
  EXPECT_EQ(run(runner, {"create Order o amount=10 customer=\"ann\"", "commit", "get o.risk@request",
                         "get o.risk", "update o amount=20", "commit", "get o.risk@request"}),
            "{\"get\":\"o.risk@request\",\"value\":1,\"version\":1,\"revision\":1}\n"
            "{\"get\":\"o.risk\",\"value\":0,\"version\":0,\"revision\":1}\n"
            "{\"get\":\"o.risk@request\",\"value\":2,\"version\":2,\"revision\":2}\n");
  // Request 1's result comes after request 2 was raised: acknowledged, not written.
  EXPECT_EQ(run(runner, {"resolve o.risk 1 0.9", "commit", "get o.risk", "resolve o.risk 2 0.75",
                         "commit", "get o.risk", "get o.flagged"}),
            "{\"resolve\":\"o.risk\",\"version\":1,\"outcome\":\"superseded\"}\n"
            "{\"get\":\"o.risk\",\"value\":0,\"version\":0,\"revision\":2}\n"
            "{\"resolve\":\"o.risk\",\"version\":2,\"outcome\":\"written\"}\n"
            "{\"get\":\"o.risk\",\"value\":0.75,\"version\":1,\"revision\":3}\n"
            "{\"get\":\"o.flagged\",\"value\":true,\"version\":2,\"revision\":3}\n");
  // A result is a write like any other: undo takes it back, redo brings it again.
  EXPECT_EQ(run(runner, {"undo", "get o.risk", "redo", "get o.risk"}),
            "{\"get\":\"o.risk\",\"value\":0,\"version\":2,\"revision\":2}\n"
            "{\"get\":\"o.risk\",\"value\":0.75,\"version\":3,\"revision\":3}\n");
}

TEST(SessionAsync, AResultOfTheWrongTypeIsRefusedAndNothingIsApplied) {
  ScriptRunner runner(compiled());
  const std::string out =
      run(runner, {"create Order o amount=10", "commit", "resolve o.risk 1 \"high\"", "resolve o.risk 9 0.5",
                   "resolve o.amount 1 0.5", "update o risk=0.5", "resolve o.risk x 0.5", "commit",
                   "get o.risk"});
  EXPECT_NE(out.find("{\"error\":\"Order.risk: "), std::string::npos) << out;
  EXPECT_NE(out.find("Order#1.risk has no request of version 9 (the newest is 1)"), std::string::npos) << out;
  EXPECT_NE(out.find("Order.amount is not an async field"), std::string::npos) << out;
  EXPECT_NE(out.find("Order.risk is computed outside the graph (async): only a result writes it"),
            std::string::npos)
      << out;
  EXPECT_NE(out.find("resolve REF.field VERSION VALUE needs the request's version, not 'x'"),
            std::string::npos)
      << out;
  EXPECT_NE(out.find("{\"get\":\"o.risk\",\"value\":0,\"version\":0,"), std::string::npos) << out;
}

class SessionAsyncPersistent : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = (fs::temp_directory_path() / ("mgraph_async_" + std::to_string(::getpid()))).string();
    fs::remove_all(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  /// Opens the session (replaying what is logged) and runs `lines`.
  std::string run(std::initializer_list<const char*> lines) {
    ScriptRunner runner(compiled());
    auto session = PersistentSession::open(dir_, "a.mgs", kSchema, runner);
    EXPECT_TRUE(session.is_ok()) << session.status().message();
    if (!session.is_ok()) return {};
    std::string out;
    std::size_t n = 0;
    for (const char* line : lines) {
      bool ok = false;
      EXPECT_TRUE((*session)->run_line(line, ++n, &out, &ok).is_ok());
    }
    return out;
  }

  std::string dir_;
};

TEST_F(SessionAsyncPersistent, TheLedgerKeepsEachRequestsInputsAndAReopenedSessionTheResults) {
  run({"create Order o amount=10 customer=\"ann\"", "commit", "update o customer=\"bob\"", "commit",
       "resolve o.risk 2 0.625", "commit"});
  const std::string audit = run({"audit o.risk@request"});
  EXPECT_NE(audit.find("\"detail\":\"{\\\"value\\\":1,\\\"values\\\":{\\\"amount\\\":10,"
                       "\\\"customer\\\":\\\"ann\\\"},\\\"time\\\":null}\""),
            std::string::npos)
      << audit;
  EXPECT_NE(audit.find("\"detail\":\"{\\\"value\\\":2,\\\"values\\\":{\\\"amount\\\":10,"
                       "\\\"customer\\\":\\\"bob\\\"},\\\"time\\\":null}\""),
            std::string::npos)
      << audit;
  // Reopened: the log replays the result as it was written.
  EXPECT_EQ(run({"get o.risk", "get o.flagged"}),
            "{\"get\":\"o.risk\",\"value\":0.625,\"version\":1,\"revision\":3}\n"
            "{\"get\":\"o.flagged\",\"value\":true,\"version\":2,\"revision\":3}\n");
}

TEST_F(SessionAsyncPersistent, AResultSettlesItsRequestInTheLedgerWrittenOrSuperseded) {
  run({"create Order o amount=10 customer=\"ann\"", "commit",   // request 1
       "update o customer=\"bob\"", "commit",                     // request 2
       "resolve o.risk 1 0.25", "commit",                          // too late: superseded
       "resolve o.risk 2 0.625", "commit"});                       // written
  // After a reopen too: the trail of o.risk is its requests', each settled by its result.
  const std::string text = run({"audit o.risk"});
  const nlohmann::json audit = nlohmann::json::parse(text, nullptr, false);
  ASSERT_FALSE(audit.is_discarded()) << text;
  EXPECT_EQ(audit["audit"], "o.risk");
  std::vector<std::tuple<std::uint64_t, std::uint64_t, std::string>> trail;  // version, seq, kind
  std::vector<nlohmann::json> acks;
  for (const nlohmann::json& r : audit["records"]) {
    trail.emplace_back(r["version"], r["seq"], r["kind"]);
    if (r["kind"] == "ack") acks.push_back(nlohmann::json::parse(r["detail"].get<std::string>()));
  }
  EXPECT_EQ(trail, (std::vector<std::tuple<std::uint64_t, std::uint64_t, std::string>>{
                       {1, 0, "transition"}, {1, 1, "ack"}, {2, 0, "transition"}, {2, 1, "ack"}}))
      << text;
  ASSERT_EQ(acks.size(), 2u);
  EXPECT_EQ(acks[0]["key"]["version"], 1);
  EXPECT_EQ(acks[0]["result"], 0.25);
  EXPECT_EQ(acks[0]["outcome"], "superseded");
  EXPECT_EQ(acks[1]["key"]["version"], 2);
  EXPECT_EQ(acks[1]["result"], 0.625);
  EXPECT_EQ(acks[1]["outcome"], "written");
  EXPECT_EQ(acks[0]["key"]["field"], acks[1]["key"]["field"]);
  // A result that fails (no such request) writes nothing.
  run({"resolve o.risk 9 0.5", "commit"});
  const nlohmann::json again = nlohmann::json::parse(run({"audit o.risk"}), nullptr, false);
  EXPECT_EQ(again["records"].size(), 4u) << again.dump();
}

}  // namespace
}  // namespace mgraph::session
