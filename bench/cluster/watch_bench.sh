#!/usr/bin/env bash
# One epoch's fan-out to many subscribers of one field at the coordinator's watch actor
# (docs/CLUSTER.md, "Subscriptions"; docs/PERFORMANCE.md, "Subscriptions"): N subscribers
# wait for the next epoch, one is added as the documents' driver adds it, and the time until
# every subscriber has it is taken per epoch. Prints one JSON line.
# Usage: bench/cluster/watch_bench.sh [SUBSCRIBERS] [EPOCHS] [BUILD_DIR]
#        (defaults: 1000, 200, build)
set -euo pipefail
cd "$(dirname "$0")/../.."
subscribers=${1:-1000}
epochs=${2:-200}
build=${3:-build}
"$build/bench/cluster/mgraph_watch_bench" --subscribers "$subscribers" --epochs "$epochs" --warmup 20
