#!/usr/bin/env bash
# L4 AuthorizationPolicy and PeerAuthentication through the whole product, as
# Istio's ambient getting-started shows them (https://istio.io/latest/docs/ambient/usage/l4-policy/):
# real curl in pods, policies applied with ambitctl, enforced by the
# destination's ztunnel.
#  1. ALLOW by principal on the web workload: the allowed client gets the page,
#     a client with another service account is reset (curl exit 56).
#  2. A DENY for the allowed client on the same workload wins over the ALLOW.
#  3. With no policy left, both get the page again (nothing stays denied).
#  4. PeerAuthentication STRICT on the namespace: a pod outside the mesh
#     (plaintext to the pod) is refused while an enrolled client still passes.
#  5. Every denial counts in istio_tcp_connections_failed_total{response_flags="DENY"}
#     on the destination node's ztunnel.
source "$(dirname "$0")/lib.sh" "$1"

ctl cluster up --nodes 2 >/dev/null
deploy_app
ctl apply -f "$TESTDATA/ns-ambient.yaml" >/dev/null
cat > "$WORK/other.yaml" <<'EOF'
apiVersion: v1
kind: Pod
metadata:
  name: other
  namespace: mesh
spec:
  nodeName: node1
  serviceAccountName: other
  containers:
  - name: other
    image: curlimages/curl
    command: ["sleep", "infinity"]
---
apiVersion: v1
kind: Pod
metadata:
  name: outside
  namespace: mesh
  labels: {istio.io/dataplane-mode: none}
spec:
  nodeName: node1
  serviceAccountName: outside
  containers:
  - name: outside
    image: curlimages/curl
    command: ["sleep", "infinity"]
EOF
ctl apply -f "$WORK/other.yaml" --wait --timeout 60 >/dev/null
wait_enrolled yes
WEB_IP=$(ctl get pods -n mesh -o json | json_get "[p['ip'] for p in j if p['name']=='web'][0]")

# curl_rc POD URL: curl's exit status from POD (0 = got the page).
curl_rc() {
  local rc=0
  ctl exec "mesh/$1" -- curl -sS --max-time 5 -o /dev/null "$2" 2>"$WORK/curl.err" || rc=$?
  echo "$rc"
}
# expect_page POD / expect_reset POD: the outcome of a request by service name
# (the rules reach ztunnels through xDS, so allow a few seconds to converge).
expect_outcome() {  # expect_outcome WHAT POD URL WANT_RC
  local i rc
  for i in $(seq 1 50); do
    rc=$(curl_rc "$2" "$3")
    [ "$rc" = "$4" ] && { log "$1: curl exit $rc"; return 0; }
    sleep 0.2
  done
  fail "$1: curl from $2 to $3 exited $rc, want $4 ($(cat "$WORK/curl.err"))"
}
expect_page() { expect_outcome "$1 gets the page" "$1" "${2:-http://web/}" 0; }
expect_reset() { expect_outcome "$1 is reset" "$1" "${2:-http://web/}" 56; }

denied_total() {
  ip netns exec "$(node_ns node2)" curl -sS --max-time 5 http://127.0.0.1:15020/metrics |
    awk '/^istio_tcp_connections_failed_total\{/ && /response_flags="DENY"/ && /reporter="destination"/ { s += $NF } END { printf "%d\n", s }'
}

log "no policy: everyone gets the page"
expect_page client
expect_page other
expect_page outside "http://$WEB_IP/"
denied_before=$(denied_total)

log "1. ALLOW principal cluster.local/ns/mesh/sa/client on app=web"
cat > "$WORK/allow.yaml" <<'EOF'
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata:
  name: web-allow-client
  namespace: mesh
spec:
  selector:
    matchLabels: {app: web}
  action: ALLOW
  rules:
  - from:
    - source:
        principals: ["cluster.local/ns/mesh/sa/client"]
EOF
ctl apply -f "$WORK/allow.yaml" >/dev/null
expect_reset other
expect_page client
# Plaintext from outside the mesh has no identity: the ALLOW cannot match it.
expect_outcome "outside (plaintext) is reset" outside "http://$WEB_IP/" 56

log "2. DENY for the same client wins over the ALLOW"
cat > "$WORK/deny.yaml" <<'EOF'
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata:
  name: web-deny-client
  namespace: mesh
spec:
  selector:
    matchLabels: {app: web}
  action: DENY
  rules:
  - from:
    - source:
        principals: ["cluster.local/ns/mesh/sa/client"]
    to:
    - operation:
        ports: ["80"]
EOF
ctl apply -f "$WORK/deny.yaml" >/dev/null
expect_reset client
expect_reset other

log "3. policies removed: nothing stays denied"
ctl delete -f "$WORK/deny.yaml" >/dev/null
ctl delete -f "$WORK/allow.yaml" >/dev/null
expect_page client
expect_page other
expect_page outside "http://$WEB_IP/"

log "4. PeerAuthentication STRICT on namespace mesh"
cat > "$WORK/strict.yaml" <<'EOF'
apiVersion: security.istio.io/v1
kind: PeerAuthentication
metadata:
  name: default
  namespace: mesh
spec:
  mtls:
    mode: STRICT
EOF
ctl apply -f "$WORK/strict.yaml" >/dev/null
expect_outcome "outside (plaintext) is refused under STRICT" outside "http://$WEB_IP/" 56
expect_page client
expect_page other
ctl delete -f "$WORK/strict.yaml" >/dev/null
expect_page outside "http://$WEB_IP/"

log "5. denials are counted on node2's ztunnel"
denied_after=$(denied_total)
[ "$denied_after" -gt "$denied_before" ] ||
  fail "istio_tcp_connections_failed_total{response_flags=\"DENY\"} did not grow ($denied_before -> $denied_after)"
log "DENY failures counted: $denied_before -> $denied_after"
log "PASS"
