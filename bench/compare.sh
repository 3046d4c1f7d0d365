#!/usr/bin/env bash
# mgraph's engine side by side with the JavaScript reactive peers and the hand-written C++
# floor, measured in one window on this machine.
#
# Usage:
#   bench/compare.sh [--quick] [--json FILE] PEERS_DIR FLOOR_CPP [BUILD_DIR] [-- PEER_OPTIONS...]
#
#   PEERS_DIR     the peer harness directory (run.mjs, worker.mjs, lib/, package.json,
#                 package-lock.json). It is copied to a scratch directory and never written.
#   FLOOR_CPP     the floor's source (one file): this repository's is bench/floor/floor.cpp
#                 (bench/floor/README.md). The word `none` leaves the floor out: its
#                 columns then show "—".
#   BUILD_DIR     the CMake build directory holding bench/mgraph_bench_engine (default:
#                 build/ at the repository root). Build it in Release:
#                   cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release
#                   cmake --build build --target mgraph_bench_engine
#   PEER_OPTIONS  passed to `node --expose-gc run.mjs`: --quick, --all, --peers=a,b,
#                 --shapes=x,y. --shapes and --all also choose the shapes mgraph runs.
#   --quick       smoke run, NOT for reporting: the peers' --quick (3 samples of 0.2 s) and
#                 mgraph with 3 repetitions of 0.05 s. Also turned on by --quick among the
#                 PEER_OPTIONS. The table and the JSON say so.
#   --json FILE   also write everything (table rows, every peer's median, both mgraph runs,
#                 dates, load averages, commit) to FILE as JSON.
#
# What it does, in order: copies PEERS_DIR to a scratch directory (removed on exit) and runs
# `npm ci` there; compiles FLOOR_CPP with `g++ -std=c++20 -O2 -march=native`; then, in one
# window,
#   1. mgraph_bench_engine (before): every compared shape, median of 5 repetitions of ≥ 1 s,
#   2. the peers: `node --expose-gc run.mjs PEER_OPTIONS` (median of 5 samples of ≥ 1 s),
#   3. the floor: the compiled FLOOR_CPP, run once without arguments,
#   4. mgraph_bench_engine again (after).
# Progress (the stage running, and each tool's own output) goes to stderr.
#
# What it prints on stdout: a Markdown table, one row per shape, all times in µs per update
# (real time): mgraph (the better of its before and after medians, with both), the fastest
# peer whose checksum agreed with the reference (name and median), the floor, the ratio
# fastest peer ÷ mgraph (> 1: mgraph is faster) and the ratio mgraph ÷ floor (how far mgraph
# is above the floor); then the load averages before and after.
#
# The floor's output is read per shape key (chain, broad, ..., scale-pull), in one of these
# forms: Google Benchmark JSON (median aggregate if present); a JSON object {shape: µs};
# lines naming a shape with a time and its unit (`chain 0.66 us`, `chain: 661 ns/update`;
# units ns, us, µs, ms, s); or a table whose header names the unit of a column
# (`shape  µs/update  checksum`). A shape the floor does not report shows "—".
#
# Exit status: 0 on success; non-zero with a message when an input or tool is missing
# (PEERS_DIR, FLOOR_CPP, node, npm, g++, python3, the benchmark binary), when npm ci or the
# floor's compilation fails, or when mgraph_bench_engine fails (a checksum mismatch or an
# engine error makes it exit non-zero).
set -euo pipefail

prog=$(basename "$0")
repo_root=$(cd "$(dirname "$0")/.." && pwd)

die() {
  printf '%s: error: %s\n' "$prog" "$*" >&2
  exit 1
}
stage() { printf '\n[%s %s] == %s\n' "$prog" "$(date -u +%H:%M:%S)" "$*" >&2; }
usage() { sed -n '5,6p' "$0" | sed 's/^# *//' >&2; }
loadavg() { cut -d' ' -f1-3 /proc/loadavg; }

quick=0
json_out=""
positional=()
peer_opts=()
while [ $# -gt 0 ]; do
  case "$1" in
    --quick) quick=1; shift ;;
    --json)
      [ $# -ge 2 ] || die "--json needs a file name"
      json_out=$2; shift 2 ;;
    --json=*) json_out=${1#--json=}; shift ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d' | sed 's/^# \{0,1\}//'; exit 0 ;;
    --) shift; peer_opts=("$@"); break ;;
    -*) usage; die "unknown option $1 (options for the peers go after --)" ;;
    *) positional+=("$1"); shift ;;
  esac
done
for o in ${peer_opts[@]+"${peer_opts[@]}"}; do
  [ "$o" = "--quick" ] && quick=1
done
if [ "$quick" = 1 ] && ! printf '%s\n' ${peer_opts[@]+"${peer_opts[@]}"} | grep -qx -- '--quick'; then
  peer_opts+=(--quick)
fi

if [ ${#positional[@]} -lt 2 ] || [ ${#positional[@]} -gt 3 ]; then
  usage
  die "expected PEERS_DIR FLOOR_CPP [BUILD_DIR]"
fi
peers_dir=${positional[0]}
floor_cpp=${positional[1]}
build_dir=${positional[2]:-$repo_root/build}

# ---- inputs and tools
[ -d "$peers_dir" ] || die "PEERS_DIR '$peers_dir' is not a directory"
for f in run.mjs worker.mjs package.json package-lock.json lib/config.mjs; do
  [ -f "$peers_dir/$f" ] || die "PEERS_DIR '$peers_dir' has no $f: is it the peer harness directory?"
done
if [ "$floor_cpp" != none ]; then
  [ -f "$floor_cpp" ] || die "FLOOR_CPP '$floor_cpp' does not exist (give the floor's .cpp, or 'none' to leave the floor out)"
  command -v g++ >/dev/null || die "g++ is not installed (needed for the floor)"
fi
command -v node >/dev/null || die "node is not installed (needed for the peers)"
command -v npm >/dev/null || die "npm is not installed (needed for the peers' npm ci)"
command -v python3 >/dev/null || die "python3 is not installed (needed to read the results)"
bench_bin=$build_dir/bench/mgraph_bench_engine
if [ ! -x "$bench_bin" ]; then
  die "$bench_bin is not built. Build it (Release) from the repository root:
  cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release
  cmake --build build --target mgraph_bench_engine
and pass that build directory as BUILD_DIR if it is not build/."
fi
build_type=$(sed -n 's/^CMAKE_BUILD_TYPE:STRING=//p' "$build_dir/CMakeCache.txt" 2>/dev/null || true)
if [ -n "$build_type" ] && [ "$build_type" != Release ]; then
  printf '%s: warning: %s is a %s build; figures for reporting need Release\n' \
    "$prog" "$build_dir" "$build_type" >&2
fi
[ -z "$json_out" ] || : >"$json_out" || die "cannot write $json_out"

scratch=$(mktemp -d "${TMPDIR:-/tmp}/mgraph-compare.XXXXXX")
cleanup() {
  chmod -R u+w "$scratch" 2>/dev/null || true
  rm -rf "$scratch"
}
trap cleanup EXIT

if [ "$quick" = 1 ]; then
  mgraph_opts=(--benchmark_repetitions=3 --benchmark_min_time=0.05)
  printf '%s: QUICK MODE: a smoke run with short samples, not for reporting\n' "$prog" >&2
else
  mgraph_opts=(--benchmark_repetitions=5 --benchmark_min_time=1)
fi

# ---- preparation (outside the window)
stage "copying the peer harness to $scratch/peers and running npm ci"
mkdir "$scratch/peers"
(cd "$peers_dir" && tar --exclude=./node_modules -cf - .) | (cd "$scratch/peers" && tar -xf -)
chmod -R u+w "$scratch/peers"
rm -f "$scratch/peers/results.json" "$scratch/peers/RESULTS.md"
if ! (cd "$scratch/peers" && npm ci --no-audit --no-fund --loglevel=error >"$scratch/npm.log" 2>&1); then
  cat "$scratch/npm.log" >&2
  die "npm ci failed in the copy of $peers_dir (output above)"
fi

# The shapes run.mjs will measure, chosen by its own rule (--shapes=, --all, else the
# non-extra ones of lib/config.mjs), kept to those mgraph_bench_engine has.
peer_shapes=$(cd "$scratch/peers" && node --input-type=module -e '
  const { SHAPES } = await import("./lib/config.mjs")
  const args = process.argv.slice(1)
  const s = args.find((a) => a.startsWith("--shapes="))
  const keys = s ? s.slice(9).split(",") : Object.keys(SHAPES).filter((k) => args.includes("--all") || !SHAPES[k].extra)
  console.log(keys.join("\n"))' -- ${peer_opts[@]+"${peer_opts[@]}"})
[ -n "$peer_shapes" ] || die "no shapes selected for the peers"
mgraph_has=$("$bench_bin" --benchmark_list_tests)
mgraph_shapes=$(grep -Fxf <(printf '%s\n' "$peer_shapes") <<<"$mgraph_has" || true)
[ -n "$mgraph_shapes" ] || die "mgraph_bench_engine has none of the shapes: $(echo "$peer_shapes" | tr '\n' ' ')"
mgraph_filter="^($(paste -sd'|' <<<"$mgraph_shapes"))\$"

floor_bin=""
if [ "$floor_cpp" != none ]; then
  stage "compiling the floor: g++ -std=c++20 -O2 -march=native $(basename "$floor_cpp")"
  floor_bin=$scratch/floor
  g++ -std=c++20 -O2 -march=native -o "$floor_bin" "$floor_cpp" \
    || die "the floor did not compile: g++ -std=c++20 -O2 -march=native $floor_cpp"
fi

# ---- the window
started=$(date -u +%Y-%m-%dT%H:%M:%SZ)
load_before=$(loadavg)

run_mgraph() {  # $1: before|after
  stage "mgraph_bench_engine ($1): $(paste -sd' ' <<<"$mgraph_shapes")"
  local status=0
  "$bench_bin" "--benchmark_filter=$mgraph_filter" "${mgraph_opts[@]}" \
    --benchmark_report_aggregates_only=true \
    "--benchmark_out=$scratch/mgraph-$1.json" --benchmark_out_format=json >&2 || status=$?
  [ "$status" = 0 ] || die "mgraph_bench_engine ($1) exited with $status: a checksum mismatch or an engine error (its output is above)"
}

run_mgraph before

stage "the peers: node --expose-gc run.mjs ${peer_opts[*]+${peer_opts[*]}}"
(cd "$scratch/peers" && node --expose-gc run.mjs ${peer_opts[@]+"${peer_opts[@]}"}) >&2 \
  || die "the peer harness (run.mjs) failed"
[ -f "$scratch/peers/results.json" ] || die "the peer harness wrote no results.json"

if [ -n "$floor_bin" ]; then
  stage "the floor"
  status=0
  (cd "$scratch" && "$floor_bin") >"$scratch/floor.out" || status=$?
  cat "$scratch/floor.out" >&2
  [ "$status" = 0 ] || die "the floor exited with $status (its output is above)"
else
  : >"$scratch/floor.out"
fi

run_mgraph after

finished=$(date -u +%Y-%m-%dT%H:%M:%SZ)
load_after=$(loadavg)

commit=$(git -C "$repo_root" rev-parse --short=12 HEAD 2>/dev/null || echo unknown)
if [ "$commit" != unknown ] && [ -n "$(git -C "$repo_root" status --porcelain --untracked-files=no 2>/dev/null)" ]; then
  commit="$commit (with uncommitted changes)"
fi

# ---- the table (stdout) and the JSON
stage "results"
export CMP_SCRATCH=$scratch CMP_SHAPES=$peer_shapes CMP_QUICK=$quick CMP_JSON=$json_out \
  CMP_STARTED=$started CMP_FINISHED=$finished CMP_LOAD_BEFORE=$load_before \
  CMP_LOAD_AFTER=$load_after CMP_COMMIT=$commit CMP_FLOOR=$floor_cpp \
  CMP_MGRAPH_OPTS="${mgraph_opts[*]}" CMP_PEER_OPTS="${peer_opts[*]+${peer_opts[*]}}"
python3 - <<'PY'
import json
import os
import re
import sys

env = os.environ
scratch = env["CMP_SCRATCH"]
shapes = [s for s in env["CMP_SHAPES"].split("\n") if s]
quick = env["CMP_QUICK"] == "1"
TO_US = {"ns": 1e-3, "us": 1.0, "µs": 1.0, "μs": 1.0, "ms": 1e3, "s": 1e6}


def mgraph_run(path):
    """shape -> median real time in µs (the only iteration when there are no aggregates)."""
    with open(path) as f:
        data = json.load(f)
    times = {}
    for b in data.get("benchmarks", []):
        if b.get("error_occurred"):
            continue
        name = b.get("run_name", b["name"])
        unit = TO_US[b.get("time_unit", "ns")]
        if b.get("run_type") == "aggregate":
            if b.get("aggregate_name") == "median":
                times[name] = b["real_time"] * unit
        else:
            times.setdefault(name, b["real_time"] * unit)
    return times


def floor_times(text):
    """shape -> µs from the floor's output (formats in the script's header)."""
    out = {}
    stripped = text.strip()
    if stripped.startswith("{"):
        try:
            data = json.loads(stripped)
        except ValueError:
            data = None
        if isinstance(data, dict) and "benchmarks" in data:
            for b in data["benchmarks"]:
                name = b.get("run_name", b.get("name"))
                if b.get("run_type") == "aggregate" and b.get("aggregate_name") != "median":
                    continue
                if name in shapes and (b.get("run_type") == "aggregate" or name not in out):
                    out[name] = b["real_time"] * TO_US[b.get("time_unit", "ns")]
            return out
        if isinstance(data, dict):
            return {k: float(v) for k, v in data.items() if k in shapes and isinstance(v, (int, float))}
    num = r"[-+]?\d[\d,]*(?:\.\d+)?(?:[eE][-+]?\d+)?"
    timed = re.compile(r"(" + num + r")\s*(ns|us|µs|μs|ms|s)(?![A-Za-z])")
    unit_word = re.compile(r"(?<![A-Za-z])(ns|us|µs|μs|ms)(?![A-Za-z])")
    header = None  # (column count, index of the timed column, its unit)

    def cols(line):
        return [c.strip() for c in (line.strip().strip("|").split("|") if "|" in line else line.split())]

    for line in text.splitlines():
        named = [s for s in shapes if re.search(r"(?<![\w-])" + re.escape(s) + r"(?![\w-])", line)]
        if not named:
            # a header naming a time unit in one of its columns
            heads = cols(line)
            for i, c in enumerate(heads):
                u = unit_word.search(c)
                if u:
                    header = (len(heads), i, u.group(1))
                    break
            continue
        shape = max(named, key=len)
        rest = line.split(shape, 1)[1]
        m = timed.search(rest)
        if m:
            out[shape] = float(m.group(1).replace(",", "")) * TO_US[m.group(2)]
            continue
        row = cols(line)
        if header is not None and len(row) == header[0]:
            try:
                out[shape] = float(row[header[1]].replace(",", "")) * TO_US[header[2]]
            except ValueError:
                pass
    return out


before = mgraph_run(os.path.join(scratch, "mgraph-before.json"))
after = mgraph_run(os.path.join(scratch, "mgraph-after.json"))
with open(os.path.join(scratch, "peers", "results.json")) as f:
    peers = json.load(f)
with open(os.path.join(scratch, "floor.out"), errors="replace") as f:
    floor_text = f.read()
floor = floor_times(floor_text)
if env["CMP_FLOOR"] != "none" and not floor:
    print("compare.sh: warning: no time per shape found in the floor's output; its first lines:",
          *floor_text.splitlines()[:10], sep="\n  ", file=sys.stderr)


def fmt(x):
    if x is None:
        return "—"
    if x >= 1000:
        return f"{x:,.0f}"
    if x >= 100:
        return f"{x:.0f}"
    if x >= 10:
        return f"{x:.1f}"
    return f"{x:.2f}" if x >= 0.1 else f"{x:.3f}"


def ratio(a, b):
    if a is None or b is None or b == 0:
        return None
    return a / b


def fmt_ratio(r):
    if r is None:
        return "—"
    return f"{r:.0f}×" if r >= 100 else f"{r:.1f}×" if r >= 10 else f"{r:.2f}×"


rows = []
for shape in shapes:
    runs = [r for r in peers["results"] if r["shape"] == shape]
    good = [r for r in runs if not r.get("error") and r.get("verified") and r.get("medianUs") is not None]
    fastest = min(good, key=lambda r: r["medianUs"]) if good else None
    mg = [t for t in (before.get(shape), after.get(shape)) if t is not None]
    mgraph = min(mg) if mg else None
    fl = floor.get(shape)
    rows.append({
        "shape": shape,
        "mgraph_us": mgraph,
        "mgraph_before_us": before.get(shape),
        "mgraph_after_us": after.get(shape),
        "fastest_peer": fastest["peer"] if fastest else None,
        "fastest_peer_us": fastest["medianUs"] if fastest else None,
        "floor_us": fl,
        "peer_over_mgraph": ratio(fastest["medianUs"] if fastest else None, mgraph),
        "mgraph_over_floor": ratio(mgraph, fl),
        "peers_us": {r["peer"]: r["medianUs"] for r in good},
        "peers_failed": {r["peer"]: r.get("error") or "checksum differs from the reference"
                         for r in runs if r not in good},
    })

title = "mgraph, fastest peer and floor: µs per update (real time)"
if quick:
    title += " — QUICK MODE: smoke run, NOT for reporting"
print(f"## {title}\n")
print("| shape | mgraph | mgraph before / after | fastest peer | peer | floor "
      "| fastest peer ÷ mgraph | mgraph ÷ floor |")
print("|---|---:|---:|---|---:|---:|---:|---:|")
for r in rows:
    print(f"| {r['shape']} | {fmt(r['mgraph_us'])} "
          f"| {fmt(r['mgraph_before_us'])} / {fmt(r['mgraph_after_us'])} "
          f"| {r['fastest_peer'] or '—'} | {fmt(r['fastest_peer_us'])} | {fmt(r['floor_us'])} "
          f"| {fmt_ratio(r['peer_over_mgraph'])} | {fmt_ratio(r['mgraph_over_floor'])} |")
notes = [f"- {r['shape']}: {peer} left out: {why}"
         for r in rows for peer, why in r["peers_failed"].items()]
if notes:
    print("\n" + "\n".join(notes))
meta = {
    "quick": quick,
    "started_utc": env["CMP_STARTED"],
    "finished_utc": env["CMP_FINISHED"],
    "load_average_before": env["CMP_LOAD_BEFORE"],
    "load_average_after": env["CMP_LOAD_AFTER"],
    "commit": env["CMP_COMMIT"],
    "mgraph_options": env["CMP_MGRAPH_OPTS"],
    "peer_options": env["CMP_PEER_OPTS"],
    "peers_meta": peers.get("meta"),
    "peer_versions": peers.get("versions"),
    "floor": "not run" if env["CMP_FLOOR"] == "none" else "g++ -O2 -march=native",
}
print(f"\nWindow {meta['started_utc']} – {meta['finished_utc']}; load average (1, 5, 15 min) "
      f"before {meta['load_average_before']}, after {meta['load_average_after']}; "
      f"commit {meta['commit']}.")
if env["CMP_JSON"]:
    with open(env["CMP_JSON"], "w") as f:
        json.dump({"meta": meta, "unit": "us per update, real time", "shapes": rows}, f, indent=1)
        f.write("\n")
    print(f"compare.sh: wrote {env['CMP_JSON']}", file=sys.stderr)
PY
