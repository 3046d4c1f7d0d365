#!/usr/bin/env bash
# kill -9 soak of the cluster: the KillNine tests (tests/node/kill_test.cpp) in rounds of
# 50 kills each — three mgraphd processes on 127.0.0.1 under a client's load, one node (n2)
# and, in the other test, the coordinator (n1) killed with SIGKILL and started again —
# until N kills of each were done, every round at its own seed (where the kills fall).
# Each round checks that no acknowledged transaction is lost, none answered as rolled back
# took effect, and a cluster started again from the coordinator's log holds the same; and
# that a consumer of the effect each transaction triggers, deduplicating by key, got every
# acknowledged one exactly once, redelivered across the kills, and acknowledged them all;
# and that a subscriber from epoch 0 is told of every acknowledged one exactly once, in
# epoch order, from the coordinator's buffer and its history of subscriptions.
#   Usage: scripts/soak-cluster.sh N [FIRST seed, default 1] [build dir, default build]
# Example: scripts/soak-cluster.sh 1000     (2,000 kills, about 50 minutes)
set -euo pipefail
cd "$(dirname "$0")/.."

if [ $# -lt 1 ] || [ $# -gt 3 ] || ! [[ "$1" =~ ^[1-9][0-9]*$ ]] ||
   { [ $# -ge 2 ] && ! [[ "$2" =~ ^[1-9][0-9]*$ ]]; }; then
  sed -n '2,11p' "$0"
  exit 2
fi
kills=$1
first=${2:-1}
build=${3:-build}
per_round=50

if [ ! -f "$build/build.ninja" ] && [ ! -f "$build/Makefile" ]; then
  cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release
fi
cmake --build "$build" --target mgraph_kill_tests mgraphd
done_kills=0
seed=$first
while [ "$done_kills" -lt "$kills" ]; do
  n=$((kills - done_kills < per_round ? kills - done_kills : per_round))
  echo "== seed $seed: $n kills of n2, $n of the coordinator ($done_kills of $kills done)"
  log=$(mktemp)
  status=0
  MGRAPH_KILLS=$n MGRAPH_KILL_SEED=$seed "$build/tests/node/mgraph_kill_tests" >"$log" 2>&1 || status=$?
  grep -E 'kills,|effects:' "$log" || true
  if [ "$status" -ne 0 ]; then
    cat "$log"
    rm -f "$log"
    echo "soak-cluster: seed $seed failed (MGRAPH_KILLS=$n MGRAPH_KILL_SEED=$seed $build/tests/node/mgraph_kill_tests)"
    exit 1
  fi
  rm -f "$log"
  done_kills=$((done_kills + n))
  seed=$((seed + 1))
done
echo "soak-cluster: $done_kills kills of n2 and $done_kills of the coordinator, every round passed"
