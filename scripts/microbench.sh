#!/usr/bin/env bash
# Runs every Google Benchmark binary of a build (<build>/bin/*_bench: route,
# pool, policy evaluation, copy loop, xDS state) and writes one JSON file,
# bench/results/micro-<UTC timestamp>.json:
#   {"timestamp": ..., "host": ..., "binaries": {"<name>": <Google Benchmark JSON>}}
# Each benchmark runs REPETITIONS times with random interleaving (so machine
# noise spreads over all of them) and only the aggregates (mean, median,
# stddev, cv) are kept; quote the medians. Console output goes to stdout.
#
# Usage: scripts/microbench.sh [build-dir]
#   MIN_TIME=0.5     seconds per benchmark and repetition
#   REPETITIONS=3
#   FILTER=regex     only benchmarks matching (Google Benchmark --benchmark_filter)
set -euo pipefail
build="${1:-build}"
root="$(cd "$(dirname "$0")/.." && pwd)"
min_time="${MIN_TIME:-0.5}"
repetitions="${REPETITIONS:-3}"
filter="${FILTER:-.}"

shopt -s nullglob
bins=("$build"/bin/*_bench)
if [ "${#bins[@]}" -eq 0 ]; then
  echo "microbench: no *_bench binaries in $build/bin (build first: make build)" >&2
  exit 1
fi

stamp="$(date -u +%Y%m%dT%H%M%SZ)"
mkdir -p "$root/bench/results"
out="$root/bench/results/micro-$stamp.json"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

for bin in "${bins[@]}"; do
  name="$(basename "$bin")"
  echo "microbench: $name"
  "$bin" --benchmark_min_time="$min_time" --benchmark_repetitions="$repetitions" \
    --benchmark_enable_random_interleaving=true --benchmark_report_aggregates_only=true \
    --benchmark_filter="$filter" \
    --benchmark_out="$work/$name.json" --benchmark_out_format=json
done

python3 - "$work" "$out" "$stamp" <<'PY'
import json, os, socket, sys
work, out, stamp = sys.argv[1:4]
doc = {"timestamp": stamp, "host": socket.gethostname(), "binaries": {}}
for f in sorted(os.listdir(work)):
    with open(os.path.join(work, f)) as fh:
        doc["binaries"][f[:-len(".json")]] = json.load(fh)
with open(out, "w") as fh:
    json.dump(doc, fh, indent=1)
PY
echo "microbench: wrote $out"
