#pragma once
// ThreadLanes: a LaneRunner whose lanes run on threads of their own, for GraphOptions::lanes.
// Lane 0 runs on the thread that calls run(); lanes 1..n-1 each on a helper thread started
// by the constructor and joined by the destructor. Library mgraph_graph_threads: the engine
// (mgraph_graph) starts no thread of its own.
//
// A helper waits for its next task spinning for a while (a commit hands out its layers a
// few microseconds apart), then asleep on its counter; run() returns once every helper has
// said it is done. Thread-safety: one run() at a time (LaneRunner::run).

#include <atomic>
#include <cstdint>
#include <memory>
#include <thread>
#include <vector>

#include "mgraph/graph/graph.hpp"

namespace mgraph {

class ThreadLanes final : public LaneRunner {
 public:
  /// `lanes` lanes in all, so lanes - 1 helper threads. REQUIRES: lanes >= 1.
  explicit ThreadLanes(std::uint32_t lanes);
  ~ThreadLanes() override;
  ThreadLanes(const ThreadLanes&) = delete;
  ThreadLanes& operator=(const ThreadLanes&) = delete;

  std::uint32_t lanes() const override { return static_cast<std::uint32_t>(helpers_.size()) + 1; }
  void run(Task task, void* context) override;

 private:
  struct Helper {
    /// Bumped by run() for each task; the helper runs one task per increment.
    std::atomic<std::uint64_t> requested{0};
    /// Set to `requested` by the helper when its task has returned.
    std::atomic<std::uint64_t> finished{0};
    std::thread thread;
  };
  void serve(Helper& helper, std::uint32_t lane);

  // Written by run() before it bumps the counters, read by the helpers after.
  Task task_ = nullptr;
  void* context_ = nullptr;
  bool stopping_ = false;
  std::vector<std::unique_ptr<Helper>> helpers_;
};

}  // namespace mgraph
