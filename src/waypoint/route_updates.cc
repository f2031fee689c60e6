#include "waypoint/route_updates.h"

#include <google/protobuf/any.pb.h>

#include <nlohmann/json.hpp>

#include "core/log.h"
#include "envoy/service/discovery/v3/discovery.pb.h"
#include "route/table.h"
#include "route/wire.h"
#include "waypoint/http_proxy.h"

namespace ambit::waypoint {

void RouteTableUpdater::Attach(RouteTables* tables) { tables_ = tables; }

Status RouteTableUpdater::Apply(
    const envoy::service::discovery::v3::DeltaDiscoveryResponse& response) {
  if (response.type_url() != route::kRouteTableTypeUrl) {
    return Error(ErrorCode::kInvalidArgument, "unsupported type_url '" + response.type_url() + "'");
  }
  if (tables_ == nullptr) return Error(ErrorCode::kInternal, "route tables not attached yet");

  RouteTables::Map next = *tables_->Snapshot();
  std::map<std::string, Held> held;
  {
    std::lock_guard lock(mu_);
    held = held_;
  }
  for (const std::string& name : response.removed_resources()) {
    next.erase(name);
    held.erase(name);
  }
  std::string rejected;
  auto reject = [&](std::string why) {
    if (!rejected.empty()) rejected += "; ";
    rejected += why;
  };
  for (const auto& resource : response.resources()) {
    const std::string& name = resource.name();
    if (name.empty()) {
      reject("a RouteTable resource without a name");
      continue;
    }
    if (resource.resource().type_url() != route::kRouteTableTypeUrl) {
      reject("RouteTable '" + name + "': body is a '" + resource.resource().type_url() + "'");
      continue;
    }
    Result<route::RouteRules> rules =
        route::DecodeRouteTableBytes(name, resource.resource().value());
    if (!rules.ok()) {
      reject(rules.error().message());
      continue;
    }
    Result<route::RouteTable> table = route::Compile(std::move(rules).value());
    if (!table.ok()) {
      reject("RouteTable '" + name + "': " + table.error().message());
      continue;
    }
    const std::size_t routes = table->routes().size();
    next[name] = std::make_shared<const route::RouteTable>(std::move(table).value());
    held[name] = Held{.version = resource.version(), .routes = routes};
  }
  tables_->Publish(std::move(next));
  {
    std::lock_guard lock(mu_);
    held_ = std::move(held);
    if (!rejected.empty()) last_error_ = rejected;
  }
  if (!rejected.empty()) {
    return Error(ErrorCode::kInvalidArgument, rejected + " (previous table kept)");
  }
  return Ok();
}

std::map<std::string, std::string> RouteTableUpdater::versions() const {
  std::lock_guard lock(mu_);
  std::map<std::string, std::string> out;
  for (const auto& [name, h] : held_) out[name] = h.version;
  return out;
}

void RouteTableUpdater::Dump(nlohmann::json& out) const {
  std::lock_guard lock(mu_);
  out = nlohmann::json::object();
  nlohmann::json tables = nlohmann::json::object();
  for (const auto& [name, h] : held_) tables[name] = {{"version", h.version}, {"routes", h.routes}};
  out["tables"] = std::move(tables);
  out["lastRejection"] = last_error_;
}

}  // namespace ambit::waypoint
