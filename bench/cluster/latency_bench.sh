#!/usr/bin/env bash
# p50/p99 latency of single transactions (update + commit on examples/shop.mgs) through the
# client protocol of a 3-node loopback cluster (cluster-configs/local-3.toml: client on n3,
# sequencer on n1, documents on n2): starts the cluster, runs mgraph_latency_bench against
# n3, stops the cluster. Extra arguments go to mgraph_latency_bench (e.g. --json). With
# DATA=1 the coordinator logs every epoch durably in a scratch --data directory (and keeps
# its history of subscriptions there).
# Usage: [DATA=1] bench/cluster/latency_bench.sh [N] [BUILD_DIR] [ARGS...]   (defaults: 2000, build)
set -euo pipefail
cd "$(dirname "$0")/../.."
n=${1:-2000}
build=${2:-build}
shift $(( $# < 2 ? $# : 2 ))
# shellcheck source=bench/cluster/local_cluster.sh
. bench/cluster/local_cluster.sh
if [ "${DATA:-0}" = 1 ]; then
  start_local_cluster "$build" "$dir" --data "$dir/n1.data"
else
  start_local_cluster "$build" "$dir"
fi
"$build/bench/cluster/mgraph_latency_bench" --connect "$client" --transactions "$n" "$@"
