#!/usr/bin/env bash
# Baseline memory of fresh ztunnels (no app connections).
#
#   sudo bench/memory/baseline.sh [BIN_DIR]     (default BIN_DIR=build/bin)
#
# Brings up its own 2-node local cluster (unique name, removed on exit) with
# the ambitd/ambitctl/ztunnel of BIN_DIR and one ambient pod per node, then
# (as bench/harness does) kills both ztunnels so their supervisor starts fresh
# ones that get the pods over ZDS, waits until both are ready, lets them
# settle (SETTLE seconds, default 3) and prints one JSON object per
# ztunnel on stdout: VmRSS and its split (RssAnon, RssFile, RssShmem) in kB
# from /proc/<pid>/status, Pss_Anon/Pss_File from smaps_rollup, and the thread
# count. SMAPS=1 also prints the file-backed RSS per mapping (kB, largest first)
# of node1's ztunnel on stderr. KEEP=1 waits for a line on stdin before removing the cluster.
set -euo pipefail

BIN=$(cd "${1:-build/bin}" && pwd)
CLUSTER="rss$$"
STATE="/var/lib/ambit/$CLUSTER"
SETTLE=${SETTLE:-3}

ctl() { "$BIN/ambitctl" --cluster "$CLUSTER" "$@"; }
cleanup() {
  local rc=$?
  ctl cluster down >/dev/null 2>&1 || true
  exit $rc
}
trap cleanup EXIT

WORK=$(mktemp -d "/tmp/ambit-$CLUSTER.XXXXXX")
cleanup() {
  local rc=$?
  ctl cluster down >/dev/null 2>&1 || true
  rm -rf "$WORK"
  exit $rc
}
ctl cluster up --nodes 2 >/dev/null
cat > "$WORK/pods.yaml" <<YAML
apiVersion: v1
kind: Namespace
metadata:
  name: rss
  labels: {istio.io/dataplane-mode: ambient}
YAML
for node in node1 node2; do
  cat >> "$WORK/pods.yaml" <<YAML
---
apiVersion: v1
kind: Pod
metadata: {name: idle-$node, namespace: rss}
spec:
  nodeName: $node
  serviceAccountName: idle
  containers:
  - name: idle
    image: busybox
    command: ["sleep", "infinity"]
YAML
done
ctl apply -f "$WORK/pods.yaml" --wait --timeout 60 >/dev/null
pid_of() {
  python3 -c 'import json,sys; s=json.load(open(sys.argv[1])); print(s["pid"] if s.get("state")=="running" else 0)' \
    "$STATE/nodes/$1/ztunnel/ztunnel.status" 2>/dev/null || echo 0
}
declare -A old
for node in node1 node2; do
  old[$node]=$(pid_of "$node")
  kill -KILL "${old[$node]}"
done
for node in node1 node2; do
  for _ in $(seq 1 300); do
    pid=$(pid_of "$node")
    if [ "$pid" != 0 ] && [ "$pid" != "${old[$node]}" ] && ip netns exec "ambit-$CLUSTER-$node" \
         curl -s -o /dev/null -w '%{http_code}' --max-time 1 http://127.0.0.1:15021/healthz/ready \
         2>/dev/null | grep -q 200; then
      break
    fi
    sleep 0.2
  done
done
sleep "$SETTLE"
for node in node1 node2; do
  pid=$(pid_of "$node")
  python3 - "$pid" "$node" <<'PY'
import json, sys
pid, node = sys.argv[1], sys.argv[2]
status = {}
for line in open(f"/proc/{pid}/status"):
    k, _, v = line.partition(":")
    status[k] = v.strip()
rollup = {}
for line in open(f"/proc/{pid}/smaps_rollup").readlines()[1:]:
    k, _, v = line.partition(":")
    rollup[k] = v.strip()
kb = lambda s: int(s.split()[0])
print(json.dumps({"node": node, "pid": int(pid), "rss_kb": kb(status["VmRSS"]),
                  "anon_kb": kb(status["RssAnon"]), "file_kb": kb(status["RssFile"]),
                  "shmem_kb": kb(status["RssShmem"]), "pss_anon_kb": kb(rollup.get("Pss_Anon", "0 kB")),
                  "pss_file_kb": kb(rollup.get("Pss_File", "0 kB")), "threads": int(status["Threads"])}))
PY
done
if [ -n "${SMAPS:-}" ]; then
  python3 - "$(pid_of node1)" >&2 <<'PY'
import collections, sys
rss = collections.Counter()
name = None
for line in open(f"/proc/{sys.argv[1]}/smaps"):
    parts = line.split()
    if "-" in parts[0] and len(parts) >= 5 and ":" not in parts[0]:
        name = parts[5] if len(parts) > 5 else "[anon]"
    elif parts[0] == "Rss:":
        rss[name] += int(parts[1])
for n, k in rss.most_common(25):
    print(f"{k:8d} kB  {n}")
PY
fi
if [ -n "${KEEP:-}" ]; then
  echo "KEEP: cluster $CLUSTER left up; ztunnel pids $(pid_of node1) $(pid_of node2); press enter to remove it" >&2
  read -r _
fi
