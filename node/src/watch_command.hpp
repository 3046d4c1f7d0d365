#pragma once
// `mgraph watch --connect HOST:PORT [--token T] [--from EPOCH] [--cursor FILE] [--count N]
// TARGET...`: a subscriber to a cluster's committed epochs (docs/CLUSTER.md,
// "Subscriptions"). A target is a field of one record (`Order#1.total`) or every field of
// an entity (`Order`). It prints, in epoch order, one JSON line per committed epoch that
// changed something it watches:
//   {"epoch":E,"changes":[{"ref":"Order#1","field":"total","value":V,"version":K},...]}
// Without --from it first prints the watched fields' current values and the epoch they
// follow, {"epoch":E,"snapshot":true,"changes":[...]}, and goes on after E; with --from F it
// goes on after epoch F. When the cluster no longer holds the epochs after its cursor (it
// fell behind the coordinator's buffer and history), it prints a snapshot with
// "resumed_from": the cursor, and goes on after the snapshot's epoch. When the cluster is
// out of reach for a while (a node restarting), it says so on stderr and tries again from
// its cursor, so that it prints every epoch once across the restart. With --cursor FILE it
// keeps its cursor in FILE ({"epoch":E,"log":L,"targets":[...]}, replaced whole after every
// line it prints) and, started again with the same FILE and targets, goes on after E: a
// subscriber that stops, is killed or restarts prints every epoch at least once (one it
// printed just before it was killed may come again), with no snapshot in between.

#include <chrono>
#include <cstdint>
#include <functional>
#include <iosfwd>
#include <optional>
#include <string>
#include <vector>

namespace mgraph::node {

struct WatchOptions {
  std::string connect;
  std::string token;
  std::vector<std::string> targets;  ///< "Entity#N.field" or "Entity"
  std::optional<std::uint64_t> from;
  /// The file the cursor is kept in (empty: none); when it exists it says where to go on
  /// from, and `from` is not used.
  std::string cursor;
  /// Stop after this many lines printed (0: never).
  std::uint64_t count = 0;
  /// How long one poll waits at the cluster for an epoch: also how soon a stop is seen.
  std::int64_t wait_ms = 1000;
  std::int64_t timeout_ms = 5000;  ///< bound on connecting and on each call, beyond wait_ms
  /// How long it keeps trying after a poll (or a resume's read) failed for want of the
  /// cluster — a node on the path or the coordinator restarting — before exit code 4: it
  /// connects again (client_retry.hpp) and asks from the same cursor (0: it does not try
  /// again).
  std::int64_t retry_ms = 60'000;
  /// Waits that long between attempts (tests' seam; the default sleeps).
  std::function<void(std::chrono::milliseconds)> pause;
  /// Whether to stop now (checked between polls): Ctrl-C in mgraph; tests' seam.
  std::function<bool()> stop;
};

/// Exit codes: 0 done (--count printed, or stopped), 2 bad arguments (a target that is no
/// field or entity of the cluster's schema, a record that does not exist, a cursor file that
/// is not one or is of other targets), 3 the cluster
/// unreachable or refusing the client at start, 4 a poll failed (and, for want of the
/// cluster, kept failing for retry_ms) or the cursor could not be written.
int run_watch(const WatchOptions& options, std::ostream& out, std::ostream& err);

}  // namespace mgraph::node
