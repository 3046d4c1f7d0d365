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
    prometheus::MetricFamily formula_failures;
    formula_failures.name = "mgraph_formula_failures_total";
    formula_failures.help =
        "Formulas that failed (threw, or gave a float field NaN or an infinity) in the hosted "
        "partitions since the node started; their transactions committed all the same";
    formula_failures.type = prometheus::MetricType::Counter;
    prometheus::ClientMetric count;
    count.counter.value = static_cast<double>(failures.second);
    formula_failures.metric.push_back(std::move(count));
    return {std::move(fields), std::move(peers), std::move(log), std::move(ready),
            std::move(failed), std::move(formula_failures)};
  }

 private:
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
