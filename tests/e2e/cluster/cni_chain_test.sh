#!/usr/bin/env bash
# The CNI chain: a plugin chained after bridge (the slot ambit-cni uses) is run
# per the CNI spec: in the node's namespace, with CNI_* set, the conflist's name
# and cniVersion, and bridge's result as prevResult on ADD and on DEL.
source "$(dirname "$0")/lib.sh" "$1"
DATA="$(cd "$(dirname "$0")/testdata" && pwd)"
RECORD=$(mktemp -d)
trap 'rm -rf "$RECORD"; cleanup' EXIT
chain="{\"type\":\"cni-recorder\",\"recordDir\":\"$RECORD\"}"

log "a chained plugin that does not exist is refused and nothing is made"
if out=$(ctl cluster up --nodes 1 --cni-chain '{"type":"ambit-no-such-plugin"}' 2>&1); then
  fail "cluster up with a missing plugin succeeded"
fi
echo "$out" | grep "CNI plugin 'ambit-no-such-plugin' not found" >/dev/null || fail "unclear error: $out"
[ ! -e "$STATE" ] || fail "a refused cluster up left $STATE"

log "cluster up with the recorder chained after bridge"
ctl cluster up --nodes 1 --cni-bin-dir /usr/lib/cni --cni-bin-dir "$DATA/cni" --cni-chain "$chain"
printf 'apiVersion: v1\nkind: Pod\nmetadata: {name: p1}\nspec:\n  containers:\n  - {name: c, image: i, command: [sleep, infinity]}\n' > "$RECORD/pod.yaml"
ctl apply -f "$RECORD/pod.yaml" --wait --timeout 30
uid=$(ctl get pods -o json | json_get "j[0]['uid']")
ip=$(ctl get pods -o json | json_get "j[0]['ip']")
add="$RECORD/ADD-ambit-$uid"
[ -e "$add.json" ] || fail "the chained plugin was not called for ADD"
expect_eq "cniVersion" "1.0.0" "$(json_get "j['cniVersion']" < "$add.json")"
expect_eq "network name" "ambit" "$(json_get "j['name']" < "$add.json")"
expect_eq "prevResult IP" "$ip/24" "$(json_get "j['prevResult']['ips'][0]['address']" < "$add.json")"
grep -x "CNI_NETNS=/run/netns/ambit-$CLUSTER-pod-default_p1" "$add.env" >/dev/null || fail "CNI_NETNS: $(cat "$add.env")"
grep -x "CNI_IFNAME=eth0" "$add.env" >/dev/null || fail "CNI_IFNAME"
grep "^CNI_ARGS=.*K8S_POD_NAMESPACE=default;K8S_POD_NAME=p1" "$add.env" >/dev/null || fail "CNI_ARGS: $(cat "$add.env")"
grep "^CNI_PATH=/usr/lib/cni:$DATA/cni\$" "$add.env" >/dev/null || fail "CNI_PATH: $(cat "$add.env")"
python3 -c 'import json,sys; j=json.load(open(sys.argv[1])); assert [p["type"] for p in j["plugins"]]==["bridge","cni-recorder"], j' \
  "$STATE/nodes/node1/cni.conflist" || fail "conflist"

[ -e "$STATE/cni/ipam/node1/ambit/$ip" ] || fail "no host-local lease for $ip in the cluster's state dir"

log "the same up again is fine; other CNI settings are refused"
ctl cluster up --cni-bin-dir /usr/lib/cni --cni-bin-dir "$DATA/cni" --cni-chain "$chain"
if ctl cluster up --cni-bin-dir /usr/lib/cni 2>/dev/null; then fail "up with other CNI settings succeeded"; fi

log "delete runs DEL with the cached result"
ctl delete -f "$RECORD/pod.yaml"
for i in $(seq 1 50); do [ -e "$RECORD/DEL-ambit-$uid.json" ] && break; sleep 0.2; done
[ -e "$RECORD/DEL-ambit-$uid.json" ] || fail "the chained plugin was not called for DEL"
expect_eq "DEL prevResult IP" "$ip/24" "$(json_get "j['prevResult']['ips'][0]['address']" < "$RECORD/DEL-ambit-$uid.json")"
# host-local released the address.
[ ! -e "$STATE/cni/ipam/node1/ambit/$ip" ] || fail "lease of $ip not released"

ctl cluster down
expect_cluster_gone
echo PASS
