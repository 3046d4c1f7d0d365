#!/usr/bin/env bash
# Acknowledged effect deliveries per second on a 3-node loopback cluster (the layout of
# cluster-configs/local-3.toml: sequencer on n1, documents on 4 partitions over all three
# nodes) serving a schema of one entity whose effect triggers when a record is created:
#   entity Job { go: int = 1   effect run: bool when go > 0 }
# Creates JOBS records (in transactions of BATCH), then C consumers on n3 (`mgraph effects
# consume Job.run --max JOBS/C`, each delivery acknowledged by its consumer) take them all;
# prints the time from the first poll to the last acknowledgement and the rate.
# MODE=fire_and_forget gives the effect that delivery mode (the consumers acknowledge
# nothing: the coordinator does as it sends).
# Usage: [DATA=1] [MODE=acknowledged|fire_and_forget] bench/cluster/effects_bench.sh [BUILD_DIR] [JOBS] [CONSUMERS] [BATCH]
#   e.g. bench/cluster/effects_bench.sh build 20000 4 1000
set -euo pipefail
cd "$(dirname "$0")/../.."
build=${1:-build}
jobs=${2:-20000}
consumers=${3:-4}
batch=${4:-1000}
mode=${MODE:-acknowledged}
case "$mode" in
  acknowledged) ack_flag="" ;;
  fire_and_forget) ack_flag="--manual-ack" ;;
  *) echo "effects_bench: MODE must be acknowledged or fire_and_forget, not '$mode'" >&2; exit 2 ;;
esac
if [ $((jobs % consumers)) -ne 0 ]; then
  echo "effects_bench: JOBS ($jobs) must be a multiple of CONSUMERS ($consumers)" >&2
  exit 2
fi
# shellcheck source=bench/cluster/local_cluster.sh
. bench/cluster/local_cluster.sh
cat > "$dir/jobs.mgs" <<SCHEMA
entity Job {
  go: int = 1
  effect run: bool when go > 0 @retry(10000, 2, 60000, 8) @$mode
}
SCHEMA
sed -e "s|^schema = .*|schema = \"$dir/jobs.mgs\"|" cluster-configs/local-3.toml > "$dir/cluster.toml"
if [ "${DATA:-0}" = 1 ]; then
  CONFIG="$dir/cluster.toml" start_local_cluster "$build" "$dir" --data "$dir/n1.data"
else
  CONFIG="$dir/cluster.toml" start_local_cluster "$build" "$dir"
fi
for ((k = 0; k < jobs; k++)); do
  echo "create Job"
  if (((k + 1) % batch == 0)); then echo commit; fi
done > "$dir/create.mgscript"
echo commit >> "$dir/create.mgscript"
start=$(date +%s.%N)
"$build/node/mgraph" eval --connect "$client" --script "$dir/create.mgscript" > /dev/null
created=$(date +%s.%N)
cpids=""
for ((c = 0; c < consumers; c++)); do
  # shellcheck disable=SC2086 # no flag, or one
  "$build/node/mgraph" effects consume --connect "$client" Job.run --poll-ms 1 $ack_flag \
    --max $((jobs / consumers)) > "$dir/consumer$c.out" &
  cpids="$cpids $!"
done
# shellcheck disable=SC2086 # a list of process ids
wait $cpids
done_at=$(date +%s.%N)
got=$(cat "$dir"/consumer*.out | wc -l)
keys=$(cat "$dir"/consumer*.out | sed 's/.*"key":\({[^}]*}\).*/\1/' | sort -u | wc -l)
awk -v mode="$mode" -v j="$jobs" -v c="$consumers" -v b="$batch" -v s="$start" -v m="$created" -v e="$done_at" \
    -v got="$got" -v keys="$keys" 'BEGIN {
  printf "%d jobs created in transactions of %d: %.2f s\n", j, b, m - s
  printf "%d consumers: %d deliveries (%d distinct keys, %s) taken in %.2f s: %.0f deliveries/s\n",
         c, got, keys, mode, e - m, got / (e - m)
}'
