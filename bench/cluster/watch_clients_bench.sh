#!/usr/bin/env bash
# One epoch's fan-out to many subscribers of one field through the client protocol
# (docs/CLUSTER.md, "Subscriptions"; docs/PERFORMANCE.md, "Subscriptions"): starts the
# 3-node loopback cluster of cluster-configs/local-3.toml serving examples/shop.mgs, with
# [cluster] client_connections_max raised so that n3 serves every subscriber, and runs
# mgraph_watch_clients_bench against n3: SUBSCRIBERS connections long-poll Order#ID.total
# (the coordinator's watch actor, on n1, answers them through n3's gateway) while a writer
# commits EPOCHS updates of it one after another. Prints one JSON line (fan-out per epoch
# from the writer's commit answer to the last subscriber's receipt: p50, p99, max), and on
# stderr the CPU time of the benchmark process and of each node over the run.
# With NODE=n1 the subscribers and the writer use the coordinator's own client port instead
# (its gateway reaches the watch actor without a hop between nodes).
# Usage: [NODE=n1] bench/cluster/watch_clients_bench.sh [SUBSCRIBERS] [EPOCHS] [BUILD_DIR]
#        (defaults: 1000, 100, build)
set -euo pipefail
cd "$(dirname "$0")/../.."
subscribers=${1:-1000}
epochs=${2:-100}
build=${3:-build}
# shellcheck source=bench/cluster/local_cluster.sh
. bench/cluster/local_cluster.sh
# The subscribers, the writer and a few more; the schema's path made absolute, as the copy
# lives in the scratch directory.
sed -e "s|^schema = .*|schema = \"$PWD/examples/shop.mgs\"|" \
    -e "s|^partitions = 4$|partitions = 4\nclient_connections_max = $((subscribers + 8))|" \
    cluster-configs/local-3.toml > "$dir/cluster.toml"
CONFIG="$dir/cluster.toml" start_local_cluster "$build" "$dir"
node=${NODE:-n3}
if [ "$node" != n3 ]; then client="127.0.0.1:$(port_of "$dir/$node.json" client)"; fi
# CPU seconds (user + system) of each node so far, in the order of $pids (n1 n2 n3).
cpu() {
  local p tick
  tick=$(getconf CLK_TCK)
  for p in $pids; do awk -v t="$tick" '{ printf "%.2f ", ($14 + $15) / t }' "/proc/$p/stat"; done
}
before=$(cpu)
TIMEFORMAT='watch_clients_bench: the benchmark process: %U s user, %S s system, %R s real'
time "$build/bench/cluster/mgraph_watch_clients_bench" --connect "$client" --subscribers "$subscribers" \
  --epochs "$epochs" --warmup 10
after=$(cpu)
echo "watch_clients_bench: CPU seconds of n1 n2 n3 over the run (connecting included): before $before, after $after" >&2
