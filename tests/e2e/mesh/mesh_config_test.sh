#!/usr/bin/env bash
# Mesh config (docs/mesh-config.md): `cluster up --mesh-config` applies Istio
# MeshConfig as the ConfigMap istio-system/istio. With discoverySelectors that
# leave namespace "mesh" out, its ambient-labelled pods are neither captured
# (no redirection in their netns) nor published (absent from ztunnel's
# config_dump); changing the ConfigMap to select it enrolls them live, and
# changing it back releases them. A bad mesh config is rejected with the field
# named and the previous one stays. Also: the istio.io/rev warning, apply's
# not-enforced warnings for a VirtualService, `get` for every kind and `analyze`.
source "$(dirname "$0")/lib.sh" "$1"

cat > "$WORK/mesh.yaml" <<'YAML'
discoverySelectors:
- matchLabels: {ambit-scope: selected}
accessLogFile: /dev/stdout
YAML
up_out=$(ctl cluster up --nodes 2 --mesh-config "$WORK/mesh.yaml")
grep -q 'data.mesh.accessLogFile: accepted, not enforced' <<<"$up_out" ||
  fail "cluster up did not report the unenforced MeshConfig field: $up_out"

# mesh_config SELECTOR_VALUE: the mesh ConfigMap selecting namespaces labelled ambit-scope=VALUE.
mesh_config() {
  cat > "$WORK/cm.yaml" <<YAML
apiVersion: v1
kind: ConfigMap
metadata: {name: istio, namespace: istio-system}
data:
  mesh: |
    discoverySelectors:
    - matchLabels: {ambit-scope: $1}
YAML
  ctl apply -f "$WORK/cm.yaml"
}
# workloads NODE: "ns/name:PROTOCOL" of the workloads node's ztunnel knows in namespace mesh.
workloads() {
  ztunnel_dump "$1" | json_get "' '.join(sorted(w['namespace']+'/'+w['name']+':'+w['protocol'] for w in j['workloads'] if w['namespace']=='mesh'))"
}

# wait_workloads NODE EXPECTED: until workloads NODE prints EXPECTED (5 s).
wait_workloads() {
  local i got
  for i in $(seq 1 50); do
    got=$(workloads "$1")
    [ "$got" = "$2" ] && return 0
    sleep 0.1
  done
  expect_eq "workloads of namespace mesh in $1's ztunnel" "$2" "$got"
}

deploy_app
log "namespace mesh labelled ambient but outside discoverySelectors"
apply_out=$(ctl apply -f "$TESTDATA/ns-ambient.yaml")
grep -q 'Warning \[AMB0002\] (Namespace mesh)' <<<"$apply_out" || fail "no AMB0002 warning on apply: $apply_out"
sleep 3  # several reconciler passes
if redirected client || redirected web; then fail "a pod of an unselected namespace was captured"; fi
expect_eq "workloads of namespace mesh in node1's ztunnel" "" "$(workloads node1)"
request_page  # not captured: plain traffic still flows

log "selecting the namespace enrolls its pods live"
cat > "$WORK/ns-in.yaml" <<'YAML'
apiVersion: v1
kind: Namespace
metadata:
  name: mesh
  labels: {istio.io/dataplane-mode: ambient, ambit-scope: selected}
YAML
ctl apply -f "$WORK/ns-in.yaml" >/dev/null
wait_enrolled yes
wait_workloads node1 "mesh/client:HBONE mesh/web:HBONE"
encrypted_exchange selected

log "a bad mesh config is rejected and the previous one stays"
cat > "$WORK/bad.yaml" <<'YAML'
apiVersion: v1
kind: ConfigMap
metadata: {name: istio, namespace: istio-system}
data:
  mesh: |
    discoverySelector:
    - matchLabels: {ambit-scope: other}
YAML
if bad_out=$(ctl apply -f "$WORK/bad.yaml" 2>&1); then fail "a bad mesh config was accepted: $bad_out"; fi
grep -q "data.mesh.discoverySelector: unknown field (did you mean 'discoverySelectors'?)" <<<"$bad_out" ||
  fail "the error does not name the field: $bad_out"
sleep 2
redirected client || fail "the rejected mesh config changed enrollment"

log "changing the selectors releases the pods live"
mesh_config elsewhere >/dev/null
wait_enrolled no
wait_workloads node1 ""
mesh_config selected >/dev/null
wait_enrolled yes

log "istio.io/rev for another revision is reported"
cat > "$WORK/rev.yaml" <<'YAML'
apiVersion: v1
kind: Namespace
metadata:
  name: canary-apps
  labels: {istio.io/rev: canary, ambit-scope: selected}
YAML
rev_out=$(ctl apply -f "$WORK/rev.yaml")
grep -q 'Warning \[AMB0001\] (Namespace canary-apps) istio.io/rev=canary names a revision this control plane does not serve' <<<"$rev_out" ||
  fail "no istio.io/rev warning: $rev_out"

log "apply says what is not enforced"
sed "s/@NS@/mesh/g" "$TESTDATA/kinds.yaml" > "$WORK/kinds.yaml"
kinds_out=$(ctl apply -f "$WORK/kinds.yaml")
grep -q '(VirtualService mesh/reviews): enforced by the waypoint on Services bound to one' <<<"$kinds_out" ||
  fail "no not-enforced warning for the VirtualService: $kinds_out"
grep -q 'Error \[IST0101\] (AuthorizationPolicy mesh/ref-missing) Referenced Service not found: "mesh/nope"' <<<"$kinds_out" ||
  fail "no IST0101 finding on apply: $kinds_out"

log "get lists every kind"
for spec in "ns:mesh" "po:web" "svc:web" "sa:reviews" "cm:settings" "deploy:idle" "ap:deny-missing" \
            "pa:strict" "ra:jwt" "vs:reviews" "dr:reviews" "se:external" "gtw:ingress" \
            "httproutes:route" "grpcroutes:grpc-route" "nodes:node2"; do
  kind=${spec%%:*} name=${spec#*:}
  out=$(ctl get "$kind") || fail "get $kind failed"
  grep -qw -- "$name" <<<"$out" || fail "get $kind does not list $name: $out"
done
expect_eq "get vs -n mesh HOSTS column" "mesh   reviews   <none>   reviews" \
  "$(ctl get virtualservices -n mesh | tail -n +2 | sed 's/  */   /g')"
ctl get vs -n mesh -o yaml > "$WORK/vs.yaml"
again=$(ctl apply -f "$WORK/vs.yaml" | grep -v -i warning)
expect_eq "re-applying get -o yaml" "virtualservice/mesh/reviews unchanged" "$again"
[ "$(ctl get cm -A -o json | json_get "len([i for i in j['items'] if i['metadata']['name']=='istio'])")" = 1 ] ||
  fail "get cm -A -o json does not list the mesh ConfigMap"

log "analyze"
set +e
analyze_out=$(ctl analyze); analyze_rc=$?
set -e
expect_eq "analyze exit code with an Error finding" 79 "$analyze_rc"
grep -q 'Warning \[AMB0001\] (Namespace canary-apps)' <<<"$analyze_out" || fail "analyze: $analyze_out"
grep -q 'Warning \[IST0127\] (AuthorizationPolicy mesh/deny-missing)' <<<"$analyze_out" || fail "analyze: $analyze_out"
log "ok"
