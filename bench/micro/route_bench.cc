// Outbound route decision (src/hbone/route.*): hbone::DecideRoute over the
// node's real DestinationLookup (proxy::StateLookup on a StateStore), called
// on a worker loop as ztunnel's outbound path does (per-worker StateReader,
// no lock). The snapshot holds |pods| HBONE workloads behind services of
// |endpoints| pods each. Destinations:
//   - a service VIP:80 (pick an endpoint, map 80 -> 8080),
//   - a workload IP directly,
//   - an IP nobody owns (passthrough).
// And the service VIP with the Service's load balancing on and off in the same
// run (PreferClose: each node its own zone, as in the local cluster; the
// client is pod 0 on node-0): the pick stays an index into a precomputed
// per-client-locality list, so neither grows with the endpoint count.
#include <benchmark/benchmark.h>

#include <future>
#include <memory>
#include <string>

#include "hbone/route.h"
#include "net/worker_pool.h"
#include "proxy/state_lookup.h"
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
std::shared_ptr<const state::WorkloadState> MakeState(int pods, int endpoints,
                                                      bool prefer_close = false) {
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
    w->locality.zone = w->node;
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
    if (prefer_close) {  // istiod's PreferClose
      svc->load_balancing = state::LoadBalancing{
          {state::LbScope::kNetwork, state::LbScope::kRegion, state::LbScope::kZone},
          state::LbMode::kFailover, false};
    }
    c.services[svc->Key()] = std::move(svc);
  }
  return std::make_shared<const state::WorkloadState>(std::move(c));
}

// Runs the timing loop on worker loop 0, where StateLookup reads through that
// worker's StateReader (the production steady state).
void RunOnWorker(benchmark::State& st, int pods, int endpoints, const net::SocketAddress& dst,
                 hbone::RouteDecision::Kind want, bool prefer_close = false,
                 const hbone::RouteOptions& options = {}) {
  state::StateStore store;
  store.Publish(MakeState(pods, endpoints, prefer_close));
  proxy::StateLookup lookup(store, 1);
  net::WorkerPool workers(1);
  workers.Start();
  std::promise<void> done;
  workers.Post(0, [&] {
    const hbone::RouteDecision first = hbone::DecideRoute(dst, lookup, 0, options);
    if (first.kind != want) {
      st.SkipWithError("unexpected route decision");
    } else {
      std::uint64_t pick = 0;
      for (auto _ : st) benchmark::DoNotOptimize(hbone::DecideRoute(dst, lookup, ++pick, options));
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

// A client on node-0 (pod 0) to a service of |endpoints| pods spread over 20
// nodes; range(2) = 1: the Service prefers close endpoints (PreferClose).
void BM_RouteServiceVipFromPod(benchmark::State& st) {
  const int pods = static_cast<int>(st.range(0));
  const int endpoints = static_cast<int>(st.range(1));
  const bool prefer_close = st.range(2) != 0;
  hbone::RouteOptions options;
  options.source_ip = net::IpAddress::Parse(PodIp(0)).value();
  RunOnWorker(st, pods, endpoints, Addr(VipText(pods / endpoints / 2), 80),
              hbone::RouteDecision::Kind::kHbone, prefer_close, options);
}
BENCHMARK(BM_RouteServiceVipFromPod)->ArgNames({"pods", "endpoints", "prefer_close"})
    ->ArgsProduct({{5000}, {10, 100, 1000}, {0, 1}})->UseRealTime();

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
