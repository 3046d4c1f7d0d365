#pragma once
// mulberry32 exactly as bench/BENCH.md defines it (all arithmetic modulo 2^32): the
// generator of the benchmark shapes' topologies and update lists. Standard library only,
// so that the floor (bench/floor/floor.cpp, compiled alone by bench/compare.sh) includes it
// as the engine's benchmarks do.

#include <cstdint>

namespace mgraph::bench {

class Mulberry32 {
 public:
  explicit Mulberry32(std::uint32_t seed) : state_(seed) {}
  std::uint32_t next() {
    state_ += 0x6D2B79F5u;
    std::uint32_t t = state_;
    t = (t ^ (t >> 15)) * (t | 1u);
    t = (t + ((t ^ (t >> 7)) * (t | 61u))) ^ t;
    return t ^ (t >> 14);
  }

 private:
  std::uint32_t state_;
};

}  // namespace mgraph::bench
