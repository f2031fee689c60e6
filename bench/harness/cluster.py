"""One local Ambit cluster driven through build/bin/ambitctl (docs/local-cluster.md).

A Cluster owns exactly the cluster named `name`: `down()` removes it (namespaces,
processes, state directory) whether or not `up()` finished. Not thread-safe.
"""

import json
import os
import subprocess
import time


class ClusterError(RuntimeError):
    pass


class Cluster:
    def __init__(self, name, bin_dir, work_dir, log):
        self.name = name
        self.bin_dir = bin_dir
        self.ctl_path = os.path.join(bin_dir, "ambitctl")
        self.work_dir = work_dir
        self.log = log
        self.state_dir = os.path.join(os.environ.get("AMBIT_STATE_ROOT", "/var/lib/ambit"), name)
        self.created = False
        self.ztunnel_args = []

    def ctl(self, *args, timeout=180, check=True):
        argv = [self.ctl_path, "--cluster", self.name, *args]
        r = subprocess.run(argv, capture_output=True, text=True, timeout=timeout)
        if check and r.returncode != 0:
            raise ClusterError(f"{' '.join(argv)}: exit {r.returncode}: {r.stderr.strip()}")
        return r.stdout

    def up(self, nodes=2, ztunnel_args=()):
        self.created = True  # from here on, down() must run even if up fails half-way
        self.ztunnel_args = list(ztunnel_args)
        args = ["cluster", "up", "--nodes", str(nodes)]
        args += [f"--ztunnel-arg={a}" for a in ztunnel_args]
        t0 = time.monotonic()
        self.ctl(*args)
        self.log(f"cluster {self.name} up ({time.monotonic() - t0:.1f} s, ztunnel args {list(ztunnel_args)})")

    def down(self):
        if not self.created:
            return
        r = subprocess.run([self.ctl_path, "--cluster", self.name, "cluster", "down"],
                           capture_output=True, text=True, timeout=120)
        if r.returncode != 0 and "does not exist" not in r.stderr:
            self.log(f"cluster {self.name} down: {r.stderr.strip()}")
        else:
            self.log(f"cluster {self.name} down")
        self.created = False

    def apply(self, yaml_text, tag, timeout=120):
        path = os.path.join(self.work_dir, f"{self.name}-{tag}.yaml")
        with open(path, "w") as f:
            f.write(yaml_text)
        self.ctl("apply", "-f", path, "--wait", "--timeout", str(timeout), timeout=timeout + 30)

    def pods(self, ns):
        return json.loads(self.ctl("get", "pods", "-n", ns, "-o", "json"))

    def pod(self, ns, name):
        for p in self.pods(ns):
            if p["name"] == name:
                return p
        raise ClusterError(f"{self.name}: no pod {ns}/{name}")

    def node_netns(self, node):
        return f"ambit-{self.name}-{node}"

    def ztunnel_status(self, node):
        path = os.path.join(self.state_dir, "nodes", node, "ztunnel", "ztunnel.status")
        try:
            with open(path) as f:
                return json.load(f)
        except (OSError, ValueError):
            return None

    def ztunnel_pid(self, node):
        status = self.ztunnel_status(node)
        if not status or status.get("state") != "running" or not status.get("pid"):
            raise ClusterError(f"{self.name}: ztunnel of {node} is not running ({status})")
        return int(status["pid"])

    def ztunnel_log(self, node):
        return os.path.join(self.state_dir, "nodes", node, "ztunnel.log")

    def in_node(self, node, argv, timeout=20):
        return subprocess.run(["ip", "netns", "exec", self.node_netns(node), *argv],
                              capture_output=True, text=True, timeout=timeout)

    def config_dump(self, node):
        r = self.in_node(node, ["curl", "-sS", "--max-time", "5", "http://127.0.0.1:15000/config_dump"])
        if r.returncode != 0:
            raise ClusterError(f"{self.name}: config_dump of {node}: {r.stderr.strip()}")
        return json.loads(r.stdout)

    def ztunnel_ready(self, node):
        r = self.in_node(node, ["curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", "--max-time", "2",
                                "http://127.0.0.1:15021/healthz/ready"])
        return r.stdout.strip() == "200"

    def ztunnel_help(self):
        r = subprocess.run([os.path.join(self.bin_dir, "ztunnel"), "--help"],
                           capture_output=True, text=True, timeout=10)
        return r.stdout + r.stderr

    def wait(self, what, predicate, timeout=60, interval=0.2):
        deadline = time.monotonic() + timeout
        last_error = None
        while time.monotonic() < deadline:
            try:
                if predicate():
                    return
            except Exception as e:  # e.g. a file not written yet
                last_error = e
            time.sleep(interval)
        raise ClusterError(f"{self.name}: {what} not within {timeout} s ({last_error})")
