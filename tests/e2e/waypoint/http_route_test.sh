#!/usr/bin/env bash
# An HTTPRoute enforced by the waypoint (docs/waypoint.md "Route tables").
# Namespace "mesh" ambient, bound to waypoint "waypoint"; Service echo has two
# pods, echo-v1 and echo-v2 (python http.server answering "<pod name> <path>").
#  1. No route: curl to http://echo/ reaches both versions (Istio's default route).
#  2. Apply testdata/echo-route.yaml: apply's warning says what is enforced;
#     the waypoint's /config_dump lists the table for echo; /v2/... always
#     answers v2 and every other path v1 (weight 0 never picked).
#  3. A route on Service "plain" (istio.io/use-waypoint: none): apply says it
#     does nothing there, and plain's traffic is not rerouted.
#  4. Delete the route: the table is gone and both versions answer again.
source "$(dirname "$0")/../mesh/lib.sh" "$1"
source "$(dirname "$0")/lib.sh"

# versions URL N: the sorted unique first words of N answers from the client.
versions() {
  local i
  for i in $(seq 1 "$2"); do
    ctl exec mesh/client -- curl -sS --max-time 5 "$1" | awk '{print $1}'
  done | sort -u | tr '\n' ' '
}
# wait_table BOOL: until the waypoint holds (True) or lacks (False) a table for echo.
wait_table() {
  local got=""
  for _ in $(seq 1 100); do
    got=$(waypoint_dump "'echo.mesh.svc.cluster.local' in j['routeTables']['tables']" 2>/dev/null || true)
    [ "$got" = "$1" ] && return 0
    sleep 0.1
  done
  fail "waypoint route table for echo present=$got, want $1: $(waypoint_dump "j['routeTables']")"
}

ctl cluster up --nodes 2 >/dev/null
deploy_app
ctl apply -f "$WP_DATA/echo-versions.yaml" --wait --timeout 60 >/dev/null
ctl apply -f "$TESTDATA/ns-ambient.yaml" >/dev/null
wait_enrolled yes
wait_waypoint
ctl apply -f "$WP_DATA/ns-ambient-waypoint.yaml" >/dev/null
expect_via_waypoint client http://echo/

log "1. no route: both versions answer"
seen=$(versions http://echo/any 30)
expect_eq "versions without a route" "echo-v1 echo-v2 " "$seen"

log "2. the HTTPRoute"
out=$(ctl apply -f "$WP_DATA/echo-route.yaml")
grep -q '(HTTPRoute mesh/echo-split): enforced by the waypoint on Services bound to one' <<<"$out" ||
  fail "apply did not say what is enforced: $out"
grep -q 'fault injection (fixed delay, HTTP and gRPC abort) and mirroring' <<<"$out" ||
  fail "apply did not say fault injection and mirroring are enforced: $out"
wait_table True
expect_eq "routes in echo's table" 2 "$(waypoint_dump "j['routeTables']['tables']['echo.mesh.svc.cluster.local']['routes']")"
expect_eq "/v2 goes to echo-v2" "echo-v2 " "$(versions http://echo/v2/reviews 10)"
expect_eq "the rest goes to echo-v1" "echo-v1 " "$(versions http://echo/reviews 20)"
expect_eq "the path is kept" "echo-v2 /v2/x" "$(ctl exec mesh/client -- curl -sS --max-time 5 http://echo/v2/x | tr -d '\n')"

log "3. a route on a Service without a waypoint does nothing, and apply says so"
cat > "$WORK/plain.yaml" <<'YAML'
apiVersion: v1
kind: Service
metadata: {name: plain, namespace: mesh, labels: {istio.io/use-waypoint: none}}
spec:
  selector: {app: echo, version: v1}
  ports: [{name: http, port: 80, targetPort: http}]
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: plain-route, namespace: mesh}
spec:
  parentRefs: [{group: "", kind: Service, name: plain}]
  rules:
  - backendRefs: [{name: echo-v2, port: 80}]
YAML
out=$(ctl apply -f "$WORK/plain.yaml")
grep -q '(HTTPRoute mesh/plain-route): not enforced for Service plain.mesh.svc.cluster.local: it has no waypoint' <<<"$out" ||
  fail "apply did not say the route does nothing: $out"
expect_outcome "plain resolves and answers" client http://plain/ 0
expect_eq "plain goes direct to echo-v1 (the route does nothing)" "echo-v1 " "$(versions http://plain/ 5)"

log "4. delete the route: the default route again"
ctl delete -f "$WP_DATA/echo-route.yaml" >/dev/null
wait_table False
seen=$(versions http://echo/v2/any 30)
expect_eq "versions after the route is deleted" "echo-v1 echo-v2 " "$seen"
log "PASS"
