#!/usr/bin/env bash
# Issue 4 (g): the same enrollment with the iptables redirect backend
# (`cluster up --redirect iptables`): encrypted while labelled, plaintext
# after the label is removed, and no redirection rule left behind.
source "$(dirname "$0")/lib.sh" "$1"

ctl cluster up --nodes 2 --redirect iptables >/dev/null
grep -q '"redirect": "iptables"' "$STATE/cluster.json" || fail "cluster.json lacks the iptables backend"
deploy_app
ctl apply -f "$TESTDATA/ns-ambient.yaml" >/dev/null
wait_enrolled yes
nat=$(ip netns exec "$(pod_ns mesh client)" iptables-save -t nat)
grep -q 15001 <<<"$nat" || fail "no iptables redirection in the client pod"
ruleset=$(ip netns exec "$(pod_ns mesh client)" nft list ruleset 2>/dev/null || true)
if grep -q 'table inet ' <<<"$ruleset"; then
  fail "nftables rules installed although iptables was selected"
fi
encrypted_exchange mesh
ctl apply -f "$TESTDATA/ns-plain.yaml" >/dev/null
wait_enrolled no
plaintext_exchange plain
ctl cluster down
expect_cluster_gone
echo PASS
