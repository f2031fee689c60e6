#include "control/mesh_scope.h"

#include "config/mesh_config.h"
#include "core/log.h"

namespace ambit::control {
namespace {

std::string DescribeSelectors(const std::vector<config::LabelSelector>& selectors) {
  if (selectors.empty()) return "every namespace";
  std::string out;
  for (const auto& s : selectors) {
    std::string one;
    for (const auto& [k, v] : s.match_labels) one += (one.empty() ? "" : ",") + k + "=" + v;
    for (const auto& e : s.match_expressions) {
      one += (one.empty() ? "" : ",") + e.key + " " + e.op;
      if (!e.values.empty()) {
        one += " (";
        for (size_t i = 0; i < e.values.size(); ++i) one += (i ? "," : "") + e.values[i];
        one += ")";
      }
    }
    out += (out.empty() ? "" : " OR ") + std::string("{") + one + "}";
  }
  return out;
}

}  // namespace

MeshScope::MeshScope(std::string revision, std::string ca_trust_domain)
    : revision_(revision.empty() ? std::string(config::kDefaultRevision) : std::move(revision)),
      ca_trust_domain_(std::move(ca_trust_domain)) {}

std::shared_ptr<const model::MeshSettings> MeshScope::For(const StoreState& state) {
  std::lock_guard lock(mu_);
  if (settings_ && state.generation == generation_) return settings_;
  config::MeshConfig mc = config::MeshConfigOf(state.resources, revision_);
  auto next = std::make_shared<model::MeshSettings>();
  next->trust_domain = ca_trust_domain_;  // certificates carry the CA's (AMB0003 if they differ)
  next->root_namespace = mc.root_namespace;
  next->discovery_selectors = mc.discovery_selectors;
  next->revision = revision_;
  next->waypoint_fail_closed = mc.waypoint_fail_closed;
  if (!settings_ || settings_->discovery_selectors != next->discovery_selectors ||
      settings_->root_namespace != next->root_namespace ||
      settings_->waypoint_fail_closed != next->waypoint_fail_closed) {
    AMBIT_LOG_INFO("mesh config ({}/{}): discoverySelectors: {}; rootNamespace {}; waypointFailClosed {}",
                   config::kIstioSystemNamespace, config::MeshConfigMapName(revision_),
                   DescribeSelectors(next->discovery_selectors), next->root_namespace,
                   next->waypoint_fail_closed);
  }
  generation_ = state.generation;
  settings_ = std::move(next);
  return settings_;
}

}  // namespace ambit::control
