// mgraph_watch_bench: the coordinator's fan-out of one epoch to many subscribers
// (docs/CLUSTER.md, "Subscriptions"; actors/watch.hpp). N subscriber actors poll the watch
// actor for one field, each waiting for the next epoch; the bench adds an epoch that changes
// that field to the buffer, as the driver does, and times until every subscriber has its
// answer; then they poll again. Prints the time per epoch (p50, p99, max) as one JSON line.
// The client protocol and the gateways are not in the figure: it is the work the
// coordinator adds per epoch and subscriber.
//
// Usage: mgraph_watch_bench [--subscribers N] [--epochs E] [--warmup W]

#include <caf/all.hpp>

#include <CLI/CLI.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "mgraph/actors/watch.hpp"

namespace {

using namespace mgraph;

/// Epochs every subscriber has received.
struct Tally {
  std::mutex mutex;
  std::condition_variable changed;
  std::uint64_t answers = 0;  ///< epochs received, summed over subscribers

  void add(std::uint64_t n) {
    {
      std::lock_guard<std::mutex> lock(mutex);
      answers += n;
    }
    changed.notify_all();
  }
  void wait_for(std::uint64_t n) {
    std::unique_lock<std::mutex> lock(mutex);
    changed.wait(lock, [&] { return answers >= n; });
  }
};

/// Polls `watch` for Order#1.total from epoch 0, again after each answer, until it stops.
void subscriber(caf::event_based_actor* self, caf::actor watch, std::shared_ptr<Tally> tally) {
  auto poll = std::make_shared<std::function<void(std::uint64_t)>>();
  *poll = [self, watch, tally, poll](std::uint64_t from) {
    self->request(watch, caf::infinite, actors::watch_atom::value, std::vector<std::string>{"Order#1.total"}, from,
                  std::uint32_t{64}, std::uint32_t{10000})
        .then(
            [tally, poll](bool, std::uint64_t through, const std::vector<std::string>& epochs, std::uint64_t) {
              tally->add(epochs.size());
              (*poll)(through);
            },
            [self](caf::error&) { self->quit(); });
  };
  (*poll)(0);
}

double percentile(std::vector<double> xs, double p) {
  std::sort(xs.begin(), xs.end());
  const std::size_t i = std::min(xs.size() - 1, static_cast<std::size_t>(p * static_cast<double>(xs.size())));
  return xs[i];
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"mgraph_watch_bench: one epoch's fan-out to many subscribers of one field"};
  std::uint64_t subscribers = 1000;
  std::uint64_t epochs = 200;
  std::uint64_t warmup = 20;
  app.add_option("--subscribers", subscribers, "Subscribers of the field")->check(CLI::Range(1, 100000));
  app.add_option("--epochs", epochs, "Epochs timed")->check(CLI::Range(1, 1000000));
  app.add_option("--warmup", warmup, "Epochs before the timed ones")->check(CLI::Range(0, 1000000));
  CLI11_PARSE(app, argc, argv);

  caf::actor_system_config config;
  caf::actor_system sys{config};
  auto buffer = std::make_shared<actors::WatchBuffer>();
  const caf::actor watch = sys.spawn(actors::watch_actor, buffer);
  buffer->set_notify([addr = watch.address()] {
    if (auto to = caf::actor_cast<caf::actor>(addr)) caf::anon_send(to, actors::watch_epoch_atom::value);
  });
  buffer->restored(0);
  auto tally = std::make_shared<Tally>();
  std::vector<caf::actor> subs;
  for (std::uint64_t i = 0; i < subscribers; ++i) subs.push_back(sys.spawn(subscriber, watch, tally));

  std::vector<double> ms;
  for (std::uint64_t e = 1; e <= warmup + epochs; ++e) {
    // One committed epoch changing the watched field and nine others, as the driver adds it.
    std::vector<codec::FieldChange> changes;
    for (std::uint64_t r = 1; r <= 10; ++r) {
      changes.push_back(codec::FieldChange{r, "Order", "total", Value(static_cast<std::int64_t>(e)), e});
    }
    const auto start = std::chrono::steady_clock::now();
    buffer->ran(e, true, changes);
    tally->wait_for(e * subscribers);
    const auto end = std::chrono::steady_clock::now();
    if (e > warmup) ms.push_back(std::chrono::duration<double, std::milli>(end - start).count());
  }
  for (const caf::actor& s : subs) caf::anon_send_exit(s, caf::exit_reason::user_shutdown);
  caf::anon_send_exit(watch, caf::exit_reason::user_shutdown);

  nlohmann::ordered_json out;
  out["subscribers"] = subscribers;
  out["epochs"] = epochs;
  out["fanout_ms_p50"] = percentile(ms, 0.50);
  out["fanout_ms_p99"] = percentile(ms, 0.99);
  out["fanout_ms_max"] = *std::max_element(ms.begin(), ms.end());
  out["us_per_subscriber_p50"] = percentile(ms, 0.50) * 1000.0 / static_cast<double>(subscribers);
  std::printf("%s\n", out.dump().c_str());
  return 0;
}
