#include "control/xds_publisher.h"

#include "control/mesh_scope.h"
#include "control/model_input.h"
#include "core/log.h"
#include "model/ambient_model.h"
#include "model/route_tables.h"
#include "route/wire.h"
#include "xds/resource_store.h"
#include "xds/type_urls.h"

namespace ambit::control {

void XdsPublisher::Publish(const StoreState& state, const RuntimeView& view) {
  std::string digest = std::to_string(state.generation);
  for (const auto& [key, pv] : view.pods) {
    digest += "|" + key.ns + "/" + key.name + "," + pv.uid + "," + pv.ip + "," + pv.phase +
              (pv.ready ? ",r" : ",-");
  }
  if (digest == last_digest_) return;

  const model::MeshSettings mesh = scope_ ? *scope_->For(state) : model::MeshSettings{};
  model::AmbientInput input = BuildModelInput(state, &view, mesh);
  for (const auto* se : state.ServiceEntries()) {
    model::ServiceEntryInput in;
    in.entry = se;
    auto it = state.service_entry_addresses.find(se->metadata.ns + "/" + se->metadata.name);
    if (it != state.service_entry_addresses.end()) in.auto_addresses = it->second;
    input.service_entries.push_back(std::move(in));
  }
  model::AmbientModel model = model::BuildAmbientModel(input);
  for (const auto& w : model.addresses.warnings) AMBIT_LOG_WARN("ambient model: {}", w);
  std::vector<std::string> policy_warnings;
  for (const auto& w : model.authorization.warnings) policy_warnings.push_back(w.ToString());
  if (policy_warnings != last_policy_warnings_) {
    for (const auto& w : policy_warnings) AMBIT_LOG_WARN("policy: {}", w);
    last_policy_warnings_ = std::move(policy_warnings);
  }

  model::RouteTableModel routes = model::BuildRouteTables(input);
  std::vector<std::string> route_warnings;
  for (const auto& d : routes.diagnostics) route_warnings.push_back(d.ToString());
  if (route_warnings != last_route_warnings_) {
    for (const auto& w : route_warnings) AMBIT_LOG_WARN("routes: {}", w);
    last_route_warnings_ = std::move(route_warnings);
  }

  if (filter_ != nullptr) {
    filter_->Set(std::make_shared<const model::PolicyAudience>(std::move(model.audience)));
    filter_->SetRouteAudience(std::make_shared<const PolicyAudienceFilter::RouteAudience>(
        routes.audience.begin(), routes.audience.end()));
  }
  // Policies before the addresses that list them.
  auto policies = resources_->SetAll(xds::kAuthorizationTypeUrl, model.authorization.MessageView());
  if (!policies.ok()) {
    AMBIT_LOG_ERROR("publishing authorization policies: {}", policies.error().ToString());
    return;
  }
  auto addresses = resources_->SetAll(xds::kAddressTypeUrl, model.addresses.MessageView());
  if (!addresses.ok()) {
    AMBIT_LOG_ERROR("publishing addresses: {}", addresses.error().ToString());
    return;
  }
  // Route tables after the addresses of the Services they name.
  auto tables = resources_->SetAll(route::kRouteTableTypeUrl, routes.MessageView());
  if (!tables.ok()) {
    AMBIT_LOG_ERROR("publishing route tables: {}", tables.error().ToString());
    return;
  }
  if (!tables->empty()) {
    AMBIT_LOG_DEBUG("xds: {} route table(s) upserted, {} removed", tables->upserted.size(),
                    tables->removed.size());
  }
  if (!policies->empty() || !addresses->empty()) {
    AMBIT_LOG_DEBUG("xds: {} address(es) upserted, {} removed; {} policy(ies) upserted, {} removed",
                    addresses->upserted.size(), addresses->removed.size(),
                    policies->upserted.size(), policies->removed.size());
  }
  last_digest_ = std::move(digest);
}

}  // namespace ambit::control
