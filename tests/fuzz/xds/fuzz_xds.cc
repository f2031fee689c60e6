// Fuzzes ztunnel's xDS decode-and-apply path (StateApplier + AnswerFor) with
// arbitrary bytes, as a whole DeltaDiscoveryResponse or as the body of one
// Any-wrapped istio.workload.Address / istio.security.Authorization.
//
// Properties checked (abort on violation): no crash; a rejected response
// publishes nothing (the store keeps the very same snapshot) and is answered
// with a NACK carrying error_detail; an accepted one is ACKed without it.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "envoy/service/discovery/v3/discovery.pb.h"
#include "state/state_store.h"
#include "xds/ack.h"
#include "xds/state_applier.h"
#include "xds/type_urls.h"

namespace {

using envoy::service::discovery::v3::DeltaDiscoveryResponse;

void Check(bool ok) {
  if (!ok) std::abort();
}

void ApplyAndCheck(ambit::state::StateStore& store, ambit::xds::StateApplier& applier,
                   const DeltaDiscoveryResponse& response) {
  auto before = store.Snapshot();
  ambit::Status applied = applier.Apply(response);
  auto answer = ambit::xds::AnswerFor(response, applied);
  Check(answer.response_nonce() == response.nonce());
  if (applied.ok()) {
    Check(!answer.has_error_detail());
  } else {
    Check(answer.has_error_detail() && !answer.error_detail().message().empty());
    Check(store.Snapshot() == before);
  }
  // Exercise the lookups on whatever state resulted.
  auto state = store.Snapshot();
  for (const auto& [uid, w] : state->contents().workloads) {
    Check(state->FindWorkloadByUid(uid) == w.get());
    for (const std::string& ip : w->addresses) (void)state->FindWorkloadByAddress(w->network, ip);
  }
  for (const auto& [key, s] : state->contents().services) {
    for (const auto& vip : s->vips) {
      for (const auto& port : s->ports) {
        (void)state->PickServiceEndpoint(vip.network, vip.address, port.service_port, 7);
        // And for every client (a Service's load_balancing ranks by it).
        for (const auto& [uid, w] : state->contents().workloads) {
          auto ep = state->PickServiceEndpoint(vip.network, vip.address, port.service_port, 7, w.get());
          if (ep) Check(ep->workload != nullptr && !ep->address.empty());
        }
      }
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  ambit::state::StateStore store;
  ambit::xds::StateApplier applier(store);
  const uint8_t mode = data[0];
  std::string body(reinterpret_cast<const char*>(data + 1), size - 1);

  if (mode % 3 == 0) {
    // The bytes are a whole response (apply it twice: an update over itself).
    DeltaDiscoveryResponse response;
    if (!response.ParseFromString(body)) return 0;
    ApplyAndCheck(store, applier, response);
    ApplyAndCheck(store, applier, response);
    return 0;
  }
  // The bytes are one resource body of the chosen type, under a fixed name
  // and then under the name its content implies, over a non-empty state.
  const bool address = mode % 3 == 1;
  const std::string type_url(address ? ambit::xds::kAddressTypeUrl
                                     : ambit::xds::kAuthorizationTypeUrl);
  for (const char* name : {"Kubernetes//Pod/ns/a", "ns/a.ns.svc.cluster.local", "ns/a"}) {
    DeltaDiscoveryResponse response;
    response.set_type_url(type_url);
    response.set_nonce("n");
    auto* resource = response.add_resources();
    resource->set_name(name);
    resource->set_version("v");
    resource->mutable_resource()->set_type_url(type_url);
    resource->mutable_resource()->set_value(body);
    ApplyAndCheck(store, applier, response);
    response.clear_resources();
    response.add_removed_resources(name);
    ApplyAndCheck(store, applier, response);
  }
  return 0;
}
