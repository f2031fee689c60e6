#!/usr/bin/env bash
# A two-node cluster end to end: nginx in a pod on node1, a client pod on node2
# fetching it by every service-name form and by VIP; a 2-replica Deployment spread
# over the nodes; bad input refused with the cluster unchanged; ambitd killed and
# restarted without losing anything; `cluster down` leaves nothing behind.
source "$(dirname "$0")/lib.sh" "$1"
DATA="$(dirname "$0")/testdata"

pods_json() { ctl get pods -n shop -o json; }
pod_field() {  # pod_field POD FIELD
  pods_json | json_get "[p for p in j if p['name']=='$1'][0]['$2']"
}
in_client() { ctl exec shop/client -- "$@"; }

log "cluster up --nodes 2, apply nginx + client"
ctl cluster up --nodes 2
ctl apply -f "$DATA/nginx-on-node1.yaml" --wait --timeout 60
expect_eq "web node" node1 "$(pod_field web node)"
expect_eq "client node" node2 "$(pod_field client node)"
expect_eq "web phase" Running "$(pod_field web phase)"
web_ip=$(pod_field web ip)
client_ip=$(pod_field client ip)
case "$web_ip" in 10.244.1.*) ;; *) fail "web IP $web_ip not in node1's pod CIDR" ;; esac
case "$client_ip" in 10.244.2.*) ;; *) fail "client IP $client_ip not in node2's pod CIDR" ;; esac
[ -e "$(pod_field web netns)" ] || fail "web netns file missing"
vip=$(ctl get services -n shop -o json | json_get "[s for s in j if s['name']=='web'][0]['clusterIP']")
case "$vip" in 10.96.*) ;; *) fail "VIP $vip not in 10.96.0.0/16" ;; esac

log "client on node2 reaches nginx on node1 by name, by VIP and by pod IP"
for target in web:8080 web.shop:8080 web.shop.svc.cluster.local:8080 "$vip:8080" "$web_ip:80"; do
  got=$(in_client curl -sS --max-time 5 --retry 3 --retry-connrefused "http://$target/")
  expect_eq "curl $target" "hello from web" "$got"
done
# nginx saw the client's own pod IP: no NAT between pods.
ctl logs shop/web | grep "^$client_ip " >/dev/null || fail "nginx did not log the client's pod IP"
# The VIP is a DNAT in the client's own namespace, after priority -100.
in_client nft list table ip ambit_services | grep "priority -90" >/dev/null || fail "no nat chain at -90"
# A VIP port nothing serves is refused at once.
if in_client curl -sS --max-time 5 "http://$vip:9999/" 2>/dev/null; then fail "unserved VIP port answered"; fi
expect_eq "exec exit code" 3 "$(in_client sh -c 'exit 3' || echo $?)"

log "a Deployment with 2 replicas spreads over both nodes and balances"
ctl apply -f "$DATA/echo-deployment.yaml" --wait --timeout 60
echo_pods=$(pods_json | json_get "' '.join(sorted(p['name'] for p in j if p['name'].startswith('echo-')))")
expect_eq "echo replicas" 2 "$(echo "$echo_pods" | wc -w)"
for p in $echo_pods; do
  [[ "$p" =~ ^echo-[a-z0-9]{10}-[a-z0-9]{5}$ ]] || fail "pod name $p is not echo-<hash>-<suffix>"
done
nodes=$(pods_json | json_get "' '.join(sorted(p['node'] for p in j if p['name'].startswith('echo-')))")
expect_eq "echo nodes" "node1 node2" "$nodes"
seen=""
for i in $(seq 1 40); do
  seen="$seen $(in_client curl -sS --max-time 5 http://echo/)"
  [ "$(echo $seen | tr ' ' '\n' | sort -u | wc -l)" -eq 2 ] && break
done
expect_eq "endpoints answering through the VIP" "$echo_pods" "$(echo $seen | tr ' ' '\n' | sort -u | xargs)"
# Applying the same input again changes nothing.
ctl apply -f "$DATA/echo-deployment.yaml" | grep -v unchanged && fail "re-apply changed something"

log "bad input is refused with a clear error and the cluster unchanged"
before_pods=$(ctl get pods -o json); before_svcs=$(ctl get services -o json)
check_refused() {  # check_refused FILE EXPECTED-TEXT
  local out
  if out=$(ctl apply -f "$1" 2>&1); then fail "apply $1 succeeded"; fi
  echo "$out" | grep -F -- "$2" >/dev/null || fail "apply $(basename "$1"): error lacks '$2': $out"
  echo "    refused $(basename "$1"): $(echo "$out" | head -1)"
}
check_refused "$DATA/bad/command-not-found.yaml" "command 'ambit-no-such-command' not found"
check_refused "$DATA/bad/malformed.yaml" "malformed.yaml"
check_refused "$DATA/bad/unknown-kind.yaml" "Gizmo"
check_refused "$DATA/bad/missing-field.yaml" "spec.containers"
check_refused "$DATA/bad/duplicate.yaml" "duplicate"
check_refused "$DATA/bad/half-good.yaml" "node 'node7' does not exist"
check_refused "$DATA/bad/missing-namespace.yaml" "namespace 'nowhere' does not exist"
if out=$(ctl apply -f /nonexistent/ambit.yaml 2>&1); then fail "apply of a missing file succeeded"; fi
if out=$(ctl delete -f "$DATA/bad/command-not-found.yaml" 2>&1); then fail "delete of a missing pod succeeded"; fi
echo "$out" | grep "not found" >/dev/null || fail "unclear delete error: $out"
sleep 1.5  # one reconcile pass, so a wrongly applied pod would show
expect_eq "pods unchanged" "$before_pods" "$(ctl get pods -o json)"
expect_eq "services unchanged" "$before_svcs" "$(ctl get services -o json)"

log "ambitd killed: pods keep running; restarted: nothing lost"
web_pid=$(pods_json | json_get "[p for p in j if p['name']=='web'][0]['containers'][0]['pid']")
daemon=$(pgrep -f -- "ambitd --cluster $CLUSTER\$")
kill -9 "$daemon"
sleep 0.5
kill -0 "$web_pid" || fail "nginx died with ambitd"
# exec works without ambitd (from the pod's record on disk), and so do names and VIPs.
expect_eq "curl without ambitd" "hello from web" "$(in_client curl -sS --max-time 5 http://web.shop:8080/)"
if ctl get pods >/dev/null 2>&1; then fail "get pods answered without ambitd"; fi
ctl cluster up
sleep 1.5
expect_eq "pods after restart" "$before_pods" "$(ctl get pods -o json)"
expect_eq "services after restart" "$before_svcs" "$(ctl get services -o json)"
expect_eq "curl after restart" "hello from web" "$(in_client curl -sS --max-time 5 http://web:8080/)"

log "delete the Deployment: its pods and endpoints go"
ctl delete -f "$DATA/echo-deployment.yaml"
sleep 2
expect_eq "echo pods after delete" "" "$(pods_json | json_get "' '.join(p['name'] for p in j if p['name'].startswith('echo-'))")"
if in_client curl -sS --max-time 3 http://echo/ 2>/dev/null; then fail "deleted service still answers"; fi

log "cluster down leaves no namespace, process, nft table or file"
ctl cluster down
expect_cluster_gone
kill -0 "$web_pid" 2>/dev/null && fail "nginx ($web_pid) survived cluster down"
nft list tables 2>/dev/null | grep ambit_services >/dev/null && fail "an ambit nft table exists in the root namespace"
echo PASS
