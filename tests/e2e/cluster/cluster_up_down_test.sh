#!/usr/bin/env bash
# cluster up/down: nodes and fabric exist as namespaces, `up` is idempotent and
# refuses a different node count, `down` leaves nothing behind.
source "$(dirname "$0")/lib.sh" "$1"

log "cluster up --nodes 2"
ctl cluster up --nodes 2
nodes_json=$(ctl get nodes -o json)
expect_eq "node names" "node1 node2" "$(echo "$nodes_json" | json_get "' '.join(n['name'] for n in j)")"
expect_eq "pod CIDRs" "10.244.1.0/24 10.244.2.0/24" "$(echo "$nodes_json" | json_get "' '.join(n['podCIDR'] for n in j)")"
for n in 1 2; do
  path=$(echo "$nodes_json" | json_get "j[$((n-1))]['netns']")
  expect_eq "node$n netns" "/run/netns/ambit-$CLUSTER-node$n" "$path"
  [ -e "$path" ] || fail "$path missing"
done
[ -e "/run/netns/ambit-$CLUSTER-fabric" ] || fail "fabric netns missing"
ip -n "ambit-$CLUSTER-node1" route | grep "10.244.2.0/24 via 172.29.0.2" >/dev/null || fail "node1 has no route to node2's pods"
ip -n "ambit-$CLUSTER-node2" -4 addr show dev eth0 | grep "172.29.0.2/24" >/dev/null || fail "node2 eth0 address"
# Bridged frames skip iptables/nftables in the cluster's own namespaces (where the
# kernel has br_netfilter at all); the machine's own setting is left alone.
if [ -e /proc/sys/net/bridge/bridge-nf-call-iptables ]; then
  root_brnf=$(cat /proc/sys/net/bridge/bridge-nf-call-iptables)
  for ns in fabric node1 node2; do
    expect_eq "bridge-nf-call-iptables in $ns" 0 \
      "$(ip netns exec "ambit-$CLUSTER-$ns" cat /proc/sys/net/bridge/bridge-nf-call-iptables)"
  done
  expect_eq "root namespace's bridge-nf-call-iptables untouched" "$root_brnf" \
    "$(cat /proc/sys/net/bridge/bridge-nf-call-iptables)"
fi

log "node1 reaches node2 across the fabric"
ip netns exec "ambit-$CLUSTER-node2" python3 -c '
import socket; s=socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("172.29.0.2", 7777)); s.listen(1); s.settimeout(10); c,_=s.accept(); c.sendall(b"pong"); c.close()' &
listener=$!
sleep 0.3
got=$(ip netns exec "ambit-$CLUSTER-node1" python3 -c '
import socket,time
for i in range(30):
    try:
        s=socket.create_connection(("172.29.0.2", 7777), timeout=2); print(s.recv(4).decode()); break
    except ConnectionRefusedError: time.sleep(0.1)')
wait $listener
expect_eq "reply across fabric" pong "$got"

log "up again is a no-op; a different node count is refused"
before=$(ctl get nodes -o json)
ctl cluster up
ctl cluster up --nodes 2
if out=$(ctl cluster up --nodes 3 2>&1); then fail "up --nodes 3 on a 2-node cluster succeeded"; fi
echo "$out" | grep "exists with 2 node(s)" >/dev/null || fail "unclear error: $out"
expect_eq "nodes unchanged" "$before" "$(ctl get nodes -o json)"

log "a second cluster runs side by side, with the same addresses, and is left alone"
OTHER="${CLUSTER:0:15}b"
"$CTL" --cluster "$OTHER" cluster up --nodes 1
trap '"$CTL" --cluster "$OTHER" cluster down >/dev/null 2>&1 || true; cleanup' EXIT
expect_eq "other cluster's node1 netns" "/run/netns/ambit-$OTHER-node1" \
  "$("$CTL" --cluster "$OTHER" get nodes -o json | json_get "j[0]['netns']")"
ip -n "ambit-$OTHER-node1" -4 addr show dev eth0 | grep "172.29.0.1/24" >/dev/null || fail "other cluster's node1 address"
expect_eq "first cluster unchanged" "$before" "$(ctl get nodes -o json)"

log "a missing cluster is an error"
if out=$("$CTL" --cluster "nx$CLUSTER" get nodes 2>&1); then fail "get on a missing cluster succeeded"; fi
echo "$out" | grep "does not exist" >/dev/null || fail "unclear error: $out"

log "cluster down removes everything; down again is an error"
ctl cluster down
expect_cluster_gone
[ -e "/run/netns/ambit-$OTHER-node1" ] || fail "removing $CLUSTER touched $OTHER"
"$CTL" --cluster "$OTHER" get nodes >/dev/null || fail "$OTHER stopped answering"
"$CTL" --cluster "$OTHER" cluster down
if ctl cluster down 2>/dev/null; then fail "down of a removed cluster succeeded"; fi
echo PASS
