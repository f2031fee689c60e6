#!/usr/bin/env bash
# Service load balancing through the mesh (the client's ztunnel picks the
# endpoint): 200 connections to a VIP with one endpoint on each node are
# spread over both (each gets 30-70 %); when the Deployment scales down, the
# removed endpoint stops getting new connections within a bounded time (the
# measured time is printed); a Service with trafficDistribution PreferClose
# keeps a node1 client on node1's endpoint and fails over to node2's when that
# one goes.
source "$(dirname "$0")/lib.sh" "$1"

ctl cluster up --nodes 2 >/dev/null
ctl apply -f "$TESTDATA/lb.yaml" --wait --timeout 90 >/dev/null
pods_json() { ctl get pods -n lb -o json; }
node_of() { pods_json | json_get "[p['node'] for p in j if p['name']=='$1'][0]"; }
echo_pods=$(pods_json | json_get "' '.join(sorted(p['name'] for p in j if p['name'].startswith('echo-')))")
expect_eq "echo replicas" 2 "$(wc -w <<<"$echo_pods")"
expect_eq "echo nodes" "node1 node2" "$(for p in $echo_pods; do node_of "$p"; done | sort | xargs)"
for i in $(seq 1 100); do  # the client's redirection is in place
  ip netns exec "$(pod_ns lb client)" sh -c 'nft list ruleset 2>/dev/null; iptables-save 2>/dev/null' | grep -q 15001 && break
  sleep 0.1
done

# many N URL: N connections (one curl each) from the client; one line per answer, FAIL for none.
many() {
  ctl exec lb/client -- sh -c "for i in \$(seq $1); do curl -sS --max-time 3 $2 2>/dev/null || echo FAIL; done"
}
# Every connection went through node1's ztunnel (not straight to the pods).
zt_connections() {
  ztunnel_dump node1 | json_get "sum(w['connections'] for w in j['workers'])"
}

log "200 connections to echo's VIP"
before=$(zt_connections)
many 200 http://echo/ > "$WORK/spread.txt"
after=$(zt_connections)
[ $((after - before)) -ge 200 ] || fail "node1's ztunnel carried $((after - before)) connections, not >= 200"
expect_eq "failed connections" 0 "$(grep -c FAIL "$WORK/spread.txt" || true)"
for p in $echo_pods; do
  n=$(grep -cx "$p" "$WORK/spread.txt" || true)
  log "$p ($(node_of "$p")): $n of 200"
  [ "$n" -ge 60 ] && [ "$n" -le 140 ] || fail "$p got $n of 200 connections, outside 30-70 %"
done

log "scale echo down to 1: the removed endpoint stops getting connections"
# Connections one after another for 12 s, each line "<epoch seconds> <answer>".
ctl exec lb/client -- sh -c 'end=$(($(date +%s) + 12)); while [ $(date +%s) -lt $end ]; do
  echo "$(date +%s.%N) $(curl -sS --max-time 2 http://echo/ 2>/dev/null || echo FAIL)"; sleep 0.02; done' > "$WORK/scale.txt" &
probe=$!
sleep 3
# When node1's ztunnel (the client's) stops knowing both echo workloads.
echo_refs() { ztunnel_dump node1 | grep -o "Kubernetes//Pod/lb/echo-[a-z0-9-]*" | sort -u | wc -l; }
if [ "$(echo_refs)" != 2 ]; then
  ztunnel_dump node1 > "$WORK/dump-before.json"
  fail "node1's ztunnel does not know both echo workloads (see $WORK/dump-before.json)"
fi
sed 's/replicas: 2/replicas: 1/' "$TESTDATA/lb.yaml" > "$WORK/lb-1.yaml"
t0=$(date +%s.%N)
ctl apply -f "$WORK/lb-1.yaml" >/dev/null &
apply=$!
t_gone=""
polls=0
for i in $(seq 1 400); do
  polls=$((polls + 1))
  if [ "$(echo_refs)" = 1 ]; then t_gone=$(date +%s.%N); break; fi
  sleep 0.02
done
log "polled node1's ztunnel $polls times"
wait "$apply" || fail "scaling down failed"
[ -n "$t_gone" ] || fail "node1's ztunnel still lists 2 echo endpoints 10 s after the scale-down"
wait "$probe"
left=$(pods_json | json_get "' '.join(p['name'] for p in j if p['name'].startswith('echo-'))")
expect_eq "echo replicas after scaling down" 1 "$(wc -w <<<"$left")"
gone=$(for p in $echo_pods; do [ "$p" = "$left" ] || echo "$p"; done)
python3 - "$WORK/scale.txt" "$t0" "$t_gone" "$gone" "$left" <<'PY' || fail "the removed endpoint kept getting connections"
import sys
path, t0, t_gone, gone, left = sys.argv[1], float(sys.argv[2]), float(sys.argv[3]), sys.argv[4], sys.argv[5]
rows = [l.split(None, 1) for l in open(path) if l.strip()]
rows = [(float(t), a.strip()) for t, a in rows]
before = [a for t, a in rows if t < t0]
after = [(t, a) for t, a in rows if t >= t0]
assert gone in before, "the removed pod answered nothing before the scale-down: the check could not fail"
bad = [t for t, a in after if a != left]
last = max(bad) - t0 if bad else 0.0
fails = sum(1 for t, a in after if a == "FAIL")
steady = [a for t, a in after if t > t0 + last]
print(f"--- endpoint removal: gone from the client's ztunnel {t_gone - t0:.3f} s after `apply` started; "
      f"last connection started to {gone} (or failed) {last:.3f} s after it; {fails} failed of "
      f"{len(after)} after the apply; then {len(steady)} connections, all to {left}")
assert t_gone - t0 < 5.0, f"the endpoint left discovery only after {t_gone - t0:.3f} s"
assert last < 5.0, f"connections still went to the removed endpoint {last:.3f} s later"
assert len(steady) >= 5, f"only {len(steady)} connections after the removal settled"
PY

log "PreferClose: the node1 client stays on node1's endpoint"
expect_eq "close-1 node" node1 "$(node_of close-1)"
expect_eq "close-2 node" node2 "$(node_of close-2)"
many 100 http://close/ > "$WORK/close.txt"
expect_eq "answers from close-1 of 100" 100 "$(grep -cx close-1 "$WORK/close.txt" || true)"
log "...and fails over to node2's when close-1 goes"
python3 - "$TESTDATA/lb.yaml" > "$WORK/close-1.yaml" <<'PY'
import sys
docs = open(sys.argv[1]).read().split("\n---\n")
print(next(d for d in docs if "name: close-1" in d))
PY
ctl delete -f "$WORK/close-1.yaml" >/dev/null
sleep 1
many 50 http://close/ > "$WORK/failover.txt"
expect_eq "answers from close-2 of 50 after close-1 went" 50 "$(grep -cx close-2 "$WORK/failover.txt" || true)"
ctl cluster down
expect_cluster_gone
echo PASS
