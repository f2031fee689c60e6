# Shared helpers for the local-cluster e2e tests (sourced, bash).
# Usage: source lib.sh BIN_DIR; then CLUSTER is a unique name, `ctl` runs
# ambitctl against it, and the cluster is removed on exit, pass or fail.
set -euo pipefail

BIN="$1"
CTL="$BIN/ambitctl"
if [ "$(id -u)" -ne 0 ]; then
  echo "SKIP: needs root (network namespaces)"
  exit 77
fi
# Unique per run: letters first, at most 20 characters.
CLUSTER="e2e$(basename "$0" .sh | tr -cd 'a-z' | cut -c1-6)$$"
CLUSTER="${CLUSTER:0:20}"
STATE="/var/lib/ambit/$CLUSTER"
FAILED=0

ctl() { "$CTL" --cluster "$CLUSTER" "$@"; }

log() { echo "--- $*"; }
fail() {
  echo "FAIL: $*" >&2
  FAILED=1
  exit 1
}
expect_eq() {  # expect_eq WHAT EXPECTED ACTUAL
  if [ "$2" != "$3" ]; then fail "$1: expected '$2', got '$3'"; fi
}

cleanup() {
  local rc=$?
  if [ $rc -ne 0 ] && [ -d "$STATE" ]; then
    echo "=== ambitd log (last 40 lines)"; tail -n 40 "$STATE/ambitd.log" 2>/dev/null || true
  fi
  "$CTL" --cluster "$CLUSTER" cluster down >/dev/null 2>&1 || true
  exit $rc
}
trap cleanup EXIT

# Asserts that nothing of $CLUSTER is left: namespaces, processes, files.
expect_cluster_gone() {
  local left
  left=$(ip netns list | grep -c "^ambit-$CLUSTER-" || true)
  expect_eq "namespaces left" 0 "$left"
  if [ -e "$STATE" ]; then fail "state dir $STATE still exists"; fi
  if pgrep -f -- "--cluster $CLUSTER\$" >/dev/null; then fail "ambitd of $CLUSTER still runs"; fi
  # No process carries the cluster's environment marker.
  local pid
  for pid in $(ls /proc | grep -E '^[0-9]+$'); do
    if tr '\0' '\n' < "/proc/$pid/environ" 2>/dev/null | grep -qx "AMBIT_CLUSTER=$CLUSTER"; then
      if [ "$pid" != "$$" ]; then fail "process $pid ($(cat /proc/$pid/comm 2>/dev/null)) of $CLUSTER still runs"; fi
    fi
  done
}

# json_get EXPR: evaluates a python expression over the JSON on stdin (bound to j).
json_get() { python3 -c "import json,sys; j=json.load(sys.stdin); print($1)"; }
