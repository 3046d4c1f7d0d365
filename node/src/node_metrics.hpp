#pragma once
// The Prometheus metrics of a node (mgraphd, and mgraph_cluster_bench's nodes), served on
// /metrics by prometheus-cpp. Every family is named here, once; docs/CLUSTER.md ("Metrics")
// says what each means. Labels take values from closed sets only, so a node exports a
// bounded number of series (at most, with the configuration's bounds: 4,096 partitions,
// 256 nodes):
//
//   family                               type       labels              series at most
//   mgraph_partitions                    gauge      -                   1
//   mgraph_fields                        gauge      -                   1
//   mgraph_partition_fields              gauge      partition           partitions hosted
//   mgraph_protocol_messages_total       counter    kind                7
//   mgraph_epochs_total                  counter    outcome             2
//   mgraph_epoch_seconds                 histogram  -                   1
//   mgraph_epoch_transactions            histogram  -                   1
//   mgraph_last_epoch                    gauge      -                   1
//   mgraph_client_requests_total         counter    kind, outcome       3 x 4
//   mgraph_client_request_seconds        histogram  kind                3
//   mgraph_log_append_seconds            histogram  -                   1
//   mgraph_log_appended_bytes_total      counter    -                   1
//   mgraph_log_append_failures_total     counter    -                   1
//   mgraph_log_size_bytes                gauge      -                   1
//   mgraph_peer_up                       gauge      peer                other nodes (255)
//   mgraph_ready                         gauge      -                   1
//   mgraph_fields_failed                 gauge      -                   1
//   mgraph_formula_failures_total        counter    -                   1
//   mgraph_formulas_computed_total       counter    partition           partitions hosted
//   mgraph_epoch_phase_seconds           histogram  phase               4
//   mgraph_epoch_aborts_total            counter    reason              7
//   mgraph_effect_deliveries_pending     gauge      -                   1
//   mgraph_effect_dead_letters           gauge      -                   1
//   mgraph_effect_deliveries_offered_total counter  -                   1
//   mgraph_effect_deliveries_sent_total  counter    -                   1
//   mgraph_effect_redeliveries_total     counter    -                   1
//   mgraph_effect_acks_total             counter    -                   1
//   mgraph_effect_dead_lettered_total    counter    -                   1
//   mgraph_peer_requests_total           counter    peer                nodes (256)
//   mgraph_peer_sent_bytes_total         counter    peer                nodes (256)
//   mgraph_peer_received_bytes_total     counter    peer                nodes (256)
//   mgraph_peer_sent_deltas_total        counter    peer                nodes (256)
//   mgraph_peer_received_deltas_total    counter    peer                nodes (256)
//
// Counters and histograms are counted as things happen (lock-free, from any thread);
// gauges of state that other parts own (a partition's size, a peer's state, the log file's
// size) are read when a scrape comes, through ScrapeSources.

#include <prometheus/collectable.h>
#include <prometheus/counter.h>
#include <prometheus/exposer.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include <array>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "client_requests.hpp"
#include "mgraph/actors/epoch.hpp"
#include "mgraph/actors/partitioned.hpp"
#include "mgraph/graph/status.hpp"

namespace mgraph::node {

/// The coordinator's effect deliveries (actors::EffectCounters, read at a scrape).
struct EffectCounts {
  std::uint64_t pending = 0;
  std::uint64_t dead_letters = 0;
  std::uint64_t offered = 0;
  std::uint64_t sent = 0;
  std::uint64_t redelivered = 0;
  std::uint64_t acked = 0;
  std::uint64_t dead_lettered = 0;
};

/// The coordinator's subscriptions (actors::WatchBuffer, read at a scrape).
struct WatchCounts {
  std::uint64_t reach = 0;           ///< the oldest cursor answered with epochs
  std::uint64_t history_bytes = 0;   ///< bytes of changes its history on disk holds
  std::uint64_t history_errors = 0;  ///< failures of that history
};

/// The driver's traffic with the partitions one node hosts (actors::PartitionTraffic,
/// summed over that node's partitions).
struct PeerTraffic {
  std::string peer;  ///< the node's name
  std::uint64_t requests = 0;
  std::uint64_t sent_bytes = 0;
  std::uint64_t received_bytes = 0;
  std::uint64_t sent_deltas = 0;
  std::uint64_t received_deltas = 0;
};

/// Where the gauges read at scrape time come from; each may be empty (then its family has
/// no series, or 0 for a family without labels). Called on the exposer's threads: each must
/// be thread-safe and must not block for long.
struct ScrapeSources {
  /// (partition id, nodes of its graph) per partition hosted: mgraph_partition_fields.
  std::function<std::vector<std::pair<std::uint32_t, std::uint64_t>>()> partition_fields;
  /// (node name, up) per peer this node knows of: mgraph_peer_up.
  std::function<std::vector<std::pair<std::string, bool>>()> peers;
  /// Bytes of the epoch log's file: mgraph_log_size_bytes.
  std::function<std::uint64_t()> log_size_bytes;
  /// Whether this node reaches the coordinator's sequencer: mgraph_ready.
  std::function<bool()> ready;
  /// (fields failed or blocked now, formulas failed since start) over the partitions
  /// hosted: mgraph_fields_failed, mgraph_formula_failures_total.
  std::function<std::pair<std::uint64_t, std::uint64_t>()> failures;
  /// (partition id, formulas computed since start) per partition hosted:
  /// mgraph_formulas_computed_total.
  std::function<std::vector<std::pair<std::uint32_t, std::uint64_t>>()> formulas_computed;
  /// (partition id, checkpoints stored since start, bytes of the last one's image) per
  /// partition hosted: mgraph_checkpoints_total, mgraph_checkpoint_image_bytes.
  struct PartitionCheckpoints {
    std::uint32_t partition = 0;
    std::uint64_t stored = 0;
    std::uint64_t last_bytes = 0;
  };
  std::function<std::vector<PartitionCheckpoints>()> checkpoints;
  /// Bytes of the partitions' checkpoint store's file (--data DIR/partitions):
  /// mgraph_checkpoint_store_bytes.
  std::function<std::uint64_t()> checkpoint_store_bytes;
  /// The effect outbox's counts: mgraph_effect_* (all 0 without it).
  std::function<EffectCounts()> effects;
  /// The subscriptions' buffer and history: mgraph_watch_* (all 0 without them).
  std::function<WatchCounts()> watch;
  /// The driver's traffic per node hosting partitions: mgraph_peer_{requests,sent_bytes,
  /// received_bytes,sent_deltas,received_deltas}_total.
  std::function<std::vector<PeerTraffic>()> traffic;
};

class NodeMetrics {
 public:
  /// Serves the metrics on `address` ("HOST:PORT"; port 0: the OS chooses).
  static Result<std::unique_ptr<NodeMetrics>> serve(const std::string& address);
  ~NodeMetrics();

  /// The port the exposer listens on.
  int port() const { return port_; }

  prometheus::Gauge& partitions() { return *partitions_; }
  prometheus::Gauge& fields() { return *fields_; }
  /// Counts one handled message; safe from any thread.
  void message(actors::MessageKind kind) { messages_[static_cast<std::size_t>(kind)]->Increment(); }
  /// Counts one epoch run, committed or aborted, and how long it took; safe from any thread.
  void epoch(bool committed, double seconds);
  /// Counts why an epoch aborted (none: nothing); safe from any thread.
  void epoch_aborted(actors::AbortReason reason);
  /// Observes the time of each phase an epoch ran (those that did not run: nothing); safe
  /// from any thread.
  void epoch_phases(const actors::PhaseTimes& phases);
  /// How many client transactions shared an epoch (batching); safe from any thread.
  void epoch_transactions(std::size_t transactions);
  /// The number of the last epoch run; safe from any thread.
  void last_epoch(std::uint64_t epoch) { last_epoch_->Set(static_cast<double>(epoch)); }
  /// Counts one client request answered; safe from any thread.
  void client_request(ClientRequestKind kind, ClientRequestOutcome outcome, double seconds);
  /// Counts one append of the epoch log (its batches' `bytes`, one write and sync; failed
  /// or not); safe from any thread.
  void log_append(bool ok, std::size_t bytes, double seconds);
  /// Sets where the scrape-time gauges come from (replacing any earlier sources); safe from
  /// any thread, also while a scrape runs.
  void read_at_scrape(ScrapeSources sources);

 private:
  class ScrapedGauges;
  NodeMetrics() = default;

  std::shared_ptr<prometheus::Registry> registry_;
  std::shared_ptr<ScrapedGauges> scraped_;
  int port_ = 0;
  prometheus::Gauge* partitions_ = nullptr;
  prometheus::Gauge* fields_ = nullptr;
  std::array<prometheus::Counter*, 7> messages_{};
  prometheus::Counter* committed_ = nullptr;
  prometheus::Counter* aborted_ = nullptr;
  prometheus::Histogram* epoch_seconds_ = nullptr;
  prometheus::Histogram* epoch_transactions_ = nullptr;
  std::array<prometheus::Histogram*, actors::kEpochPhases> phase_seconds_{};
  prometheus::Counter* predicted_ = nullptr;  ///< mgraph_epochs_predicted_total
  prometheus::Counter* decided_ = nullptr;    ///< mgraph_epochs_answered_when_decided_total
  prometheus::Counter* reruns_ = nullptr;     ///< mgraph_epochs_rerun_total
  prometheus::Counter* around_ = nullptr;     ///< mgraph_epochs_around_unreachable_total
  std::array<prometheus::Counter*, actors::kAbortReasons> aborts_{};  ///< [none] stays null
  prometheus::Gauge* last_epoch_ = nullptr;
  std::array<std::array<prometheus::Counter*, kClientRequestOutcomes>, kClientRequestKinds>
      client_requests_{};
  std::array<prometheus::Histogram*, kClientRequestKinds> client_seconds_{};
  prometheus::Histogram* log_append_seconds_ = nullptr;
  prometheus::Counter* log_bytes_ = nullptr;
  prometheus::Counter* log_failures_ = nullptr;
  /// Last: destroyed first, so that no scrape runs while the rest goes.
  std::unique_ptr<prometheus::Exposer> exposer_;
};

}  // namespace mgraph::node
