#!/usr/bin/env bash
# The benchmark harness in --smoke mode (1 round, ~1 s per workload, 100 idle
# connections), every path (raw, Ambit, HAProxy, stunnel chains; the waypoint's
# HTTP and TCP paths, the nginx and HAProxy L7 chains) into a
# temp dir; then the JSON and the generated report are checked, and that no
# cluster, namespace or process of the run is left. Everything is removed on
# exit, pass or fail.
set -euo pipefail
BIN="$(cd "$1" && pwd)"
if [ "$(id -u)" -ne 0 ]; then
  echo "SKIP: needs root (network namespaces)"
  exit 77
fi
HERE="$(cd "$(dirname "$0")" && pwd)"
REPO="$(cd "$HERE/../../.." && pwd)"
PY=/usr/bin/python3
TAG="e2ebench$$"
TAG="${TAG:0:16}"
WORK=$(mktemp -d "/tmp/ambit-$TAG.XXXXXX")
RUN_PID=""

cleanup() {
  local rc=$?
  set +e
  if [ -n "$RUN_PID" ] && kill -0 "$RUN_PID" 2>/dev/null; then
    kill -TERM "$RUN_PID"; wait "$RUN_PID"  # the harness cleans up on SIGTERM
  fi
  for role in main w1 full policy http; do
    "$BIN/ambitctl" --cluster "$TAG$role" cluster down >/dev/null 2>&1
  done
  rm -rf "$WORK"
  exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM

for tool in hey wrk iperf3 haproxy stunnel4 nginx openssl curl; do
  command -v "$tool" >/dev/null || { echo "FAIL: $tool is missing (scripts/deps.txt; make deps)" >&2; exit 1; }
done
"$PY" -c 'import matplotlib' || { echo "FAIL: python3-matplotlib is missing (make deps)" >&2; exit 1; }

start=$(date +%s)
"$PY" "$REPO/bench/harness/run.py" --smoke --bin-dir "$BIN" --results-dir "$WORK/results" \
  --cluster-tag "$TAG" &
RUN_PID=$!
wait "$RUN_PID"
RUN_PID=""
echo "--- harness finished in $(( $(date +%s) - start )) s"
"$PY" "$REPO/bench/harness/report.py" "$WORK/results/latest.json" --out "$WORK/performance.md" \
  --plots "$WORK/performance" --notes "$REPO/bench/notes.md"
"$PY" "$HERE/check_smoke.py" "$WORK/results/latest.json" "$WORK/performance.md" "$WORK/performance"

# Nothing of the run is left: namespaces, state directories, processes.
left=$(ip netns list | grep -c "^ambit-$TAG" || true)
[ "$left" -eq 0 ] || { echo "FAIL: $left namespaces of $TAG left" >&2; exit 1; }
for role in main w1 full policy http; do
  [ ! -e "/var/lib/ambit/$TAG$role" ] || { echo "FAIL: /var/lib/ambit/$TAG$role left" >&2; exit 1; }
done
if ls -d /var/tmp/ambit-bench-* >/dev/null 2>&1; then
  for d in /var/tmp/ambit-bench-*; do
    # Another run may be going on; only flag dirs whose configs name our clusters.
    if grep -rqs "$TAG" "$d"; then echo "FAIL: work dir $d left" >&2; exit 1; fi
  done
fi
echo PASS
