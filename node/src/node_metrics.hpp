#pragma once
// The Prometheus metrics of an mgraphd node, served on /metrics (prometheus-cpp). Names:
//   mgraph_partitions                      gauge    partitions this node hosts
//   mgraph_fields                          gauge    fields those partitions own
//   mgraph_protocol_messages_total{kind}   counter  protocol messages its partitions handled
//   mgraph_epochs_total{outcome}           counter  epochs run (coordinator node)
//   mgraph_epoch_seconds                   histogram  time from Begin to the answer
//   mgraph_last_epoch                      gauge    the last epoch's number (coordinator node)

#include <prometheus/counter.h>
#include <prometheus/exposer.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include <array>
#include <cstdint>
#include <memory>
#include <string>

#include "mgraph/actors/epoch.hpp"
#include "mgraph/graph/status.hpp"

namespace mgraph::node {

class NodeMetrics {
 public:
  /// Serves the metrics on `address` ("HOST:PORT"; port 0: the OS chooses).
  static Result<std::unique_ptr<NodeMetrics>> serve(const std::string& address);

  /// The port the exposer listens on.
  int port() const { return port_; }

  prometheus::Gauge& partitions() { return *partitions_; }
  prometheus::Gauge& fields() { return *fields_; }
  /// Counts one handled message; safe from any thread.
  void message(actors::MessageKind kind) { messages_[static_cast<std::size_t>(kind)]->Increment(); }
  /// Counts one epoch run, committed or aborted, and how long it took; safe from any thread.
  void epoch(bool committed, double seconds);
  /// The number of the last epoch run; safe from any thread.
  void last_epoch(std::uint64_t epoch) { last_epoch_->Set(static_cast<double>(epoch)); }

 private:
  NodeMetrics() = default;

  std::unique_ptr<prometheus::Exposer> exposer_;
  std::shared_ptr<prometheus::Registry> registry_;
  int port_ = 0;
  prometheus::Gauge* partitions_ = nullptr;
  prometheus::Gauge* fields_ = nullptr;
  std::array<prometheus::Counter*, 7> messages_{};
  prometheus::Counter* committed_ = nullptr;
  prometheus::Counter* aborted_ = nullptr;
  prometheus::Histogram* epoch_seconds_ = nullptr;
  prometheus::Gauge* last_epoch_ = nullptr;
};

}  // namespace mgraph::node
