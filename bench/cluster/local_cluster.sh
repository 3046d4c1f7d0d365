# shellcheck shell=bash
# Sourced by the cluster's benchmark scripts (connect_bench.sh, latency_bench.sh,
# load_bench.sh, epoch_latency_bench.sh), from the repository's root. Sourcing it makes a scratch
# directory $dir and a trap that, on exit, stops the processes listed in $pids and removes
# $dir.
#   start_local_cluster BUILD_DIR WORK_DIR [N1_ARGS...]
# starts the 3 mgraphd nodes (n1, the coordinator, with N1_ARGS too, e.g. --data DIR) of
# cluster-configs/local-3.toml (or $CONFIG; $NODES names the nodes besides n1, default
# "n2 n3", "" for n1 alone) on loopback (ports from the OS; sequencer on n1, documents on 4
# partitions over all of them), waits until the last is ready, adds the nodes to $pids and
# sets $client (the last node's client address, HOST:PORT, or with $CLIENT_NODE that
# node's, e.g. CLIENT_NODE=n1 for the coordinator's).

dir=$(mktemp -d)
pids=""
cleanup() {
  # shellcheck disable=SC2086 # a list of process ids
  if [ -n "$pids" ]; then kill $pids 2>/dev/null || true; fi  # some may have stopped
  rm -rf "$dir"
}
trap cleanup EXIT

port_of() { sed -n "s/.*\"$2\":\([0-9]*\).*/\1/p" "$1"; }
wait_for() { for _ in $(seq 100); do [ -s "$1" ] && return 0; sleep 0.1; done; exit 1; }

start_local_cluster() {
  local build=$1 dir=$2 config=${CONFIG:-cluster-configs/local-3.toml} peer node last=n1
  shift 2
  "$build/node/mgraphd" --config "$config" --node n1 --port-file "$dir/n1.json" "$@" > "$dir/n1.log" 2>&1 &
  pids="$pids $!"
  wait_for "$dir/n1.json"
  peer="n1=127.0.0.1:$(port_of "$dir/n1.json" peer)"
  for node in ${NODES-n2 n3}; do
    "$build/node/mgraphd" --config "$config" --node "$node" --peer "$peer" \
      --port-file "$dir/$node.json" > "$dir/$node.log" 2>&1 &
    pids="$pids $!"
    last=$node
  done
  wait_for "$dir/$last.json"
  for _ in $(seq 100); do grep -q ": ready" "$dir/$last.log" && break; sleep 0.1; done
  # shellcheck disable=SC2034 # read by the sourcing script
  client="127.0.0.1:$(port_of "$dir/${CLIENT_NODE:-$last}.json" client)"
}
