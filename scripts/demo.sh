#!/usr/bin/env bash
# The main job on an example: installs what is missing, builds (Release), then runs
# the embedded engine demo, then a schema example through `mgraph eval`, then a persistent
# session that is closed and reopened from its LMDB checkpoint, then a 3-node cluster on
# loopback (cluster-configs/local-3.toml) serving examples/shop.mgs to a client
# (`mgraph eval --connect`), whose output must equal the embedded run's; each node then
# shows what its partitions computed (the documents are spread over all three), and the
# cluster is stopped cleanly.
set -euo pipefail
cd "$(dirname "$0")/.."

./scripts/setup.sh
echo "== configure and build (build/, Release)"
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release > build.log 2>&1 || { cat build.log; exit 1; }
cmake --build build -j "$(nproc)" --target mgraph_embedded_demo mgraph mgraph_persistent_demo mgraphd mgraphctl >> build.log 2>&1 || { tail -50 build.log; exit 1; }
rm -f build.log

echo
./build/examples/mgraph_embedded_demo

if [ -x build/node/mgraph ] && [ -f examples/order_total.mgs ] && [ -f examples/order_total.mgscript ]; then
  echo
  echo "== the same engine through a schema: mgraph eval examples/order_total.mgs"
  ./build/node/mgraph eval examples/order_total.mgs --script examples/order_total.mgscript
fi

demo_dir=$(mktemp -d)
pids=""
cleanup() {
  if [ -n "$pids" ]; then
    # shellcheck disable=SC2086 # a list of process ids
    kill $pids 2>/dev/null || true
  fi
  rm -rf "$demo_dir"
}
trap cleanup EXIT

if [ -x build/examples/mgraph_persistent_demo ]; then
  echo
  echo "== a persistent session, closed and reopened from its checkpoint and log"
  ./build/examples/mgraph_persistent_demo "$demo_dir/session.d"
fi

if [ -x build/node/mgraphd ]; then
  echo
  echo "== a 3-node cluster on loopback serving examples/shop.mgs (cluster-configs/local-3.toml)"
  config=cluster-configs/local-3.toml
  # n1 coordinates: it sequences and logs every batch, and its driver runs each over the
  # partitions. The documents are spread over 4 partitions on all three nodes, so an
  # order's total on one node sums items whose lines were computed on others; the client
  # talks to n3. Ports are chosen by the OS and
  # written as JSON to --port-file; n2 and n3 learn the coordinator's with --peer.
  port_of() { sed -n "s/.*\"$2\":\([0-9]*\).*/\1/p" "$1"; }
  wait_for() {
    for _ in $(seq 100); do [ -s "$1" ] && return 0; sleep 0.1; done
    echo "demo: $1 did not appear within 10 s" >&2
    exit 1
  }
  ./build/node/mgraphd --config "$config" --node n1 --port-file "$demo_dir/n1.json" \
    --data "$demo_dir/n1.data" --admin "$demo_dir/n1.sock" &
  pids="$!"
  wait_for "$demo_dir/n1.json"
  peer="n1=127.0.0.1:$(port_of "$demo_dir/n1.json" peer)"
  start_node() {
    ./build/node/mgraphd --config "$config" --node "$1" --peer "$peer" --data "$demo_dir/$1.data" \
      --port-file "$demo_dir/$1.json" --admin "$demo_dir/$1.sock" &
    pids="$pids $!"
    if [ "$1" = n2 ]; then n2_pid=$!; fi
  }
  for n in n2 n3; do start_node "$n"; done
  wait_for "$demo_dir/n2.json"
  wait_for "$demo_dir/n3.json"
  for _ in $(seq 100); do
    ./build/node/mgraphctl --json --socket "$demo_dir/n3.sock" status 2>/dev/null | grep -q '"ready":true' && break
    sleep 0.1
  done
  echo
  echo "== mgraphctl status (n3)"
  ./build/node/mgraphctl --socket "$demo_dir/n3.sock" status
  client="127.0.0.1:$(port_of "$demo_dir/n3.json" client)"
  echo
  echo "== mgraph eval --connect $client --script examples/shop.mgscript --echo-commits"
  ./build/node/mgraph eval --connect "$client" --script examples/shop.mgscript --echo-commits \
    | tee "$demo_dir/connected.out"
  ./build/node/mgraph eval examples/shop.mgs --script examples/shop.mgscript --echo-commits \
    > "$demo_dir/embedded.out"
  if cmp -s "$demo_dir/connected.out" "$demo_dir/embedded.out"; then
    echo "== the cluster printed exactly what the embedded engine prints"
  else
    echo "demo: the cluster's output differs from the embedded engine's:" >&2
    diff "$demo_dir/embedded.out" "$demo_dir/connected.out" >&2 || true
    exit 1
  fi
  echo
  echo "== what each node's partitions did (mgraphctl partitions)"
  echo "   owned_fields_changed: fields of the records it owns that commits, undo and redo changed"
  echo "   values_sent: values it computed that formulas on other partitions read"
  for n in n1 n2 n3; do
    ./build/node/mgraphctl --socket "$demo_dir/$n.sock" partitions | sed 's/^/   /'
  done
  echo
  echo "== why o1's total is what it is (mgraphctl explain Order#2.total, on n3)"
  echo "   inputs computed on another node are named with their partition and node"
  ./build/node/mgraphctl --socket "$demo_dir/n3.sock" explain Order#2.total | sed 's/^/   /'
  echo
  echo "== the coordinator's last epochs (mgraphctl epochs --last 3)"
  ./build/node/mgraphctl --socket "$demo_dir/n1.sock" epochs --last 3 | sed 's/^/   /'
  echo
  echo "== a checkpoint of every partition, each into its node's --data DIR/partitions (mgraphctl checkpoint)"
  ./build/node/mgraphctl --socket "$demo_dir/n3.sock" checkpoint | sed 's/^/   /'
  echo
  echo "== n2 killed with SIGKILL and started again: the cluster comes back from the checkpoint"
  kill -9 "$n2_pid"
  wait "$n2_pid" 2>/dev/null || true
  pids=$(echo "$pids" | tr ' ' '\n' | grep -vx "$n2_pid" | tr '\n' ' ')
  rm -f "$demo_dir/n2.json"
  echo "   while n2 is down, an update that no other record reads commits on n1 and n3 alone"
  echo "   (a customer's name; Customer#1 is on partition 0, on n1), and one that others read waits:"
  around=""
  # The first transaction after the kill may be the one that finds n2 gone.
  for _ in $(seq 100); do
    around=$(printf 'update Customer#1 name="Ada L."\ncommit\n' \
      | ./build/node/mgraph eval --connect "$client" --resend-patience 0 --echo-commits 2>&1 || true)
    case "$around" in *'"commit"'*) break ;; esac
    sleep 0.1
  done
  echo "   $around"
  case "$around" in
    *'"commit"'*) ;;
    *) echo "demo: the update did not commit while n2 was down" >&2; exit 1 ;;
  esac
  refused=$(printf 'update Order#2 discount=0.5\ncommit\n' \
    | ./build/node/mgraph eval --connect "$client" --resend-patience 0 2>&1 || true)
  echo "   $refused"
  start_node n2
  wait_for "$demo_dir/n2.json"
  # Asked of n3 until the cluster is back (n1 logs partitions_restored with the checkpoint).
  for _ in $(seq 100); do
    after=$(printf 'get Order#2.total\n' | ./build/node/mgraph eval --connect "$client" --resend-patience 0 2>/dev/null || true)
    case "$after" in *'"value"'*) break ;; esac
    sleep 0.1
  done
  echo "   $after"
  name=$(printf 'get Customer#1.name\n' | ./build/node/mgraph eval --connect "$client" --resend-patience 0 2>&1 || true)
  echo "   $name"
  case "$name" in
    *'"Ada L."'*) ;;
    *) echo "demo: the name committed while n2 was down is not there after its restart" >&2; exit 1 ;;
  esac
  for n in n3 n2 n1; do ./build/node/mgraphctl --socket "$demo_dir/$n.sock" shutdown; done
  for pid in $pids; do wait "$pid"; done
  pids=""
  echo "== cluster stopped"
fi
