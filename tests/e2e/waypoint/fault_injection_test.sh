#!/usr/bin/env bash
# Istio's fault-injection task replayed through the waypoint
# (https://istio.io/latest/docs/tasks/traffic-management/fault-injection/,
# docs/traffic-management.md "Fault injection"). Namespace "mesh" ambient,
# bound to waypoint "waypoint"; Service echo has pods echo-v1 and echo-v2.
#  1. testdata/echo-fault-delay.yaml: apply does not call fault injection
#     unenforced; a request with end-user: jason takes at least 7 s and gets
#     echo-v1's page; one without the header is answered at once by echo-v1.
#  2. testdata/echo-fault-abort.yaml: jason gets HTTP 500 with Envoy's body
#     "fault filter abort", at once; the others still get echo-v1.
#  3. Deleting the VirtualService ends both.
source "$(dirname "$0")/../mesh/lib.sh" "$1"
source "$(dirname "$0")/lib.sh"

# fetch [CURL ARGS...]: "<status> <seconds> <first word of the body>" of one
# request from the client pod to http://echo/ratings.
fetch() {
  local out
  out=$(ctl exec mesh/client -- curl -sS --max-time 20 -w '\n%{http_code} %{time_total}' \
    "$@" http://echo/ratings 2>"$WORK/fetch.err" || true)
  echo "$(tail -n1 <<<"$out") $(head -n1 <<<"$out" | awk '{print $1}')"
}
# at_least SECONDS VALUE: VALUE >= SECONDS (floating point).
at_least() { python3 -c "import sys; sys.exit(0 if float('$2') >= float('$1') else 1)"; }

ctl cluster up --nodes 2 >/dev/null
deploy_app
ctl apply -f "$WP_DATA/echo-versions.yaml" --wait --timeout 60 >/dev/null
ctl apply -f "$TESTDATA/ns-ambient.yaml" >/dev/null
wait_enrolled yes
wait_waypoint
ctl apply -f "$WP_DATA/ns-ambient-waypoint.yaml" >/dev/null
expect_via_waypoint client http://echo/

log "1. a 7 s delay for jason"
out=$(ctl apply -f "$WP_DATA/echo-fault-delay.yaml")
grep -q '(VirtualService mesh/echo): enforced by the waypoint' <<<"$out" ||
  fail "apply did not say what is enforced: $out"
if grep -Eq 'not applied yet by the waypoint:[^;]*fault|fault[^ ]* is accepted but not enforced' <<<"$out"; then
  fail "apply still calls fault injection unenforced: $out"
fi
# Until the table reached the waypoint: every other request goes to echo-v1.
for _ in $(seq 1 50); do
  [ "$(fetch | awk '{print $3}')" = echo-v1 ] && [ "$(fetch | awk '{print $3}')" = echo-v1 ] && break
  sleep 0.2
done
read -r code secs first <<<"$(fetch -H 'end-user: jason')"
log "jason: HTTP $code after ${secs}s from $first"
expect_eq "jason's status" 200 "$code"
expect_eq "jason's answer" echo-v1 "$first"
at_least 7 "$secs" || fail "jason's request took ${secs}s, want at least 7 s (the injected delay)"
read -r code secs first <<<"$(fetch)"
log "others: HTTP $code after ${secs}s from $first"
expect_eq "others' status" 200 "$code"
at_least 7 "$secs" && fail "a request without end-user: jason was delayed (${secs}s)"

log "2. HTTP 500 for jason"
ctl apply -f "$WP_DATA/echo-fault-abort.yaml" >/dev/null
code=""
for _ in $(seq 1 50); do
  read -r code secs first <<<"$(fetch -H 'end-user: jason')"
  [ "$code" = 500 ] && break
  sleep 0.2
done
log "jason: HTTP $code after ${secs}s: $first"
expect_eq "jason's status" 500 "$code"
expect_eq "jason's body" "fault filter abort" \
  "$(ctl exec mesh/client -- curl -sS --max-time 5 -H 'end-user: jason' http://echo/ratings)"
at_least 7 "$secs" && fail "the abort waited (${secs}s): the delay should be gone"
read -r code secs first <<<"$(fetch)"
expect_eq "others' status" 200 "$code"
expect_eq "others' answer" echo-v1 "$first"

log "3. delete the VirtualService: jason is served again"
ctl delete -f "$WP_DATA/echo-fault-abort.yaml" >/dev/null
for _ in $(seq 1 50); do
  read -r code secs first <<<"$(fetch -H 'end-user: jason')"
  [ "$code" = 200 ] && break
  sleep 0.2
done
expect_eq "jason's status without the VirtualService" 200 "$code"
log "PASS"
