#!/usr/bin/env bash
# The L4 waypoint end to end. Client on node1, nginx on node2, namespace
# "mesh" ambient. A Gateway of class istio-waypoint makes ambitd run a
# waypoint pod (not captured by ztunnel); labelling the namespace
# istio.io/use-waypoint=waypoint sends service traffic through it:
#  - curl by service name still gets the page;
#  - the waypoint's /config_dump counters rise with each request, and its
#    /metrics has istio_tcp_* with reporter="waypoint", client -> web;
#  - node2's ztunnel sees the waypoint's identity as the peer, not the client's;
#  - captures in node1's and node2's netns show TLS to 15008 and not one byte
#    of the request or the page.
# Pod-addressed traffic goes through it only once the Gateway says
# istio.io/waypoint-for=all. Removing the label sends traffic direct again (counters stay, the peer is
# the client). Deleting the Gateway removes the waypoint's pod and Service.
source "$(dirname "$0")/../mesh/lib.sh" "$1"
WP_DATA="$(cd "$(dirname "$0")/testdata" && pwd)"

# The waypoint pod's name (namespace mesh), or "".
waypoint_pod() {
  ctl get pods -n mesh -o json |
    json_get "' '.join(p['name'] for p in j if p['name'].startswith('waypoint-') and p['phase']=='Running')"
}
# A value from the waypoint's /config_dump (python expression over j).
waypoint_dump() {
  ip netns exec "$(pod_ns mesh "$WP")" curl -sS --max-time 5 "http://127.0.0.1:15000/config_dump" |
    json_get "$1"
}
# Tunnels served: web's port is named "http", so they are parsed (http); a
# pod-addressed one is relayed at L4 (hbone).
relayed() { waypoint_dump "j['counters']['relayed']['hbone'] + j['counters']['relayed']['http']"; }
# Inbound connections node2's ztunnel opened for |identity| (its
# istio_tcp_connections_opened_total, reporter destination). Counted at open:
# the waypoint keeps its HTTP connections to web open between requests.
inbound_from() {
  ip netns exec "$(node_ns node2)" curl -sS --max-time 5 http://127.0.0.1:15020/metrics |
    awk -v p="source_principal=\"$1\"" \
      '/^istio_tcp_connections_opened_total\{/ && /reporter="destination"/ && index($0, p) { s += $NF } END { printf "%d\n", s }'
}

ctl cluster up --nodes 2 >/dev/null
deploy_app
ctl apply -f "$TESTDATA/ns-ambient.yaml" >/dev/null
wait_enrolled yes
request_page

log "apply the waypoint Gateway"
ctl apply -f "$WP_DATA/waypoint.yaml" --wait --timeout 60
WP=""
for _ in $(seq 1 100); do
  WP=$(waypoint_pod)
  [ -n "$WP" ] && break
  sleep 0.1
done
[ -n "$WP" ] || fail "no waypoint pod Running: $(ctl get pods -n mesh)"
log "waypoint pod $WP"
ctl get services -n mesh -o json | json_get "[s['name'] for s in j]" | grep -q "'waypoint'" ||
  fail "no waypoint Service: $(ctl get services -n mesh)"
# Not captured: no redirection in the waypoint pod.
redirected "$WP" && fail "the waypoint pod is enrolled in ztunnel's redirection"
for _ in $(seq 1 100); do
  code=$(ip netns exec "$(pod_ns mesh "$WP")" curl -s -o /dev/null -w '%{http_code}' \
    "http://127.0.0.1:15021/healthz/ready" || true)
  [ "$code" = 200 ] && break
  sleep 0.1
done
expect_eq "waypoint readiness" 200 "$code"
expect_eq "waypoint identity" "spiffe://cluster.local/ns/mesh/sa/waypoint" \
  "$(waypoint_dump "j['waypoint']['identity']")"

log "label the namespace use-waypoint=waypoint"
ctl apply -f "$WP_DATA/ns-ambient-waypoint.yaml" >/dev/null
before=$(relayed)
ok=""
for _ in $(seq 1 50); do  # until ztunnel has the binding from xDS
  request_page
  if [ "$(relayed)" -gt "$before" ]; then ok=1; break; fi
  sleep 0.2
done
[ -n "$ok" ] || fail "requests did not go through the waypoint: $(waypoint_dump "j['counters']")"

log "through the waypoint: counters, identities, capture"
before=$(relayed)
client_peer=$(inbound_from "spiffe://cluster.local/ns/mesh/sa/client")
capture_start "$WORK/wp-node1.pcap" node1
for _ in 1 2 3; do request_page; done
capture_stop
after=$(relayed)
expect_eq "relayed connections for 3 requests" "$((before + 3))" "$after"
expect_encrypted "$WORK/wp-node1.pcap"
capture_start "$WORK/wp-node2.pcap" node2
request_page
capture_stop
expect_encrypted "$WORK/wp-node2.pcap"
wp_peer=$(inbound_from "spiffe://cluster.local/ns/mesh/sa/waypoint")
[ "$wp_peer" -ge 1 ] || fail "node2's ztunnel never saw the waypoint as peer"
expect_eq "inbound from the client itself while the waypoint is in the path" "$client_peer" \
  "$(inbound_from "spiffe://cluster.local/ns/mesh/sa/client")"
log "HTTP port: the waypoint parses and routes each request"
expect_eq "tunnels parsed as HTTP > 0" True "$(waypoint_dump "j['counters']['relayed']['http'] > 0")"
headers=$(ctl exec mesh/client -- curl -sS --max-time 10 -D - -o /dev/null "http://web/q/$MARK-h") ||
  fail "curl -D - http://web/ failed"
grep -qi '^x-envoy-upstream-service-time: [0-9]' <<<"$headers" ||
  fail "no x-envoy-upstream-service-time from the waypoint: $headers"
grep -q '^HTTP/1.1 200' <<<"$headers" || fail "not a 200: $headers"
# Keep-alive through the waypoint: two requests on one curl connection.
two=$(ctl exec mesh/client -- curl -sS --max-time 10 "http://web/q/$MARK-a" "http://web/q/$MARK-b") ||
  fail "two requests on one connection failed"
expect_eq "two pages on one connection" "page $MARK-resp
page $MARK-resp" "$two"
bytes=$(waypoint_dump "j['counters']['bytes']['upstreamToDownstream']")
[ "$bytes" -gt 0 ] || fail "waypoint copied no bytes back"
metrics=$(ip netns exec "$(pod_ns mesh "$WP")" curl -sS --max-time 5 "http://127.0.0.1:15020/metrics")
line=$(grep '^istio_tcp_connections_opened_total{reporter="waypoint"' <<<"$metrics" |
  grep 'source_workload="client"' | grep 'destination_workload="web"' |
  grep 'destination_service="web.mesh.svc.cluster.local"' | grep 'source_principal="spiffe://cluster.local/ns/mesh/sa/client"' || true)
[ -n "$line" ] || fail "no waypoint TCP series client -> web: $(grep reporter <<<"$metrics" | head -3)"
[ "${line##* }" -ge 4 ] || fail "waypoint series counts ${line##* } connections, want >= 4"

log "pod-addressed traffic: direct while the waypoint is for services, through it with waypoint-for=all"
WEB_IP=$(ctl get pods -n mesh -o json | json_get "[p['ip'] for p in j if p['name']=='web'][0]")
pod_request() {
  local page
  page=$(ctl exec mesh/client -- curl -sS --max-time 10 "http://$WEB_IP/q/$MARK-pod") ||
    fail "curl http://$WEB_IP/ failed"
  expect_eq "page by pod IP" "page $MARK-resp" "$page"
}
before=$(relayed)
pod_request
sleep 0.3
expect_eq "relayed after a pod-addressed request (waypoint-for service)" "$before" "$(relayed)"
ctl apply -f "$WP_DATA/waypoint-all.yaml" >/dev/null
expect_eq "waypoint pod after relabelling the Gateway" "$WP" "$(waypoint_pod)"
ok=""
for _ in $(seq 1 50); do
  before=$(relayed)
  pod_request
  if [ "$(relayed)" -gt "$before" ]; then ok=1; break; fi
  sleep 0.2
done
[ -n "$ok" ] || fail "pod-addressed traffic did not go through the waypoint-for=all waypoint"

log "remove the use-waypoint label: direct again"
ctl apply -f "$TESTDATA/ns-ambient.yaml" >/dev/null
ok=""
for _ in $(seq 1 50); do
  before=$(relayed)
  client_peer=$(inbound_from "spiffe://cluster.local/ns/mesh/sa/client")
  request_page
  sleep 0.3
  if [ "$(relayed)" = "$before" ] &&
     [ "$(inbound_from "spiffe://cluster.local/ns/mesh/sa/client")" -gt "$client_peer" ]; then
    ok=1
    break
  fi
done
[ -n "$ok" ] || fail "traffic still goes through the waypoint after the label was removed"
encrypted_exchange direct

log "delete the Gateway: its pod and Service go"
ctl delete -f "$WP_DATA/waypoint.yaml" >/dev/null
for _ in $(seq 1 100); do
  [ -z "$(ctl get pods -n mesh -o json | json_get "' '.join(p['name'] for p in j if p['name'].startswith('waypoint-'))")" ] && break
  sleep 0.1
done
expect_eq "waypoint pods after delete" "" \
  "$(ctl get pods -n mesh -o json | json_get "' '.join(p['name'] for p in j if p['name'].startswith('waypoint-'))")"
ctl get services -n mesh -o json | json_get "[s['name'] for s in j]" | grep -q "'waypoint'" &&
  fail "the waypoint Service is still there"
request_page

ctl cluster down
expect_cluster_gone
echo PASS
