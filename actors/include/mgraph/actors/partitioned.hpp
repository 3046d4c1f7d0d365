#pragma once
// The user's documents spread over partitions: the core of a cluster's document epochs,
// with no I/O and no CAF, and the network between partitions as a queue whose delivery
// order a test chooses.
//
// Every partition holds a Store with the same records at the same node ids; a record is
// owned by one partition (schema::Placement: FNV-1a of its id modulo the partition count).
// Inputs — creations, state fields, links, memberships, deletions — are applied by every
// partition, so every structural check answers alike everywhere; what the schema computes
// is computed only by the owner, and other partitions hold it as mirrors. A transaction
// ends in the stepwise protocol of the engine (docs/EPOCHS.md):
//
//   ops ──▶ every partition applies each input op; the results must agree
//   commit, or a read inside the transaction:
//     mark:     each partition marks what its writes make stale; each exported field that
//               became stale is a Mark message to the other partitions, which mark their
//               mirror of it and what depends on it there (more Marks), until none is left
//     compute:  each partition computes what no unresolved mirror holds back; each exported
//               field it resolves is a Resolve message (value, or unchanged) to the others,
//               which resolve the mirror and compute further, until none is left
//     commit:   every partition commits; a commit's count of changed fields is the sum of
//               each partition's share of its own records
//   undo, redo: every partition walks its own history: all revisions were made in step
//
// Why it is glitch-free and terminates exactly: marking ends everywhere before any field
// is computed (no Resolve is sent before the last Mark is delivered), so a field that a
// remote change reaches is stale when it would compute and waits for its mirror; each
// field is computed at most once per round, and a round ends when the queue is empty —
// the in-process network cannot lose a message, so an empty queue is quiescence. Fields
// still waiting then wait on one another through other partitions: a cycle across
// partitions, which rejects the transaction everywhere.
//
// Thread-safety: none.

#include <cstdint>
#include <functional>
#include <memory>
#include <vector>

#include "mgraph/graph/schema/store.hpp"
#include "mgraph/session/executor.hpp"

namespace mgraph::actors {

class PartitionedDocuments {
 public:
  /// Picks which of `queued` (>= 1) messages the network delivers next; null: the oldest.
  using Chooser = std::function<std::size_t(std::size_t queued)>;

  struct Options {
    std::uint32_t partitions = 1;
    std::uint64_t salt = 0;  ///< varies the placement (schema::Placement::salt)
    std::size_t history_limit = 64;
    Chooser choose;
  };

  /// REQUIRES: 1 <= options.partitions.
  PartitionedDocuments(std::shared_ptr<const schema::Schema> schema, Options options);

  /// Applies a batch, as DocumentPartition::run does for one partition; a transaction the
  /// batch left open is rejected.
  session::BatchResult run(const session::Batch& batch);
  /// Applies one op; `earlier` holds the results of the ops before it in its batch.
  session::OpResult apply(const session::Op& op, const session::BatchResult& earlier);

  std::uint32_t partitions() const { return static_cast<std::uint32_t>(stores_.size()); }
  schema::Store& store(std::uint32_t partition) { return *stores_[partition]; }

  /// Messages between partitions so far.
  struct Traffic {
    std::uint64_t marks = 0;
    std::uint64_t resolutions = 0;
  };
  const Traffic& traffic() const { return traffic_; }

 private:
  struct Message {
    std::uint32_t to = 0;
    bool resolve = false;  ///< Resolve, else Mark
    NodeId node = kNoNode;
    bool changed = false;
    Value value;
  };

  /// Mark and compute rounds until every partition's open transaction is computed
  /// through. On failure every partition's transaction is rejected.
  Status stabilize();
  /// stabilize() when a transaction is open: what a read of computed values needs.
  Status settle_for_read();
  std::uint32_t owner_of(session::RecordId id) const;
  void broadcast(std::uint32_t from, const std::vector<NodeId>& stale);
  void broadcast(std::uint32_t from, const std::vector<Resolution>& resolved);
  Message take();
  bool in_transaction() const;
  void reject_all();
  /// Applies `op` on every partition; the results must agree.
  session::OpResult everywhere(const session::Op& op, const session::BatchResult& earlier);
  /// commit, undo, redo: one result with the changed fields of every partition.
  session::OpResult transition(const session::Op& op, const session::BatchResult& earlier);

  Options options_;
  std::vector<std::unique_ptr<schema::Store>> stores_;
  std::vector<std::unique_ptr<session::StoreExecutor>> executors_;
  std::vector<Message> queue_;
  std::vector<NodeId> stale_scratch_;
  std::vector<Resolution> resolved_scratch_;
  Traffic traffic_;
};

}  // namespace mgraph::actors
