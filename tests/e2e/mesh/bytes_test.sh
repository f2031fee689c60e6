#!/usr/bin/env bash
# Issue 4 (b)+(d): through the mesh, 1 MiB and 1 GiB files arrive with the
# sha256 they were served with; 200 concurrent connections from the client
# pod to the server pod share a handful of TLS connections (ztunnel's
# counters on node1, read from inside its netns).
source "$(dirname "$0")/lib.sh" "$1"

ctl cluster up --nodes 2 >/dev/null
deploy_app
ctl apply -f "$TESTDATA/ns-ambient.yaml" >/dev/null
wait_enrolled yes
encrypted_exchange check

log "200 concurrent connections"
before=$(ztunnel_dump node1); before2=$(ztunnel_dump node2)
cat > "$WORK/conc.py" <<'PY'
import socket, sys, threading
N = 200
socks, errors = [], []
for i in range(N):
    s = socket.create_connection(("web", 80), timeout=20)
    socks.append(s)
barrier = threading.Barrier(N)
def run(s, i):
    try:
        barrier.wait()
        s.sendall(b"GET /c/%d HTTP/1.1\r\nHost: web\r\nConnection: close\r\n\r\n" % i)
        data = b""
        while True:
            chunk = s.recv(65536)
            if not chunk: break
            data += chunk
        if b"200 OK" not in data: errors.append(i)
    except Exception as e:
        errors.append(repr(e))
ts = [threading.Thread(target=run, args=(s, i)) for i, s in enumerate(socks)]
[t.start() for t in ts]; [t.join() for t in ts]
print(len(socks) - len(errors), "ok", errors[:5])
PY
cp "$WORK/conc.py" "$STATE/pods/mesh_client/tmp/conc.py"
out=$(ctl exec mesh/client -- /usr/bin/python3 /tmp/conc.py)
log "client: $out"
expect_eq "concurrent requests answered" "200 ok []" "$out"
after=$(ztunnel_dump node1); after2=$(ztunnel_dump node2)
echo "$before" > "$WORK/before.json"; echo "$after" > "$WORK/after.json"
echo "$before2" > "$WORK/before2.json"; echo "$after2" > "$WORK/after2.json"
read -r tls streams total tls_in streams_in < <(python3 - "$WORK"/before.json "$WORK"/after.json "$WORK"/before2.json "$WORK"/after2.json <<'PY'
import json, sys
b, a, b2, a2 = (json.load(open(f))["counters"] for f in sys.argv[1:5])
print(a["outbound"]["tlsConnectionsOpened"] - b["outbound"]["tlsConnectionsOpened"],
      a["outbound"]["streamsOpened"] - b["outbound"]["streamsOpened"],
      a["outbound"]["tlsConnectionsOpened"],
      a2["inbound"]["tlsConnectionsAccepted"] - b2["inbound"]["tlsConnectionsAccepted"],
      a2["inbound"]["streams"] - b2["inbound"]["streams"])
PY
)
log "ztunnel node1 (client side): $tls new TLS connections ($total since start) for $streams new HBONE streams"
log "ztunnel node2 (server side): $tls_in TLS connections accepted for $streams_in HBONE streams"
[ "$streams" -ge 200 ] || fail "expected >= 200 HBONE streams, counters say $streams"
[ "$streams_in" -ge 200 ] || fail "expected >= 200 inbound HBONE streams on node2, counters say $streams_in"
[ "$tls_in" -le 8 ] || fail "expected a handful of TLS connections on node2, counters say $tls_in"
[ "$tls" -le 8 ] || fail "expected a handful of TLS connections, counters say $tls"
for size in 1M 1G; do
  ctl exec mesh/web -- sh -c "head -c $size /dev/urandom > /tmp/www/files/blob-$size"
  want=$(ctl exec mesh/web -- sha256sum "/tmp/www/files/blob-$size" | cut -d' ' -f1)
  start=$(date +%s.%N)
  got=$(ctl exec mesh/client -- sh -c "curl -sS --max-time 90 http://web/files/blob-$size | sha256sum" | cut -d' ' -f1)
  secs=$(echo "$(date +%s.%N) - $start" | bc)
  log "$size: served $want, received $got ($secs s)"
  expect_eq "sha256 of $size through the mesh" "$want" "$got"
  ctl exec mesh/web -- rm -f "/tmp/www/files/blob-$size"
done

ctl cluster down
expect_cluster_gone
echo PASS
