// memory-2input/N: N scalar derived nodes with two inputs each, node = v[a] + v[b], over
// N / 10 variables (a != b drawn with mulberry32(1)). It reports the engine's bytes per
// derived node and the process's resident growth per derived node, and times one small
// update: one variable written, committed and its dependents read.
//
// The variable count grows with N so that a variable feeds 20 derived nodes on average at
// every size: the update is the same size on 10^3 and 10^7 nodes, and its time shows what
// the graph's size alone costs (cache and TLB misses, anything O(N) in commit()).

#include <cmath>
#include <memory>
#include <string>
#include <vector>

#include "engine/harness.hpp"

namespace mgraph::bench {
namespace {

constexpr std::size_t kDerivedPerVariable = 10;
constexpr std::size_t kProbes = 64;
constexpr std::uint64_t kVerifyUpdates = 128;

Value add_inputs(Context& context) {
  return Value(context.input(0).as_double() + context.input(1).as_double());
}

class Memory2Input final : public Shape {
 public:
  explicit Memory2Input(std::size_t derived)
      : Shape(Evaluation::strict), derived_(derived), variables_(derived / kDerivedPerVariable) {
    MG_ASSERT(variables_ >= 2);
    // The probe bookkeeping exists before the baseline, so only the graph is measured.
    std::vector<std::int32_t> probe_slot(variables_, -1);
    Mulberry32 probe_rng(2);
    for (std::size_t q = 0; q < kProbes; ++q) {
      const std::uint32_t variable = probe_rng.next() % variables_;
      if (probe_slot[variable] < 0) {
        probe_slot[variable] = static_cast<std::int32_t>(slots_.size());
        slots_.push_back({variable, {}});
      }
      probes_.push_back(static_cast<std::size_t>(probe_slot[variable]));
    }
    variable_ids_.assign(variables_, kNoNode);
    const std::size_t rss_before = resident_bytes();

    graph_.reserve(variables_ + derived_, 2 * derived_);
    for (std::size_t j = 0; j < variables_; ++j) variable_ids_[j] = add_variable(j % 1000);
    const SpecId spec = add_spec(add_inputs, "add");
    Mulberry32 rng(1);
    for (std::size_t i = 0; i < derived_; ++i) {
      const std::uint32_t a = rng.next() % variables_;
      std::uint32_t b = rng.next() % variables_;
      while (b == a) b = rng.next() % variables_;
      const NodeId node = add_derived(spec, {variable_ids_[a], variable_ids_[b]});
      for (std::uint32_t input : {a, b}) {
        if (probe_slot[input] >= 0) slots_[probe_slot[input]].dependents.push_back({node, a, b});
      }
    }
    commit();
    // Bulk building leaves slack in the edge arena; a user building a big graph once
    // compacts it, so the figure is the steady-state footprint.
    const Status compacted = graph_.compact();
    MG_ASSERT(compacted.is_ok());
    rss_growth_bytes_ = static_cast<double>(resident_bytes()) - static_cast<double>(rss_before);
  }

  double update(std::uint64_t u) override {
    const Slot& slot = slots_[probes_[(u - 1) % kProbes]];
    const NodeId variable = variable_ids_[slot.variable];
    write(variable, std::fmod(read(variable) + 1, 1000.0));
    commit();
    computed_total_ += static_cast<double>(last_commit_.computed);
    ++updates_;
    double sum = 0;
    for (const Dependent& dependent : slot.dependents) sum += read(dependent.node);
    return sum;
  }

  /// The same updates on plain arrays.
  std::optional<double> computed_checksum(std::uint64_t updates) const override {
    std::vector<double> values(variables_);
    for (std::size_t j = 0; j < variables_; ++j) values[j] = static_cast<double>(j % 1000);
    double checksum = 0;
    for (std::uint64_t u = 1; u <= updates; ++u) {
      const Slot& slot = slots_[probes_[(u - 1) % kProbes]];
      values[slot.variable] = std::fmod(values[slot.variable] + 1, 1000.0);
      for (const Dependent& dependent : slot.dependents) {
        checksum += values[dependent.a] + values[dependent.b];
      }
    }
    return checksum;
  }

  double bytes_per_node() const override {
    return static_cast<double>(graph_.memory_bytes()) / static_cast<double>(derived_);
  }

  void add_counters(benchmark::UserCounters& counters) const override {
    counters["rss_bytes_per_node"] = rss_growth_bytes_ / static_cast<double>(derived_);
    counters["computed_per_update"] = updates_ == 0 ? 0 : computed_total_ / updates_;
  }

 private:
  struct Dependent {
    NodeId node;
    std::uint32_t a;
    std::uint32_t b;
  };
  struct Slot {
    std::uint32_t variable;
    std::vector<Dependent> dependents;  ///< in creation order
  };

  std::size_t derived_;
  std::size_t variables_;
  std::vector<NodeId> variable_ids_;
  std::vector<Slot> slots_;          ///< one per distinct probed variable
  std::vector<std::size_t> probes_;  ///< update list: index into slots_
  double rss_growth_bytes_ = 0;
  double computed_total_ = 0;
  double updates_ = 0;
};

}  // namespace

void register_memory_shapes() {
  for (std::size_t derived : {std::size_t{1000}, std::size_t{1000000}, std::size_t{10000000}}) {
    register_shape({"memory-2input/" + std::to_string(derived), kVerifyUpdates, std::nullopt,
                    [derived] { return std::make_unique<Memory2Input>(derived); }});
  }
}

}  // namespace mgraph::bench
