#!/usr/bin/env bash
# `make bench`: the whole-system benchmark of issue #5 (docs/performance.md).
# Usage: scripts/bench.sh [BUILD_DIR] [options of bench/harness/run.py...]
# Runs the harness as root (it brings up its own local clusters and removes them,
# pass, fail or Ctrl-C), writes bench/results/<timestamp>.json and latest.json,
# runs the Google Benchmark micro-benchmarks (scripts/microbench.sh), then
# regenerates docs/performance.md and docs/performance/*.png from both.
# A section measured on its own (e.g. --workloads http_cpu,http_latency_c1,http_rps,http_memory)
# is added to the page of the last full run with report.py's --merge RESULT.json (and its
# micro-benchmarks with a second --micro): the page names the run each workload comes from.
set -euo pipefail
build="${1:-build}"
[ $# -gt 0 ] && shift
repo="$(cd "$(dirname "$0")/.." && pwd)"
cd "$repo"
if [ "$(id -u)" -ne 0 ]; then
  echo "bench: needs root (network namespaces); try: sudo make bench" >&2
  exit 1
fi
# Debian's python3 (matplotlib comes from python3-matplotlib), whatever python3 is on PATH.
py=/usr/bin/python3
start=$(date +%s)
"$py" bench/harness/run.py --bin-dir "$build/bin" --results-dir bench/results "$@"
newest="bench/results/$(readlink bench/results/latest.json)"
# The Google Benchmark micro-benchmarks (hot functions), into bench/results/micro-<timestamp>.json.
scripts/microbench.sh "$build"
micro=$(ls -t bench/results/micro-*.json | head -1)
"$py" bench/harness/report.py bench/results/latest.json --source-name "$newest" --micro "$micro" \
  --out docs/performance.md --plots docs/performance --notes bench/notes.md
echo "bench: done in $(( $(date +%s) - start )) s; see docs/performance.md"
