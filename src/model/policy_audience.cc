#include "model/policy_audience.h"

namespace ambit::model {

void PolicyAudience::AddWaypoint(const std::string& ns, const std::string& name,
                                 const std::vector<std::string>& keys) {
  waypoint_keys_[ns][name].insert(keys.begin(), keys.end());
}

void PolicyAudience::AddNodeWorkload(const std::string& node, const std::string& ns,
                                     const std::vector<std::string>& keys) {
  node_namespaces_[node].insert(ns);
  node_keys_[node].insert(keys.begin(), keys.end());
}

void PolicyAudience::Finish(const std::map<std::string, istio::security::Authorization>& policies) {
  std::map<std::string, std::set<std::string>> by_namespace;
  for (const auto& [key, policy] : policies) {
    if (policy.scope() == istio::security::GLOBAL) global_.insert(key);
    if (policy.scope() == istio::security::NAMESPACE) by_namespace[policy.namespace_()].insert(key);
  }
  for (const auto& [node, namespaces] : node_namespaces_) {
    KeySet& keys = node_keys_[node];
    for (const std::string& ns : namespaces) {
      auto it = by_namespace.find(ns);
      if (it != by_namespace.end()) keys.insert(it->second.begin(), it->second.end());
    }
  }
}

const PolicyAudience::KeySet* PolicyAudience::WaypointKeys(std::string_view ns,
                                                           std::string_view name) const {
  auto in_ns = waypoint_keys_.find(ns);
  if (in_ns == waypoint_keys_.end()) return nullptr;
  auto it = in_ns->second.find(name);
  return it == in_ns->second.end() ? nullptr : &it->second;
}

bool PolicyAudience::Visible(std::string_view node, std::string_view proxy_ns,
                             std::string_view proxy_name, std::string_view key) const {
  if (const KeySet* waypoint = WaypointKeys(proxy_ns, proxy_name)) return waypoint->contains(key);
  if (global_.contains(key)) return true;
  auto it = node_keys_.find(node);
  return it != node_keys_.end() && it->second.contains(key);
}

std::set<std::string> PolicyAudience::ForNode(std::string_view node) const {
  std::set<std::string> out(global_.begin(), global_.end());
  auto it = node_keys_.find(node);
  if (it != node_keys_.end()) out.insert(it->second.begin(), it->second.end());
  return out;
}

std::set<std::string> PolicyAudience::ForWaypoint(std::string_view ns, std::string_view name) const {
  const KeySet* keys = WaypointKeys(ns, name);
  return keys == nullptr ? std::set<std::string>{} : std::set<std::string>(keys->begin(), keys->end());
}

}  // namespace ambit::model
