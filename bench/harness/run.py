#!/usr/bin/python3
"""`make bench`: the same workloads over four paths between two pods on two nodes of
local Ambit clusters, in interleaved rounds (issue #5; method: docs/performance.md).

Paths (client pod on node1, server pod with iperf3 + nginx on node2):
  raw            namespace not enrolled, pod IP to pod IP
  ambit          namespace istio.io/dataplane-mode=ambient: two ztunnels, HBONE (2 workers each)
  ambit-w1       the same in a second cluster whose ztunnels run --workers=1 (8-stream workload;
                 also new connections and CPU per request, to show what spreading costs)
  ambit-full     a third cluster with --pool-max-streams=1 (a TLS handshake per connection)
  ambit-policy   a fourth cluster like `ambit` whose mesh namespace has 100 AuthorizationPolicies
                 (manifests.policies_yaml: 5 apply to the server, the client admitted by principal)
  haproxy[-full|-plain], stunnel[-full]   the sidecar model: one proxy in each pod's netns
  haproxy-acl    the HAProxy mTLS chain with 100 `tcp-request session` ACL rules on the server
                 side, the last one admitting the client by certificate CN (proxies.py)
HTTP workloads (issue #13; the L7 waypoint against nginx and HAProxy as L7 proxies, l7proxies.py):
  ambit-wp-http  a fifth cluster (ztunnels --workers=1) whose Service `web` (port named http) is
                 bound to a waypoint: ztunnel ==HBONE==> waypoint (HTTP/1.1 parsed, one HTTPRoute)
                 ==HBONE==> ztunnel -> nginx
  ambit-wp-tcp   the same waypoint and pod through Service `web-tcp` (port named tcp): L4 relay
                 (the L7 cost off, same run)
  nginx-l7, haproxy-l7   HAProxy sidecar (mTLS out) -> nginx / HAProxy `mode http` in a pod of
                 their own (mTLS in, one route, mTLS out) -> HAProxy sidecar (mTLS in) -> nginx
DNS workloads (dnsperf from the client pod to the cluster DNS, dnsmasq at 10.96.0.2):
  raw            queries go to dnsmasq directly (the pod's own resolver, no capture)
  ambit          captured by ztunnel's DNS proxy: dns_forward forwards a name ztunnel does not
                 know to the same dnsmasq, dns_local is a Service name ztunnel answers itself

--workloads and --paths select a subset (e.g. the policy rows alone:
  --workloads newconn,latency_c1 --paths ambit,ambit-policy,haproxy,haproxy-acl);
clusters and proxies no selected path needs are not started.

Every round runs every workload over its paths, path after path (workload-major, so
the paths of one workload are measured close together). Results: one JSON with every
raw sample, the medians, the ratios and the targets. Cleans up (proxies stopped by
PID, clusters down, temp dir removed) on success, failure, Ctrl-C and SIGTERM.

Needs root (network namespaces). Run as /usr/bin/python3 (stdlib only here).
"""

import argparse
import datetime
import json
import os
import platform
import shutil
import signal
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import certs  # noqa: E402
import idle_latency  # noqa: E402
import l7proxies  # noqa: E402
import manifests  # noqa: E402
import parsers  # noqa: E402
import procs  # noqa: E402
import proxies  # noqa: E402
import stats  # noqa: E402
from cluster import Cluster  # noqa: E402

HARNESS_DIR = os.path.dirname(os.path.abspath(__file__))
RAW_NS, MESH_NS = "bench-raw", "bench-mesh"

# Which paths each workload runs over, in order.
WORKLOAD_PATHS = {
    "throughput": ["raw", "ambit", "haproxy", "stunnel", "haproxy-plain"],
    "latency_c1": ["raw", "ambit", "ambit-policy", "haproxy", "haproxy-acl", "stunnel", "haproxy-plain"],
    "latency_c16": ["raw", "ambit", "haproxy", "stunnel", "haproxy-plain"],
    "newconn": ["raw", "ambit", "ambit-policy", "ambit-w1", "ambit-full", "haproxy", "haproxy-acl",
                "haproxy-full", "haproxy-plain", "stunnel", "stunnel-full"],
    "cpu": ["ambit", "ambit-w1", "haproxy", "stunnel", "haproxy-plain"],
    "memory": ["ambit", "haproxy", "stunnel", "haproxy-plain"],
    "streams8": ["raw", "ambit", "ambit-w1"],
    "dns_forward": ["raw", "ambit"],
    "dns_local": ["raw", "ambit"],
    "http_latency_c1": ["raw", "ambit-wp-http", "ambit-wp-tcp", "nginx-l7", "haproxy-l7"],
    "http_cpu": ["ambit-wp-http", "ambit-wp-tcp", "nginx-l7", "haproxy-l7"],
    "http_rps": ["ambit-wp-http", "ambit-wp-tcp", "nginx-l7", "haproxy-l7"],
    "http_memory": ["ambit-wp-http", "ambit-wp-tcp", "nginx-l7", "haproxy-l7"],
}
WORKLOADS = list(WORKLOAD_PATHS)
PATHS = list(dict.fromkeys(p for paths in WORKLOAD_PATHS.values() for p in paths))


class Interrupted(Exception):
    pass


def log(msg):
    print(f"[bench {datetime.datetime.now().strftime('%H:%M:%S')}] {msg}", flush=True)


def _on_signal(signum, _frame):
    raise Interrupted(f"signal {signum}")


class Path:
    """Where a workload's client connects, and which processes are the path's proxies."""

    def __init__(self, name, cluster, client_netns, iperf, http, proxy_pids, kind, server_netns, middle_pids=None):
        self.name = name
        self.cluster = cluster
        self.client_netns = client_netns  # netns name (ip netns exec)
        self.server_netns = server_netns
        self.iperf = iperf  # (host, port)
        self.http = http  # (host, port)
        self.proxy_pids = proxy_pids  # () -> [pid]
        self.kind = kind  # raw | ambit | haproxy | stunnel | l7
        # HTTP paths: the L7 hop alone (the waypoint; the nginx / HAProxy middle), () -> [pid]
        self.middle_pids = middle_pids

    @property
    def url(self):
        return f"http://{self.http[0]}:{self.http[1]}/"


class Bench:
    def __init__(self, args):
        self.args = args
        self.registry = procs.Registry(log)
        self.clusters = {}
        self.pairs = {}
        self.paths = {}
        self.samples = []
        self.notes = []
        self.idle_cpus = ""  # how idle CPUs were held during the latency workloads
        self.work = tempfile.mkdtemp(prefix="ambit-bench-", dir="/var/tmp")
        self.tag = args.cluster_tag or f"bench{os.getpid()}"

    # ---------------------------------------------------------------- setup
    def setup(self):
        procs.raise_nofile()
        bin_dir = os.path.abspath(self.args.bin_dir)
        z_help = Cluster("probe", bin_dir, self.work, log).ztunnel_help()
        self.has_pool_flag = "--pool-max-streams" in z_help
        wanted = self.wanted_paths()
        specs = [("main", ["--workers=2"], True)]
        if not self.args.no_extra_clusters:
            if "ambit-w1" in wanted:
                specs.append(("w1", ["--workers=1"], False))
            if self.has_pool_flag and "ambit-full" in wanted:
                specs.append(("full", ["--workers=2", "--pool-max-streams=1"], False))
            if "ambit-policy" in wanted:
                specs.append(("policy", ["--workers=2"], False))
            if wanted & {"ambit-wp-http", "ambit-wp-tcp"}:
                # One worker per ztunnel: node1's ztunnel pools one HBONE connection to the
                # waypoint, which serves it on one loop (the one-worker figures).
                specs.append(("http", ["--workers=1"], False))
        if not self.has_pool_flag:
            self.notes.append("ambit-full skipped: this ztunnel has no --pool-max-streams flag (not in main yet).")
        if self.args.no_extra_clusters:
            self.notes.append("ambit-w1, ambit-full, ambit-policy and the waypoint paths skipped "
                              "(--no-extra-clusters).")
        for key, zargs, with_raw in specs:
            c = Cluster(f"{self.tag}{key}", bin_dir, self.work, log)
            self.clusters[key] = c
            c.up(nodes=2, ztunnel_args=zargs)
            yaml = manifests.namespace_yaml(MESH_NS, ambient=True) + manifests.pods_yaml(MESH_NS)
            if with_raw:
                yaml += "---\n" + manifests.namespace_yaml(RAW_NS, ambient=False) + manifests.pods_yaml(RAW_NS)
                yaml += manifests.dns_yaml(MESH_NS)
            if key == "http":
                yaml += manifests.waypoint_yaml(MESH_NS) + manifests.http_services_yaml(MESH_NS)
            if key == "policy":
                yaml += manifests.intruder_yaml(MESH_NS)
            c.apply(yaml, "pods")
            if key == "policy":
                c.apply(manifests.policies_yaml(MESH_NS), "policies")
        main = self.clusters["main"]

        def pod_info(cluster, ns, name):
            p = cluster.pod(ns, name)
            return os.path.basename(p["netns"]), p["ip"]

        raw_client_ns, _ = pod_info(main, RAW_NS, "client")
        raw_server_ns, raw_server_ip = pod_info(main, RAW_NS, "server")
        self.paths["raw"] = Path("raw", main, raw_client_ns, (raw_server_ip, proxies.IPERF_PORT),
                                 (raw_server_ip, proxies.NGINX_PORT), lambda: [], "raw", raw_server_ns)
        for key, name in (("main", "ambit"), ("w1", "ambit-w1"), ("full", "ambit-full"),
                          ("policy", "ambit-policy")):
            c = self.clusters.get(key)
            if c is None:
                continue
            client_ns, _ = pod_info(c, MESH_NS, "client")
            server_ns, server_ip = pod_info(c, MESH_NS, "server")
            self.paths[name] = Path(name, c, client_ns, (server_ip, proxies.IPERF_PORT),
                                    (server_ip, proxies.NGINX_PORT),
                                    (lambda cl=c: [cl.ztunnel_pid("node1"), cl.ztunnel_pid("node2")]),
                                    "ambit", server_ns)
            self.wait_mesh(self.paths[name])
        if "http" in self.clusters:
            self.setup_waypoint_paths(self.clusters["http"])

        certs_dir = os.path.join(self.work, "certs")
        certs.make_certs(certs_dir, raw_server_ip)
        env = {"AMBIT_CLUSTER": main.name}  # so `cluster down` would find them too
        for kind in ("haproxy", "stunnel"):
            if not any(p.startswith(kind) and not p.endswith("-l7") for p in wanted):
                continue
            pair = proxies.ProxyPair(kind, self.registry, self.work, certs_dir, raw_client_ns, raw_server_ns,
                                     raw_server_ip, env, log)
            pair.start()
            self.pairs[kind] = pair
        loop = "127.0.0.1"
        hp, st = self.pairs.get("haproxy"), self.pairs.get("stunnel")
        for name, pair, iperf_route, http_route in (
                ("haproxy", hp, "iperf_tls", "nginx_tls"),
                ("haproxy-acl", hp, None, "nginx_acl"),
                ("haproxy-full", hp, None, "nginx_full"),
                ("haproxy-plain", hp, "iperf_plain", "nginx_plain"),
                ("stunnel", st, "iperf_tls", "nginx_tls"),
                ("stunnel-full", st, None, "nginx_full")):
            if pair is None:
                continue
            iperf = (loop, proxies.client_port(pair.kind, iperf_route)) if iperf_route else None
            self.paths[name] = Path(name, main, raw_client_ns, iperf,
                                    (loop, proxies.client_port(pair.kind, http_route)),
                                    pair.pids, pair.kind, raw_server_ns)
        self.l7 = None
        if wanted & {"nginx-l7", "haproxy-l7"}:
            # The L7 middles' pod on the waypoint's node, so both L7 hops sit alike on the path.
            node = self.waypoint["node"] if getattr(self, "waypoint", None) else "node2"
            main.apply(manifests.middle_yaml(RAW_NS, node=node), "middle")
            middle_ns, middle_ip = pod_info(main, RAW_NS, "middle")
            self.middle_node = node
            self.l7 = l7proxies.L7Chains(self.registry, self.work, certs_dir, raw_client_ns, middle_ns, middle_ip,
                                         raw_server_ns, raw_server_ip, env, log)
            self.l7.start()
            for kind in ("nginx", "haproxy"):
                self.paths[f"{kind}-l7"] = Path(
                    f"{kind}-l7", main, raw_client_ns, None, (loop, l7proxies.CLIENT_PORTS[kind]),
                    (lambda k=kind: self.l7.chain_pids(k)), "l7", raw_server_ns,
                    middle_pids=(lambda k=kind: self.l7.middle_pids(k)))
        self.mtls_check = {kind: self.check_client_cert_required(raw_client_ns, raw_server_ip, port, certs_dir)
                           for kind, port in (("haproxy", 14019), ("stunnel", 14109)) if kind in self.pairs}
        if self.l7 is not None:
            for kind in ("nginx", "haproxy"):
                self.mtls_check[f"{kind}-l7"] = self.check_client_cert_required(
                    raw_client_ns, middle_ip, l7proxies.MIDDLE_PORTS[kind], certs_dir)
        self.policy_check = {}
        if "haproxy" in self.pairs:
            self.policy_check["haproxy-acl"] = self.check_acl_enforced(raw_client_ns, raw_server_ip, certs_dir)
        if "ambit-policy" in self.paths:
            self.policy_check["ambit-policy"] = self.check_policy_enforced(self.paths["ambit-policy"])
        for netns in sorted({p.client_netns for p in self.paths.values()}):
            self.tune_client_netns(netns)
        for path in self.paths.values():
            self.probe(path)
        if "http" in self.clusters:
            self.waypoint_check = self.check_waypoint_modes()
        log("every path answers: " + ", ".join(self.paths))
        if any(p in self.paths for p in WORKLOAD_PATHS["http_cpu"]):
            self.idle_l7 = self.l7_idle_cores()
            log("L7 hops idle: " + ", ".join(f"{k} {v:.4f} cores" for k, v in self.idle_l7.items()))

    def setup_waypoint_paths(self, c):
        """The waypoint pod Running and ready, and the two paths through it (Service VIPs)."""
        self.waypoint = None

        def running():
            for p in c.pods(MESH_NS):
                if p["name"].startswith(manifests.WAYPOINT_NAME + "-") and p["phase"] == "Running":
                    self.waypoint = p
                    return True
            return False
        c.wait("waypoint pod Running", running, timeout=60)
        wp_netns = os.path.basename(self.waypoint["netns"])

        self.waypoint_netns = wp_netns
        c.wait("waypoint ready", self.waypoint_ready, timeout=60)
        vips = {s["name"]: s["clusterIP"] for s in json.loads(c.ctl("get", "services", "-n", MESH_NS, "-o", "json"))}
        client_ns = os.path.basename(c.pod(MESH_NS, "client")["netns"])
        server_ns = os.path.basename(c.pod(MESH_NS, "server")["netns"])
        for name, svc in (("ambit-wp-http", manifests.HTTP_SERVICE), ("ambit-wp-tcp", manifests.TCP_SERVICE)):
            self.paths[name] = Path(name, c, client_ns, None, (vips[svc], proxies.NGINX_PORT),
                                    (lambda cl=c: [cl.ztunnel_pid("node1"), self.waypoint_pid(),
                                                   cl.ztunnel_pid("node2")]),
                                    "ambit", server_ns, middle_pids=lambda: [self.waypoint_pid()])
        self.wait_mesh(self.paths["ambit-wp-http"])
        log(f"waypoint {self.waypoint['name']} on {self.waypoint['node']} (pid {self.waypoint_pid()}); "
            f"VIPs {vips}")

    def waypoint_ready(self):
        r = subprocess.run(["ip", "netns", "exec", self.waypoint_netns, "curl", "-s", "-o", "/dev/null", "-w",
                            "%{http_code}", "--max-time", "2", "http://127.0.0.1:15021/healthz/ready"],
                           capture_output=True, text=True, timeout=10)
        return r.stdout.strip() == "200"

    def waypoint_pid(self):
        pid = self.waypoint["containers"][0]["pid"]
        if not pid or not procs.alive(pid):
            raise RuntimeError(f"waypoint process {pid} is not running")
        return pid

    def waypoint_dump(self):
        r = subprocess.run(["ip", "netns", "exec", self.waypoint_netns, "curl", "-sS", "--max-time", "5",
                            "http://127.0.0.1:15000/config_dump"], capture_output=True, text=True, timeout=10)
        if r.returncode != 0:
            raise RuntimeError(f"waypoint config_dump: {r.stderr.strip()}")
        return json.loads(r.stdout)

    def waypoint_relayed(self):
        relayed = self.waypoint_dump().get("counters", {}).get("relayed", {})
        return {"http": relayed.get("http", 0), "hbone": relayed.get("hbone", 0)}

    def check_waypoint_modes(self):
        """The cost on/off is real: a request over ambit-wp-http is a tunnel the waypoint parsed
        as HTTP (counters.relayed.http), one over ambit-wp-tcp a tunnel it relayed at L4
        (counters.relayed.hbone), and web's route table (the one route) is loaded."""
        tables = self.waypoint_dump().get("routeTables", {}).get("tables", {})
        fqdn = f"{manifests.HTTP_SERVICE}.{MESH_NS}.svc.cluster.local"
        deadline = time.monotonic() + 30
        while fqdn not in tables:
            if time.monotonic() > deadline:
                raise RuntimeError(f"the waypoint has no route table for {fqdn}: {tables}")
            time.sleep(0.2)
            tables = self.waypoint_dump().get("routeTables", {}).get("tables", {})
        out = {}
        for name, counter in (("ambit-wp-http", "http"), ("ambit-wp-tcp", "hbone")):
            # The binding reaches node1's ztunnel over xDS: until then a request goes direct.
            deadline = time.monotonic() + 30
            while True:
                before = self.waypoint_relayed()
                self.probe(self.paths[name])
                after = self.waypoint_relayed()
                grew = {k: after[k] - before[k] for k in after}
                if grew[counter] >= 1 and not any(v for k, v in grew.items() if k != counter):
                    break
                if time.monotonic() > deadline:
                    raise RuntimeError(f"{name}: the waypoint's relayed counters moved {grew}, want only {counter}")
                time.sleep(0.3)
            out[name] = f"one request: waypoint counters.relayed.{counter} +{grew[counter]}, the other +0"
        out["route_table"] = f"{fqdn}: {tables[fqdn].get('routes')} route(s)"
        middle = getattr(self, "middle_node", None)
        out["pod"] = (f"{self.waypoint['name']} on {self.waypoint['node']}"
                      + (f"; the middle pod of nginx-l7/haproxy-l7 on {middle}" if middle else ""))
        return out

    @staticmethod
    def check_client_cert_required(netns, server_ip, port, certs_dir):
        """A TLS client without a certificate must be refused by the reference's server side
        (mTLS really enforced): OpenSSL reports the server's `certificate required` alert."""
        r = subprocess.run(["ip", "netns", "exec", netns, "openssl", "s_client", "-connect", f"{server_ip}:{port}",
                            "-CAfile", os.path.join(certs_dir, "ca.crt"), "-servername", "server", "-quiet"],
                           input="GET / HTTP/1.0\r\n\r\n", capture_output=True, text=True, timeout=20)
        out = r.stdout + r.stderr
        # TLS 1.3: HAProxy and stunnel send the alert; nginx completes the handshake and
        # answers 400 "No required SSL certificate was sent" without proxying.
        refused = "certificate required" in out or "No required SSL certificate was sent" in out
        if not refused or "0123456789" in out:
            raise RuntimeError(f"mTLS not enforced on {server_ip}:{port}: a client without a certificate got: "
                               f"{out.strip()[-300:]}")
        if "certificate required" in out:
            return "refused without a client certificate (tlsv13 alert certificate required)"
        return "refused without a client certificate (400 No required SSL certificate was sent)"

    @staticmethod
    def check_acl_enforced(netns, server_ip, certs_dir):
        """The haproxy-acl server side admits the client's certificate and refuses another
        valid certificate of the same CA (CN=server), so its 100 rules are really evaluated."""
        port = 14023

        def fetch(name):
            r = subprocess.run(["ip", "netns", "exec", netns, "openssl", "s_client", "-connect", f"{server_ip}:{port}",
                                "-CAfile", os.path.join(certs_dir, "ca.crt"), "-servername", "server", "-quiet",
                                "-cert", os.path.join(certs_dir, f"{name}.crt"),
                                "-key", os.path.join(certs_dir, f"{name}.key")],
                               input="GET / HTTP/1.0\r\n\r\n", capture_output=True, text=True, timeout=20)
            return "0123456789" in r.stdout
        if not fetch("client"):
            raise RuntimeError(f"haproxy-acl: the client certificate is not admitted on {server_ip}:{port}")
        if fetch("server"):
            raise RuntimeError(f"haproxy-acl: a certificate no ACL admits (CN=server) got through on {server_ip}:{port}")
        return f"CN=client admitted, CN=server refused by the {proxies.ACL_RULES} rules"

    def check_policy_enforced(self, path):
        """The ambit-policy server admits the client and refuses a pod with an identity no policy
        admits: its CONNECT is answered 401 by the server's ztunnel (counted in
        counters.inbound.status401) and the curl fails, so the policies are really enforced."""
        c = path.cluster
        intruder_ns = os.path.basename(c.pod(MESH_NS, "intruder")["netns"])

        def denials():
            return c.config_dump("node2").get("counters", {}).get("inbound", {}).get("status401", 0)
        deadline = time.monotonic() + 30
        while True:
            before = denials()
            r = subprocess.run(["ip", "netns", "exec", intruder_ns, "curl", "-sS", "--max-time", "5", path.url],
                               capture_output=True, text=True, timeout=10)
            if r.returncode != 0 and "0123456789" not in r.stdout and denials() > before:
                break
            if time.monotonic() > deadline:
                raise RuntimeError(f"ambit-policy: the intruder pod still reaches {path.url} after 30 s "
                                   "(policies not enforced)")
            time.sleep(0.5)
        policies = c.config_dump("node2").get("policies", [])
        return (f"client admitted, intruder refused (curl exit {r.returncode}, 401 from node2's ztunnel); "
                f"node2's ztunnel holds {len(policies)} policies")

    @staticmethod
    def tune_client_netns(netns):
        """More ephemeral ports and TIME_WAIT reuse for the load generators, in the client pod's
        own netns only (the same for every path): keep-alive-off runs open thousands of
        connections a second. The range stays clear of the proxies' ports (140xx-150xx)."""
        r = subprocess.run(["ip", "netns", "exec", netns, "sysctl", "-q", "-w",
                            "net.ipv4.ip_local_port_range=16000 65000", "net.ipv4.tcp_tw_reuse=1"],
                           capture_output=True, text=True)
        if r.returncode != 0:
            raise RuntimeError(f"sysctl in {netns}: {r.stderr.strip()}")

    def wait_mesh(self, path):
        """Both mesh pods enrolled (redirection in place) and ztunnels ready."""
        c = path.cluster
        for node in ("node1", "node2"):
            c.wait(f"ztunnel of {node} ready", lambda n=node: c.ztunnel_ready(n), timeout=60)

        def redirected(netns):
            r = subprocess.run(["ip", "netns", "exec", netns, "nft", "list", "ruleset"],
                               capture_output=True, text=True)
            return "15001" in r.stdout

        c.wait("mesh pods enrolled", lambda: redirected(path.client_netns) and redirected(path.server_netns),
               timeout=60)

    def in_client(self, path, argv, timeout):
        return subprocess.run(["ip", "netns", "exec", path.client_netns, *argv], capture_output=True,
                              text=True, timeout=timeout)

    def probe(self, path, attempts=50):
        """One HTTP request through the path; for Ambit also checks it went through ztunnel."""
        before = self.ztunnel_counters(path) if path.kind == "ambit" else None
        last = ""
        for _ in range(attempts):
            r = self.in_client(path, ["curl", "-sS", "--max-time", "5", path.url], timeout=10)
            if r.returncode == 0 and r.stdout == "0123456789":
                break
            last = (r.stderr or r.stdout).strip()
            time.sleep(0.2)
        else:
            raise RuntimeError(f"path {path.name}: {path.url} does not answer from the client pod: {last}")
        if before is not None:
            after = self.ztunnel_counters(path)
            if after["streams"] <= before["streams"]:
                raise RuntimeError(f"path {path.name}: the request did not go through ztunnel "
                                   f"(outbound streams {before['streams']} -> {after['streams']})")

    def ztunnel_counters(self, path):
        dump = path.cluster.config_dump("node1")
        out = dump.get("counters", {}).get("outbound", {})
        return {"streams": out.get("streamsOpened", 0), "tls": out.get("tlsConnectionsOpened", 0)}

    def wanted_paths(self):
        """The paths the selected workloads (and --paths) will run over."""
        only_w = set(self.args.workloads.split(",")) if self.args.workloads else set(WORKLOADS)
        only_p = set(self.args.paths.split(",")) if self.args.paths else set(PATHS)
        return {p for w in WORKLOADS if w in only_w for p in WORKLOAD_PATHS[w] if p in only_p}

    # ---------------------------------------------------------------- workloads
    def run_tool(self, path, argv, seconds):
        r = self.in_client(path, argv, timeout=seconds + 60)
        if r.returncode != 0:
            raise RuntimeError(f"{argv[0]} exited {r.returncode}: {(r.stderr or r.stdout).strip()[:400]}")
        return r.stdout

    def measured(self, path, argv, seconds):
        pids = path.proxy_pids()
        with procs.CpuWindow(pids) as window:
            out = self.run_tool(path, argv, seconds)
        return out, window

    @staticmethod
    def cpu_metrics(window):
        return {"proxy_cores": window.cores(), "machine_busy": window.machine_busy, "wall_s": window.wall}

    def w_throughput(self, path, _r):
        host, port = path.iperf
        t = self.args.throughput_seconds
        out, win = self.measured(path, ["iperf3", "-c", host, "-p", str(port), "-t", str(t), "-J"], t)
        m = parsers.parse_iperf3(out)
        errors = m.pop("errors")
        metrics = {**m, **self.cpu_metrics(win)}
        if path.kind != "raw" and win.cores() > 0:
            metrics["gbps_per_proxy_core"] = m["gbps"] / win.cores()
        return metrics, errors, {}

    def w_latency(self, path, conns):
        t = self.args.latency_seconds
        # Only the latency workloads run with idle CPUs polling (idle_latency.py): on this
        # kind of VM polling also slows bulk transfer (raw iperf3 15.5 -> 10.2 Gbit/s).
        with idle_latency.IdleLatencyHold(enabled=not self.args.no_idle_poll) as hold:
            self.idle_cpus = hold.reason
            out, win = self.measured(path, ["wrk", "-t1", f"-c{conns}", f"-d{t}s", "--latency", path.url], t)
        m = parsers.parse_wrk(out)
        errors = m.pop("errors")
        return {**m, **self.cpu_metrics(win)}, errors, {}

    def w_newconn(self, path, _r):
        t = self.args.newconn_seconds
        before = self.ztunnel_counters(path) if path.kind == "ambit" else None
        out, win = self.measured(path, ["hey", "-z", f"{t}s", "-c", "8", "-disable-keepalive", path.url], t)
        m = parsers.parse_hey(out)
        errors = m.pop("errors")
        metrics = {**m, **self.cpu_metrics(win)}
        extra = {}
        if before is not None:
            after = self.ztunnel_counters(path)
            streams, tls = after["streams"] - before["streams"], after["tls"] - before["tls"]
            extra["ztunnel_node1"] = {"streams_opened": streams, "tls_connections_opened": tls}
            if streams > 0:
                metrics["tls_handshakes_per_conn"] = tls / streams
        if m["rps"] > 0:
            metrics["proxy_cpu_ms_per_conn"] = win.cores() / m["rps"] * 1000
        return metrics, errors, extra

    def w_cpu(self, path, _r):
        t = self.args.cpu_seconds
        out, win = self.measured(path, ["hey", "-z", f"{t}s", "-c", "4", "-q", "250", path.url], t)
        m = parsers.parse_hey(out)
        errors = m.pop("errors")
        metrics = {**m, **self.cpu_metrics(win)}
        if m["rps"] > 0:
            metrics["cores_per_krps_pair"] = win.cores() / (m["rps"] / 1000)
            metrics["cores_per_krps_hop"] = metrics["cores_per_krps_pair"] / 2
        return metrics, errors, {}

    def w_dns(self, path, name):
        """dnsperf for a fixed time from the client pod to the cluster DNS: through ztunnel's proxy
        (captured) for Ambit, directly to dnsmasq for raw. The same query, the same upstream."""
        t = self.args.dns_seconds
        query_file = os.path.join(self.work, f"dns-{name.replace('.', '_')}.txt")
        with open(query_file, "w") as f:
            f.write(f"{name} A\n")
        out, win = self.measured(path, ["dnsperf", "-s", manifests.CLUSTER_DNS, "-d", query_file, "-l", str(t),
                                        "-c", "4", "-q", "32", "-t", "2"], t)
        m = parsers.parse_dnsperf(out)
        errors = m.pop("errors")
        metrics = {**m, **self.cpu_metrics(win)}
        if path.kind == "ambit" and m["qps"] > 0:
            metrics["proxy_cpu_us_per_query"] = win.cores() / m["qps"] * 1e6
        return metrics, errors, {}

    def w_streams8(self, path, _r):
        host, port = path.iperf
        t = self.args.streams_seconds
        workers_before = self.worker_counters(path) if path.kind == "ambit" else None
        out, win = self.measured(path, ["iperf3", "-c", host, "-p", str(port), "-t", str(t), "-P", "8", "-J"], t)
        m = parsers.parse_iperf3(out)
        errors = m.pop("errors")
        metrics = {**m, **self.cpu_metrics(win)}
        extra, notes = {}, []
        if workers_before is not None:
            after = self.worker_counters(path)
            if any(v is None for v in list(workers_before.values()) + list(after.values())):
                notes.append("this ztunnel's /config_dump has no `workers` array (per-worker counters not "
                             "in this build)")
            else:
                spread = {}
                for node in ("node1", "node2"):
                    deltas = [a - b for a, b in zip(after[node], workers_before[node])]
                    total = sum(deltas)
                    spread[node] = {"bytes": deltas,
                                    "shares": [d / total if total else 0.0 for d in deltas]}
                extra["workers"] = spread
                if len(spread["node1"]["bytes"]) > 1:
                    metrics["max_worker_share"] = max(max(s["shares"]) for s in spread.values())
        return metrics, errors, {**extra, "notes": notes} if notes else extra

    # ------------------------------------------------ HTTP section (issue #13)
    @staticmethod
    def split_cpu(window, middle):
        """(CPU seconds of the L7 hop, of the whole chain) over |window|, from the scheduler's
        run time (procs.cpu_ns), not the tick-sampled utime + stime."""
        return (sum(window.run_ns.get(p, 0) for p in middle) / 1e9, sum(window.run_ns.values()) / 1e9)

    def http_measured(self, path, argv, seconds):
        middle = path.middle_pids()
        pids = list(dict.fromkeys(path.proxy_pids() + middle))
        split0 = [procs.cpu_split(p) for p in middle]
        ns0 = {p: procs.cpu_ns(p) for p in pids}
        with procs.CpuWindow(pids) as window:
            out = self.run_tool(path, argv, seconds)
        ns1 = {p: procs.cpu_ns(p) for p in pids}
        split1 = [procs.cpu_split(p) for p in middle]
        window.run_ns = {p: ns1[p] - ns0[p] for p in pids}
        # The L7 hop's user-space and kernel shares (tick-sampled: a ratio, not an absolute).
        user = sum(b[0] - a[0] for a, b in zip(split0, split1))
        system = sum(b[1] - a[1] for a, b in zip(split0, split1))
        window.middle_user_share = user / (user + system) if user + system > 0 else None
        window.middle_tick_s = user + system
        return out, window, middle

    def w_http_cpu(self, path, _r):
        """CPU per request at a fixed 1000 requests/s over 4 keep-alive connections."""
        t = self.args.cpu_seconds
        out, win, middle = self.http_measured(
            path, ["hey", "-z", f"{t}s", "-c", "4", "-q", "250", path.url], t)
        m = parsers.parse_hey(out)
        errors = m.pop("errors")
        metrics = {**m, **self.cpu_metrics(win)}
        mid, chain = self.split_cpu(win, middle)
        if m["requests"] > 0:
            metrics["middle_cpu_us_per_req"] = mid / m["requests"] * 1e6
            metrics["chain_cpu_us_per_req"] = chain / m["requests"] * 1e6
            # The same from utime + stime, as the L4 workloads count it (for comparison).
            metrics["middle_tick_cpu_us_per_req"] = win.middle_tick_s / m["requests"] * 1e6
            if win.middle_user_share is not None:
                metrics["middle_user_share"] = win.middle_user_share
        return metrics, errors, {"cpu_s": {str(p): v for p, v in win.cpu.items()}}

    def w_http_rps(self, path, _r):
        """Saturating load (wrk -t1 -c16): requests/s of the chain on this machine, and the L7
        hop's requests per CPU-second (what its one worker serves when it is the bottleneck)."""
        t = self.args.latency_seconds
        before = self.waypoint_dump().get("counters", {}) if path.name.startswith("ambit-wp") else None
        out, win, middle = self.http_measured(path, ["wrk", "-t1", "-c16", f"-d{t}s", "--latency", path.url], t)
        m = parsers.parse_wrk(out)
        errors = m.pop("errors")
        metrics = {**m, **self.cpu_metrics(win)}
        mid, chain = self.split_cpu(win, middle)
        metrics["middle_cores"] = mid / win.wall if win.wall > 0 else 0.0
        if m["requests"] > 0 and mid > 0:
            metrics["middle_cpu_us_per_req_sat"] = mid / m["requests"] * 1e6
            metrics["middle_rps_per_core"] = m["requests"] / mid
        extra = {}
        if before is not None:
            after = self.waypoint_dump().get("counters", {})
            extra["waypoint_downstream"] = {"before": before.get("downstream"), "after": after.get("downstream")}
            # One downstream HBONE connection (node1's pooled one) = one waypoint loop served the run.
            metrics["waypoint_tls_connections"] = (after.get("downstream") or {}).get("tlsConnectionsActive", 0)
        return metrics, errors, extra

    def fresh_l7(self, path):
        """A fresh L7 hop before a memory sample: freed heap is kept by the allocator, so a
        process that already held connections would grow less the next time. nginx / HAProxy
        are restarted; the waypoint is killed and its pod's supervisor starts a new one."""
        if path.kind == "l7":
            self.l7.restart_middle(path.name[:-len("-l7")])
            return
        c = path.cluster
        old = self.waypoint_pid()
        os.kill(old, signal.SIGKILL)

        def restarted():
            for p in c.pods(MESH_NS):
                if p["name"] == self.waypoint["name"]:
                    pid = p["containers"][0]["pid"]
                    if p["phase"] == "Running" and pid and pid != old and procs.alive(pid):
                        self.waypoint = p
                        return True
            return False
        c.wait("waypoint restarted", restarted, timeout=60)
        fqdn = f"{manifests.HTTP_SERVICE}.{MESH_NS}.svc.cluster.local"

        def serving():
            return self.waypoint_ready() and fqdn in self.waypoint_dump().get("routeTables", {}).get("tables", {})
        c.wait("restarted waypoint has web's route table", serving, timeout=60)
        self.probe(path)

    def l7_idle_cores(self, seconds=2.0):
        """CPU the L7 hop of each HTTP path uses with no traffic (timers, xDS, housekeeping),
        so CPU per request at a fixed rate can be read with its idle floor in mind."""
        out = {}
        for name in WORKLOAD_PATHS["http_cpu"]:
            path = self.paths.get(name)
            if path is None or name in out:
                continue
            with procs.CpuWindow(path.middle_pids()) as win:
                time.sleep(seconds)
            out[name] = win.cores()
        return out

    def w_http_memory(self, path, _r):
        """RSS growth of the L7 hop, started fresh, for N idle keep-alive HTTP connections, each
        having carried one request (idle_conns.py `req`). The ends (ztunnels, HAProxy sidecars)
        are not restarted, so only the L7 hop's growth is measured (the L4 memory workload
        measures the ztunnels')."""
        n = self.args.http_idle_conns
        self.fresh_l7(path)
        self.probe(path)  # warm: pooled HBONE / upstream connections exist
        middle = path.middle_pids()
        before_mid = sum(procs.rss_kb(p) for p in middle)
        tool = os.path.join(self.work, "idle_conns.py")
        shutil.copy(os.path.join(HARNESS_DIR, "idle_conns.py"), tool)
        proc = subprocess.Popen(["ip", "netns", "exec", path.client_netns, "/usr/bin/python3", tool,
                                 path.http[0], str(path.http[1]), str(n), "req"],
                                stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                start_new_session=True)
        self.registry.procs[proc.pid] = (proc, f"idle_conns req ({path.name})")
        try:
            line = proc.stdout.readline().strip()
            if line != f"open {n}":
                raise RuntimeError(f"idle_conns: {line or proc.stderr.read().strip()}")
            time.sleep(self.args.idle_settle)
            after_mid = sum(procs.rss_kb(p) for p in middle)
            wp_conns = None
            if path.name.startswith("ambit-wp"):
                wp_conns = (self.waypoint_dump().get("counters", {}).get("downstream") or {}).get(
                    "tlsConnectionsActive", 0)
            proc.stdin.write("\n")
            proc.stdin.flush()
            proc.wait(timeout=30)
        finally:
            self.registry.stop(proc.pid)
        metrics = {
            "middle_kb_per_conn": (after_mid - before_mid) / n,
            "middle_rss_before_kb": before_mid,
            "middle_rss_after_kb": after_mid,
            "idle_conns": n,
        }
        if wp_conns is not None:
            metrics["waypoint_tls_connections"] = wp_conns
        return metrics, [], {}

    def worker_counters(self, path):
        out = {}
        for node in ("node1", "node2"):
            workers = path.cluster.config_dump(node).get("workers")
            if not isinstance(workers, list):
                out[node] = None
                continue
            out[node] = [w.get("bytes", 0) for w in sorted(workers, key=lambda w: w.get("index", 0))]
        return out

    def w_memory(self, path, _r):
        """Fresh proxies, baseline RSS, then RSS growth for N idle connections."""
        n = self.args.idle_conns
        self.fresh_proxies(path)
        pids = path.proxy_pids()
        baseline = [procs.rss_kb(p) for p in pids]
        self.probe(path)  # warm-up: a pooled tunnel / TLS session exists for Ambit
        before = sum(procs.rss_kb(p) for p in pids)
        established0 = self.established(path, proxies.NGINX_PORT)
        tool = os.path.join(self.work, "idle_conns.py")
        shutil.copy(os.path.join(HARNESS_DIR, "idle_conns.py"), tool)
        proc = subprocess.Popen(["ip", "netns", "exec", path.client_netns, "/usr/bin/python3", tool,
                                 path.http[0], str(path.http[1]), str(n), "idle"],
                                stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                start_new_session=True)
        self.registry.procs[proc.pid] = (proc, f"idle_conns ({path.name})")
        errors = []
        try:
            line = proc.stdout.readline().strip()
            if line != f"open {n}":
                raise RuntimeError(f"idle_conns: {line or proc.stderr.read().strip()}")
            # Every connection reached the server pod's nginx (the whole chain is up).
            deadline = time.monotonic() + 30
            while self.established(path, proxies.NGINX_PORT) - established0 < n:
                if time.monotonic() > deadline:
                    errors.append(f"only {self.established(path, proxies.NGINX_PORT) - established0} of {n} "
                                  "connections reached nginx within 30 s")
                    break
                time.sleep(0.1)
            time.sleep(self.args.idle_settle)
            after = sum(procs.rss_kb(p) for p in pids)
            proc.stdin.write("\n")
            proc.stdin.flush()
            proc.wait(timeout=30)
        finally:
            self.registry.stop(proc.pid)
        metrics = {
            "kb_per_conn": (after - before) / n,
            "rss_before_kb": before,
            "rss_after_kb": after,
            "baseline_rss_mb_max": max(baseline) / 1024,
            "baseline_rss_mb_mean": sum(baseline) / len(baseline) / 1024,
            "idle_conns": n,
        }
        return metrics, errors, {"baseline_rss_kb": dict(zip(map(str, pids), baseline))}

    def established(self, path, port):
        """ESTABLISHED TCP connections with local port |port| in the server pod's netns."""
        count = 0
        for table in ("tcp", "tcp6"):
            r = subprocess.run(["ip", "netns", "exec", path.server_netns, "cat", f"/proc/net/{table}"],
                               capture_output=True, text=True)
            for line in r.stdout.splitlines()[1:]:
                parts = line.split()
                if len(parts) > 3 and parts[3] == "01" and int(parts[1].rsplit(":", 1)[1], 16) == port:
                    count += 1
        return count

    def fresh_proxies(self, path):
        if path.kind in ("haproxy", "stunnel"):
            self.pairs[path.kind].restart()
            return
        c = path.cluster
        old = {node: c.ztunnel_pid(node) for node in ("node1", "node2")}
        for pid in old.values():
            os.kill(pid, signal.SIGKILL)  # the supervisor starts a new one
        for node in ("node1", "node2"):
            def restarted(n=node):
                s = c.ztunnel_status(n)
                return s and s.get("state") == "running" and s.get("pid") not in (0, old[n])
            c.wait(f"ztunnel of {node} restarted", restarted, timeout=60)
            c.wait(f"ztunnel of {node} ready", lambda n=node: c.ztunnel_ready(n), timeout=60)
        # The pods are handed over again by ZDS; the path answers once they are.
        time.sleep(0.5)

    # ---------------------------------------------------------------- rounds
    def run(self):
        dispatch = {
            "throughput": self.w_throughput,
            "latency_c1": lambda p, r: self.w_latency(p, 1),
            "latency_c16": lambda p, r: self.w_latency(p, 16),
            "newconn": self.w_newconn,
            "cpu": self.w_cpu,
            "memory": self.w_memory,
            "streams8": self.w_streams8,
            "dns_forward": lambda p, r: self.w_dns(p, manifests.DNS_FORWARDED_NAME),
            "dns_local": lambda p, r: self.w_dns(p, f"server.{MESH_NS}.svc.cluster.local"),
            "http_latency_c1": lambda p, r: self.w_latency(p, 1),
            "http_cpu": self.w_http_cpu,
            "http_rps": self.w_http_rps,
            "http_memory": self.w_http_memory,
        }
        only = set(self.args.workloads.split(",")) if self.args.workloads else set(WORKLOADS)
        only_paths = set(self.args.paths.split(",")) if self.args.paths else set(PATHS)
        for r in range(1, self.args.rounds + 1):
            log(f"round {r} of {self.args.rounds}")
            for workload in WORKLOADS:
                if workload not in only:
                    continue
                for name in WORKLOAD_PATHS[workload]:
                    path = self.paths.get(name)
                    if path is None or name not in only_paths:
                        continue
                    if workload in ("throughput", "streams8") and path.iperf is None:
                        continue
                    started = datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")
                    t0 = time.monotonic()
                    try:
                        metrics, errors, extra = dispatch[workload](path, r)
                    except Interrupted:
                        raise
                    except Exception as e:  # recorded; the run goes on
                        metrics, errors, extra = {}, [f"{type(e).__name__}: {e}"], {}
                    sample = {"round": r, "workload": workload, "path": name, "started": started,
                              "seconds": round(time.monotonic() - t0, 2), "metrics": metrics, "errors": errors}
                    notes = extra.pop("notes", []) if isinstance(extra, dict) else []
                    if notes:
                        sample["notes"] = notes
                    if extra:
                        sample["extra"] = extra
                    self.samples.append(sample)
                    log(f"  {workload:12s} {name:14s} {summary_line(workload, metrics)}"
                        + (f"  ERRORS: {errors}" if errors else ""))

    # ---------------------------------------------------------------- cleanup
    def cleanup(self):
        self.registry.stop_all()
        for c in self.clusters.values():
            try:
                c.down()
            except Exception as e:
                log(f"cluster {c.name} down failed: {e}")
        shutil.rmtree(self.work, ignore_errors=True)


def summary_line(workload, m):
    if not m:
        return "-"
    keys = {
        "throughput": [("gbps", "{:.2f} Gbit/s"), ("proxy_cores", "proxy {:.2f} cores")],
        "latency_c1": [("rps", "{:.0f} rps"), ("p50_us", "p50 {:.0f} µs"), ("p99_us", "p99 {:.0f} µs")],
        "latency_c16": [("rps", "{:.0f} rps"), ("p50_us", "p50 {:.0f} µs"), ("p99_us", "p99 {:.0f} µs")],
        "newconn": [("rps", "{:.0f} conn/s"), ("proxy_cores", "proxy {:.2f} cores"),
                    ("tls_handshakes_per_conn", "{:.2f} TLS/conn")],
        "cpu": [("rps", "{:.0f} rps"), ("cores_per_krps_hop", "{:.3f} cores/krps/hop")],
        "memory": [("kb_per_conn", "{:.1f} KB/conn"), ("baseline_rss_mb_max", "baseline {:.1f} MB")],
        "streams8": [("gbps", "{:.2f} Gbit/s"), ("max_worker_share", "max worker share {:.2f}")],
        "dns_forward": [("qps", "{:.0f} q/s"), ("avg_latency_us", "avg {:.0f} µs"), ("proxy_cores", "proxy {:.2f} cores")],
        "dns_local": [("qps", "{:.0f} q/s"), ("avg_latency_us", "avg {:.0f} µs"), ("proxy_cores", "proxy {:.2f} cores")],
        "http_latency_c1": [("rps", "{:.0f} rps"), ("p50_us", "p50 {:.0f} µs"), ("p99_us", "p99 {:.0f} µs")],
        "http_cpu": [("rps", "{:.0f} rps"), ("middle_cpu_us_per_req", "L7 hop {:.1f} µs/req"),
                     ("chain_cpu_us_per_req", "chain {:.1f} µs/req")],
        "http_rps": [("rps", "{:.0f} rps"), ("middle_cores", "L7 hop {:.2f} cores"),
                     ("middle_rps_per_core", "{:.0f} req per L7 CPU-second")],
        "http_memory": [("middle_kb_per_conn", "L7 hop {:.1f} KB/conn")],
    }[workload]
    return ", ".join(fmt.format(m[k]) for k, fmt in keys if k in m)


def tool_version(argv, pattern_line=0):
    try:
        r = subprocess.run(argv, capture_output=True, text=True, timeout=10)
        text = (r.stdout + r.stderr).strip().splitlines()
        return text[pattern_line].strip() if len(text) > pattern_line else ""
    except (OSError, subprocess.TimeoutExpired):
        return ""


def dpkg_version(package):
    return tool_version(["dpkg-query", "-W", "-f=${Version}", package])


def machine_facts(repo_root):
    cpu_model = ""
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                cpu_model = line.split(":", 1)[1].strip()
                break
    with open("/proc/meminfo") as f:
        mem_kb = int(f.readline().split()[1])
    with open("/proc/sys/net/ipv4/tcp_available_ulp") as f:
        ulp = f.read().strip()
    commit = tool_version(["git", "-C", repo_root, "rev-parse", "--short", "HEAD"])
    dirty = tool_version(["git", "-C", repo_root, "status", "--porcelain", "--untracked-files=no"])
    return {
        "nproc": os.cpu_count(),
        "cpu_model": cpu_model,
        "kernel": platform.release(),
        "memory_gib": round(mem_kb / 1024 / 1024, 1),
        "loadavg_at_start": os.getloadavg(),
        "ktls_available": "tls" in ulp.split(),
        "git_commit": commit + ("-dirty" if dirty else ""),
        "versions": {
            "haproxy": tool_version(["haproxy", "-v"]),
            "stunnel": tool_version(["stunnel4", "-version"], 1) or tool_version(["stunnel4", "-version"]),
            "openssl": tool_version(["openssl", "version"]),
            "nginx": tool_version(["nginx", "-v"]),
            "iperf3": tool_version(["iperf3", "--version"]),
            "wrk": dpkg_version("wrk"),
            "hey": dpkg_version("hey"),
        },
    }


def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--bin-dir", default="build/bin", help="where ambitctl, ambitd and ztunnel are")
    p.add_argument("--results-dir", default="bench/results", help="JSON goes here (<timestamp>.json, latest.json)")
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--throughput-seconds", type=int, default=8)
    p.add_argument("--latency-seconds", type=int, default=8,
                   help="wrk duration per latency run (a p99 over more requests is steadier)")
    p.add_argument("--newconn-seconds", type=int, default=5)
    p.add_argument("--cpu-seconds", type=int, default=6)
    p.add_argument("--streams-seconds", type=int, default=6)
    p.add_argument("--dns-seconds", type=int, default=5, help="dnsperf duration per DNS run")
    p.add_argument("--idle-conns", type=int, default=1000)
    p.add_argument("--idle-settle", type=float, default=1.0, help="seconds between the last connect and RSS")
    p.add_argument("--http-idle-conns", type=int, default=100,
                   help="idle HTTP connections of http_memory; at most ztunnel's --pool-max-streams (100) "
                        "so node1's ztunnel keeps one HBONE connection to the waypoint (one loop) for the "
                        "rounds that follow")
    p.add_argument("--workloads", default="", help="comma-separated subset of " + ",".join(WORKLOADS))
    p.add_argument("--paths", default="",
                   help="comma-separated subset of " + ",".join(PATHS) + " (raw always comes up: the "
                        "main cluster holds the reference pods)")
    p.add_argument("--no-extra-clusters", action="store_true",
                   help="no second/third cluster (skips ambit-w1 and ambit-full)")
    p.add_argument("--cluster-tag", default="",
                   help="cluster names are <tag>main, <tag>w1, <tag>full (default bench<pid>; at most 16 characters)")
    p.add_argument("--no-idle-poll", action="store_true",
                   help="let idle CPUs halt during the latency workloads too (default: hold "
                        "/dev/cpu_dma_latency at 0 while wrk runs, see idle_latency.py)")
    p.add_argument("--smoke", action="store_true",
                   help="1 round, about 1 s per workload, 100 idle connections (for make test)")
    args = p.parse_args(argv)
    for name, given, known in (("--workloads", args.workloads, WORKLOADS), ("--paths", args.paths, PATHS)):
        unknown = [x for x in given.split(",") if x and x not in known]
        if unknown:
            p.error(f"{name}: unknown {', '.join(unknown)} (known: {', '.join(known)})")
    if len(args.cluster_tag) > 16:
        p.error("--cluster-tag: at most 16 characters (cluster names are at most 20)")
    if args.smoke:
        args.rounds = 1
        args.throughput_seconds = args.latency_seconds = args.newconn_seconds = 1
        args.cpu_seconds = args.streams_seconds = args.dns_seconds = 1
        args.idle_conns = 100
        args.http_idle_conns = 50
        args.idle_settle = 0.3
    return args


def main(argv):
    args = parse_args(argv)
    if os.geteuid() != 0:
        print("bench: needs root (network namespaces)", file=sys.stderr)
        return 77
    repo_root = os.path.dirname(os.path.dirname(HARNESS_DIR))
    # Explicitly, also for SIGINT: a shell starts background jobs with SIGINT ignored.
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, _on_signal)
    t0 = time.monotonic()
    started = datetime.datetime.now(datetime.timezone.utc)
    facts = machine_facts(repo_root)
    bench = Bench(args)
    rc = 0
    try:
        bench.setup()
        bench.run()
    except (KeyboardInterrupt, Interrupted) as e:
        log(f"interrupted ({e or 'Ctrl-C'}): cleaning up")
        rc = 130
    except Exception as e:
        log(f"FAILED: {type(e).__name__}: {e}")
        rc = 1
    finally:
        for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            signal.signal(sig, signal.SIG_IGN)  # let cleanup finish
        bench.cleanup()
    if rc != 0:
        return rc
    samples = stats.derive(bench.samples)
    summary = stats.summarize(samples)
    ratio_rows = stats.ratios(summary)
    spread = stats.worker_spread(samples)
    result = {
        "schema": 1,
        "started": started.isoformat(timespec="seconds"),
        "duration_s": round(time.monotonic() - t0, 1),
        "machine": dict(facts, idle_cpus="latency workloads: " + (bench.idle_cpus or "not run")),
        "config": {k: v for k, v in vars(args).items() if k not in ("bin_dir", "results_dir")},
        "clusters": {k: {"name": c.name, "ztunnel_args": c.ztunnel_args} for k, c in bench.clusters.items()},
        "paths": {name: stats.PATH_LABELS.get(name, name) for name in bench.paths},
        "workload_paths": WORKLOAD_PATHS,
        "notes": bench.notes,
        "mtls_check": getattr(bench, "mtls_check", {}),
        "policy_check": getattr(bench, "policy_check", {}),
        "waypoint_check": getattr(bench, "waypoint_check", {}),
        "l7_idle_cores": getattr(bench, "idle_l7", {}),
        "flags": stats.raw_throughput_flags(samples),
        "samples": samples,
        "summary": summary,
        "ratios": ratio_rows,
        "worker_spread": spread,
        "targets": stats.targets(summary, ratio_rows, spread),
    }
    os.makedirs(args.results_dir, exist_ok=True)
    stamp = started.strftime("%Y%m%dT%H%M%SZ")
    out = os.path.join(args.results_dir, f"{stamp}.json")
    with open(out, "w") as f:
        json.dump(result, f, indent=1)
        f.write("\n")
    latest = os.path.join(args.results_dir, "latest.json")  # a relative symlink to the newest run
    tmp_link = latest + ".tmp"
    if os.path.lexists(tmp_link):
        os.unlink(tmp_link)
    os.symlink(os.path.basename(out), tmp_link)
    os.replace(tmp_link, latest)
    log(f"wrote {out} (and latest.json) after {result['duration_s']} s")
    for t in result["targets"]:
        value = "n/a" if t["value"] is None else f"{t['value']:.3g}{t['unit']}"
        log(f"  target {t['id']:16s} {t['status']:4s} {value:>12s}  ({t['text']})")
    for flag in result["flags"]:
        log(f"  FLAG {flag['text']}")
    errors = sum(1 for s in samples if s["errors"])
    if errors:
        log(f"{errors} sample(s) had errors (see the JSON)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
