#!/usr/bin/env python3
"""A small authoritative DNS server for the DNS e2e test (UDP and TCP on :53).

Records come from a JSON file re-read on every query: {"name.": ["ip", ...]}.
"big.test." answers are always truncated over UDP (as a server with a 512-byte
limit), so a resolver must retry over TCP. Unknown names get NXDOMAIN.
Usage: tiny_dns.py RECORDS_JSON
"""
import json
import socket
import socketserver
import struct
import sys
import threading

RECORDS = sys.argv[1]


def parse_question(msg):
    labels, at = [], 12
    while msg[at] != 0:
        n = msg[at]
        labels.append(msg[at + 1:at + 1 + n].decode("ascii", "replace").lower())
        at += 1 + n
    qtype, qclass = struct.unpack(">HH", msg[at + 1:at + 5])
    return ".".join(labels) + ".", qtype, msg[12:at + 5]


def answer(msg, over_udp):
    qid, flags = struct.unpack(">HH", msg[:4])
    name, qtype, question = parse_question(msg)
    try:
        with open(RECORDS) as f:
            records = json.load(f)
    except (OSError, ValueError):
        records = {}
    rd = flags & 0x0100
    if name not in records:
        return struct.pack(">HHHHHH", qid, 0x8400 | rd | 3, 1, 0, 0, 0) + question
    want = 1 if qtype == 1 else 28 if qtype == 28 else 0
    rrs = []
    for ip in records[name]:
        fam = socket.AF_INET6 if ":" in ip else socket.AF_INET
        t = 28 if fam == socket.AF_INET6 else 1
        if t != want:
            continue
        data = socket.inet_pton(fam, ip)
        rrs.append(b"\xc0\x0c" + struct.pack(">HHIH", t, 1, 60, len(data)) + data)
    if over_udp and name == "big.test.":
        return struct.pack(">HHHHHH", qid, 0x8600 | rd, 1, 0, 0, 0) + question
    return struct.pack(">HHHHHH", qid, 0x8400 | rd, 1, len(rrs), 0, 0) + question + b"".join(rrs)


class Udp(socketserver.BaseRequestHandler):
    def handle(self):
        data, sock = self.request
        try:
            sock.sendto(answer(data, True), self.client_address)
        except (IndexError, struct.error):
            pass


class Tcp(socketserver.BaseRequestHandler):
    def handle(self):
        while True:
            head = self.request.recv(2, socket.MSG_WAITALL)
            if len(head) < 2:
                return
            data = self.request.recv(struct.unpack(">H", head)[0], socket.MSG_WAITALL)
            out = answer(data, False)
            self.request.sendall(struct.pack(">H", len(out)) + out)


class UdpServer(socketserver.ThreadingUDPServer):
    allow_reuse_address = True


class TcpServer(socketserver.ThreadingTCPServer):
    allow_reuse_address = True
    daemon_threads = True


if __name__ == "__main__":
    tcp = TcpServer(("0.0.0.0", 53), Tcp)
    threading.Thread(target=tcp.serve_forever, daemon=True).start()
    UdpServer(("0.0.0.0", 53), Udp).serve_forever()
