#!/usr/bin/env bash
# ztunnel's DNS proxy end to end: in-pod capture of UDP/TCP 53 to 15053 (on by
# default), every Service name form and a headless Service answered by ztunnel
# (dig, and the pod's own resolver through getent), ServiceEntry hosts with
# auto-allocated VIPs routed through ztunnel to a STATIC endpoint outside the
# mesh, to a DNS-resolved endpoint and to a selected mesh pod (curl by name),
# names ztunnel does not know forwarded to the cluster DNS (a small server in a
# pod of this test), a large answer truncated over UDP and complete over TCP,
# and the ambient.istio.io/dns-capture=false annotation leaving a pod's DNS
# uncaptured. Nothing leaves the cluster's namespaces.
source "$(dirname "$0")/../mesh/lib.sh" "$1"
DNSDATA="$(cd "$(dirname "$0")/testdata" && pwd)"

# dns_iptables_test.sh runs the same with the iptables redirection backend.
ctl cluster up --nodes 2 --redirect "${AMBIT_DNS_TEST_REDIRECT:-nftables}" >/dev/null
grep -q "\"redirect\": \"${AMBIT_DNS_TEST_REDIRECT:-nftables}\"" "$STATE/cluster.json" || fail "cluster.json lacks the backend"
grep -q '"dnsCapture": true' "$STATE/cluster.json" || fail "DNS capture is not on by default"

sed -e "s/@MARK@/$MARK/g" -e "s|@TESTDATA@|$DNSDATA|g" "$DNSDATA/dns.yaml" > "$WORK/dns.yaml"
# The cluster DNS's records: ext.test, big.test (40 addresses, more than 512
# bytes) and, below, the outside nginx by name.
records() { cat > "$STATE/pods/upstream_dns/tmp/records.json.new" && mv "$STATE/pods/upstream_dns/tmp/records.json.new" "$STATE/pods/upstream_dns/tmp/records.json"; }
ctl apply -f "$WORK/dns.yaml" --wait --timeout 60 >/dev/null
NGINX_IP=$(ctl get pods -n outside -o json | json_get "[p['ip'] for p in j if p['name']=='nginx'][0]")
WEB_IP=$(ctl get pods -n dnsmesh -o json | json_get "[p['ip'] for p in j if p['name']=='web'][0]")
python3 - "$NGINX_IP" <<'PY' | records
import json, sys
big = {"big.test.": ["10.123.0.%d" % i for i in range(1, 41)]}
print(json.dumps({"ext.test.": ["192.0.2.44"], "nginx.outside.test.": [sys.argv[1]], **big}))
PY
sed "s/@NGINX_IP@/$NGINX_IP/" "$DNSDATA/service-entries.yaml" > "$WORK/se.yaml"
ctl apply -f "$WORK/se.yaml" >/dev/null

pod_rules() { ip netns exec "$(pod_ns dnsmesh "$1")" sh -c 'nft list ruleset 2>/dev/null; iptables-save 2>/dev/null' || true; }
for i in $(seq 1 100); do
  rules=$(pod_rules client)
  grep -q 15053 <<<"$rules" && break
  sleep 0.1
done
grep -q 15053 <<<"$rules" || fail "client pod has no DNS redirection to 15053"
optout_rules=$(pod_rules optout)
grep -q 15001 <<<"$optout_rules" || fail "the opt-out pod is not enrolled"
if grep -q 15053 <<<"$optout_rules"; then fail "the opt-out pod's DNS is redirected"; fi

dns_counter() { ztunnel_dump node1 | json_get "j['dns']['$1']"; }
# dig in a pod; the cluster DNS address is what resolv.conf names.
in_pod() { local pod=$1; shift; ctl exec "dnsmesh/$pod" -- "$@"; }
dig_short() { in_pod client dig +short +tries=1 +time=3 "$@" | tr '\n' ' ' | sed 's/ $//'; }
VIP=$(ctl get services -n dnsmesh -o json | json_get "[s['clusterIP'] for s in j if s['name']=='web'][0]")

log "Service names in every form, answered by ztunnel (authoritative, TTL 30)"
before=$(dns_counter answered)
for name in web web.dnsmesh web.dnsmesh.svc web.dnsmesh.svc.cluster.local; do
  expect_eq "dig $name" "$VIP" "$(dig_short "$name")"
done
answer=$(in_pod client dig +noall +answer +comments web.dnsmesh.svc.cluster.local)
grep -qE 'flags: qr aa rd ra' <<<"$answer" || fail "answer not authoritative: $answer"
grep -qE "^web\.dnsmesh\.svc\.cluster\.local\.\s+30\s+IN\s+A\s+$VIP" <<<"$answer" || fail "bad answer record: $answer"
after=$(dns_counter answered)
[ "$after" -ge $((before + 5)) ] || fail "ztunnel answered $((after - before)) queries, expected 5"
nodata=$(in_pod client dig +noall +comments AAAA web.dnsmesh.svc.cluster.local)
grep -q 'status: NOERROR' <<<"$nodata" && grep -q 'ANSWER: 0' <<<"$nodata" || fail "AAAA is not NODATA: $nodata"
expect_eq "headless service" "$WEB_IP" "$(dig_short web-headless)"
log "the pod's own resolver (search path, glibc): getent"
expect_eq "getent hosts web-headless" "$WEB_IP" "$(in_pod client getent hosts web-headless | awk '{print $1}')"
expect_eq "getent hosts ext.test (forwarded)" "192.0.2.44" "$(in_pod client getent ahostsv4 ext.test | awk 'NR==1{print $1}')"

log "ServiceEntry hosts: auto-allocated VIPs"
for i in $(seq 1 50); do  # until the entries reached ztunnel over xDS
  STATIC_VIP=$(dig_short static.example.test)
  [[ "$STATIC_VIP" == 240.240.* ]] && break
  sleep 0.2
done
DNS_VIP=$(dig_short dns.example.test)
MESH_VIP=$(dig_short mesh.example.test)
for v in "$STATIC_VIP" "$DNS_VIP" "$MESH_VIP"; do
  [[ "$v" == 240.240.* ]] || fail "ServiceEntry VIP '$v' is not in 240.240.0.0/16"
done
expect_eq "getent hosts static.example.test" "$STATIC_VIP" \
  "$(in_pod client getent ahostsv4 static.example.test | awk 'NR==1{print $1}')"
log "routing by name through ztunnel: STATIC endpoint (plaintext), DNS endpoint, selected mesh pod (HBONE)"
out_counter() { ztunnel_dump node1 | json_get "j['counters']['outbound']['$1']"; }
pass_before=$(out_counter passthrough)
expect_eq "curl static.example.test" "outside $MARK" "$(in_pod client curl -sS --max-time 10 http://static.example.test/)"
expect_eq "curl dns.example.test" "outside $MARK" "$(in_pod client curl -sS --max-time 10 http://dns.example.test/)"
[ "$(out_counter passthrough)" -ge $((pass_before + 2)) ] || fail "the ServiceEntry connections did not pass through ztunnel"
hbone_before=$(out_counter hbone)
expect_eq "curl mesh.example.test" "mesh $MARK" "$(in_pod client curl -sS --max-time 10 http://mesh.example.test/)"
[ "$(out_counter hbone)" -ge $((hbone_before + 1)) ] || fail "the selected mesh pod was not reached over HBONE"

log "forwarded names: the cluster DNS answers, NXDOMAIN passes through"
fwd_before=$(dns_counter forwarded)
expect_eq "dig ext.test" "192.0.2.44" "$(dig_short ext.test)"
nx=$(in_pod client dig +noall +comments +tries=1 nope.test)
grep -q 'status: NXDOMAIN' <<<"$nx" || fail "nope.test: $nx"
[ "$(dns_counter forwarded)" -ge $((fwd_before + 2)) ] || fail "queries were not forwarded by ztunnel"

log "a large answer: TC over UDP, complete over TCP"
tc=$(in_pod client dig +noall +comments +noedns +ignore +tries=1 big.test)
grep -qE 'flags: qr( aa)? tc' <<<"$tc" || grep -qE 'flags:.* tc' <<<"$tc" || fail "no TC over UDP: $tc"
expect_eq "answers over TCP" 40 "$(in_pod client dig +short +tcp big.test | wc -l)"
expect_eq "answers after dig's own TCP retry" 40 "$(in_pod client dig +short +noedns big.test | wc -l)"
expect_eq "answers over UDP with EDNS (ztunnel fetched them over TCP)" 40 "$(in_pod client dig +short +notcp big.test | wc -l)"
[ "$(dns_counter upstreamTcpRetries)" -ge 1 ] || fail "ztunnel never retried the upstream over TCP"
[ "$(dns_counter truncated)" -ge 1 ] || fail "ztunnel never sent TC"

log "the opt-out pod: its queries reach the cluster DNS itself"
q_before=$(dns_counter queries)
optout=$(in_pod optout dig +noall +comments +tries=1 web.dnsmesh.svc.cluster.local)
grep -q 'status: NXDOMAIN' <<<"$optout" || fail "opt-out pod got an answer from ztunnel: $optout"
expect_eq "opt-out pod: ext.test from the cluster DNS" "192.0.2.44" \
  "$(in_pod optout dig +short +tries=1 ext.test)"
expect_eq "ztunnel queries during the opt-out pod's lookups" "$q_before" "$(dns_counter queries)"
log "PASS"
