// Planning an apply or delete: from the current StoreState and parsed manifests
// to the next StoreState, deciding everything up front (validation against the
// cluster, Deployment expansion into pods, scheduling to nodes, pod UIDs,
// ClusterIP allocation). Pure: no I/O, so a rejected request changes nothing
// and the rules are unit-testable. Thread-compatible.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "config/diagnostic.h"
#include "config/parse.h"
#include "control/store.h"
#include "core/result.h"

namespace ambit::control {

inline constexpr char kServiceCidr[] = "10.96.0.0/16";
inline constexpr char kTemplateHashLabel[] = "pod-template-hash";

struct PlanContext {
  int node_count = 1;
  // True if a container command exists on this machine.
  std::function<bool(const std::string&)> command_exists;
  // n random characters from [a-z0-9] (pod name suffixes, UIDs).
  std::function<std::string(int)> random;
  // The waypoint proxy's command line for a waypoint Gateway (program
  // first). When set, applying a Gateway of class istio-waypoint also makes
  // its Deployment and Service (waypoint_objects.h); unset, the Gateway is
  // only stored.
  std::function<std::vector<std::string>(const config::Gateway&)> waypoint_command;
};

struct Change {
  config::ResourceKey key;
  std::string action;  // created | configured | unchanged | deleted
};

struct Plan {
  StoreState next;
  std::vector<Change> changes;
  // Pods the request created or kept (what `apply --wait` waits for).
  std::vector<config::ResourceKey> pods;
};

// Manifests parsed by config::Parse*, possibly from several files.
struct Manifests {
  std::vector<config::Resource> resources;
  std::vector<config::Origin> origins;  // parallel to resources
};

// Every problem found, formatted one per line, is in the error.
Result<Plan> PlanApply(const StoreState& current, const Manifests& input, const PlanContext& ctx);
Result<Plan> PlanDelete(const StoreState& current, const Manifests& input, bool ignore_not_found);

// The program a container runs: command[0], or args[0] when command is empty.
std::string ContainerProgram(const config::Container& container);

// Kubernetes-style pod-template-hash: 10 characters from a safe alphabet.
std::string TemplateHash(const config::PodTemplate& tmpl);

}  // namespace ambit::control
