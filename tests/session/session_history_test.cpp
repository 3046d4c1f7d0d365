// Version history and the effect ledger of persistent sessions: every change of an effect
// or @versioned field is stored with its epoch in the epoch's own LMDB transaction, and
// `history` / `audit` read it back, also after reopening.

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <initializer_list>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "mgraph/session/script_runner.hpp"
#include "mgraph/session/persistent_session.hpp"
#include "support/same_output.hpp"

namespace mgraph::session {
namespace {

namespace fs = std::filesystem;

constexpr const char* kSchema = R"(entity Order {
  items: many Item via order
  total: float = sum(items[*].price) @versioned
  plain: float = total * 2
  effect big: bool when total > 100
  effect alerts: counter when total > 50
}
entity Item { price: float = 0 @versioned }
)";

class SessionHistory : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = (fs::temp_directory_path() / ("mgraph_history_" + std::to_string(::getpid()))).string();
    fs::remove_all(dir_);
    auto compiled = schema::compile_schema(schema::SourceFile{"h.mgs", kSchema});
    ASSERT_TRUE(compiled.is_ok()) << compiled.status().message();
    schema_ = std::move(compiled).value();
  }
  void TearDown() override { fs::remove_all(dir_); }

  /// Opens a new session on the directory and runs `lines`; returns what they print with
  /// every time_ns replaced by T.
  std::string run(std::initializer_list<const char*> lines) {
    ScriptRunner runner(schema_);
    auto session = PersistentSession::open(dir_, "h.mgs", text_, runner);
    EXPECT_TRUE(session.is_ok()) << session.status().message();
    if (!session.is_ok()) return {};
    std::string out;
    std::size_t n = 0;
    for (const char* line : lines) {
      bool ok = false;
      EXPECT_TRUE((*session)->run_line(line, ++n, &out, &ok).is_ok());
    }
    return mgraph::testing::without_times(out);
  }

  /// Sessions run `text` from now on (a test's own schema).
  void use_schema(const char* text) {
    auto compiled = schema::compile_schema(schema::SourceFile{"h.mgs", text});
    ASSERT_TRUE(compiled.is_ok()) << compiled.status().message();
    schema_ = std::move(compiled).value();
    text_ = text;
  }

  std::string dir_;
  std::shared_ptr<const schema::Schema> schema_;
  const char* text_ = kSchema;
};

TEST_F(SessionHistory, EachEpochIsStampedWithTheTimeTheSessionsClockGives) {
  std::uint64_t now_ns = 1'700'000'000'000'000'000;
  SessionOptions options;
  options.wall_clock_ns = [&now_ns] { return now_ns; };
  ScriptRunner runner(schema_);
  auto session = PersistentSession::open(dir_, "h.mgs", text_, runner, options);
  ASSERT_TRUE(session.is_ok()) << session.status().message();
  std::string out;
  bool ok = false;
  std::size_t n = 0;
  for (const char* line : {"create Order o", "create Item i price=200", "link o.items i", "commit"}) {
    ASSERT_TRUE((*session)->run_line(line, ++n, &out, &ok).is_ok());
  }
  now_ns += 5'000;
  for (const char* line : {"update i price=20", "commit", "history o.total", "audit o.big"}) {
    ASSERT_TRUE((*session)->run_line(line, ++n, &out, &ok).is_ok());
  }
  EXPECT_NE(out.find("{\"version\":1,\"epoch\":1,\"time_ns\":1700000000000000000,\"value\":200}"),
            std::string::npos)
      << out;
  EXPECT_NE(out.find("{\"version\":2,\"epoch\":2,\"time_ns\":1700000000000005000,\"value\":20}"),
            std::string::npos)
      << out;
  EXPECT_NE(out.find("\"kind\":\"transition\",\"epoch\":1,\"time_ns\":1700000000000000000,\"detail\":\"true\""),
            std::string::npos)
      << out;
}

TEST_F(SessionHistory, VersionedFieldsKeepEveryValueWithItsEpoch) {
  run({"create Order o", "create Item a price=60", "link o.items a", "commit",  // epoch 1
       "update a price=120", "commit",                                           // epoch 2
       "update a price=10", "commit",                                            // epoch 3
       "undo"});                                                                 // epoch 4
  EXPECT_EQ(run({"history o.total"}),
            "{\"history\":\"o.total\",\"versions\":["
            "{\"version\":1,\"epoch\":1,T,\"value\":60},"
            "{\"version\":2,\"epoch\":2,T,\"value\":120},"
            "{\"version\":3,\"epoch\":3,T,\"value\":10},"
            "{\"version\":4,\"epoch\":4,T,\"value\":120}]}\n");
  EXPECT_EQ(run({"history a.price at 3", "history a.price at 0"}),
            "{\"history\":\"a.price\",\"at\":3,\"version\":{\"version\":2,\"epoch\":3,T,\"value\":10}}\n"
            "{\"history\":\"a.price\",\"at\":0,\"version\":null}\n");
  // The history continues after reopening, and `get` names the same version.
  const std::string later = run({"update a price=7", "commit", "get o.total", "history o.total"});
  EXPECT_NE(later.find("{\"get\":\"o.total\",\"value\":7,\"version\":5,"), std::string::npos)
      << later;
  EXPECT_NE(later.find("{\"version\":5,\"epoch\":5,T,\"value\":7}]}"), std::string::npos) << later;
}

TEST_F(SessionHistory, EffectsKeepAnAuditTrailWithAcknowledgements) {
  run({"create Order o", "create Item a price=120", "link o.items a", "commit",  // trigger
       "ack o.big", "commit"});                                                  // ack
  // After reopening, an ack is still recognised against the stored history.
  run({"update a price=50", "commit", "update a price=150", "commit", "ack o.big", "commit"});
  EXPECT_EQ(run({"audit o.big"}),
            "{\"audit\":\"o.big\",\"records\":["
            "{\"version\":1,\"seq\":0,\"kind\":\"transition\",\"epoch\":1,T,\"detail\":\"true\"},"
            "{\"version\":2,\"seq\":0,\"kind\":\"transition\",\"epoch\":2,T,\"detail\":\"false\"},"
            "{\"version\":2,\"seq\":1,\"kind\":\"ack\",\"epoch\":2,T,"
            "\"detail\":\"{\\\"key\\\":{\\\"field\\\":6,\\\"version\\\":1},\\\"before\\\":true,\\\"value\\\":false}\"},"
            "{\"version\":3,\"seq\":0,\"kind\":\"transition\",\"epoch\":4,T,\"detail\":\"true\"},"
            "{\"version\":4,\"seq\":0,\"kind\":\"transition\",\"epoch\":5,T,\"detail\":\"false\"},"
            "{\"version\":4,\"seq\":1,\"kind\":\"ack\",\"epoch\":5,T,"
            "\"detail\":\"{\\\"key\\\":{\\\"field\\\":6,\\\"version\\\":3},\\\"before\\\":true,\\\"value\\\":false}\"}]}\n");
  const std::string counter = run({"audit o.alerts", "ack o.alerts", "commit", "audit o.alerts"});
  EXPECT_NE(counter.find("\"kind\":\"ack\",\"epoch\":6,T,\"detail\":\"{\\\"key\\\":{\\\"field\\\":8,"
                         "\\\"version\\\":1},\\\"before\\\":2,\\\"value\\\":1}\""),
            std::string::npos)
      << counter;
}

// Acks settle triggers oldest first, and each ack's entry names the trigger it settled by
// its delivery key (the effect's node, the trigger's version), in the run that raised it
// and after reopening alike.
TEST_F(SessionHistory, AnAckNamesTheOldestTriggerNotSettledByItsDeliveryKey) {
  use_schema("entity S { x: int = 0  effect up: counter when x > 0 }\n");
  run({"create S s", "commit",                    // version 1: 0
       "update s x=1", "commit",                  // 2: a trigger
       "update s x=0", "commit",                  // the condition goes false: nothing
       "update s x=2", "commit",                  // 3: a trigger
       "ack s.up", "commit",                      // 4: settles 2
       "update s x=0", "commit", "update s x=3", "commit"});  // 5: a trigger
  run({"ack s.up", "commit", "ack s.up", "commit"});           // 6, 7: settle 3, then 5
  std::string text = run({"audit s.up"});
  for (std::size_t t = text.find(",T,"); t != std::string::npos; t = text.find(",T,", t)) {
    text.replace(t, 3, ",\"time_ns\":0,");  // run() hid the times
  }
  const nlohmann::json audit = nlohmann::json::parse(text);
  std::vector<std::uint64_t> settled;
  std::set<std::uint64_t> fields;
  for (const nlohmann::json& r : audit["records"]) {
    if (r["kind"] != "ack") continue;
    const nlohmann::json detail = nlohmann::json::parse(r["detail"].get<std::string>());
    settled.push_back(detail["key"]["version"]);
    fields.insert(detail["key"]["field"].get<std::uint64_t>());
    EXPECT_EQ(detail["value"].get<int>(), detail["before"].get<int>() - 1) << detail;
  }
  EXPECT_EQ(settled, (std::vector<std::uint64_t>{2, 3, 5})) << audit;
  EXPECT_EQ(fields.size(), 1u) << audit;
}

TEST_F(SessionHistory, EveryTriggerOfAQueueKeepsTheValuesItNamesAndTheClock) {
  use_schema(R"(entity Order {
  total: int = 0  status: string = "new"
  shown: int = total @every(1s)
  effect notify: queue(total, status) when total > 100
}
)");
  run({"create Order o", "clock 1970-01-01T00:00:05Z", "commit",        // epoch 1: nothing
       "update o total=150 status=\"open\"", "commit",                   // 2: first trigger
       "update o total=50", "clock +2s", "commit",                       // 3: condition false
       "update o total=200 status=\"paid\"", "clock +1s", "commit"});    // 4: second trigger
  // Acks one by one, also after reopening: the count goes down by one each. The trail:
  // the creation's 0, each trigger with its values and clock, then the acks.
  run({"ack o.notify", "commit", "ack o.notify", "commit", "get o.notify"});
  EXPECT_EQ(run({"audit o.notify"}),
            "{\"audit\":\"o.notify\",\"records\":["
            "{\"version\":1,\"seq\":0,\"kind\":\"transition\",\"epoch\":1,T,\"detail\":\"0\"},"
            "{\"version\":2,\"seq\":0,\"kind\":\"transition\",\"epoch\":2,T,"
            "\"detail\":\"{\\\"value\\\":1,\\\"values\\\":{\\\"total\\\":150,\\\"status\\\":\\\"open\\\"},"
            "\\\"time\\\":5000}\"},"
            "{\"version\":3,\"seq\":0,\"kind\":\"transition\",\"epoch\":4,T,"
            "\"detail\":\"{\\\"value\\\":2,\\\"values\\\":{\\\"total\\\":200,\\\"status\\\":\\\"paid\\\"},"
            "\\\"time\\\":8000}\"},"
            "{\"version\":4,\"seq\":0,\"kind\":\"transition\",\"epoch\":5,T,\"detail\":\"1\"},"
            "{\"version\":4,\"seq\":1,\"kind\":\"ack\",\"epoch\":5,T,"
            "\"detail\":\"{\\\"key\\\":{\\\"field\\\":9,\\\"version\\\":2},\\\"before\\\":2,\\\"value\\\":1}\"},"
            "{\"version\":5,\"seq\":0,\"kind\":\"transition\",\"epoch\":6,T,\"detail\":\"0\"},"
            "{\"version\":5,\"seq\":1,\"kind\":\"ack\",\"epoch\":6,T,"
            "\"detail\":\"{\\\"key\\\":{\\\"field\\\":9,\\\"version\\\":3},\\\"before\\\":1,\\\"value\\\":0}\"}]}\n");
}

TEST_F(SessionHistory, QueriesOnFieldsWithoutHistoryAreErrors) {
  const std::string out = run({"create Order o", "commit", "history o.plain", "audit o.total",
                               "history nobody.total", "history o.total at x",
                               "history o.total sideways"});
  EXPECT_NE(out.find("o.plain keeps no history"), std::string::npos) << out;
  EXPECT_NE(out.find("o.total is not an effect"), std::string::npos) << out;
  EXPECT_NE(out.find("unknown record 'nobody'"), std::string::npos) << out;
  EXPECT_NE(out.find("'x' is not an epoch number"), std::string::npos) << out;
  EXPECT_NE(out.find("usage: history REF.field [at EPOCH]"), std::string::npos) << out;
}

}  // namespace
}  // namespace mgraph::session
