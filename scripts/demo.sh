#!/usr/bin/env bash
# The main job on an example: installs what is missing, builds (Release), then runs
# the embedded engine demo, then a schema example through `mgraph eval`, then a persistent
# session that is closed and reopened from its LMDB checkpoint, then a 3-node cluster on
# loopback from cluster-configs/local-3.toml, which runs its epochs, checks every partition
# against the oracle and stops cleanly.
set -euo pipefail
cd "$(dirname "$0")/.."

./scripts/setup.sh
echo "== configure and build (build/, Release)"
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release > build.log 2>&1 || { cat build.log; exit 1; }
cmake --build build -j "$(nproc)" --target mgraph_embedded_demo mgraph mgraph_persistent_demo mgraphd >> build.log 2>&1 || { tail -50 build.log; exit 1; }
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
  echo "== a 3-node cluster on loopback: cluster-configs/local-3.toml"
  config=cluster-configs/local-3.toml
  # n2 and n3 listen on ports the OS chooses and write them to files; n1 (the
  # coordinator) connects to them, runs the epochs and stops the cluster.
  ./build/node/mgraphd --config "$config" --node n2 --port-file "$demo_dir/n2.port" &
  pids="$!"
  ./build/node/mgraphd --config "$config" --node n3 --port-file "$demo_dir/n3.port" &
  pids="$pids $!"
  for _ in $(seq 100); do
    [ -s "$demo_dir/n2.port" ] && [ -s "$demo_dir/n3.port" ] && break
    sleep 0.1
  done
  if ! [ -s "$demo_dir/n2.port" ] || ! [ -s "$demo_dir/n3.port" ]; then
    echo "demo: n2 or n3 did not start listening within 10 s" >&2
    exit 1
  fi
  ./build/node/mgraphd --config "$config" --node n1 \
    --peer "n2=127.0.0.1:$(cat "$demo_dir/n2.port")" --peer "n3=127.0.0.1:$(cat "$demo_dir/n3.port")"
  for pid in $pids; do wait "$pid"; done
  pids=""
  echo "== cluster stopped"
fi
