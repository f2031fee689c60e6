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
  ctl cluster up   # keep the existing cluster, whatever its size
else
  ctl cluster up --nodes 2
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

A="$BUILD/bin/ambitctl"
[ "$CLUSTER" = ambit ] || A="$A --cluster $CLUSTER"
cat <<MSG

The sample app answers. Things to try:
  $A get pods -o json          # each pod: IP, node, network namespace file
  $A get services              # ClusterIPs and their ready endpoints
  $A exec bookinfo/sleep -- curl -s http://productpage:9080/
  $A exec bookinfo/sleep -- curl -s http://reviews.bookinfo.svc.cluster.local:9080/   # v1 or v2
  $A exec bookinfo/sleep -- sh    # a shell in the pod: its netns, /etc/hosts, /tmp
  $A logs bookinfo/POD         # a container's output (POD from get pods)
  ip netns list | grep ambit-$CLUSTER   # nodes and pods are network namespaces

Stop it with:  make demo-down   (or: $A cluster down)
MSG
