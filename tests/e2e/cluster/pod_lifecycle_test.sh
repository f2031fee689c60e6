#!/usr/bin/env bash
# Pod lifecycle on the local cluster: restart policies (Never, OnFailure, Always),
# multi-container pods sharing localhost and /tmp, logs, a killed container or
# supervisor coming back, and a changed pod being replaced.
source "$(dirname "$0")/lib.sh" "$1"
DATA="$(dirname "$0")/testdata"

pod() {  # pod NAME EXPR  (EXPR over p, the pod's JSON)
  ctl get pods -o json | json_get "[$2 for p in j if p['name']=='$1'][0]"
}
wait_for() {  # wait_for DESCRIPTION 'SHELL CONDITION'  (re-evaluated; up to 20 s)
  local what="$1" cond="$2"
  for i in $(seq 1 100); do
    if eval "$cond" >/dev/null 2>&1; then return 0; fi
    sleep 0.2
  done
  fail "timed out waiting for $what"
}
phase_is() { [ "$(pod "$1" "p['phase']")" = "$2" ]; }

ctl cluster up --nodes 1
ctl apply -f "$DATA/lifecycle.yaml"

log "restartPolicy Never: success and failure are final"
wait_for "job-ok Succeeded" 'phase_is job-ok Succeeded'
wait_for "job-fail Failed" 'phase_is job-fail Failed'
expect_eq "job-fail exit code" 3 "$(pod job-fail "p['containers'][0]['exitCode']")"
expect_eq "job-ok log" "done" "$(ctl logs default/job-ok)"
expect_eq "job-fail log" "failing" "$(ctl logs default/job-fail)"

log "restartPolicy OnFailure: restarted once, then Succeeded"
wait_for "retry Succeeded" 'phase_is retry Succeeded'
expect_eq "retry restarts" 1 "$(pod retry "p['containers'][0]['restarts']")"
expect_eq "retry log" "first second" "$(ctl logs default/retry | xargs)"

log "two containers share localhost and /tmp"
wait_for "duo ready" '[ "$(pod duo "p['\''ready'\'']")" = True ]'
expect_eq "sidecar page via localhost" "hi from the sidecar" \
  "$(ctl exec default/duo -- curl -sS --max-time 5 http://127.0.0.1:8000/index.html)"
expect_eq "containers" "server sidecar" "$(pod duo "' '.join(c['name'] for c in p['containers'])")"

log "a killed container is restarted (Always); so is a killed supervisor's container"
old_pid=$(pod duo "p['containers'][0]['pid']")
kill -9 "$old_pid"
wait_for "server restarted" '[ "$(pod duo "p['\''containers'\''][0]['\''restarts'\'']")" = 1 ]'
wait_for "duo ready again" '[ "$(pod duo "p['\''ready'\'']")" = True ]'
status_file="$STATE/pods/default_duo/containers/sidecar.status"
sup=$(json_get "j['supervisorPid']" < "$status_file")
kill -9 "$sup"
wait_for "a new supervisor" '[ "$(json_get "j['\''supervisorPid'\'']" < "$status_file")" != "$sup" ]'
wait_for "duo ready after supervisor loss" '[ "$(pod duo "p['\''ready'\'']")" = True ]'
sleeps=0
for p in $(ip netns pids "ambit-$CLUSTER-pod-default_duo"); do
  [ "$(cat /proc/$p/comm 2>/dev/null)" = sleep ] && sleeps=$((sleeps + 1))
done
expect_eq "sidecar processes after supervisor loss" 1 "$sleeps"

log "--wait reports a failing pod"
if out=$(printf 'apiVersion: v1\nkind: Pod\nmetadata: {name: doomed}\nspec:\n  restartPolicy: Never\n  containers:\n  - {name: m, image: i, command: ["false"]}\n' |
         ctl apply -f - --wait --timeout 20 2>&1); then fail "--wait on a failing pod succeeded"; fi
echo "$out" | grep "pod default/doomed failed" >/dev/null || fail "unclear --wait error: $out"

log "a changed pod is replaced (new UID, new process)"
uid=$(pod duo "p['uid']")
sed 's/hi from the sidecar/hello again/' "$DATA/lifecycle.yaml" | ctl apply -f - | grep "pod/default/duo configured" >/dev/null ||
  fail "changed pod not reported as configured"
wait_for "duo replaced" '[ "$(pod duo "p['\''uid'\'']")" != "$uid" ]'
wait_for "duo ready after replace" '[ "$(pod duo "p['\''ready'\'']")" = True ]'
expect_eq "new sidecar page" "hello again" \
  "$(ctl exec default/duo -- curl -sS --max-time 5 http://127.0.0.1:8000/index.html)"

ctl cluster down
expect_cluster_gone
echo PASS
