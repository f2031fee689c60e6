#!/usr/bin/env bash
# Security policies through the real ambitctl/ambitd: `apply` prints what the
# policy lowering cannot enforce as written (and ambitd logs it), values
# Istio's validation rejects are refused with the field named, and the
# cluster keeps what was applied before.
source "$(dirname "$0")/lib.sh" "$1"
DIR="$(mktemp -d)"
trap 'rc=$?; rm -rf "$DIR"; (exit $rc); cleanup' EXIT

log "cluster up"
ctl cluster up --nodes 1

cat >"$DIR/get-only.yaml" <<'YAML'
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: get-only, namespace: default}
spec:
  selector: {matchLabels: {app: web}}
  rules:
  - from: [{source: {principals: [cluster.local/ns/default/sa/curl]}}]
    to: [{operation: {methods: [GET]}}]
YAML
log "an ALLOW rule on HTTP methods: applied, with the warnings"
out=$(ctl apply -f "$DIR/get-only.yaml" 2>&1)
echo "$out"
echo "$out" | grep -F "(AuthorizationPolicy default/get-only): rules[0] is left out: ztunnel cannot check HTTP attributes (to[0].operation.methods)" >/dev/null ||
  fail "no warning about the dropped rule"
echo "$out" | grep -F "(AuthorizationPolicy default/get-only): no rule is left, so this ALLOW policy matches nothing" >/dev/null ||
  fail "no deny-all warning"
echo "$out" | grep -F "authorizationpolicy/default/get-only created" >/dev/null || fail "policy not created"

cat >"$DIR/disable.yaml" <<'YAML'
apiVersion: security.istio.io/v1
kind: PeerAuthentication
metadata: {name: default, namespace: default}
spec: {mtls: {mode: DISABLE}}
YAML
log "PeerAuthentication DISABLE: applied, with the warning"
out=$(ctl apply -f "$DIR/disable.yaml" 2>&1)
echo "$out" | grep -F "(PeerAuthentication default/default): mode DISABLE: ambient traffic between ztunnels is always mTLS" >/dev/null ||
  fail "no DISABLE warning: $out"

cat >"$DIR/clean.yaml" <<'YAML'
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: from-default, namespace: default}
spec:
  rules: [{from: [{source: {namespaces: [default]}}], to: [{operation: {ports: ["8080"]}}]}]
YAML
log "an L4-only policy: no warning"
out=$(ctl apply -f "$DIR/clean.yaml" 2>&1)
if echo "$out" | grep -qi warning; then fail "unexpected warning: $out"; fi

cat >"$DIR/bad.yaml" <<'YAML'
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: bad, namespace: default}
spec:
  rules: [{to: [{operation: {ports: ["http"]}}], from: [{source: {ipBlocks: ["10.0.0.0/33"]}}]}]
YAML
log "bad values are refused, naming the fields"
if out=$(ctl apply -f "$DIR/bad.yaml" 2>&1); then fail "bad policy applied"; fi
echo "$out" | grep -F "spec.rules[0].to[0].operation.ports[0]: expected a port number 0-65535, got 'http'" >/dev/null ||
  fail "port error unclear: $out"
echo "$out" | grep -F "spec.rules[0].from[0].source.ipBlocks[0]: expected an IP address or CIDR range, got '10.0.0.0/33'" >/dev/null ||
  fail "CIDR error unclear: $out"

log "ambitd logged the warnings"
for i in $(seq 1 50); do
  grep -F "policy: AuthorizationPolicy default/get-only: no rule is left" "$STATE/ambitd.log" >/dev/null && break
  sleep 0.2
done
grep -F "policy: AuthorizationPolicy default/get-only: no rule is left" "$STATE/ambitd.log" >/dev/null ||
  fail "ambitd did not log the policy warning"
grep -F "policy: PeerAuthentication default/default: mode DISABLE" "$STATE/ambitd.log" >/dev/null ||
  fail "ambitd did not log the PeerAuthentication warning"

log "deleting a policy works and leaves the others"
ctl delete -f "$DIR/get-only.yaml" | grep -F "deleted" >/dev/null || fail "delete failed"
echo "PASS"
