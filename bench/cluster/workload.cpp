#include "cluster/workload.hpp"

#include <algorithm>
#include <stdexcept>
#include <string>
#include <utility>

#include "mgraph/graph/assert.hpp"
#include "mgraph/graph/prng.hpp"

namespace mgraph::actors {

Workload::Workload(WorkloadSpec spec) : spec_(spec) {
  MG_ASSERT(spec_.fields >= 4 && spec_.partitions >= 1);
  Prng rng(spec_.seed);
  for (FieldId f = 0; f < spec_.fields; ++f) {
    FieldDef d;
    d.variable = f < 4 || rng.below(4) == 0;
    if (!d.variable) {
      const std::size_t k = 1 + rng.below(3);
      for (std::size_t i = 0; i < k; ++i) d.inputs.push_back(rng.below(f));
      d.bias = static_cast<std::int64_t>(rng.below(10));
      d.clamp = rng.below(3) == 0;
    }
    defs_.push_back(std::move(d));
    owner_.push_back(static_cast<PartitionId>(rng.below(spec_.partitions)));
  }
  subscribers_.resize(spec_.fields);
  for (FieldId f = 0; f < spec_.fields; ++f) {
    for (const FieldId i : defs_[f].inputs) {
      std::vector<PartitionId>& subs = subscribers_[i];
      if (owner_[i] != owner_[f] && std::find(subs.begin(), subs.end(), owner_[f]) == subs.end())
        subs.push_back(owner_[f]);
    }
  }
  for (FieldId f = 0; f < spec_.fields; ++f) {
    if (defs_[f].variable) {
      oracle_nodes_.push_back(oracle_.add_variable(Value(std::int64_t(rng.below(100)))));
      continue;
    }
    std::vector<NodeId> in;
    for (const FieldId i : defs_[f].inputs) in.push_back(oracle_nodes_[i]);
    oracle_nodes_.push_back(oracle_.add_derived(add_spec(oracle_, f, nullptr), in).value());
  }
  const Result<CommitStats> first = oracle_.commit();
  MG_ASSERT_MSG(first.is_ok(), "the workload's first commit failed");
}

SpecId Workload::add_spec(Graph& g, FieldId f, int* counter) const {
  FieldSpec s;
  s.dependencies = Dependencies::declared;
  // The refused value aborts its epoch (tests count aborts): a failure of the transaction,
  // not only of the field.
  s.fail_transaction = true;
  s.formula = [d = defs_[f], fail = spec_.fail_value, counter](Context& c) {
    if (counter != nullptr) ++*counter;
    std::int64_t sum = d.bias;
    for (std::size_t k = 0; k < c.input_count(); ++k) {
      const std::int64_t v = c.input(k).as_int();
      if (fail && v == *fail) throw std::runtime_error("formula refuses " + std::to_string(v));
      sum += v;
    }
    sum %= 1000;
    return Value(d.clamp ? std::min<std::int64_t>(sum, 500) : sum);
  };
  return g.add_spec(std::move(s));
}

std::unordered_map<FieldId, PartitionId> Workload::owners() const {
  std::unordered_map<FieldId, PartitionId> out;
  for (FieldId f = 0; f < owner_.size(); ++f) out.emplace(f, owner_[f]);
  return out;
}

std::shared_ptr<PartitionCore> Workload::build_partition(PartitionId p, int* computed) {
  Graph g;
  PartitionLayout l;
  for (FieldId f = 0; f < defs_.size(); ++f) {
    if (owner_[f] != p) continue;
    if (defs_[f].variable) {
      l.owned[f] = g.add_variable(oracle_.committed(oracle_nodes_[f]));
      continue;
    }
    std::vector<NodeId> in;
    for (const FieldId i : defs_[f].inputs) {
      if (owner_[i] == p) {
        in.push_back(l.owned.at(i));
        continue;
      }
      auto [it, fresh] = l.mirrors.try_emplace(i, kNoNode);
      if (fresh) it->second = g.add_mirror(oracle_.committed(oracle_nodes_[i]));
      in.push_back(it->second);
    }
    l.owned[f] = g.add_derived(add_spec(g, f, computed == nullptr ? nullptr : &computed[f]), in).value();
  }
  for (const auto& [f, node] : l.owned) {
    if (subscribers_[f].empty()) continue;
    l.subscribers[f] = subscribers_[f];
    g.set_exported(node, true);
  }
  const Result<CommitStats> first = g.commit();
  MG_ASSERT_MSG(first.is_ok(), "a partition's first commit failed");
  return std::make_shared<PartitionCore>(p, std::move(g), std::move(l));
}

std::uint64_t Workload::oracle_digest(PartitionId p) const {
  FieldValueDigest d;
  for (FieldId f = 0; f < owner_.size(); ++f) {
    if (owner_[f] == p) d.add(f, oracle_.committed(oracle_nodes_[f]));
  }
  return d.value();
}

std::vector<FieldWrite> Workload::writes(Epoch e) const {
  Prng rng(spec_.seed * 0x100000001b3ull + e);
  std::vector<FieldWrite> out;
  const std::size_t count = 1 + rng.below(4);
  for (std::size_t i = 0; i < count; ++i) {
    FieldId f = rng.below(defs_.size());
    while (!defs_[f].variable) f = (f + 1) % defs_.size();
    out.push_back(FieldWrite{f, Value(std::int64_t(rng.below(100)))});
  }
  return out;
}

std::vector<PartitionId> Workload::cone_partitions(FieldId f) const {
  // Readers of each field (the inverse of the inputs), then a walk from f.
  std::vector<std::vector<FieldId>> readers(defs_.size());
  for (FieldId g = 0; g < defs_.size(); ++g) {
    for (const FieldId i : defs_[g].inputs) readers[i].push_back(g);
  }
  std::vector<bool> seen(defs_.size(), false);
  std::vector<FieldId> stack{f};
  seen[f] = true;
  std::vector<PartitionId> out;
  while (!stack.empty()) {
    const FieldId g = stack.back();
    stack.pop_back();
    if (std::find(out.begin(), out.end(), owner_[g]) == out.end()) out.push_back(owner_[g]);
    for (const FieldId r : readers[g]) {
      if (!seen[r]) {
        seen[r] = true;
        stack.push_back(r);
      }
    }
  }
  std::sort(out.begin(), out.end());
  return out;
}

std::vector<FieldId> Workload::variables_crossing(std::size_t count) const {
  std::vector<FieldId> out;
  for (FieldId f = 0; f < defs_.size(); ++f) {
    if (defs_[f].variable && cone_partitions(f).size() == count) out.push_back(f);
  }
  return out;
}

std::vector<FieldWrite> Workload::single_write(Epoch e, const std::vector<FieldId>& among) const {
  MG_ASSERT(!among.empty());
  Prng rng(spec_.seed * 0x100000001b3ull + e);
  const FieldId f = among[rng.below(among.size())];
  // Another value than the oracle's (the committed one before epoch e): the write changes f.
  const std::int64_t now = oracle_.committed(oracle_nodes_[f]).as_int();
  const std::int64_t value = (now + 1 + static_cast<std::int64_t>(rng.below(98))) % 100;
  return {FieldWrite{f, Value(value)}};
}

}  // namespace mgraph::actors
