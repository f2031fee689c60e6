"""Unit tests of bench/harness: parsers, stats and the report (no root, no cluster)."""

import json
import os
import sys
import tempfile
import time
import unittest

HARNESS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..", "bench", "harness")
sys.path.insert(0, os.path.abspath(HARNESS))

import idle_latency  # noqa: E402
import l7proxies  # noqa: E402
import manifests  # noqa: E402
import parsers  # noqa: E402
import procs  # noqa: E402
import proxies  # noqa: E402
import stats  # noqa: E402

WRK = """Running 5s test @ http://127.0.0.1:14012/
  1 threads and 1 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency   210.50us   40.00us   2.10ms   90.00%
    Req/Sec     4.70k   200.00     5.00k    70.00%
  Latency Distribution
     50%  195.00us
     75%  205.00us
     90%  230.00us
     99%    1.27ms
  23500 requests in 5.00s, 5.00MB read
  Socket errors: connect 0, read 2, write 0, timeout 0
Requests/sec:   4700.00
Transfer/sec:      1.00MB
"""

HEY = """
Summary:
  Total:\t5.0010 secs
  Slowest:\t0.0300 secs
  Requests/sec:\t1000.8000

Latency distribution:
  10% in 0.0004 secs
  50% in 0.0006 secs
  99% in 0.0012 secs

Status code distribution:
  [200]\t4990 responses
  [502]\t10 responses

Error distribution:
  [3]\tGet "http://127.0.0.1:1/": dial tcp: connection refused
"""

IPERF = json.dumps({"start": {}, "end": {
    "streams": [{}],
    "sum_sent": {"bytes": 10, "bits_per_second": 2.1e9, "retransmits": 7},
    "sum_received": {"bytes": 1250000000, "seconds": 5.0, "bits_per_second": 2.0e9}}})


class ParserTest(unittest.TestCase):
    def test_wrk(self):
        m = parsers.parse_wrk(WRK)
        self.assertEqual(m["requests"], 23500)
        self.assertAlmostEqual(m["rps"], 4700.0)
        self.assertAlmostEqual(m["p50_us"], 195.0)
        self.assertAlmostEqual(m["p99_us"], 1270.0)
        self.assertEqual(m["errors"], ["2 socket read errors"])

    def test_wrk_without_distribution_is_an_error(self):
        with self.assertRaises(ValueError):
            parsers.parse_wrk(WRK.replace("Latency Distribution", "Something"))

    def test_hey_counts_only_2xx_and_collects_errors(self):
        m = parsers.parse_hey(HEY)
        self.assertEqual(m["requests"], 4990)
        self.assertAlmostEqual(m["rps"], 4990 / 5.001)
        self.assertAlmostEqual(m["p99_us"], 1200.0)
        self.assertEqual(len(m["errors"]), 2)
        self.assertIn("10 non-2xx", m["errors"][0])

    def test_iperf3(self):
        m = parsers.parse_iperf3(IPERF)
        self.assertAlmostEqual(m["gbps"], 2.0)
        self.assertEqual(m["retransmits"], 7)
        self.assertEqual(m["errors"], [])
        failed = parsers.parse_iperf3(json.dumps({"error": "unable to connect"}))
        self.assertEqual(failed["errors"], ["unable to connect"])
        with self.assertRaises(ValueError):
            parsers.parse_iperf3("not json")


def sample(r, workload, path, **metrics):
    return {"round": r, "workload": workload, "path": path, "metrics": metrics, "errors": []}


DNSPERF = """DNS Performance Testing Tool
Statistics:

  Queries sent:         12000
  Queries completed:    12000 (100.00%)
  Queries lost:         0 (0.00%)

  Response codes:       NOERROR 12000 (100.00%)
  Average packet size:  request 32, response 48
  Run time (s):         5.000123
  Queries per second:   2399.94

  Average Latency (s):  0.000377 (min 0.000092, max 0.004040)
  Latency StdDev (s):   0.000187
"""


class DnsperfParserTest(unittest.TestCase):
    def test_dnsperf(self):
        m = parsers.parse_dnsperf(DNSPERF)
        self.assertAlmostEqual(m["qps"], 2399.94)
        self.assertAlmostEqual(m["avg_latency_us"], 377.0)
        self.assertAlmostEqual(m["max_latency_us"], 4040.0)
        self.assertEqual(m["completed"], 12000)
        self.assertEqual(m["errors"], [])

    def test_dnsperf_failures_are_errors(self):
        bad = DNSPERF.replace("NOERROR 12000", "SERVFAIL 12000").replace("Queries lost:         0", "Queries lost:         900")
        self.assertEqual(len(parsers.parse_dnsperf(bad)["errors"]), 2)
        with self.assertRaises(ValueError):
            parsers.parse_dnsperf("nothing")


class StatsTest(unittest.TestCase):
    def samples(self):
        out = []
        for r, raw_gbps in ((1, 10.0), (2, 10.0), (3, 5.0)):
            out += [sample(r, "throughput", "raw", gbps=raw_gbps),
                    sample(r, "throughput", "ambit", gbps=3.0 + r),
                    sample(r, "throughput", "haproxy", gbps=2.0),
                    sample(r, "latency_c1", "raw", p50_us=50.0, p99_us=100.0),
                    sample(r, "latency_c1", "ambit", p50_us=150.0, p99_us=200.0),
                    sample(r, "latency_c1", "haproxy", p50_us=250.0, p99_us=300.0),
                    sample(r, "newconn", "ambit", rps=900.0),
                    sample(r, "newconn", "haproxy-plain", rps=1000.0),
                    sample(r, "cpu", "ambit", cores_per_krps_hop=0.05),
                    sample(r, "memory", "ambit", kb_per_conn=20.0, baseline_rss_mb_max=10.0),
                    sample(r, "streams8", "ambit", gbps=2.0, max_worker_share=0.55)]
        return stats.derive(out)

    def test_added_latency_is_per_round_minus_raw(self):
        s = [x for x in self.samples() if x["workload"] == "latency_c1" and x["path"] == "ambit"]
        self.assertEqual({x["metrics"]["added_p99_us"] for x in s}, {100.0})

    def test_medians_ratios_and_targets(self):
        samples = self.samples()
        summary = stats.summarize(samples)
        self.assertEqual(summary["throughput"]["ambit"]["gbps"]["median"], 5.0)
        self.assertEqual(summary["throughput"]["ambit"]["gbps"]["min"], 4.0)
        rows = stats.ratios(summary)
        ratio = {(r["workload"], r["metric"], r["ours"], r["reference"]): r["ratio"] for r in rows}
        self.assertAlmostEqual(ratio[("throughput", "gbps", "ambit", "haproxy")], 2.5)
        self.assertAlmostEqual(ratio[("latency_c1", "added_p99_us", "ambit", "haproxy")], 0.5)
        targets = {t["id"]: t for t in stats.targets(summary, rows, stats.worker_spread(samples))}
        self.assertEqual(targets["throughput"]["status"], "PASS")
        self.assertEqual(targets["latency"]["status"], "PASS")
        self.assertEqual(targets["newconn"]["status"], "PASS")  # exactly 0.9
        self.assertEqual(targets["memory-conn"]["status"], "FAIL")  # 20 > 16
        self.assertEqual(targets["memory-baseline"]["status"], "PASS")
        self.assertEqual(targets["cpu"]["status"], "PASS")
        self.assertEqual(targets["spread"]["status"], "PASS")

    def test_ratio_of_a_negative_added_latency_is_not_meaningful(self):
        samples = stats.derive([sample(1, "latency_c1", "raw", p50_us=50.0, p99_us=900.0),
                                sample(1, "latency_c1", "ambit", p50_us=150.0, p99_us=1000.0),
                                sample(1, "latency_c1", "haproxy", p50_us=250.0, p99_us=800.0)])
        rows = stats.ratios(stats.summarize(samples))
        p99 = [r for r in rows if r["metric"] == "added_p99_us" and r["reference"] == "haproxy"][0]
        self.assertIsNone(p99["ratio"])
        self.assertIn("not meaningful", p99["note"])
        p50 = [r for r in rows if r["metric"] == "added_p50_us" and r["reference"] == "haproxy"][0]
        self.assertAlmostEqual(p50["ratio"], 0.5)

    def test_spread_without_counters_is_not_applicable(self):
        samples = [dict(sample(1, "streams8", "ambit", gbps=1.0), notes=["no workers array"])]
        spread = stats.worker_spread(samples)
        self.assertFalse(spread["available"])
        t = {x["id"]: x for x in stats.targets({}, [], spread)}
        self.assertEqual(t["spread"]["status"], "N/A")
        self.assertEqual(t["spread"]["note"], "no workers array")

    def test_raw_throughput_flag(self):
        flags = stats.raw_throughput_flags(self.samples())
        self.assertEqual([f["round"] for f in flags], [3])  # 5 < 0.75 × median 10


class ProxyConfigTest(unittest.TestCase):
    def test_haproxy_chain_is_mtls_13_with_verified_client_certs(self):
        client, server = proxies.haproxy_configs("/c", "10.0.0.2")
        self.assertIn("server s1 10.0.0.2:14018 ssl crt /c/client.pem ca-file /c/ca.crt verify required "
                      "verifyhost server ssl-min-ver TLSv1.3", client)
        self.assertIn("no-ssl-reuse", client)
        self.assertIn("bind 0.0.0.0:14019 ssl crt /c/server.pem ca-file /c/ca.crt verify required "
                      "ssl-min-ver TLSv1.3", server)
        self.assertIn("bind 0.0.0.0:14021\n", server)  # the plain control
        self.assertIn("mode tcp", server)

    def test_stunnel_requires_client_certs(self):
        client, server = proxies.stunnel_configs("/c", "10.0.0.2")
        self.assertEqual(server.count("requireCert = yes"), 3)
        self.assertIn("sslVersionMin = TLSv1.3", server)
        self.assertIn("checkHost = server", client)
        self.assertEqual(client.count("sessionResume = no"), 1)
        self.assertEqual(server.count("sessionResume = no"), 1)


class HttpSectionTest(unittest.TestCase):
    """The HTTP section (issue #13): the reference L7 chains, the waypoint manifests, the
    per-request CPU targets and the merge of a separate HTTP run into a report."""

    def test_l7_middles_do_mtls_both_ways_with_one_route_and_one_worker(self):
        cfg = l7proxies.haproxy_l7_config("/c", "10.0.0.2")
        self.assertIn("mode http", cfg)
        self.assertIn("bind 0.0.0.0:14212 ssl crt /c/server.pem ca-file /c/ca.crt verify required", cfg)
        self.assertIn("server s1 10.0.0.2:14221 ssl crt /c/client.pem ca-file /c/ca.crt verify required "
                      "verifyhost server", cfg)
        self.assertEqual(cfg.count("use_backend"), 1)
        self.assertIn("nbthread 1", cfg)
        self.assertIn("x-request-id", cfg)
        ngx = l7proxies.nginx_l7_config("/c", "10.0.0.2", "/w")
        for needle in ("listen 14211 ssl", "ssl_verify_client on;", "ssl_client_certificate /c/ca.crt;",
                       "proxy_ssl_verify on;", "proxy_ssl_certificate /c/client.crt;", "server 10.0.0.2:14221;",
                       "worker_processes 1;", "keepalive 64;", "ssl_protocols TLSv1.3;", "X-Request-Id"):
            self.assertIn(needle, ngx)
        self.assertEqual(ngx.count("location "), 1)
        client, server = l7proxies.end_configs("/c", "10.0.0.3")
        self.assertIn("server m 10.0.0.3:14211 ssl crt /c/client.pem", client)
        self.assertIn("server m 10.0.0.3:14212 ssl crt /c/client.pem", client)
        self.assertIn("bind 0.0.0.0:14221 ssl crt /c/server.pem ca-file /c/ca.crt verify required", server)
        self.assertIn("server b 127.0.0.1:8080", server)

    def test_waypoint_manifests_declare_the_same_pod_http_and_tcp(self):
        yaml = manifests.http_services_yaml("ns")
        self.assertIn("name: web\n", yaml)
        self.assertIn("{name: http, port: 8080, targetPort: 8080}", yaml)
        self.assertIn("{name: tcp, port: 8080, targetPort: 8080}", yaml)
        self.assertEqual(yaml.count("istio.io/use-waypoint: waypoint"), 2)
        self.assertEqual(yaml.count("kind: HTTPRoute"), 1)
        self.assertIn("gatewayClassName: istio-waypoint", manifests.waypoint_yaml("ns"))

    @staticmethod
    def http_samples():
        out = []
        for r in (1, 2, 3):
            out += [sample(r, "http_latency_c1", "raw", p50_us=50.0, p99_us=100.0),
                    sample(r, "http_latency_c1", "ambit-wp-http", p50_us=300.0, p99_us=400.0),
                    sample(r, "http_latency_c1", "nginx-l7", p50_us=250.0, p99_us=500.0),
                    sample(r, "http_cpu", "ambit-wp-http", middle_cpu_us_per_req=40.0 + r),
                    sample(r, "http_cpu", "ambit-wp-tcp", middle_cpu_us_per_req=20.0),
                    sample(r, "http_cpu", "nginx-l7", middle_cpu_us_per_req=50.0),
                    sample(r, "http_cpu", "haproxy-l7", middle_cpu_us_per_req=45.0)]
        return stats.derive(out)

    def test_http_targets_and_ratios(self):
        summary = stats.summarize(self.http_samples())
        rows = stats.ratios(summary)
        ratio = {(r["workload"], r["metric"], r["ours"], r["reference"]): r["ratio"] for r in rows}
        self.assertAlmostEqual(ratio[("http_latency_c1", "added_p99_us", "ambit-wp-http", "nginx-l7")], 0.75)
        self.assertAlmostEqual(ratio[("http_cpu", "middle_cpu_us_per_req", "ambit-wp-http", "ambit-wp-tcp")], 2.1)
        t = {x["id"]: x for x in stats.targets(summary, rows, {"available": False})}
        self.assertEqual(t["http-cpu"]["status"], "PASS")  # 42 µs
        self.assertAlmostEqual(t["http-cpu-vs-best"]["value"], 42.0 / 45.0)  # HAProxy is the better
        self.assertEqual(t["http-cpu-vs-best"]["status"], "PASS")
        self.assertIn("haproxy-l7", t["http-cpu-vs-best"]["note"])
        worse = stats.summarize([sample(1, "http_cpu", "ambit-wp-http", middle_cpu_us_per_req=70.0),
                                 sample(1, "http_cpu", "nginx-l7", middle_cpu_us_per_req=65.0)])
        t = {x["id"]: x for x in stats.targets(worse, stats.ratios(worse), {"available": False})}
        self.assertEqual(t["http-cpu"]["status"], "FAIL")
        self.assertEqual(t["http-cpu-vs-best"]["status"], "FAIL")
        t = {x["id"]: x for x in stats.targets({}, [], {"available": False})}
        self.assertEqual((t["http-cpu"]["status"], t["http-cpu-vs-best"]["status"]), ("N/A", "N/A"))

    def test_merge_adds_missing_workloads_and_fills_na_targets(self):
        base_samples = StatsTest().samples()
        base_summary = stats.summarize(base_samples)
        base_rows = stats.ratios(base_summary)
        base = {"summary": base_summary, "samples": base_samples, "ratios": base_rows,
                "targets": stats.targets(base_summary, base_rows, {"available": False}),
                "paths": {"ambit": "A"}, "workload_paths": {"cpu": ["ambit"]}, "notes": [], "config": {"rounds": 3}}
        http = self.http_samples()
        summary = stats.summarize(http)
        rows = stats.ratios(summary)
        extra = {"summary": summary, "samples": http, "ratios": rows, "started": "T",
                 "targets": stats.targets(summary, rows, {"available": False}), "config": {"rounds": 3},
                 "paths": {"ambit-wp-http": "W", "nginx-l7": "N"}, "notes": ["n"],
                 "workload_paths": {"http_cpu": ["ambit-wp-http", "nginx-l7"], "cpu": ["x"]},
                 "machine": {"git_commit": "abc"}}
        merged = stats.merge_results(base, extra, "http.json")
        self.assertEqual(merged["workload_paths"]["cpu"], ["ambit"], "the base's own workloads are kept")
        self.assertIn("http_cpu", merged["summary"])
        self.assertEqual(merged["sources"]["http_cpu"]["name"], "http.json")
        self.assertEqual(merged["paths"]["ambit-wp-http"], "W")
        t = {x["id"]: x for x in merged["targets"]}
        self.assertEqual(t["http-cpu"]["status"], "PASS")
        self.assertEqual(t["http-cpu"]["source"], "http.json")
        self.assertNotIn("source", t["throughput"])
        self.assertTrue(any(r["workload"] == "http_cpu" for r in merged["ratios"]))
        self.assertEqual(len(base["samples"]), len(base_samples), "the base is not changed")


class ProcsTest(unittest.TestCase):
    def test_run_time_counts_every_thread_and_grows_with_work(self):
        import threading
        before = procs.cpu_ns(os.getpid())
        spun, done = threading.Event(), threading.Event()

        def spin():
            end = time.thread_time() + 0.05
            while time.thread_time() < end:
                pass
            spun.set()
            done.wait()
        t = threading.Thread(target=spin)
        t.start()
        spun.wait()
        after = procs.cpu_ns(os.getpid())  # the thread still runs: its time is counted
        done.set()
        t.join()
        self.assertGreater(after - before, 40_000_000)
        user, system = procs.cpu_split(os.getpid())
        self.assertGreaterEqual(user + system, 0.0)


class IdleLatencyHoldTest(unittest.TestCase):
    def test_writes_zero_and_releases_on_exit(self):
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, "qos")
            open(path, "wb").close()
            hold = idle_latency.IdleLatencyHold(path=path)
            with hold:
                self.assertTrue(hold.active)
                self.assertIn("held", hold.reason)
            self.assertFalse(hold.active)
            with open(path, "rb") as f:
                self.assertEqual(f.read(), b"\0\0\0\0")

    def test_missing_device_is_recorded_not_fatal(self):
        hold = idle_latency.IdleLatencyHold(path="/nonexistent/cpu_dma_latency")
        with hold:
            self.assertFalse(hold.active)
        self.assertIn("/nonexistent/cpu_dma_latency", hold.reason)

    def test_disabled(self):
        with idle_latency.IdleLatencyHold(enabled=False) as hold:
            self.assertFalse(hold.active)
        self.assertIn("disabled", hold.reason)


class ReportTest(unittest.TestCase):
    def test_report_from_a_synthetic_result(self):
        try:
            import report
        except ImportError as e:  # matplotlib missing: the dependency list is wrong
            self.fail(f"report needs python3-matplotlib: {e}")
        samples = StatsTest().samples()
        summary = stats.summarize(samples)
        rows = stats.ratios(summary)
        spread = stats.worker_spread(samples)
        result = {
            "started": "2026-01-01T00:00:00+00:00", "duration_s": 1.0,
            "machine": {"nproc": 2, "cpu_model": "x", "kernel": "k", "memory_gib": 1, "loadavg_at_start": [0, 0, 0],
                        "ktls_available": False, "git_commit": "abc", "versions": {"haproxy": "2.6"}},
            "config": {"rounds": 3, "smoke": False, "throughput_seconds": 1, "latency_seconds": 1,
                       "newconn_seconds": 1, "cpu_seconds": 1, "streams_seconds": 1, "idle_conns": 10,
                       "idle_settle": 0.1},
            "paths": {p: p for p in ("raw", "ambit", "haproxy", "haproxy-plain")},
            "workload_paths": {"throughput": ["raw", "ambit", "haproxy"], "latency_c1": ["raw", "ambit", "haproxy"],
                               "latency_c16": [], "newconn": ["ambit", "haproxy-plain"], "cpu": ["ambit"],
                               "memory": ["ambit"], "streams8": ["ambit"]},
            "notes": ["a note"], "flags": stats.raw_throughput_flags(samples), "samples": samples,
            "summary": summary, "ratios": rows, "worker_spread": spread,
            "targets": stats.targets(summary, rows, spread)}
        with tempfile.TemporaryDirectory() as d:
            notes = os.path.join(d, "notes.md")
            with open(notes, "w") as f:
                f.write("Hand-written finding XYZ.\n")
            out = os.path.join(d, "performance.md")
            micro = {"binaries": {"route_bench": {"benchmarks": [
                {"run_name": "BM_Route/endpoints:10", "aggregate_name": "mean", "cpu_time": 9.0,
                 "real_time": 9.0, "time_unit": "us"},
                {"run_name": "BM_Route/endpoints:10", "aggregate_name": "median", "cpu_time": 870.0,
                 "real_time": 1500.0, "time_unit": "ns"},
                {"run_name": "BM_Copy/64k", "aggregate_name": "median", "cpu_time": 2.5,
                 "real_time": 3.0, "time_unit": "ms", "bytes_per_second": 6.0e8}]}}}
            report.generate(result, out, os.path.join(d, "performance"), notes, "r.json", micro, "m.json")
            with open(out) as f:
                text = f.read()
            self.assertIn("| route_bench | `BM_Route/endpoints:10` | 870 ns | 1.50 µs | – |", text)
            self.assertIn("| route_bench | `BM_Copy/64k` | 2.50 ms | 3.00 ms | 600 MB/s |", text)
            self.assertEqual(text.count("BM_Route/endpoints:10"), 1, "only medians are listed")
            self.assertIn("Hand-written finding XYZ.", text)
            self.assertIn("| Single-stream throughput ≥ 1.5× the HAProxy mTLS chain | 2.5× | >= 1.5× | **PASS** |",
                          text)
            self.assertIn("FLAG: round 3", text)
            self.assertIn("![throughput](performance/throughput.png)", text)
            for png in ("targets.png", "overview.png", "throughput.png"):
                self.assertTrue(os.path.getsize(os.path.join(d, "performance", png)) > 1000, png)
            self.assertIn("![overview](performance/overview.png)", text)

            # The HTTP section measured in a run of its own, merged into the same report.
            http = HttpSectionTest.http_samples()
            hsum = stats.summarize(http)
            hrows = stats.ratios(hsum)
            extra = dict(result, samples=http, summary=hsum, ratios=hrows, started="2026-01-02T00:00:00+00:00",
                         targets=stats.targets(hsum, hrows, {"available": False}),
                         paths={p: p for p in ("raw", "ambit-wp-http", "ambit-wp-tcp", "nginx-l7", "haproxy-l7")},
                         workload_paths={"http_cpu": ["ambit-wp-http", "ambit-wp-tcp", "nginx-l7", "haproxy-l7"],
                                         "http_latency_c1": ["raw", "ambit-wp-http", "nginx-l7"]},
                         l7_idle_cores={"ambit-wp-http": 0.001})
            merged = stats.merge_results(result, extra, "http.json")
            report.generate(merged, out, os.path.join(d, "performance"), notes, "r.json", micro, "m.json")
            with open(out) as f:
                text = f.read()
            self.assertIn("| Single-stream throughput ≥ 1.5× the HAProxy mTLS chain | 2.5× | >= 1.5× | **PASS** |",
                          text)
            self.assertIn("CPU per request ≤ 60 µs | 42 µs | <= 60 µs | **PASS** *(from `http.json`)* |", text)
            self.assertIn("Workloads `http_cpu`, `http_latency_c1` come from a separate run, `http.json`", text)
            self.assertIn("| `ambit-wp-http` | 300 (300–300) |", text.replace("req/s | ", ""))
            self.assertIn("![http_cpu](performance/http_cpu.png)", text)
            self.assertIn("`ambit-wp-http` 1.0 ms CPU per second", text)


if __name__ == "__main__":
    unittest.main()
