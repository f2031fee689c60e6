#!/usr/bin/python3
"""Holds N idle TCP connections open (run inside the client pod's netns).

Usage: idle_conns.py HOST PORT N [idle|req]

Opens N connections to HOST:PORT; in "req" mode sends one keep-alive
`GET /` on each and reads the response. Then prints "open N" and holds the
connections until a line (or EOF) arrives on stdin, closes them and prints
"closed". Exits 1 with a message on stderr if any connection fails.
Standard library only.
"""

import resource
import socket
import sys


def read_response(sock):
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(4096)
        if not chunk:
            raise ConnectionError("closed before the response headers")
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value.strip())
    while len(body) < length:
        chunk = sock.recv(4096)
        if not chunk:
            raise ConnectionError("closed before the response body")
        body += chunk
    if not head.startswith(b"HTTP/1.1 200"):
        raise ConnectionError(f"unexpected status: {head.splitlines()[0]!r}")


def main():
    host, port, count = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    mode = sys.argv[4] if len(sys.argv) > 4 else "idle"
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < count + 64:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, count + 1024), hard))
    socks = []
    try:
        for _ in range(count):
            s = socket.create_connection((host, port), timeout=15)
            socks.append(s)
        if mode == "req":
            for s in socks:
                s.sendall(b"GET / HTTP/1.1\r\nHost: server\r\n\r\n")
                read_response(s)
    except OSError as e:
        print(f"idle_conns: connection {len(socks) + 1} of {count} to {host}:{port}: {e}", file=sys.stderr)
        return 1
    print(f"open {len(socks)}", flush=True)
    sys.stdin.readline()
    for s in socks:
        s.close()
    print("closed", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
