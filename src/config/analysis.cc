#include "config/analysis.h"

#include <algorithm>
#include <set>
#include <tuple>

#include "config/mesh_config.h"

namespace ambit::config {
namespace {

constexpr std::string_view kUseWaypointLabel = "istio.io/use-waypoint";
constexpr std::string_view kUseWaypointNamespaceLabel = "istio.io/use-waypoint-namespace";
constexpr std::string_view kDataplaneModeLabel = "istio.io/dataplane-mode";

const std::string* Find(const Labels& labels, std::string_view key) {
  auto it = labels.find(std::string(key));
  return it == labels.end() ? nullptr : &it->second;
}

std::string Quote(const std::string& s) { return "\"" + s + "\""; }

std::string FormatSelector(const Labels& labels) {
  std::string out;
  for (const auto& [k, v] : labels) out += (out.empty() ? "" : ",") + k + "=" + v;
  return out;
}

bool IsSystemNamespace(const std::string& ns) {
  return ns == "kube-system" || ns == "kube-public" || ns == "kube-node-lease" ||
         ns == "local-path-storage" || ns == kIstioSystemNamespace;
}

// Istio's protocol prefixes for port names (istio/istio pkg/config/protocol).
bool FollowsPortNaming(const std::string& name) {
  static const std::set<std::string> kProtocols = {"tcp",   "udp",   "grpc",  "grpc-web",
                                                   "http",  "http_proxy", "http2", "https",
                                                   "tls",   "mongo", "redis", "mysql"};
  std::string lower = name;
  std::transform(lower.begin(), lower.end(), lower.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  if (kProtocols.contains(lower)) return true;
  size_t dash = lower.find('-');
  return dash != std::string::npos && kProtocols.contains(lower.substr(0, dash));
}

class Analyzer {
 public:
  Analyzer(const std::map<ResourceKey, Resource>& resources, const AnalysisContext& ctx)
      : resources_(resources), ctx_(ctx), mesh_(MeshConfigOf(resources, ctx.revision)) {}

  std::vector<AnalysisMessage> Run() {
    for (const auto& [key, r] : resources_) {
      if (const auto* ns = std::get_if<Namespace>(&r)) {
        CheckWaypointLabel(key, ns->metadata.labels, ns->metadata.name);
        CheckNamespaceScope(key, ns->metadata.labels);
      } else if (const auto* pod = std::get_if<Pod>(&r)) {
        CheckWaypointLabel(key, pod->metadata.labels, pod->metadata.ns);
        CheckPodRevision(key, *pod);
      } else if (const auto* svc = std::get_if<Service>(&r)) {
        CheckWaypointLabel(key, svc->metadata.labels, svc->metadata.ns);
        CheckPortNames(key, *svc);
      } else if (const auto* se = std::get_if<ServiceEntry>(&r)) {
        CheckWaypointLabel(key, se->metadata.labels, se->metadata.ns);
      } else if (const auto* ap = std::get_if<AuthorizationPolicy>(&r)) {
        CheckSelector(key, ap->selector);
        CheckTargetRefs(key, ap->target_refs);
      } else if (const auto* pa = std::get_if<PeerAuthentication>(&r)) {
        CheckSelector(key, pa->selector);
      } else if (const auto* ra = std::get_if<RequestAuthentication>(&r)) {
        CheckSelector(key, ra->selector);
        CheckTargetRefs(key, ra->target_refs);
      } else if (const auto* cm = std::get_if<ConfigMap>(&r)) {
        CheckTrustDomain(key, *cm);
      }
    }
    std::sort(out_.begin(), out_.end(), [](const AnalysisMessage& a, const AnalysisMessage& b) {
      return std::tie(a.resource, a.code, a.message) < std::tie(b.resource, b.code, b.message);
    });
    return std::move(out_);
  }

 private:
  void Add(std::string level, std::string code, std::string name, const ResourceKey& key,
           std::string message) {
    out_.push_back({std::move(level), std::move(code), std::move(name), key, std::move(message)});
  }

  bool Exists(std::string_view kind, const std::string& ns, const std::string& name) const {
    return resources_.contains(ResourceKey{std::string(kind), ns, name});
  }

  // Labels of namespace |ns| (a namespace that was never applied has none).
  const Labels& NamespaceLabels(const std::string& ns) const {
    static const Labels kNone;
    auto it = resources_.find(ResourceKey{"Namespace", "", ns});
    if (it == resources_.end()) return kNone;
    return MetaOf(it->second).labels;
  }

  // IST0101: istio.io/use-waypoint naming a Gateway that does not exist.
  void CheckWaypointLabel(const ResourceKey& key, const Labels& labels, const std::string& own_ns) {
    const std::string* name = Find(labels, kUseWaypointLabel);
    if (!name || name->empty() || *name == "none") return;
    const std::string* ns_label = Find(labels, kUseWaypointNamespaceLabel);
    const std::string ns = ns_label && !ns_label->empty() ? *ns_label : own_ns;
    if (!Exists("Gateway", ns, *name)) {
      Add("Error", "IST0101", "ReferencedResourceNotFound", key,
          "Referenced waypoint not found: " + Quote(ns + "/" + *name));
    }
  }

  // IST0101: a policy's targetRef(s) naming an object that does not exist.
  void CheckTargetRefs(const ResourceKey& key, const std::vector<PolicyTargetRef>& refs) {
    for (const PolicyTargetRef& ref : refs) {
      if (ref.kind != "Gateway" && ref.kind != "Service" && ref.kind != "ServiceEntry") continue;
      const std::string ns = ref.ns.empty() ? key.ns : ref.ns;
      if (!Exists(ref.kind, ns, ref.name)) {
        Add("Error", "IST0101", "ReferencedResourceNotFound", key,
            "Referenced " + ref.kind + " not found: " + Quote(ns + "/" + ref.name));
      }
    }
  }

  // IST0127: a workload selector that matches no pod.
  void CheckSelector(const ResourceKey& key, const std::optional<Labels>& selector) {
    if (!selector || selector->empty()) return;
    const bool root = key.ns == mesh_.root_namespace;
    for (const auto& [k, r] : resources_) {
      const auto* pod = std::get_if<Pod>(&r);
      if (!pod || (!root && pod->metadata.ns != key.ns)) continue;
      if (SelectorMatches(*selector, pod->metadata.labels)) return;
    }
    Add("Warning", "IST0127", "NoMatchingWorkloadsFound", key,
        "No matching workloads for this resource with the following labels: " + FormatSelector(*selector));
  }

  // IST0118: port names Istio cannot read a protocol from.
  void CheckPortNames(const ResourceKey& key, const Service& svc) {
    if (IsSystemNamespace(svc.metadata.ns) || svc.spec.type == "ExternalName") return;
    // A waypoint's own Service (made from its Gateway) carries HBONE only.
    for (const OwnerReference& owner : svc.metadata.owner_references) {
      if (owner.kind == "Gateway") return;
    }
    for (const ServicePort& p : svc.spec.ports) {
      if (p.protocol != "TCP" || !p.app_protocol.empty() || FollowsPortNaming(p.name)) continue;
      std::string target = p.target_port_name.empty()
                               ? std::to_string(p.target_port_number ? p.target_port_number : p.port)
                               : p.target_port_name;
      Add("Info", "IST0118", "PortNameIsNotUnderNamingConvention", key,
          "Port name " + p.name + " (port: " + std::to_string(p.port) + ", targetPort: " + target +
              ") doesn't follow the naming convention of Istio port.");
    }
  }

  void CheckNamespaceScope(const ResourceKey& key, const Labels& labels) {
    const std::string requested = RequestedRevision(labels, nullptr);
    if (requested != ctx_.revision) {
      Add("Warning", "AMB0001", "RevisionNotServed", key,
          "istio.io/rev=" + requested + " names a revision this control plane does not serve (it "
          "serves " + Quote(ctx_.revision) + "): the namespace is not managed; its pods are not "
          "captured and its workloads and services are not published");
      return;
    }
    const std::string* mode = Find(labels, kDataplaneModeLabel);
    if (mode && *mode == "ambient" && !DiscoverySelected(mesh_.discovery_selectors, labels)) {
      Add("Warning", "AMB0002", "AmbientNamespaceNotDiscovered", key,
          "The namespace is labelled istio.io/dataplane-mode=ambient but is outside "
          "meshConfig.discoverySelectors: its pods are not captured and its workloads and "
          "services are not published");
    }
  }

  void CheckPodRevision(const ResourceKey& key, const Pod& pod) {
    const std::string* own = Find(pod.metadata.labels, kRevisionLabel);
    if (!own || own->empty()) return;  // the namespace's label is reported on the namespace
    const std::string requested = RequestedRevision(NamespaceLabels(pod.metadata.ns), &pod.metadata.labels);
    if (requested != ctx_.revision) {
      Add("Warning", "AMB0001", "RevisionNotServed", key,
          "istio.io/rev=" + requested + " names a revision this control plane does not serve (it "
          "serves " + Quote(ctx_.revision) + "): the pod is not captured");
    }
  }

  void CheckTrustDomain(const ResourceKey& key, const ConfigMap& cm) {
    if (ctx_.ca_trust_domain.empty() || cm.metadata.ns != kIstioSystemNamespace ||
        cm.metadata.name != MeshConfigMapName(ctx_.revision)) {
      return;
    }
    if (!mesh_.trust_domain.empty() && mesh_.trust_domain != ctx_.ca_trust_domain) {
      Add("Warning", "AMB0003", "TrustDomainMismatch", key,
          "meshConfig.trustDomain " + Quote(mesh_.trust_domain) + " differs from the CA's trust domain " +
              Quote(ctx_.ca_trust_domain) + "; workload identities and certificates keep " +
              Quote(ctx_.ca_trust_domain));
    }
  }

  const std::map<ResourceKey, Resource>& resources_;
  const AnalysisContext& ctx_;
  const MeshConfig mesh_;
  std::vector<AnalysisMessage> out_;
};

}  // namespace

std::string AnalysisMessage::ToString() const {
  return level + " [" + code + "] (" + resource.ToString() + ") " + message;
}

std::vector<AnalysisMessage> Analyze(const std::map<ResourceKey, Resource>& resources,
                                     const AnalysisContext& context) {
  return Analyzer(resources, context).Run();
}

}  // namespace ambit::config
