#pragma once
// The topology of BENCH.md's scale shapes (scale-pull, scale-effect): a layered random DAG,
// 100,000 wide and 10 layers deep, each derived node the sum of 2 to 4 distinct parents in
// the layer before, drawn with mulberry32(1); and the update list, drawn with
// mulberry32(2). Shared by bench/engine (a bare Graph) and bench/partitions (a schema).

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "engine/harness.hpp"

namespace mgraph::bench {

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

}  // namespace mgraph::bench
