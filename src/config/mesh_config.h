// Istio's MeshConfig as Ambit reads it, and the namespace-scope rules that
// follow from it (discoverySelectors, istio.io/rev).
//
// Where it comes from: as in Istio, the ConfigMap `istio` in the control
// plane's namespace (istio-system) holds MeshConfig as YAML under the key
// `mesh` (https://istio.io/latest/docs/reference/config/istio.mesh.v1alpha1/).
// A control plane of revision R reads `istio-R` instead. Ambit's own settings
// that have no MeshConfig field live beside it under the key `ambit` of the
// same ConfigMap (docs/mesh-config.md), so the `mesh` text stays valid Istio.
//
// Fields Ambit acts on: discoverySelectors, rootNamespace, trustDomain
// (compared with the CA's). Every other MeshConfig field is accepted and
// listed in MeshConfig::unenforced so the caller can say so; a name that is
// not a MeshConfig field at all, or a field of the wrong type, is an error.
// Field names are accepted in their JSON (lowerCamel) or proto (snake_case)
// spelling, as protobuf's JSON mapping does.
//
// Pure functions; thread-safe.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include <map>

#include "config/meta.h"
#include "config/resource.h"

namespace ambit::config {

inline constexpr std::string_view kIstioSystemNamespace = "istio-system";
inline constexpr std::string_view kMeshConfigKey = "mesh";
inline constexpr std::string_view kMeshNetworksKey = "meshNetworks";
inline constexpr std::string_view kAmbitConfigKey = "ambit";
inline constexpr std::string_view kDefaultRevision = "default";
inline constexpr std::string_view kRevisionLabel = "istio.io/rev";

struct MeshConfig {
  // meshConfig.discoverySelectors: namespace label selectors, OR-ed. Empty (or
  // absent) = every namespace.
  std::vector<LabelSelector> discovery_selectors;
  std::string root_namespace = std::string(kIstioSystemNamespace);
  std::string trust_domain;  // "" = not set (the CA's trust domain applies)
  // Ambit extension (data.ambit.waypointFailClosed): traffic bound to a
  // waypoint that does not exist is denied instead of sent directly.
  bool waypoint_fail_closed = true;
  // Top-level MeshConfig fields that were set but are not enforced, in their
  // lowerCamel spelling, sorted.
  std::vector<std::string> unenforced;
  friend bool operator==(const MeshConfig&, const MeshConfig&) = default;
};

// One problem in mesh config text: |path| is the field path inside the YAML
// ("discoverySelectors[0].matchLabels"; "" = the whole document).
struct MeshConfigProblem {
  std::string path;
  std::string message;
  friend bool operator==(const MeshConfigProblem&, const MeshConfigProblem&) = default;
};

struct MeshConfigResult {
  MeshConfig config;                       // defaults where the text is silent
  std::vector<MeshConfigProblem> errors;   // empty = valid
  bool ok() const { return errors.empty(); }
};

// Parses MeshConfig YAML (the `mesh` key). Empty text = all defaults.
MeshConfigResult ParseMeshConfig(std::string_view yaml);
// Parses Ambit's extension YAML (the `ambit` key) into |result|'s config.
void ParseAmbitMeshExtensions(std::string_view yaml, MeshConfigResult* result);

// The name of the mesh ConfigMap a control plane of |revision| reads:
// "istio" for the default revision, else "istio-<revision>".
std::string MeshConfigMapName(std::string_view revision);
// True if |cm| is a mesh ConfigMap of some revision (istio-system/istio or
// istio-system/istio-*, holding a `mesh` or `ambit` key): its keys are
// validated when it is applied.
bool IsMeshConfigMap(const ConfigMap& cm);
// Reads a mesh ConfigMap's `mesh` and `ambit` keys. Problem paths are
// relative to the object ("data.mesh.discoverySelectors[0]...").
MeshConfigResult ParseMeshConfigMap(const ConfigMap& cm);

// The mesh config a control plane of |revision| runs with: its mesh ConfigMap
// in istio-system if stored (already validated when applied), else defaults.
MeshConfig MeshConfigOf(const std::map<ResourceKey, Resource>& resources, std::string_view revision);

// discoverySelectors semantics: true when |selectors| is empty or any selector
// matches |namespace_labels|.
bool DiscoverySelected(const std::vector<LabelSelector>& selectors, const Labels& namespace_labels);

// The control-plane revision an object asks for: the pod's istio.io/rev label
// if set, else its namespace's, else "default". |pod_labels| may be null.
std::string RequestedRevision(const Labels& namespace_labels, const Labels* pod_labels);

// Whether a control plane of |revision| manages a namespace.
enum class NamespaceScope {
  kManaged,        // selected and of this revision
  kNotSelected,    // outside discoverySelectors
  kOtherRevision,  // istio.io/rev names another revision
};
NamespaceScope ScopeOfNamespace(const std::vector<LabelSelector>& discovery_selectors,
                                std::string_view revision, const Labels& namespace_labels);
std::string_view ToString(NamespaceScope scope);

}  // namespace ambit::config
