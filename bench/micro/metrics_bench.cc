// Recording a connection through the metrics registry (src/metrics,
// src/telemetry): what a proxied connection costs telemetry, end to end.
//   RecordOpenClose: a ConnectionRecord for a label set already seen (render
//     and hash the 23 istio_tcp_* labels, one lookup under a lock), then
//     connections_opened, then bytes + connections_closed at close. Access
//     log off, and on into a null sink (the line formatted and written).
//     Threads: each thread is a worker loop with its own registry cell.
//   RecordOpenCloseNewSeries: the same, every connection with a label set not
//     seen before (first connection between two workloads).
//   CounterInc: one handle update (what each count costs after the record
//     resolved its series).
//   Render: a scrape of |series| istio_tcp_* series over 3 cells.
#include <benchmark/benchmark.h>
#include <spdlog/sinks/null_sink.h>
#include <spdlog/spdlog.h>

#include <atomic>
#include <memory>
#include <string>

#include "metrics/registry.h"
#include "telemetry/connection_record.h"
#include "telemetry/tcp_metrics.h"

namespace ambit {
namespace {

thread_local std::size_t t_cell = 0;
std::size_t BenchCell() { return t_cell; }

telemetry::TcpLabels Labels(int i) {
  telemetry::TcpLabels l;
  l.reporter = "source";
  l.source_workload = "client-" + std::to_string(i);
  l.source_canonical_service = "client";
  l.source_canonical_revision = "v1";
  l.source_workload_namespace = "shop";
  l.source_principal = "spiffe://cluster.local/ns/shop/sa/client";
  l.source_app = "client";
  l.source_version = "v1";
  l.source_cluster = "Kubernetes";
  l.destination_service = "web.shop.svc.cluster.local";
  l.destination_service_namespace = "shop";
  l.destination_service_name = "web";
  l.destination_workload = "web";
  l.destination_canonical_service = "web";
  l.destination_canonical_revision = "v1";
  l.destination_workload_namespace = "shop";
  l.destination_principal = "spiffe://cluster.local/ns/shop/sa/web";
  l.destination_app = "web";
  l.destination_version = "v1";
  l.destination_cluster = "Kubernetes";
  l.connection_security_policy = "mutual_tls";
  return l;
}

telemetry::ConnectionEnds Ends() {
  return {"outbound", *net::SocketAddress::Parse("10.1.0.5:41022"),
          *net::SocketAddress::Parse("10.1.0.9:15008"), "10.1.0.9:8080"};
}

// One registry for the whole run (its cells: 1 + one per benchmark thread).
struct Fixture {
  metrics::Registry registry{9, &BenchCell};
  telemetry::TcpMetrics metrics{registry};
};
Fixture& Shared() {
  static Fixture f;
  return f;
}

class Logging {
 public:
  explicit Logging(bool on) : previous_(spdlog::default_logger()) {
    auto logger =
        std::make_shared<spdlog::logger>("bench", std::make_shared<spdlog::sinks::null_sink_mt>());
    logger->set_level(on ? spdlog::level::info : spdlog::level::warn);
    spdlog::set_default_logger(logger);
  }
  ~Logging() { spdlog::set_default_logger(previous_); }

 private:
  std::shared_ptr<spdlog::logger> previous_;
};

void BM_RecordOpenClose(benchmark::State& state) {
  t_cell = static_cast<std::size_t>(state.thread_index()) + 1;
  std::unique_ptr<Logging> logging;
  if (state.thread_index() == 0) logging = std::make_unique<Logging>(state.range(0) != 0);
  Fixture& f = Shared();
  const telemetry::TcpLabels labels = Labels(state.thread_index());
  const telemetry::ConnectionEnds ends = Ends();
  for (auto _ : state) {
    const telemetry::ConnectionRecord record(&f.metrics, labels, ends);
    record.Opened();
    record.Closed(4096, 512, false);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_RecordOpenClose)->ArgName("log")->Arg(0)->Arg(1)->ThreadRange(1, 2)->UseRealTime();

void BM_RecordOpenCloseNewSeries(benchmark::State& state) {
  Logging logging(false);
  metrics::Registry registry(3, &BenchCell);
  telemetry::TcpMetrics metrics(registry);
  telemetry::TcpLabels labels = Labels(0);
  const telemetry::ConnectionEnds ends = Ends();
  std::uint64_t n = 0;
  for (auto _ : state) {
    labels.source_workload = "client-" + std::to_string(n++);
    const telemetry::ConnectionRecord record(&metrics, labels, ends);
    record.Opened();
    record.Closed(4096, 512, false);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_RecordOpenCloseNewSeries)->Iterations(20000);

void BM_CounterInc(benchmark::State& state) {
  t_cell = static_cast<std::size_t>(state.thread_index()) + 1;
  Fixture& f = Shared();
  const metrics::Counter c = f.metrics.Get(Labels(100 + state.thread_index()))->Cell(t_cell).sent;
  for (auto _ : state) c.Inc(1500);
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_CounterInc)->ThreadRange(1, 2)->UseRealTime();

void BM_Render(benchmark::State& state) {
  metrics::Registry registry(3);
  telemetry::TcpMetrics metrics(registry);
  for (int i = 0; i < state.range(0); ++i) metrics.Get(Labels(i))->Cell(1).opened.Inc();
  std::size_t bytes = 0;
  for (auto _ : state) {
    const std::string text = registry.Render();
    bytes = text.size();
    benchmark::DoNotOptimize(text.data());
  }
  state.counters["bytes"] = static_cast<double>(bytes);
}
BENCHMARK(BM_Render)->ArgName("series")->Arg(10)->Arg(1000);

}  // namespace
}  // namespace ambit
