#!/usr/bin/env bash
# Policies that target a waypoint (targetRefs to its Gateway).
# Waypoint fail-closed (docs/authorization-policy.md, an Ambit extension):
# while an AuthorizationPolicy targets a waypoint, the Services bound to it
# carry ambit.io/waypoint-required and ztunnel refuses their traffic while
# the waypoint has no ready pod, instead of sending it direct as Istio does
# (which would skip the waypoint's policies).
# Namespace "mesh" ambient with waypoint "waypoint" (for services) bound by
# istio.io/use-waypoint; client on node1, nginx "web" on node2.
#  1. A policy targets the waypoint: node1's ztunnel marks web's Service
#     waypointRequired; traffic goes through the waypoint.
#  2. The waypoint pod stops being ready: the client by service name is reset
#     by its own ztunnel (counters.outbound.waypointUnavailable), nothing
#     reaches web; by pod IP (not bound: waypoint-for=service) it still works.
#  3. Mesh config ambit.waypointFailClosed=false: Istio's behaviour, the client
#     by service name goes direct to web; true again: refused again.
#  4. The waypoint is ready again: traffic goes through it.
#  5. A long-lived connection through the waypoint (testdata/ticker.yaml, an
#     endless slow HTTP body) is reset when a DENY for the client that targets
#     the waypoint is applied (the waypoint re-decides its open relays): curl
#     exits 56 long before its 30 s limit, the waypoint counts it in
#     counters.relayed.revoked and logs the policy change.
source "$(dirname "$0")/../mesh/lib.sh" "$1"
source "$(dirname "$0")/lib.sh"

# Lines of node2's ztunnel log for completed inbound connections from the client itself.
direct_inbound() {
  grep -F "access: connection complete" "$STATE/nodes/node2/ztunnel.log" | grep -F direction=inbound |
    grep -c -F "src.identity=spiffe://cluster.local/ns/mesh/sa/client " || true
}
unavailable() { ztunnel_dump node1 | json_get "j['counters']['outbound']['waypointUnavailable']"; }
# wait_required BOOL: until node1's ztunnel shows web's Service waypointRequired == BOOL.
wait_required() {
  local req=""
  for _ in $(seq 1 50); do
    req=$(ztunnel_dump node1 | json_get "[bool(s.get('waypointRequired')) for s in j['services'] if s['name']=='web'][0]" 2>/dev/null || true)
    [ "$req" = "$1" ] && return 0
    sleep 0.1
  done
  expect_eq "web's Service in node1's ztunnel: waypointRequired" "$1" "$req"
}
# fail_closed BOOL: the mesh ConfigMap's ambit.waypointFailClosed.
fail_closed() {
  cat > "$WORK/mesh.yaml" <<YAML
apiVersion: v1
kind: Namespace
metadata: {name: istio-system}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: istio, namespace: istio-system}
data:
  ambit: |
    waypointFailClosed: $1
YAML
  ctl apply -f "$WORK/mesh.yaml" >/dev/null
}

ctl cluster up --nodes 2 >/dev/null
deploy_app
ctl apply -f "$TESTDATA/ns-ambient.yaml" >/dev/null
wait_enrolled yes
wait_waypoint
ctl apply -f "$WP_DATA/ns-ambient-waypoint.yaml" >/dev/null
expect_via_waypoint client http://web/
WEB_IP=$(ctl get pods -n mesh -o json | json_get "[p['ip'] for p in j if p['name']=='web'][0]")
wait_required False

log "1. an ALLOW policy targets the waypoint"
cat > "$WORK/at-waypoint.yaml" <<'YAML'
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata:
  name: waypoint-allow-client
  namespace: mesh
spec:
  targetRefs:
  - {group: gateway.networking.k8s.io, kind: Gateway, name: waypoint}
  action: ALLOW
  rules:
  - from:
    - source:
        principals: ["cluster.local/ns/mesh/sa/client"]
YAML
ctl apply -f "$WORK/at-waypoint.yaml" >/dev/null
wait_required True
expect_via_waypoint client http://web/

log "2. the waypoint pod is not ready: fail closed"
waypoint_down
before_unavailable=$(unavailable)
before_direct=$(direct_inbound)
expect_outcome "client by service name is refused" client http://web/ 56
sleep 0.3
[ "$(unavailable)" -gt "$before_unavailable" ] ||
  fail "node1's ztunnel did not count waypointUnavailable ($before_unavailable -> $(unavailable))"
expect_eq "direct connections from the client at web's ztunnel" "$before_direct" "$(direct_inbound)"
expect_outcome "client by pod IP (not bound to the waypoint) gets the page" client "http://$WEB_IP/" 0

log "3. ambit.waypointFailClosed=false: Istio's direct fallback"
fail_closed false
wait_required False
before_direct=$(direct_inbound)
expect_outcome "client by service name goes direct" client http://web/ 0
sleep 0.3
[ "$(direct_inbound)" -gt "$before_direct" ] || fail "web's ztunnel saw no direct connection from the client"
fail_closed true
wait_required True
expect_outcome "fail closed again: client by service name is refused" client http://web/ 56

log "4. the waypoint is back"
waypoint_up
expect_via_waypoint client http://web/

log "5. a DENY targeting the waypoint closes an open relay"
ctl apply -f "$WP_DATA/ticker.yaml" --wait --timeout 60 >/dev/null
revoked_before=$(waypoint_dump "j['counters']['relayed']['revoked']")
active_before=$(waypoint_dump "j['counters']['relayed']['active']")
start=$(date +%s)
( rc=0
  ctl exec mesh/client -- curl -sS -N --max-time 30 -o /tmp/ticks http://ticker:9000/ \
    2>"$WORK/ticker.err" || rc=$?
  echo "$rc" > "$WORK/ticker.rc" ) &
ticker=$!
for _ in $(seq 1 50); do
  [ "$(waypoint_dump "j['counters']['relayed']['active']")" -gt "$active_before" ] && break
  sleep 0.1
done
[ "$(waypoint_dump "j['counters']['relayed']['active']")" -gt "$active_before" ] ||
  fail "the ticker connection is not being relayed by the waypoint"
sleep 1
cat > "$WORK/deny-at-waypoint.yaml" <<'YAML'
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata:
  name: waypoint-deny-client
  namespace: mesh
spec:
  targetRefs:
  - {group: gateway.networking.k8s.io, kind: Gateway, name: waypoint}
  action: DENY
  rules:
  - from:
    - source:
        principals: ["cluster.local/ns/mesh/sa/client"]
YAML
ctl apply -f "$WORK/deny-at-waypoint.yaml" >/dev/null
wait "$ticker" || true
took=$(( $(date +%s) - start ))
rc=$(cat "$WORK/ticker.rc")
log "the ticker connection ended after ${took}s with curl exit $rc ($(cat "$WORK/ticker.err"))"
expect_eq "curl exit for the connection the waypoint closed (reset)" 56 "$rc"
[ "$took" -lt 15 ] || fail "the connection was not closed promptly (${took}s)"
ticks=$(wc -l < "$STATE/pods/mesh_client/tmp/ticks")
[ "$ticks" -ge 5 ] || fail "the client got $ticks ticks before the reset, want >= 5"
expect_eq "waypoint counters.relayed.revoked" "$((revoked_before + 1))" \
  "$(waypoint_dump "j['counters']['relayed']['revoked']")"
ctl logs "mesh/$WP" | grep -F "direction=waypoint" |
  grep -q -F 'error="connection closed due to policy change: explicitly denied by: mesh/waypoint-deny-client"' ||
  fail "the waypoint did not log the relay it closed: $(ctl logs "mesh/$WP" | tail -5)"
expect_outcome "new connections are refused by the waypoint" client http://web/ 56

ctl cluster down
expect_cluster_gone
echo PASS
