// mgraph_latency_bench: the round-trip latency of single transactions through the client
// protocol of a running cluster serving examples/shop.mgs (cluster-configs/local-3.toml;
// bench/cluster/latency_bench.sh starts one and runs this against it).
//
//   mgraph_latency_bench --connect 127.0.0.1:PORT [--transactions 2000] [--warmup 100] [--json]
//
// It connects like `mgraph eval --connect` (codec::ClientConnection, one connection, one
// transaction in flight), creates one customer with two orders of one item each, then
// times --warmup + --transactions transactions, each the two lines
//   update i1 price=P      (P changes every time: the item's line, its order's subtotal and
//   commit                  total, the customer's spent and both orders' share recompute)
// sent as one batch, from before the update line is classified to after the commit's
// result is decoded. The warm-up transactions are not counted. It prints the count, p50,
// p90, p99, max and mean in microseconds and the transactions per second (one line of
// text, or of JSON with --json). Transactions go back to back (each sent as the one before
// is answered); --pause-us N waits N µs before each, so that each finds the cluster idle.
//
// With --effect it times trigger→consumer instead: each round raises the customer's `vip`
// effect (update i1 price=200; commit: spent passes 100), then polls `Customer.vip` on the
// same connection, without pausing, until the delivery comes, acknowledges it, and lowers
// the condition again (update i1 price=1; commit), untimed. The time counted is from before
// the raising transaction to the delivery in hand: the commit, the delivery's wait for its
// epoch to be committed (and durable with --data), and the poll.
//
// With --chain D it times a write whose effects cross D partitions one after another, on a
// cluster serving bench/cluster/chain.mgs (`v = prev.v + x + 1` down a chain of cells):
// it creates 64 cells (ids 1..64 on a fresh cluster, checked), picks D + 1 of them so that
// each lies on another partition than the one before (Placement::partition_of over
// --partitions, the cluster's count), links them into a chain and times
//   update #FIRST x=P; commit
// whose change runs down every link. At the end it reads the last cell's v and checks it
// against the chain's arithmetic.
//
// Exit codes: 0 measured, 1 a line of the setup or of a transaction failed (is the cluster
// serving examples/shop.mgs, or chain.mgs for --chain?), 2 bad arguments, 3 the cluster
// could not be reached or the connection failed, 4 the chain's last value is wrong.

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <charconv>
#include <chrono>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <iostream>
#include <memory>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "latency_stats.hpp"
#include "command_line.hpp"
#include "mgraph/codec/client_rpc.hpp"
#include "mgraph/graph/schema/store.hpp"
#include "mgraph/session/client.hpp"

namespace {

using Clock = std::chrono::steady_clock;

/// The records every transaction works on: a customer, two orders, an item in each.
constexpr const char* kSetup[] = {
    "create Customer c name=\"latency\"",
    "create Order o1",
    "create Order o2",
    "create Item i1 price=1",
    "create Item i2 price=2",
    "link c.orders o1",
    "link c.orders o2",
    "link o1.items i1",
    "link o2.items i2",
    "commit",
};

struct Args {
  std::string connect;
  std::uint64_t transactions = 2000;
  std::uint64_t warmup = 100;
  std::int64_t timeout_ms = 5000;
  bool json = false;
  bool effect = false;
  std::uint32_t chain = 0;       ///< --chain D: partitions crossed one after another (0: shop)
  std::uint32_t partitions = 4;  ///< the cluster's partition count, for --chain
  std::uint64_t pause_us = 0;    ///< --pause-us: wait before each transaction (0: back to back)
};

/// Cells --chain creates to choose its chain from: enough that D + 1 of them alternate
/// partitions for any D up to kChainMax on 2 or more partitions.
constexpr std::uint64_t kChainCells = 64;
constexpr std::uint32_t kChainMax = 32;

/// The ids of the chain's cells (1..kChainCells), each on another partition than the one
/// before, or empty when the cells do not allow it.
std::vector<std::uint64_t> pick_chain(std::uint32_t depth, std::uint32_t partitions) {
  std::vector<std::uint64_t> chain{1};
  std::vector<bool> used(kChainCells + 1, false);
  used[1] = true;
  while (chain.size() < depth + 1) {
    const std::uint32_t last = mgraph::schema::Placement::partition_of(chain.back(), partitions);
    std::uint64_t next = 0;
    for (std::uint64_t id = 2; id <= kChainCells && next == 0; ++id) {
      if (!used[id] && mgraph::schema::Placement::partition_of(id, partitions) != last) next = id;
    }
    if (next == 0) return {};
    used[next] = true;
    chain.push_back(next);
  }
  return chain;
}

/// Polls one effect's deliveries without pausing, until one comes: the key, or why not. At
/// most kPollsMax polls (far beyond a delivery's wait on a live cluster).
constexpr std::uint64_t kPollsMax = 1'000'000;
mgraph::Result<std::pair<std::uint64_t, std::uint64_t>> await_delivery(mgraph::codec::ClientConnection& c,
                                                                      const std::string& effect) {
  for (std::uint64_t k = 0; k < kPollsMax; ++k) {
    auto got = c.poll_effects({effect}, 1);
    if (!got.is_ok()) return got.status();
    if (got->empty()) continue;
    const nlohmann::json d = nlohmann::json::parse(got->front(), nullptr, false);
    if (d.is_discarded() || !d.contains("key")) {
      return mgraph::Status(mgraph::StatusCode::corruption, "not a delivery: " + got->front());
    }
    return std::pair{d["key"]["field"].get<std::uint64_t>(), d["key"]["version"].get<std::uint64_t>()};
  }
  return mgraph::Status(mgraph::StatusCode::io_error,
                        "no delivery of " + effect + " in " + std::to_string(kPollsMax) + " polls");
}

int fail(int code, const std::string& message) {
  std::cerr << "mgraph_latency_bench: " << message << "\n";
  return code;
}

/// Runs one script line; what went wrong, or an empty string. A failed line prints an error
/// object, which is quoted.
std::string run(mgraph::session::ScriptClient& client, std::string_view line, std::size_t line_no) {
  std::string printed;
  const std::size_t failures = client.run_line(line, line_no, &printed);
  if (!client.failure().is_ok()) return client.failure().message();
  if (failures != 0) return std::string("line '") + std::string(line) + "' failed: " + printed;
  return {};
}

int measure(const Args& args) {
  std::string host;
  std::uint16_t port = 0;
  if (!mgraph::node::split_address(args.connect, &host, &port))
    return fail(2, "--connect " + args.connect + ": expected HOST:PORT with a port in 1..65535");
  auto connection = mgraph::codec::ClientConnection::connect(
      host, port, std::chrono::milliseconds(args.timeout_ms));
  if (!connection.is_ok()) {
    return fail(3, "cannot reach the cluster at " + args.connect + ": " +
                       connection.status().message());
  }
  mgraph::codec::RemoteBackend backend(**connection);
  mgraph::session::ScriptClient client(backend, {.batch_transactions = true, .print = {}});
  std::size_t line_no = 0;
  std::vector<std::string> setup(std::begin(kSetup), std::end(kSetup));
  std::vector<std::uint64_t> chain;
  if (args.chain != 0) {
    chain = pick_chain(args.chain, args.partitions);
    if (chain.empty()) {
      return fail(2, "--chain " + std::to_string(args.chain) + ": " + std::to_string(kChainCells) +
                         " cells on " + std::to_string(args.partitions) +
                         " partitions give no such chain (it needs 2 partitions or more)");
    }
    setup.clear();
    for (std::uint64_t k = 0; k < kChainCells; ++k) setup.push_back("create Cell c" + std::to_string(k));
    setup.emplace_back("commit");
    for (std::size_t k = 1; k < chain.size(); ++k) {
      setup.push_back("link #" + std::to_string(chain[k]) + ".prev #" + std::to_string(chain[k - 1]));
    }
    setup.emplace_back("commit");
  }
  const char* needs = args.chain != 0 ? "bench/cluster/chain.mgs" : "examples/shop.mgs";
  for (const std::string& line : setup) {
    if (std::string why = run(client, line, ++line_no); !why.empty()) {
      return fail(client.failure().is_ok() ? 1 : 3,
                  "setup: " + why + " (the benchmark needs a fresh cluster serving " + needs + ")");
    }
    if (args.chain != 0 && line == "commit" && line_no == kChainCells + 1) {
      // The cells must be #1..#64, or the chain would not cross what it was picked to.
      std::string printed;
      const std::string last = "explain c" + std::to_string(kChainCells - 1) + ".x";
      client.run_line(last, ++line_no, &printed);
      const std::string want = "\"Cell#" + std::to_string(kChainCells) + ".x\"";
      if (printed.find(want) == std::string::npos) {
        return fail(1, "setup: the cells are not #1..#" + std::to_string(kChainCells) +
                           " (is the cluster fresh?): " + printed);
      }
    }
  }
  std::vector<double> us;
  us.reserve(args.transactions);
  const std::uint64_t total = args.warmup + args.transactions;
  const Clock::time_point start_all = Clock::now();
  Clock::time_point start_counted = start_all;
  for (std::uint64_t k = 0; k < total; ++k) {
    if (args.pause_us != 0) std::this_thread::sleep_for(std::chrono::microseconds(args.pause_us));
    if (k == args.warmup) start_counted = Clock::now();
    if (args.effect) {
      const Clock::time_point t0 = Clock::now();
      std::string why = run(client, "update i1 price=200", ++line_no);
      if (why.empty()) why = run(client, "commit", ++line_no);
      if (!why.empty()) return fail(client.failure().is_ok() ? 1 : 3, "round " + std::to_string(k + 1) + ": " + why);
      auto key = await_delivery(**connection, "Customer.vip");
      const Clock::time_point t1 = Clock::now();
      if (!key.is_ok()) return fail(3, "round " + std::to_string(k + 1) + ": " + key.status().message());
      auto outcome = (*connection)->ack_effect(key->first, key->second);
      if (!outcome.is_ok() || *outcome != "acked") {
        return fail(3, "round " + std::to_string(k + 1) + ": ack: " +
                           (outcome.is_ok() ? *outcome : outcome.status().message()));
      }
      why = run(client, "update i1 price=1", ++line_no);
      if (why.empty()) why = run(client, "commit", ++line_no);
      if (!why.empty()) return fail(client.failure().is_ok() ? 1 : 3, "round " + std::to_string(k + 1) + ": " + why);
      if (k >= args.warmup) us.push_back(std::chrono::duration<double, std::micro>(t1 - t0).count());
      continue;
    }
    // 1..40, never the value before: every transaction changes the documents.
    const std::string value = std::to_string(1 + k % 40);
    const std::string update = args.chain != 0 ? "update #" + std::to_string(chain.front()) + " x=" + value
                                               : "update i1 price=" + value;
    const Clock::time_point t0 = Clock::now();
    std::string why = run(client, update, ++line_no);
    if (why.empty()) why = run(client, "commit", ++line_no);
    const Clock::time_point t1 = Clock::now();
    if (!why.empty()) {
      return fail(client.failure().is_ok() ? 1 : 3,
                  "transaction " + std::to_string(k + 1) + ": " + why);
    }
    if (k >= args.warmup) us.push_back(std::chrono::duration<double, std::micro>(t1 - t0).count());
  }
  const double seconds = std::chrono::duration<double>(Clock::now() - start_counted).count();
  if (args.chain != 0) {
    // v = prev.v + x + 1 and only the first cell's x is set: the last v is x + D + 1.
    const double want = static_cast<double>(1 + (total - 1) % 40) + static_cast<double>(chain.size());
    std::string printed;
    client.run_line("get #" + std::to_string(chain.back()) + ".v", ++line_no, &printed);
    const nlohmann::json got = nlohmann::json::parse(printed, nullptr, false);
    if (got.is_discarded() || !got.contains("value") || !got["value"].is_number() ||
        got["value"].get<double>() != want) {
      return fail(4, "the chain's last cell: expected v = " + std::to_string(want) + ", got " + printed);
    }
  }
  const mgraph::bench::LatencySummary s = mgraph::bench::summarize(std::move(us));
  const double per_second = seconds > 0 ? static_cast<double>(s.count) / seconds : 0.0;
  if (args.json) {
    nlohmann::ordered_json j{{"connect", args.connect},
                             {"transaction", args.effect  ? "trigger Customer.vip -> delivery polled"
                                             : args.chain != 0 ? "update #FIRST x=P; commit (a chain)"
                                                               : "update i1 price=P; commit"},
                             {"warmup", args.warmup}};
    if (args.chain != 0) {
      j["chain"] = args.chain;
      j["partitions"] = args.partitions;
    }
    mgraph::bench::add_to(j, s);
    j["transactions_per_second"] = per_second;
    std::cout << j.dump() << std::endl;
    return 0;
  }
  std::printf("mgraph_latency_bench: %zu %s through %s after %llu "
              "warm-up: p50 %.0f us, p90 %.0f us, p99 %.0f us, max %.0f us, mean %.0f us; "
              "%.0f %s/s\n",
              s.count,
              args.effect       ? "effect deliveries (trigger -> consumer)"
              : args.chain != 0 ? ("transactions (update + commit) down a chain across " +
                                   std::to_string(args.chain) + " partitions")
                                      .c_str()
                                : "transactions (update + commit)",
              args.connect.c_str(), static_cast<unsigned long long>(args.warmup), s.p50_us, s.p90_us,
              s.p99_us, s.max_us, s.mean_us, per_second, args.effect ? "rounds" : "transactions");
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  std::signal(SIGPIPE, SIG_IGN);
  CLI::App app{
      "mgraph_latency_bench: round-trip latency of single transactions (update + commit) "
      "through a cluster's client port; the cluster must serve examples/shop.mgs "
      "(cluster-configs/local-3.toml)"};
  Args args;
  app.add_option("--connect", args.connect, "HOST:PORT of a node's client port")->required();
  app.add_option("--transactions", args.transactions, "Transactions timed (default 2000)")
      ->check(CLI::Range(std::uint64_t{1}, std::uint64_t{100'000'000}));
  app.add_option("--warmup", args.warmup, "Transactions run first and not timed (default 100)")
      ->check(CLI::Range(std::uint64_t{0}, std::uint64_t{100'000'000}));
  app.add_option("--timeout-ms", args.timeout_ms,
                 "Bound on connecting and on each transaction, ms (default 5000)")
      ->check(CLI::Range(std::int64_t{1}, std::int64_t{3'600'000}));
  app.add_flag("--json", args.json, "Print one line of JSON instead of text");
  app.add_flag("--effect", args.effect,
               "Time trigger -> consumer of the Customer.vip effect instead (each round raises it, "
               "polls until its delivery comes, acks it and lowers it)");
  app.add_option("--chain", args.chain,
                 "Time a write whose effects cross D partitions one after another instead (the "
                 "cluster must serve bench/cluster/chain.mgs and be fresh)")
      ->check(CLI::Range(std::uint32_t{1}, kChainMax))
      ->excludes("--effect");
  app.add_option("--partitions", args.partitions,
                 "The cluster's partition count, to place the chain (default 4)")
      ->check(CLI::Range(std::uint32_t{2}, std::uint32_t{1024}));
  app.add_option("--pause-us", args.pause_us,
                 "Wait this long before each transaction, so that each finds the cluster idle "
                 "(default 0: back to back, each sent as the one before is answered)")
      ->check(CLI::Range(std::uint64_t{0}, std::uint64_t{1'000'000}));
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return mgraph::node::usage_exit(app, e);
  }
  return measure(args);
}
