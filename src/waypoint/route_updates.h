// RouteTableUpdater: the waypoint's consumer of ambit.route.v1.RouteTable
// (docs/xds.md): each resource (named by a Service FQDN) is decoded
// (route/wire.h), compiled (route::Compile) and published, whole, into the
// RouteTables the HTTP path reads per request; a removed resource returns its
// Service to Istio's default route.
//
// A resource that fails to decode or compile keeps the table it had before
// (none: the default route) and NACKs the response with an error naming it;
// the other resources of the response are applied.
//
// Called on the xDS client's thread (xds::ResourceHandler); Dump may run on
// any thread.
#pragma once

#include <map>
#include <mutex>
#include <nlohmann/json_fwd.hpp>
#include <string>

#include "xds/resource_handler.h"

namespace ambit::waypoint {

class RouteTables;

class RouteTableUpdater final : public xds::ResourceHandler {
 public:
  // Sets where tables go; must be called before the first Apply (the xDS
  // client starts after the relay is built). |tables| must outlive this.
  void Attach(RouteTables* tables);

  Status Apply(const envoy::service::discovery::v3::DeltaDiscoveryResponse& response) override;
  std::map<std::string, std::string> versions() const override;

  // config_dump: {"name": {"version": ..., "routes": N}, ...} plus the last rejection.
  void Dump(nlohmann::json& out) const;

 private:
  struct Held {
    std::string version;
    std::size_t routes = 0;
  };
  RouteTables* tables_ = nullptr;
  mutable std::mutex mu_;  // guards held_ and last_error_ (Dump reads them from the admin thread)
  std::map<std::string, Held> held_;
  std::string last_error_;
};

}  // namespace ambit::waypoint
