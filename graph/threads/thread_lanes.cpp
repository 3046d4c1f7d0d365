#include "mgraph/graph/thread_lanes.hpp"

#include <stdexcept>

namespace mgraph {
namespace {

/// How long a thread polls a counter before it sleeps on it: about 50-100 µs of pauses,
/// longer than the gap between two layers of a commit, far shorter than a pause of the
/// caller between commits (which then costs a wake-up, not a core).
constexpr int kSpins = 2000;

inline void pause() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#elif defined(__aarch64__)
  asm volatile("yield");
#endif
}

/// Waits until `counter` no longer holds `old`: polls, then sleeps on it.
std::uint64_t await_change(const std::atomic<std::uint64_t>& counter, std::uint64_t old) {
  for (int k = 0; k < kSpins; ++k) {
    const std::uint64_t now = counter.load(std::memory_order_acquire);
    if (now != old) return now;
    pause();
  }
  for (;;) {
    counter.wait(old, std::memory_order_acquire);
    const std::uint64_t now = counter.load(std::memory_order_acquire);
    if (now != old) return now;
  }
}

}  // namespace

ThreadLanes::ThreadLanes(std::uint32_t lanes) {
  if (lanes == 0) throw std::invalid_argument("ThreadLanes needs at least 1 lane");
  helpers_.reserve(lanes - 1);
  for (std::uint32_t lane = 1; lane < lanes; ++lane) {
    helpers_.push_back(std::make_unique<Helper>());
    Helper& helper = *helpers_.back();
    helper.thread = std::thread([this, &helper, lane] { serve(helper, lane); });
  }
}

ThreadLanes::~ThreadLanes() {
  stopping_ = true;
  for (auto& helper : helpers_) {
    helper->requested.fetch_add(1, std::memory_order_release);
    helper->requested.notify_one();
  }
  for (auto& helper : helpers_) helper->thread.join();
}

void ThreadLanes::run(Task task, void* context) {
  task_ = task;
  context_ = context;
  for (auto& helper : helpers_) {
    helper->requested.fetch_add(1, std::memory_order_release);
    helper->requested.notify_one();
  }
  task(context, 0);
  for (auto& helper : helpers_) {
    const std::uint64_t want = helper->requested.load(std::memory_order_relaxed);
    std::uint64_t seen = helper->finished.load(std::memory_order_acquire);
    while (seen != want) seen = await_change(helper->finished, seen);
  }
}

void ThreadLanes::serve(Helper& helper, std::uint32_t lane) {
  std::uint64_t done = 0;
  for (;;) {
    const std::uint64_t requested = await_change(helper.requested, done);
    if (stopping_) return;
    task_(context_, lane);
    done = requested;
    helper.finished.store(done, std::memory_order_release);
    helper.finished.notify_one();
  }
}

}  // namespace mgraph
