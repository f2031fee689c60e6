// StateApplier: the ztunnel side's decode-and-apply step for delta ADS
// responses (istio.workload.Address and istio.security.Authorization).
//
// A response is applied all or nothing: every resource is unpacked and
// validated first (state/address_decode.h); if any is bad, nothing changes and
// the error (naming the resource) becomes the NACK's error_detail. Otherwise a
// new immutable WorkloadState (previous contents + upserts - removals) is
// published to the StateStore, and the per-resource versions are recorded for
// initial_resource_versions on reconnect.
//
// Thread-compatible: one owner (the xDS client thread) calls Apply; readers
// use the StateStore.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <string_view>

#include "core/result.h"
#include "state/state_store.h"

namespace envoy::service::discovery::v3 {
class DeltaDiscoveryResponse;
}

namespace ambit::xds {

class StateApplier {
 public:
  // |store| must outlive this object. Starts from the store's current snapshot.
  explicit StateApplier(state::StateStore& store);

  Status Apply(const envoy::service::discovery::v3::DeltaDiscoveryResponse& response);

  // name -> version of every resource held for |type_url|.
  const std::map<std::string, std::string>& versions(std::string_view type_url) const;

 private:
  state::StateStore& store_;
  std::shared_ptr<const state::WorkloadState> current_;
  std::map<std::string, std::map<std::string, std::string>, std::less<>> versions_;
};

}  // namespace ambit::xds
