# Shared helpers for the mesh e2e tests (sourced, bash, after ../cluster/lib.sh
# conventions). Usage: source lib.sh BIN_DIR; CLUSTER is unique, `ctl` runs
# ambitctl against it; the cluster is removed on exit, pass or fail.
source "$(dirname "${BASH_SOURCE[0]}")/../cluster/lib.sh" "$1"
TESTDATA="$(cd "$(dirname "${BASH_SOURCE[0]}")/testdata" && pwd)"
WORK=$(mktemp -d "/tmp/ambit-$CLUSTER.XXXXXX")
MARK="mk${RANDOM}x$$"
CAP_PID=""

mesh_cleanup() {
  local rc=$?
  if [ -n "$CAP_PID" ]; then kill "$CAP_PID" 2>/dev/null || true; fi
  if [ $rc -ne 0 ] && [ -d "$STATE" ]; then
    for n in node1 node2; do
      echo "=== ztunnel $n log (last 25 lines)"; tail -n 25 "$STATE/nodes/$n/ztunnel.log" 2>/dev/null || true
    done
  fi
  [ -n "${KEEP_WORK:-}" ] || rm -rf "$WORK"
  set +e
  (exit $rc)
  cleanup  # the cluster lib's: dumps ambitd's log on failure, removes the cluster, exits rc
}
trap mesh_cleanup EXIT

node_ns() { echo "ambit-$CLUSTER-$1"; }       # node_ns node1
pod_ns() { echo "ambit-$CLUSTER-pod-$1_$2"; } # pod_ns NS NAME

# The app of testdata/app.yaml with this run's marker; waits until ready.
deploy_app() {
  sed "s/@MARK@/$MARK/g" "$TESTDATA/app.yaml" > "$WORK/app.yaml"
  ctl apply -f "$WORK/app.yaml" --wait --timeout 60 >/dev/null
}

# Until ambitd (e.g. just restarted) reports every pod of namespace mesh Running.
wait_running() {
  local i
  for i in $(seq 1 100); do
    [ "$(ctl get pods -n mesh -o json 2>/dev/null | json_get "all(p['phase']=='Running' for p in j) and len(j)>0" 2>/dev/null)" = True ] && return 0
    sleep 0.1
  done
  fail "pods of namespace mesh not Running within 10 s"
}

# "name:pid name:pid" of every container of namespace mesh.
mesh_pids() {
  ctl get pods -n mesh -o json |
    json_get "' '.join(sorted(p['name']+':'+str(c['pid']) for p in j for c in p['containers']))"
}

# True if the pod's netns holds the redirection to 15001 (either backend).
# (Output is read whole first: `| grep -q` under pipefail fails when grep exits
# early and the writer gets SIGPIPE.)
redirected() {
  local rules
  rules=$(ip netns exec "$(pod_ns mesh "$1")" sh -c 'nft list ruleset 2>/dev/null; iptables-save 2>/dev/null' || true)
  grep -q 15001 <<<"$rules"
}

# wait_enrolled yes|no: both pods get (or lose) their redirection.
wait_enrolled() {
  local want=$1 i
  for i in $(seq 1 100); do
    if [ "$want" = yes ] && redirected client && redirected web; then return 0; fi
    if [ "$want" = no ] && ! redirected client && ! redirected web; then return 0; fi
    sleep 0.1
  done
  fail "pods did not become enrolled=$want within 10 s"
}

# capture_start FILE [NODE]: tcpdump on every interface of the node's netns.
capture_start() {
  ip netns exec "$(node_ns "${2:-node1}")" tcpdump --immediate-mode -B 8192 -i any -nn -s 0 -U -w "$1" tcp 2>"$1.log" &
  CAP_PID=$!
  local i
  for i in $(seq 1 50); do
    grep -q "listening on" "$1.log" 2>/dev/null && return 0
    sleep 0.1
  done
  fail "tcpdump did not start: $(cat "$1.log")"
}
capture_stop() {
  sleep 0.5
  kill -INT "$CAP_PID" 2>/dev/null || true
  wait "$CAP_PID" 2>/dev/null || true
  CAP_PID=""
}

# One request by service name carrying the marker in path and header; checks the page.
request_page() {
  local page
  page=$(ctl exec mesh/client -- curl -sS --max-time 10 -H "X-Mark: $MARK-req" "http://web/q/$MARK-req") ||
    fail "curl http://web/ failed"
  expect_eq "page" "page $MARK-resp" "$page"
}

# Packets in the capture matching a tcpdump filter.
count_packets() { tcpdump -r "$1" -nn "$2" 2>/dev/null | wc -l; }
# Segments to 15008 whose payload starts a TLS 1.2/1.3 record (handshake 0x16
# or application data 0x17, legacy version 0x0303).
count_tls_records() {
  local off='((tcp[12:1] & 0xf0) >> 2)'
  count_packets "$1" "tcp dst port 15008 and (tcp[$off:1] = 0x16 or tcp[$off:1] = 0x17) and tcp[$off+1:2] = 0x0303"
}
marker_bytes() { grep -a -c -- "$MARK" "$1" || true; }

# expect_encrypted FILE: TLS to 15008 and not one byte of the marker.
expect_encrypted() {
  local tls markers plain
  tls=$(count_tls_records "$1"); markers=$(marker_bytes "$1"); plain=$(count_packets "$1" 'tcp port 80')
  log "capture $1: $tls TLS records to 15008, $plain packets on port 80, marker in $markers frames"
  [ "$tls" -gt 0 ] || fail "no TLS record to port 15008 in the capture"
  expect_eq "marker occurrences in the capture" 0 "$markers"
  expect_eq "packets on port 80" 0 "$plain"
}
# expect_plaintext FILE: the request went in clear to port 80 (the marker is
# readable). Teardown of earlier pooled HBONE connections may still show up on
# 15008, so that port is not counted here.
expect_plaintext() {
  local markers plain
  markers=$(marker_bytes "$1"); plain=$(count_packets "$1" 'tcp port 80')
  log "capture $1: marker in $markers frames, $plain packets on port 80"
  [ "$markers" -gt 0 ] || fail "marker not in the plaintext capture (the check could not fail)"
  [ "$plain" -gt 0 ] || fail "no packets on port 80 in the plaintext capture"
}

# encrypted_exchange NAME: captures one request on node1 and checks it is encrypted.
encrypted_exchange() {
  capture_start "$WORK/$1.pcap"
  request_page
  capture_stop
  expect_encrypted "$WORK/$1.pcap"
}
plaintext_exchange() {
  capture_start "$WORK/$1.pcap"
  request_page
  capture_stop
  expect_plaintext "$WORK/$1.pcap"
}

# ztunnel admin (config_dump section) of a node, from inside the node's netns.
ztunnel_dump() {
  ip netns exec "$(node_ns "$1")" curl -sS --max-time 5 "http://127.0.0.1:15000/config_dump"
}
