# Shared helpers for the waypoint policy e2e tests (sourced after
# ../mesh/lib.sh): the namespace "mesh" of testdata/app.yaml with a waypoint
# Gateway "waypoint" in it.
WP_DATA="$(cd "$(dirname "${BASH_SOURCE[0]}")/testdata" && pwd)"
WP=""  # the waypoint pod's name once wait_waypoint found it

# The Running waypoint pod's name (namespace mesh), or "".
waypoint_pod() {
  ctl get pods -n mesh -o json |
    json_get "' '.join(p['name'] for p in j if p['name'].startswith('waypoint-') and p['phase']=='Running')"
}
# A value from the waypoint's /config_dump (python expression over j).
waypoint_dump() {
  ip netns exec "$(pod_ns mesh "$WP")" curl -sS --max-time 5 "http://127.0.0.1:15000/config_dump" |
    json_get "$1"
}
# Tunnels the waypoint served: relayed at L4 (hbone) or parsed as HTTP (web's
# port is named "http").
relayed() { waypoint_dump "j['counters']['relayed']['hbone'] + j['counters']['relayed']['http']"; }

# Applies the waypoint Gateway and waits until its pod answers ready; sets WP.
wait_waypoint() {
  local i code=""
  ctl apply -f "$WP_DATA/waypoint.yaml" >/dev/null
  for i in $(seq 1 100); do
    WP=$(waypoint_pod)
    [ -n "$WP" ] && break
    sleep 0.1
  done
  [ -n "$WP" ] || fail "no waypoint pod Running: $(ctl get pods -n mesh)"
  for i in $(seq 1 100); do
    code=$(ip netns exec "$(pod_ns mesh "$WP")" curl -s -o /dev/null -w '%{http_code}' \
      "http://127.0.0.1:15021/healthz/ready" || true)
    [ "$code" = 200 ] && break
    sleep 0.1
  done
  expect_eq "waypoint readiness" 200 "$code"
  log "waypoint pod $WP ready"
}

# curl_rc POD URL: curl's exit status from mesh/POD (0 = got the page).
curl_rc() {
  local rc=0
  ctl exec "mesh/$1" -- curl -sS --max-time 5 -o /dev/null "$2" 2>"$WORK/curl.err" || rc=$?
  echo "$rc"
}
# expect_outcome WHAT POD URL WANT_RC: until curl from POD to URL exits WANT_RC
# (policies and bindings reach the proxies through xDS: allow a few seconds).
expect_outcome() {
  local i rc
  for i in $(seq 1 50); do
    rc=$(curl_rc "$2" "$3")
    [ "$rc" = "$4" ] && { log "$1: curl exit $rc"; return 0; }
    sleep 0.2
  done
  fail "$1: curl from $2 to $3 exited $rc, want $4 ($(cat "$WORK/curl.err"))"
}
# expect_via_waypoint POD URL: a request that gets the page and raises the
# waypoint's relayed counter (retried until the binding reached ztunnel).
expect_via_waypoint() {
  local i before
  for i in $(seq 1 50); do
    before=$(relayed)
    if [ "$(curl_rc "$1" "$2")" = 0 ] && [ "$(relayed)" -gt "$before" ]; then
      log "$1 -> $2 went through the waypoint"
      return 0
    fi
    sleep 0.2
  done
  fail "$1 -> $2 did not get the page through the waypoint ($(cat "$WORK/curl.err"))"
}

# The waypoint container's status file (JSON with pid and supervisorPid).
waypoint_status_file() { echo "$STATE/pods/mesh_$WP/containers/istio-proxy.status"; }
# waypoint_down: the waypoint pod stops being ready and stays so, as a
# crashed pod would: its supervisor is frozen (SIGSTOP) so it cannot restart
# the container, then the waypoint process is killed. Waits until ambitd
# reports the pod not ready. waypoint_up undoes it.
waypoint_down() {
  local st sup pid i
  st=$(waypoint_status_file)
  sup=$(json_get "j['supervisorPid']" <"$st")
  pid=$(json_get "j['pid']" <"$st")
  [ "$sup" -gt 0 ] && [ "$pid" -gt 0 ] || fail "no waypoint supervisor/pid in $st: $(cat "$st")"
  kill -STOP "$sup"
  kill -KILL "$pid"
  for i in $(seq 1 100); do
    [ "$(ctl get pods -n mesh -o json | json_get "[p.get('ready') for p in j if p['name']=='$WP'][0]")" = False ] &&
      { log "waypoint pod $WP not ready"; return 0; }
    sleep 0.1
  done
  fail "the waypoint pod still reports ready: $(ctl get pods -n mesh -o json)"
}
waypoint_up() {
  local st sup i code=""
  st=$(waypoint_status_file)
  sup=$(json_get "j['supervisorPid']" <"$st")
  kill -CONT "$sup"
  for i in $(seq 1 150); do
    code=$(ip netns exec "$(pod_ns mesh "$WP")" curl -s -o /dev/null -w '%{http_code}' \
      "http://127.0.0.1:15021/healthz/ready" || true)
    [ "$code" = 200 ] && break
    sleep 0.1
  done
  expect_eq "waypoint readiness after restart" 200 "$code"
  log "waypoint pod $WP ready again"
}
