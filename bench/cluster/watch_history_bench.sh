#!/usr/bin/env bash
# How fast a subscriber far behind the coordinator's memory buffer catches up from its
# history on disk (docs/CLUSTER.md, "Subscriptions"): a 3-node loopback cluster serving
# examples/shop.mgs with the coordinator on a scratch --data and [cluster]
# watch_epochs_kept = 16, N single-write transactions (mgraph_latency_bench: each an epoch
# changing an item, its order and its customer), then `mgraph watch --from 0 --count N
# Item` is timed: every one of those epochs is read back from the history and printed.
# With STALL=1, then: the p50/p99 of 1,000 more single writes alone, and while subscribers
# catch up from epoch 0 one after another (what a catching-up subscriber costs writers).
# Usage: [STALL=1] bench/cluster/watch_history_bench.sh [N] [BUILD_DIR]   (defaults: 20000, build)
set -euo pipefail
cd "$(dirname "$0")/../.."
n=${1:-20000}
build=${2:-build}
# shellcheck source=bench/cluster/local_cluster.sh
. bench/cluster/local_cluster.sh
sed -e "s|^schema = \"../examples/shop.mgs\"|schema = \"$PWD/examples/shop.mgs\"\nwatch_epochs_kept = 16|" \
  cluster-configs/local-3.toml > "$dir/cluster.toml"
CONFIG="$dir/cluster.toml" start_local_cluster "$build" "$dir" --data "$dir/n1.data"
"$build/bench/cluster/mgraph_latency_bench" --connect "$client" --transactions "$n" > "$dir/writes.txt"
start=$(date +%s.%N)
"$build/node/mgraph" watch --connect "$client" --from 0 --count "$n" Item > "$dir/watch.txt"
end=$(date +%s.%N)
lines=$(wc -l < "$dir/watch.txt")
bytes=$(wc -c < "$dir/watch.txt")
snapshots=$(grep -c '"snapshot"' "$dir/watch.txt" || true)
awk -v n="$lines" -v b="$bytes" -v s="$snapshots" -v t0="$start" -v t1="$end" 'BEGIN {
  printf "{\"epochs\":%d,\"snapshots\":%d,\"seconds\":%.3f,\"epochs_per_s\":%.0f,\"bytes\":%d}\n", n, s, t1 - t0, n / (t1 - t0), b }'
if [ "${STALL:-0}" = 1 ]; then
  echo "writes alone: $("$build/bench/cluster/mgraph_latency_bench" --connect "$client" --transactions 1000 | grep -o 'p50.*')"
  ( for _ in $(seq 100); do "$build/node/mgraph" watch --connect "$client" --from 0 --count "$n" Item > /dev/null; done ) &
  catching_up=$!
  echo "writes while subscribers catch up: $("$build/bench/cluster/mgraph_latency_bench" --connect "$client" --transactions 1000 | grep -o 'p50.*')"
  kill "$catching_up" 2>/dev/null || true
  pkill -P "$catching_up" 2>/dev/null || true
fi
