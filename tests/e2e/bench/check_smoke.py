#!/usr/bin/python3
"""Checks a --smoke result of bench/harness/run.py and its generated report.

Usage: check_smoke.py RESULT.json REPORT.md PLOTS_DIR. Exits 1 listing every problem."""

import json
import os
import sys

PATHS = ["raw", "ambit", "haproxy", "stunnel"]


def main():
    result_path, report_path, plots = sys.argv[1:4]
    with open(result_path) as f:
        r = json.load(f)
    problems = []
    samples = r["samples"]

    def sample(workload, path):
        found = [s for s in samples if s["workload"] == workload and s["path"] == path]
        if not found:
            problems.append(f"no {workload} sample for {path}")
            return None
        return found[0]

    for s in samples:
        if s["errors"]:
            problems.append(f"{s['workload']} over {s['path']}: {s['errors']}")
    for path in PATHS:
        s = sample("throughput", path)
        if s and not s["metrics"].get("gbps", 0) > 0:
            problems.append(f"throughput over {path}: {s['metrics']}")
        for w in ("latency_c1", "latency_c16", "newconn"):
            s = sample(w, path)
            if s and not s["metrics"].get("requests", 0) > 0:
                problems.append(f"{w} over {path}: no requests ({s['metrics']})")
        if path != "raw":
            s = sample("cpu", path)
            if s and not (s["metrics"].get("requests", 0) > 0 and s["metrics"].get("cores_per_krps_hop", 0) > 0):
                problems.append(f"cpu over {path}: {s['metrics']}")
            s = sample("memory", path)
            if s and not s["metrics"].get("baseline_rss_mb_max", 0) > 0:
                problems.append(f"memory over {path}: {s['metrics']}")
    s = sample("newconn", "ambit")
    if s and s["metrics"].get("tls_handshakes_per_conn", 1) > 0.5:
        problems.append(f"Ambit new connections did not ride a warm HBONE pool: {s['metrics']}")
    for w in ("dns_forward", "dns_local"):
        for path in ("raw", "ambit"):
            s = sample(w, path)
            if s and not s["metrics"].get("qps", 0) > 0:
                problems.append(f"{w} over {path}: no answered queries ({s['metrics']})")
    s = sample("streams8", "ambit")
    if s and not s["metrics"].get("gbps", 0) > 0:
        problems.append(f"8 streams over ambit: {s['metrics']}")
    # The HTTP section (issue #13): the waypoint (L7 on and off) and the nginx / HAProxy L7 chains.
    for path in ("ambit-wp-http", "ambit-wp-tcp", "nginx-l7", "haproxy-l7"):
        for w in ("http_latency_c1", "http_rps"):
            s = sample(w, path)
            if s and not s["metrics"].get("requests", 0) > 0:
                problems.append(f"{w} over {path}: no requests ({s['metrics']})")
        s = sample("http_cpu", path)
        if s and not (s["metrics"].get("requests", 0) > 0 and s["metrics"].get("middle_cpu_us_per_req", 0) > 0):
            problems.append(f"http_cpu over {path}: {s['metrics']}")
        s = sample("http_memory", path)
        if s and "middle_kb_per_conn" not in s["metrics"]:
            problems.append(f"http_memory over {path}: {s['metrics']}")
    s = sample("http_rps", "ambit-wp-http")
    if s and s["metrics"].get("waypoint_tls_connections") != 1:
        problems.append(f"the waypoint did not serve the run over one downstream connection: {s['metrics']}")
    check = r.get("waypoint_check", {})
    for path in ("ambit-wp-http", "ambit-wp-tcp"):
        if path not in check:
            problems.append(f"no waypoint_check for {path} (L7 on/off not proven): {check}")
    for path in ("nginx-l7", "haproxy-l7"):
        if path not in r.get("mtls_check", {}):
            problems.append(f"no mtls_check for {path}")
    # A ratio is computed, or explicitly not meaningful (an added latency below raw's: noise in a 1 s run).
    ratio_keys = {(x["workload"], x["metric"], x["ours"], x["reference"]) for x in r["ratios"]
                  if x["ratio"] or x.get("note")}
    for key in [("throughput", "gbps", "ambit", "haproxy"), ("throughput", "gbps", "ambit", "stunnel"),
                ("latency_c1", "added_p99_us", "ambit", "haproxy"), ("newconn", "rps", "ambit", "haproxy-plain"),
                ("cpu", "cores_per_krps_hop", "ambit", "haproxy"), ("memory", "kb_per_conn", "ambit", "haproxy")]:
        if key not in ratio_keys:
            problems.append(f"ratio {key} missing")
    ids = {t["id"]: t for t in r["targets"]}
    for tid in ("throughput", "latency", "newconn", "memory-conn", "memory-baseline", "cpu", "spread", "http-cpu",
                "http-cpu-vs-best"):
        if tid not in ids or ids[tid]["status"] not in ("PASS", "FAIL", "N/A"):
            problems.append(f"target {tid} missing or without a status")
        elif tid not in ("spread", "latency") and ids[tid]["value"] is None:
            problems.append(f"target {tid} has no value")
    with open(report_path) as f:
        report = f.read()
    for heading in ("## At a glance", "## Method", "## Machine", "## Results per workload", "## Profile findings"):
        if heading not in report:
            problems.append(f"report lacks '{heading}'")
    for png in ("targets.png", "throughput.png", "latency_c1.png", "newconn.png", "cpu.png", "memory.png",
                "http_cpu.png", "http_rps.png"):
        p = os.path.join(plots, png)
        if not (os.path.exists(p) and os.path.getsize(p) > 1000):
            problems.append(f"plot {png} missing")
        elif f"{png})" not in report:
            problems.append(f"plot {png} not embedded in the report")
    if problems:
        print("FAIL:\n  " + "\n  ".join(problems), file=sys.stderr)
        return 1
    print(f"smoke result OK: {len(samples)} samples, {len(r['ratios'])} ratios, "
          f"targets {', '.join(t['id'] + '=' + t['status'] for t in r['targets'])}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
