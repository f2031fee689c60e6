#!/usr/bin/env bash
# Timeouts and retries enforced by the waypoint (docs/traffic-management.md
# "Timeouts", "Retries"). Namespace "mesh" ambient, bound to waypoint
# "waypoint"; Service flaky (testdata/flaky.yaml) fails on purpose.
#  1. No route: Istio's default policy retries a 503 twice: a path failing
#     twice answers 200 on the third try, one failing three times stays 503.
#  2. The VirtualService of testdata/flaky-vs.yaml (3 retries on 5xx): apply
#     names the retryOn condition it does not enforce; a path failing three
#     times answers 200 on the fourth try (x-envoy-attempt-count: 4).
#  3. Its 1 s timeout on /slow (the backend answers after 5 s): curl gets 504
#     "upstream request timeout" after about a second.
#  4. Delete the VirtualService: /slow answers 200 again (after 5 s).
source "$(dirname "$0")/../mesh/lib.sh" "$1"
source "$(dirname "$0")/lib.sh"

# get PATH: "<status> <body>" of one GET http://flaky/PATH from the client.
get() {
  ctl exec mesh/client -- curl -sS --max-time 10 -w ' %{http_code}' "http://flaky$1" | tr -d '\n'
}
# wait_table BOOL: until the waypoint holds (True) or lacks (False) a table for flaky.
wait_table() {
  local got=""
  for _ in $(seq 1 100); do
    got=$(waypoint_dump "'flaky.mesh.svc.cluster.local' in j['routeTables']['tables']" 2>/dev/null || true)
    [ "$got" = "$1" ] && return 0
    sleep 0.1
  done
  fail "waypoint route table for flaky present=$got, want $1: $(waypoint_dump "j['routeTables']")"
}

ctl cluster up --nodes 2 >/dev/null
deploy_app
ctl apply -f "$WP_DATA/flaky.yaml" --wait --timeout 60 >/dev/null
ctl apply -f "$TESTDATA/ns-ambient.yaml" >/dev/null
wait_enrolled yes
wait_waypoint
ctl apply -f "$WP_DATA/ns-ambient-waypoint.yaml" >/dev/null
expect_via_waypoint client http://flaky/warmup

log "1. no route: Istio's default retry policy (2 retries on 503)"
expect_eq "failing twice, default policy" "3 attempt=3 200" "$(get /flaky/2/a)"
expect_eq "failing three times, default policy" "3 attempt=3 503" "$(get /flaky/3/b)"

log "2. the VirtualService: 3 retries on 5xx"
out=$(ctl apply -f "$WP_DATA/flaky-vs.yaml")
grep -q 'spec.http\[1\].retries.retryOn: retry condition "retriable-headers" is accepted but not enforced' <<<"$out" ||
  fail "apply did not name the retryOn condition it does not enforce: $out"
grep -q 'timeouts (request, per-try), retries (Envoy retryOn conditions' <<<"$out" ||
  fail "apply did not say timeouts and retries are enforced: $out"
wait_table True
expect_eq "failing three times, 3 retries" "4 attempt=4 200" "$(get /flaky/3/c)"
expect_eq "failing four times, 3 retries: the last answer" "4 attempt=4 503" "$(get /flaky/4/d)"

log "3. the request timeout"
start=$(date +%s%N)
expect_eq "/slow past the 1s timeout" "upstream request timeout 504" "$(get /slow/1)"
ms=$(( ($(date +%s%N) - start) / 1000000 ))
log "/slow answered in ${ms} ms"
[ "$ms" -ge 1000 ] && [ "$ms" -lt 4000 ] || fail "/slow answered in $ms ms, want about 1000"

log "4. delete the VirtualService: no timeout again"
ctl delete -f "$WP_DATA/flaky-vs.yaml" >/dev/null
wait_table False
expect_eq "/slow without a timeout" "1 attempt=1 200" "$(get /slow/2)"
log "PASS"
