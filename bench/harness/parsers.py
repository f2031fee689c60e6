"""Parsers for the load generators' output: iperf3 -J, wrk --latency, hey, dnsperf.

Each returns a flat dict of numbers (and a list of error strings under "errors");
a parse failure raises ValueError naming what was missing.
"""

import json
import re

_UNITS_S = {"us": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}


def _duration_us(text):
    m = re.fullmatch(r"([0-9.]+)(us|ms|s|m|h)", text.strip())
    if not m:
        raise ValueError(f"not a wrk duration: {text!r}")
    return float(m.group(1)) * _UNITS_S[m.group(2)] * 1e6


def parse_iperf3(text):
    """iperf3 -J (client side): received bits/s, retransmits, errors."""
    try:
        j = json.loads(text)
    except ValueError as e:
        raise ValueError(f"iperf3 output is not JSON: {e}: {text[:200]!r}") from None
    errors = [j["error"]] if j.get("error") else []
    end = j.get("end") or {}
    received = end.get("sum_received") or {}
    sent = end.get("sum_sent") or {}
    if not received and not errors:
        raise ValueError("iperf3 JSON without end.sum_received")
    return {
        "gbps": received.get("bits_per_second", 0.0) / 1e9,
        "bytes": received.get("bytes", 0),
        "seconds": received.get("seconds", 0.0),
        "retransmits": sent.get("retransmits", 0),
        "streams": len(end.get("streams", [])),
        "errors": errors,
    }


def parse_wrk(text):
    """wrk --latency: requests/s, p50/p75/p90/p99 in µs, request count, errors."""
    out = {"errors": []}
    m = re.search(r"^Requests/sec:\s+([0-9.]+)", text, re.M)
    if not m:
        raise ValueError(f"wrk output without Requests/sec: {text[:300]!r}")
    out["rps"] = float(m.group(1))
    m = re.search(r"^\s*(\d+) requests in ([0-9.]+\w+)", text, re.M)
    if not m:
        raise ValueError("wrk output without the request count")
    out["requests"] = int(m.group(1))
    dist = re.search(r"Latency Distribution\n((?:\s+\d+%\s+\S+\n)+)", text)
    if not dist:
        raise ValueError("wrk output without a latency distribution (was --latency given?)")
    for line in dist.group(1).strip().splitlines():
        pct, value = line.split()
        out[f"p{pct.rstrip('%')}_us"] = _duration_us(value)
    m = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", text)
    if m:
        names = ("connect", "read", "write", "timeout")
        for name, count in zip(names, m.groups()):
            if int(count):
                out["errors"].append(f"{count} socket {name} errors")
    m = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
    if m and int(m.group(1)):
        out["errors"].append(f"{m.group(1)} non-2xx/3xx responses")
    return out


def parse_hey(text):
    """hey summary: successful requests per second (2xx over total time), latency
    percentiles in µs (0.1 ms resolution), response and error counts."""
    m = re.search(r"^\s*Total:\s+([0-9.]+) secs", text, re.M)
    if not m:
        raise ValueError(f"hey output without Total: {text[:300]!r}")
    total = float(m.group(1))
    out = {"seconds": total, "errors": []}
    ok = bad = 0
    status = re.search(r"Status code distribution:\n((?:\s+\[\d+\]\s+\d+ responses\n?)*)", text)
    if status:
        for code, count in re.findall(r"\[(\d+)\]\s+(\d+) responses", status.group(1)):
            if code.startswith("2"):
                ok += int(count)
            else:
                bad += int(count)
    out["requests"] = ok
    out["rps"] = ok / total if total > 0 else 0.0
    if bad:
        out["errors"].append(f"{bad} non-2xx responses")
    errors = re.search(r"Error distribution:\n((?:\s+\[\d+\]\s+.*\n?)*)", text)
    if errors:
        for count, message in re.findall(r"\[(\d+)\]\s+(.*)", errors.group(1)):
            out["errors"].append(f"{count}x {message.strip()}")
    for pct, secs in re.findall(r"^\s+(\d+)% in ([0-9.]+) secs", text, re.M):
        if pct != "0":
            out[f"p{pct}_us"] = float(secs) * 1e6
    return out


def parse_dnsperf(text):
    """dnsperf: queries/s, average and max latency in µs, queries lost, response codes."""
    out = {"errors": []}
    m = re.search(r"Queries per second:\s+([0-9.]+)", text)
    if not m:
        raise ValueError(f"dnsperf output without Queries per second: {text[-300:]!r}")
    out["qps"] = float(m.group(1))
    m = re.search(r"Average Latency \(s\):\s+([0-9.]+) \(min ([0-9.]+), max ([0-9.]+)\)", text)
    if not m:
        raise ValueError("dnsperf output without Average Latency")
    out["avg_latency_us"] = float(m.group(1)) * 1e6
    out["max_latency_us"] = float(m.group(3)) * 1e6
    m = re.search(r"Queries completed:\s+(\d+)", text)
    out["completed"] = int(m.group(1)) if m else 0
    m = re.search(r"Queries lost:\s+(\d+)", text)
    out["lost"] = int(m.group(1)) if m else 0
    m = re.search(r"Response codes:\s+(.*)", text)
    codes = m.group(1) if m else ""
    if "NOERROR" not in codes:
        out["errors"].append(f"answers were not NOERROR: {codes.strip()}")
    if out["completed"] and out["lost"] > out["completed"] * 0.01:
        out["errors"].append(f"{out['lost']} queries lost")
    return out
