#!/usr/bin/env bash
# Per-epoch latency of the synthetic epoch protocol on 3 loopback processes
# (cluster-configs/bench-3.toml: 6 partitions, 600 fields), each epoch one write of a
# variable whose cone spans exactly 2 partitions, on 2 different nodes
# (mgraph_cluster_bench --cross 2). Starts n2 and n3, then the coordinator n1, which runs
# the epochs, checks every partition against the oracle, prints its summary and latency
# line, and stops the cluster.
# Usage: bench/cluster/epoch_latency_bench.sh [EPOCHS] [BUILD_DIR] [CROSS]
#        (defaults: 2000, build, 2; CROSS 0: the workload's 1-4 random writes per epoch)
set -euo pipefail
cd "$(dirname "$0")/../.."
epochs=${1:-2000}
build=${2:-build}
cross=${3:-2}
bench="$build/bench/cluster/mgraph_cluster_bench"
config=cluster-configs/bench-3.toml
# shellcheck source=bench/cluster/local_cluster.sh
. bench/cluster/local_cluster.sh

peers=()
for node in n2 n3; do
  "$bench" --config "$config" --node "$node" --port-file "$dir/$node.port" > "$dir/$node.log" &
  pids="$pids $!"
  wait_for "$dir/$node.port"
  peers+=(--peer "$node=127.0.0.1:$(cat "$dir/$node.port")")
done
cross_args=()
[ "$cross" != 0 ] && cross_args=(--cross "$cross")
"$bench" --config "$config" --node n1 "${peers[@]}" --epochs "$epochs" "${cross_args[@]}"
