#pragma once
// LaneRunners for tests of GraphOptions::lanes: lanes run one after another on the calling
// thread (deterministic, and in an order no real runner keeps), and a count of runs.

#include <cstdint>
#include <memory>
#include <utility>

#include "mgraph/graph/graph.hpp"

namespace mgraph {

/// Runs the lanes on the calling thread, the last one first: a pass whose lanes waited for
/// one another, or for lane 0 to have run first, would give other results or hang.
class BackwardLanes final : public LaneRunner {
 public:
  explicit BackwardLanes(std::uint32_t lanes) : lanes_(lanes) {}
  std::uint32_t lanes() const override { return lanes_; }
  void run(Task task, void* context) override {
    for (std::uint32_t lane = lanes_; lane-- > 0;) task(context, lane);
  }

 private:
  std::uint32_t lanes_;
};

/// Another runner, with a count of its runs (a test checks that the lanes were used).
class CountingLanes final : public LaneRunner {
 public:
  explicit CountingLanes(std::shared_ptr<LaneRunner> inner) : inner_(std::move(inner)) {}
  std::uint32_t lanes() const override { return inner_->lanes(); }
  void run(Task task, void* context) override {
    ++runs_;
    inner_->run(task, context);
  }
  std::uint64_t runs() const { return runs_; }

 private:
  std::shared_ptr<LaneRunner> inner_;
  std::uint64_t runs_ = 0;
};

}  // namespace mgraph
