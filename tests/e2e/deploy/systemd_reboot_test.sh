#!/usr/bin/env bash
# deploy/systemd/ambitd@.service brings a local cluster back after a reboot.
# The unit is checked with systemd-analyze, then a reboot is played: every
# process of the cluster is killed and every network namespace deleted (what a
# reboot leaves: only /var/lib/ambit/NAME). ambitd is started exactly as the
# unit's ExecStart says; the pods must come back Running, enrolled and
# encrypted. Stopping it as the unit does (SIGTERM to ambitd only,
# KillMode=process) must leave the pods serving.
source "$(dirname "$0")/../mesh/lib.sh" "$1"

UNIT="$BIN/../deploy/systemd/ambitd@.service"
[ -f "$UNIT" ] || fail "no generated unit at $UNIT"
unit_value() { sed -n "s/^$1=//p" "$UNIT"; }
exec_start=$(unit_value ExecStart)
bin_dir=$(dirname "${exec_start%% *}")
expect_eq "KillMode" "process" "$(unit_value KillMode)"
expect_eq "Type" "exec" "$(unit_value Type)"

# The unit as installed for this build: same text, binaries from $BIN.
sed "s|$bin_dir/|$(cd "$BIN" && pwd)/|g" "$UNIT" > "$WORK/ambitd@$CLUSTER.service"
if command -v systemd-analyze >/dev/null; then
  out=$(cd "$WORK" && systemd-analyze verify "./ambitd@$CLUSTER.service" 2>&1) ||
    fail "systemd-analyze verify: $out"
  log "systemd-analyze verify: ok${out:+ ($out)}"
fi
command=$(sed -n "s/^ExecStart=//p" "$WORK/ambitd@$CLUSTER.service" | sed "s/%i/$CLUSTER/g")
condition=$(sed -n "s/^ConditionPathExists=//p" "$UNIT" | sed "s/%i/$CLUSTER/g")

ctl cluster up --nodes 2 >/dev/null
[ -e "$condition" ] || fail "the unit's condition $condition does not hold for a created cluster"
deploy_app
ctl apply -f "$TESTDATA/ns-ambient.yaml" >/dev/null
wait_enrolled yes
encrypted_exchange before

log "reboot: kill every process of the cluster, delete its namespaces"
kill -9 "$(cut -d' ' -f1 "$STATE/ambitd.pid")"
for round in 1 2 3; do
  for pid in $(ls /proc | grep -E '^[0-9]+$'); do
    [ "$pid" = "$$" ] && continue
    if tr '\0' '\n' < "/proc/$pid/environ" 2>/dev/null | grep -qx "AMBIT_CLUSTER=$CLUSTER"; then
      kill -9 "$pid" 2>/dev/null || true
    fi
  done
  sleep 0.2
done
for ns in $(ip netns list | awk '{print $1}' | grep "^ambit-$CLUSTER-"); do ip netns del "$ns"; done
expect_eq "namespaces left after the reboot" 0 "$(ip netns list | grep -c "^ambit-$CLUSTER-" || true)"

log "boot: $command"
setsid $command >>"$STATE/ambitd.log" 2>&1 < /dev/null &
ok=0
for i in $(seq 1 600); do
  if [ "$(ctl get pods -n mesh -o json 2>/dev/null |
          json_get "all(p['phase']=='Running' for p in j) and len(j)==2" 2>/dev/null)" = True ]; then
    ok=1; break
  fi
  sleep 0.1
done
[ $ok = 1 ] || fail "pods not Running within 60 s of the boot"
wait_enrolled yes
encrypted_exchange after-boot
pids=$(mesh_pids)

log "systemctl stop: SIGTERM to ambitd only"
pid=$(cut -d' ' -f1 "$STATE/ambitd.pid")
kill -TERM "$pid"
for i in $(seq 1 300); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
if kill -0 "$pid" 2>/dev/null; then fail "ambitd did not stop within 30 s (TimeoutStopSec)"; fi
encrypted_exchange after-stop
for entry in $pids; do
  kill -0 "${entry#*:}" 2>/dev/null || fail "container ${entry%%:*} (pid ${entry#*:}) died with ambitd's stop"
done
log "PASS"
