// ResourceHandler: how a node proxy consumes an xDS type that is not part of
// the workload state (state::WorkloadState), e.g. the waypoint's
// ambit.route.v1.RouteTable. DeltaAdsClient subscribes (wildcard) to each
// handler's type and hands it every response of that type.
//
// Called only on the client's thread (Apply and versions never run
// concurrently with each other).
#pragma once

#include <map>
#include <string>

#include "core/result.h"

namespace envoy::service::discovery::v3 {
class DeltaDiscoveryResponse;
}

namespace ambit::xds {

class ResourceHandler {
 public:
  virtual ~ResourceHandler() = default;
  // Applies one response (upserts and removals). A resource that does not
  // decode keeps its previous value (or stays absent); the others are
  // applied. Returns the error that NACKs the response (naming every rejected
  // resource), or Ok to ACK it.
  virtual Status Apply(const envoy::service::discovery::v3::DeltaDiscoveryResponse& response) = 0;
  // name -> version of every resource held (initial_resource_versions on reconnect).
  virtual std::map<std::string, std::string> versions() const = 0;
};

}  // namespace ambit::xds
