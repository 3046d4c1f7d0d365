#pragma once
// A random cluster for the protocol tests: a DAG of variables and derived fields split
// over partitions (each with mirrors of the remote fields it reads), the PartitionCores
// that own the pieces, and one Graph holding everything as the oracle.

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
#include "mgraph/codec/epoch_codec.hpp"
#include "support/prng.hpp"

namespace mgraph::actors::testing {

using Rng = mgraph::testing::Prng;

/// One node of the random DAG: a variable or (sum of inputs + bias) mod 1000, optionally
/// clamped to at most 500 (so that equality cutoff stops some changes). An input of 4242
/// makes the formula throw, which must abort the epoch everywhere.
struct NodeDef {
  bool variable = true;
  std::vector<std::size_t> inputs;
  std::int64_t bias = 0;
  bool clamp = false;
};

inline Value eval(const NodeDef& d, std::span<const Value> in) {
  std::int64_t s = d.bias;
  for (const Value& v : in) {
    if (v.as_int() == 4242) throw std::runtime_error("formula refuses 4242");
    s += v.as_int();
  }
  s %= 1000;
  return Value(d.clamp ? std::min<std::int64_t>(s, 500) : s);
}

/// The whole cluster in one process, driven step by step.
class SimCluster {
 public:
  SimCluster(std::uint64_t seed, std::size_t nodes, std::size_t partitions) : rng_(seed) {
    // The DAG and its owner partitions.
    for (std::size_t n = 0; n < nodes; ++n) {
      NodeDef d;
      d.variable = n < 4 || rng_.below(4) == 0;
      if (!d.variable) {
        const std::size_t k = 1 + rng_.below(3);
        for (std::size_t i = 0; i < k; ++i) d.inputs.push_back(rng_.below(n));
        d.bias = static_cast<std::int64_t>(rng_.below(10));
        d.clamp = rng_.below(3) == 0;
      }
      defs_.push_back(d);
      owner_.push_back(static_cast<PartitionId>(rng_.below(partitions)));
    }
    // The oracle.
    for (std::size_t n = 0; n < nodes; ++n) {
      if (defs_[n].variable) {
        oracle_nodes_.push_back(oracle_.add_variable(Value(std::int64_t(rng_.below(100)))));
        continue;
      }
      std::vector<NodeId> in;
      for (std::size_t i : defs_[n].inputs) in.push_back(oracle_nodes_[i]);
      oracle_nodes_.push_back(oracle_.add_derived(spec(oracle_, n, nullptr), in).value());
    }
    EXPECT_TRUE(oracle_.commit().is_ok());
    // The partitions, each with mirrors of the remote fields its formulas read.
    computed_.assign(nodes, 0);
    std::vector<Graph> graphs(partitions);
    std::vector<PartitionLayout> layouts(partitions);
    for (std::size_t n = 0; n < nodes; ++n) {
      const PartitionId p = owner_[n];
      Graph& g = graphs[p];
      PartitionLayout& l = layouts[p];
      if (defs_[n].variable) {
        l.owned[n] = g.add_variable(oracle_.committed(oracle_nodes_[n]));
        continue;
      }
      std::vector<NodeId> in;
      for (std::size_t i : defs_[n].inputs) {
        if (owner_[i] == p) {
          in.push_back(l.owned.at(i));
          continue;
        }
        auto [it, fresh] = l.mirrors.try_emplace(i, kNoNode);
        if (fresh) {
          it->second = g.add_mirror(oracle_.committed(oracle_nodes_[i]));
          layouts[owner_[i]].subscribers[i].push_back(p);
        }
        in.push_back(it->second);
      }
      l.owned[n] = g.add_derived(spec(g, n, &computed_[n]), in).value();
    }
    for (std::size_t p = 0; p < partitions; ++p) {
      for (const auto& [field, subs] : layouts[p].subscribers) graphs[p].set_exported(layouts[p].owned.at(field), true);
      EXPECT_TRUE(graphs[p].commit().is_ok());
      parts_.push_back(std::make_shared<PartitionCore>(static_cast<PartitionId>(p),
                                                       std::move(graphs[p]), std::move(layouts[p])));
    }
  }

  /// Random writes for the next epoch, applied to the oracle, which commits them; *ok
  /// says whether its commit succeeded. Now and then a value makes a formula throw.
  std::map<PartitionId, std::vector<FieldWrite>> next_writes(bool* ok) {
    std::map<PartitionId, std::vector<FieldWrite>> writes;
    const std::size_t count = 1 + rng_.below(4);
    for (std::size_t i = 0; i < count; ++i) {
      std::size_t n = rng_.below(defs_.size());
      while (!defs_[n].variable) n = (n + 1) % defs_.size();
      const Value v(std::int64_t(rng_.below(50) == 0 ? 4242 : rng_.below(100)));
      writes[owner_[n]].push_back(FieldWrite{n, v});
      EXPECT_TRUE(oracle_.write(oracle_nodes_[n], v).is_ok());
    }
    *ok = oracle_.commit().is_ok();
    std::fill(computed_.begin(), computed_.end(), 0);
    return writes;
  }

  /// Runs one epoch of random writes on the cluster (a simulated network delivering in
  /// random order) and the oracle; checks the outcome.
  void epoch(Epoch e) {
    bool oracle_ok = false;
    std::map<PartitionId, std::vector<FieldWrite>> writes = next_writes(&oracle_ok);
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
    for (std::size_t n = 0; n < defs_.size(); ++n) {
      ASSERT_LE(computed_[n], 1) << "epoch " << e << ": field " << n << " computed twice";
    }
    check();
  }

  const std::vector<std::shared_ptr<PartitionCore>>& parts() const { return parts_; }
  /// Partition of every field.
  std::unordered_map<FieldId, PartitionId> owners() const {
    std::unordered_map<FieldId, PartitionId> out;
    for (std::size_t n = 0; n < owner_.size(); ++n) out.emplace(n, owner_[n]);
    return out;
  }

  std::size_t messages() const { return messages_; }
  std::size_t committed() const { return committed_; }
  std::size_t aborted() const { return aborted_; }

  /// Every owned field and every mirror equals the oracle's committed value.
  void check() {
    for (const auto& part : parts_) {
      ASSERT_FALSE(part->graph().in_transaction());
      for (const auto& [field, node] : part->layout().owned) {
        ASSERT_EQ(part->graph().committed(node), oracle_.committed(oracle_nodes_[field]))
            << "partition " << part->id() << " field " << field;
      }
      for (const auto& [field, node] : part->layout().mirrors) {
        ASSERT_EQ(part->graph().committed(node), oracle_.committed(oracle_nodes_[field]))
            << "partition " << part->id() << " mirror of field " << field;
      }
    }
  }

 private:
  SpecId spec(Graph& g, std::size_t n, int* counter) {
    FieldSpec s;
    s.dependencies = Dependencies::declared;
    s.formula = [d = defs_[n], counter](Context& c) {
      if (counter != nullptr) ++*counter;
      std::vector<Value> in;
      for (std::size_t k = 0; k < c.input_count(); ++k) in.push_back(c.input(k));
      return eval(d, in);
    };
    return g.add_spec(std::move(s));
  }

  Rng rng_;
  std::vector<NodeDef> defs_;
  std::vector<PartitionId> owner_;
  Graph oracle_;
  std::vector<NodeId> oracle_nodes_;
  std::vector<int> computed_;
  std::vector<std::shared_ptr<PartitionCore>> parts_;
  CoordinatorCore coordinator_;
  std::size_t messages_ = 0, committed_ = 0, aborted_ = 0;
};

}  // namespace mgraph::actors::testing
