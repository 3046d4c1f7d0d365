#pragma once
// `mgraph bench --connect HOST:PORT`: the load tool. N clients, each on its own connection,
// run a workload over the schema the cluster serves: each makes its own records of every
// entity and links them along the schema's relations, then runs transactions that write
// random state fields and commit. It prints throughput and latency percentiles (text or
// JSON) and, on a terminal or with --progress, a progress line every second.

#include <cstdint>
#include <iosfwd>
#include <string>

namespace mgraph::node {

struct BenchOptions {
  std::string connect;                ///< HOST:PORT of a node's client port
  std::string token;                  ///< client token to log in with (empty: none)
  std::uint32_t clients = 4;          ///< concurrent clients, one connection each
  std::uint64_t transactions = 1000;  ///< timed transactions per client
  std::uint64_t warmup = 20;          ///< transactions per client run first, not timed
  std::uint32_t writes = 1;           ///< field writes per transaction
  std::uint32_t records = 4;          ///< records of each entity per client
  std::uint64_t seed = 1;             ///< the workload's random choices
  std::int64_t timeout_ms = 5000;     ///< bound on connecting and on each transaction
  bool json = false;
  bool progress = false;              ///< a progress line on `err` every second
};

/// Runs the load; the summary goes to `out`, progress and errors to `err`. Exit codes: 0
/// measured, 1 the schema has nothing to write or the setup failed, 2 bad arguments, 3 the
/// cluster could not be reached or a connection failed, 4 the node refused the token or the
/// role (a read token cannot write).
int run_bench(const BenchOptions& options, std::ostream& out, std::ostream& err);

}  // namespace mgraph::node
