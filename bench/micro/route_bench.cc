// Outbound route decision (src/hbone/route.*): hbone::DecideRoute over the
// node's real DestinationLookup (node::StateLookup on a StateStore), called
// on a worker loop as ztunnel's outbound path does (per-worker StateReader,
// no lock). The snapshot holds |pods| HBONE workloads behind services of
// |endpoints| pods each. Destinations:
//   - a service VIP:80 (pick an endpoint, map 80 -> 8080),
//   - a workload IP directly,
//   - an IP nobody owns (passthrough).
#include <benchmark/benchmark.h>

#include <future>
#include <memory>
#include <string>

#include "hbone/route.h"
#include "net/worker_pool.h"
#include "node/state_lookup.h"
#include "state/ip_bytes.h"
#include "state/state_store.h"

namespace ambit {
namespace {

std::string Dotted(int a, int b, int i) {
  return std::to_string(a) + "." + std::to_string(b) + "." + std::to_string(i / 250) + "." +
         std::to_string(i % 250 + 1);
}
std::string PodIp(int i) { return Dotted(10, 1, i); }
std::string VipText(int s) { return Dotted(10, 96, s); }
std::string ServiceKey(int s) { return "ns-" + std::to_string(s % 50) + "/svc-" + std::to_string(s) + ".svc.cluster.local"; }

// |pods| workloads in 50 namespaces; pod i serves service i / endpoints.
std::shared_ptr<const state::WorkloadState> MakeState(int pods, int endpoints) {
  state::WorkloadState::Contents c;
  for (int i = 0; i < pods; ++i) {
    auto w = std::make_shared<state::Workload>();
    const int s = i / endpoints;
    w->uid = "Kubernetes//Pod/ns-" + std::to_string(s % 50) + "/pod-" + std::to_string(i);
    w->name = "pod-" + std::to_string(i);
    w->ns = "ns-" + std::to_string(s % 50);
    w->addresses = {state::PackIp(PodIp(i)).value()};
    w->tunnel_protocol = state::TunnelProtocol::kHbone;
    w->trust_domain = "cluster.local";
    w->service_account = "sa-" + std::to_string(s);
    w->node = "node-" + std::to_string(i % 20);
    w->services[ServiceKey(s)] = {state::PortMapping{80, 8080}};
    c.workloads[w->uid] = std::move(w);
  }
  for (int s = 0; s * endpoints < pods; ++s) {
    auto svc = std::make_shared<state::Service>();
    svc->name = "svc-" + std::to_string(s);
    svc->ns = "ns-" + std::to_string(s % 50);
    svc->hostname = "svc-" + std::to_string(s) + ".svc.cluster.local";
    svc->vips = {state::ServiceVip{"", state::PackIp(VipText(s)).value()}};
    svc->ports = {state::PortMapping{80, 8080}};
    c.services[svc->Key()] = std::move(svc);
  }
  return std::make_shared<const state::WorkloadState>(std::move(c));
}

// Runs the timing loop on worker loop 0, where StateLookup reads through that
// worker's StateReader (the production steady state).
void RunOnWorker(benchmark::State& st, int pods, int endpoints, const net::SocketAddress& dst,
                 hbone::RouteDecision::Kind want) {
  state::StateStore store;
  store.Publish(MakeState(pods, endpoints));
  node::StateLookup lookup(store, 1);
  net::WorkerPool workers(1);
  workers.Start();
  std::promise<void> done;
  workers.Post(0, [&] {
    const hbone::RouteDecision first = hbone::DecideRoute(dst, lookup, 0);
    if (first.kind != want) {
      st.SkipWithError("unexpected route decision");
    } else {
      std::uint64_t pick = 0;
      for (auto _ : st) benchmark::DoNotOptimize(hbone::DecideRoute(dst, lookup, ++pick));
    }
    done.set_value();
  });
  done.get_future().wait();
  workers.Stop();
}

net::SocketAddress Addr(const std::string& ip, std::uint16_t port) {
  return net::SocketAddress(net::IpAddress::Parse(ip).value(), port);
}

void BM_RouteServiceVip(benchmark::State& st) {
  const int pods = static_cast<int>(st.range(0));
  const int endpoints = static_cast<int>(st.range(1));
  RunOnWorker(st, pods, endpoints, Addr(VipText(pods / endpoints / 2), 80), hbone::RouteDecision::Kind::kHbone);
}
BENCHMARK(BM_RouteServiceVip)->ArgNames({"pods", "endpoints"})
    ->Args({1000, 1})->Args({1000, 10})->Args({1000, 100})
    ->Args({10000, 1})->Args({10000, 10})->Args({10000, 100})->UseRealTime();

void BM_RouteWorkloadIp(benchmark::State& st) {
  const int pods = static_cast<int>(st.range(0));
  RunOnWorker(st, pods, 10, Addr(PodIp(pods / 2), 8080), hbone::RouteDecision::Kind::kHbone);
}
BENCHMARK(BM_RouteWorkloadIp)->ArgName("pods")->Arg(1000)->Arg(10000)->UseRealTime();

void BM_RouteUnknownIp(benchmark::State& st) {
  const int pods = static_cast<int>(st.range(0));
  RunOnWorker(st, pods, 10, Addr("192.0.2.10", 443), hbone::RouteDecision::Kind::kPassthrough);
}
BENCHMARK(BM_RouteUnknownIp)->ArgName("pods")->Arg(1000)->Arg(10000)->UseRealTime();

}  // namespace
}  // namespace ambit
