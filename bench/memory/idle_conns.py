#!/usr/bin/env python3
"""Idle-connection load for memory measurements (stdlib only).

  idle_conns.py serve PORT
      Accepts connections on 0.0.0.0:PORT and holds them open, never writing.
      Reads and discards whatever arrives; a line "PING\\n" is answered with
      "PONG\\n" (used by `client --req` to prove each connection is end to end).
  idle_conns.py client HOST PORT N CONTROL_DIR [--req]
      Opens N connections to HOST:PORT and holds them. With --req, sends
      "PING\\n" on each and waits for "PONG\\n" (so every hop has seen data).
      Writes CONTROL_DIR/opened ("<N>") once all are open, then waits until
      CONTROL_DIR/close exists, closes every socket, writes CONTROL_DIR/closed
      and exits. Exits 1 with a message if a connection cannot be opened.
"""
import os
import resource
import selectors
import socket
import sys
import time


def raise_fd_limit(n):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = min(max(soft, n + 64), hard)
    resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))


def serve(port):
    raise_fd_limit(20000)
    sel = selectors.DefaultSelector()
    lsock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    lsock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    lsock.bind(("0.0.0.0", port))
    lsock.listen(4096)
    lsock.setblocking(False)
    sel.register(lsock, selectors.EVENT_READ)
    while True:
        for key, _ in sel.select():
            s = key.fileobj
            if s is lsock:
                try:
                    conn, _ = lsock.accept()
                except BlockingIOError:
                    continue
                conn.setblocking(False)
                sel.register(conn, selectors.EVENT_READ)
                continue
            try:
                data = s.recv(4096)
            except (BlockingIOError, InterruptedError):
                continue
            except OSError:
                data = b""
            if not data:
                sel.unregister(s)
                s.close()
            elif b"PING\n" in data:
                try:
                    s.send(b"PONG\n")
                except OSError:
                    pass


def client(host, port, n, control, req):
    raise_fd_limit(n)
    os.makedirs(control, exist_ok=True)
    socks = []
    for i in range(n):
        try:
            s = socket.create_connection((host, port), timeout=20)
        except OSError as e:
            print(f"connection {i} to {host}:{port}: {e}", file=sys.stderr)
            return 1
        socks.append(s)
    if req:
        for s in socks:
            s.sendall(b"PING\n")
        for i, s in enumerate(socks):
            got = b""
            while not got.endswith(b"PONG\n"):
                chunk = s.recv(16)
                if not chunk:
                    print(f"connection {i}: closed before PONG", file=sys.stderr)
                    return 1
                got += chunk
    with open(os.path.join(control, "opened"), "w") as f:
        f.write(str(len(socks)))
    while not os.path.exists(os.path.join(control, "close")):
        time.sleep(0.1)
    for s in socks:
        s.close()
    with open(os.path.join(control, "closed"), "w") as f:
        f.write(str(len(socks)))
    return 0


def main(argv):
    if len(argv) == 3 and argv[1] == "serve":
        serve(int(argv[2]))
        return 0
    if len(argv) in (6, 7) and argv[1] == "client":
        req = len(argv) == 7 and argv[6] == "--req"
        return client(argv[2], int(argv[3]), int(argv[4]), argv[5], req)
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
