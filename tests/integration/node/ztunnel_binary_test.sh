#!/usr/bin/env bash
# The ztunnel binary as the integrator runs it: starts without ambitd or the
# node agent (it keeps retrying), serves admin/metrics/readiness, reports
# not-ready naming what it waits for, exits cleanly on /quitquitquit and on
# SIGTERM, and refuses bad invocations with a message.
# Usage: ztunnel_binary_test.sh <path to ztunnel>
set -euo pipefail
ZT="$1"
DIR="$(mktemp -d /tmp/ambit-zt-bin-XXXXXX)"
PID=""
cleanup() {
  if [ -n "$PID" ] && kill -0 "$PID" 2>/dev/null; then kill -9 "$PID" 2>/dev/null || true; fi
  rm -rf "$DIR"
}
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; echo "--- log:" >&2; cat "$DIR/log" >&2 || true; exit 1; }

start() {
  "$ZT" --node node1 --xds-address "unix:$DIR/ambitd.sock" --zds-socket "$DIR/zds.sock" \
    --admin-port 0 --metrics-port 0 --readiness-port 0 --status-address 127.0.0.1 \
    --drain-seconds 1 "$@" >"$DIR/log" 2>&1 &
  PID=$!
  for _ in $(seq 1 100); do
    grep -q "readiness server listening" "$DIR/log" && break
    kill -0 "$PID" 2>/dev/null || fail "ztunnel exited at start"
    sleep 0.05
  done
  ADMIN=$(grep -o 'admin server listening on [0-9.:]*' "$DIR/log" | awk '{print $NF}')
  METRICS=$(grep -o 'metrics server listening on [0-9.:]*' "$DIR/log" | awk '{print $NF}')
  READY=$(grep -o 'readiness server listening on [0-9.:]*' "$DIR/log" | awk '{print $NF}')
  [ -n "$ADMIN" ] && [ -n "$READY" ] && [ -n "$METRICS" ] || fail "side servers did not start"
}

wait_exit() {
  for _ in $(seq 1 100); do
    kill -0 "$PID" 2>/dev/null || break
    sleep 0.05
  done
  kill -0 "$PID" 2>/dev/null && fail "ztunnel did not exit"
  set +e
  wait "$PID"
  local rc=$?
  set -e
  PID=""
  [ "$rc" -eq 0 ] || fail "exit status $rc"
}

echo "token-for-node1" >"$DIR/credential"
start --credential-file "$DIR/credential" --pool-max-streams 1
code=$(curl -s -o "$DIR/ready" -w '%{http_code}' "http://$READY/healthz/ready")
[ "$code" = 503 ] || fail "readiness $code, want 503"
grep -q "not ready: xds zds" "$DIR/ready" || fail "readiness body: $(cat "$DIR/ready")"
curl -sf "http://$ADMIN/config_dump" >"$DIR/dump" || fail "config_dump"
grep -q '"node": "node1"' "$DIR/dump" || fail "config_dump lacks the node"
for key in workloads services certificates pods counters xds zds readiness workers; do
  grep -q "\"$key\"" "$DIR/dump" || fail "config_dump lacks $key"
done
python3 - "$DIR/dump" <<'PY' || fail "config_dump workers/poolMaxStreams: $(cat "$DIR/dump")"
import json, sys
d = json.load(open(sys.argv[1]))
w = d["workers"]
assert [x["index"] for x in w] == list(range(d["config"]["workers"])), w
assert all(x["connections"] == 0 and x["bytes"] == 0 for x in w), w
assert d["config"]["poolMaxStreams"] == 1, d["config"]
PY
curl -sf "http://$METRICS/metrics" | grep -q "# TYPE istio_tcp_connections_opened_total counter" \
  || fail "metrics"
[ "$(curl -s -o /dev/null -w '%{http_code}' "http://$ADMIN/quitquitquit")" = 405 ] || fail "GET quit"
curl -sf -X POST "http://$ADMIN/quitquitquit" >/dev/null || fail "POST quit"
wait_exit
grep -q "ztunnel stopped" "$DIR/log" || fail "no clean stop"

start
kill -TERM "$PID"
wait_exit
grep -q "received SIGTERM, draining" "$DIR/log" || fail "SIGTERM not handled"

# Bad invocations fail with a message.
if "$ZT" --node n --xds-address unix:/x --zds-socket /y --pool-max-streams 0 >"$DIR/out" 2>&1; then
  fail "--pool-max-streams 0 accepted"
fi
grep -q -- "--pool-max-streams" "$DIR/out" || fail "no message about --pool-max-streams: $(cat "$DIR/out")"
if "$ZT" --xds-address unix:/x --zds-socket /y >"$DIR/out" 2>&1; then fail "missing --node accepted"; fi
grep -q -- "--node" "$DIR/out" || fail "no message about --node: $(cat "$DIR/out")"
if "$ZT" --node n --xds-address unix:/x --zds-socket /y --credential-file "$DIR/none" \
  --admin-port 0 --metrics-port 0 --readiness-port 0 --status-address 127.0.0.1 >"$DIR/out" 2>&1; then
  fail "missing credential file accepted"
fi
grep -q "$DIR/none" "$DIR/out" || fail "credential error does not name the file: $(cat "$DIR/out")"
echo PASS
