#!/usr/bin/env bash
# Memory of the two ztunnels with N idle app connections through the mesh.
#
#   sudo bench/memory/measure.sh [N] [BIN_DIR]     (default N=1000, BIN_DIR=build/bin)
#
# Brings up its own 2-node local cluster (unique name, removed on exit), runs
# an accept-and-hold server pod on node2 and a client pod on node1 in an
# ambient namespace, then for each mode (idle: connections only; req: one
# PING/PONG on each) reads both ztunnels' VmRSS before, while N connections
# are held (they ride as HBONE streams in pooled TLS connections) and after
# they close. Prints one JSON object per mode on stdout; progress on stderr.
# MODES="idle" runs one mode only; KEEP=1 leaves the cluster up; ON_HELD=CMD
# runs CMD (with $P1 $P2 the ztunnel pids) while the connections are held.
# Extra ztunnel flags: ZTUNNEL_ARGS="--workers 1" (needs ambitctl --ztunnel-arg).
set -euo pipefail

N=${1:-1000}
BIN=$(cd "${2:-build/bin}" && pwd)
HERE=$(cd "$(dirname "$0")" && pwd)
CLUSTER="mem$$"
STATE="/var/lib/ambit/$CLUSTER"
WORK=$(mktemp -d "/tmp/ambit-$CLUSTER.XXXXXX")
SETTLE=${SETTLE:-3}
# After the connections close: two rounds of ztunnel's memory trimmer (10 s).
CLOSE_WAIT=${CLOSE_WAIT:-22}

ctl() { "$BIN/ambitctl" --cluster "$CLUSTER" "$@"; }
log() { echo "--- $*" >&2; }
cleanup() {
  local rc=$?
  [ -n "${CLIENT_PID:-}" ] && kill "$CLIENT_PID" 2>/dev/null || true
  [ -n "${KEEP:-}" ] || ctl cluster down >/dev/null 2>&1 || true
  rm -rf "$WORK"
  exit $rc
}
trap cleanup EXIT

up_args=(--nodes 2)
for a in ${ZTUNNEL_ARGS:-}; do up_args+=(--ztunnel-arg "$a"); done
ctl cluster up "${up_args[@]}" >/dev/null

cat > "$WORK/app.yaml" <<YAML
apiVersion: v1
kind: Namespace
metadata:
  name: mem
  labels: {istio.io/dataplane-mode: ambient}
---
apiVersion: v1
kind: Pod
metadata: {name: hold, namespace: mem, labels: {app: hold}}
spec:
  nodeName: node2
  serviceAccountName: hold
  containers:
  - name: hold
    image: python:3
    command: ["python3", "$HERE/idle_conns.py", "serve", "8080"]
    ports: [{containerPort: 8080}]
---
apiVersion: v1
kind: Service
metadata: {name: hold, namespace: mem}
spec:
  selector: {app: hold}
  ports: [{name: tcp, port: 8080, targetPort: 8080}]
---
apiVersion: v1
kind: Pod
metadata: {name: client, namespace: mem}
spec:
  nodeName: node1
  serviceAccountName: client
  containers:
  - name: client
    image: python:3
    command: ["sleep", "infinity"]
YAML
ctl apply -f "$WORK/app.yaml" --wait --timeout 60 >/dev/null

zt_pid() {
  python3 -c "import json; print(json.load(open('$STATE/nodes/$1/ztunnel/ztunnel.status'))['pid'])"
}
# "rss_kb anon_kb file_kb threads" of a pid.
mem_of() {
  awk '/^VmRSS/{r=$2} /^RssAnon/{a=$2} /^RssFile/{f=$2} /^Threads/{t=$2} END{print r, a, f, t}' "/proc/$1/status"
}
streams_of() {  # open inbound+outbound HBONE streams a ztunnel reports (best effort)
  ip netns exec "ambit-$CLUSTER-$1" curl -sS --max-time 5 http://127.0.0.1:15000/config_dump 2>/dev/null |
    python3 -c 'import json,sys
j=json.load(sys.stdin)["counters"]
print(j["outbound"].get("streamsOpened", 0), j["inbound"].get("streams", 0))' 2>/dev/null || echo "? ?"
}

CTRL_IN=/tmp/idlectl
CTRL_OUT="$STATE/pods/mem_client/tmp/idlectl"
run_client() {  # run_client N MODE: blocks until it exits
  local n=$1 mode=$2 extra=""
  [ "$mode" = req ] && extra=--req
  rm -rf "$CTRL_OUT"
  ctl exec mem/client -- python3 "$HERE/idle_conns.py" client hold 8080 "$n" "$CTRL_IN" $extra
}
wait_file() {  # wait_file PATH SECONDS
  local i
  for i in $(seq 1 $(( $2 * 10 ))); do
    [ -e "$1" ] && return 0
    sleep 0.1
  done
  echo "timed out waiting for $1" >&2
  return 1
}

# Warm-up: certificates fetched, pooled HBONE connection up on every worker.
for i in 1 2 3; do
  if run_client 8 req & CLIENT_PID=$!; wait_file "$CTRL_OUT/opened" 30; then
    touch "$CTRL_OUT/close"; wait "$CLIENT_PID"; CLIENT_PID=""; break
  fi
  kill "$CLIENT_PID" 2>/dev/null || true; wait "$CLIENT_PID" 2>/dev/null || true; CLIENT_PID=""
  [ $i -lt 3 ] || { echo "warm-up failed" >&2; exit 1; }
  sleep 2
done

P1=$(zt_pid node1); P2=$(zt_pid node2)
log "ztunnel pids: node1 $P1, node2 $P2"
for mode in ${MODES:-idle req}; do
  sleep "$SETTLE"
  read -r b1 ba1 bf1 bt1 < <(mem_of "$P1"); read -r b2 ba2 bf2 bt2 < <(mem_of "$P2")
  cp "/proc/$P1/smaps_rollup" "$WORK/before1"; cp "/proc/$P2/smaps_rollup" "$WORK/before2"
  run_client "$N" "$mode" & CLIENT_PID=$!
  wait_file "$CTRL_OUT/opened" 120
  sleep "$SETTLE"
  read -r h1 ha1 hf1 ht1 < <(mem_of "$P1"); read -r h2 ha2 hf2 ht2 < <(mem_of "$P2")
  s1=$(streams_of node1); s2=$(streams_of node2)
  if [ -n "${ON_HELD:-}" ]; then P1=$P1 P2=$P2 MODE=$mode bash -c "$ON_HELD" >&2; fi
  touch "$CTRL_OUT/close"
  wait "$CLIENT_PID"; CLIENT_PID=""
  sleep "$CLOSE_WAIT"
  read -r a1 aa1 af1 at1 < <(mem_of "$P1"); read -r a2 aa2 af2 at2 < <(mem_of "$P2")
  python3 - <<PY
import json
n = $N
d1, d2 = $h1 - $b1, $h2 - $b2
print(json.dumps({
  "mode": "$mode", "connections": n,
  "rss_kb_before": {"node1": $b1, "node2": $b2},
  "rss_kb_held": {"node1": $h1, "node2": $h2},
  "rss_kb_after_close": {"node1": $a1, "node2": $a2},
  "anon_kb_before": {"node1": $ba1, "node2": $ba2},
  "anon_kb_held": {"node1": $ha1, "node2": $ha2},
  "anon_kb_after_close": {"node1": $aa1, "node2": $aa2},
  "threads": {"node1": $ht1, "node2": $ht2},
  "kb_per_conn": {"node1": round(d1 / n, 2), "node2": round(d2 / n, 2), "sum": round((d1 + d2) / n, 2)},
  "counters_streams_out_in": {"node1": "$s1", "node2": "$s2"},
}))
PY
done
if [ -n "${KEEP:-}" ]; then log "cluster $CLUSTER kept (KEEP set); ztunnel pids $P1 $P2"; fi
