"""From raw samples to medians, ratios (Ambit ÷ each reference) and the issue #5
targets. Pure functions over the JSON structures of run.py; no I/O.

A sample: {"round": r, "workload": w, "path": p, "metrics": {name: number}, "errors": [...], ...}.
"""

import statistics

# Path names, in display order.
PATH_LABELS = {
    "raw": "raw (no mesh)",
    "ambit": "Ambit (2 ztunnels, HBONE)",
    "ambit-w1": "Ambit, 1 worker per ztunnel",
    "ambit-full": "Ambit, full handshake per connection (--pool-max-streams 1)",
    "ambit-policy": "Ambit with 100 AuthorizationPolicies (5 apply to the server)",
    "haproxy-acl": "HAProxy mTLS chain with 100 ACL rules (the last admits)",
    "haproxy": "HAProxy mTLS chain",
    "haproxy-full": "HAProxy mTLS, full handshake (no-ssl-reuse)",
    "haproxy-plain": "HAProxy plain-TCP chain",
    "stunnel": "stunnel mTLS chain",
    "stunnel-full": "stunnel mTLS, full handshake (sessionResume = no)",
}

WORKLOAD_TITLES = {
    "throughput": "Single-stream throughput (iperf3)",
    "latency_c1": "Latency at one connection (wrk -t1 -c1)",
    "latency_c16": "Loaded latency (wrk -t1 -c16)",
    "newconn": "New connections per second, keep-alive off (hey -disable-keepalive -c8)",
    "cpu": "Proxy CPU per 1000 requests/s at a fixed rate (hey -c4 -q250, keep-alive)",
    "memory": "Memory: RSS per idle proxied connection and baseline RSS",
    "streams8": "8 parallel streams (iperf3 -P 8), 1 vs 2 ztunnel workers",
    "dns_forward": "DNS queries forwarded by ztunnel's proxy vs sent to the cluster DNS directly (dnsperf -c4 -q32)",
    "dns_local": "DNS: a Service name answered by ztunnel vs the same name from dnsmasq's table (dnsperf -c4 -q32)",
}

# (workload, metric, ours, reference, better) — every ratio is median(ours) ÷ median(reference).
RATIO_SPECS = [
    ("throughput", "gbps", "ambit", "haproxy", "higher"),
    ("throughput", "gbps", "ambit", "stunnel", "higher"),
    ("throughput", "gbps", "ambit", "haproxy-plain", "higher"),
    ("throughput", "gbps", "ambit", "raw", "higher"),
    ("throughput", "gbps_per_proxy_core", "ambit", "haproxy", "higher"),
    ("throughput", "gbps_per_proxy_core", "ambit", "stunnel", "higher"),
    ("latency_c1", "added_p50_us", "ambit", "haproxy", "lower"),
    ("latency_c1", "added_p99_us", "ambit", "haproxy", "lower"),
    ("latency_c1", "added_p50_us", "ambit", "stunnel", "lower"),
    ("latency_c1", "added_p99_us", "ambit", "stunnel", "lower"),
    ("latency_c16", "rps", "ambit", "haproxy", "higher"),
    ("latency_c16", "p99_us", "ambit", "haproxy", "lower"),
    ("latency_c16", "rps", "ambit", "stunnel", "higher"),
    ("latency_c16", "p99_us", "ambit", "stunnel", "lower"),
    ("newconn", "rps", "ambit", "haproxy-plain", "higher"),
    ("newconn", "rps", "ambit", "haproxy", "higher"),
    ("newconn", "rps", "ambit", "stunnel", "higher"),
    ("newconn", "rps", "ambit-w1", "haproxy-plain", "higher"),
    ("newconn", "proxy_cpu_ms_per_conn", "ambit", "ambit-w1", "lower"),
    ("newconn", "rps", "ambit-full", "haproxy-full", "higher"),
    # L4 policy: its cost on and off (same run), and beside HAProxy's ACLs.
    ("newconn", "rps", "ambit-policy", "ambit", "higher"),
    ("newconn", "rps", "haproxy-acl", "haproxy", "higher"),
    ("newconn", "rps", "ambit-policy", "haproxy-acl", "higher"),
    ("newconn", "proxy_cpu_ms_per_conn", "ambit-policy", "ambit", "lower"),
    ("newconn", "proxy_cpu_ms_per_conn", "haproxy-acl", "haproxy", "lower"),
    ("latency_c1", "p50_us", "ambit-policy", "ambit", "lower"),
    ("latency_c1", "p50_us", "haproxy-acl", "haproxy", "lower"),
    ("newconn", "rps", "ambit-full", "stunnel-full", "higher"),
    ("cpu", "cores_per_krps_hop", "ambit", "haproxy", "lower"),
    ("cpu", "cores_per_krps_hop", "ambit", "stunnel", "lower"),
    ("cpu", "cores_per_krps_hop", "ambit", "haproxy-plain", "lower"),
    ("cpu", "cores_per_krps_hop", "ambit-w1", "haproxy", "lower"),
    ("cpu", "cores_per_krps_hop", "ambit", "ambit-w1", "lower"),
    ("memory", "kb_per_conn", "ambit", "haproxy", "lower"),
    ("dns_forward", "qps", "ambit", "raw", "higher"),
    ("dns_forward", "avg_latency_us", "ambit", "raw", "lower"),
    ("dns_local", "qps", "ambit", "raw", "higher"),
    ("dns_local", "avg_latency_us", "ambit", "raw", "lower"),
    ("memory", "kb_per_conn", "ambit", "stunnel", "lower"),
    ("memory", "baseline_rss_mb_max", "ambit", "haproxy", "lower"),
    ("memory", "baseline_rss_mb_max", "ambit", "stunnel", "lower"),
    ("streams8", "gbps", "ambit", "ambit-w1", "higher"),
    ("streams8", "gbps", "ambit", "raw", "higher"),
]


def derive(samples):
    """Adds per-round "added" latency (path minus raw of the same round and workload)."""
    raw = {(s["round"], s["workload"]): s for s in samples if s["path"] == "raw"}
    for s in samples:
        if s["workload"] not in ("latency_c1", "latency_c16"):
            continue
        base = raw.get((s["round"], s["workload"]))
        if base is None:
            continue
        for pct in ("p50", "p99"):
            key = f"{pct}_us"
            if key in s["metrics"] and key in base["metrics"]:
                s["metrics"][f"added_{pct}_us"] = s["metrics"][key] - base["metrics"][key]
    return samples


def summarize(samples):
    """{workload: {path: {metric: {median, min, max, n, values}}}} over rounds."""
    grouped = {}
    for s in samples:
        for name, value in s["metrics"].items():
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                continue
            grouped.setdefault(s["workload"], {}).setdefault(s["path"], {}).setdefault(name, []).append(value)
    out = {}
    for w, paths in grouped.items():
        for p, metrics in paths.items():
            for name, values in metrics.items():
                out.setdefault(w, {}).setdefault(p, {})[name] = {
                    "median": statistics.median(values),
                    "min": min(values),
                    "max": max(values),
                    "n": len(values),
                    "values": values,
                }
    return out


def median_of(summary, workload, path, metric):
    try:
        return summary[workload][path][metric]["median"]
    except KeyError:
        return None


def ratios(summary):
    rows = []
    for workload, metric, ours, ref, better in RATIO_SPECS:
        a = median_of(summary, workload, ours, metric)
        b = median_of(summary, workload, ref, metric)
        if a is None or b is None:
            continue
        # A ratio of "added" figures only means something when both are above raw's:
        # on a noisy machine a reference's added p99 can come out negative.
        if b <= 0 or (metric.startswith("added_") and a < 0):
            value, note = None, "not meaningful: a median is not above zero (noise)"
        else:
            value, note = a / b, ""
        row = {"workload": workload, "metric": metric, "ours": ours, "reference": ref,
               "ours_median": a, "reference_median": b, "ratio": value, "better": better}
        if note:
            row["note"] = note
        rows.append(row)
    return rows


def _ratio(rows, workload, metric, ours, ref):
    for r in rows:
        if (r["workload"], r["metric"], r["ours"], r["reference"]) == (workload, metric, ours, ref):
            return r["ratio"]
    return None


def targets(summary, ratio_rows, spread):
    """The targets of issue #5, each PASS / FAIL / N/A with the measured value."""
    def check(tid, text, value, op, threshold, unit="", note=""):
        if value is None:
            status = "N/A"
        elif op == ">=":
            status = "PASS" if value >= threshold else "FAIL"
        else:
            status = "PASS" if value <= threshold else "FAIL"
        return {"id": tid, "text": text, "value": value, "op": op, "threshold": threshold,
                "unit": unit, "status": status, "note": note}

    out = [
        check("throughput", "Single-stream throughput ≥ 1.5× the HAProxy mTLS chain",
              _ratio(ratio_rows, "throughput", "gbps", "ambit", "haproxy"), ">=", 1.5, "×"),
        check("latency", "Added p99 latency at one connection ≤ 0.75× HAProxy's",
              _ratio(ratio_rows, "latency_c1", "added_p99_us", "ambit", "haproxy"), "<=", 0.75, "×"),
        check("newconn", "New connections over a warm HBONE pool ≥ 0.9× the plain-TCP HAProxy chain",
              _ratio(ratio_rows, "newconn", "rps", "ambit", "haproxy-plain"), ">=", 0.9, "×"),
        check("memory-conn", "Memory per idle proxied connection ≤ 16 KB (both ends together)",
              median_of(summary, "memory", "ambit", "kb_per_conn"), "<=", 16.0, " KB"),
        check("memory-baseline", "Baseline RSS ≤ 12 MB per ztunnel (the larger of the two)",
              median_of(summary, "memory", "ambit", "baseline_rss_mb_max"), "<=", 12.0, " MB"),
        check("cpu", "CPU per hop ≤ 0.06 cores per 1000 requests/s",
              median_of(summary, "cpu", "ambit", "cores_per_krps_hop"), "<=", 0.06, " cores"),
    ]
    if spread.get("available"):
        out.append(check("spread", "8 streams with 2 workers: largest worker's share of bytes ≤ 60% on each ztunnel",
                         spread.get("max_share"), "<=", 0.60, ""))
    else:
        out.append(check("spread", "8 streams with 2 workers: largest worker's share of bytes ≤ 60% on each ztunnel",
                         None, "<=", 0.60, "", spread.get("note", "")))
    return out


def worker_spread(samples):
    """Median (over rounds) of the largest per-worker byte share on either ztunnel,
    for the 2-worker Ambit path of the 8-stream workload."""
    shares = [s["metrics"]["max_worker_share"] for s in samples
              if s["workload"] == "streams8" and s["path"] == "ambit" and "max_worker_share" in s["metrics"]]
    if not shares:
        notes = [n for s in samples if s["workload"] == "streams8" and s["path"] == "ambit"
                 for n in s.get("notes", [])]
        return {"available": False,
                "note": notes[0] if notes else "no 8-stream Ambit sample with per-worker counters"}
    return {"available": True, "max_share": statistics.median(shares), "values": shares}


def raw_throughput_flags(samples, tolerance=0.25):
    """Rounds whose raw iperf3 fell more than |tolerance| below the median of all rounds."""
    raw = [s for s in samples if s["workload"] == "throughput" and s["path"] == "raw" and "gbps" in s["metrics"]]
    if not raw:
        return []
    med = statistics.median(s["metrics"]["gbps"] for s in raw)
    return [{"round": s["round"], "gbps": s["metrics"]["gbps"], "median": med,
             "text": f"round {s['round']}: raw iperf3 {s['metrics']['gbps']:.2f} Gbit/s is more than "
                     f"{int(tolerance * 100)}% below the median {med:.2f} Gbit/s (machine noise)"}
            for s in raw if s["metrics"]["gbps"] < (1 - tolerance) * med]
