"""From raw samples to medians, ratios (Ambit ÷ each reference) and the issue #5
targets. Pure functions over the JSON structures of run.py; no I/O.

A sample: {"round": r, "workload": w, "path": p, "metrics": {name: number}, "errors": [...], ...}.
"""

import json
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
    "ambit-wp-http": "Ambit waypoint, port declared HTTP (HTTP/1.1 parsed, one route)",
    "ambit-wp-tcp": "Ambit waypoint, port declared TCP (L4 relay)",
    "nginx-l7": "nginx as the L7 proxy (mTLS in, one route, mTLS out) between HAProxy sidecars",
    "haproxy-l7": "HAProxy mode http as the L7 proxy (mTLS in, one route, mTLS out) between HAProxy sidecars",
}

# The L7 references of the HTTP section; the target is the better of the two.
L7_REFERENCES = ("nginx-l7", "haproxy-l7")

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
    "http_cpu": "HTTP/1.1 keep-alive through an L7 proxy: CPU per request at 1000 req/s (hey -c4 -q250)",
    "http_latency_c1": "HTTP/1.1 through an L7 proxy: latency at one connection (wrk -t1 -c1)",
    "http_rps": "HTTP/1.1 through an L7 proxy: saturating load, one worker per proxy (wrk -t1 -c16)",
    "http_memory": "HTTP/1.1 through an L7 proxy: RSS per idle keep-alive connection (after one request each)",
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
    # HTTP (issue #13): the waypoint's L7 hop against nginx and HAProxy doing the same job,
    # and against itself relaying the same traffic at L4 (the L7 cost on ÷ off).
    ("http_cpu", "middle_cpu_us_per_req", "ambit-wp-http", "nginx-l7", "lower"),
    ("http_cpu", "middle_cpu_us_per_req", "ambit-wp-http", "haproxy-l7", "lower"),
    ("http_cpu", "middle_cpu_us_per_req", "ambit-wp-http", "ambit-wp-tcp", "lower"),
    ("http_cpu", "chain_cpu_us_per_req", "ambit-wp-http", "nginx-l7", "lower"),
    ("http_cpu", "chain_cpu_us_per_req", "ambit-wp-http", "haproxy-l7", "lower"),
    ("http_cpu", "chain_cpu_us_per_req", "ambit-wp-http", "ambit-wp-tcp", "lower"),
    ("http_latency_c1", "added_p99_us", "ambit-wp-http", "nginx-l7", "lower"),
    ("http_latency_c1", "added_p99_us", "ambit-wp-http", "haproxy-l7", "lower"),
    ("http_latency_c1", "added_p99_us", "ambit-wp-http", "ambit-wp-tcp", "lower"),
    ("http_rps", "middle_rps_per_core", "ambit-wp-http", "nginx-l7", "higher"),
    ("http_rps", "middle_rps_per_core", "ambit-wp-http", "haproxy-l7", "higher"),
    ("http_rps", "middle_rps_per_core", "ambit-wp-http", "ambit-wp-tcp", "higher"),
    ("http_rps", "rps", "ambit-wp-http", "nginx-l7", "higher"),
    ("http_rps", "rps", "ambit-wp-http", "haproxy-l7", "higher"),
    ("http_rps", "rps", "ambit-wp-http", "ambit-wp-tcp", "higher"),
    ("http_memory", "middle_kb_per_conn", "ambit-wp-http", "nginx-l7", "lower"),
    ("http_memory", "middle_kb_per_conn", "ambit-wp-http", "haproxy-l7", "lower"),
    ("http_memory", "middle_kb_per_conn", "ambit-wp-http", "ambit-wp-tcp", "lower"),
]

LATENCY_WORKLOADS = ("latency_c1", "latency_c16", "http_latency_c1")


def derive(samples):
    """Adds per-round "added" latency (path minus raw of the same round and workload)."""
    raw = {(s["round"], s["workload"]): s for s in samples if s["path"] == "raw"}
    for s in samples:
        if s["workload"] not in LATENCY_WORKLOADS:
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
    # HTTP (issue #13): the waypoint's own CPU per request, HBONE in and out, one route.
    wp_cpu = median_of(summary, "http_cpu", "ambit-wp-http", "middle_cpu_us_per_req")
    refs = [(ref, median_of(summary, "http_cpu", ref, "middle_cpu_us_per_req")) for ref in L7_REFERENCES]
    refs = [(ref, v) for ref, v in refs if v is not None and v > 0]
    best = min(refs, key=lambda x: x[1]) if refs else None
    out.append(check("http-cpu", "HTTP/1.1 through the waypoint (HBONE in and out, one route): "
                     "CPU per request ≤ 60 µs", wp_cpu, "<=", 60.0, " µs"))
    out.append(check("http-cpu-vs-best",
                     "Waypoint CPU per request ≤ the better of nginx and HAProxy doing the same job",
                     wp_cpu / best[1] if wp_cpu is not None and best else None, "<=", 1.0, "×",
                     f"the better reference: {best[0]} at {best[1]:.1f} µs" if best else ""))
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


def merge_results(base, extra, extra_name):
    """|base| (a run.py result) with the workloads of |extra| that |base| did not run: their
    samples, summary, ratios and paths, and |extra|'s value for every target |base| could
    not compute (N/A). For a report over two runs, e.g. the HTTP section measured on its
    own; each merged workload remembers its run in `sources`."""
    out = json.loads(json.dumps(base))
    moved = [w for w in extra.get("summary", {}) if w not in base.get("summary", {})]
    sources = out.setdefault("sources", {})
    for w in moved:
        sources[w] = {"name": extra_name, "started": extra.get("started"), "rounds": extra["config"]["rounds"],
                      "git_commit": extra.get("machine", {}).get("git_commit", ""), "config": extra["config"]}
        out["summary"][w] = extra["summary"][w]
        out["workload_paths"][w] = extra["workload_paths"].get(w, list(extra["summary"][w]))
        for p in out["workload_paths"][w]:
            if p in extra.get("paths", {}):
                out["paths"].setdefault(p, extra["paths"][p])
    out["samples"] = out["samples"] + [s for s in extra["samples"] if s["workload"] in moved]
    out["ratios"] = out["ratios"] + [r for r in extra["ratios"] if r["workload"] in moved]
    theirs = {t["id"]: t for t in extra.get("targets", [])}
    merged, seen = [], set()
    for t in out["targets"]:
        seen.add(t["id"])
        other = theirs.get(t["id"])
        merged.append(dict(other, source=extra_name) if t["value"] is None and other and other["value"] is not None
                      else t)
    merged += [dict(t, source=extra_name) for tid, t in theirs.items() if tid not in seen]
    out["targets"] = merged
    for key in ("mtls_check", "waypoint_check", "l7_idle_cores"):
        for k, v in extra.get(key, {}).items():
            out.setdefault(key, {}).setdefault(k, v)
    out["notes"] = out.get("notes", []) + [f"{extra_name}: {n}" for n in extra.get("notes", [])]
    return out
