#!/usr/bin/env bash
# `ambitctl proxy-config` on a 2-node cluster with the sample app (client on
# node1, nginx "web" on node2, namespace mesh ambient):
#  - workloads: a row per pod with its address, node, WAYPOINT and PROTOCOL
#    HBONE; without --node every ztunnel answers (ZTUNNEL column);
#  - services: web with its ClusterIP, 1/1 endpoints, WAYPOINT None, then
#    "waypoint" once a waypoint Gateway and istio.io/use-waypoint are applied;
#  - certificates: the client's Leaf and Root, Available and valid, with the
#    serial the dump holds;
#  - connections: a slow download shows on node1 as outbound (client -> web,
#    web's identity, bytes to the app growing) and on node2 as an inbound
#    HBONE tunnel from the client's identity;
#  - policies: as many rows as the dump has policies (zero or more);
#  - -o json of every view is the dump's section; errors name what is wrong.
source "$(dirname "$0")/../mesh/lib.sh" "$1"
WP_DATA="$(cd "$(dirname "$0")/../waypoint/testdata" && pwd)"

# Rows (after the header) of a table whose columns, split on 2+ spaces, match
# the python predicate over `r` (list of cells).
rows() { python3 -c "
import re, sys
lines = sys.stdin.read().splitlines()[1:]
print(sum(1 for l in lines for r in [re.split(r'\s{2,}', l.strip())] if ($1)))"; }

ctl cluster up --nodes 2 >/dev/null
deploy_app
ctl apply -f "$TESTDATA/ns-ambient.yaml" >/dev/null
wait_enrolled yes
request_page
CLIENT_IP=$(ctl get pods -n mesh -o json | json_get "[p['ip'] for p in j if p['name']=='client'][0]")
WEB_IP=$(ctl get pods -n mesh -o json | json_get "[p['ip'] for p in j if p['name']=='web'][0]")
VIP=$(ctl get services -n mesh -o json | json_get "[s['clusterIP'] for s in j if s['name']=='web'][0]")

log "workloads"
out=$(ctl proxy-config workloads --node node1)
echo "$out"
expect_eq "header" "NAMESPACE POD NAME ADDRESS NODE WAYPOINT PROTOCOL" "$(head -1 <<<"$out" | tr -s ' ')"
expect_eq "client row" 1 "$(rows "r == ['mesh', 'client', '$CLIENT_IP', 'node1', 'None', 'HBONE']" <<<"$out")"
expect_eq "web row" 1 "$(rows "r == ['mesh', 'web', '$WEB_IP', 'node2', 'None', 'HBONE']" <<<"$out")"
all=$(ctl proxy-config workloads)
expect_eq "all-nodes header" "ZTUNNEL NAMESPACE POD NAME ADDRESS NODE WAYPOINT PROTOCOL" "$(head -1 <<<"$all" | tr -s ' ')"
for n in node1 node2; do
  expect_eq "web as seen by $n's ztunnel" 1 "$(rows "r[0] == '$n' and r[1:3] == ['mesh', 'web']" <<<"$all")"
done

log "services"
out=$(ctl proxy-config services --node node2)
echo "$out"
expect_eq "header" "NAMESPACE SERVICE NAME SERVICE VIP WAYPOINT ENDPOINTS" "$(head -1 <<<"$out" | tr -s ' ')"
expect_eq "web service row" 1 "$(rows "r == ['mesh', 'web', '$VIP', 'None', '1/1']" <<<"$out")"

log "certificates"
out=$(ctl proxy-config certificates --node node1)
echo "$out"
serial=$(ztunnel_dump node1 | json_get "[c['certChain'][0]['serialNumber'] for c in j['certificates'] if c['identity'].endswith('/ns/mesh/sa/client')][0]")
expect_eq "client leaf" 1 "$(rows "r[:5] == ['spiffe://cluster.local/ns/mesh/sa/client', 'Leaf', 'Available', 'true', '$serial']" <<<"$out")"
expect_eq "client root" 1 "$(rows "r[0] == 'spiffe://cluster.local/ns/mesh/sa/client' and r[1:4] == ['Root', 'Available', 'true']" <<<"$out")"
expect_eq "web's certificate on node1" 0 "$(rows "r[0].endswith('/sa/web')" <<<"$out")"

log "connections: a kept-alive connection from client to web"
ctl exec mesh/web -- sh -c "head -c 300000 /dev/zero > /tmp/www/files/blob"
# Reads the 300000-byte file over one connection, then keeps it open 15 s.
cat > "$STATE/pods/mesh_client/tmp/hold.py" <<'PY'
import socket, time
s = socket.create_connection(("web", 80), timeout=20)
s.sendall(b"GET /files/blob HTTP/1.1\r\nHost: web\r\n\r\n")
got = 0
while got < 300000:
    chunk = s.recv(65536)
    if not chunk:
        raise SystemExit("closed early")
    got += len(chunk)
print("held", got, flush=True)
time.sleep(15)
PY
ctl exec mesh/client -- /usr/bin/python3 /tmp/hold.py > "$WORK/hold.log" 2>&1 &
HOLD=$!
ok=""
for _ in $(seq 1 50); do
  out=$(ctl proxy-config connections --node node1)
  if [ "$(rows "r[:2] == ['mesh/client', 'outbound'] and r[2].startswith('$CLIENT_IP:') and r[3] == '$WEB_IP:80' and r[4] == 'spiffe://cluster.local/ns/mesh/sa/web' and r[6].isdigit() and int(r[6]) >= 300000" <<<"$out")" = 1 ]; then ok=1; break; fi
  sleep 0.2
done
echo "$out"
[ -n "$ok" ] || fail "no outbound connection client -> web with >= 300000 bytes to the app on node1 ($(cat "$WORK/hold.log"))"
expect_eq "connections header" "NODE POD DIRECTION SOURCE DESTINATION IDENTITY BYTES FROM APP BYTES TO APP AGE" \
  "$(ctl proxy-config connections | head -1 | tr -s ' ')"
out=$(ctl proxy-config connections --node node2)
echo "$out"
[ "$(rows "r[:2] == ['mesh/web', 'inbound-hbone'] and r[4] == 'spiffe://cluster.local/ns/mesh/sa/client'" <<<"$out")" -ge 1 ] ||
  fail "no inbound HBONE tunnel from the client on node2"
ctl proxy-config connections --node node1 -o json |
  json_get "[c for c in j if c['direction'] == 'outbound' and c['bytesToApp'] >= 300000 and c['ageSeconds'] > 0][0]['pod']" |
  grep -qx "mesh/client" || fail "-o json connections lack the outbound connection"
wait "$HOLD" || fail "the held connection failed: $(cat "$WORK/hold.log")"
grep -q "^held 300" "$WORK/hold.log" || fail "hold.py did not read the file: $(cat "$WORK/hold.log")"

log "policies: as many rows as the dump has"
out=$(ctl proxy-config policies --node node1)
echo "$out"
expect_eq "header" "NAMESPACE POLICY NAME ACTION SCOPE" "$(head -1 <<<"$out" | tr -s ' ')"
want=$(ztunnel_dump node1 | json_get "len(j['policies'])")
expect_eq "policy rows" "$want" "$(($(wc -l <<<"$out") - 1))"

log "-o json: each view is the dump's section"
for view in workloads services policies certificates; do
  ctl proxy-config "$view" --node node2 -o json > "$WORK/$view.json"
  ztunnel_dump node2 > "$WORK/dump.json"
  python3 - "$WORK/$view.json" "$WORK/dump.json" "$view" <<'PY' || fail "-o json of $1 is not the dump's section"
import json, sys
got, dump, view = json.load(open(sys.argv[1])), json.load(open(sys.argv[2])), sys.argv[3]
key = (lambda e: json.dumps(e, sort_keys=True)) if view != "certificates" else (lambda e: e["identity"])
assert isinstance(got, list), type(got)
assert sorted(map(key, got)) == sorted(map(key, dump[view])), (view, len(got), len(dump[view]))
PY
  ctl proxy-config "$view" -o json | json_get "sorted(j.keys())" | grep -qx "\['node1', 'node2'\]" ||
    fail "-o json without --node is not keyed by node"
done

log "waypoint: WAYPOINT column"
ctl apply -f "$WP_DATA/waypoint.yaml" --wait --timeout 60 >/dev/null
ctl apply -f "$WP_DATA/ns-ambient-waypoint.yaml" >/dev/null
ok=""
for _ in $(seq 1 100); do
  out=$(ctl proxy-config services --node node1)
  if [ "$(rows "r[:2] == ['mesh', 'web'] and r[3] == 'waypoint'" <<<"$out")" = 1 ]; then ok=1; break; fi
  sleep 0.2
done
echo "$out"
[ -n "$ok" ] || fail "service web does not show waypoint 'waypoint'"

log "errors"
if err=$(ctl proxy-config workloads --node node9 2>&1); then fail "an unknown node was accepted"; fi
grep -q "node9" <<<"$err" || fail "error does not name the node: $err"
if err=$(ctl proxy-config routes 2>&1); then fail "an unknown view was accepted"; fi
grep -q "routes" <<<"$err" || fail "error does not name the view: $err"

ctl cluster down >/dev/null
expect_cluster_gone
echo PASS
