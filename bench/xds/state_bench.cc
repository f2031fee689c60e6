// Benchmarks: WorkloadState lookups (per connection on the data path),
// StateReader::Get (per connection), and StateApplier::Apply of a one-resource
// delta over N workloads (per control-plane change).
#include <benchmark/benchmark.h>

#include "envoy/service/discovery/v3/discovery.pb.h"
#include "istio/workload/workload.pb.h"
#include "state/ip_bytes.h"
#include "state/state_store.h"
#include "xds/state_applier.h"
#include "xds/type_urls.h"

namespace ambit {
namespace {

using envoy::service::discovery::v3::DeltaDiscoveryResponse;

std::string PodIp(int i) {
  return state::PackIp("10.1." + std::to_string(i / 250) + "." + std::to_string(i % 250 + 1)).value();
}
std::string Uid(int i) { return "Kubernetes//Pod/ns/pod-" + std::to_string(i); }
constexpr int kPodsPerService = 10;
std::string ServiceKey(int s) { return "ns/svc-" + std::to_string(s) + ".ns.svc.cluster.local"; }
std::string Vip(int s) {
  return state::PackIp("10.96." + std::to_string(s / 250) + "." + std::to_string(s % 250 + 1)).value();
}

void AddWorkload(DeltaDiscoveryResponse& r, int i, int generation = 0) {
  istio::workload::Address a;
  auto* w = a.mutable_workload();
  w->set_uid(Uid(i));
  w->set_name("pod-" + std::to_string(i));
  w->set_namespace_("ns");
  w->add_addresses(PodIp(i));
  w->set_tunnel_protocol(istio::workload::HBONE);
  w->set_canonical_revision("v" + std::to_string(generation));
  auto* port = (*w->mutable_services())[ServiceKey(i / kPodsPerService)].add_ports();
  port->set_service_port(80);
  port->set_target_port(8080);
  auto* res = r.add_resources();
  res->set_name(Uid(i));
  res->set_version(std::to_string(generation));
  res->mutable_resource()->PackFrom(a);
}

void AddService(DeltaDiscoveryResponse& r, int s) {
  istio::workload::Address a;
  auto* svc = a.mutable_service();
  svc->set_name("svc-" + std::to_string(s));
  svc->set_namespace_("ns");
  svc->set_hostname("svc-" + std::to_string(s) + ".ns.svc.cluster.local");
  svc->add_addresses()->set_address(Vip(s));
  auto* port = svc->add_ports();
  port->set_service_port(80);
  port->set_target_port(8080);
  auto* res = r.add_resources();
  res->set_name(ServiceKey(s));
  res->set_version("0");
  res->mutable_resource()->PackFrom(a);
}

// Applies |pods| workloads behind pods/kPodsPerService services.
void Fill(xds::StateApplier& applier, int pods) {
  DeltaDiscoveryResponse r;
  r.set_type_url(std::string(xds::kAddressTypeUrl));
  for (int i = 0; i < pods; ++i) AddWorkload(r, i);
  for (int s = 0; s < pods / kPodsPerService; ++s) AddService(r, s);
  if (!applier.Apply(r).ok()) std::abort();
}

void BM_FindWorkloadByAddress(benchmark::State& bench) {
  state::StateStore store;
  xds::StateApplier applier(store);
  Fill(applier, static_cast<int>(bench.range(0)));
  state::StateReader reader(store);
  std::string ip = PodIp(static_cast<int>(bench.range(0)) / 2);
  for (auto _ : bench) benchmark::DoNotOptimize(reader.Get().FindWorkloadByAddress("", ip));
}
BENCHMARK(BM_FindWorkloadByAddress)->Arg(1000)->Arg(10000);

void BM_PickServiceEndpoint(benchmark::State& bench) {
  state::StateStore store;
  xds::StateApplier applier(store);
  Fill(applier, static_cast<int>(bench.range(0)));
  state::StateReader reader(store);
  std::string vip = Vip(3);
  uint64_t random = 0;
  for (auto _ : bench) {
    benchmark::DoNotOptimize(reader.Get().PickServiceEndpoint("", vip, 80, ++random));
  }
}
BENCHMARK(BM_PickServiceEndpoint)->Arg(1000)->Arg(10000);

void BM_ApplyOneWorkloadChange(benchmark::State& bench) {
  state::StateStore store;
  xds::StateApplier applier(store);
  const int pods = static_cast<int>(bench.range(0));
  Fill(applier, pods);
  int generation = 0;
  for (auto _ : bench) {
    DeltaDiscoveryResponse r;
    r.set_type_url(std::string(xds::kAddressTypeUrl));
    ++generation;
    AddWorkload(r, generation % pods, generation);
    if (!applier.Apply(r).ok()) std::abort();
  }
}
BENCHMARK(BM_ApplyOneWorkloadChange)->Arg(1000)->Arg(10000)->Unit(benchmark::kMicrosecond);

}  // namespace
}  // namespace ambit
