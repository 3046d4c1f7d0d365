#!/usr/bin/env bash
# Fault-simulation soak of the cluster's documents: the sequencer, the driver, 1-4
# partitions and three clients in one process under CAF's deterministic scheduler, with
# random message order, coordinator crashes, lost partitions and failing log writes at
# random points, on a log in memory or on disk (LMDB behind its write-ahead file)
# (tests/actors/fault_sim_test.cpp), for N seeds from FIRST, in rounds of 10,000 so that
# progress shows. A failure names the seed that replays it.
#   Usage: scripts/soak-sim.sh N [FIRST, default 1] [build dir, default build]
# Example: scripts/soak-sim.sh 100000
set -euo pipefail
cd "$(dirname "$0")/.."

if [ $# -lt 1 ] || [ $# -gt 3 ] || ! [[ "$1" =~ ^[1-9][0-9]*$ ]] ||
   { [ $# -ge 2 ] && ! [[ "$2" =~ ^[1-9][0-9]*$ ]]; }; then
  sed -n '2,9p' "$0"
  exit 2
fi
seeds=$1
first=${2:-1}
build=${3:-build}
round=10000

if [ ! -f "$build/build.ninja" ] && [ ! -f "$build/Makefile" ]; then
  cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release
fi
cmake --build "$build" --target mgraph_actors_tests
start=$first
end=$((first + seeds))
while [ "$start" -lt "$end" ]; do
  n=$((end - start < round ? end - start : round))
  echo "== seeds $start..$((start + n - 1)) of $first..$((end - 1))"
  MGRAPH_SIM_SEEDS=$n MGRAPH_SIM_FIRST_SEED=$start \
    "$build/tests/actors/mgraph_actors_tests" --gtest_brief=1 \
    --gtest_filter='FaultSim.EveryAcknowledgedTransactionIsThereOnceThroughCrashesAndLostPartitions'
  start=$((start + n))
done
echo "== soak passed: $seeds seeds"
