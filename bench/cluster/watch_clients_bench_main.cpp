// mgraph_watch_clients_bench: one epoch's fan-out to many subscribers of one field through
// the client protocol of a running cluster serving examples/shop.mgs (docs/CLUSTER.md,
// "Subscriptions"; bench/cluster/watch_clients_bench.sh starts one and runs this against it).
//
//   mgraph_watch_clients_bench --connect 127.0.0.1:PORT [--subscribers 1000] [--epochs 100]
//                              [--warmup 10]
//
// A writer connection creates an order with one item (create Order o; create Item i
// price=1; link o.items i; commit). Then --subscribers connections, each on a thread of its
// own (a codec::ClientConnection is used on the thread that made it), long-poll
// watch(Order#ID.total) as `mgraph watch` does, each again as soon as it has an answer. The
// writer commits --warmup + --epochs transactions `update i price=P; commit`, one after
// another, each once every subscriber has received the epoch of the one before: every
// epoch changes the watched field once. For each epoch it takes the time from the
// writer's commit answer to the last subscriber's receipt (fanout_ms: the coordinator's
// watch actor, the node's gateway, the client protocol and the subscribers' threads; it
// may be below 0 when every subscriber had the epoch before the writer had its answer), and
// from before the writer's update to that receipt (write_to_last_ms: the commit too). It
// prints their p50, p99 and max as one line of JSON, as mgraph_watch_bench does.
//
// All the connections go to the one node named: it must serve that many at once
// ([cluster] client_connections_max). This process needs a few descriptors per subscriber
// and raises its soft limit when it is too low.
//
// Exit codes: 0 measured, 1 a line of the setup or a write failed (is the cluster fresh and
// serving examples/shop.mgs?), 2 bad arguments or too few descriptors, 3 a connection or a
// poll failed (does the node serve that many connections?), 4 a subscriber did not receive
// every epoch.

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <iostream>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "command_line.hpp"
#include "descriptor_limit.hpp"
#include "latency_stats.hpp"
#include "mgraph/codec/client_rpc.hpp"
#include "mgraph/session/client.hpp"

namespace {

using Clock = std::chrono::steady_clock;
using mgraph::codec::ClientConnection;

/// The records the writer works on: an order whose total is its one item's price.
constexpr const char* kSetup[] = {
    "create Order o", "create Item i price=1", "link o.items i", "commit",
};

/// Each poll waits this long for an epoch (actors::kWatchWaitMax, what `mgraph watch`
/// asks); a connection's deadline is this plus --timeout-ms.
constexpr std::uint32_t kWaitMs = 10'000;
/// Epochs one poll may answer: a subscriber is never more than one behind.
constexpr std::uint32_t kEpochsPerPoll = 64;
/// Polls a subscriber may get with no epoch (each after kWaitMs) before it gives up: the
/// writer waits --timeout-ms at most for an epoch to reach every subscriber, so far more
/// than a run needs.
constexpr std::uint64_t kEmptyPollsMax = 100;
/// Descriptors of one subscriber: its socket and its thread's kj event loop hold 4 (2,000
/// subscribers: 8,009 open, measured), and one to spare.
constexpr std::uint64_t kDescriptorsPerSubscriber = 5;
/// Descriptors of this process besides the subscribers'.
constexpr std::uint64_t kDescriptorsBesides = 64;

struct Args {
  std::string connect;
  std::uint64_t subscribers = 1000;
  std::uint64_t epochs = 100;
  std::uint64_t warmup = 10;
  std::int64_t timeout_ms = 60'000;
};

/// What the subscribers report to the writer: how many are connected, epochs received
/// over all of them, the time of the latest receipt, and the first failure.
struct Tally {
  std::mutex mutex;
  std::condition_variable changed;
  std::uint64_t connected = 0;
  std::uint64_t received = 0;
  Clock::time_point last{};
  std::string failure;  ///< empty while every subscriber goes on
  int failure_code = 0;

  void connect() {
    {
      std::lock_guard<std::mutex> lock(mutex);
      ++connected;
    }
    changed.notify_all();
  }
  void receive(std::uint64_t epochs, Clock::time_point at) {
    {
      std::lock_guard<std::mutex> lock(mutex);
      received += epochs;
      last = std::max(last, at);
    }
    changed.notify_all();
  }
  void fail(int code, std::string why) {
    {
      std::lock_guard<std::mutex> lock(mutex);
      if (failure.empty()) {
        failure = std::move(why);
        failure_code = code;
      }
    }
    changed.notify_all();
  }
  bool failed() {
    std::lock_guard<std::mutex> lock(mutex);
    return !failure.empty();
  }
  /// The first failure's exit code and message, or (`code`, `why`) when none.
  std::pair<int, std::string> failure_or(int code, std::string why) {
    std::lock_guard<std::mutex> lock(mutex);
    if (failure.empty()) return {code, std::move(why)};
    return {failure_code, failure};
  }
  /// Waits until `done` holds or a subscriber failed, at most `timeout`: whether `done`
  /// holds.
  template <typename Done>
  bool wait(std::chrono::milliseconds timeout, Done done) {
    std::unique_lock<std::mutex> lock(mutex);
    return changed.wait_for(lock, timeout, [&] { return done() || !failure.empty(); }) && failure.empty();
  }
};

/// One subscriber: connects, then polls from `from` until it has `epochs` epochs (or another
/// failed). Its cursor at the end goes to `*through`.
void subscribe(std::size_t index, const std::string& host, std::uint16_t port, const Args& args,
               const std::vector<std::string>& targets, std::uint64_t from, std::uint64_t epochs,
               Tally& tally, std::uint64_t* through) {
  const std::string who = "subscriber " + std::to_string(index + 1);
  auto connection = ClientConnection::connect(host, port, std::chrono::milliseconds(args.timeout_ms + kWaitMs));
  if (!connection.is_ok()) return tally.fail(3, who + ": connect: " + connection.status().message());
  tally.connect();
  std::uint64_t got = 0;
  std::uint64_t empty = 0;
  while (got < epochs && !tally.failed()) {
    auto answer = (*connection)->watch(targets, from, kEpochsPerPoll, kWaitMs);
    const Clock::time_point at = Clock::now();
    if (!answer.is_ok()) return tally.fail(3, who + ": poll from epoch " + std::to_string(from) + ": " + answer.status().message());
    if (answer->resume) {
      return tally.fail(4, who + ": the coordinator no longer holds the epochs after " + std::to_string(from));
    }
    if (answer->epochs.empty()) {
      if (++empty > kEmptyPollsMax) return tally.fail(4, who + ": no epoch in " + std::to_string(kEmptyPollsMax) + " polls");
    } else {
      got += answer->epochs.size();
      tally.receive(answer->epochs.size(), at);
    }
    from = std::max(from, answer->through);
  }
  *through = from;
}

int fail(int code, const std::string& message) {
  std::cerr << "mgraph_watch_clients_bench: " << message << "\n";
  return code;
}

/// Runs one script line; what went wrong, or an empty string.
std::string run(mgraph::session::ScriptClient& client, std::string_view line, std::size_t line_no) {
  std::string printed;
  const std::size_t failures = client.run_line(line, line_no, &printed);
  if (!client.failure().is_ok()) return client.failure().message();
  if (failures != 0) return std::string("line '") + std::string(line) + "' failed: " + printed;
  return {};
}

/// The order's total read with the epoch it follows (what `mgraph watch` starts from).
mgraph::Result<mgraph::codec::WatchValues> read_total(ClientConnection& c, mgraph::session::RecordId order) {
  mgraph::session::Op get;
  get.kind = mgraph::session::OpKind::get;
  get.refs.push_back(mgraph::session::RecordRef{order, {}, "#" + std::to_string(order)});
  get.name = "total";
  get.text = "Order#" + std::to_string(order) + ".total";
  auto values = c.watch_values({get}, {});
  if (values.is_ok() && (values->results.size() != 1 || !values->results[0].status.is_ok())) {
    return mgraph::Status(mgraph::StatusCode::corruption,
                          "no value of " + get.text +
                              (values->results.empty() ? std::string() : ": " + values->results[0].status.message()));
  }
  return values;
}

double ms(Clock::duration d) { return std::chrono::duration<double, std::milli>(d).count(); }

/// Adds p50, p99 and max of `ms` (milliseconds) as NAME_p50 ... to `out`.
void add_summary(nlohmann::ordered_json& out, const std::string& name, std::vector<double> ms) {
  // summarize() takes any unit: the figures come back in the one given.
  const mgraph::bench::LatencySummary s = mgraph::bench::summarize(std::move(ms));
  out[name + "_p50"] = s.p50_us;
  out[name + "_p99"] = s.p99_us;
  out[name + "_max"] = s.max_us;
}

int measure(const Args& args) {
  std::string host;
  std::uint16_t port = 0;
  if (!mgraph::node::split_address(args.connect, &host, &port))
    return fail(2, "--connect " + args.connect + ": expected HOST:PORT with a port in 1..65535");
  auto descriptors = mgraph::node::ensure_descriptors(
      args.subscribers * kDescriptorsPerSubscriber + kDescriptorsBesides,
      "--subscribers " + std::to_string(args.subscribers));
  if (!descriptors.is_ok()) return fail(2, descriptors.status().message());

  const std::chrono::milliseconds timeout(args.timeout_ms);
  auto writer = ClientConnection::connect(host, port, timeout);
  if (!writer.is_ok()) return fail(3, "cannot reach the cluster at " + args.connect + ": " + writer.status().message());
  mgraph::codec::RemoteBackend backend(**writer);
  mgraph::session::ScriptClient client(backend, {.batch_transactions = true, .print = {}});
  std::size_t line_no = 0;
  for (const char* line : kSetup) {
    if (std::string why = run(client, line, ++line_no); !why.empty()) {
      return fail(client.failure().is_ok() ? 1 : 3,
                  "setup: " + why + " (the benchmark needs a cluster serving examples/shop.mgs)");
    }
  }
  auto order = client.record("o");
  if (!order.is_ok()) return fail(1, "setup: " + order.status().message());
  const std::vector<std::string> targets{"Order#" + std::to_string(*order) + ".total"};
  // The epoch the subscribers start after.
  auto now = read_total(**writer, *order);
  if (!now.is_ok()) return fail(3, "watch values of " + targets[0] + ": " + now.status().message());
  const std::uint64_t from = now->epoch;

  const std::uint64_t total = args.warmup + args.epochs;
  Tally tally;
  std::vector<std::uint64_t> through(args.subscribers, 0);
  std::vector<std::thread> threads;
  threads.reserve(args.subscribers);
  // Joined whatever way this returns: a failure stops every subscriber within one poll.
  struct Join {
    Tally& tally;
    std::vector<std::thread>& threads;
    ~Join() {
      tally.fail(4, "stopped");
      for (std::thread& t : threads) t.join();
    }
  } join{tally, threads};
  // One at a time, so that the node's accept backlog never overflows.
  for (std::size_t k = 0; k < args.subscribers; ++k) {
    threads.emplace_back(subscribe, k, host, port, std::cref(args), std::cref(targets), from, total,
                         std::ref(tally), &through[k]);
    if (!tally.wait(timeout, [&] { return tally.connected == k + 1; })) {
      const auto [code, why] =
          tally.failure_or(3, "subscriber " + std::to_string(k + 1) + " did not connect within --timeout-ms");
      return fail(code, why);
    }
  }

  std::vector<double> fanout;
  std::vector<double> write_to_last;
  std::vector<double> commit;
  for (std::uint64_t e = 1; e <= total; ++e) {
    // 2, 3, ...: never the price before, so every commit changes the order's total.
    const std::string update = "update i price=" + std::to_string(e + 1);
    const Clock::time_point t0 = Clock::now();
    std::string why = run(client, update, ++line_no);
    if (why.empty()) why = run(client, "commit", ++line_no);
    const Clock::time_point t1 = Clock::now();
    if (!why.empty()) return fail(client.failure().is_ok() ? 1 : 3, "write " + std::to_string(e) + ": " + why);
    if (!tally.wait(timeout, [&] { return tally.received >= e * args.subscribers; })) {
      const auto [code, why] = tally.failure_or(4, "not every subscriber had it after --timeout-ms");
      return fail(code, "epoch " + std::to_string(e) + ": " + why);
    }
    Clock::time_point last;
    {
      std::lock_guard<std::mutex> lock(tally.mutex);
      last = tally.last;
    }
    if (e > args.warmup) {
      fanout.push_back(ms(last - t1));
      write_to_last.push_back(ms(last - t0));
      commit.push_back(ms(t1 - t0));
    }
  }
  // Every subscriber ends on the last epoch, and the total is the last price written.
  auto end = read_total(**writer, *order);
  if (!end.is_ok()) return fail(3, "watch values of " + targets[0] + ": " + end.status().message());
  if (end->results[0].value.to_json() != mgraph::Value(static_cast<double>(total + 1)).to_json()) {
    return fail(4, targets[0] + " is " + end->results[0].value.to_json() + " after the last write of price=" +
                       std::to_string(total + 1));
  }
  for (std::thread& t : threads) t.join();
  threads.clear();
  for (std::size_t k = 0; k < through.size(); ++k) {
    if (through[k] != end->epoch) {
      return fail(4, "subscriber " + std::to_string(k + 1) + " ended at epoch " + std::to_string(through[k]) +
                         ", the last is " + std::to_string(end->epoch));
    }
  }

  nlohmann::ordered_json out;
  out["subscribers"] = args.subscribers;
  out["epochs"] = args.epochs;
  out["warmup"] = args.warmup;
  out["connect"] = args.connect;
  out["field"] = targets[0];
  add_summary(out, "fanout_ms", fanout);
  add_summary(out, "write_to_last_ms", write_to_last);
  add_summary(out, "commit_ms", commit);
  out["us_per_subscriber_p50"] = out["fanout_ms_p50"].get<double>() * 1000.0 / static_cast<double>(args.subscribers);
  std::printf("%s\n", out.dump().c_str());
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  std::signal(SIGPIPE, SIG_IGN);
  CLI::App app{
      "mgraph_watch_clients_bench: one epoch's fan-out to many subscribers of one field through a "
      "node's client port; the cluster must serve examples/shop.mgs (cluster-configs/local-3.toml)"};
  Args args;
  app.add_option("--connect", args.connect, "HOST:PORT of a node's client port")->required();
  app.add_option("--subscribers", args.subscribers, "Subscriber connections, a thread each (default 1000)")
      ->check(CLI::Range(std::uint64_t{1}, std::uint64_t{65'536}));
  app.add_option("--epochs", args.epochs, "Epochs timed (default 100)")
      ->check(CLI::Range(std::uint64_t{1}, std::uint64_t{1'000'000}));
  app.add_option("--warmup", args.warmup, "Epochs before the timed ones (default 10)")
      ->check(CLI::Range(std::uint64_t{0}, std::uint64_t{1'000'000}));
  app.add_option("--timeout-ms", args.timeout_ms,
                 "Bound on connecting, on each write and on each epoch's fan-out, ms (default 60000)")
      ->check(CLI::Range(std::int64_t{1}, std::int64_t{3'600'000}));
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return mgraph::node::usage_exit(app, e);
  }
  return measure(args);
}
