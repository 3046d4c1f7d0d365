#!/usr/bin/env bash
# Times one script of N transactions (each a create, an update and a commit on
# examples/shop.mgs, then a get) run by `mgraph eval --connect` against a 3-node loopback
# cluster (cluster-configs/local-3.toml: sequencer on n1, documents on 4 partitions over all three, client on n3),
# and the same script embedded; prints both and the time per transaction.
# Usage: bench/cluster/connect_bench.sh [N] [BUILD_DIR]   (defaults: 10000, build)
set -euo pipefail
cd "$(dirname "$0")/../.."
n=${1:-10000}
build=${2:-build}
# shellcheck source=bench/cluster/local_cluster.sh
. bench/cluster/local_cluster.sh
# The script: one customer, then per transaction an order linked to it and a commit.
{
  echo "create Customer c name=\"bench\""
  echo "commit"
  for i in $(seq "$n"); do
    echo "create Order o$i discount=0.1"
    echo "link c.orders o$i"
    echo "commit"
  done
  echo "get c.spent"
} > "$dir/script.mgscript"

start_local_cluster "$build" "$dir"

start=$(date +%s.%N)
"$build/node/mgraph" eval --connect "$client" --script "$dir/script.mgscript" > "$dir/connected.out"
mid=$(date +%s.%N)
"$build/node/mgraph" eval examples/shop.mgs --script "$dir/script.mgscript" > "$dir/embedded.out"
end=$(date +%s.%N)
cmp -s "$dir/connected.out" "$dir/embedded.out" || { echo "outputs differ" >&2; exit 1; }
awk -v n="$n" -v a="$start" -v b="$mid" -v c="$end" 'BEGIN {
  printf "%d transactions: connected %.2f s (%.0f us each), embedded %.3f s (%.1f us each)\n",
         n, b - a, (b - a) * 1e6 / n, c - b, (c - b) * 1e6 / n }'
