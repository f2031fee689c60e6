#!/usr/bin/env bash
# Istio's pattern against bypassing a waypoint
# (https://istio.io/latest/docs/ambient/usage/l4-policy/, "Considerations for
# waypoints"; https://istio.io/latest/docs/ambient/usage/l7-features/): the
# destination gets an ALLOW policy naming only the waypoint's principal, so
# only traffic that went through the waypoint reaches it.
# Namespace "mesh" ambient with waypoint "waypoint" (for services) bound by
# istio.io/use-waypoint; client on node1, nginx "web" on node2.
#  1. With the policy on web: the client by service name (through the
#     waypoint) gets the page; the same client by pod IP (which skips a
#     waypoint-for=service waypoint) is reset by web's ztunnel (curl 56), and
#     that ztunnel logs the denial with the client's identity.
#  2. Policy deleted: both get the page again.
#  3. The cluster's ztunnels run with --waypoint-fail-open (Istio's fallback):
#     with a policy targeting the waypoint and the waypoint pod not ready,
#     service traffic goes direct, and the destination's waypoint-only policy
#     still refuses it; without that policy the direct connection gets the
#     page; with the waypoint back, traffic goes through it again.
source "$(dirname "$0")/../mesh/lib.sh" "$1"
source "$(dirname "$0")/lib.sh"

# Lines of node2's ztunnel log matching all the given fixed strings.
node2_lines() {
  local f="$STATE/nodes/node2/ztunnel.log" out
  out=$(cat "$f")
  for s in "$@"; do out=$(grep -F -- "$s" <<<"$out" || true); done
  [ -z "$out" ] && echo 0 || wc -l <<<"$out"
}

ctl cluster up --nodes 2 --ztunnel-arg=--waypoint-fail-open >/dev/null
deploy_app
ctl apply -f "$TESTDATA/ns-ambient.yaml" >/dev/null
wait_enrolled yes
expect_eq "node1 ztunnel waypointFailOpen" True "$(ztunnel_dump node1 | json_get "j['config']['waypointFailOpen']")"
request_page
wait_waypoint
ctl apply -f "$WP_DATA/ns-ambient-waypoint.yaml" >/dev/null
expect_via_waypoint client http://web/
WEB_IP=$(ctl get pods -n mesh -o json | json_get "[p['ip'] for p in j if p['name']=='web'][0]")
expect_outcome "no policy: client by pod IP (direct) gets the page" client "http://$WEB_IP/" 0

log "1. ALLOW only the waypoint's principal on app=web"
cat > "$WORK/only-waypoint.yaml" <<'YAML'
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata:
  name: web-only-via-waypoint
  namespace: mesh
spec:
  selector:
    matchLabels: {app: web}
  action: ALLOW
  rules:
  - from:
    - source:
        principals: ["cluster.local/ns/mesh/sa/waypoint"]
YAML
denied_log=(direction=inbound "src.identity=spiffe://cluster.local/ns/mesh/sa/client "
            "policy rejection: allow policies exist, but none allowed")
denied_before=$(node2_lines "${denied_log[@]}")
ctl apply -f "$WORK/only-waypoint.yaml" >/dev/null
expect_outcome "client by pod IP (skips the waypoint) is reset" client "http://$WEB_IP/" 56
expect_via_waypoint client http://web/
sleep 0.3
denied_after=$(node2_lines "${denied_log[@]}")
[ "$denied_after" -gt "$denied_before" ] ||
  fail "node2's ztunnel logged no denial of the client's direct connection ($denied_before -> $denied_after)"

log "2. policy deleted: both paths work"
ctl delete -f "$WORK/only-waypoint.yaml" >/dev/null
expect_outcome "client by pod IP gets the page" client "http://$WEB_IP/" 0
expect_via_waypoint client http://web/

log "3. waypoint down with ztunnel --waypoint-fail-open: traffic goes direct, the pattern still holds"
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
ctl apply -f "$WORK/only-waypoint.yaml" >/dev/null
# The waypoint policy marks web's Service as needing its waypoint.
for _ in $(seq 1 50); do
  req=$(ztunnel_dump node1 | json_get "[s.get('waypointRequired') for s in j['services'] if s['name']=='web'][0]" 2>/dev/null || true)
  [ "$req" = True ] && break
  sleep 0.1
done
expect_eq "web's Service in node1's ztunnel: waypointRequired" True "$req"
expect_via_waypoint client http://web/
waypoint_down
# Reset by web's ztunnel (a denial logged there), not by the client's.
ok=""
for _ in $(seq 1 50); do
  denied_before=$(node2_lines "${denied_log[@]}")
  rc=$(curl_rc client http://web/)
  sleep 0.2
  if [ "$rc" = 56 ] && [ "$(node2_lines "${denied_log[@]}")" -gt "$denied_before" ]; then ok=1; break; fi
done
[ -n "$ok" ] || fail "waypoint down, fail-open: the direct connection was not refused by web's ztunnel (curl exit $rc)"
log "waypoint down, fail-open: direct by service name is reset by web's waypoint-only policy"
ctl delete -f "$WORK/only-waypoint.yaml" >/dev/null
direct_before=$(node2_lines direction=inbound "src.identity=spiffe://cluster.local/ns/mesh/sa/client " "access: connection complete")
expect_outcome "waypoint down, fail-open, no destination policy: direct by service name gets the page" \
  client http://web/ 0
sleep 0.3
direct_after=$(node2_lines direction=inbound "src.identity=spiffe://cluster.local/ns/mesh/sa/client " "access: connection complete")
[ "$direct_after" -gt "$direct_before" ] ||
  fail "node2's ztunnel saw no direct connection from the client while the waypoint was down"
waypoint_up
expect_via_waypoint client http://web/

ctl cluster down
expect_cluster_gone
echo PASS
