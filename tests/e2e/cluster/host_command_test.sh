#!/usr/bin/env bash
# A container command given as an absolute path that only the machine sees —
# a binary under the machine's /tmp, which the pod's own /tmp hides (ambitd runs
# its waypoint from the build tree that way, and CI may build under /tmp) —
# still runs, while the pod keeps its own /tmp.
source "$(dirname "$0")/lib.sh" "$1"
HOSTBIN=$(mktemp -d "/tmp/ambit-hostbin-$CLUSTER.XXXXXX")
trap 'rm -rf "$HOSTBIN"; cleanup' EXIT
# A real binary at a path only the machine has.
cp "$(command -v sleep)" "$HOSTBIN/hostsleep"

ctl cluster up --nodes 1 >/dev/null
ctl apply -f - --wait --timeout 30 >/dev/null <<YAML
apiVersion: v1
kind: Pod
metadata: {name: hostbin, namespace: default}
spec:
  containers:
  - name: main
    image: none
    command: ["$HOSTBIN/hostsleep", "300"]
YAML
expect_eq "phase" "Running" "$(ctl get pods -o json | json_get "[p['phase'] for p in j if p['name']=='hostbin'][0]")"
pid=$(ctl get pods -o json | json_get "[p['containers'][0]['pid'] for p in j if p['name']=='hostbin'][0]")
expect_eq "the running program" "hostsleep" "$(cat /proc/$pid/comm)"
# Inside the pod, /tmp is the pod's own: the machine's directory is not there.
if ctl exec default/hostbin -- test -e "$HOSTBIN/hostsleep"; then
  fail "the pod sees the machine's /tmp"
fi
log "PASS"
