// DeltaAdsServer: ambitd's envoy.service.discovery.v3.AggregatedDiscoveryService
// (DeltaAggregatedResources only), serving the ResourceStore to proxies.
//
// Per stream: authenticate the bearer token (NodeAuthenticator), read the Node
// from the first request (NODE_NAME must match the credential), then run a
// DeltaSession: requests update subscriptions/ACKs, and a writer sends a
// response whenever the store changes or a request asks for something.
// Only changed resources (and removals) are sent; see delta_session.h.
//
// Threading: gRPC's synchronous API. Each stream occupies one gRPC handler
// thread (reading) plus one writer thread owned by the stream. Store changes
// wake every stream's writer. All public methods are thread-safe.
//
// Lifetime: register service() on a grpc::ServerBuilder; before shutting the
// grpc::Server down, call Stop() (it cancels open streams, otherwise
// grpc::Server::Shutdown() without a deadline waits for them forever). The
// DeltaAdsServer must outlive the grpc::Server. The store, authenticator and
// filter must outlive this object.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "xds/node_authenticator.h"
#include "xds/node_filter.h"
#include "xds/proxy_node.h"
#include "xds/resource_store.h"

namespace grpc {
class Service;
}
namespace envoy::service::discovery::v3 {
class DeltaDiscoveryResponse;
}

namespace ambit::metrics {
class Registry;
}

namespace ambit::xds {

// The |type| label of the xDS metrics for |type_url|, as istiod names it.
std::string MetricTypeName(std::string_view type_url);

class DeltaAdsServer {
 public:
  struct Stats {
    uint64_t streams_opened = 0;
    uint64_t streams_rejected = 0;  // failed authentication or a bad first request
    uint64_t responses_sent = 0;
    uint64_t resources_sent = 0;
    uint64_t removals_sent = 0;
    uint64_t acks = 0;
    uint64_t nacks = 0;
    size_t connected = 0;  // streams open now
  };

  // Reports istiod's xDS metrics (https://istio.io/latest/docs/reference/commands/pilot-discovery/#metrics)
  // in |registry|, which must outlive this server; call before serving:
  //   pilot_xds                       streams open now
  //   pilot_xds_pushes{type}          responses sent
  //   pilot_total_xds_rejects{type}   responses the proxy rejected (NACK)
  //   pilot_xds_config_size_bytes{type}  serialized size of each response
  // |type| is istiod's short name: "wds" (Address), "wads" (Authorization),
  // otherwise the type URL (MetricTypeName).
  void EnableMetrics(metrics::Registry& registry);

  // Called on a stream's writer thread just before each response is written
  // (tests and debug logging use it to see exactly what goes on the wire).
  using SendObserver = std::function<void(
      const ProxyNode& node, const envoy::service::discovery::v3::DeltaDiscoveryResponse&)>;

  // |filter| may be null (everything is visible).
  DeltaAdsServer(ResourceStore& store, const NodeAuthenticator& authenticator,
                 const NodeResourceFilter* filter = nullptr);
  ~DeltaAdsServer();

  DeltaAdsServer(const DeltaAdsServer&) = delete;
  DeltaAdsServer& operator=(const DeltaAdsServer&) = delete;

  // The gRPC service to register (owned by this object).
  grpc::Service* service();

  // Cancels every open stream and refuses new ones (UNAVAILABLE). Idempotent.
  void Stop();

  // Set before streams start; not synchronized with running streams.
  void SetSendObserver(SendObserver observer);

  Stats stats() const;
  // Nodes with an open stream (for admin/debug output).
  std::vector<ProxyNode> ConnectedNodes() const;

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace ambit::xds
