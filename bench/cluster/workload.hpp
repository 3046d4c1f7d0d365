#pragma once
// A synthetic graph for running a cluster end to end: a random DAG (from a seed) of
// variables and derived fields, split over partitions, with one Graph holding everything
// as the oracle. Every node of a cluster builds the same workload from the same spec and
// keeps the partitions it hosts. Derived field: (sum of inputs + bias) mod 1000, some
// clamped to at most 500, so that equality cutoff stops some changes.

#include <cstdint>
#include <memory>
#include <optional>
#include <unordered_map>
#include <vector>

#include "mgraph/actors/epoch.hpp"

namespace mgraph::actors {

struct WorkloadSpec {
  std::uint64_t seed = 1;
  std::size_t fields = 100;
  std::size_t partitions = 3;
  /// A value that makes every formula reading it throw (to exercise aborts); none: never.
  std::optional<std::int64_t> fail_value;
};

class Workload {
 public:
  /// REQUIRES: spec.fields >= 4, spec.partitions >= 1.
  explicit Workload(WorkloadSpec spec);

  const WorkloadSpec& spec() const { return spec_; }
  std::size_t fields() const { return defs_.size(); }
  bool is_variable(FieldId f) const { return defs_[f].variable; }
  PartitionId owner(FieldId f) const { return owner_[f]; }
  std::unordered_map<FieldId, PartitionId> owners() const;

  /// The oracle: every field in one Graph, committed.
  Graph& oracle() { return oracle_; }
  NodeId oracle_node(FieldId f) const { return oracle_nodes_[f]; }

  /// Partition p's core, its mirrors holding the oracle's current committed values.
  /// `computed`, if given, counts the computations of each field (indexed by FieldId).
  std::shared_ptr<PartitionCore> build_partition(PartitionId p, int* computed = nullptr);

  /// FieldValueDigest of the oracle's committed values of the fields partition p owns:
  /// what PartitionCore::digest() of a correct partition p gives.
  std::uint64_t oracle_digest(PartitionId p) const;

  /// Deterministic writes for epoch e (1 to 4 variables), the same on every node.
  std::vector<FieldWrite> writes(Epoch e) const;

  /// The partitions a write of field f reaches: its owner and the owners of every field
  /// that reads it, directly or not (the participants of an epoch writing only f).
  std::vector<PartitionId> cone_partitions(FieldId f) const;
  /// The variables whose cone_partitions() are exactly `count` partitions, in field order.
  std::vector<FieldId> variables_crossing(std::size_t count) const;
  /// One write for epoch e: a variable drawn from `among` (not empty) and a value in
  /// [0, 100) other than its value in the oracle now (so the write changes it). The same on
  /// every node whose oracle has run the same epochs.
  std::vector<FieldWrite> single_write(Epoch e, const std::vector<FieldId>& among) const;

 private:
  struct FieldDef {
    bool variable = true;
    std::vector<FieldId> inputs;
    std::int64_t bias = 0;
    bool clamp = false;
  };
  SpecId add_spec(Graph& g, FieldId f, int* counter) const;

  WorkloadSpec spec_;
  std::vector<FieldDef> defs_;
  std::vector<PartitionId> owner_;
  Graph oracle_;
  std::vector<NodeId> oracle_nodes_;
  /// subscribers_[f]: partitions that mirror field f, in order of first use.
  std::vector<std::vector<PartitionId>> subscribers_;
};

}  // namespace mgraph::actors
