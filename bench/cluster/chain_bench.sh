#!/usr/bin/env bash
# Latency of a write whose effects cross D partitions one after another, on loopback
# clusters of 1, 2 and 3 mgraphd nodes with 4 partitions (bench/cluster/chain.mgs; the
# sequencer on n1, the client on the last node): for each node count and each depth, a
# fresh cluster and `mgraph_latency_bench --chain D --json`: a line "nodes C depth D: JSON".
# Usage: bench/cluster/chain_bench.sh [BUILD_DIR] [N] [NODE_COUNTS] [DEPTHS]
#   (defaults: build, 1000 transactions, "1 2 3", "1 2 3 4 5 6 7 8"); DATA=1: the
#   coordinator logs every epoch durably (--data); GUARD=0: the nodes run without peer
#   guards ([cluster] peer_guard = false); CLIENT_NODE=n1: the client connects to n1 (the
#   coordinator's node) instead of the last node.
set -euo pipefail
cd "$(dirname "$0")/../.."
build=${1:-build}
n=${2:-1000}
counts=${3:-1 2 3}
depths=${4:-1 2 3 4 5 6 7 8}
schema=$(pwd)/bench/cluster/chain.mgs
# shellcheck source=bench/cluster/local_cluster.sh
. bench/cluster/local_cluster.sh

# The configuration of COUNT nodes holding 4 partitions: n1 coordinates.
write_config() {
  local count=$1 file=$2
  local -a layout
  case $count in
    1) layout=("0, 1, 2, 3") ;;
    2) layout=("0, 1" "2, 3") ;;
    3) layout=("0" "1, 2" "3") ;;
    *) echo "chain_bench.sh: node counts are 1, 2 or 3" >&2; exit 2 ;;
  esac
  printf '[cluster]\nschema = "%s"\npartitions = 4\n' "$schema" > "$file"
  [ "${GUARD:-1}" = 0 ] && printf 'peer_guard = false\n' >> "$file"
  for i in "${!layout[@]}"; do
    printf '\n[[node]]\nname = "n%d"\nhost = "127.0.0.1"\nport = 0\nclient_port = 0\n' $((i + 1)) >> "$file"
    [ "$i" = 0 ] && printf 'coordinator = true\n' >> "$file"
    printf 'partitions = [%s]\n' "${layout[$i]}" >> "$file"
  done
}

for count in $counts; do
  for depth in $depths; do
    run="$dir/run-$count-$depth"
    mkdir -p "$run"
    write_config "$count" "$run/cluster.toml"
    others=""
    for i in $(seq 2 "$count"); do others="$others n$i"; done
    before="$pids"
    data_args=()
    [ "${DATA:-0}" = 1 ] && data_args=(--data "$run/n1.data")
    CONFIG="$run/cluster.toml" NODES="$others" start_local_cluster "$build" "$run" "${data_args[@]}"
    line=$("$build/bench/cluster/mgraph_latency_bench" --connect "$client" --transactions "$n" \
      --chain "$depth" --json)
    echo "nodes $count depth $depth: $line"
    # shellcheck disable=SC2086 # a list of process ids
    kill ${pids#"$before"} 2>/dev/null || true
    wait 2>/dev/null || true
    pids="$before"
  done
done
