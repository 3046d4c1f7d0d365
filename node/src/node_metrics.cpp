#include "node_metrics.hpp"

#include <exception>
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

}  // namespace

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
  m->partitions_ = &prometheus::BuildGauge()
                        .Name("mgraph_partitions")
                        .Help("Partitions this node hosts")
                        .Register(*m->registry_)
                        .Add({});
  m->fields_ = &prometheus::BuildGauge()
                    .Name("mgraph_fields")
                    .Help("Fields owned by the partitions this node hosts")
                    .Register(*m->registry_)
                    .Add({});
  auto& messages = prometheus::BuildCounter()
                       .Name("mgraph_protocol_messages_total")
                       .Help("Epoch protocol messages handled by this node's partitions")
                       .Register(*m->registry_);
  for (std::size_t k = 0; k < m->messages_.size(); ++k) {
    m->messages_[k] =
        &messages.Add({{"kind", codec::message_kind_name(static_cast<codec::MessageKind>(k))}});
  }
  auto& epochs = prometheus::BuildCounter()
                     .Name("mgraph_epochs_total")
                     .Help("Epochs this node coordinated, by outcome")
                     .Register(*m->registry_);
  m->committed_ = &epochs.Add({{"outcome", "committed"}});
  m->aborted_ = &epochs.Add({{"outcome", "aborted"}});
  m->epoch_seconds_ = &prometheus::BuildHistogram()
                           .Name("mgraph_epoch_seconds")
                           .Help("Time from an epoch's Begin to its answer")
                           .Register(*m->registry_)
                           .Add({}, prometheus::Histogram::BucketBoundaries{
                                        0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01,
                                        0.025, 0.05, 0.1, 0.25, 0.5, 1});
  m->last_epoch_ = &prometheus::BuildGauge()
                        .Name("mgraph_last_epoch")
                        .Help("The number of the last epoch this node coordinated (0: none)")
                        .Register(*m->registry_)
                        .Add({});
  m->exposer_->RegisterCollectable(m->registry_);
  return m;
}

void NodeMetrics::epoch(bool committed, double seconds) {
  (committed ? committed_ : aborted_)->Increment();
  epoch_seconds_->Observe(seconds);
}

}  // namespace mgraph::node
