#!/usr/bin/env bash
# How long a node killed with SIGKILL takes to be back, from a checkpoint and from the
# whole log (docs/CLUSTER.md, "Checkpoints"). A 2-node loopback cluster (n1 coordinates and
# hosts partition 0, n2 partitions 1 and 2), each node with --data, loads DOCUMENTS
# documents (orders of 9 items, a commit per 100 orders) through `mgraph eval --connect`,
# then `mgraphctl checkpoint`, one more epoch, and:
#   1. kill -9 n2, start it again on its --data: time until a read is answered;
#   2. kill -9 n2, delete its checkpoints (n2.data/partitions), start it again: the
#      cluster runs the whole log; time until a read is answered (skipped with WHOLE_LOG=0).
# Prints the load time, the checkpoint's time and size, both restart times and the
# restarted node's page faults.
# Usage: [WHOLE_LOG=0] bench/cluster/restart_bench.sh [DOCUMENTS, default 100000] [BUILD_DIR, default build]
set -euo pipefail
cd "$(dirname "$0")/../.."
documents=${1:-100000}
build=${2:-build}
if ! [[ "$documents" =~ ^[1-9][0-9]*0$ ]]; then sed -n '2,12p' "$0"; exit 2; fi
bin="$build/node"
dir=$(mktemp -d)
pids=""
cleanup() {
  # shellcheck disable=SC2086 # a list of process ids
  if [ -n "$pids" ]; then kill -9 $pids 2>/dev/null || true; fi
  rm -rf "$dir"
}
trap cleanup EXIT
trap "exit 1" INT TERM  # the EXIT trap then stops the nodes
now() { date +%s.%N; }
since() { echo "$(now) - $1" | bc; }
port_of() { sed -n "s/.*\"$2\":\([0-9]*\).*/\1/p" "$1"; }
wait_for() { for _ in $(seq 300); do [ -s "$1" ] && return 0; sleep 0.1; done; echo "restart_bench: no $1" >&2; exit 1; }

cat > "$dir/schema.mgs" <<'MGS'
entity Order {
  items: many Item via order
  total: float = sum(items[*].price)
}
entity Item { price: float = 0 }
MGS
cat > "$dir/cluster.toml" <<'TOML'
[cluster]
schema = "schema.mgs"
partitions = 3
checkpoint_every = 0

[[node]]
name = "n1"
coordinator = true
partitions = [0]

[[node]]
name = "n2"
partitions = [1, 2]
TOML
awk -v orders=$((documents / 10)) 'BEGIN {
  for (o = 0; o < orders; ++o) {
    print "create Order o"
    for (k = 0; k < 9; ++k) { print "create Item i" k " price=" (k + 1); print "link o.items i" k }
    if (o % 100 == 99 || o == orders - 1) print "commit"
  }
}' > "$dir/load.mgscript"

"$bin/mgraphd" --config "$dir/cluster.toml" --node n1 --data "$dir/n1.data" --admin "$dir/n1.sock" \
  --port-file "$dir/n1.json" > "$dir/n1.log" 2>&1 &
pids="$pids $!"
wait_for "$dir/n1.json"
peer="n1=127.0.0.1:$(port_of "$dir/n1.json" peer)"
client="127.0.0.1:$(port_of "$dir/n1.json" client)"
start_n2() {
  "$bin/mgraphd" --config "$dir/cluster.toml" --node n2 --peer "$peer" --data "$dir/n2.data" \
    --admin "$dir/n2.sock" >> "$dir/n2.log" 2>&1 &
  n2=$!
  pids="$pids $n2"
}
# A read answered with PATTERN: the cluster is back. Bounded: 10 minutes.
read_back() {
  for _ in $(seq 6000); do
    out=$(printf 'get Order#1.total\n' | "$bin/mgraph" eval --connect "$client" --resend-patience 0 2>/dev/null || true)
    if grep -q "$1" <<< "$out"; then return 0; fi
    sleep 0.1
  done
  echo "restart_bench: the cluster did not answer within 10 minutes" >&2
  exit 1
}
start_n2
read_back 'no record #1'  # ready: the read runs, and finds no record yet
t=$(now)
"$bin/mgraph" eval --connect "$client" --script "$dir/load.mgscript" > /dev/null
echo "load: $documents documents in $(since "$t") s"
t=$(now)
"$bin/mgraphctl" --socket "$dir/n1.sock" checkpoint | tr '\n' ' '
echo "(in $(since "$t") s)"
printf 'update Item#2 price=1\ncommit\nupdate Item#2 price=1\ncommit\n' |
  "$bin/mgraph" eval --connect "$client" > /dev/null
kill -9 "$n2"
sleep 0.2
t=$(now)
start_n2
read_back '"value":45'
echo "restart from the checkpoint: read answered $(since "$t") s after n2 started again"
# Minor page faults (the 10th field of /proc/PID/stat): what huge pages save
# (node/src/huge_pages.hpp), a figure that does not depend on the machine's speed.
echo "n2's page faults since it started again: $(cut -d' ' -f10 "/proc/$n2/stat")"
grep -h "partitions_restored" "$dir/n1.log" | tail -1
if [ "${WHOLE_LOG:-1}" = 1 ]; then
  kill -9 "$n2"
  sleep 0.2
  rm -rf "$dir/n2.data/partitions"
  t=$(now)
  start_n2
  read_back '"value":45'
  echo "restart from the whole log: read answered $(since "$t") s after n2 started again"
  grep -h "partitions_restored\|recovery_done" "$dir/n1.log" | tail -2
fi
