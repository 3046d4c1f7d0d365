#!/usr/bin/env bash
# Throughput and latency of concurrent clients on a 3-node loopback cluster serving
# examples/shop.mgs (cluster-configs/local-3.toml): starts the cluster (with DATA=1, the
# coordinator logs every epoch durably in a scratch --data directory), runs
# `mgraph bench --connect` against n3 with the given arguments, stops the cluster.
# Usage: [DATA=1] bench/cluster/load_bench.sh [BUILD_DIR] [MGRAPH BENCH ARGS...]
#   e.g. DATA=1 bench/cluster/load_bench.sh build --clients 16 --transactions 200
set -euo pipefail
cd "$(dirname "$0")/../.."
build=${1:-build}
shift $(( $# < 1 ? $# : 1 ))
# shellcheck source=bench/cluster/local_cluster.sh
. bench/cluster/local_cluster.sh
if [ "${DATA:-0}" = 1 ]; then
  start_local_cluster "$build" "$dir" --data "$dir/n1.data"
else
  start_local_cluster "$build" "$dir"
fi
"$build/node/mgraph" bench --connect "$client" "$@"
