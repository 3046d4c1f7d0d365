#pragma once
// A random cluster for the protocol tests: a Workload (a DAG split over partitions, with
// one Graph holding everything as the oracle), its PartitionCores, and a simulated
// network that delivers messages in random order.

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <map>
#include <memory>
#include <span>
#include <stdexcept>
#include <string>
#include <unordered_map>
#include <vector>

#include "mgraph/actors/epoch.hpp"
#include "cluster/workload.hpp"
#include "mgraph/codec/epoch_codec.hpp"
#include "support/prng.hpp"

namespace mgraph::actors::testing {

using Rng = mgraph::testing::Prng;

/// The whole cluster in one process, driven step by step: a Workload (whose formulas
/// refuse 4242, so that some epochs abort) and its PartitionCores.
class SimCluster {
 public:
  SimCluster(std::uint64_t seed, std::size_t fields, std::size_t partitions)
      : rng_(seed), workload_(WorkloadSpec{seed, fields, partitions, 4242}) {
    computed_.assign(fields, 0);
    for (PartitionId p = 0; p < partitions; ++p)
      parts_.push_back(workload_.build_partition(p, computed_.data()));
  }

  /// Random writes for the next epoch, applied to the oracle, which commits them; *ok
  /// says whether its commit succeeded. Now and then a value makes a formula throw.
  std::map<PartitionId, std::vector<FieldWrite>> next_writes(bool* ok) {
    std::map<PartitionId, std::vector<FieldWrite>> writes;
    const std::size_t count = 1 + rng_.below(4);
    for (std::size_t i = 0; i < count; ++i) {
      FieldId n = rng_.below(workload_.fields());
      while (!workload_.is_variable(n)) n = (n + 1) % workload_.fields();
      const Value v(std::int64_t(rng_.below(50) == 0 ? 4242 : rng_.below(100)));
      writes[workload_.owner(n)].push_back(FieldWrite{n, v});
      EXPECT_TRUE(workload_.oracle().write(workload_.oracle_node(n), v).is_ok());
    }
    *ok = workload_.oracle().commit().is_ok();
    std::fill(computed_.begin(), computed_.end(), 0);
    return writes;
  }

  /// Runs one epoch of random writes on the cluster (a simulated network delivering in
  /// random order) and the oracle; checks the outcome.
  void epoch(Epoch e) {
    bool oracle_ok = false;
    std::map<PartitionId, std::vector<FieldWrite>> writes = next_writes(&oracle_ok);
    run(e, std::move(writes), oracle_ok);
  }

  /// Runs epoch e writing one variable of `among` (Workload::single_write) on the cluster
  /// and the oracle; checks the outcome.
  void single_write_epoch(Epoch e, const std::vector<FieldId>& among) {
    std::map<PartitionId, std::vector<FieldWrite>> writes;
    for (const FieldWrite& w : workload_.single_write(e, among)) {
      writes[workload_.owner(w.field)].push_back(w);
      EXPECT_TRUE(workload_.oracle().write(workload_.oracle_node(w.field), w.value).is_ok());
    }
    const bool oracle_ok = workload_.oracle().commit().is_ok();
    std::fill(computed_.begin(), computed_.end(), 0);
    run(e, std::move(writes), oracle_ok);
  }

  const Workload& workload() const { return workload_; }
  /// The last epoch's outcome as the coordinator saw it.
  const EpochResult& result() const { return coordinator_.result(); }

  /// Runs epoch e with `writes` (already applied to the oracle, whose commit gave
  /// `oracle_ok`) through a simulated network; checks the outcome.
  void run(Epoch e, std::map<PartitionId, std::vector<FieldWrite>> writes, bool oracle_ok) {
    std::vector<Message> net;
    coordinator_.begin(e, std::move(writes), &net);
    std::size_t steps = 0;
    // Each step delivers one message in flight, chosen at random; bounded.
    while (!net.empty()) {
      ASSERT_LT(++steps, 1'000'000u) << "epoch " << e << " does not terminate";
      const std::size_t pick = rng_.below(net.size());
      // Every message travels as bytes, as between nodes.
      Result<std::string> bytes = codec::encode_epoch_message(net[pick]);
      ASSERT_TRUE(bytes.is_ok()) << bytes.status().message();
      Result<Message> decoded = codec::decode_epoch_message(*bytes);
      ASSERT_TRUE(decoded.is_ok()) << decoded.status().message();
      ASSERT_TRUE(*decoded == net[pick]);
      Message m = std::move(decoded).value();
      net[pick] = std::move(net.back());
      net.pop_back();
      if (m.to == kCoordinator) {
        coordinator_.handle(m, &net);
      } else {
        parts_.at(m.to)->handle(m, &net);
      }
    }
    ASSERT_FALSE(coordinator_.in_progress()) << "epoch " << e << " stalled";
    messages_ += steps;
    verify(e, oracle_ok, coordinator_.result().committed, coordinator_.result().reason);
  }

  /// Checks one epoch's outcome against the oracle's.
  void verify(Epoch e, bool oracle_ok, bool committed, const std::string& reason) {
    (oracle_ok ? committed_ : aborted_) += 1;
    ASSERT_EQ(committed, oracle_ok) << "epoch " << e << ": " << reason;
    if (!oracle_ok) {
      EXPECT_NE(reason.find("4242"), std::string::npos) << reason;
    }
    for (std::size_t n = 0; n < computed_.size(); ++n) {
      ASSERT_LE(computed_[n], 1) << "epoch " << e << ": field " << n << " computed twice";
    }
    check();
  }

  const std::vector<std::shared_ptr<PartitionCore>>& parts() const { return parts_; }
  /// Partition of every field.
  std::unordered_map<FieldId, PartitionId> owners() const { return workload_.owners(); }

  std::size_t messages() const { return messages_; }
  std::size_t committed() const { return committed_; }
  std::size_t aborted() const { return aborted_; }

  /// Every owned field and every mirror equals the oracle's committed value.
  void check() {
    for (const auto& part : parts_) {
      ASSERT_FALSE(part->graph().in_transaction());
      for (const auto& [field, node] : part->layout().owned) {
        ASSERT_EQ(part->graph().committed(node), oracle(field))
            << "partition " << part->id() << " field " << field;
      }
      for (const auto& [field, node] : part->layout().mirrors) {
        ASSERT_EQ(part->graph().committed(node), oracle(field))
            << "partition " << part->id() << " mirror of field " << field;
      }
    }
  }

 private:
  Value oracle(FieldId f) { return workload_.oracle().committed(workload_.oracle_node(f)); }

  Rng rng_;
  Workload workload_;
  std::vector<int> computed_;
  std::vector<std::shared_ptr<PartitionCore>> parts_;
  CoordinatorCore coordinator_;
  std::size_t messages_ = 0, committed_ = 0, aborted_ = 0;
};

}  // namespace mgraph::actors::testing
