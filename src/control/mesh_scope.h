// The mesh settings ambitd runs with: its revision, its CA's trust domain and
// the MeshConfig in the store's mesh ConfigMap (istio-system/istio, or
// istio-<revision>; docs/mesh-config.md). The ambient model and the node
// agents both read them from here, so the namespaces that are published and
// the pods that are captured always agree. A change to the ConfigMap takes
// effect on the next reconciler pass, without a restart.
//
// Thread-safe.
#pragma once

#include <memory>
#include <mutex>
#include <string>

#include "config/analysis.h"
#include "control/store.h"
#include "model/ambient_input.h"

namespace ambit::control {

class MeshScope {
 public:
  MeshScope(std::string revision, std::string ca_trust_domain);

  // The settings for |state|; computed once per store generation (the
  // ConfigMap was validated when it was applied). Logs what changed.
  std::shared_ptr<const model::MeshSettings> For(const StoreState& state);

  const std::string& revision() const { return revision_; }
  // What the analyzers need to know about this control plane.
  config::AnalysisContext AnalysisContext() const { return {revision_, ca_trust_domain_}; }

 private:
  const std::string revision_;
  const std::string ca_trust_domain_;
  std::mutex mu_;
  uint64_t generation_ = UINT64_MAX;
  std::shared_ptr<const model::MeshSettings> settings_;
};

}  // namespace ambit::control
