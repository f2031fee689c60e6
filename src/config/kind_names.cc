#include "config/kind_names.h"

#include <algorithm>
#include <string>

namespace ambit::config {

const std::vector<KindName>& KindNames() {
  // Short names: Kubernetes core (kubectl api-resources), Istio's CRDs
  // (istio/istio manifests/charts/base/files/crd-all.gen.yaml) and the
  // Gateway API's CRDs (gtw for Gateway; the routes declare none).
  static const std::vector<KindName> names = {
      {"Namespace", "", "namespaces", "namespace", {"ns"}},
      {"Pod", "", "pods", "pod", {"po"}},
      {"Service", "", "services", "service", {"svc"}},
      {"ServiceAccount", "", "serviceaccounts", "serviceaccount", {"sa"}},
      {"ConfigMap", "", "configmaps", "configmap", {"cm"}},
      {"Deployment", "apps", "deployments", "deployment", {"deploy"}},
      {"AuthorizationPolicy", "security.istio.io", "authorizationpolicies", "authorizationpolicy", {"ap"}},
      {"PeerAuthentication", "security.istio.io", "peerauthentications", "peerauthentication", {"pa"}},
      {"RequestAuthentication", "security.istio.io", "requestauthentications", "requestauthentication", {"ra"}},
      {"VirtualService", "networking.istio.io", "virtualservices", "virtualservice", {"vs"}},
      {"DestinationRule", "networking.istio.io", "destinationrules", "destinationrule", {"dr"}},
      {"ServiceEntry", "networking.istio.io", "serviceentries", "serviceentry", {"se"}},
      {"Gateway", "gateway.networking.k8s.io", "gateways", "gateway", {"gtw"}},
      {"HTTPRoute", "gateway.networking.k8s.io", "httproutes", "httproute", {}},
      {"GRPCRoute", "gateway.networking.k8s.io", "grpcroutes", "grpcroute", {}},
  };
  return names;
}

const KindName* FindKindName(std::string_view name) {
  std::string lower(name);
  std::transform(lower.begin(), lower.end(), lower.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  for (const KindName& k : KindNames()) {
    std::string kind(k.kind);
    std::transform(kind.begin(), kind.end(), kind.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    if (lower == kind || lower == k.plural || lower == k.singular) return &k;
    if (std::find(k.short_names.begin(), k.short_names.end(), lower) != k.short_names.end()) return &k;
    if (!k.group.empty() && (lower == std::string(k.plural) + "." + std::string(k.group) ||
                             lower == std::string(k.singular) + "." + std::string(k.group))) {
      return &k;
    }
  }
  return nullptr;
}

}  // namespace ambit::config
