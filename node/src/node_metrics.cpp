#include "node_metrics.hpp"

#include <prometheus/metric_family.h>

#include <exception>
#include <mutex>
#include <string>
#include <vector>

namespace mgraph::node {

namespace {

/// Connections civetweb serves at once (a thread each): a scraper is answered at once while
/// up to 31 other connections (idle, or sending a request slowly) are open.
constexpr int metrics_threads = 32;
/// How long a connection may take to send its request, or to take the answer: a scraper
/// sends a few hundred bytes at once, so 1 s is ample; an idle or slow connection frees its
/// thread after it (civetweb's default is 30 s). With more than metrics_threads - 1 such
/// connections, a scrape waits about request_timeout_ms for each metrics_threads of them.
constexpr int request_timeout_ms = 1000;

/// Durations on the client's path: an epoch runs in 0.1-50 ms on loopback
/// (docs/PERFORMANCE.md); a client waits at most kBatchTimeout (60 s).
const prometheus::Histogram::BucketBoundaries& seconds_buckets() {
  static const prometheus::Histogram::BucketBoundaries b{
      0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
      0.1,    0.25,    0.5,    1,     2.5,    5,     10,   60};
  return b;
}
/// An fsync on a disk takes 0.05-20 ms; the memory log microseconds.
const prometheus::Histogram::BucketBoundaries& log_buckets() {
  static const prometheus::Histogram::BucketBoundaries b{0.00001, 0.00005, 0.0001, 0.00025, 0.0005,
                                                         0.001,   0.0025,  0.005,  0.01,    0.025,
                                                         0.05,    0.1,     0.25,   0.5,     1};
  return b;
}
/// Transactions in one epoch: 1 to batch_transactions_max (at most 1,024), in powers of two.
const prometheus::Histogram::BucketBoundaries& transactions_buckets() {
  static const prometheus::Histogram::BucketBoundaries b{1,  2,   4,   8,   16,  32,
                                                         64, 128, 256, 512, 1024};
  return b;
}

prometheus::MetricFamily gauge_family(const std::string& name, const std::string& help) {
  prometheus::MetricFamily f;
  f.name = name;
  f.help = help;
  f.type = prometheus::MetricType::Gauge;
  return f;
}

void add_gauge(prometheus::MetricFamily& f, double value, const std::string& label = {},
               const std::string& label_value = {}) {
  prometheus::ClientMetric m;
  if (!label.empty()) m.label.push_back({label, label_value});
  m.gauge.value = value;
  f.metric.push_back(std::move(m));
}

/// A counter another part keeps, read at scrape time and typed as a counter.
prometheus::MetricFamily counter_family(const std::string& name, const std::string& help) {
  prometheus::MetricFamily f;
  f.name = name;
  f.help = help;
  f.type = prometheus::MetricType::Counter;
  return f;
}

void add_counter(prometheus::MetricFamily& f, std::uint64_t value, const std::string& label = {},
                 const std::string& label_value = {}) {
  prometheus::ClientMetric m;
  if (!label.empty()) m.label.push_back({label, label_value});
  m.counter.value = static_cast<double>(value);
  f.metric.push_back(std::move(m));
}

}  // namespace

/// The gauges read when a scrape comes, from the sources the node gives.
class NodeMetrics::ScrapedGauges final : public prometheus::Collectable {
 public:
  void set(ScrapeSources sources) {
    std::lock_guard lock(mu_);
    sources_ = std::move(sources);
  }

  std::vector<prometheus::MetricFamily> Collect() const override {
    std::lock_guard lock(mu_);
    auto fields = gauge_family("mgraph_partition_fields",
                               "Nodes of each hosted partition's graph: fields of its records "
                               "and mirrors of the others'");
    if (sources_.partition_fields) {
      for (const auto& [p, n] : sources_.partition_fields()) {
        add_gauge(fields, static_cast<double>(n), "partition", std::to_string(p));
      }
    }
    auto peers = gauge_family("mgraph_peer_up", "1 while the peer node is connected, else 0");
    if (sources_.peers) {
      for (const auto& [name, up] : sources_.peers()) add_gauge(peers, up ? 1 : 0, "peer", name);
    }
    auto log = gauge_family("mgraph_log_size_bytes",
                            "Bytes of the epoch log's file (coordinator with --data; else 0)");
    add_gauge(log, sources_.log_size_bytes ? static_cast<double>(sources_.log_size_bytes()) : 0);
    auto ready =
        gauge_family("mgraph_ready", "1 while this node reaches the coordinator's sequencer");
    add_gauge(ready, sources_.ready && sources_.ready() ? 1 : 0);
    const std::pair<std::uint64_t, std::uint64_t> failures =
        sources_.failures ? sources_.failures() : std::pair<std::uint64_t, std::uint64_t>{0, 0};
    auto failed = gauge_family("mgraph_fields_failed",
                               "Fields of the hosted partitions whose formula failed, or that "
                               "are blocked by one, keeping their last good value");
    add_gauge(failed, static_cast<double>(failures.first));
    // A counter the partitions keep: read at scrape time, typed as a counter.
    auto formula_failures = counter_family(
        "mgraph_formula_failures_total",
        "Formulas that failed (threw, or gave a float field NaN or an infinity) in the hosted "
        "partitions since the node started; their transactions committed all the same");
    add_counter(formula_failures, failures.second);
    auto computed = counter_family(
        "mgraph_formulas_computed_total",
        "Formulas each hosted partition ran since the node started (only a record's owner "
        "computes its fields)");
    if (sources_.formulas_computed) {
      for (const auto& [p, n] : sources_.formulas_computed())
        add_counter(computed, n, "partition", std::to_string(p));
    }
    auto checkpoints = counter_family(
        "mgraph_checkpoints_total",
        "Checkpoints each hosted partition stored since the node started (an image of its "
        "documents in --data DIR/partitions)");
    auto checkpoint_bytes = gauge_family("mgraph_checkpoint_image_bytes",
                                         "Bytes of each hosted partition's last checkpoint image");
    if (sources_.checkpoints) {
      for (const ScrapeSources::PartitionCheckpoints& c : sources_.checkpoints()) {
        add_counter(checkpoints, c.stored, "partition", std::to_string(c.partition));
        add_gauge(checkpoint_bytes, static_cast<double>(c.last_bytes), "partition", std::to_string(c.partition));
      }
    }
    auto store = gauge_family("mgraph_checkpoint_store_bytes",
                              "Bytes of the partitions' checkpoint store's file (with --data; else 0)");
    add_gauge(store, sources_.checkpoint_store_bytes ? static_cast<double>(sources_.checkpoint_store_bytes()) : 0);
    std::vector<prometheus::MetricFamily> out;
    out.push_back(std::move(checkpoints));
    out.push_back(std::move(checkpoint_bytes));
    out.push_back(std::move(store));
    out.push_back(std::move(fields));
    out.push_back(std::move(peers));
    out.push_back(std::move(log));
    out.push_back(std::move(ready));
    out.push_back(std::move(failed));
    out.push_back(std::move(formula_failures));
    out.push_back(std::move(computed));
    collect_effects(&out);
    collect_watch(&out);
    collect_traffic(&out);
    return out;
  }

 private:
  /// The coordinator's effect deliveries (0 elsewhere). REQUIRES: mu_ held.
  void collect_effects(std::vector<prometheus::MetricFamily>* out) const {
    const EffectCounts e = sources_.effects ? sources_.effects() : EffectCounts{};
    auto gauge = [&](const char* name, const char* help, std::uint64_t v) {
      auto f = gauge_family(name, help);
      add_gauge(f, static_cast<double>(v));
      out->push_back(std::move(f));
    };
    auto counter = [&](const char* name, const char* help, std::uint64_t v) {
      auto f = counter_family(name, help);
      add_counter(f, v);
      out->push_back(std::move(f));
    };
    gauge("mgraph_effect_deliveries_pending",
          "Effect deliveries owed to consumers and not dead: waiting to be sent, or sent and "
          "not acknowledged (coordinator)",
          e.pending);
    gauge("mgraph_effect_dead_letters", "Effect deliveries held as dead letters (coordinator)",
          e.dead_letters);
    counter("mgraph_effect_deliveries_offered_total",
            "Effect deliveries that committed epochs raised (coordinator)", e.offered);
    counter("mgraph_effect_deliveries_sent_total",
            "Effect delivery attempts sent to consumers, redeliveries included (coordinator)",
            e.sent);
    counter("mgraph_effect_redeliveries_total",
            "Effect delivery attempts after the first: sent again for want of an ack "
            "(coordinator)",
            e.redelivered);
    counter("mgraph_effect_acks_total",
            "Effect deliveries settled by a consumer's ack, dead letters included (coordinator)",
            e.acked);
    counter("mgraph_effect_dead_lettered_total",
            "Effect deliveries that used up their attempts without an ack (coordinator)",
            e.dead_lettered);
  }
  /// The coordinator's subscriptions (0 elsewhere). REQUIRES: mu_ held.
  void collect_watch(std::vector<prometheus::MetricFamily>* out) const {
    const WatchCounts w = sources_.watch ? sources_.watch() : WatchCounts{};
    auto reach = gauge_family("mgraph_watch_reach_epoch",
                              "The oldest cursor a subscriber may poll from and get every epoch after it, "
                              "from the memory buffer or the history on disk (coordinator)");
    add_gauge(reach, static_cast<double>(w.reach));
    out->push_back(std::move(reach));
    auto bytes = gauge_family("mgraph_watch_history_bytes",
                              "Bytes of changes the history of subscriptions holds (coordinator)");
    add_gauge(bytes, static_cast<double>(w.history_bytes));
    out->push_back(std::move(bytes));
    auto errors = counter_family("mgraph_watch_history_errors_total",
                                 "Writes and reads of the history of subscriptions that failed (coordinator)");
    add_counter(errors, w.history_errors);
    out->push_back(std::move(errors));
  }
  /// The driver's traffic per node hosting partitions. REQUIRES: mu_ held.
  void collect_traffic(std::vector<prometheus::MetricFamily>* out) const {
    const std::vector<PeerTraffic> traffic =
        sources_.traffic ? sources_.traffic() : std::vector<PeerTraffic>{};
    auto family = [&](const char* name, const char* help, std::uint64_t PeerTraffic::*field) {
      auto f = counter_family(name, help);
      for (const PeerTraffic& t : traffic) add_counter(f, t.*field, "peer", t.peer);
      out->push_back(std::move(f));
    };
    family("mgraph_peer_requests_total",
           "Requests the coordinator's driver sent to the partitions the peer hosts",
           &PeerTraffic::requests);
    family("mgraph_peer_sent_bytes_total",
           "Bytes of the driver's requests to the partitions the peer hosts (encoded)",
           &PeerTraffic::sent_bytes);
    family("mgraph_peer_received_bytes_total",
           "Bytes of the replies of the partitions the peer hosts to the driver (encoded)",
           &PeerTraffic::received_bytes);
    family("mgraph_peer_sent_deltas_total",
           "Marks and Resolves of exported fields the driver delivered to the peer's partitions",
           &PeerTraffic::sent_deltas);
    family("mgraph_peer_received_deltas_total",
           "Exported fields the peer's partitions reported stale or resolved to the driver",
           &PeerTraffic::received_deltas);
  }

  mutable std::mutex mu_;
  ScrapeSources sources_;
};

NodeMetrics::~NodeMetrics() = default;

Result<std::unique_ptr<NodeMetrics>> NodeMetrics::serve(const std::string& address) {
  std::unique_ptr<NodeMetrics> m(new NodeMetrics());
  try {
    m->exposer_ = std::make_unique<prometheus::Exposer>(std::vector<std::string>{
        "listening_ports", address, "num_threads", std::to_string(metrics_threads),
        "request_timeout_ms", std::to_string(request_timeout_ms), "enable_keep_alive", "no"});
  } catch (const std::exception& e) {
    return Status(StatusCode::io_error, "cannot serve metrics on " + address + ": " + e.what());
  }
  const std::vector<int> ports = m->exposer_->GetListeningPorts();
  if (ports.empty()) return Status(StatusCode::io_error, "metrics: no listening port on " + address);
  m->port_ = ports.front();
  m->registry_ = std::make_shared<prometheus::Registry>();
  prometheus::Registry& r = *m->registry_;
  m->partitions_ = &prometheus::BuildGauge()
                        .Name("mgraph_partitions")
                        .Help("Partitions this node hosts")
                        .Register(r)
                        .Add({});
  m->fields_ = &prometheus::BuildGauge()
                    .Name("mgraph_fields")
                    .Help("Fields owned by the partitions this node hosts (synthetic workload)")
                    .Register(r)
                    .Add({});
  auto& messages = prometheus::BuildCounter()
                       .Name("mgraph_protocol_messages_total")
                       .Help("Epoch protocol messages handled by this node's partitions")
                       .Register(r);
  for (std::size_t k = 0; k < m->messages_.size(); ++k) {
    m->messages_[k] =
        &messages.Add({{"kind", codec::message_kind_name(static_cast<codec::MessageKind>(k))}});
  }
  auto& epochs = prometheus::BuildCounter()
                     .Name("mgraph_epochs_total")
                     .Help("Epochs this node coordinated, by outcome")
                     .Register(r);
  m->committed_ = &epochs.Add({{"outcome", "committed"}});
  m->aborted_ = &epochs.Add({{"outcome", "aborted"}});
  m->epoch_seconds_ = &prometheus::BuildHistogram()
                           .Name("mgraph_epoch_seconds")
                           .Help("Time from an epoch's start (numbered and logged) to its outcome")
                           .Register(r)
                           .Add({}, seconds_buckets());
  auto& phases = prometheus::BuildHistogram()
                     .Name("mgraph_epoch_phase_seconds")
                     .Help("Time the documents' driver spent in each phase of an epoch it ran")
                     .Register(r);
  for (std::size_t p = 0; p < actors::kEpochPhases; ++p) {
    m->phase_seconds_[p] =
        &phases.Add({{"phase", actors::epoch_phase_name(static_cast<actors::EpochPhase>(p))}},
                    seconds_buckets());
  }
  m->predicted_ = &prometheus::BuildCounter()
                        .Name("mgraph_epochs_predicted_total")
                        .Help("Epochs whose commit the documents' driver sent with its predicted Marks, "
                              "apply, Marks and compute in one round")
                        .Register(r)
                        .Add({});
  m->decided_ = &prometheus::BuildCounter()
                      .Name("mgraph_epochs_answered_when_decided_total")
                      .Help("Epochs whose transaction the coordinator answered once its commit was "
                            "decided, before every partition committed it")
                      .Register(r)
                      .Add({});
  m->reruns_ = &prometheus::BuildCounter()
                     .Name("mgraph_epochs_rerun_total")
                     .Help("Of those, epochs run again with the waves of Marks: the prediction fell "
                           "short, or the commit failed")
                     .Register(r)
                     .Add({});
  m->around_ = &prometheus::BuildCounter()
                     .Name("mgraph_epochs_around_unreachable_total")
                     .Help("Epochs committed while a partition was unreachable, on the other "
                           "partitions alone: updates and acknowledgements whose writes no other "
                           "record reads")
                     .Register(r)
                     .Add({});
  auto& aborts =
      prometheus::BuildCounter()
          .Name("mgraph_epoch_aborts_total")
          .Help("Epochs this node coordinated that aborted, by the class of their reason")
          .Register(r);
  for (std::size_t k = 1; k < actors::kAbortReasons; ++k) {
    m->aborts_[k] =
        &aborts.Add({{"reason", actors::abort_reason_name(static_cast<actors::AbortReason>(k))}});
  }
  m->epoch_transactions_ = &prometheus::BuildHistogram()
                                .Name("mgraph_epoch_transactions")
                                .Help("Client transactions that shared an epoch (batching)")
                                .Register(r)
                                .Add({}, transactions_buckets());
  m->last_epoch_ = &prometheus::BuildGauge()
                        .Name("mgraph_last_epoch")
                        .Help("The number of the last epoch this node coordinated (0: none)")
                        .Register(r)
                        .Add({});
  auto& requests = prometheus::BuildCounter()
                       .Name("mgraph_client_requests_total")
                       .Help("Requests on this node's client port, by kind and outcome")
                       .Register(r);
  auto& request_seconds = prometheus::BuildHistogram()
                              .Name("mgraph_client_request_seconds")
                              .Help("Time from a client request's arrival to its answer")
                              .Register(r);
  // Every series from the start, at 0: a rate over a counter that appears late misses its
  // first increments.
  for (std::size_t k = 0; k < kClientRequestKinds; ++k) {
    const std::string kind = client_request_kind_name(static_cast<ClientRequestKind>(k));
    for (std::size_t o = 0; o < kClientRequestOutcomes; ++o) {
      m->client_requests_[k][o] = &requests.Add(
          {{"kind", kind},
           {"outcome", client_request_outcome_name(static_cast<ClientRequestOutcome>(o))}});
    }
    m->client_seconds_[k] = &request_seconds.Add({{"kind", kind}}, seconds_buckets());
  }
  m->log_append_seconds_ = &prometheus::BuildHistogram()
                                .Name("mgraph_log_append_seconds")
                                .Help(
                                    "Time of one append of the epoch log: a group of epochs "
                                    "written and synced together")
                                .Register(r)
                                .Add({}, log_buckets());
  m->log_bytes_ = &prometheus::BuildCounter()
                       .Name("mgraph_log_appended_bytes_total")
                       .Help("Bytes of batches appended to the epoch log")
                       .Register(r)
                       .Add({});
  m->log_failures_ = &prometheus::BuildCounter()
                          .Name("mgraph_log_append_failures_total")
                          .Help("Appends of the epoch log that failed (their clients got an error)")
                          .Register(r)
                          .Add({});
  m->scraped_ = std::make_shared<ScrapedGauges>();
  m->exposer_->RegisterCollectable(m->registry_);
  m->exposer_->RegisterCollectable(m->scraped_);
  return m;
}

void NodeMetrics::epoch(bool committed, double seconds) {
  (committed ? committed_ : aborted_)->Increment();
  epoch_seconds_->Observe(seconds);
}

void NodeMetrics::epoch_aborted(actors::AbortReason reason) {
  const auto k = static_cast<std::size_t>(reason);
  if (k < aborts_.size() && aborts_[k] != nullptr) aborts_[k]->Increment();
}

void NodeMetrics::epoch_phases(const actors::PhaseTimes& phases) {
  for (std::size_t p = 0; p < actors::kEpochPhases; ++p) {
    if (phases.ran[p]) phase_seconds_[p]->Observe(phases.seconds[p]);
  }
  if (phases.predicted) predicted_->Increment();
  if (phases.rerun) reruns_->Increment();
  if (phases.decided) decided_->Increment();
  if (phases.around) around_->Increment();
}

void NodeMetrics::epoch_transactions(std::size_t transactions) {
  epoch_transactions_->Observe(static_cast<double>(transactions));
}

void NodeMetrics::client_request(ClientRequestKind kind, ClientRequestOutcome outcome,
                                 double seconds) {
  const auto k = static_cast<std::size_t>(kind);
  const auto o = static_cast<std::size_t>(outcome);
  if (k >= kClientRequestKinds || o >= kClientRequestOutcomes) return;
  client_requests_[k][o]->Increment();
  client_seconds_[k]->Observe(seconds);
}

void NodeMetrics::log_append(bool ok, std::size_t bytes, double seconds) {
  log_append_seconds_->Observe(seconds);
  if (ok)
    log_bytes_->Increment(static_cast<double>(bytes));
  else
    log_failures_->Increment();
}

void NodeMetrics::read_at_scrape(ScrapeSources sources) { scraped_->set(std::move(sources)); }

}  // namespace mgraph::node
