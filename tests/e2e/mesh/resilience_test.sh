#!/usr/bin/env bash
# Issue 4 (f): with ambitd killed, an established connection keeps flowing and
# new connections between the known pods still work (encrypted); a restarted
# ambitd re-adopts the pods without breaking them; a gracefully stopped one
# (SIGTERM) leaves the pods' redirection in place. A killed ztunnel is
# restarted by its supervisor and the enrolled pods work again within seconds.
# A new ambitd removes redirection left in pods that are no longer in the mesh.
source "$(dirname "$0")/lib.sh" "$1"

ctl cluster up --nodes 2 >/dev/null
deploy_app
ctl apply -f "$TESTDATA/ns-ambient.yaml" >/dev/null
wait_enrolled yes
encrypted_exchange before
pids=$(mesh_pids)

log "an established connection: a slow 20 s download"
ctl exec mesh/web -- sh -c "head -c 20M /dev/urandom > /tmp/www/files/slow"
want=$(ctl exec mesh/web -- sha256sum /tmp/www/files/slow | cut -d' ' -f1)
ctl exec mesh/client -- sh -c "curl -sS --max-time 60 --limit-rate 1M http://web/files/slow | sha256sum > /tmp/slow.sum" &
slow=$!
sleep 2

log "kill -9 ambitd"
kill -9 "$(cut -d' ' -f1 "$STATE/ambitd.pid")"
sleep 1
encrypted_exchange ambitd-down
request_page

log "restart ambitd (cluster up)"
ctl cluster up >/dev/null
wait_running
encrypted_exchange ambitd-back
wait "$slow" || fail "the established download failed"
got=$(cut -d' ' -f1 "$STATE/pods/mesh_client/tmp/slow.sum")
expect_eq "sha256 of the download across the ambitd restart" "$want" "$got"

log "stop ambitd gracefully (SIGTERM): enrolled pods stay in the mesh"
pid=$(cut -d' ' -f1 "$STATE/ambitd.pid")
kill -TERM "$pid"
for i in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
if kill -0 "$pid" 2>/dev/null; then fail "ambitd did not stop on SIGTERM"; fi
redirected client || fail "a graceful ambitd stop removed the client's redirection"
encrypted_exchange ambitd-stopped
ctl cluster up >/dev/null
wait_running
encrypted_exchange ambitd-restarted
for i in $(seq 1 30); do  # ztunnel reconnects to the new ZDS socket with backoff
  zds=$(ztunnel_dump node1 | json_get "j['zds']['ready'], len(j['pods'])")
  [ "$zds" = "True 1" ] && break
  sleep 0.5
done
expect_eq "node1 ztunnel: ZDS ready, pods" "True 1" "$zds"

log "kill -9 node1's ztunnel"
zt=$(python3 -c "import json; print(json.load(open('$STATE/nodes/node1/ztunnel/ztunnel.status'))['pid'])")
[ "$zt" -gt 0 ] || fail "no ztunnel pid"
kill -9 "$zt"
start=$(date +%s)
ok=0
for i in $(seq 1 30); do
  if page=$(ctl exec mesh/client -- curl -sS --max-time 2 "http://web/q/$MARK-req" 2>/dev/null) &&
     [ "$page" = "page $MARK-resp" ]; then ok=1; break; fi
  sleep 0.5
done
[ $ok = 1 ] || fail "pods did not work again within 30 s of killing ztunnel"
zt2=$(python3 -c "import json; print(json.load(open('$STATE/nodes/node1/ztunnel/ztunnel.status'))['pid'])")
[ "$zt2" != "$zt" ] || fail "ztunnel was not restarted"
log "ztunnel restarted (pid $zt -> $zt2), traffic back after $(( $(date +%s) - start )) s"
encrypted_exchange ztunnel-back
expect_eq "PIDs" "$pids" "$(mesh_pids)"

log "ambitd dies after committing a label removal but before releasing the pods"
kill -9 "$(cut -d' ' -f1 "$STATE/ambitd.pid")"
python3 - "$STATE/store.json" <<'PY'
import json, sys
doc = json.load(open(sys.argv[1]))
for r in doc["resources"]:
    if r["kind"] == "Namespace" and r["metadata"]["name"] == "mesh":
        r["metadata"].pop("labels", None)
json.dump(doc, open(sys.argv[1], "w"))
PY
redirected client || fail "the client lost its rules before the test could check their removal"
ctl cluster up >/dev/null
wait_running
wait_enrolled no
plaintext_exchange leftover-removed
expect_eq "PIDs" "$pids" "$(mesh_pids)"
ctl cluster down
expect_cluster_gone
echo PASS
