#!/usr/bin/python3
"""Writes docs/performance.md and its PNG plots from a `make bench` result JSON.

Usage: report.py RESULT.json [--out docs/performance.md] [--plots docs/performance]
                 [--notes bench/notes.md]

Everything in the document is generated from the JSON except the "Profile
findings" section, copied verbatim from --notes, so hand-written analysis
survives regeneration. Needs matplotlib (Debian python3-matplotlib): run as
/usr/bin/python3.
"""

import argparse
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import matplotlib  # noqa: E402

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

import stats  # noqa: E402

AMBIT_COLOR = "#1f6feb"
REF_COLOR = "#8c959f"
RAW_COLOR = "#2da44e"

# Per workload: (metric, column title, format, plotted?)
COLUMNS = {
    "throughput": [("gbps", "Gbit/s", "{:.2f}", True), ("proxy_cores", "proxy cores (pair)", "{:.2f}", False),
                   ("gbps_per_proxy_core", "Gbit/s per proxy core", "{:.2f}", True),
                   ("retransmits", "retransmits", "{:.0f}", False),
                   ("machine_busy", "machine busy (all CPUs)", "{:.2f}", False)],
    "latency_c1": [("rps", "req/s", "{:.0f}", False), ("p50_us", "p50 µs", "{:.0f}", False),
                   ("p99_us", "p99 µs", "{:.0f}", False), ("added_p50_us", "added p50 µs", "{:.0f}", True),
                   ("added_p99_us", "added p99 µs", "{:.0f}", True)],
    "latency_c16": [("rps", "req/s", "{:.0f}", True), ("p50_us", "p50 µs", "{:.0f}", False),
                    ("p99_us", "p99 µs", "{:.0f}", True), ("added_p99_us", "added p99 µs", "{:.0f}", False)],
    "newconn": [("rps", "connections/s", "{:.0f}", True), ("p50_us", "p50 µs", "{:.0f}", False),
                ("p99_us", "p99 µs", "{:.0f}", False), ("proxy_cores", "proxy cores (pair)", "{:.2f}", False),
                ("proxy_cpu_ms_per_conn", "proxy CPU ms per conn", "{:.2f}", False),
                ("tls_handshakes_per_conn", "TLS handshakes per conn (ztunnel)", "{:.2f}", False)],
    "cpu": [("rps", "req/s", "{:.0f}", False), ("proxy_cores", "proxy cores (pair)", "{:.3f}", False),
            ("cores_per_krps_hop", "cores per 1000 req/s per hop", "{:.3f}", True),
            ("p50_us", "p50 µs", "{:.0f}", False), ("p99_us", "p99 µs", "{:.0f}", False)],
    "memory": [("kb_per_conn", "KB per idle connection (both ends)", "{:.1f}", True),
               ("baseline_rss_mb_max", "baseline RSS MB (larger process)", "{:.1f}", True),
               ("baseline_rss_mb_mean", "baseline RSS MB (mean)", "{:.1f}", False)],
    "streams8": [("gbps", "Gbit/s", "{:.2f}", True), ("proxy_cores", "proxy cores (pair)", "{:.2f}", False),
                 ("max_worker_share", "largest worker share", "{:.2f}", False)],
    "dns_forward": [("qps", "queries/s", "{:.0f}", True), ("avg_latency_us", "avg latency µs", "{:.0f}", True),
                    ("max_latency_us", "max latency µs", "{:.0f}", False),
                    ("proxy_cores", "ztunnel cores (pair)", "{:.2f}", False),
                    ("proxy_cpu_us_per_query", "ztunnel CPU µs per query", "{:.1f}", False)],
    "dns_local": [("qps", "queries/s", "{:.0f}", True), ("avg_latency_us", "avg latency µs", "{:.0f}", True),
                  ("max_latency_us", "max latency µs", "{:.0f}", False),
                  ("proxy_cores", "ztunnel cores (pair)", "{:.2f}", False),
                  ("proxy_cpu_us_per_query", "ztunnel CPU µs per query", "{:.1f}", False)],
    "http_cpu": [("rps", "req/s", "{:.0f}", False),
                 ("middle_cpu_us_per_req", "L7 hop CPU µs per request", "{:.1f}", True),
                 ("middle_user_share", "L7 hop user-space share", "{:.2f}", False),
                 ("middle_tick_cpu_us_per_req", "L7 hop µs per request from utime+stime", "{:.1f}", False),
                 ("chain_cpu_us_per_req", "whole chain CPU µs per request", "{:.1f}", True),
                 ("p50_us", "p50 µs", "{:.0f}", False), ("p99_us", "p99 µs", "{:.0f}", False)],
    "http_latency_c1": [("rps", "req/s", "{:.0f}", False), ("p50_us", "p50 µs", "{:.0f}", False),
                        ("p99_us", "p99 µs", "{:.0f}", False), ("added_p50_us", "added p50 µs", "{:.0f}", True),
                        ("added_p99_us", "added p99 µs", "{:.0f}", True)],
    "http_rps": [("rps", "req/s", "{:.0f}", True),
                 ("middle_cores", "L7 hop cores", "{:.2f}", False),
                 ("middle_cpu_us_per_req_sat", "L7 hop CPU µs per request", "{:.1f}", False),
                 ("middle_rps_per_core", "L7 hop req per CPU-second (one worker)", "{:.0f}", True),
                 ("p99_us", "p99 µs", "{:.0f}", False),
                 ("waypoint_tls_connections", "waypoint downstream TLS connections", "{:.0f}", False)],
    "http_memory": [("middle_kb_per_conn", "L7 hop KB per idle connection", "{:.1f}", True),
                    ("middle_rss_before_kb", "L7 hop RSS before, KB (fresh process)", "{:.0f}", False),
                    ("waypoint_tls_connections", "waypoint downstream TLS connections", "{:.0f}", False)],
}

METRIC_NAMES = {m: title for cols in COLUMNS.values() for m, title, _, _ in cols}


def cell(stat, fmt, show_spread):
    if stat is None:
        return "–"
    text = fmt.format(stat["median"])
    if show_spread and stat["n"] > 1:
        text += f" ({fmt.format(stat['min'])}–{fmt.format(stat['max'])})"
    return text


def color_for(path):
    if path.startswith("ambit"):
        return AMBIT_COLOR
    return RAW_COLOR if path == "raw" else REF_COLOR


def plot_workload(result, workload, plots_dir):
    summary = result["summary"].get(workload, {})
    metrics = [(m, title) for m, title, _, plotted in COLUMNS[workload] if plotted]
    paths = [p for p in result["workload_paths"][workload] if p in summary]
    metrics = [(m, t) for m, t in metrics if any(m in summary[p] for p in paths)]
    if not paths or not metrics:
        return None
    fig, axes = plt.subplots(1, len(metrics), figsize=(5.2 * len(metrics), 0.45 * len(paths) + 1.4),
                             squeeze=False)
    for ax, (metric, title) in zip(axes[0], metrics):
        rows = [p for p in paths if metric in summary[p]]
        med = [summary[p][metric]["median"] for p in rows]
        lo = [summary[p][metric]["median"] - summary[p][metric]["min"] for p in rows]
        hi = [summary[p][metric]["max"] - summary[p][metric]["median"] for p in rows]
        y = range(len(rows))
        ax.barh(list(y), med, xerr=[lo, hi], color=[color_for(p) for p in rows], capsize=3)
        ax.set_yticks(list(y))
        ax.set_yticklabels(rows)
        ax.invert_yaxis()
        ax.set_title(title, fontsize=10)
        ax.grid(axis="x", alpha=0.3)
        for i, v in enumerate(med):
            ax.text(v, i, f" {v:.3g}", va="center", fontsize=8)
    fig.suptitle(stats.WORKLOAD_TITLES[workload], fontsize=11)
    fig.tight_layout()
    name = f"{workload}.png"
    fig.savefig(os.path.join(plots_dir, name), dpi=90)
    plt.close(fig)
    return name


def plot_targets(result, plots_dir):
    """Ratio-style view of every target: measured ÷ threshold (< 1 is good for '<=' targets)."""
    rows = [t for t in result["targets"] if t["value"] is not None]
    if not rows:
        return None
    fig, ax = plt.subplots(figsize=(8, 0.5 * len(rows) + 1.2))
    values, colors, labels = [], [], []
    for t in rows:
        # Normalised so that 1.0 is the target and right of 1.0 is better.
        score = t["value"] / t["threshold"] if t["op"] == ">=" else t["threshold"] / t["value"] if t["value"] else 0
        values.append(score)
        colors.append("#2da44e" if t["status"] == "PASS" else "#cf222e")
        labels.append(t["id"])
    y = list(range(len(rows)))
    ax.barh(y, values, color=colors)
    ax.axvline(1.0, color="black", linestyle="--", linewidth=1)
    ax.set_yticks(y)
    ax.set_yticklabels(labels)
    ax.invert_yaxis()
    ax.set_xlabel("measured relative to target (≥ 1 meets it)")
    for i, v in enumerate(values):
        ax.text(v, i, f" {v:.2f}", va="center", fontsize=8)
    ax.set_title("Targets of issues #5 and #13 (green: met, red: not met)", fontsize=11)
    fig.tight_layout()
    name = "targets.png"
    fig.savefig(os.path.join(plots_dir, name), dpi=90)
    plt.close(fig)
    return name


# The at-a-glance chart: (label, workload, metric, ours)
OVERVIEW = [
    ("throughput", "throughput", "gbps", "ambit"),
    ("throughput per proxy core", "throughput", "gbps_per_proxy_core", "ambit"),
    ("added p50 latency, c=1", "latency_c1", "added_p50_us", "ambit"),
    ("added p99 latency, c=1", "latency_c1", "added_p99_us", "ambit"),
    ("req/s at c=16", "latency_c16", "rps", "ambit"),
    ("p99 at c=16", "latency_c16", "p99_us", "ambit"),
    ("new connections/s", "newconn", "rps", "ambit"),
    ("new conn/s, full handshake", "newconn", "rps", "ambit-full"),
    ("CPU per 1000 req/s", "cpu", "cores_per_krps_hop", "ambit"),
    ("RSS per idle connection", "memory", "kb_per_conn", "ambit"),
    ("baseline RSS", "memory", "baseline_rss_mb_max", "ambit"),
]


def plot_overview(result, plots_dir):
    """Ambit's advantage over each mTLS reference per metric: >1 means Ambit is better
    (the ratio for higher-is-better metrics, its inverse for lower-is-better ones)."""
    refs = {"ambit": ("haproxy", "stunnel"), "ambit-full": ("haproxy-full", "stunnel-full")}
    index = {(r["workload"], r["metric"], r["ours"], r["reference"]): r for r in result["ratios"]}
    labels, bars = [], {0: [], 1: []}
    for label, workload, metric, ours in OVERVIEW:
        row = []
        for i, ref in enumerate(refs[ours]):
            r = index.get((workload, metric, ours, ref))
            if r is None or not r["ratio"] or r["ratio"] <= 0:
                row.append(None)
            else:
                row.append(r["ratio"] if r["better"] == "higher" else 1 / r["ratio"])
        if any(v is not None for v in row):
            labels.append(label)
            bars[0].append(row[0])
            bars[1].append(row[1])
    if not labels:
        return None
    fig, ax = plt.subplots(figsize=(8.5, 0.45 * len(labels) + 1.6))
    y = list(range(len(labels)))
    for i, (name, color) in enumerate((("vs HAProxy", "#8250df"), ("vs stunnel", "#bf8700"))):
        vals = [v if v is not None else 1.0 for v in bars[i]]
        pos = [v + (i - 0.5) * 0.38 for v in y]
        # Bars start at 1 (parity): right of it Ambit is better, left of it worse.
        ax.barh(pos, [v - 1.0 for v in vals], left=1.0, height=0.36, color=color, label=name)
        for p_, v in zip(pos, bars[i]):
            if v is not None:
                ax.text(v, p_, f" {v:.2f}×", va="center", fontsize=7)
    ax.axvline(1.0, color="black", linestyle="--", linewidth=1)
    ax.set_xscale("log")
    ax.set_yticks(y)
    ax.set_yticklabels(labels)
    ax.invert_yaxis()
    ax.set_xlabel("Ambit's advantage (> 1: Ambit better; log scale)")
    ax.legend(loc="lower right", fontsize=8)
    ax.set_title("Ambit against the sidecar-model mTLS chains, same run", fontsize=11)
    fig.tight_layout()
    name = "overview.png"
    fig.savefig(os.path.join(plots_dir, name), dpi=90)
    plt.close(fig)
    return name


def fmt_value(v, unit=""):
    if v is None:
        return "n/a"
    if abs(v) >= 100:
        return f"{v:.0f}{unit}"
    return f"{v:.3g}{unit}"


def micro_rows(micro):
    """(binary, benchmark, median cpu time, median real time, unit, bytes/s) of a
    scripts/microbench.sh JSON, medians only, in file order."""
    rows = []
    for binary, data in micro.get("binaries", {}).items():
        for b in data.get("benchmarks", []):
            if b.get("aggregate_name") != "median":
                continue
            rate = b.get("bytes_per_second")
            rows.append((binary, b["run_name"], b["cpu_time"], b["real_time"], b.get("time_unit", "ns"), rate))
    return rows


def fmt_duration(value, unit):
    ns = value * {"ns": 1, "us": 1e3, "ms": 1e6, "s": 1e9}.get(unit, 1)
    if ns < 1e3:
        return f"{ns:.0f} ns"
    if ns < 1e6:
        return f"{ns / 1e3:.2f} µs"
    return f"{ns / 1e6:.2f} ms"


def generate(result, out_md, plots_dir, notes_path, source_name, micro=None, micro_name=None):
    os.makedirs(plots_dir, exist_ok=True)
    rel_plots = os.path.relpath(plots_dir, os.path.dirname(os.path.abspath(out_md)))
    m = result["machine"]
    cfg = result["config"]
    show_spread = cfg["rounds"] > 1
    lines = []
    w = lines.append
    w("# Performance: Ambit against HAProxy, stunnel, nginx and the raw limit")
    w("")
    w(f"Generated by `make bench` (`bench/harness/report.py`) from `{source_name}` (run started "
      f"{result['started']}, {result['duration_s']:.0f} s, {cfg['rounds']} interleaved round(s)"
      f"{', SMOKE run' if cfg.get('smoke') else ''}). Do not edit by hand: only the *Profile findings* "
      "section is hand-written, in `bench/notes.md`.")
    w("")
    w("## At a glance: the targets of issues #5 (L4) and #13 (HTTP)")
    w("")
    by_run = {}
    for workload, src in sorted(result.get("sources", {}).items()):
        by_run.setdefault(src["name"], (src, []))[1].append(workload)
    for name, (src, workloads) in by_run.items():
        w(f"Workloads {', '.join(f'`{x}`' for x in workloads)} come from a separate run, `{name}` (started "
          f"{src['started']}, {src['rounds']} round(s), commit `{src['git_commit']}`); the targets it "
          "measured are marked *(from …)*.")
        w("")
    w("| target | measured (median) | goal | status |")
    w("|---|---|---|---|")
    for t in result["targets"]:
        note = f" — {t['note']}" if t.get("note") else ""
        if t.get("source"):
            note += f" *(from `{t['source']}`)*"
        w(f"| {t['text']} | {fmt_value(t['value'], t['unit'])} | {t['op']} {t['threshold']:g}{t['unit']} | "
          f"**{t['status']}**{note} |")
    w("")
    if any(t["status"] == "FAIL" for t in result["targets"]):
        w("Targets not met: their measured causes are summarised under *Profile findings*, "
          "*Remaining gaps and their measured causes*, below.")
        w("")
    targets_png = plot_targets(result, plots_dir)
    overview_png = plot_overview(result, plots_dir)
    if targets_png:
        w(f"![targets]({rel_plots}/{targets_png})")
        w("")
    if overview_png:
        w(f"![overview]({rel_plots}/{overview_png})")
        w("")
    w("Ambit ÷ each reference (medians of the same run; *better* says which direction is good):")
    w("")
    w("| workload | metric | Ambit path | reference | Ambit | reference | ratio | better |")
    w("|---|---|---|---|---|---|---|---|")
    for r in result["ratios"]:
        good = (r["ratio"] is not None and
                ((r["better"] == "higher" and r["ratio"] >= 1) or (r["better"] == "lower" and r["ratio"] <= 1)))
        w(f"| {r['workload']} | {METRIC_NAMES.get(r['metric'], r['metric'])} | {r['ours']} | {r['reference']} | "
          f"{fmt_value(r['ours_median'])} | {fmt_value(r['reference_median'])} | "
          f"{'**' if good else ''}{fmt_value(r['ratio'])}{'×' if r['ratio'] is not None else ''}"
          f"{'**' if good else ''}{' (' + r['note'] + ')' if r.get('note') else ''} | {r['better']} |")
    w("")
    if result["flags"] or result["notes"]:
        w("**Flags and notes for this run:**")
        w("")
        for f in result["flags"]:
            w(f"- FLAG: {f['text']}")
        for n in result["notes"]:
            w(f"- {n}")
        errs = [s for s in result["samples"] if s["errors"]]
        for s in errs:
            w(f"- errors in round {s['round']}, {s['workload']} over {s['path']}: {'; '.join(s['errors'])}")
        w("")

    w("## Method")
    w("")
    w("One `make bench` run brings up local Ambit clusters (`ambitctl cluster up --nodes 2`, "
      "docs/local-cluster.md) and measures every path between a client pod on node1 and a server pod on "
      "node2. The server pod runs the same backends for every path: `iperf3 -s` and nginx (1 worker, a "
      "10-byte file, `access_log off`). The load generators run in the client pod's network namespace.")
    w("")
    w("| path | what it is |")
    w("|---|---|")
    descriptions = {
        "raw": "namespace not enrolled: pod IP to pod IP over the node bridge and fabric, no proxy",
        "ambit": "namespace labelled `istio.io/dataplane-mode=ambient`: client → ztunnel (node1) ==HBONE "
                 "(HTTP/2 CONNECT over mTLS 1.3)==> ztunnel (node2) → server; ztunnels with `--workers=2`",
        "ambit-w1": "the same in a second cluster whose ztunnels run `--workers=1` (8-stream workload only)",
        "ambit-full": "a third cluster with `--pool-max-streams=1`: a TLS connection (full handshake) per "
                      "app connection",
        "haproxy": "the sidecar model: haproxy in the client pod (127.0.0.1) ==mTLS 1.3==> haproxy in the server "
                   "pod → backend; `mode tcp`, ECDSA P-256, `verify required` both ways, session resumption on",
        "haproxy-full": "the same haproxy processes, client side with `no-ssl-reuse` (a full handshake per "
                        "connection)",
        "haproxy-plain": "the same haproxy processes, plain TCP (the control)",
        "stunnel": "stunnel in each pod, `sslVersionMin = TLSv1.3`, `verifyChain`, `requireCert`, "
                   "`TCP_NODELAY` both sides",
        "stunnel-full": "the same stunnel processes, a service with `sessionResume = no` on both ends",
        "ambit-wp-http": "a cluster of its own (ztunnels `--workers=1`): client → ztunnel (node1) ==HBONE==> "
                         "waypoint (Gateway `istio-waypoint`; Service `web`, port named `http`: HTTP/1.1 parsed, "
                         "one HTTPRoute `PathPrefix /`, x-forwarded-for, x-request-id, …) ==HBONE==> ztunnel "
                         "(node2) → nginx; the client dials web's VIP",
        "ambit-wp-tcp": "the same waypoint and server pod through Service `web-tcp` (port named `tcp`): the "
                        "waypoint relays the tunnel at L4 (the L7 cost off, same run)",
        "nginx-l7": "client → HAProxy `mode tcp` sidecar (mTLS out) ==mTLS 1.3==> nginx in a pod of its own "
                    "(`ssl_verify_client on`, one `location /`, x-forwarded-for and x-request-id set, "
                    "`proxy_ssl_verify on` with a client certificate, upstream `keepalive`, 1 worker) "
                    "==mTLS 1.3==> HAProxy `mode tcp` sidecar → nginx",
        "haproxy-l7": "the same chain with HAProxy `mode http` as the middle (`verify required` both ways, one "
                      "`use_backend … if { path_beg / }`, `option forwardfor`, x-request-id from `unique-id`, "
                      "`http-reuse always`, `nbthread 1`)",
    }
    for p in result["paths"]:
        w(f"| `{p}` | {descriptions.get(p, result['paths'][p])} |")
    w("")
    w("Workloads (each round runs every workload over its paths one after the other, then the next "
      "workload; medians over rounds, spread as min–max in parentheses):")
    w("")
    w(f"- **throughput**: `iperf3 -c … -t {cfg['throughput_seconds']} -J`, one stream.")
    w(f"- **latency**: `wrk -t1 -c1` and `-c16 -d{cfg['latency_seconds']}s --latency`, keep-alive; "
      "*added* = the path's percentile minus raw's in the same round.")
    w(f"- **new connections**: `hey -z {cfg['newconn_seconds']}s -c 8 -disable-keepalive`; for Ambit the "
      "ztunnel counters give TLS handshakes per app connection (0 = warm HBONE pool).")
    w(f"- **CPU per 1000 req/s**: `hey -z {cfg['cpu_seconds']}s -c 4 -q 250` (≈ 1000 req/s, keep-alive); "
      "proxy CPU = utime + stime from `/proc/<pid>/stat` of every proxy process of the path (both ztunnels, "
      "both haproxys, both stunnels) over wall time; *per hop* = the pair ÷ 2.")
    w(f"- **memory**: proxies restarted fresh (ztunnels killed and restarted by their supervisor), baseline "
      f"VmRSS per process; one warm-up request; then {cfg['idle_conns']} idle connections to nginx through "
      "the path (`bench/harness/idle_conns.py` in the client pod), held until the server pod shows them "
      f"all established plus {cfg['idle_settle']} s; KB per connection = growth of the summed VmRSS of "
      "both ends ÷ connections.")
    w(f"- **8 streams**: `iperf3 -P 8 -t {cfg['streams_seconds']}` through Ambit with 2 and with 1 ztunnel "
      "worker(s); the per-worker byte spread comes from both ztunnels' `/config_dump` `workers` array.")
    if any(w_ in result["summary"] for w_ in ("http_cpu", "http_latency_c1", "http_rps", "http_memory")):
        # The HTTP section's own run settings when it was merged from another run.
        hcfg = result.get("sources", {}).get("http_cpu", {}).get("config", cfg)
        w("- **HTTP (issue #13)**, over the waypoint paths and the nginx / HAProxy L7 chains "
          "(`bench/harness/l7proxies.py`): the *L7 hop* is the waypoint process, or the middle nginx "
          "(master and worker) / HAProxy; the *whole chain* adds both ztunnels, or both HAProxy sidecars.")
        w(f"  - **CPU per request**: `hey -z {hcfg['cpu_seconds']}s -c 4 -q 250` (≈ 1000 req/s, keep-alive); "
          "CPU time over the run ÷ requests answered 2xx, the CPU time being the scheduler's run time of "
          "every thread (`/proc/<pid>/task/*/schedstat`, exact to the ns; the tick-sampled utime + stime "
          "that the L4 workloads use is kept beside it in the JSON, and the user-space share is "
          "utime ÷ (utime + stime)). "
          "Target: the waypoint ≤ 60 µs and ≤ the better of nginx and HAProxy.")
        w(f"  - **added p99 at one connection**: `wrk -t1 -c1 -d{hcfg['latency_seconds']}s --latency`, minus "
          "raw's percentile in the same round.")
        w(f"  - **requests/s on one worker**: `wrk -t1 -c16 -d{hcfg['latency_seconds']}s`. Every proxy runs one "
          "worker, but on this machine the load generator, three proxies and nginx share the CPUs, so the "
          "chain's req/s is not one proxy's limit; *L7 hop req per CPU-second* = requests ÷ the L7 hop's CPU "
          "seconds is what its one worker serves when it is the bottleneck.")
        w(f"  - **memory per idle HTTP connection**: {hcfg.get('http_idle_conns', hcfg['idle_conns'])} keep-alive "
          "connections (at most ztunnel's 100 streams per pooled HBONE connection, so the waypoint keeps "
          "one downstream connection for the rounds that follow), one `GET /` "
          "each (`idle_conns.py … req`), held idle; VmRSS growth of the L7 hop ÷ connections, after "
          f"{hcfg['idle_settle']} s. The L7 hop is started fresh before each sample (nginx and HAProxy "
          "restarted, the waypoint killed and restarted by its pod's supervisor): an allocator keeps freed "
          "memory, so a process that held connections before would grow less.")
        idle = result.get("l7_idle_cores", {})
        if idle:
            w("  - L7 hops with no traffic (2 s before the rounds): " +
              ", ".join(f"`{k}` {v * 1e3:.1f} ms CPU per second" for k, v in idle.items()) +
              " (at 1000 req/s, 1 ms per second is 1 µs per request).")
        for name, verdict in result.get("waypoint_check", {}).items():
            w(f"  - checked at setup, {name}: {verdict}.")
    w("")
    for kind, verdict in result.get("mtls_check", {}).items():
        w(f"Checked at setup: the {kind} chain's server side, `openssl s_client` without a certificate: {verdict}.")
        w("")
    w("In each client pod's own network namespace the harness widens the ephemeral port range "
      "(16000–65000) and sets `tcp_tw_reuse=1` so keep-alive-off runs do not run out of ports; "
      "the same for every path.")
    w("")
    w("Proxy CPU and machine busy fraction are sampled around every run. Every process the harness starts is "
      "stopped by its PID; the clusters are removed at the end, pass or fail.")
    w("")
    w("## Machine")
    w("")
    w("| fact | value |")
    w("|---|---|")
    w(f"| CPUs (nproc) | {m['nproc']} |")
    w(f"| CPU model | {m['cpu_model']} |")
    w(f"| kernel | {m['kernel']} |")
    w(f"| memory | {m['memory_gib']} GiB |")
    w(f"| load average at start | {', '.join(f'{x:.2f}' for x in m['loadavg_at_start'])} |")
    w(f"| idle CPUs | {m.get('idle_cpus') or 'halt (not recorded)'} |")
    w(f"| kTLS available | {'yes' if m['ktls_available'] else 'no (every TLS figure is userspace TLS)'} |")
    w(f"| Ambit commit | `{m['git_commit']}` |")
    for tool, version in m["versions"].items():
        w(f"| {tool} | {version} |")
    w("")
    w("The load generators, the backends and the proxies share the same CPUs: absolute figures are "
      "CPU-bound and noisy on a small machine; compare the ratios and the CPU-per-unit figures.")
    w("")
    w("## Results per workload")
    w("")
    for workload, title in stats.WORKLOAD_TITLES.items():
        summary = result["summary"].get(workload)
        if not summary:
            continue
        w(f"### {title}")
        w("")
        src = result.get("sources", {}).get(workload)
        if src:
            w(f"*(measured in `{src['name']}`, started {src['started']}, {src['rounds']} round(s))*")
            w("")
        cols = [c for c in COLUMNS[workload] if any(c[0] in summary.get(p, {}) for p in summary)]
        w("| path | " + " | ".join(c[1] for c in cols) + " |")
        w("|---|" + "---|" * len(cols))
        for p in result["workload_paths"][workload]:
            if p not in summary:
                continue
            w(f"| `{p}` | " + " | ".join(cell(summary[p].get(c[0]), c[2], show_spread) for c in cols) + " |")
        w("")
        rel = [r for r in result["ratios"] if r["workload"] == workload]
        if rel:
            w("Ratios: " + "; ".join(f"{r['ours']} ÷ {r['reference']} ({METRIC_NAMES.get(r['metric'], r['metric'])})"
                                     f" = **{fmt_value(r['ratio'])}{'×' if r['ratio'] is not None else ''}**"
                                     for r in rel) + ".")
            w("")
        if workload == "streams8":
            spread = result["worker_spread"]
            if spread.get("available"):
                w(f"Largest per-worker share of bytes on either ztunnel (2 workers): median "
                  f"{spread['max_share']:.2f} over rounds {', '.join(f'{v:.2f}' for v in spread['values'])}.")
            else:
                w(f"Worker spread: not measured — {spread.get('note', '')}.")
            w("")
            rows = [x for x in result["samples"] if x["workload"] == "streams8" and x["path"].startswith("ambit")
                    and "workers" in x.get("extra", {})]
            if rows:
                w("| round | path | node1 (client side): bytes per worker, share | node2 (server side) |")
                w("|---|---|---|---|")
                for x in rows:
                    cells = []
                    for node in ("node1", "node2"):
                        wk = x["extra"]["workers"][node]
                        cells.append(" / ".join(f"{b / 1e6:.0f} MB ({sh:.0%})" for b, sh in zip(wk["bytes"], wk["shares"])))
                    w(f"| {x['round']} | `{x['path']}` | {cells[0]} | {cells[1]} |")
                w("")
        png = plot_workload(result, workload, plots_dir)
        if png:
            w(f"![{workload}]({rel_plots}/{png})")
            w("")
    if micro:
        w("## Micro-benchmarks (Google Benchmark)")
        w("")
        w(f"From `{micro_name}` (`scripts/microbench.sh`, run by `make bench` after the whole-system run): "
          "medians of the repetitions; each benchmark calls the production function.")
        w("")
        w("| binary | benchmark | CPU time | wall time | throughput |")
        w("|---|---|---|---|---|")
        for binary, name, cpu, real, unit, rate in micro_rows(micro):
            tput = f"{rate / 1e6:.0f} MB/s" if rate else "–"
            w(f"| {binary} | `{name}` | {fmt_duration(cpu, unit)} | {fmt_duration(real, unit)} | {tput} |")
        w("")
    w("## Profile findings")
    w("")
    if notes_path and os.path.exists(notes_path):
        with open(notes_path) as f:
            notes = f.read().strip()
        w(f"*(copied from `{os.path.relpath(notes_path, os.path.dirname(os.path.abspath(out_md)))}`)*")
        w("")
        w(notes)
    else:
        w("*(none yet: write them in `bench/notes.md`; the report copies that file here)*")
    w("")
    w("## Reproduce")
    w("")
    w("```sh")
    w("make bench                     # as root: full run, writes bench/results/<timestamp>.json + latest.json,")
    w("                               # then this document and docs/performance/*.png")
    w("scripts/bench.sh build --rounds 5 --throughput-seconds 10   # options go to bench/harness/run.py")
    w("/usr/bin/python3 bench/harness/report.py bench/results/latest.json   # regenerate this page only")
    w("# the HTTP section alone (as root), then merged into the page of the last full run:")
    w("/usr/bin/python3 bench/harness/run.py --workloads http_latency_c1,http_cpu,http_rps,http_memory \\")
    w("    --results-dir /tmp/http")
    w("/usr/bin/python3 bench/harness/report.py bench/results/latest.json --merge /tmp/http/latest.json \\")
    w("    --micro bench/results/micro-<full run>.json --micro bench/results/micro-<http>.json")
    w("```")
    w("")
    with open(out_md, "w") as f:
        f.write("\n".join(lines))


def main(argv):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("result")
    p.add_argument("--out", default="docs/performance.md")
    p.add_argument("--plots", default="docs/performance")
    p.add_argument("--notes", default="bench/notes.md")
    p.add_argument("--source-name", default=None, help="how the doc names the JSON (default: its path)")
    p.add_argument("--micro", action="append", default=[],
                   help="scripts/microbench.sh JSON to add as a table (repeatable: a later file's "
                        "binaries replace an earlier one's)")
    p.add_argument("--merge", action="append", default=[],
                   help="another run.py result whose workloads RESULT lacks are added (repeatable), "
                        "e.g. the HTTP section run on its own; the report names its source")
    args = p.parse_args(argv)
    with open(args.result) as f:
        result = json.load(f)
    for extra_path in args.merge:
        with open(extra_path) as f:
            result = stats.merge_results(result, json.load(f), extra_path)
    micro = None
    for micro_path in args.micro:
        with open(micro_path) as f:
            data = json.load(f)
        if micro is None:
            micro = data
        else:
            micro["binaries"].update(data.get("binaries", {}))
    source = args.source_name or args.result
    generate(result, args.out, args.plots, args.notes, source, micro, " + ".join(args.micro) or None)
    print(f"report: wrote {args.out} and plots in {args.plots}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
