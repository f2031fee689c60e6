"""The reference sidecar-model chains: one proxy in the client pod's netns, one in
the server pod's netns, mTLS 1.3 with ECDSA P-256 certificates between them and
client certificates verified. The harness starts the proxies
itself (`ip netns exec`), so it knows their PIDs and can restart them fresh.

Ports (client side on 127.0.0.1 of the client pod, server side on the server pod IP):

  haproxy  client 14011 -> server 14018 -> iperf3 :5201   mTLS
           client 14012 -> server 14019 -> nginx  :8080   mTLS, session resumption
           client 14014 -> server 14019 -> nginx  :8080   mTLS, full handshake (no-ssl-reuse)
           client 14015 -> server 14021 -> nginx  :8080   plain TCP (the control)
           client 14016 -> server 14022 -> iperf3 :5201   plain TCP
           client 14017 -> server 14023 -> nginx  :8080   mTLS, session resumption, and on the
                                                          server side 100 `tcp-request session`
                                                          ACL rules, the last one allowing
  stunnel  client 14101 -> server 14108 -> iperf3 :5201   mTLS
           client 14102 -> server 14109 -> nginx  :8080   mTLS, session resumption
           client 14103 -> server 14110 -> nginx  :8080   mTLS, sessionResume = no (both ends)
"""

import os
import time

from procs import alive

IPERF_PORT = 5201
NGINX_PORT = 8080

# (name, client port, server port, backend port, variant)
HAPROXY_ROUTES = [
    ("iperf_tls", 14011, 14018, IPERF_PORT, "tls"),
    ("nginx_tls", 14012, 14019, NGINX_PORT, "tls"),
    ("nginx_full", 14014, 14019, NGINX_PORT, "full"),
    ("nginx_plain", 14015, 14021, NGINX_PORT, "plain"),
    ("iperf_plain", 14016, 14022, IPERF_PORT, "plain"),
    ("nginx_acl", 14017, 14023, NGINX_PORT, "acl"),
]

# The HAProxy counterpart of 100 AuthorizationPolicies (the haproxy-acl path): what a
# sidecar-model user writes to admit callers by identity and address. Evaluated in order
# per connection after the TLS handshake: 99 rules for other callers (a client-certificate
# CN and a source network, neither of which the benchmark's client has), then the rule that
# admits the client by its certificate's CN, then reject.
ACL_RULES = 100


def haproxy_acl_rules(count=ACL_RULES, allowed_cn="client"):
    lines = []
    for i in range(count - 1):
        lines.append(f"  tcp-request session accept if {{ ssl_c_s_dn(CN) -m str caller-{i} }} "
                     f"{{ src 10.{200 + i // 250}.{i % 250}.0/24 }}\n")
    lines.append(f"  tcp-request session accept if {{ ssl_c_s_dn(CN) -m str {allowed_cn} }}\n")
    lines.append("  tcp-request session reject\n")
    return "".join(lines)
STUNNEL_ROUTES = [
    ("iperf_tls", 14101, 14108, IPERF_PORT, "tls"),
    ("nginx_tls", 14102, 14109, NGINX_PORT, "tls"),
    ("nginx_full", 14103, 14110, NGINX_PORT, "full"),
]


def client_port(kind, name):
    routes = HAPROXY_ROUTES if kind == "haproxy" else STUNNEL_ROUTES
    for route in routes:
        if route[0] == name:
            return route[1]
    raise KeyError(f"{kind} has no route {name}")


def haproxy_configs(certs, server_ip):
    common = ("global\n"
              "  maxconn 8000\n"
              "defaults\n"
              "  mode tcp\n"
              "  timeout connect 5s\n"
              "  timeout client 120s\n"
              "  timeout server 120s\n")
    tls_out = (f"ssl crt {certs}/client.pem ca-file {certs}/ca.crt verify required "
               "verifyhost server ssl-min-ver TLSv1.3")
    tls_in = f"ssl crt {certs}/server.pem ca-file {certs}/ca.crt verify required ssl-min-ver TLSv1.3"
    client, server, seen = [common], [common], set()
    for name, cport, sport, bport, variant in HAPROXY_ROUTES:
        out = {"tls": tls_out, "full": tls_out + " no-ssl-reuse", "plain": "", "acl": tls_out}[variant]
        client.append(f"listen {name}\n  bind 127.0.0.1:{cport}\n  server s1 {server_ip}:{sport} {out}\n")
        if sport in seen:
            continue
        seen.add(sport)
        inbound = "" if variant == "plain" else " " + tls_in
        rules = haproxy_acl_rules() if variant == "acl" else ""
        server.append(f"listen in_{sport}\n  bind 0.0.0.0:{sport}{inbound}\n{rules}"
                      f"  server b 127.0.0.1:{bport}\n")
    return "".join(client), "".join(server)


def stunnel_configs(certs, server_ip):
    common = ("foreground = yes\n"
              "pid =\n"
              "debug = 3\n"
              "socket = l:TCP_NODELAY=1\n"
              "socket = r:TCP_NODELAY=1\n"
              "sslVersionMin = TLSv1.3\n"
              f"CAfile = {certs}/ca.crt\n"
              "verifyChain = yes\n")
    client, server = [common], [common]
    for name, cport, sport, bport, variant in STUNNEL_ROUTES:
        resume = "sessionResume = no\n" if variant == "full" else ""
        client.append(f"[{name}]\nclient = yes\naccept = 127.0.0.1:{cport}\nconnect = {server_ip}:{sport}\n"
                      f"cert = {certs}/client.crt\nkey = {certs}/client.key\ncheckHost = server\n{resume}")
        server.append(f"[{name}]\naccept = 0.0.0.0:{sport}\nconnect = 127.0.0.1:{bport}\n"
                      f"cert = {certs}/server.crt\nkey = {certs}/server.key\nrequireCert = yes\n{resume}")
    return "".join(client), "".join(server)


def listening_ports(pid):
    """TCP ports in LISTEN state in the network namespace of |pid|."""
    ports = set()
    for table in ("tcp", "tcp6"):
        try:
            with open(f"/proc/{pid}/net/{table}") as f:
                next(f)
                for line in f:
                    parts = line.split()
                    if parts[3] == "0A":
                        ports.add(int(parts[1].rsplit(":", 1)[1], 16))
        except OSError:
            pass
    return ports


class ProxyPair:
    """A client-side and a server-side proxy of one kind (haproxy | stunnel)."""

    def __init__(self, kind, registry, work_dir, certs_dir, client_netns, server_netns, server_ip,
                 env_extra, log):
        self.kind = kind
        self.registry = registry
        self.dir = os.path.join(work_dir, kind)
        os.makedirs(self.dir, exist_ok=True)
        self.client_netns = client_netns
        self.server_netns = server_netns
        self.env_extra = env_extra
        self.log = log
        make = haproxy_configs if kind == "haproxy" else stunnel_configs
        client_cfg, server_cfg = make(certs_dir, server_ip)
        for side, text in (("client", client_cfg), ("server", server_cfg)):
            with open(os.path.join(self.dir, f"{side}.cfg"), "w") as f:
                f.write(text)
        routes = HAPROXY_ROUTES if kind == "haproxy" else STUNNEL_ROUTES
        self.client_ports = {r[1] for r in routes}
        self.server_ports = {r[2] for r in routes}
        self.procs = {}

    def _argv(self, side):
        cfg = os.path.join(self.dir, f"{side}.cfg")
        if self.kind == "haproxy":
            return ["haproxy", "-db", "-f", cfg]
        return ["stunnel4", cfg]

    def start(self):
        for side, netns, ports in (("server", self.server_netns, self.server_ports),
                                   ("client", self.client_netns, self.client_ports)):
            logf = open(os.path.join(self.dir, f"{side}.log"), "ab")
            proc = self.registry.spawn(["ip", "netns", "exec", netns, *self._argv(side)],
                                       f"{self.kind} ({side} side, netns {netns})",
                                       env_extra=self.env_extra, stdout=logf, stderr=logf)
            logf.close()
            self.procs[side] = proc
            deadline = time.monotonic() + 15
            while not ports <= listening_ports(proc.pid):
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"{self.kind} {side} side did not listen on {sorted(ports)}; "
                                       f"see {self.dir}/{side}.log")
                time.sleep(0.05)

    def stop(self):
        for side in ("client", "server"):
            proc = self.procs.pop(side, None)
            if proc is not None:
                self.registry.stop(proc.pid)

    def restart(self):
        self.stop()
        self.start()

    def pids(self):
        """Every proxy process of the path (both ends)."""
        pids = [p.pid for p in self.procs.values()]
        for pid in pids:
            if not alive(pid):
                raise RuntimeError(f"{self.kind} process {pid} died; see {self.dir}")
        return pids
