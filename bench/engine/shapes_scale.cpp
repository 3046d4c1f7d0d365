// BENCH.md shapes scale-pull and scale-effect: a layered random DAG, 100,000 wide and 10
// layers deep (10^6 nodes, 2.7 M edges), each derived node the sum of 2 to 4 parents.

#include <algorithm>
#include <cmath>
#include <memory>
#include <vector>

#include "engine/harness.hpp"

namespace mgraph::bench {
namespace {

constexpr std::uint32_t kWidth = 100000;
constexpr std::uint32_t kLayers = 10;  // layer 0 holds the sources
constexpr std::uint32_t kNodes = kWidth * kLayers;
constexpr std::size_t kUpdateSources = 128;

/// The topology as BENCH.md draws it with mulberry32(1): for each derived node (layers 1..9 in
/// order) the indices within the previous layer of its 2..4 distinct parents, in draw order.
struct Topology {
  std::vector<std::uint32_t> parent_begin;  ///< per derived node, plus one end entry
  std::vector<std::uint32_t> parents;

  Topology() {
    Mulberry32 rng(1);
    parent_begin.reserve(kNodes - kWidth + 1);
    parents.reserve(std::size_t{3} * (kNodes - kWidth));
    for (std::uint32_t node = kWidth; node < kNodes; ++node) {
      parent_begin.push_back(static_cast<std::uint32_t>(parents.size()));
      const std::size_t begin = parents.size();
      const std::uint32_t count = 2 + rng.next() % 3;
      while (parents.size() - begin < count) {
        const std::uint32_t parent = rng.next() % kWidth;
        if (std::find(parents.begin() + begin, parents.end(), parent) == parents.end()) {
          parents.push_back(parent);
        }
      }
    }
    parent_begin.push_back(static_cast<std::uint32_t>(parents.size()));
  }

  /// Parents (indices within layer - 1) of node `index` of `layer`. REQUIRES: layer >= 1.
  std::span<const std::uint32_t> parents_of(std::uint32_t layer, std::uint32_t index) const {
    const std::uint32_t derived = (layer - 1) * kWidth + index;
    return {parents.data() + parent_begin[derived], parents.data() + parent_begin[derived + 1]};
  }

  /// Indices of the last-layer nodes reachable from source `source`, ascending.
  std::vector<std::uint32_t> reachable_sinks(std::uint32_t source) const {
    std::vector<char> reached(kWidth, 0);
    reached[source] = 1;
    std::vector<char> next(kWidth);
    for (std::uint32_t layer = 1; layer < kLayers; ++layer) {
      for (std::uint32_t index = 0; index < kWidth; ++index) {
        const auto ps = parents_of(layer, index);
        next[index] =
            std::any_of(ps.begin(), ps.end(), [&](std::uint32_t p) { return reached[p]; });
      }
      reached.swap(next);
    }
    std::vector<std::uint32_t> sinks;
    for (std::uint32_t index = 0; index < kWidth; ++index) {
      if (reached[index]) sinks.push_back(index);
    }
    return sinks;
  }
};

class Scale final : public Shape {
 public:
  Scale(Evaluation evaluation, bool effects) : Shape(evaluation), effects_(effects) {
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
                  [] { return std::make_unique<Scale>(Evaluation::strict, false); }});
  register_shape({"scale-effect", 5, kScaleChecksum,
                  [] { return std::make_unique<Scale>(Evaluation::strict, true); }});
}

}  // namespace mgraph::bench
