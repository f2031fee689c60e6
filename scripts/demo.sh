#!/usr/bin/env bash
# `make demo`: a two-node local cluster running the bookinfo sample, answering
# through its front page. Run as root (nodes and pods are network namespaces).
set -euo pipefail
BUILD="${1:-build}"
CTL="$BUILD/bin/ambitctl"
CLUSTER="${AMBIT_DEMO_CLUSTER:-ambit}"
ROOT="$(cd "$(dirname "$0")/.." && pwd)"

if [ "$(id -u)" -ne 0 ]; then
  echo "make demo needs root: nodes and pods are Linux network namespaces." >&2
  exit 1
fi
ctl() { "$CTL" --cluster "$CLUSTER" "$@"; }

echo "==> cluster up ($CLUSTER)"
if [ -e "/var/lib/ambit/$CLUSTER/cluster.json" ]; then
  ctl cluster up --prometheus   # keep the existing cluster, whatever its size
else
  ctl cluster up --nodes 2 --prometheus
fi
ctl get nodes

echo
echo "==> apply examples/bookinfo"
ctl apply -f "$ROOT/examples/bookinfo" --wait --timeout 90
ctl get pods -n bookinfo
ctl get services -n bookinfo

echo
echo "==> the front page, fetched from the sleep pod:"
echo "    ambitctl exec bookinfo/sleep -- curl -s http://productpage:9080/"
page=""
for attempt in 1 2 3 4 5; do
  if page=$(ctl exec bookinfo/sleep -- curl -sS --max-time 5 http://productpage:9080/); then break; fi
  sleep 1
done
if [ -z "$page" ] || ! grep -q "reviews-v" <<<"$page"; then
  echo "the product page did not answer as expected:" >&2
  echo "$page" >&2
  exit 1
fi
echo "$page" | sed 's/^/    /'

echo
echo "==> enroll bookinfo in the mesh: label its namespace istio.io/dataplane-mode=ambient"
ctl apply -f - <<'YAML'
apiVersion: v1
kind: Namespace
metadata:
  name: bookinfo
  labels: {istio.io/dataplane-mode: ambient}
YAML
SLEEP_NS="ambit-$CLUSTER-pod-bookinfo_sleep"
enrolled=0
for attempt in $(seq 1 50); do
  rules=$(ip netns exec "$SLEEP_NS" sh -c 'nft list ruleset 2>/dev/null; iptables-save 2>/dev/null' || true)
  if grep -q 15001 <<<"$rules"; then
    enrolled=1; break
  fi
  sleep 0.2
done
if [ $enrolled != 1 ]; then
  echo "the sleep pod was not enrolled within 10 s; see /var/lib/ambit/$CLUSTER/ambitd.log" >&2
  exit 1
fi
SLEEP_NODE=$(ctl get pods -n bookinfo -o json | python3 -c "import json,sys; print([p['node'] for p in json.load(sys.stdin) if p['name']=='sleep'][0])")
page=""
for attempt in 1 2 3 4 5; do
  if page=$(ctl exec bookinfo/sleep -- curl -sS --max-time 5 http://productpage:9080/); then break; fi
  sleep 1
done
if ! grep -q "reviews-v" <<<"$page"; then
  echo "the product page did not answer through the mesh:" >&2
  echo "$page" >&2
  exit 1
fi
echo "    the front page answers through the mesh (same pods, no restart)."
echo "    ztunnel on $SLEEP_NODE (its /config_dump, counters.outbound):"
ip netns exec "ambit-$CLUSTER-$SLEEP_NODE" curl -s http://127.0.0.1:15000/config_dump |
  python3 -c "import json,sys; c=json.load(sys.stdin); o=c['counters']['outbound']; print('      pods:', sorted(p['namespace']+'/'+p['name'] for p in c['pods'])); print('      hbone connections:', o['hbone'], ' TLS connections opened:', o['tlsConnectionsOpened'])"

A="$BUILD/bin/ambitctl"
[ "$CLUSTER" = ambit ] || A="$A --cluster $CLUSTER"
PROM_URL=$(ctl cluster status | sed -n 's/^prometheus: *\(http[^ ]*\).*/\1/p')
for attempt in $(seq 1 50); do  # until Prometheus answers through the forwarder
  curl -sf --max-time 2 -o /dev/null "${PROM_URL}-/ready" && break
  sleep 0.2
done
cat <<MSG

The sample app answers. Things to try:
  $A get pods -o json          # each pod: IP, node, network namespace file
  $A get services              # ClusterIPs and their ready endpoints
  $A exec bookinfo/sleep -- curl -s http://productpage:9080/
  $A exec bookinfo/sleep -- curl -s http://reviews.bookinfo.svc.cluster.local:9080/   # v1 or v2
  $A exec bookinfo/sleep -- sh    # a shell in the pod: its netns, /etc/hosts, /tmp
  $A logs bookinfo/POD         # a container's output (POD from get pods)
  ip netns list | grep ambit-$CLUSTER   # nodes and pods are network namespaces

The bookinfo namespace is in the mesh (label istio.io/dataplane-mode=ambient). See that it is encrypted:
  # capture on $SLEEP_NODE while fetching the page: only TLS to port 15008, no HTTP in clear
  ip netns exec ambit-$CLUSTER-$SLEEP_NODE tcpdump --immediate-mode -i any -nn -A 'tcp port 15008 or tcp port 9080' &
  $A exec bookinfo/sleep -- curl -s http://productpage:9080/ >/dev/null; sleep 1; kill %1
  ip netns exec ambit-$CLUSTER-$SLEEP_NODE curl -s 127.0.0.1:15000/config_dump   # ztunnel: pods, certificates, counters
  ip netns exec ambit-$CLUSTER-$SLEEP_NODE curl -s 127.0.0.1:15020/metrics       # istio_tcp_* metrics
  tail /var/lib/ambit/$CLUSTER/nodes/$SLEEP_NODE/ztunnel.log                      # access log lines
What each ztunnel knows, as istioctl ztunnel-config shows it (docs/observability.md):
  $A proxy-config workloads     # also: services, policies, certificates, connections; --node N; -o json
Prometheus scrapes every ztunnel and waypoint every 5 s: ${PROM_URL}
  curl -sG ${PROM_URL}api/v1/query --data-urlencode 'query=sum by (source_workload,destination_workload) (istio_tcp_connections_opened_total{reporter="destination"})'
Leave the mesh (same pods keep running, traffic in clear again):
  echo '{"apiVersion":"v1","kind":"Namespace","metadata":{"name":"bookinfo"}}' | $A apply -f -

Stop it with:  make demo-down   (or: $A cluster down)
MSG
