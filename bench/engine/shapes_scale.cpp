// BENCH.md shapes scale-pull and scale-effect: a layered random DAG, 100,000 wide and 10
// layers deep (10^6 nodes, 2.7 M edges), each derived node the sum of 2 to 4 parents.

#include <algorithm>
#include <cmath>
#include <memory>
#include <vector>

#include "engine/harness.hpp"
#include "engine/scale_topology.hpp"

namespace mgraph::bench {
namespace {

class Scale final : public Shape {
 public:
  Scale(Evaluation evaluation, bool effects, std::uint32_t lanes)
      : Shape(evaluation, lanes), effects_(effects) {
    const Topology topology;
    graph_.reserve(kNodes, topology.parents.size());
    const SpecId spec = add_spec(sum_inputs, "sum");
    for (std::uint32_t j = 0; j < kWidth; ++j) sources_.push_back(add_variable(j % 1000));
    std::vector<NodeId> previous = sources_;
    std::vector<NodeId> current(kWidth);
    std::vector<NodeId> inputs;
    for (std::uint32_t layer = 1; layer < kLayers; ++layer) {
      for (std::uint32_t j = 0; j < kWidth; ++j) {
        inputs.clear();
        for (std::uint32_t p : topology.parents_of(layer, j)) inputs.push_back(previous[p]);
        current[j] = add_derived(spec, inputs);
      }
      previous.swap(current);
    }
    sinks_ = std::move(previous);

    Mulberry32 rng(2);
    for (std::size_t q = 0; q < kUpdateSources; ++q) {
      update_sources_.push_back(rng.next() % kWidth);
      reachable_.push_back({});
      for (std::uint32_t index : topology.reachable_sinks(update_sources_.back())) {
        reachable_.back().push_back(sinks_[index]);
      }
    }
    if (effects_) {
      for (NodeId sink : sinks_) {
        graph_.observe(sink, [this](NodeId, const Value& value) {
          effect_sum_ += value.as_double();
          ++effect_calls_;
        });
      }
    }
    commit();
    for (NodeId sink : sinks_) read(sink);
  }

  double update(std::uint64_t u) override {
    const std::size_t q = (u - 1) % kUpdateSources;
    const NodeId source = sources_[update_sources_[q]];
    const double value = read(source);
    write(source, std::fmod(value + 1, 1000.0));
    effect_sum_ = 0;
    effect_calls_ = 0;
    commit();
    double sum = 0;
    for (NodeId sink : reachable_[q]) sum += read(sink);
    if (effects_ && (effect_sum_ != sum || effect_calls_ != reachable_[q].size())) [[unlikely]] {
      fail("effects", Status(StatusCode::internal,
                             "observers saw " + std::to_string(effect_calls_) + " sinks summing " +
                                 std::to_string(effect_sum_) + ", reads saw " +
                                 std::to_string(reachable_[q].size()) + " summing " +
                                 std::to_string(sum) + " (update " + std::to_string(u) + ")"));
    }
    return sum;
  }

  void add_counters(benchmark::UserCounters& counters) const override {
    double reached = 0;
    for (const auto& sinks : reachable_) reached += static_cast<double>(sinks.size());
    counters["sinks_per_update"] = reached / kUpdateSources;
  }

 private:
  bool effects_;
  std::vector<NodeId> sources_;
  std::vector<NodeId> sinks_;
  std::vector<std::uint32_t> update_sources_;   ///< BENCH.md's update list
  std::vector<std::vector<NodeId>> reachable_;  ///< per update list entry, ascending index
  double effect_sum_ = 0;
  std::size_t effect_calls_ = 0;
};

constexpr double kScaleChecksum = 1184265425966.0;

}  // namespace

void register_scale_shapes() {
  register_shape({"scale-pull", 5, kScaleChecksum,
                  [] { return std::make_unique<Scale>(Evaluation::strict, false, 1); }});
  register_shape({"scale-effect", 5, kScaleChecksum,
                  [] { return std::make_unique<Scale>(Evaluation::strict, true, 1); }});
  // The same on 2 threads (GraphOptions::lanes): its layers of 1,024 nodes or more.
  register_shape({"scale-pull/lanes:2", 5, kScaleChecksum,
                  [] { return std::make_unique<Scale>(Evaluation::strict, false, 2); }});
  register_shape({"scale-effect/lanes:2", 5, kScaleChecksum,
                  [] { return std::make_unique<Scale>(Evaluation::strict, true, 2); }});
}

}  // namespace mgraph::bench
