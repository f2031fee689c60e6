#include "xds/delta_session.h"

#include <google/protobuf/any.pb.h>

namespace ambit::xds {

using envoy::service::discovery::v3::DeltaDiscoveryRequest;
using envoy::service::discovery::v3::DeltaDiscoveryResponse;

namespace {
constexpr std::string_view kWildcard = "*";
}

Status DeltaSession::OnRequest(const DeltaDiscoveryRequest& request) {
  if (request.type_url().empty()) {
    return Error(ErrorCode::kInvalidArgument, "DeltaDiscoveryRequest without type_url");
  }
  auto [it, first] = types_.try_emplace(request.type_url());
  TypeState& t = it->second;
  if (first) {
    // Legacy wildcard: a first request naming nothing subscribes to everything.
    t.wildcard = request.resource_names_subscribe().empty();
    for (const auto& [name, version] : request.initial_resource_versions()) {
      t.known[name] = version;
    }
  }
  for (const std::string& name : request.resource_names_subscribe()) {
    if (name == kWildcard) {
      t.wildcard = true;
    } else {
      t.names.insert(name);
      t.must_send.insert(name);
    }
  }
  for (const std::string& name : request.resource_names_unsubscribe()) {
    if (name == kWildcard) {
      t.wildcard = false;
    } else {
      t.names.erase(name);
      t.must_send.erase(name);
    }
    // The client drops what it unsubscribed from; forget its version so a
    // later subscribe sends it again.
    t.known.erase(name);
  }
  // Every response is answered once; several may be in flight, so an answer
  // to an older nonce counts too.
  if (!request.response_nonce().empty()) {
    if (request.has_error_detail()) {
      ++t.stats.nacks;
      t.stats.last_nack = request.error_detail().message();
    } else {
      ++t.stats.acks;
    }
  }
  return Ok();
}

std::optional<DeltaDiscoveryResponse> DeltaSession::BuildResponse(std::string_view type_url,
                                                                 const TypeSnapshot& snapshot,
                                                                 const Visibility& visible) {
  auto it = types_.find(type_url);
  if (it == types_.end()) return std::nullopt;
  TypeState& t = it->second;

  DeltaDiscoveryResponse response;
  auto wanted = [&](const VersionedResource& r) {
    return (t.wildcard || t.names.contains(r.name)) && (!visible || visible(type_url, r));
  };
  auto send = [&](const VersionedResource& r) {
    auto* out = response.add_resources();
    out->set_name(r.name);
    out->set_version(r.version);
    *out->mutable_resource() = *r.body;
    t.known[r.name] = r.version;
  };

  for (const auto& [name, r] : snapshot) {
    if (!wanted(r)) continue;
    auto held = t.known.find(name);
    if (held == t.known.end() || held->second != r.version || t.must_send.contains(name)) send(r);
  }
  // Names the client holds that it should no longer have.
  for (auto held = t.known.begin(); held != t.known.end();) {
    auto r = snapshot.find(held->first);
    if (r == snapshot.end() || !wanted(r->second)) {
      response.add_removed_resources(held->first);
      t.must_send.erase(held->first);
      held = t.known.erase(held);
    } else {
      ++held;
    }
  }
  // Explicitly requested names that do not exist (or are not visible): say so.
  for (const std::string& name : t.must_send) {
    auto r = snapshot.find(name);
    if (r == snapshot.end() || !wanted(r->second)) response.add_removed_resources(name);
  }
  t.must_send.clear();

  if (response.resources_size() == 0 && response.removed_resources_size() == 0 &&
      !t.initial_response_due) {
    return std::nullopt;
  }
  t.initial_response_due = false;
  response.set_type_url(std::string(type_url));
  response.set_nonce(std::to_string(next_nonce_++));
  return response;
}

std::vector<std::string> DeltaSession::subscribed_types() const {
  std::vector<std::string> out;
  for (const auto& [type_url, t] : types_) out.push_back(type_url);
  return out;
}

std::map<std::string, std::string> DeltaSession::known_versions(std::string_view type_url) const {
  auto it = types_.find(type_url);
  if (it == types_.end()) return {};
  return {it->second.known.begin(), it->second.known.end()};
}

DeltaSession::TypeStats DeltaSession::stats(std::string_view type_url) const {
  auto it = types_.find(type_url);
  return it == types_.end() ? TypeStats{} : it->second.stats;
}

}  // namespace ambit::xds
