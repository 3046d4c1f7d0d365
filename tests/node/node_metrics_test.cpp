// A node's metrics endpoint (node/src/node_metrics.hpp) served and scraped in one process:
// every family is there from the start, with every series of its closed label sets at 0;
// what the node counts shows in the next scrape; gauges of state other parts own are read
// at each scrape. And the epoch log wrapper that times appends (timed_epoch_log.hpp).

#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "node_metrics.hpp"
#include "support/http_get.hpp"
#include "support/metrics_text.hpp"
#include "timed_epoch_log.hpp"

namespace mgraph::node {
namespace {

using testing::metric_types;
using testing::metric_value;

std::unique_ptr<NodeMetrics> serve() {
  auto served = NodeMetrics::serve("127.0.0.1:0");
  EXPECT_TRUE(served.is_ok()) << served.status().message();
  return served.is_ok() ? std::move(served).value() : nullptr;
}

std::string scrape(const NodeMetrics& m) {
  const testing::HttpResponse r = testing::http_get(m.port(), "/metrics");
  EXPECT_EQ(r.status, 200);
  return r.body;
}

TEST(NodeMetrics, EveryFamilyIsExportedFromTheStartWithItsType) {
  auto m = serve();
  ASSERT_NE(m, nullptr);
  const std::string text = scrape(*m);
  const std::map<std::string, std::string> types = metric_types(text);
  const std::map<std::string, std::string> expected = {
      {"mgraph_partitions", "gauge"},
      {"mgraph_fields", "gauge"},
      {"mgraph_partition_fields", "gauge"},
      {"mgraph_protocol_messages_total", "counter"},
      {"mgraph_epochs_total", "counter"},
      {"mgraph_epoch_seconds", "histogram"},
      {"mgraph_epoch_transactions", "histogram"},
      {"mgraph_last_epoch", "gauge"},
      {"mgraph_client_requests_total", "counter"},
      {"mgraph_client_request_seconds", "histogram"},
      {"mgraph_log_append_seconds", "histogram"},
      {"mgraph_log_appended_bytes_total", "counter"},
      {"mgraph_log_append_failures_total", "counter"},
      {"mgraph_log_size_bytes", "gauge"},
      {"mgraph_peer_up", "gauge"},
      {"mgraph_ready", "gauge"},
      {"mgraph_fields_failed", "gauge"},
      {"mgraph_formula_failures_total", "counter"},
      {"mgraph_formulas_computed_total", "counter"},
      {"mgraph_checkpoints_total", "counter"},
      {"mgraph_checkpoint_image_bytes", "gauge"},
      {"mgraph_checkpoint_store_bytes", "gauge"},
      {"mgraph_watch_reach_epoch", "gauge"},
      {"mgraph_watch_history_bytes", "gauge"},
      {"mgraph_watch_history_errors_total", "counter"},
      {"mgraph_epoch_phase_seconds", "histogram"},
      {"mgraph_epochs_predicted_total", "counter"},
      {"mgraph_epochs_answered_when_decided_total", "counter"},
      {"mgraph_epochs_around_unreachable_total", "counter"},
      {"mgraph_epochs_rerun_total", "counter"},
      {"mgraph_epoch_aborts_total", "counter"},
      {"mgraph_effect_deliveries_pending", "gauge"},
      {"mgraph_effect_dead_letters", "gauge"},
      {"mgraph_effect_deliveries_offered_total", "counter"},
      {"mgraph_effect_deliveries_sent_total", "counter"},
      {"mgraph_effect_redeliveries_total", "counter"},
      {"mgraph_effect_acks_total", "counter"},
      {"mgraph_effect_dead_lettered_total", "counter"},
      {"mgraph_peer_requests_total", "counter"},
      {"mgraph_peer_sent_bytes_total", "counter"},
      {"mgraph_peer_received_bytes_total", "counter"},
      {"mgraph_peer_sent_deltas_total", "counter"},
      {"mgraph_peer_received_deltas_total", "counter"},
  };
  for (const auto& [name, type] : expected) {
    const auto it = types.find(name);
    ASSERT_NE(it, types.end()) << name << " missing from\n" << text;
    EXPECT_EQ(it->second, type) << name;
  }
  // Every (kind, outcome) at 0 before any request: a rate sees the first one.
  for (const char* kind : {"read", "write", "schema"}) {
    for (const char* outcome : {"ok", "failed", "not_ready", "error"}) {
      const std::string series = std::string("mgraph_client_requests_total{kind=\"") + kind +
                                 "\",outcome=\"" + outcome + "\"}";
      EXPECT_EQ(metric_value(text, series), 0.0) << series;
    }
  }
  // Every phase and every abort reason at 0 (a committed epoch has no reason).
  for (const char* phase : {"apply", "mark", "compute", "commit"}) {
    const std::string series =
        std::string("mgraph_epoch_phase_seconds_count{phase=\"") + phase + "\"}";
    EXPECT_EQ(metric_value(text, series), 0.0) << series;
  }
  for (const char* reason :
       {"rejected", "no_change", "invalid_op", "formula_failed", "cycle", "unavailable", "other"}) {
    const std::string series = std::string("mgraph_epoch_aborts_total{reason=\"") + reason + "\"}";
    EXPECT_EQ(metric_value(text, series), 0.0) << series;
  }
  EXPECT_EQ(text.find("mgraph_epoch_aborts_total{reason=\"none\"}"), std::string::npos) << text;
  // No source given: scalar gauges and counters read 0, labelled ones have no series.
  EXPECT_EQ(metric_value(text, "mgraph_effect_deliveries_pending"), 0.0);
  EXPECT_EQ(metric_value(text, "mgraph_effect_acks_total"), 0.0);
  EXPECT_EQ(text.find("mgraph_formulas_computed_total{"), std::string::npos) << text;
  EXPECT_EQ(text.find("mgraph_peer_sent_bytes_total{"), std::string::npos) << text;
  EXPECT_EQ(metric_value(text, "mgraph_ready"), 0.0);
  EXPECT_EQ(metric_value(text, "mgraph_log_size_bytes"), 0.0);
  EXPECT_EQ(text.find("mgraph_peer_up{"), std::string::npos) << text;
}

TEST(NodeMetrics, WhatTheNodeCountsShowsInTheNextScrape) {
  auto m = serve();
  ASSERT_NE(m, nullptr);
  m->client_request(ClientRequestKind::write, ClientRequestOutcome::ok, 0.002);
  m->client_request(ClientRequestKind::write, ClientRequestOutcome::ok, 0.004);
  m->client_request(ClientRequestKind::read, ClientRequestOutcome::not_ready, 0);
  m->epoch(true, 0.001);
  m->epoch(false, 0.003);
  m->epoch_transactions(1);
  m->epoch_transactions(5);
  m->log_append(true, 100, 0.0005);
  m->log_append(false, 40, 0.25);
  m->epoch_aborted(actors::AbortReason::rejected);
  m->epoch_aborted(actors::AbortReason::cycle);
  m->epoch_aborted(actors::AbortReason::cycle);
  m->epoch_aborted(actors::AbortReason::none);  // committed: nothing
  actors::PhaseTimes phases;
  phases.ran = {true, true, false, true};
  phases.seconds = {0.001, 0.0004, 0, 0.002};
  m->epoch_phases(phases);
  phases.ran = {true, false, false, false};
  phases.seconds = {0.003, 0, 0, 0};
  phases.predicted = true;
  m->epoch_phases(phases);
  phases.rerun = true;
  phases.decided = true;
  m->epoch_phases(phases);
  phases = actors::PhaseTimes{};  // no phase timed, only committed around a partition
  phases.around = true;
  m->epoch_phases(phases);
  const std::string text = scrape(*m);
  EXPECT_EQ(metric_value(text, "mgraph_epoch_aborts_total{reason=\"rejected\"}"), 1.0);
  EXPECT_EQ(metric_value(text, "mgraph_epoch_aborts_total{reason=\"cycle\"}"), 2.0);
  EXPECT_EQ(metric_value(text, "mgraph_epoch_aborts_total{reason=\"other\"}"), 0.0);
  EXPECT_EQ(metric_value(text, "mgraph_epoch_phase_seconds_count{phase=\"apply\"}"), 3.0);
  EXPECT_DOUBLE_EQ(*metric_value(text, "mgraph_epoch_phase_seconds_sum{phase=\"apply\"}"), 0.007);
  EXPECT_EQ(metric_value(text, "mgraph_epochs_predicted_total"), 2.0);
  EXPECT_EQ(metric_value(text, "mgraph_epochs_rerun_total"), 1.0);
  EXPECT_EQ(metric_value(text, "mgraph_epochs_answered_when_decided_total"), 1.0);
  EXPECT_EQ(metric_value(text, "mgraph_epochs_around_unreachable_total"), 1.0);
  EXPECT_EQ(metric_value(text, "mgraph_epoch_phase_seconds_count{phase=\"mark\"}"), 1.0);
  EXPECT_EQ(metric_value(text, "mgraph_epoch_phase_seconds_bucket{phase=\"mark\",le=\"0.0005\"}"),
            1.0);
  EXPECT_EQ(metric_value(text, "mgraph_epoch_phase_seconds_count{phase=\"compute\"}"), 0.0);
  EXPECT_EQ(metric_value(text, "mgraph_epoch_phase_seconds_count{phase=\"commit\"}"), 1.0);
  EXPECT_EQ(metric_value(text, "mgraph_client_requests_total{kind=\"write\",outcome=\"ok\"}"), 2.0);
  EXPECT_EQ(metric_value(text, "mgraph_client_requests_total{kind=\"read\",outcome=\"not_ready\"}"),
            1.0);
  EXPECT_EQ(metric_value(text, "mgraph_client_request_seconds_count{kind=\"write\"}"), 2.0);
  EXPECT_DOUBLE_EQ(*metric_value(text, "mgraph_client_request_seconds_sum{kind=\"write\"}"), 0.006);
  EXPECT_EQ(metric_value(text, "mgraph_epochs_total{outcome=\"committed\"}"), 1.0);
  EXPECT_EQ(metric_value(text, "mgraph_epochs_total{outcome=\"aborted\"}"), 1.0);
  EXPECT_EQ(metric_value(text, "mgraph_epoch_transactions_sum"), 6.0);
  EXPECT_EQ(metric_value(text, "mgraph_epoch_transactions_bucket{le=\"4\"}"), 1.0);
  EXPECT_EQ(metric_value(text, "mgraph_epoch_transactions_bucket{le=\"8\"}"), 2.0);
  EXPECT_EQ(metric_value(text, "mgraph_log_append_seconds_count"), 2.0);
  EXPECT_EQ(metric_value(text, "mgraph_log_appended_bytes_total"), 100.0);  // the failed one not
  EXPECT_EQ(metric_value(text, "mgraph_log_append_failures_total"), 1.0);
}

TEST(NodeMetrics, GaugesOfOtherPartsStateAreReadAtEachScrape) {
  auto m = serve();
  ASSERT_NE(m, nullptr);
  auto fields = std::make_shared<std::atomic<std::uint64_t>>(10);
  auto up = std::make_shared<std::atomic<bool>>(true);
  ScrapeSources sources;
  sources.partition_fields = [fields] {
    return std::vector<std::pair<std::uint32_t, std::uint64_t>>{{3, fields->load()}, {7, 1}};
  };
  sources.peers = [up] { return std::vector<std::pair<std::string, bool>>{{"n2", up->load()}}; };
  sources.log_size_bytes = [] { return std::uint64_t{4096}; };
  sources.ready = [] { return true; };
  auto failed = std::make_shared<std::atomic<std::uint64_t>>(2);
  sources.failures = [failed] { return std::pair<std::uint64_t, std::uint64_t>{failed->load(), 5}; };
  sources.formulas_computed = [] {
    return std::vector<std::pair<std::uint32_t, std::uint64_t>>{{3, 40}, {7, 0}};
  };
  auto acked = std::make_shared<std::atomic<std::uint64_t>>(1);
  sources.effects = [acked] {
    EffectCounts e;
    e.pending = 2;
    e.dead_letters = 1;
    e.offered = 4;
    e.sent = 6;
    e.redelivered = 3;
    e.acked = acked->load();
    e.dead_lettered = 1;
    return e;
  };
  auto checkpoints = std::make_shared<std::atomic<std::uint64_t>>(1);
  sources.checkpoints = [checkpoints] {
    return std::vector<ScrapeSources::PartitionCheckpoints>{{3, checkpoints->load(), 5000}, {7, 0, 0}};
  };
  sources.checkpoint_store_bytes = [] { return std::uint64_t{1} << 20; };
  sources.watch = [] { return WatchCounts{1200, 65536, 2}; };
  sources.traffic = [] {
    PeerTraffic n1{"n1", 10, 1000, 2000, 5, 7};
    PeerTraffic n2{"n2", 4, 300, 400, 0, 1};
    return std::vector<PeerTraffic>{n1, n2};
  };
  m->read_at_scrape(std::move(sources));
  std::string text = scrape(*m);
  EXPECT_EQ(metric_value(text, "mgraph_formulas_computed_total{partition=\"3\"}"), 40.0) << text;
  EXPECT_EQ(metric_value(text, "mgraph_formulas_computed_total{partition=\"7\"}"), 0.0);
  EXPECT_EQ(metric_value(text, "mgraph_effect_deliveries_pending"), 2.0);
  EXPECT_EQ(metric_value(text, "mgraph_effect_dead_letters"), 1.0);
  EXPECT_EQ(metric_value(text, "mgraph_effect_deliveries_offered_total"), 4.0);
  EXPECT_EQ(metric_value(text, "mgraph_effect_deliveries_sent_total"), 6.0);
  EXPECT_EQ(metric_value(text, "mgraph_effect_redeliveries_total"), 3.0);
  EXPECT_EQ(metric_value(text, "mgraph_effect_acks_total"), 1.0);
  EXPECT_EQ(metric_value(text, "mgraph_effect_dead_lettered_total"), 1.0);
  EXPECT_EQ(metric_value(text, "mgraph_peer_requests_total{peer=\"n1\"}"), 10.0);
  EXPECT_EQ(metric_value(text, "mgraph_peer_sent_bytes_total{peer=\"n1\"}"), 1000.0);
  EXPECT_EQ(metric_value(text, "mgraph_peer_received_bytes_total{peer=\"n2\"}"), 400.0);
  EXPECT_EQ(metric_value(text, "mgraph_peer_sent_deltas_total{peer=\"n1\"}"), 5.0);
  EXPECT_EQ(metric_value(text, "mgraph_peer_received_deltas_total{peer=\"n2\"}"), 1.0);
  EXPECT_EQ(metric_value(text, "mgraph_checkpoints_total{partition=\"3\"}"), 1.0) << text;
  EXPECT_EQ(metric_value(text, "mgraph_checkpoints_total{partition=\"7\"}"), 0.0);
  EXPECT_EQ(metric_value(text, "mgraph_checkpoint_image_bytes{partition=\"3\"}"), 5000.0);
  EXPECT_EQ(metric_value(text, "mgraph_checkpoint_store_bytes"), 1048576.0);
  EXPECT_EQ(metric_value(text, "mgraph_watch_reach_epoch"), 1200.0);
  EXPECT_EQ(metric_value(text, "mgraph_watch_history_bytes"), 65536.0);
  EXPECT_EQ(metric_value(text, "mgraph_watch_history_errors_total"), 2.0);
  acked->store(2);
  checkpoints->store(2);
  EXPECT_EQ(metric_value(scrape(*m), "mgraph_effect_acks_total"), 2.0);
  EXPECT_EQ(metric_value(scrape(*m), "mgraph_checkpoints_total{partition=\"3\"}"), 2.0);
  EXPECT_EQ(metric_value(text, "mgraph_fields_failed"), 2.0) << text;
  EXPECT_EQ(metric_value(text, "mgraph_formula_failures_total"), 5.0) << text;
  EXPECT_EQ(metric_value(text, "mgraph_partition_fields{partition=\"3\"}"), 10.0) << text;
  EXPECT_EQ(metric_value(text, "mgraph_partition_fields{partition=\"7\"}"), 1.0);
  EXPECT_EQ(metric_value(text, "mgraph_peer_up{peer=\"n2\"}"), 1.0);
  EXPECT_EQ(metric_value(text, "mgraph_log_size_bytes"), 4096.0);
  EXPECT_EQ(metric_value(text, "mgraph_ready"), 1.0);
  fields->store(25);
  up->store(false);
  failed->store(0);
  text = scrape(*m);
  EXPECT_EQ(metric_value(text, "mgraph_fields_failed"), 0.0);
  EXPECT_EQ(metric_value(text, "mgraph_partition_fields{partition=\"3\"}"), 25.0);
  EXPECT_EQ(metric_value(text, "mgraph_peer_up{peer=\"n2\"}"), 0.0);
}

/// A log whose appends fail, as a full disk's would.
class FailingLog final : public actors::EpochLog {
 public:
  Status append(codec::Epoch, std::string_view) override {
    return Status(StatusCode::io_error, "disk full");
  }
  Status replay(const std::function<Status(codec::Epoch, std::string_view)>&) override {
    return Status::ok();
  }
  Result<codec::Epoch> last() override { return codec::Epoch{0}; }
};

TEST(TimedEpochLog, EachAppendIsTimedByItsClockAndPassedOn) {
  std::vector<LogAppend> seen;
  // A clock that moves 2 ms at every reading: two readings per append.
  auto ticks = std::make_shared<int>(0);
  actors::SteadyClock clock = [ticks] {
    return std::chrono::steady_clock::time_point(std::chrono::milliseconds(2 * ++*ticks));
  };
  TimedEpochLog log(
      std::make_unique<actors::MemoryEpochLog>(), [&](const LogAppend& a) { seen.push_back(a); },
      clock);
  ASSERT_TRUE(log.append(1, "abc").is_ok());
  ASSERT_TRUE(log.append_group({{2, "de"}, {3, "fghi"}}).is_ok());
  ASSERT_TRUE(log.append_group({}).is_ok());  // nothing written, nothing observed
  ASSERT_EQ(seen.size(), 2u);
  EXPECT_EQ(seen[0].epochs, 1u);
  EXPECT_EQ(seen[0].bytes, 3u);
  EXPECT_DOUBLE_EQ(seen[0].seconds, 0.002);
  EXPECT_TRUE(seen[0].ok);
  EXPECT_EQ(seen[1].epochs, 2u);
  EXPECT_EQ(seen[1].bytes, 6u);
  // What the wrapped log holds: every epoch, in order.
  EXPECT_EQ(log.last().value(), 3u);
  std::string replayed;
  ASSERT_TRUE(log.replay([&](codec::Epoch e, std::string_view b) {
                   replayed += std::to_string(e) + ":" + std::string(b) + " ";
                   return Status::ok();
                 })
                  .is_ok());
  EXPECT_EQ(replayed, "1:abc 2:de 3:fghi ");
}

TEST(TimedEpochLog, AFailedAppendIsReportedAndItsErrorReturned) {
  std::vector<LogAppend> seen;
  TimedEpochLog log(std::make_unique<FailingLog>(), [&](const LogAppend& a) { seen.push_back(a); });
  const Status s = log.append_group({{1, "x"}, {2, "y"}});
  EXPECT_EQ(s.code(), StatusCode::io_error);
  EXPECT_EQ(s.message(), "disk full");
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_FALSE(seen[0].ok);
  EXPECT_EQ(seen[0].epochs, 2u);
}

}  // namespace
}  // namespace mgraph::node
