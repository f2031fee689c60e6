#!/usr/bin/env bash
# Workload certificate lifetime (`cluster up --workload-cert-ttl`): a bad value
# is refused before anything is made; with 20 s certificates, renewed at
# half-life, a 40 s download through HBONE spans several renewals on both
# ztunnels and arrives whole (sha256); meanwhile requests keep working and
# new handshakes on the server's 15008 present the current (new) serial; no
# ztunnel counts a failed connection. The TTL survives an ambitd restart.
source "$(dirname "$0")/lib.sh" "$1"

log "bad --workload-cert-ttl values are refused before anything is made"
for bad in 5s 20 1.5h 2161h; do
  if out=$(ctl cluster up --nodes 2 --workload-cert-ttl "$bad" 2>&1); then
    fail "cluster up accepted --workload-cert-ttl $bad"
  fi
  grep -q -- "--workload-cert-ttl" <<<"$out" || fail "the error does not name the flag: $out"
  [ -e "$STATE" ] && fail "a refused cluster up left $STATE behind"
done
echo "$out"

ctl cluster up --nodes 2 --workload-cert-ttl 20s >/dev/null
expect_eq "cluster.json ca.workloadCertTtl" 20s "$(json_get "j['ca']['workloadCertTtl']" < "$STATE/cluster.json")"
if out=$(ctl cluster up --workload-cert-ttl 30s 2>&1); then fail "cluster up changed the TTL of an existing cluster"; fi
echo "$out"
deploy_app
expect_eq "ztunnel's --secret-ttl" 20s \
  "$(json_get "j['argv'][j['argv'].index('--secret-ttl') + 1]" < "$STATE/nodes/node1/ztunnel/ztunnel.json")"
ctl apply -f "$TESTDATA/ns-ambient.yaml" >/dev/null
wait_enrolled yes
ctl apply -f "$TESTDATA/probe.yaml" --wait --timeout 60 >/dev/null
request_page
WEB_IP=$(ctl get pods -n mesh -o json | json_get "[p['ip'] for p in j if p['name']=='web'][0]")
PODTMP="$STATE/pods/mesh_probe/tmp"
mkdir -p "$PODTMP/mesh"
"$BIN/mesh_fetch_cert" "unix:$STATE/ambitd.sock" "$STATE/nodes/node1/credential" \
  spiffe://cluster.local/ns/mesh/sa/client "$PODTMP/mesh" || fail "cannot fetch a mesh certificate"

# cert_info NODE SA: "serial lifetime_seconds fetches" of the identity's leaf in the node's ztunnel.
cert_info() {
  ztunnel_dump "$1" | python3 -c "
import json, sys, datetime
j = json.load(sys.stdin)
p = lambda s: datetime.datetime.fromisoformat(s.replace('Z', '+00:00'))
for c in j['certificates']:
    if c['identity'].endswith('/sa/$2') and c['certChain']:
        leaf = c['certChain'][0]
        print(leaf['serialNumber'].upper().lstrip('0'), int((p(leaf['expirationTime']) - p(leaf['validFrom'])).total_seconds()), c['fetchesOk'])
"
}
# The serial the server presents on a new handshake to web's 15008 (from the probe pod).
presented_serial() {
  ctl exec mesh/probe -- sh -c "sleep 1 | timeout 10 openssl s_client -connect $WEB_IP:15008 -tls1_3 -alpn h2 -CAfile /tmp/mesh/root.pem -cert /tmp/mesh/cert.pem -key /tmp/mesh/key.pem 2>/dev/null" |
    openssl x509 -noout -serial | cut -d= -f2 | tr 'a-f' 'A-F' | sed 's/^0*//'
}
# Every failure counter of both ztunnels, summed: Istio's
# istio_tcp_connections_failed plus the outbound failures/rejections, TLS and
# stream failures, 401/503 answers and connections refused for want of a
# certificate from /config_dump.
failed_total() {
  local n total=0 v
  for n in node1 node2; do
    v=$(ip netns exec "$(node_ns "$n")" curl -sS --max-time 5 http://127.0.0.1:15020/metrics |
      awk '/^istio_tcp_connections_failed/ {s += $NF} END {print s + 0}')
    total=$((total + v))
    v=$(ztunnel_dump "$n" | json_get "sum([j['counters']['outbound'][k] for k in ('failed', 'rejected', 'tlsConnectFailures', 'streamFailures')] + [j['counters']['inbound'][k] for k in ('tlsHandshakeFailures', 'status401', 'status503')] + [j['counters']['connectionsWithoutCertificate']])")
    total=$((total + v))
  done
  echo "$total"
}

read -r web_serial web_life web_fetches < <(cert_info node2 web)
read -r client_serial client_life client_fetches < <(cert_info node1 client)
log "web's certificate $web_serial lives ${web_life}s (validFrom is backdated for clock skew), client's $client_serial"
# The CA backdates not_before by 60 s: 20 s of lifetime ahead plus those 60.
expect_eq "web certificate lifetime (s)" 80 "$web_life"
expect_eq "client certificate lifetime (s)" 80 "$client_life"
failed_before=$(failed_total)

log "a 40 s download through HBONE across the renewals"
ctl exec mesh/web -- sh -c "head -c 20M /dev/urandom > /tmp/www/files/slow"
want=$(ctl exec mesh/web -- sha256sum /tmp/www/files/slow | cut -d' ' -f1)
ctl exec mesh/client -- sh -c "curl -sS --max-time 90 --limit-rate 500K http://web/files/slow | sha256sum > /tmp/slow.sum" &
slow=$!
declare -A web_serials client_serials presented
start=$(date +%s)
requests=0
while kill -0 "$slow" 2>/dev/null; do
  read -r s _ _ < <(cert_info node2 web); web_serials[$s]=1
  read -r s _ _ < <(cert_info node1 client); client_serials[$s]=1
  request_page
  requests=$((requests + 1))
  if [ $(( $(date +%s) - start )) -gt 120 ]; then fail "the download did not end within 120 s"; fi
  sleep 1
done
wait "$slow" || fail "the download failed"
elapsed=$(( $(date +%s) - start ))
got=$(cut -d' ' -f1 "$STATE/pods/mesh_client/tmp/slow.sum")
expect_eq "sha256 of the download across certificate renewals" "$want" "$got"
log "download took ${elapsed}s; web used ${#web_serials[@]} certificates, client ${#client_serials[@]}; $requests requests in between all answered"
read -r _ _ web_after < <(cert_info node2 web)
read -r _ _ client_after < <(cert_info node1 client)
log "renewals during the download: web $((web_after - web_fetches)), client $((client_after - client_fetches)) (every ~10 s)"
# 40 s or more at one renewal per ~10 s: at least 3 each (the sampling above sees some of them).
[ $((web_after - web_fetches)) -ge 3 ] || fail "web's certificate was renewed fewer than 3 times in ${elapsed}s"
[ $((client_after - client_fetches)) -ge 3 ] || fail "client's certificate was renewed fewer than 3 times in ${elapsed}s"
[ "${#web_serials[@]}" -ge 2 ] || fail "web's ztunnel showed one serial only: ${!web_serials[*]}"
[ "${#client_serials[@]}" -ge 2 ] || fail "client's ztunnel showed one serial only"
expect_eq "failure counters of both ztunnels before/after the renewals" "$failed_before" "$(failed_total)"

log "new handshakes present the current certificate"
for round in 1 2; do
  read -r current _ _ < <(cert_info node2 web)
  shown=$(presented_serial)
  read -r after _ _ < <(cert_info node2 web)
  [ -n "$shown" ] || fail "no certificate from web's 15008"
  if [ "$shown" != "$current" ] && [ "$shown" != "$after" ]; then
    fail "a new handshake presented serial $shown, ztunnel holds $current/$after"
  fi
  [ "$shown" != "$web_serial" ] || fail "a new handshake presented the first certificate $web_serial after renewals"
  presented[$shown]=1
  log "round $round: presented $shown"
  sleep 11  # past the next renewal
done
expect_eq "distinct serials presented 11 s apart" 2 "${#presented[@]}"
request_page
expect_eq "failure counters of both ztunnels at the end" "$failed_before" "$(failed_total)"

log "the TTL survives an ambitd restart"
kill -TERM "$(cut -d' ' -f1 "$STATE/ambitd.pid")"
for i in $(seq 1 50); do [ -e "$STATE/ambitd.pid" ] || break; sleep 0.1; done
ctl cluster up >/dev/null
[ "$(grep -c 'workload certificates live 20s' "$STATE/ambitd.log")" -ge 2 ] || fail "the restarted ambitd does not use 20s"
wait_running
request_page
ctl cluster down
expect_cluster_gone
echo PASS
