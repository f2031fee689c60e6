// Apply and delete requests: parse manifests (config), plan against the current
// store (planner), commit, and wake the reconciler. Requests are serialized, so
// concurrent applies never lose each other's updates. Thread-safe.
//
// An apply's warnings say what is not done: parse warnings, one per
// unenforced kind or field the input uses (config/support.h), the analyzers'
// Warning and Error findings (config/analysis.h) about the applied objects
// (all AMB000x namespace-scope findings when the mesh ConfigMap is applied;
// Info findings are left to `ambitctl analyze`), and, for each
// AuthorizationPolicy and PeerAuthentication it applied, what the policy
// lowering says about it against the resulting store (model/authorization.h:
// parts not enforced, or enforced differently than written).
#pragma once

#include <mutex>
#include <string>
#include <vector>

#include "config/analysis.h"
#include "control/planner.h"
#include "control/reconciler.h"
#include "control/store.h"
#include "model/ambient_input.h"

namespace ambit::control {

struct ManifestText {
  std::string source;   // file name, for messages
  std::string content;  // YAML or JSON, one or more documents
};

struct Outcome {
  Plan plan;
  std::vector<std::string> warnings;
};

// The policy lowering's warnings about the AuthorizationPolicies and
// PeerAuthentications among |input|, evaluated against the store state |next|
// they were committed into: complete lines like the parser's,
// "<file>:<line>: warning: document N (Kind ns/name): <message>".
std::vector<std::string> PolicyWarningsFor(const StoreState& next, const Manifests& input,
                                           const model::MeshSettings& mesh);

// The same for the HTTPRoutes, GRPCRoutes, VirtualServices and
// DestinationRules among |input|: the route lowering's problems (field path
// named) and routes that do nothing because their Service has no waypoint
// (model/route_tables.h).
std::vector<std::string> RouteWarningsFor(const StoreState& next, const Manifests& input,
                                          const model::MeshSettings& mesh);

class MeshScope;

class Controller {
 public:
  Controller(Store* store, Reconciler* reconciler, PlanContext context,
             config::AnalysisContext analysis = {}, MeshScope* scope = nullptr);

  Result<Outcome> Apply(const std::vector<ManifestText>& manifests);
  Result<Outcome> Delete(const std::vector<ManifestText>& manifests, bool ignore_not_found);

 private:
  Result<Manifests> Parse(const std::vector<ManifestText>& manifests,
                          std::vector<std::string>* warnings) const;

  Store* store_;
  Reconciler* reconciler_;
  PlanContext context_;
  config::AnalysisContext analysis_;
  MeshScope* scope_;  // may be null: default mesh settings
  std::mutex mu_;
};

}  // namespace ambit::control
