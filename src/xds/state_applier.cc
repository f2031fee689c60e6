#include "xds/state_applier.h"

#include <google/protobuf/any.pb.h>

#include <variant>

#include "envoy/service/discovery/v3/discovery.pb.h"
#include "istio/security/authorization.pb.h"
#include "istio/workload/workload.pb.h"
#include "state/address_decode.h"
#include "xds/type_urls.h"

namespace ambit::xds {

using envoy::service::discovery::v3::DeltaDiscoveryResponse;

StateApplier::StateApplier(state::StateStore& store) : store_(store), current_(store.Snapshot()) {}

const std::map<std::string, std::string>& StateApplier::versions(std::string_view type_url) const {
  static const std::map<std::string, std::string> kNone;
  auto it = versions_.find(type_url);
  return it == versions_.end() ? kNone : it->second;
}

Status StateApplier::Apply(const DeltaDiscoveryResponse& response) {
  const std::string& type_url = response.type_url();
  const bool is_address = type_url == kAddressTypeUrl;
  if (!is_address && type_url != kAuthorizationTypeUrl) {
    return Error(ErrorCode::kInvalidArgument, "unsupported type_url '" + type_url + "'");
  }

  // Decode everything before touching any state.
  std::vector<std::pair<std::string, state::DecodedAddress>> addresses;
  std::vector<std::pair<std::string, std::shared_ptr<const state::Authorization>>> policies;
  for (const auto& resource : response.resources()) {
    const std::string& name = resource.name();
    if (name.empty()) return Error(ErrorCode::kInvalidArgument, "resource without a name");
    if (!resource.has_resource()) {
      return Error(ErrorCode::kInvalidArgument, "resource '" + name + "' has no body");
    }
    if (resource.resource().type_url() != type_url) {
      return Error(ErrorCode::kInvalidArgument, "resource '" + name + "' is a '" +
                                                    resource.resource().type_url() +
                                                    "' in a " + type_url + " response");
    }
    if (is_address) {
      istio::workload::Address address;
      if (!address.ParseFromString(resource.resource().value())) {
        return Error(ErrorCode::kInvalidArgument, "resource '" + name + "' does not parse as Address");
      }
      AMBIT_ASSIGN_OR_RETURN(auto decoded, state::DecodeAddress(name, address));
      addresses.emplace_back(name, std::move(decoded));
    } else {
      istio::security::Authorization policy;
      if (!policy.ParseFromString(resource.resource().value())) {
        return Error(ErrorCode::kInvalidArgument,
                     "resource '" + name + "' does not parse as Authorization");
      }
      AMBIT_ASSIGN_OR_RETURN(auto decoded, state::DecodeAuthorization(name, policy));
      policies.emplace_back(name, std::move(decoded));
    }
  }

  state::WorkloadState::Contents next = current_->contents();
  std::map<std::string, std::string> next_versions = versions(type_url);
  for (const std::string& name : response.removed_resources()) {
    if (is_address) {
      if (auto it = next.workloads.find(name); it != next.workloads.end()) next.workloads.erase(it);
      if (auto it = next.services.find(name); it != next.services.end()) next.services.erase(it);
    } else if (auto it = next.policies.find(name); it != next.policies.end()) {
      next.policies.erase(it);
    }
    next_versions.erase(name);
  }
  for (auto& [name, decoded] : addresses) {
    // An Address may switch between workload and service under one name.
    if (auto* w = std::get_if<std::shared_ptr<const state::Workload>>(&decoded)) {
      if (auto it = next.services.find(name); it != next.services.end()) next.services.erase(it);
      auto& slot = next.workloads[name];
      // A resend of the same workload keeps the object the previous snapshot
      // had, so what compares by identity (policy generation) sees no change.
      if (slot == nullptr || !(*slot == **w)) slot = std::move(*w);
    } else {
      if (auto it = next.workloads.find(name); it != next.workloads.end()) next.workloads.erase(it);
      next.services[name] = std::get<std::shared_ptr<const state::Service>>(std::move(decoded));
    }
  }
  for (auto& [name, policy] : policies) {
    auto& slot = next.policies[name];
    // Same content as before: keep the object, so its compiled form is
    // reused and open connections are not re-checked for nothing.
    if (slot == nullptr || slot->SerializeAsString() != policy->SerializeAsString()) {
      slot = std::move(policy);
    }
  }
  for (const auto& resource : response.resources()) {
    next_versions[resource.name()] = resource.version();
  }

  current_ = std::make_shared<const state::WorkloadState>(std::move(next), current_.get());
  versions_[type_url] = std::move(next_versions);
  store_.Publish(current_);
  return Ok();
}

}  // namespace ambit::xds
