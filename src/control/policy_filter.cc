#include "control/policy_filter.h"

#include "route/wire.h"
#include "xds/type_urls.h"

namespace ambit::control {

void PolicyAudienceFilter::Set(std::shared_ptr<const model::PolicyAudience> audience) {
  if (!audience) audience = std::make_shared<const model::PolicyAudience>();
  std::lock_guard lock(mu_);
  audience_ = std::move(audience);
}

void PolicyAudienceFilter::SetRouteAudience(std::shared_ptr<const RouteAudience> audience) {
  if (!audience) audience = std::make_shared<const RouteAudience>();
  std::lock_guard lock(mu_);
  routes_ = std::move(audience);
}

bool PolicyAudienceFilter::Visible(const xds::ProxyNode& node, std::string_view type_url,
                                   const xds::VersionedResource& resource) const {
  if (type_url == route::kRouteTableTypeUrl) {
    std::shared_ptr<const RouteAudience> routes;
    {
      std::lock_guard lock(mu_);
      routes = routes_;
    }
    auto it = routes->find(resource.name);
    return it != routes->end() && it->second.ns == node.pod_namespace &&
           it->second.name == node.pod_name;
  }
  if (type_url != xds::kAuthorizationTypeUrl) return true;
  std::shared_ptr<const model::PolicyAudience> audience;
  {
    std::lock_guard lock(mu_);
    audience = audience_;
  }
  return audience->Visible(node.node_name, node.pod_namespace, node.pod_name, resource.name);
}

}  // namespace ambit::control
