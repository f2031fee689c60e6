"""The reference chains of the HTTP section (issue #13): what the waypoint does, done by
nginx and by HAProxy as HTTP reverse proxies, with mTLS in and mTLS out and one route.

The Ambit path is client → ztunnel (node1) ==HBONE==> waypoint (HTTP/1.1 parsed, one
route) ==HBONE==> ztunnel (node2) → nginx. The sidecar-model equivalent, all processes
started by the harness with `ip netns exec` (so it knows their PIDs):

  client pod   HAProxy `mode tcp` on 127.0.0.1 (the client's sidecar: mTLS out)
                 14201 -> middle:14211 (nginx)     14202 -> middle:14212 (HAProxy)
  middle pod   the L7 proxy under test: TLS 1.3 in with a verified client certificate,
               HTTP/1.1 keep-alive parsed, one route (`location /`, `use_backend … if
               { path_beg / }`), x-forwarded-for and x-request-id added (as the waypoint
               does), TLS 1.3 out with its own client certificate, upstream connections
               kept alive and reused
                 nginx   14211 -> server:14221       HAProxy 14212 -> server:14221
  server pod   HAProxy `mode tcp` 0.0.0.0:14221 (the server's sidecar: mTLS in) -> nginx :8080

Every proxy runs one worker (nginx `worker_processes 1`, HAProxy `nbthread 1`), as the
ztunnels of the HTTP cluster do (`--workers=1`) and as the waypoint serves one client
node's pooled HBONE connection on one loop.
"""

import os
import time

from procs import alive
from proxies import NGINX_PORT, listening_ports

CLIENT_PORTS = {"nginx": 14201, "haproxy": 14202}
MIDDLE_PORTS = {"nginx": 14211, "haproxy": 14212}
SERVER_PORT = 14221


def end_configs(certs, middle_ip):
    """The two `mode tcp` sidecars: (client side, server side)."""
    common = ("global\n"
              "  maxconn 8000\n"
              "  nbthread 1\n"
              "defaults\n"
              "  mode tcp\n"
              "  timeout connect 20s\n"
              "  timeout client 120s\n"
              "  timeout server 120s\n")
    tls_out = (f"ssl crt {certs}/client.pem ca-file {certs}/ca.crt verify required "
               "verifyhost server ssl-min-ver TLSv1.3")
    client = [common]
    for kind in ("nginx", "haproxy"):
        client.append(f"listen to_{kind}\n  bind 127.0.0.1:{CLIENT_PORTS[kind]}\n"
                      f"  server m {middle_ip}:{MIDDLE_PORTS[kind]} {tls_out}\n")
    server = (common + f"listen in_{SERVER_PORT}\n"
              f"  bind 0.0.0.0:{SERVER_PORT} ssl crt {certs}/server.pem ca-file {certs}/ca.crt "
              "verify required ssl-min-ver TLSv1.3\n"
              f"  server b 127.0.0.1:{NGINX_PORT}\n")
    return "".join(client), server


def haproxy_l7_config(certs, server_ip):
    """HAProxy `mode http` as the middle: mTLS in, one route, mTLS out."""
    return ("global\n"
            "  maxconn 8000\n"
            "  nbthread 1\n"
            "defaults\n"
            "  mode http\n"
            "  option http-keep-alive\n"
            "  timeout connect 20s\n"
            "  timeout client 120s\n"
            "  timeout server 120s\n"
            "  timeout http-keep-alive 120s\n"
            "frontend l7\n"
            f"  bind 0.0.0.0:{MIDDLE_PORTS['haproxy']} ssl crt {certs}/server.pem ca-file {certs}/ca.crt "
            "verify required ssl-min-ver TLSv1.3\n"
            "  option forwardfor\n"
            "  unique-id-format %{+X}o%ci%cp%fi%fp%Ts%rt%pid\n"
            "  http-request set-header x-request-id %[unique-id]\n"
            "  use_backend web if { path_beg / }\n"
            "backend web\n"
            "  http-reuse always\n"
            f"  server s1 {server_ip}:{SERVER_PORT} ssl crt {certs}/client.pem ca-file {certs}/ca.crt "
            "verify required verifyhost server ssl-min-ver TLSv1.3\n")


def nginx_l7_config(certs, server_ip, work):
    """nginx as the middle: mTLS in, one route (`location /`), mTLS out, upstream keep-alive."""
    return f"""daemon off;
master_process on;
user root;
worker_processes 1;
worker_rlimit_nofile 16384;
error_log {work}/nginx-l7.log warn;
pid {work}/nginx-l7.pid;
events {{ worker_connections 8192; }}
http {{
  access_log off;
  keepalive_timeout 300;
  keepalive_requests 100000000;
  client_body_temp_path {work}/body; proxy_temp_path {work}/proxy; fastcgi_temp_path {work}/fcgi;
  uwsgi_temp_path {work}/uwsgi; scgi_temp_path {work}/scgi;
  upstream web {{
    server {server_ip}:{SERVER_PORT};
    keepalive 64;
    keepalive_requests 100000000;
    keepalive_timeout 300s;
  }}
  server {{
    listen {MIDDLE_PORTS['nginx']} ssl backlog=4096;
    ssl_certificate {certs}/server.crt;
    ssl_certificate_key {certs}/server.key;
    ssl_client_certificate {certs}/ca.crt;
    ssl_verify_client on;
    ssl_protocols TLSv1.3;
    location / {{
      proxy_pass https://web;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header Host $host;
      proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
      proxy_set_header X-Request-Id $request_id;
      proxy_ssl_certificate {certs}/client.crt;
      proxy_ssl_certificate_key {certs}/client.key;
      proxy_ssl_trusted_certificate {certs}/ca.crt;
      proxy_ssl_verify on;
      proxy_ssl_name server;
      proxy_ssl_protocols TLSv1.3;
      proxy_ssl_session_reuse on;
    }}
  }}
}}
"""


def children(pid):
    """PIDs whose parent is |pid| (nginx's workers under its master)."""
    out = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                text = f.read()
        except OSError:
            continue
        if int(text[text.rindex(")") + 2:].split()[1]) == pid:
            out.append(int(entry))
    return sorted(out)


class L7Chains:
    """The client-side and server-side sidecars and the two L7 middles (nginx, HAProxy)."""

    def __init__(self, registry, work_dir, certs_dir, client_netns, middle_netns, middle_ip,
                 server_netns, server_ip, env_extra, log):
        self.registry = registry
        self.dir = os.path.join(work_dir, "l7")
        os.makedirs(self.dir, exist_ok=True)
        self.env_extra = env_extra
        self.log = log
        client_cfg, server_cfg = end_configs(certs_dir, middle_ip)
        files = {
            "end-client.cfg": client_cfg,
            "end-server.cfg": server_cfg,
            "haproxy-l7.cfg": haproxy_l7_config(certs_dir, server_ip),
            "nginx-l7.conf": nginx_l7_config(certs_dir, server_ip, self.dir),
        }
        for name, text in files.items():
            with open(os.path.join(self.dir, name), "w") as f:
                f.write(text)
        # (role, netns, argv, ports it must listen on)
        self.specs = [
            ("end-server", server_netns, ["haproxy", "-db", "-f", os.path.join(self.dir, "end-server.cfg")],
             {SERVER_PORT}),
            ("nginx-l7", middle_netns, ["nginx", "-e", os.path.join(self.dir, "nginx-l7.log"),
                                        "-c", os.path.join(self.dir, "nginx-l7.conf")], {MIDDLE_PORTS["nginx"]}),
            ("haproxy-l7", middle_netns, ["haproxy", "-db", "-f", os.path.join(self.dir, "haproxy-l7.cfg")],
             {MIDDLE_PORTS["haproxy"]}),
            ("end-client", client_netns, ["haproxy", "-db", "-f", os.path.join(self.dir, "end-client.cfg")],
             set(CLIENT_PORTS.values())),
        ]
        self.procs = {}

    def start(self):
        for role, netns, argv, ports in self.specs:
            self._start(role, netns, argv, ports)

    def _start(self, role, netns, argv, ports):
        logf = open(os.path.join(self.dir, f"{role}.out"), "ab")
        proc = self.registry.spawn(["ip", "netns", "exec", netns, *argv], f"{role} (netns {netns})",
                                   env_extra=self.env_extra, stdout=logf, stderr=logf)
        logf.close()
        self.procs[role] = proc
        deadline = time.monotonic() + 15
        while not ports <= listening_ports(proc.pid):
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"{role} did not listen on {sorted(ports)}; see {self.dir}/{role}.out")
            time.sleep(0.05)

    def restart_middle(self, kind):
        """A fresh L7 middle (its heap as after start), e.g. before a memory sample."""
        role = f"{kind}-l7"
        self.registry.stop(self.procs.pop(role).pid)
        for spec in self.specs:
            if spec[0] == role:
                self._start(*spec)

    def middle_pids(self, kind):
        """The L7 proxy's processes: HAProxy's one, nginx's master and its worker."""
        proc = self.procs[f"{kind}-l7"]
        if not alive(proc.pid):
            raise RuntimeError(f"{kind}-l7 (pid {proc.pid}) died; see {self.dir}")
        return [proc.pid] + (children(proc.pid) if kind == "nginx" else [])

    def chain_pids(self, kind):
        """Every proxy process of the chain: both sidecars and the middle."""
        ends = [self.procs["end-client"].pid, self.procs["end-server"].pid]
        for pid in ends:
            if not alive(pid):
                raise RuntimeError(f"HAProxy sidecar {pid} died; see {self.dir}")
        return ends + self.middle_pids(kind)
