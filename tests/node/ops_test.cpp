// The node's operations parts in one process: the admin socket's explain and dot over
// partitions (field_trace.hpp, against partitions run by the documents' driver), the log's
// lines (log.hpp), the coordinator's epoch events (epoch_events.hpp) and draining
// (NodeState).

#include <gtest/gtest.h>
#include <spdlog/sinks/ostream_sink.h>

#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "epoch_events.hpp"
#include "field_trace.hpp"
#include "log.hpp"
#include "mgraph/actors/inspect.hpp"
#include "mgraph/actors/partitioned.hpp"
#include "mgraph/session/client.hpp"
#include "node_state.hpp"
#include "support/dot_graph.hpp"
#include "support/script_outcome.hpp"

namespace mgraph::node {
namespace {

using Json = nlohmann::json;

constexpr const char* kOrders = R"(entity Order {
  discount: float = 0
  items: many Item via order
  subtotal: float = sum(items[*].line)
  total: float = subtotal * (1 - discount)
}
entity Item {
  price: float = 0
  qty: int = 1
  line: float = price * qty
}
)";
constexpr std::uint32_t kPartitions = 4;

class DriverBackend final : public session::Backend {
 public:
  explicit DriverBackend(actors::PartitionedDocuments& d) : documents_(d) {}
  Result<session::BatchResult> run(const session::Batch& batch) override { return documents_.run(batch); }

 private:
  actors::PartitionedDocuments& documents_;
};

/// Documents on four partitions; this node ("n1") hosts 0 and 1, "n2" hosts 2 and 3.
class FieldTrace : public ::testing::Test {
 protected:
  void SetUp() override {
    auto compiled = schema::compile_schema(schema::SourceFile{"orders.mgs", kOrders});
    ASSERT_TRUE(compiled.is_ok()) << compiled.status().message();
    actors::PartitionedDocuments::Options options;
    options.partitions = kPartitions;
    documents_ = std::make_unique<actors::PartitionedDocuments>(std::move(compiled).value(), options);
    access_.partitions = kPartitions;
    access_.hosted = {0, 1};
    access_.hosts = {{0, "n1"}, {1, "n1"}, {2, "n2"}, {3, "n2"}};
    std::istringstream lines(kOrders);
    for (std::string line; std::getline(lines, line);) access_.schema_lines.push_back(line);
    access_.field = [this](std::uint32_t p, std::uint64_t record, const std::string& field) -> Result<Json> {
      return Json::parse(actors::inspect_field(store(p), record, field));
    };
    access_.nodes = [this](std::uint32_t p, const std::vector<std::uint32_t>& nodes) -> Result<Json> {
      return Json::parse(actors::inspect_nodes(store(p), nodes));
    };
  }
  const schema::Store& store(std::uint32_t p) {
    return static_cast<actors::LocalPartitions&>(documents_->set()).server(p).store();
  }
  void run(const std::string& script) {
    DriverBackend backend(*documents_);
    session::ScriptClient client(backend, session::ClientOptions{.batch_transactions = true, .print = {}});
    const testing::Outcome o = testing::run_script(client, script);
    ASSERT_EQ(o.failed, 0u) << o.out;
  }
  static bool here(std::uint64_t record) {
    return schema::Placement::partition_of(record, kPartitions) < 2;
  }

  std::unique_ptr<actors::PartitionedDocuments> documents_;
  PartitionAccess access_;
};

/// An order (#1) with four items (#2..#5) at prices 10, 20, 30, 40, quantity 2.
constexpr const char* kFourItems =
    "create Order o discount=0.5\n"
    "create Item a price=10 qty=2\ncreate Item b price=20 qty=2\n"
    "create Item c price=30 qty=2\ncreate Item d price=40 qty=2\n"
    "link o.items a\nlink o.items b\nlink o.items c\nlink o.items d\ncommit\n";

TEST_F(FieldTrace, ExplainShowsValuesVersionsDefinitionsAndWhereRemoteInputsLive) {
  run(kFourItems);
  // The placement of these ids puts records on both nodes (else the test shows nothing).
  std::set<bool> sides;
  for (std::uint64_t id = 2; id <= 5; ++id) sides.insert(here(id));
  ASSERT_EQ(sides.size(), 2u);

  Result<nlohmann::ordered_json> trace = explain_field(access_, FieldRef{"Order", 1, "total"}, 3);
  ASSERT_TRUE(trace.is_ok()) << trace.status().message();
  const Json t = Json::parse(trace->dump());
  EXPECT_EQ(t["explain"], "Order#1.total");
  const Json& total = t["field"];
  ASSERT_TRUE(here(1)) << "the order is computed on n2: the test would show nothing here";
  EXPECT_EQ(total["value"], 100.0) << t;  // (20 + 40 + 60 + 80) * 0.5
  EXPECT_EQ(total["version"], 1) << t;
  EXPECT_EQ(total["kind"], "derived");
  EXPECT_EQ(total["definition"], "total: float = subtotal * (1 - discount)");
  ASSERT_EQ(total["inputs"].size(), 2u) << t;
  const Json& subtotal = total["inputs"][0];
  EXPECT_EQ(subtotal["name"], "Order#1.subtotal");
  EXPECT_EQ(subtotal["value"], 200.0);
  EXPECT_EQ(total["inputs"][1]["name"], "Order#1.discount");
  EXPECT_EQ(total["inputs"][1]["kind"], "state");
  // subtotal <- the accumulator <- each item's line: here with its inputs, or remote.
  const Json& acc = subtotal["inputs"][0];
  EXPECT_EQ(acc["kind"], "computed");
  ASSERT_EQ(acc["inputs"].size(), 4u) << t;
  for (const Json& line : acc["inputs"]) {
    const std::string name = line["name"];
    const std::uint64_t id = std::stoull(name.substr(name.find('#') + 1));
    if (here(id)) {
      EXPECT_EQ(line["value"], 20.0 * static_cast<double>(id - 1)) << line;
      EXPECT_EQ(line["node"], "n1");
      EXPECT_EQ(line["inputs_not_shown"], 2) << line;  // depth 3 reached
    } else {
      EXPECT_EQ(line["remote"], true) << line;
      EXPECT_EQ(line["node"], "n2") << line;
      EXPECT_EQ(line["partition"], schema::Placement::partition_of(id, kPartitions));
      EXPECT_FALSE(line.contains("value")) << line;
    }
  }
}

TEST_F(FieldTrace, ExplainShowsAFailedFieldWithItsReasonAndLastGoodValue) {
  run(kFourItems);
  std::uint64_t id = 2;
  while (id <= 5 && !here(id)) ++id;
  ASSERT_LE(id, 5u) << "no item on this node: the test would show nothing";
  // price * qty is infinite: the line fails (docs/SCHEMA.md, "Failed fields").
  run("update #" + std::to_string(id) + " price=1e308\ncommit\n");
  Result<nlohmann::ordered_json> trace = explain_field(access_, FieldRef{"Item", id, "line"}, 1);
  ASSERT_TRUE(trace.is_ok()) << trace.status().message();
  const Json line = Json::parse(trace->dump())["field"];
  EXPECT_EQ(line["value"], 20.0 * static_cast<double>(id - 1)) << line;  // its last good value
  EXPECT_EQ(line["state"], "failed") << line;
  EXPECT_EQ(line["reason"], "Item.line: the result is infinite; a float field holds finite numbers");
  EXPECT_FALSE(line.contains("blocked_by")) << line;
  EXPECT_FALSE(line["inputs"][0].contains("state")) << line;  // the price is fine
}

TEST_F(FieldTrace, DepthZeroShowsTheFieldAlone) {
  run(kFourItems);
  for (std::uint64_t id = 2; id <= 5; ++id) {
    if (!here(id)) continue;
    Result<nlohmann::ordered_json> trace = explain_field(access_, FieldRef{"", id, "line"}, 0);
    ASSERT_TRUE(trace.is_ok()) << trace.status().message();
    EXPECT_EQ((*trace)["field"]["inputs_not_shown"], 2) << *trace;
    EXPECT_FALSE((*trace)["field"].contains("inputs")) << *trace;
    return;
  }
  FAIL() << "no item on this node";
}

TEST_F(FieldTrace, BadReferencesAreRefusedWithTheReason) {
  run(kFourItems);
  auto message = [&](const FieldRef& ref) {
    Result<nlohmann::ordered_json> r = explain_field(access_, ref, 1);
    EXPECT_FALSE(r.is_ok());
    return r.is_ok() ? std::string() : r.status().message();
  };
  EXPECT_EQ(message({"", 99, "total"}), "no record #99");
  EXPECT_EQ(message({"Item", 1, "total"}), "record #1 is Order, not Item");
  EXPECT_EQ(message({"Item", 1, "price"}), "record #1 is Order, not Item");
  EXPECT_EQ(message({"", 1, "nosuch"}), "unknown field 'nosuch' in entity Order");
  PartitionAccess empty = access_;
  empty.hosted.clear();
  EXPECT_NE(explain_field(empty, {"", 1, "total"}, 1).status().message().find("hosts no partition"),
            std::string::npos);
  for (const std::string bad : {"o.total", "#1", "#x.total", "Order#1.", "#0.total", "O-1#1.total"}) {
    Result<FieldRef> r = parse_field_ref(bad);
    ASSERT_FALSE(r.is_ok()) << bad;
    EXPECT_NE(r.status().message().find("not '" + bad + "'"), std::string::npos) << r.status().message();
  }
  const Result<FieldRef> ok = parse_field_ref("Order#12.total");
  ASSERT_TRUE(ok.is_ok());
  EXPECT_EQ(ok->entity, "Order");
  EXPECT_EQ(ok->record, 12u);
  EXPECT_EQ(ok->field, "total");
}

/// The graph `text` draws; a malformed one fails the test.
testing::DotGraph parse_dot(const std::string& text) {
  testing::DotGraph d = testing::parse_dot(text);
  EXPECT_TRUE(d.well_formed) << text;
  return d;
}

TEST_F(FieldTrace, DotOfAFieldDrawsItAndItsInputsDownToTheDepth) {
  run(kFourItems);
  std::uint64_t item = 0;
  for (std::uint64_t id = 2; id <= 5 && item == 0; ++id) item = here(id) ? id : 0;
  ASSERT_NE(item, 0u);
  const FieldRef ref{"Item", item, "line"};
  const std::string name = "Item#" + std::to_string(item);
  Result<std::string> text = dot_graph(access_, &ref, 1);
  ASSERT_TRUE(text.is_ok()) << text.status().message();
  const testing::DotGraph d = parse_dot(*text);
  std::set<std::string> labels;
  for (const auto& [id, label] : d.labels) labels.insert(label);
  EXPECT_EQ(labels, (std::set<std::string>{name + ".line", name + ".price", name + ".qty"})) << *text;
  EXPECT_EQ(d.edges, (std::set<std::pair<std::string, std::string>>{{name + ".price", name + ".line"},
                                                                    {name + ".qty", name + ".line"}}))
      << *text;
  // Depth 0: the field alone.
  text = dot_graph(access_, &ref, 0);
  ASSERT_TRUE(text.is_ok());
  EXPECT_EQ(parse_dot(*text).labels.size(), 1u) << *text;
}

TEST_F(FieldTrace, DotOfTheWholeGraphHasEveryNodeAndRemoteOnesDashed) {
  run(kFourItems);
  Result<std::string> text = dot_graph(access_, nullptr, 0);
  ASSERT_TRUE(text.is_ok()) << text.status().message();
  const testing::DotGraph d = parse_dot(*text);
  EXPECT_EQ(d.labels.size(), store(0).graph().node_count());
  for (std::uint64_t id = 2; id <= 5; ++id) {
    const std::string line = "Item#" + std::to_string(id) + ".line";
    if (here(id)) {
      EXPECT_TRUE(d.edges.count({"Item#" + std::to_string(id) + ".price", line})) << *text;
    } else {
      const std::string remote =
          line + " (partition " + std::to_string(schema::Placement::partition_of(id, kPartitions)) + ", n2)";
      EXPECT_TRUE(d.dashed.count(remote)) << remote << "\n" << *text;
    }
  }
}

TEST_F(FieldTrace, DotOfAGraphAboveTheLimitIsRefusedSuggestingAField) {
  std::string script;
  for (std::size_t i = 0; i < dot_nodes_max / 4 + 1; ++i) script += "create Item\n";
  run(script + "commit\n");
  ASSERT_GT(store(0).graph().node_count(), dot_nodes_max);
  Result<std::string> text = dot_graph(access_, nullptr, 0);
  ASSERT_FALSE(text.is_ok());
  EXPECT_NE(text.status().message().find("more than dot_nodes_max (2000)"), std::string::npos);
  EXPECT_NE(text.status().message().find("dot REF.field --depth N"), std::string::npos);
}

// ---- The log ----

/// The log's lines go to a string, stamped 2026-12-02T20:31:00.123Z.
class Log : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto t = std::chrono::sys_days{std::chrono::year{2026} / 12 / 2} + std::chrono::hours{20} +
                   std::chrono::minutes{31} + std::chrono::milliseconds{123};
    log::init("n1", log::Level::info, std::make_shared<spdlog::sinks::ostream_sink_mt>(out_),
              [t] { return std::chrono::system_clock::time_point(t); });
  }
  void TearDown() override { log::init("", log::Level::info); }
  std::ostringstream out_;
};

TEST_F(Log, ALineIsTimeLevelThenKeyValueFields) {
  log::info("peer_up", {{"peer", "n2"}});
  log::warn("slow_epoch", {{"epoch", 7}, {"ms", 1234.5678}, {"ok", false}});
  EXPECT_EQ(out_.str(),
            "2026-12-02T20:31:00.123Z info node=n1 event=peer_up peer=n2\n"
            "2026-12-02T20:31:00.123Z warn node=n1 event=slow_epoch epoch=7 ms=1234.568 ok=false\n");
}

TEST_F(Log, ValuesWithSpacesQuotesOrNewlinesAreQuotedAndParseBack) {
  const std::string tricky = "a \"quoted\" word=x\\y\nnext";
  log::error("node_stop", {{"reason", tricky}, {"empty", ""}});
  const std::string line = out_.str();
  EXPECT_EQ(std::count(line.begin(), line.end(), '\n'), 1) << line;  // one line
  const auto fields = log::parse_line(line.substr(0, line.size() - 1));
  EXPECT_EQ(fields.at("level"), "error");
  EXPECT_EQ(fields.at("event"), "node_stop");
  EXPECT_EQ(fields.at("reason"), tricky);
  EXPECT_EQ(fields.at("empty"), "");
  EXPECT_EQ(fields.at("node"), "n1");
}

TEST_F(Log, LinesBelowTheLevelAreDroppedAndLevelsParseByName) {
  log::debug("hidden");
  log::set_level(log::Level::debug);
  log::debug("shown");
  log::set_level(log::Level::off);
  log::error("hidden");
  EXPECT_EQ(out_.str(), "2026-12-02T20:31:00.123Z debug node=n1 event=shown\n");
  for (const char* name : {"trace", "debug", "info", "warn", "error", "off"}) {
    const Result<log::Level> l = log::parse_level(name);
    ASSERT_TRUE(l.is_ok()) << name;
    EXPECT_STREQ(log::level_name(*l), name);
  }
  EXPECT_EQ(log::parse_level("warning").status().message(),
            "log level must be one of trace, debug, info, warn, error, off, not 'warning'");
}

TEST_F(Log, EpochEventsLogAbortsSlowEpochsAndRecoveryProgress) {
  std::chrono::steady_clock::time_point now{};
  EpochEvents events(100, 3, [&now] { return now; });
  now += recovery_progress_interval;  // the first replayed epoch comes a second later
  events.observe({1, true, true, 0, 0, ""});
  events.observe({2, true, true, 0, 0, ""});  // within the interval: no line
  now += std::chrono::milliseconds(500);
  events.observe({3, false, true, 0, 0, "rejected: no"});
  events.observe({4, true, false, 0.05, 1, ""});  // fast: nothing
  events.observe({5, false, false, 0.2, 1, "rejected: discount above 1"});
  const std::string p = "2026-12-02T20:31:00.123Z ";
  EXPECT_EQ(out_.str(), p + "info node=n1 event=recovery_start last_epoch=3\n" +
                            p + "info node=n1 event=recovery_progress epochs=1 epoch=1 last_epoch=3\n" +
                            p + "info node=n1 event=recovery_done epochs=3 last_epoch=3 seconds=1.500\n" +
                            p + "info node=n1 event=epoch_aborted epoch=5 reason=\"rejected: discount above 1\"\n" +
                            p + "warn node=n1 event=slow_epoch epoch=5 ms=200.000 threshold_ms=100\n");
}

TEST_F(Log, EachRunOfTheLogAgainIsOneRecoveryNotALinePerEpoch) {
  std::chrono::steady_clock::time_point now{};
  EpochEvents events(0, 0, [&now] { return now; });  // a fresh log: no recovery at start
  for (codec::Epoch e = 1; e <= 3; ++e) events.observe({e, true, false, 0.01, 1, ""});
  // A node registered again: a new sequencer runs epochs 1..3 again, then takes epoch 4.
  for (int restart = 0; restart < 2; ++restart) {
    now += std::chrono::milliseconds(250);
    for (codec::Epoch e = 1; e <= 3; ++e) events.observe({e, true, true, 0, 0, ""});
    now += std::chrono::milliseconds(250);
  }
  events.observe({4, true, false, 0.01, 1, ""});
  // Again, the last epoch cancelled (no outcome): the first new epoch ends the recovery.
  events.observe({1, true, true, 0, 0, ""});
  events.observe({2, true, true, 0, 0, ""});
  events.observe({5, true, false, 0.01, 1, ""});
  const std::string p = "2026-12-02T20:31:00.123Z ";
  const std::string pair = p + "info node=n1 event=recovery_start last_epoch=3\n" + p +
                           "info node=n1 event=recovery_done epochs=3 last_epoch=3 seconds=0.000\n";
  EXPECT_EQ(out_.str(), pair + pair + p + "info node=n1 event=recovery_start last_epoch=4\n" + p +
                            "info node=n1 event=recovery_done epochs=2 last_epoch=2 seconds=0.000\n");
}

TEST_F(Log, TheRecoveryEndsWhenTheLogRunIsAnsweredThoughItsLastEntriesHaveNoOutcome) {
  std::chrono::steady_clock::time_point now{};
  // The log's last entry, epoch 3, is a dead letter's change: no epoch outcome comes of it.
  EpochEvents events(0, 3, [&now] { return now; });
  events.observe({1, true, true, 0, 0, ""});
  now += std::chrono::milliseconds(40);
  events.observe({2, true, true, 0, 0, ""});
  const std::string p = "2026-12-02T20:31:00.123Z ";
  EXPECT_EQ(out_.str(), p + "info node=n1 event=recovery_start last_epoch=3\n");
  events.recovered();
  events.recovered();  // once
  events.observe({4, true, false, 0.01, 1, ""});
  EXPECT_EQ(out_.str(), p + "info node=n1 event=recovery_start last_epoch=3\n" + p +
                            "info node=n1 event=recovery_done epochs=2 last_epoch=2 seconds=0.040\n");
}

TEST_F(Log, DrainingRefusesNewTransactionsAndCountsThoseInFlight) {
  NodeState state;
  ASSERT_TRUE(state.begin_transaction());
  ASSERT_TRUE(state.begin_transaction());
  EXPECT_EQ(state.drain(), 2u);
  EXPECT_FALSE(state.begin_transaction());  // refused, not counted
  EXPECT_EQ(state.in_flight(), 2u);
  state.end_transaction();
  EXPECT_EQ(state.drain(), 1u);  // idempotent
  state.end_transaction();
  EXPECT_EQ(state.drain(), 0u);
  const std::string p = "2026-12-02T20:31:00.123Z ";
  EXPECT_EQ(out_.str(), p + "info node=n1 event=drain_start in_flight=2\n" + p +
                            "info node=n1 event=drained\n");
}

}  // namespace
}  // namespace mgraph::node
