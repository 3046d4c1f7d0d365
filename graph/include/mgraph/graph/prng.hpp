#pragma once
// splitmix64: the one seeded, portable generator behind the project's random choices (the
// tests, the benchmarks' workloads, the load tool), so that a seed reproduces the same
// choices on any machine. Not for anything that must be unpredictable.

#include <cstdint>

namespace mgraph {

class Prng {
 public:
  explicit Prng(std::uint64_t seed) : state_(seed) {}
  std::uint64_t next() {
    std::uint64_t z = (state_ += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
  }
  /// Uniform enough in [0, bound) for workload and test choices. REQUIRES: bound > 0.
  std::uint64_t below(std::uint64_t bound) { return next() % bound; }

 private:
  std::uint64_t state_;
};

}  // namespace mgraph
