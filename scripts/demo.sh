#!/usr/bin/env bash
# The main job on an example: installs what is missing, builds (Release), then runs
# the embedded engine demo, then a schema example through `mgraph eval`, then a persistent
# session that is closed and reopened from its LMDB checkpoint. Once the cluster exists this script also starts a 3-node
# cluster on loopback from cluster-configs/local-3.toml and stops it cleanly.
set -euo pipefail
cd "$(dirname "$0")/.."

./scripts/setup.sh
echo "== configure and build (build/, Release)"
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release > build.log 2>&1 || { cat build.log; exit 1; }
cmake --build build -j "$(nproc)" --target mgraph_embedded_demo mgraph mgraph_persistent_demo >> build.log 2>&1 || { tail -50 build.log; exit 1; }
rm -f build.log

echo
./build/examples/mgraph_embedded_demo

if [ -x build/node/mgraph ] && [ -f examples/order_total.mgs ] && [ -f examples/order_total.mgscript ]; then
  echo
  echo "== the same engine through a schema: mgraph eval examples/order_total.mgs"
  ./build/node/mgraph eval examples/order_total.mgs --script examples/order_total.mgscript
fi

if [ -x build/examples/mgraph_persistent_demo ]; then
  echo
  echo "== a persistent session, closed and reopened from its checkpoint and log"
  demo_dir=$(mktemp -d)
  trap 'rm -rf "$demo_dir"' EXIT
  ./build/examples/mgraph_persistent_demo "$demo_dir/session.d"
fi
