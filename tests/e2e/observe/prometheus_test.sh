#!/usr/bin/env bash
# `ambitctl cluster up --prometheus`: a real Prometheus in the cluster scrapes
# every ztunnel and the waypoint; its HTTP API on the printed 127.0.0.1 port
# answers PromQL:
#  - up{job="ztunnel"} is 1 for both nodes (scrapes happen);
#  - after client -> web requests, istio_tcp_connections_opened_total and
#    istio_tcp_sent_bytes_total have series with reporter source (node1's
#    ztunnel) and destination (node2's), source_workload client,
#    destination_workload web, destination_service web.mesh.svc.cluster.local
#    (on the destination side too, guessed as Istio's ztunnel does),
#    connection_security_policy mutual_tls, and non-zero values;
#  - with a waypoint in the path, the waypoint job's series
#    (reporter="waypoint") appear too;
#  - `cluster status` shows the URL; `cluster down` removes Prometheus and
#    its port.
# Without scraping no series ever appears and every wait below fails.
source "$(dirname "$0")/../mesh/lib.sh" "$1"
WP_DATA="$(cd "$(dirname "$0")/../waypoint/testdata" && pwd)"
command -v prometheus >/dev/null || fail "prometheus is not installed (scripts/install-deps.sh)"

up_out=$(ctl cluster up --nodes 2 --prometheus)
echo "$up_out"
URL=$(sed -n 's/^prometheus: \(http:\/\/127\.0\.0\.1:[0-9]*\/\)$/\1/p' <<<"$up_out")
[ -n "$URL" ] || fail "cluster up did not print the Prometheus URL"
ctl cluster status | grep -qF "prometheus: $URL" || fail "cluster status does not show $URL: $(ctl cluster status)"

# promql QUERY: sets RES to the API's result vector as JSON (or "ERROR ...").
promql() {
  local body
  body=$(curl -sS --max-time 5 -G "${URL}api/v1/query" --data-urlencode "query=$1" 2>&1) || body="curl failed: $body"
  RES=$(python3 -c "
import json, sys
try:
    j = json.loads(sys.argv[1])
    print(json.dumps(j['data']['result']) if j['status'] == 'success' else 'ERROR ' + sys.argv[1][:300])
except Exception:
    print('ERROR ' + sys.argv[1][:300])" "$body")
}
# wait_query QUERY PYTHON-PREDICATE-OVER-r SECONDS: until RES satisfies it (a
# wall-clock bound), else fails showing the last answer.
wait_query() {
  local deadline=$(($(date +%s) + $3))
  while :; do
    promql "$1"
    if [ "${RES:0:5}" != ERROR ] &&
       python3 -c "import json,sys; r=json.loads(sys.argv[1]); sys.exit(0 if ($2) else 1)" "$RES" 2>/dev/null; then
      return 0
    fi
    [ "$(date +%s)" -lt "$deadline" ] || fail "query '$1' did not satisfy '$2' within $3 s; last answer: $RES"
    sleep 0.5
  done
}

log "Prometheus answers and scrapes both ztunnels"
wait_query 'up{job="ztunnel"}' "sorted(s['metric']['node'] for s in r if s['value'][1] == '1') == ['node1', 'node2']" 40

log "Prometheus scrapes ambitd's own metrics on node1:15014: both ztunnels connected over xDS"
wait_query 'up{job="ambitd"}' "len(r) == 1 and r[0]['value'][1] == '1' and r[0]['metric']['app'] == 'ambitd'" 40
wait_query 'pilot_xds{job="ambitd"}' "len(r) == 1 and float(r[0]['value'][1]) >= 2" 30
wait_query 'pilot_xds_pushes{job="ambitd",type="wds"}' "len(r) == 1 and float(r[0]['value'][1]) >= 2" 30

deploy_app
ctl apply -f "$TESTDATA/ns-ambient.yaml" >/dev/null
wait_enrolled yes
for _ in 1 2 3 4 5; do request_page; done

# Istio's labels on both reporters: the source side routed by the service;
# the destination side sees the pod address the tunnel targets and guesses
# the service as Istio's ztunnel does (the host the client named, else the
# workload's service with that target port).
SEL='source_workload="client",destination_workload="web",connection_security_policy="mutual_tls"'
SEL="$SEL"',destination_service="web.mesh.svc.cluster.local",destination_service_name="web",destination_service_namespace="mesh"'
for reporter in source destination; do
  log "reporter=$reporter"
  sel="reporter=\"$reporter\",$SEL"
  want_node=$([ $reporter = source ] && echo node1 || echo node2)
  wait_query "istio_tcp_connections_opened_total{$sel}" \
    "len(r) >= 1 and sum(float(s['value'][1]) for s in r) >= 5 and all(s['metric']['job'] == 'ztunnel' and s['metric']['node'] == '$want_node' for s in r)" 30
  log "connections opened: $RES"
  wait_query "istio_tcp_sent_bytes_total{$sel}" "len(r) >= 1 and sum(float(s['value'][1]) for s in r) > 0" 30
  log "bytes sent: $RES"
done

log "waypoint: its metrics are scraped too"
ctl apply -f "$WP_DATA/waypoint.yaml" --wait --timeout 60 >/dev/null
ctl apply -f "$WP_DATA/ns-ambient-waypoint.yaml" >/dev/null
log "the CA counted the enrolled pods' certificates"
wait_query 'citadel_server_success_cert_issuance_count{job="ambitd"}' "len(r) == 1 and float(r[0]['value'][1]) >= 2" 30
wait_query 'up{job="waypoint"}' "len(r) == 1 and r[0]['value'][1] == '1' and r[0]['metric']['gateway'] == 'waypoint'" 40
for _ in 1 2 3 4 5; do request_page; done
wait_query 'istio_tcp_connections_opened_total{job="waypoint",reporter="waypoint",source_workload="client",destination_workload="web",destination_service="web.mesh.svc.cluster.local"}' \
  "len(r) >= 1 and sum(float(s['value'][1]) for s in r) > 0" 30
log "waypoint series: $RES"

log "cluster down removes Prometheus"
ctl cluster down >/dev/null
expect_cluster_gone
if curl -s --max-time 2 -o /dev/null "$URL"; then fail "$URL still answers after cluster down"; fi
echo PASS
