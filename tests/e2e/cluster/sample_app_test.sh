#!/usr/bin/env bash
# The sample app (examples/bookinfo) on a two-node cluster: the front page answers
# through both back ends, and both versions of reviews serve behind one Service.
source "$(dirname "$0")/lib.sh" "$1"
EXAMPLES="$(cd "$(dirname "$0")/../../../examples" && pwd)"

ctl cluster up --nodes 2
ctl apply -f "$EXAMPLES/bookinfo" --wait --timeout 90
expect_eq "pods" 5 "$(ctl get pods -n bookinfo -o json | json_get "len([p for p in j if p['phase']=='Running'])")"
versions=""
for i in $(seq 1 30); do
  page=$(ctl exec bookinfo/sleep -- curl -sS --max-time 5 http://productpage:9080/)
  echo "$page" | grep "details: paperback" >/dev/null || fail "no details in the page: $page"
  v=$(echo "$page" | grep -o 'reviews-v[12]:' | head -1)
  [ -n "$v" ] || fail "no reviews in the page: $page"
  versions=$(printf '%s\n%s\n' "$versions" "$v" | sort -u | xargs)
  [ "$versions" = "reviews-v1: reviews-v2:" ] && break
done
expect_eq "reviews versions seen" "reviews-v1: reviews-v2:" "$versions"
# cluster down works even when ambitd is dead.
kill -9 "$(pgrep -f -- "ambitd --cluster $CLUSTER\$")"
ctl cluster down
expect_cluster_gone
echo PASS
