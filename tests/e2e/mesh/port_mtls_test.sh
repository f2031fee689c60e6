#!/usr/bin/env bash
# PeerAuthentication portLevelMtls end to end
# (https://istio.io/latest/docs/reference/config/security/peer_authentication/):
# pod "ports" (nginx on 8080 and 9090, node2) in the ambient namespace "mesh";
# "outside" (node1, istio.io/dataplane-mode=none) sends plaintext to the pod
# IP, the enrolled "client" sends mTLS (HBONE).
#  1. Namespace STRICT, and a workload PeerAuthentication on app=ports with
#     portLevelMtls {8080: PERMISSIVE}: plaintext to 8080 gets the page, to
#     9090 is reset (curl 56); the mesh client gets both.
#  2. The reverse: namespace PERMISSIVE (no namespace policy), the workload
#     PERMISSIVE with portLevelMtls {9090: STRICT}: plaintext to 8080 gets
#     the page, to 9090 is reset; the mesh client gets both.
#  3. Both deleted: plaintext gets both ports again.
source "$(dirname "$0")/lib.sh" "$1"

ctl cluster up --nodes 2 >/dev/null
deploy_app
cat > "$WORK/ports.yaml" <<'YAML'
apiVersion: v1
kind: Pod
metadata:
  name: ports
  namespace: mesh
  labels: {app: ports}
spec:
  nodeName: node2
  serviceAccountName: ports
  containers:
  - name: nginx
    image: nginx:1.25
    command: ["sh", "-c"]
    args:
    - |
      cat > /tmp/nginx.conf <<'CONF'
      daemon off;
      error_log stderr;
      pid /tmp/nginx.pid;
      events { worker_connections 256; }
      http {
        access_log off;
        client_body_temp_path /tmp/body; proxy_temp_path /tmp/proxy; fastcgi_temp_path /tmp/fcgi;
        uwsgi_temp_path /tmp/uwsgi; scgi_temp_path /tmp/scgi;
        server { listen 8080; location / { return 200 "port 8080\n"; } }
        server { listen 9090; location / { return 200 "port 9090\n"; } }
      }
      CONF
      exec nginx -e stderr -c /tmp/nginx.conf
    ports:
    - containerPort: 8080
    - containerPort: 9090
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
YAML
ctl apply -f "$WORK/ports.yaml" --wait --timeout 60 >/dev/null
ctl apply -f "$TESTDATA/ns-ambient.yaml" >/dev/null
wait_enrolled yes
redirected ports || {
  for _ in $(seq 1 50); do redirected ports && break; sleep 0.1; done
  redirected ports || fail "pod ports is not enrolled"
}
redirected outside && fail "pod outside is enrolled"
PORTS_IP=$(ctl get pods -n mesh -o json | json_get "[p['ip'] for p in j if p['name']=='ports'][0]")

# outcome WHAT POD PORT WANT_RC: until curl from POD to ports:PORT exits WANT_RC
# (policies reach ztunnel through xDS: allow a few seconds); with 0 the page
# must name the port.
outcome() {
  local i rc page
  for i in $(seq 1 50); do
    rc=0
    page=$(ctl exec "mesh/$2" -- curl -sS --max-time 5 "http://$PORTS_IP:$3/" 2>"$WORK/curl.err") || rc=$?
    if [ "$rc" = "$4" ]; then
      [ "$rc" != 0 ] || expect_eq "page of port $3" "port $3" "$page"
      log "$1: curl exit $rc"
      return 0
    fi
    sleep 0.2
  done
  fail "$1: curl from $2 to $PORTS_IP:$3 exited $rc, want $4 ($(cat "$WORK/curl.err"))"
}

log "no PeerAuthentication: plaintext reaches both ports"
outcome "plaintext to 8080" outside 8080 0
outcome "plaintext to 9090" outside 9090 0

log "1. namespace STRICT, 8080 PERMISSIVE on app=ports"
cat > "$WORK/strict-ns.yaml" <<'YAML'
apiVersion: security.istio.io/v1
kind: PeerAuthentication
metadata:
  name: default
  namespace: mesh
spec:
  mtls:
    mode: STRICT
YAML
cat > "$WORK/permissive-port.yaml" <<'YAML'
apiVersion: security.istio.io/v1
kind: PeerAuthentication
metadata:
  name: ports
  namespace: mesh
spec:
  selector:
    matchLabels: {app: ports}
  mtls:
    mode: STRICT
  portLevelMtls:
    8080:
      mode: PERMISSIVE
YAML
ctl apply -f "$WORK/strict-ns.yaml" >/dev/null
ctl apply -f "$WORK/permissive-port.yaml" >/dev/null
outcome "plaintext to 9090 (STRICT) is reset" outside 9090 56
outcome "plaintext to 8080 (PERMISSIVE port)" outside 8080 0
outcome "mTLS to 8080" client 8080 0
outcome "mTLS to 9090" client 9090 0

log "2. namespace PERMISSIVE, 9090 STRICT on app=ports"
ctl delete -f "$WORK/strict-ns.yaml" >/dev/null
cat > "$WORK/strict-port.yaml" <<'YAML'
apiVersion: security.istio.io/v1
kind: PeerAuthentication
metadata:
  name: ports
  namespace: mesh
spec:
  selector:
    matchLabels: {app: ports}
  mtls:
    mode: PERMISSIVE
  portLevelMtls:
    9090:
      mode: STRICT
YAML
ctl apply -f "$WORK/strict-port.yaml" >/dev/null
# The namespace is PERMISSIVE now: the page on 8080 alone would not show the
# new policy is in force, so wait for the reset on 9090 first.
outcome "plaintext to 9090 (STRICT port) is reset" outside 9090 56
outcome "plaintext to 8080 (PERMISSIVE)" outside 8080 0
outcome "mTLS to 8080" client 8080 0
outcome "mTLS to 9090" client 9090 0
# Not the namespace's doing: with the workload policy alone, another pod of
# the namespace takes plaintext.
WEB_IP=$(ctl get pods -n mesh -o json | json_get "[p['ip'] for p in j if p['name']=='web'][0]")
rc=0
ctl exec mesh/outside -- curl -sS --max-time 5 -o /dev/null "http://$WEB_IP/" || rc=$?
expect_eq "plaintext to web (no PeerAuthentication of its own)" 0 "$rc"

log "3. both deleted: plaintext reaches both ports again"
ctl delete -f "$WORK/strict-port.yaml" >/dev/null
outcome "plaintext to 9090" outside 9090 0
outcome "plaintext to 8080" outside 8080 0
log "PASS"
