#pragma once
// One epoch across partitions (docs/EPOCHS.md): the protocol's two roles as plain state
// machines that consume a message and emit messages, with no threads, clock or network.
// The CAF actors of the cluster wrap them; tests drive them through a simulated network
// that delivers in random order.
//
//   Coordinator ──Begin(writes, credit)──▶ written partitions
//   Partition: apply, mark; exported fields now stale ──Mark──▶ partitions mirroring them
//   Partition idle ──Idle(credit)──▶ Coordinator           (all credit back: marking over)
//   Coordinator ──Compute(credit)──▶ participants
//   Partition: compute; exported fields resolved ──Resolve──▶ partitions mirroring them
//   Partition idle ──Idle(credit)──▶ Coordinator           (all credit back: computing over)
//   Coordinator ──Commit──▶ participants
//
// Termination is detected exactly by credit recovery: the coordinator starts a phase with
// credit 1; every message carries a share of its sender's credit; a partition that goes
// idle returns what it holds. Shares are powers of two, 2^-k, sent as the exponent k, so
// splitting never runs out and the coordinator sums them exactly (CreditCounter).
// Messages are codec::EpochMessage; their bytes (codec/epoch_codec.hpp) are what actors
// exchange.

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "mgraph/codec/epoch_codec.hpp"
#include "mgraph/graph/graph.hpp"
#include "mgraph/graph/status.hpp"

namespace mgraph::actors {

using codec::Epoch;
using codec::FieldId;
using codec::FieldResolution;
using codec::FieldWrite;
using codec::kCoordinator;
using codec::MessageKind;
using codec::message_kind_name;
using codec::PartitionId;
using Message = codec::EpochMessage;

/// Exact sum of credit shares 2^-k: a binary fraction with one bit per exponent.
class CreditCounter {
 public:
  void add(std::uint32_t exponent);
  /// Whether the shares added sum to exactly 1.
  bool whole() const { return whole_; }
  void reset();

 private:
  std::vector<bool> bits_;  ///< bits_[k]: a share 2^-k is held (k >= 1)
  bool whole_ = false;
};

/// Order-independent fingerprint of (field, value) pairs: feed each pair, read value().
class FieldValueDigest {
 public:
  void add(FieldId field, const Value& value);
  std::uint64_t value() const { return sum_; }

 private:
  std::uint64_t sum_ = 0;
};

/// What a partition owns: a graph with local fields and mirrors of remote ones.
struct PartitionLayout {
  std::unordered_map<FieldId, NodeId> owned;    ///< fields this partition computes or holds
  std::unordered_map<FieldId, NodeId> mirrors;  ///< remote fields its formulas read
  /// Owned fields other partitions read, and who reads them (each exported in the graph).
  std::unordered_map<FieldId, std::vector<PartitionId>> subscribers;
};

/// One partition. Thread-safety: none (an actor owns it).
class PartitionCore {
 public:
  /// REQUIRES: the graph has no open transaction; layout's nodes exist in it and the
  /// exported ones are set_exported.
  PartitionCore(PartitionId id, Graph graph, PartitionLayout layout);

  PartitionId id() const { return id_; }
  Graph& graph() { return graph_; }
  const PartitionLayout& layout() const { return layout_; }

  /// A fingerprint of the committed values of the owned fields (FieldValueDigest), to
  /// compare partitions with an oracle across processes.
  std::uint64_t digest() const;

  /// Handles one message; appends what it sends (to partitions and the coordinator).
  /// A failure (a formula error, a rejection, a bad message) makes the partition answer
  /// Idle with `reason` set, and the coordinator aborts the epoch.
  void handle(const Message& m, std::vector<Message>* out);

 private:
  /// Sends Mark/Resolve for exported fields, then returns the remaining credit (Idle).
  void send_marks(const std::vector<NodeId>& stale, std::vector<Message>* out);
  void send_resolutions(const std::vector<Resolution>& resolved, std::vector<Message>* out);
  void go_idle(std::vector<Message>* out, std::string reason = {});
  /// The partitions mirroring owned node `n` (and its field id in *field); null if none.
  const std::vector<PartitionId>* subscribers_of(NodeId n, FieldId* field) const;
  /// A message of this epoch to partition `to`, carrying a share of the held credit.
  Message to_peer(MessageKind kind, PartitionId to);
  /// Takes one share of the held credit for an outgoing message.
  std::uint32_t split_credit();
  Status apply(const Message& m);

  PartitionId id_;
  Graph graph_;
  PartitionLayout layout_;
  std::unordered_map<NodeId, FieldId> field_of_;  ///< owned nodes -> field ids
  std::unordered_map<NodeId, FieldId> mirror_field_;
  Epoch epoch_ = 0;                  ///< the epoch in progress (0: none)
  std::vector<std::uint32_t> credit_;  ///< shares held now
  bool failed_ = false;
  std::string failure_;  ///< why this epoch failed here
  std::vector<NodeId> written_exported_;  ///< exported variables written in this epoch
  std::vector<NodeId> stale_scratch_;
  std::vector<Resolution> resolved_scratch_;
};

/// Outcome of one epoch, as the coordinator saw it.
struct EpochResult {
  Epoch epoch = 0;
  bool committed = false;
  std::string reason;  ///< why it aborted
  std::size_t participants = 0;
};

/// The coordinator of epochs. Thread-safety: none (an actor owns it).
class CoordinatorCore {
 public:
  /// Starts epoch `epoch` with `writes` grouped by the partition owning each field.
  /// REQUIRES: no epoch in progress.
  void begin(Epoch epoch, std::map<PartitionId, std::vector<FieldWrite>> writes,
             std::vector<Message>* out);
  /// Handles an Idle; appends Compute/Commit/Abort when a phase ends.
  void handle(const Message& m, std::vector<Message>* out);
  bool in_progress() const { return phase_ != Phase::none; }
  /// The last finished epoch.
  const EpochResult& result() const { return result_; }

 private:
  enum class Phase : std::uint8_t { none, mark, compute };
  /// A message of the current epoch from the coordinator to partition `to`.
  Message to_partition(MessageKind kind, PartitionId to) const;
  void start_phase(MessageKind kind, std::vector<Message>* out);
  void finish(bool committed, std::vector<Message>* out);

  Phase phase_ = Phase::none;
  Epoch epoch_ = 0;
  CreditCounter counter_;
  std::map<PartitionId, bool> participants_;
  std::string failure_;
  EpochResult result_;
};

}  // namespace mgraph::actors
