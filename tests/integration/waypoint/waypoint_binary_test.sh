#!/usr/bin/env bash
# The waypoint binary as ambitd runs it: starts without ambitd (it keeps
# retrying), binds HBONE and the side servers, reports not-ready naming what it
# waits for, exits cleanly on /quitquitquit and on SIGTERM, and refuses bad
# invocations with a message. Usage: waypoint_binary_test.sh <path to waypoint>
set -euo pipefail
WP="$1"
DIR="$(mktemp -d /tmp/ambit-wp-bin-XXXXXX)"
PID=""
cleanup() {
  if [ -n "$PID" ] && kill -0 "$PID" 2>/dev/null; then kill -9 "$PID" 2>/dev/null || true; fi
  rm -rf "$DIR"
}
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; echo "--- log:" >&2; cat "$DIR/log" >&2 || true; exit 1; }

start() {
  mkdir -p "$DIR/nodes/node1"
  echo "token-for-node1" >"$DIR/nodes/node1/credential"
  NODE_NAME=node1 POD_NAMESPACE=shop "$WP" --name waypoint --xds-address "unix:$DIR/ambitd.sock" \
    --node-credential-dir "$DIR/nodes" --hbone-address 127.0.0.1 --hbone-port 0 \
    --admin-port 0 --metrics-port 0 --readiness-port 0 --status-address 127.0.0.1 \
    --drain-seconds 1 "$@" >"$DIR/log" 2>&1 &
  PID=$!
  for _ in $(seq 1 100); do
    grep -q "HBONE server listening" "$DIR/log" && break
    kill -0 "$PID" 2>/dev/null || fail "waypoint exited at start"
    sleep 0.05
  done
  ADMIN=$(grep -o 'admin server listening on [0-9.:]*' "$DIR/log" | awk '{print $NF}')
  READY=$(grep -o 'readiness server listening on [0-9.:]*' "$DIR/log" | awk '{print $NF}')
  HBONE=$(grep -o 'HBONE server listening on [0-9.:]*' "$DIR/log" | awk '{print $NF}')
  [ -n "$ADMIN" ] && [ -n "$READY" ] && [ -n "$HBONE" ] || fail "servers did not start"
}

wait_exit() {
  for _ in $(seq 1 100); do
    kill -0 "$PID" 2>/dev/null || break
    sleep 0.05
  done
  kill -0 "$PID" 2>/dev/null && fail "waypoint did not exit"
  set +e
  wait "$PID"
  local rc=$?
  set -e
  PID=""
  [ "$rc" -eq 0 ] || fail "exit status $rc"
}

start
code=$(curl -s -o "$DIR/ready" -w '%{http_code}' "http://$READY/healthz/ready")
[ "$code" = 503 ] || fail "readiness $code, want 503"
grep -q "not ready: certificate xds" "$DIR/ready" || fail "readiness body: $(cat "$DIR/ready")"
curl -sf "http://$ADMIN/config_dump" >"$DIR/dump" || fail "config_dump"
python3 - "$DIR/dump" <<'PY' || fail "config_dump: $(cat "$DIR/dump")"
import json, sys
j = json.load(open(sys.argv[1]))
assert j["waypoint"]["identity"] == "spiffe://cluster.local/ns/shop/sa/waypoint", j["waypoint"]
assert j["waypoint"]["service"] == "shop/waypoint.shop.svc.cluster.local", j["waypoint"]
assert j["config"]["node"] == "node1", j["config"]
assert j["counters"]["relayed"]["hbone"] == 0
for key in ("workloads", "services", "certificates", "xds", "readiness"):
    assert key in j, key
PY
[ "$(curl -s -o /dev/null -w '%{http_code}' "http://$ADMIN/quitquitquit")" = 405 ] || fail "GET quit"
curl -sf -X POST "http://$ADMIN/quitquitquit" >/dev/null || fail "POST quit"
wait_exit
grep -q "waypoint stopped" "$DIR/log" || fail "no clean stop"

start
kill -TERM "$PID"
wait_exit
grep -q "received SIGTERM, draining" "$DIR/log" || fail "SIGTERM not handled"

# Bad invocations fail with a message.
if "$WP" --xds-address unix:/x >"$DIR/out" 2>&1; then fail "missing --name accepted"; fi
grep -q -- "--name" "$DIR/out" || fail "no message about --name: $(cat "$DIR/out")"
if env -u NODE_NAME "$WP" --name w --namespace shop --xds-address unix:/x >"$DIR/out" 2>&1; then
  fail "missing --node accepted"
fi
grep -q -- "--node" "$DIR/out" || fail "no message about --node: $(cat "$DIR/out")"
if NODE_NAME=n "$WP" --name w --namespace shop --xds-address unix:/x --credential-file "$DIR/none" \
  --hbone-port 0 --admin-port 0 --metrics-port 0 --readiness-port 0 --status-address 127.0.0.1 \
  >"$DIR/out" 2>&1; then
  fail "missing credential file accepted"
fi
grep -q "$DIR/none" "$DIR/out" || fail "credential error does not name the file: $(cat "$DIR/out")"
echo PASS
