#!/usr/bin/env bash
# Issue 4 (c): the server pod's 15008 (HBONE) accepts only mesh peers. From a
# pod on node1 that opts out of the mesh (pod label dataplane-mode=none, so its
# own traffic to 15008 is not captured by its ztunnel): openssl s_client
# without a client certificate fails; with a certificate of another trust
# domain (a foreign CA made here) fails; with a real mesh certificate (fetched
# from the CA with node1's credential, as ztunnel does) the handshake completes
# and the server proves spiffe://cluster.local/ns/mesh/sa/web, and a client
# expecting another identity refuses the server. Also: pods labelled
# dataplane-mode=none or for sidecar injection stay out of the ambient namespace's mesh.
source "$(dirname "$0")/lib.sh" "$1"

ctl cluster up --nodes 2 >/dev/null
deploy_app
ctl apply -f "$TESTDATA/ns-ambient.yaml" >/dev/null
wait_enrolled yes
ctl apply -f "$TESTDATA/probe.yaml" --wait --timeout 60 >/dev/null
sleep 2
if redirected probe; then fail "the probe pod (label dataplane-mode=none) was enrolled"; fi
if redirected sidecar; then fail "the pod labelled for sidecar injection was enrolled"; fi
WEB_IP=$(ctl get pods -n mesh -o json | json_get "[p['ip'] for p in j if p['name']=='web'][0]")
PODTMP="$STATE/pods/mesh_probe/tmp"

log "a mesh certificate for spiffe://cluster.local/ns/mesh/sa/client"
mkdir -p "$PODTMP/mesh" "$PODTMP/foreign"
"$BIN/mesh_fetch_cert" "unix:$STATE/ambitd.sock" "$STATE/nodes/node1/credential" \
  spiffe://cluster.local/ns/mesh/sa/client "$PODTMP/mesh" || fail "cannot fetch a mesh certificate"
openssl x509 -in "$PODTMP/mesh/cert.pem" -noout -ext subjectAltName | grep -q 'URI:spiffe://cluster.local/ns/mesh/sa/client' ||
  fail "mesh certificate lacks the client's SPIFFE ID"

log "a foreign CA (trust domain evil.example) and a certificate from it"
(
  cd "$PODTMP/foreign"
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout ca.key -out ca.pem \
    -days 1 -subj "/O=evil" -addext "basicConstraints=critical,CA:true" -addext "keyUsage=critical,keyCertSign" 2>/dev/null
  openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout key.pem -out csr.pem -subj "/O=evil" 2>/dev/null
  printf 'subjectAltName=URI:spiffe://evil.example/ns/mesh/sa/client\nextendedKeyUsage=clientAuth,serverAuth\n' > ext.cnf
  openssl x509 -req -in csr.pem -CA ca.pem -CAkey ca.key -CAcreateserial -days 1 -extfile ext.cnf -out cert.pem 2>/dev/null
) || fail "cannot make the foreign certificate"

# s_client NAME ARGS...: one TLS 1.3 h2 handshake to web's 15008 from the client
# pod, then a byte of data; output in $WORK/NAME.out.
s_client() {
  local name=$1; shift
  ctl exec mesh/probe -- sh -c "sleep 1 | timeout 10 openssl s_client -connect $WEB_IP:15008 -tls1_3 -alpn h2 -CAfile /tmp/mesh/root.pem -verify_return_error $* 2>&1" \
    > "$WORK/$name.out" || true
}
# The server refused the client: a fatal alert from it. (In TLS 1.3 the client
# finishes its side of the handshake first; the server's verdict on the client
# certificate arrives as an alert on the first read.)
handshake_refused() {
  grep -qiE 'alert (certificate required|bad certificate|unknown ca|certificate unknown|handshake failure|decrypt error|access denied)' "$WORK/$1.out"
}

log "no client certificate"
s_client nocert
handshake_refused nocert || { cat "$WORK/nocert.out"; fail "the handshake without a client certificate was accepted"; }
grep -iE 'alert' "$WORK/nocert.out" | head -2

log "certificate of another trust domain"
s_client foreign -cert /tmp/foreign/cert.pem -key /tmp/foreign/key.pem
handshake_refused foreign || { cat "$WORK/foreign.out"; fail "a foreign trust domain's certificate was accepted"; }
grep -iE 'alert' "$WORK/foreign.out" | head -2

log "a valid mesh certificate: accepted, server proves the web identity"
s_client valid -cert /tmp/mesh/cert.pem -key /tmp/mesh/key.pem -showcerts
grep -q '^ALPN protocol: h2' "$WORK/valid.out" || { cat "$WORK/valid.out"; fail "no h2 TLS 1.3 session with a valid mesh certificate"; }
if grep -qi 'alert' "$WORK/valid.out"; then cat "$WORK/valid.out"; fail "a valid mesh certificate was refused"; fi
grep -q 'Verify return code: 0 (ok)' "$WORK/valid.out" || fail "the server's chain did not verify against the mesh root"
sed -n '/-----BEGIN CERTIFICATE-----/,/-----END CERTIFICATE-----/p' "$WORK/valid.out" | awk '/BEGIN/{n++} n==1' > "$WORK/server.pem"
openssl x509 -in "$WORK/server.pem" -noout -ext subjectAltName | grep -q 'URI:spiffe://cluster.local/ns/mesh/sa/web' ||
  fail "the server did not present spiffe://cluster.local/ns/mesh/sa/web"

# A client that checks the server's SPIFFE ID (as ztunnel does) before sending.
cat > "$PODTMP/expect.py" <<'PY'
import socket, ssl, sys
host, expected = sys.argv[1], sys.argv[2]
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
ctx.minimum_version = ssl.TLSVersion.TLSv1_3
ctx.check_hostname = False
ctx.load_verify_locations("/tmp/mesh/root.pem")
ctx.load_cert_chain("/tmp/mesh/cert.pem", "/tmp/mesh/key.pem")
ctx.set_alpn_protocols(["h2"])
with socket.create_connection((host, 15008), timeout=10) as raw:
    with ctx.wrap_socket(raw) as s:
        uris = [v for k, v in s.getpeercert().get("subjectAltName", ()) if k == "URI"]
        if expected not in uris:
            print("refused: server is %s, expected %s" % (uris, expected))
            sys.exit(3)
        print("accepted: server is", uris)
PY
log "expected identity check on the client side"
out=$(ctl exec mesh/probe -- /usr/bin/python3 /tmp/expect.py "$WEB_IP" spiffe://cluster.local/ns/mesh/sa/web) ||
  fail "client expecting the right identity failed: $out"
echo "$out"
if out=$(ctl exec mesh/probe -- /usr/bin/python3 /tmp/expect.py "$WEB_IP" spiffe://cluster.local/ns/mesh/sa/other); then
  fail "client expecting sa/other accepted the server: $out"
fi
echo "$out"
echo "$out" | grep -q 'refused: server is' || fail "unexpected failure: $out"
ctl cluster down
expect_cluster_gone
echo PASS
