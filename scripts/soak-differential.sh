#!/usr/bin/env bash
# Differential soak of the cluster: random schemas and random scripts run on documents
# spread over 1-8 partitions and compared with the embedded engine's output, many more
# times than CI does —
#   1. in one process (PartitionedDocuments, random placement and message order): N seeds,
#      then on partition actors under CAF's deterministic scheduler: N/4 seeds, at least 1
#   2. on three mgraphd processes on 127.0.0.1 (random layout of the partitions over the
#      nodes, the script through `mgraph eval --connect`): N/10 seeds, at least 1
# starting at seed FIRST. A failure prints the seed, the schema and the script.
#   Usage: scripts/soak-differential.sh N [FIRST, default 1] [build dir, default build]
# Example: scripts/soak-differential.sh 20000 1000
set -euo pipefail
cd "$(dirname "$0")/.."

if [ $# -lt 1 ] || [ $# -gt 3 ] || ! [[ "$1" =~ ^[1-9][0-9]*$ ]] ||
   { [ $# -ge 2 ] && ! [[ "$2" =~ ^[1-9][0-9]*$ ]]; }; then
  sed -n '2,10p' "$0"
  exit 2
fi
seeds=$1
first=${2:-1}
build=${3:-build}
processes=$((seeds / 10 > 0 ? seeds / 10 : 1))
actors=$((seeds / 4 > 0 ? seeds / 4 : 1))

if [ ! -f "$build/build.ninja" ] && [ ! -f "$build/Makefile" ]; then
  cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release
fi
cmake --build "$build" --target mgraph_actors_tests mgraph_service_tests mgraphd mgraph
echo "== in one process: $seeds seeds from $first"
MGRAPH_DIFFERENTIAL_SEEDS=$seeds MGRAPH_DIFFERENTIAL_FIRST_SEED=$first \
  "$build/tests/actors/mgraph_actors_tests" \
  --gtest_filter='PartitionedDocuments.RandomScriptsOnRandomSchemasPrintWhatTheEmbeddedEnginePrints'
echo "== on partition actors in a random order: $actors seeds from $first"
MGRAPH_DIFFERENTIAL_ACTOR_SEEDS=$actors MGRAPH_DIFFERENTIAL_FIRST_SEED=$first \
  "$build/tests/actors/mgraph_actors_tests" \
  --gtest_filter='Documents.PartitionActorsRunInARandomOrderPrintWhatOneStorePrints'
echo "== on three processes: $processes seeds from $first"
MGRAPH_DIFFERENTIAL_PROCESS_SEEDS=$processes MGRAPH_DIFFERENTIAL_FIRST_SEED=$first \
  "$build/tests/node/mgraph_service_tests" \
  --gtest_filter='Service.RandomSchemasAndScriptsPrintTheSameOnTheClusterAsEmbedded'
echo "== soak passed"
