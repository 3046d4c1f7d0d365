#pragma once
// `mgraph effects consume --connect HOST:PORT [--token T] EFFECT... [--manual-ack] [--max N]
// [--wait-ms MS] [--poll-ms MS]`: a consumer of a cluster's effect deliveries
// (docs/CLUSTER.md, "Effects"). It polls the client protocol for the named effects and
// prints each delivery as one JSON line,
//   {"key":{"field":F,"version":V},"epoch":E,"record":R,"effect":"…","value":…,"attempt":N}
// then acknowledges it (unless --manual-ack): all that one poll gave, in one call; the
// cluster runs each ack as a transaction, all in one epoch, and sends the delivery no more. A delivery not acknowledged comes again per the effect's
// @retry, with the same key and the next attempt number.

#include <chrono>
#include <cstdint>
#include <functional>
#include <iosfwd>
#include <string>
#include <vector>

namespace mgraph::node {

struct EffectsConsumeOptions {
  std::string connect;
  std::string token;
  std::vector<std::string> effects;  ///< "Entity.effect"
  /// The consumer group (Cluster.consumer); empty: the consumers of no group.
  std::string group;
  bool manual_ack = false;
  /// Stop after this many deliveries printed (0: never).
  std::uint64_t max = 0;
  /// Stop after this long with nothing delivered (0: never).
  std::int64_t wait_ms = 0;
  /// Pause between polls that found nothing.
  std::int64_t poll_ms = 100;
  std::int64_t timeout_ms = 5000;  ///< bound on connecting and on each call
  /// How long it keeps trying after a poll or an ack failed for want of the cluster (a node
  /// restarting) before exit code 4: it connects again (client_retry.hpp) and polls on;
  /// deliveries it printed whose ack was lost come again (0: it does not try again).
  std::int64_t retry_ms = 60'000;
  /// The seam tests control: waiting between polls and attempts (default: sleeping).
  std::function<void(std::chrono::milliseconds)> pause;
};

/// Exit codes: 0 done (--max reached, or --wait-ms passed idle), 2 bad arguments, 3 the
/// cluster cannot be reached or refuses the client at start, 4 a poll or an ack failed
/// (and, for want of the cluster, kept failing for retry_ms).
int run_effects_consume(const EffectsConsumeOptions& options, std::ostream& out, std::ostream& err);

/// `mgraph effects resolve --connect HOST:PORT [--token T] KEY VALUE`: sends VALUE (a script
/// literal: 0.75, "high", null, [1, 2]) as the result of the request of an async field that
/// delivery KEY ("FIELD:VERSION", as consume printed it) is (docs/SCHEMA.md "Async fields").
/// Prints {"key":"F:V","outcome":"written"|"superseded"|"duplicate"|"unknown"|"failed: ..."}.
struct EffectsResolveOptions {
  std::string connect;
  std::string token;
  std::string key;
  std::string value;
  std::int64_t timeout_ms = 5000;
};

/// Exit codes: 0 the delivery is settled (written, superseded, or a duplicate), 2 bad
/// arguments, 3 the cluster cannot be reached or refuses the client, 4 the call failed, the
/// key is unknown or the result was refused (a value of the wrong type).
int run_effects_resolve(const EffectsResolveOptions& options, std::ostream& out, std::ostream& err);

}  // namespace mgraph::node
