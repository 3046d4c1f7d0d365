#include "bench_command.hpp"

#include <unistd.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <iostream>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "client_login.hpp"
#include "command_line.hpp"
#include "latency_stats.hpp"
#include "mgraph/codec/client_rpc.hpp"
#include "mgraph/graph/prng.hpp"
#include "mgraph/graph/schema/parser.hpp"
#include "mgraph/graph/schema/schema.hpp"
#include "mgraph/session/client.hpp"

namespace mgraph::node {
namespace {

using Clock = std::chrono::steady_clock;

/// A field a transaction may write: a state field or a cycle-group member, of a type a
/// script literal can give.
struct Writable {
  std::uint32_t entity;
  std::string field;
  schema::Type type;
};

/// What the workload draws from: the schema's writable fields and the links its
/// relations allow, each record named by an alias of its client.
class Workload {
 public:
  Workload(const schema::Schema& schema, const BenchOptions& options)
      : schema_(schema), options_(options) {
    for (std::uint32_t e = 0; e < schema.entities.size(); ++e) {
      for (const schema::FieldDef& f : schema.entities[e].fields) {
        const bool input = f.kind == schema::FieldKind::state || f.kind == schema::FieldKind::member;
        if (input && f.type != schema::Type::tensor && f.type != schema::Type::null)
          writable_.push_back(Writable{e, f.name, f.type});
      }
    }
  }

  bool empty() const { return writable_.empty(); }

  static std::string alias(std::uint32_t client, std::uint32_t entity, std::uint32_t k) {
    return std::string("c") + std::to_string(client) + "e" + std::to_string(entity) + "r" + std::to_string(k);
  }

  /// The client's records, one transaction: every entity's records.
  std::vector<std::string> creates(std::uint32_t client) const {
    std::vector<std::string> lines;
    for (std::uint32_t e = 0; e < schema_.entities.size(); ++e) {
      for (std::uint32_t k = 0; k < options_.records; ++k)
        lines.push_back(std::string("create ") + schema_.entities[e].name + " " + alias(client, e, k));
    }
    lines.push_back("commit");
    return lines;
  }

  /// Links between the client's records, each a transaction of its own (one that closes a
  /// cycle is refused alone): every record's one-relations, and one member of each n:n.
  std::vector<std::vector<std::string>> links(std::uint32_t client, Prng& rng) const {
    std::vector<std::vector<std::string>> out;
    for (std::uint32_t e = 0; e < schema_.entities.size(); ++e) {
      for (const schema::RelationDef& r : schema_.entities[e].relations) {
        const bool n_to_n = r.many && schema_.entities[r.target].relations[r.inverse].many;
        if (r.many && !(n_to_n && e <= r.target)) continue;  // an n:n once, from one side
        for (std::uint32_t k = 0; k < options_.records; ++k) {
          const auto other = static_cast<std::uint32_t>(rng.below(options_.records));
          out.push_back({std::string("link ") + alias(client, e, k) + "." + r.name + " " +
                             alias(client, r.target, other),
                         "commit"});
        }
      }
    }
    return out;
  }

  /// One transaction: `writes` random fields of the client's records, then commit.
  std::vector<std::string> transaction(std::uint32_t client, Prng& rng) const {
    std::vector<std::string> lines;
    for (std::uint32_t w = 0; w < options_.writes; ++w) {
      const Writable& f = writable_[rng.below(writable_.size())];
      const auto k = static_cast<std::uint32_t>(rng.below(options_.records));
      lines.push_back(std::string("update ") + alias(client, f.entity, k) + " " + f.field + "=" + value(f.type, rng));
    }
    lines.push_back("commit");
    return lines;
  }

 private:
  static std::string value(schema::Type type, Prng& rng) {
    switch (type) {
      case schema::Type::boolean:
        return rng.below(2) ? "true" : "false";
      case schema::Type::integer:
        return std::to_string(rng.below(100));
      case schema::Type::real:
        return std::to_string(rng.below(1000)) + std::string(".5");
      default:
        return std::string("\"s") + std::to_string(rng.below(100)) + "\"";
    }
  }

  const schema::Schema& schema_;
  const BenchOptions& options_;
  std::vector<Writable> writable_;
};

/// What one client measured.
struct ClientRun {
  std::vector<double> us;      ///< timed transactions' latencies
  std::uint64_t failed = 0;    ///< transactions with a failed line (a formula error, ...)
  std::uint64_t links_refused = 0;
  Status failure;              ///< the connection or the setup failed: the run stops
};

/// Lines of one transaction; how many failed, or the connection's failure.
Result<std::size_t> run_transaction(session::ScriptClient& client, const std::vector<std::string>& lines,
                                    std::size_t* line_no) {
  std::size_t failures = 0;
  std::string printed;
  for (const std::string& line : lines) {
    failures += client.run_line(line, ++*line_no, &printed);
    if (!client.failure().is_ok()) return client.failure();
  }
  return failures;
}

class Bench {
 public:
  Bench(const BenchOptions& options, std::string host, std::uint16_t port)
      : options_(options), host_(std::move(host)), port_(port) {}

  int run(std::ostream& out, std::ostream& err) {
    const std::chrono::milliseconds timeout(options_.timeout_ms);
    auto first = codec::ClientConnection::connect(host_, port_, timeout, options_.token);
    if (!first.is_ok()) {
      if (refused(first.status())) return refuse(first.status(), err);
      err << "mgraph bench: cannot reach the cluster at " << options_.connect << ": "
          << first.status().message() << "\n";
      return 3;
    }
    Result<codec::SchemaInfo> info = (*first)->schema();
    if (!info.is_ok()) {
      if (refused(info.status())) return refuse(info.status(), err);
      err << "mgraph bench: " << options_.connect << ": cannot read the schema: "
          << info.status().message() << "\n";
      return 3;
    }
    // A load writes: refused now, not by every client's first transaction.
    if ((*first)->role() == session::Role::read) {
      return refuse(Status(StatusCode::permission_denied,
                           "role read cannot write; mgraph bench needs a write token"),
                    err);
    }
    auto compiled = schema::compile_schema(schema::SourceFile{info->name, info->source});
    if (!compiled.is_ok()) {
      err << "mgraph bench: the cluster's schema " << info->name
          << " does not compile here: " << compiled.status().message() << "\n";
      return 1;
    }
    const Workload workload(**compiled, options_);
    if (workload.empty()) {
      err << "mgraph bench: " << info->name << " has no state field a transaction could write\n";
      return 1;
    }
    first->reset();
    runs_.resize(options_.clients);
    std::vector<std::thread> threads;
    const Clock::time_point start = Clock::now();
    for (std::uint32_t c = 0; c < options_.clients; ++c)
      threads.emplace_back([this, &workload, c, timeout] { client(workload, c, timeout); });
    report_progress(err, start);
    for (std::thread& t : threads) t.join();
    const double seconds = timed_start_ == Clock::time_point{}
                               ? 0.0
                               : std::chrono::duration<double>(timed_end_ - timed_start_).count();
    return summarize(info->name, seconds, out, err);
  }

 private:
  int refuse(const Status& why, std::ostream& err) const {
    err << "mgraph bench: " << options_.connect << ": "
        << client_failure(why, !options_.token.empty()) << "\n";
    return kExitRefused;
  }

  void client(const Workload& workload, std::uint32_t c, std::chrono::milliseconds timeout) {
    ClientRun& run = runs_[c];
    auto done = [this] {
      std::lock_guard lock(mutex_);
      ++finished_;
      changed_.notify_all();
    };
    auto connection = codec::ClientConnection::connect(host_, port_, timeout, options_.token);
    if (!connection.is_ok()) {
      run.failure = connection.status();
      done();
      return;
    }
    codec::RemoteBackend backend(**connection);
    session::ScriptClient script(backend, {.batch_transactions = true, .print = {}});
    Prng rng(options_.seed * 0x9e3779b97f4a7c15ull + c);
    std::size_t line_no = 0;
    Result<std::size_t> created = run_transaction(script, workload.creates(c), &line_no);
    if (!created.is_ok() || *created != 0) {
      run.failure = created.is_ok() ? Status(StatusCode::failed_precondition,
                                             std::string("client ") + std::to_string(c) + ": creating its records failed")
                                    : created.status();
      done();
      return;
    }
    for (const std::vector<std::string>& link : workload.links(c, rng)) {
      Result<std::size_t> r = run_transaction(script, link, &line_no);
      if (!r.is_ok()) {
        run.failure = r.status();
        done();
        return;
      }
      if (*r != 0) ++run.links_refused;
    }
    run.us.reserve(options_.transactions);
    const std::uint64_t total = options_.warmup + options_.transactions;
    for (std::uint64_t k = 0; k < total; ++k) {
      if (k == options_.warmup) mark_timed_start();
      const std::vector<std::string> lines = workload.transaction(c, rng);
      const Clock::time_point t0 = Clock::now();
      Result<std::size_t> r = run_transaction(script, lines, &line_no);
      const Clock::time_point t1 = Clock::now();
      if (!r.is_ok()) {
        run.failure = r.status();
        break;
      }
      if (*r != 0) ++run.failed;
      if (k >= options_.warmup) {
        run.us.push_back(std::chrono::duration<double, std::micro>(t1 - t0).count());
        completed_.fetch_add(1, std::memory_order_relaxed);
      }
    }
    {
      std::lock_guard lock(mutex_);
      timed_end_ = std::max(timed_end_, Clock::now());
    }
    done();
  }

  void mark_timed_start() {
    std::lock_guard lock(mutex_);
    // The first client to finish its warm-up starts the clock.
    if (timed_start_ == Clock::time_point{}) timed_start_ = Clock::now();
  }

  /// Waits for every client, printing a progress line each second when asked to.
  void report_progress(std::ostream& err, Clock::time_point start) {
    const std::uint64_t want = std::uint64_t{options_.clients} * options_.transactions;
    std::unique_lock lock(mutex_);
    Clock::time_point next = start + std::chrono::seconds(1);
    while (finished_ < options_.clients) {
      changed_.wait_until(lock, next);
      if (Clock::now() < next) continue;  // a client finished
      next += std::chrono::seconds(1);
      if (!options_.progress || finished_ == options_.clients) continue;
      const double s = std::chrono::duration<double>(Clock::now() - start).count();
      const std::uint64_t n = completed_.load(std::memory_order_relaxed);
      err << "mgraph bench: " << n << "/" << want << " transactions after " << static_cast<int>(s)
          << " s (" << static_cast<std::uint64_t>(s > 0 ? static_cast<double>(n) / s : 0)
          << "/s)\n"
          << std::flush;
    }
  }

  int summarize(const std::string& schema_name, double seconds, std::ostream& out, std::ostream& err) {
    std::vector<double> all;
    std::uint64_t failed = 0, refused = 0;
    int code = 0;
    for (std::uint32_t c = 0; c < runs_.size(); ++c) {
      ClientRun& r = runs_[c];
      all.insert(all.end(), r.us.begin(), r.us.end());
      failed += r.failed;
      refused += r.links_refused;
      if (!r.failure.is_ok()) {
        err << "mgraph bench: client " << c << ": "
            << client_failure(r.failure, !options_.token.empty()) << "\n";
        code = r.failure.code() == StatusCode::failed_precondition ? 1
               : node::refused(r.failure)                         ? kExitRefused
                                                                  : 3;
      }
    }
    const bench::LatencySummary s = bench::summarize(std::move(all));
    const double tps = seconds > 0 ? static_cast<double>(s.count) / seconds : 0.0;
    if (options_.json) {
      nlohmann::ordered_json j{{"connect", options_.connect},
                               {"schema", schema_name},
                               {"clients", options_.clients},
                               {"writes_per_transaction", options_.writes},
                               {"records_per_entity", options_.records},
                               {"failed", failed},
                               {"links_refused", refused},
                               {"seconds", seconds}};
      bench::add_to(j, s);
      j["transactions_per_second"] = tps;
      j["field_writes_per_second"] = tps * options_.writes;
      out << j.dump() << std::endl;
    } else {
      char line[512];
      std::snprintf(line, sizeof line,
                    "mgraph bench: %zu transactions (%u clients, %u writes each) on %s in %.2f s: "
                    "%.0f transactions/s, %.0f field writes/s; latency p50 %.0f us, p95 %.0f us, "
                    "p99 %.0f us, max %.0f us; %llu failed\n",
                    s.count, options_.clients, options_.writes, schema_name.c_str(), seconds, tps,
                    tps * options_.writes, s.p50_us, s.p95_us, s.p99_us, s.max_us,
                    static_cast<unsigned long long>(failed));
      out << line << std::flush;
    }
    return code;
  }

  const BenchOptions& options_;
  const std::string host_;
  const std::uint16_t port_;
  std::vector<ClientRun> runs_;
  std::atomic<std::uint64_t> completed_{0};
  std::mutex mutex_;
  std::condition_variable changed_;
  std::uint32_t finished_ = 0;
  Clock::time_point timed_start_{}, timed_end_{};
};

}  // namespace

int run_bench(const BenchOptions& options, std::ostream& out, std::ostream& err) {
  std::string host;
  std::uint16_t port = 0;
  if (Status s = check_token(options.token); !s.is_ok()) {
    err << "mgraph bench: " << s.message() << "\n";
    return 2;
  }
  if (!split_address(options.connect, &host, &port)) {
    err << "mgraph bench: --connect " << options.connect
        << ": expected HOST:PORT with a port in 1..65535\n";
    return 2;
  }
  return Bench(options, std::move(host), port).run(out, err);
}

}  // namespace mgraph::node
