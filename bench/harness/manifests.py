"""The benchmark's pods: per namespace a server pod on node2 (iperf3 and nginx, the
same backends for every path) and a client pod on node1 (the load generators run
in its network namespace); in the main cluster also the cluster DNS (dnsmasq)."""

NGINX_CONF = r"""daemon off;
error_log stderr warn;
pid /tmp/nginx.pid;
worker_processes 1;
worker_rlimit_nofile 16384;
events { worker_connections 8192; }
http {
  access_log off;
  keepalive_timeout 300;
  keepalive_requests 100000000;
  client_body_temp_path /tmp/body; proxy_temp_path /tmp/proxy; fastcgi_temp_path /tmp/fcgi;
  uwsgi_temp_path /tmp/uwsgi; scgi_temp_path /tmp/scgi;
  server {
    listen 8080 reuseport backlog=4096;
    root /tmp/www;
    location = / { try_files /index.html =404; }
  }
}
"""


def _indent(text, spaces):
    pad = " " * spaces
    return "".join(pad + line + "\n" for line in text.splitlines())


def namespace_yaml(ns, ambient):
    labels = "\n  labels: {istio.io/dataplane-mode: ambient}" if ambient else ""
    return f"apiVersion: v1\nkind: Namespace\nmetadata:\n  name: {ns}{labels}\n"


def pods_yaml(ns):
    nginx_script = ("mkdir -p /tmp/www\n"
                    "printf 0123456789 > /tmp/www/index.html\n"
                    "cat > /tmp/nginx.conf <<'CONF'\n" + NGINX_CONF + "CONF\n"
                    "exec nginx -e stderr -c /tmp/nginx.conf\n")
    return f"""---
apiVersion: v1
kind: Pod
metadata:
  name: server
  namespace: {ns}
  labels: {{app: server}}
spec:
  nodeName: node2
  serviceAccountName: server
  containers:
  - name: iperf3
    image: iperf3
    command: ["iperf3", "-s", "-p", "5201"]
    ports:
    - containerPort: 5201
  - name: nginx
    image: nginx
    command: ["sh", "-c"]
    args:
    - |
{_indent(nginx_script, 6)}    ports:
    - containerPort: 8080
---
apiVersion: v1
kind: Pod
metadata:
  name: client
  namespace: {ns}
  labels: {{app: client}}
spec:
  nodeName: node1
  serviceAccountName: client
  containers:
  - name: client
    image: tools
    command: ["sleep", "infinity"]
"""


# The cluster DNS of the DNS workloads: dnsmasq answering two names from its own
# table (no upstream, no cache), behind the cluster's clusterDNS address.
CLUSTER_DNS = "10.96.0.2"
DNS_FORWARDED_NAME = "ext.bench.test"


def dns_yaml(mesh_ns):
    local = f"server.{mesh_ns}.svc.cluster.local"
    return f"""---
apiVersion: v1
kind: Namespace
metadata:
  name: bench-dns
---
apiVersion: v1
kind: Pod
metadata:
  name: dns
  namespace: bench-dns
  labels: {{app: dns}}
spec:
  nodeName: node2
  containers:
  - name: dnsmasq
    image: dnsmasq
    command: ["dnsmasq", "--keep-in-foreground", "--no-resolv", "--no-hosts", "--no-poll", "--user=root",
              "--cache-size=0", "--pid-file=/tmp/dnsmasq.pid", "--port=53",
              "--host-record={DNS_FORWARDED_NAME},10.1.2.3", "--host-record={local},10.96.0.99"]
    ports:
    - containerPort: 53
---
apiVersion: v1
kind: Service
metadata:
  name: kube-dns
  namespace: bench-dns
spec:
  clusterIP: {CLUSTER_DNS}
  selector: {{app: dns}}
  ports:
  - {{name: dns, port: 53, targetPort: 53, protocol: UDP}}
  - {{name: dns-tcp, port: 53, targetPort: 53, protocol: TCP}}
---
apiVersion: v1
kind: Service
metadata:
  name: server
  namespace: {mesh_ns}
spec:
  selector: {{app: server}}
  ports:
  - {{name: http, port: 8080, targetPort: 8080}}
"""


# The ambit-policy path: 100 AuthorizationPolicies in the mesh namespace, a realistic mix
# for one namespace of a mesh. 95 select other workloads (app: svc-N, each admitting its own
# caller), so they do not apply to the server; 5 do: a namespace-wide DENY (quarantined
# namespaces), a DENY on the server for one principal, and three ALLOWs on the server,
# the last of which admits the benchmark's client by principal. Every connection of the
# path is thus checked against 2 DENY and up to 3 ALLOW policies, and admitted.
POLICY_COUNT = 100


def _policy(ns, name, selector_app, action, source, ports=None):
    selector = f"  selector:\n    matchLabels: {{app: {selector_app}}}\n" if selector_app else ""
    to = ""
    if ports:
        to = "    to:\n    - operation:\n        ports: [" + ", ".join(f'"{p}"' for p in ports) + "]\n"
    return (f"---\napiVersion: security.istio.io/v1\nkind: AuthorizationPolicy\n"
            f"metadata:\n  name: {name}\n  namespace: {ns}\nspec:\n{selector}  action: {action}\n"
            f"  rules:\n  - from:\n    - source:\n        {source}\n{to}")


def policies_yaml(ns, count=POLICY_COUNT):
    principal = f"cluster.local/ns/{ns}/sa"
    docs = []
    for i in range(count - 5):
        docs.append(_policy(ns, f"svc-{i}", f"svc-{i}", "ALLOW", f'principals: ["{principal}/caller-{i}"]',
                            ["8080"]))
    docs.append(_policy(ns, "deny-quarantined", None, "DENY",
                        "namespaces: [" + ", ".join(f'"quarantine-{i}"' for i in range(5)) + "]"))
    docs.append(_policy(ns, "server-deny-legacy", "server", "DENY", f'principals: ["{principal}/legacy"]'))
    docs.append(_policy(ns, "server-allow-frontend", "server", "ALLOW",
                        f'principals: ["{principal}/frontend", "{principal}/frontend-canary"]', ["8080"]))
    docs.append(_policy(ns, "server-allow-batch", "server", "ALLOW", f'principals: ["{principal}/batch"]',
                        ["5201", "8080"]))
    docs.append(_policy(ns, "server-allow-client", "server", "ALLOW", f'principals: ["{principal}/client"]',
                        ["5201", "8080"]))
    return "".join(docs)


def intruder_yaml(ns):
    """A pod on the client's node with an identity no policy admits (proves enforcement)."""
    return f"""---
apiVersion: v1
kind: Pod
metadata:
  name: intruder
  namespace: {ns}
  labels: {{app: intruder}}
spec:
  nodeName: node1
  serviceAccountName: intruder
  containers:
  - name: client
    image: tools
    command: ["sleep", "infinity"]
"""


# The HTTP section (issue #13): in a cluster of its own, the mesh namespace's waypoint
# "waypoint" and two Services selecting the same server pod (nginx :8080), both bound to
# it: `web` declares its port HTTP (port name `http`: the waypoint parses HTTP/1.1 and
# routes each request by web's one-route HTTPRoute), `web-tcp` declares it TCP (port name
# `tcp`: the same waypoint relays the tunnel at L4). The client dials the Service VIPs.
WAYPOINT_NAME = "waypoint"
HTTP_SERVICE, TCP_SERVICE = "web", "web-tcp"


def waypoint_yaml(ns):
    return f"""---
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata:
  name: {WAYPOINT_NAME}
  namespace: {ns}
  labels: {{istio.io/waypoint-for: service}}
spec:
  gatewayClassName: istio-waypoint
  listeners:
  - name: mesh
    port: 15008
    protocol: HBONE
"""


def http_services_yaml(ns):
    docs = []
    for name, port_name in ((HTTP_SERVICE, "http"), (TCP_SERVICE, "tcp")):
        docs.append(f"""---
apiVersion: v1
kind: Service
metadata:
  name: {name}
  namespace: {ns}
  labels: {{istio.io/use-waypoint: {WAYPOINT_NAME}}}
spec:
  selector: {{app: server}}
  ports:
  - {{name: {port_name}, port: 8080, targetPort: 8080}}
""")
    # One route, as a user writes it: every path of web to web's own endpoints.
    docs.append(f"""---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata:
  name: {HTTP_SERVICE}-route
  namespace: {ns}
spec:
  parentRefs: [{{group: "", kind: Service, name: {HTTP_SERVICE}, port: 8080}}]
  rules:
  - matches: [{{path: {{type: PathPrefix, value: /}}}}]
    backendRefs: [{{name: {HTTP_SERVICE}, port: 8080}}]
""")
    return "".join(docs)


def middle_yaml(ns, node="node2"):
    """The pod the reference L7 proxies (nginx, HAProxy mode http) run in, between the
    client and the server pods, as the waypoint runs in a pod of its own."""
    return f"""---
apiVersion: v1
kind: Pod
metadata:
  name: middle
  namespace: {ns}
  labels: {{app: middle}}
spec:
  nodeName: {node}
  serviceAccountName: middle
  containers:
  - name: middle
    image: tools
    command: ["sleep", "infinity"]
"""
