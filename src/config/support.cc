#include "config/support.h"

#include <nlohmann/json.hpp>

#include "config/mesh_config.h"
#include "config/serialize.h"

namespace ambit::config {
namespace {

using json = nlohmann::json;

constexpr std::string_view kRoutes =
    "enforced by the waypoint on Services bound to one (istio.io/use-waypoint): matches, weighted "
    "backends and subsets, rewrites, redirects, direct responses, header changes, timeouts "
    "(request, per-try), retries (Envoy retryOn conditions, Istio's default policy), fault "
    "injection (fixed delay, HTTP and gRPC abort) and mirroring; on a Service without a "
    "waypoint the route does nothing (as in Istio ambient: ztunnel does no L7)";
constexpr std::string_view kLocalRuntime = "stored, not used by the local runtime";

const std::vector<SupportEntry> kTable = {
    // Kubernetes core.
    {"Namespace", "", Support::kEnforced,
     "labels istio.io/dataplane-mode, istio.io/use-waypoint(-namespace) and istio.io/rev are acted on"},
    {"Pod", "", Support::kEnforced, "run by the local runtime as processes in a network namespace"},
    {"PodSpec", "initContainers", Support::kNotEnforced, "rejected by the local runtime"},
    {"PodSpec", "hostNetwork", Support::kPartial,
     "the mesh treats the pod as host-network (never captured), but the local runtime still "
     "gives it its own network namespace", "true"},
    {"PodSpec", "containers[].readinessProbe", Support::kNotEnforced,
     "not run: a container is ready when its TCP containerPorts listen"},
    {"PodSpec", "containers[].livenessProbe", Support::kNotEnforced, "not run by the local runtime"},
    {"PodSpec", "containers[].startupProbe", Support::kNotEnforced, "not run by the local runtime"},
    {"PodSpec", "containers[].resources", Support::kNotEnforced, "stored, no limits are applied"},
    {"PodSpec", "containers[].securityContext", Support::kNotEnforced, kLocalRuntime},
    {"PodSpec", "containers[].volumeMounts", Support::kNotEnforced, "stored, nothing is mounted"},
    {"PodSpec", "containers[].volumeDevices", Support::kNotEnforced, kLocalRuntime},
    {"PodSpec", "containers[].envFrom", Support::kNotEnforced, "stored, not resolved"},
    {"PodSpec", "containers[].lifecycle", Support::kNotEnforced, "hooks are not run"},
    {"PodSpec", "containers[].ports[].hostPort", Support::kNotEnforced, "no host port is opened"},
    {"PodSpec", "volumes", Support::kNotEnforced, "stored, nothing is mounted"},
    {"PodSpec", "securityContext", Support::kNotEnforced, kLocalRuntime},
    {"PodSpec", "affinity", Support::kNotEnforced, "not used for scheduling (nodeName/nodeSelector are)"},
    {"PodSpec", "tolerations", Support::kNotEnforced, "local nodes have no taints"},
    {"PodSpec", "topologySpreadConstraints", Support::kNotEnforced, "not used for scheduling"},
    {"PodSpec", "dnsPolicy", Support::kNotEnforced, "pods resolve names from their hosts file"},
    {"PodSpec", "dnsConfig", Support::kNotEnforced, "pods resolve names from their hosts file"},
    {"PodSpec", "hostAliases", Support::kNotEnforced, kLocalRuntime},
    {"PodSpec", "hostPID", Support::kNotEnforced, kLocalRuntime, "true"},
    {"PodSpec", "hostIPC", Support::kNotEnforced, kLocalRuntime, "true"},
    {"PodSpec", "shareProcessNamespace", Support::kNotEnforced, kLocalRuntime, "true"},
    {"PodSpec", "runtimeClassName", Support::kNotEnforced, kLocalRuntime},
    {"PodSpec", "priorityClassName", Support::kNotEnforced, kLocalRuntime},
    {"PodSpec", "activeDeadlineSeconds", Support::kNotEnforced, kLocalRuntime},
    {"PodSpec", "readinessGates", Support::kNotEnforced, kLocalRuntime},
    {"PodSpec", "ephemeralContainers", Support::kNotEnforced, kLocalRuntime},
    {"Service", "", Support::kEnforced, "ClusterIP, selector endpoints and ports are acted on"},
    {"Service", "spec.sessionAffinity", Support::kNotEnforced, "connections are balanced without affinity", "!None"},
    {"Service", "spec.externalIPs", Support::kNotEnforced, kLocalRuntime},
    {"Service", "spec.internalTrafficPolicy", Support::kPartial,
     "mesh clients use node-local endpoints only (ztunnel); pods outside the mesh ignore it",
     "!Cluster"},
    {"Service", "spec.trafficDistribution", Support::kPartial,
     "mesh clients prefer close endpoints (ztunnel; each local node is its own zone, "
     "docs/traffic-distribution.md); pods outside the mesh ignore it"},
    {"Service", "spec.externalTrafficPolicy", Support::kNotEnforced, kLocalRuntime},
    {"Service", "spec.type", Support::kPartial,
     "the local cluster serves the ClusterIP only (no node ports or load balancer)", "NodePort"},
    {"Service", "spec.type", Support::kPartial,
     "the local cluster serves the ClusterIP only (no node ports or load balancer)", "LoadBalancer"},
    {"Service", "spec.type", Support::kNotEnforced,
     "stored; ExternalName Services are not published to the mesh", "ExternalName"},
    {"ServiceAccount", "", Support::kEnforced, "the pod identity spiffe://<td>/ns/<ns>/sa/<name>"},
    {"ConfigMap", "", Support::kEnforced,
     "stored; Ambit itself reads only the mesh ConfigMap istio-system/istio (docs/mesh-config.md)"},
    {"ConfigMap", "data.meshNetworks", Support::kNotEnforced,
     "stored, not enforced: Ambit runs one network (multi-network meshes are not supported)"},
    // The mesh ConfigMap's `ambit` key (Ambit's own settings), read as fields.
    {"ConfigMap", "data.ambit.waypointFailClosed", Support::kEnforced,
     "Services and Workloads bound to a waypoint that an AuthorizationPolicy targets carry "
     "ambit.io/waypoint-required (docs/authorization-policy.md)"},
    {"Deployment", "", Support::kEnforced, "expanded into pods (replicas, template)"},
    {"Deployment", "spec.strategy", Support::kNotEnforced, "pods are replaced all at once"},
    // Istio security. The policy work flips the whole-kind entries and keeps
    // entries for the parts that stay unenforced.
    {"AuthorizationPolicy", "", Support::kEnforced,
     "lowered to istio.security.Authorization as istiod does for ztunnel and sent to the proxies "
     "that need it; what cannot be enforced at L4 is warned per rule (docs/authorization-policy.md)"},
    {"AuthorizationPolicy", "spec.action", Support::kNotEnforced,
     "CUSTOM (external authorization) is not supported", "CUSTOM"},
    {"AuthorizationPolicy", "spec.action", Support::kNotEnforced, "AUDIT has no audit sink in Ambit", "AUDIT"},
    {"AuthorizationPolicy", "spec.targetRefs", Support::kPartial,
     "a waypoint Gateway enforces the L4 parts of the policies attached to it; policies attached to a "
     "Service, ServiceEntry or GatewayClass need the L7 waypoint, which is later work"},
    {"AuthorizationPolicy", "spec.targetRef", Support::kPartial,
     "a waypoint Gateway enforces the L4 parts of the policies attached to it; policies attached to a "
     "Service, ServiceEntry or GatewayClass need the L7 waypoint, which is later work"},
    {"AuthorizationPolicy", "spec.rules[].to[].operation.methods", Support::kNotEnforced,
     "HTTP attributes need a waypoint (L7, later work); ztunnel enforces L4 attributes only"},
    {"AuthorizationPolicy", "spec.rules[].to[].operation.notMethods", Support::kNotEnforced,
     "HTTP attributes need a waypoint (L7, later work); ztunnel enforces L4 attributes only"},
    {"AuthorizationPolicy", "spec.rules[].to[].operation.paths", Support::kNotEnforced,
     "HTTP attributes need a waypoint (L7, later work); ztunnel enforces L4 attributes only"},
    {"AuthorizationPolicy", "spec.rules[].to[].operation.notPaths", Support::kNotEnforced,
     "HTTP attributes need a waypoint (L7, later work); ztunnel enforces L4 attributes only"},
    {"AuthorizationPolicy", "spec.rules[].to[].operation.hosts", Support::kNotEnforced,
     "HTTP attributes need a waypoint (L7, later work); ztunnel enforces L4 attributes only"},
    {"AuthorizationPolicy", "spec.rules[].to[].operation.notHosts", Support::kNotEnforced,
     "HTTP attributes need a waypoint (L7, later work); ztunnel enforces L4 attributes only"},
    {"AuthorizationPolicy", "spec.rules[].from[].source.requestPrincipals", Support::kNotEnforced,
     "JWT principals need a waypoint (L7, later work); ztunnel enforces L4 attributes only"},
    {"AuthorizationPolicy", "spec.rules[].from[].source.notRequestPrincipals", Support::kNotEnforced,
     "JWT principals need a waypoint (L7, later work); ztunnel enforces L4 attributes only"},
    {"PeerAuthentication", "", Support::kEnforced,
     "folded into istio.security.Authorization DENY policies as istiod does for ztunnel "
     "(docs/peer-authentication.md)"},
    {"PeerAuthentication", "spec.mtls.mode", Support::kNotEnforced,
     "DISABLE has no effect in ambient mode: HBONE is always mutual TLS (as in Istio)", "DISABLE"},
    {"RequestAuthentication", "", Support::kNotEnforced,
     "stored, not enforced: JWT validation needs the L7 waypoint, which is later work"},
    // Istio traffic management.
    {"VirtualService", "", Support::kPartial, kRoutes},
    {"DestinationRule", "", Support::kPartial,
     "subsets are enforced by the waypoint for the VirtualServices that name them; "
     "trafficPolicy.loadBalancer (simple and consistentHash, a subset's replacing the top-level "
     "one) is enforced by the waypoint on HTTP ports (docs/traffic-management.md); the rest of "
     "trafficPolicy is not applied yet"},
    {"DestinationRule", "spec.trafficPolicy.connectionPool", Support::kNotEnforced,
     "connection pool limits (circuit breaking) are not applied yet"},
    {"DestinationRule", "spec.trafficPolicy.outlierDetection", Support::kNotEnforced,
     "outlier detection is not applied yet"},
    {"DestinationRule", "spec.trafficPolicy.tls", Support::kNotEnforced,
     "the waypoint always uses HBONE mutual TLS to endpoints; client TLS settings are not applied"},
    {"DestinationRule", "spec.trafficPolicy.portLevelSettings", Support::kNotEnforced,
     "port-level policies are not applied yet; the policy for the whole host is"},
    {"DestinationRule", "spec.trafficPolicy.loadBalancer.localityLbSetting", Support::kNotEnforced,
     "locality-weighted load balancing and failover are not applied by the waypoint"},
    {"DestinationRule", "spec.trafficPolicy.loadBalancer.warmupDurationSecs", Support::kNotEnforced,
     "slow start is not applied"},
    {"DestinationRule", "spec.trafficPolicy.loadBalancer.consistentHash.httpCookie.ttl", Support::kNotEnforced,
     "no cookie is generated: a request without the cookie goes to a random point of the ring"},
    {"DestinationRule", "spec.trafficPolicy.loadBalancer.consistentHash.httpCookie.path", Support::kNotEnforced,
     "no cookie is generated, so its path is not used"},
    {"DestinationRule", "spec.trafficPolicy.loadBalancer.consistentHash.ringHash", Support::kNotEnforced,
     "the waypoint always uses a ring hash with 160 points per endpoint"},
    {"DestinationRule", "spec.trafficPolicy.loadBalancer.consistentHash.maglev", Support::kNotEnforced,
     "the waypoint uses a ring hash (160 points per endpoint), not Maglev"},
    {"DestinationRule", "spec.trafficPolicy.loadBalancer.consistentHash.minimumRingSize", Support::kNotEnforced,
     "the ring always has 160 points per endpoint"},
    {"DestinationRule", "spec.subsets[].trafficPolicy.connectionPool", Support::kNotEnforced,
     "connection pool limits (circuit breaking) are not applied yet"},
    {"DestinationRule", "spec.subsets[].trafficPolicy.outlierDetection", Support::kNotEnforced,
     "outlier detection is not applied yet"},
    {"DestinationRule", "spec.subsets[].trafficPolicy.tls", Support::kNotEnforced,
     "the waypoint always uses HBONE mutual TLS to endpoints; client TLS settings are not applied"},
    {"DestinationRule", "spec.subsets[].trafficPolicy.portLevelSettings", Support::kNotEnforced,
     "port-level policies are not applied yet; the policy for the whole host is"},
    {"DestinationRule", "spec.subsets[].trafficPolicy.loadBalancer.localityLbSetting", Support::kNotEnforced,
     "locality-weighted load balancing and failover are not applied by the waypoint"},
    {"DestinationRule", "spec.subsets[].trafficPolicy.loadBalancer.warmupDurationSecs", Support::kNotEnforced,
     "slow start is not applied"},
    {"DestinationRule", "spec.subsets[].trafficPolicy.loadBalancer.consistentHash.httpCookie.ttl", Support::kNotEnforced,
     "no cookie is generated: a request without the cookie goes to a random point of the ring"},
    {"DestinationRule", "spec.subsets[].trafficPolicy.loadBalancer.consistentHash.httpCookie.path", Support::kNotEnforced,
     "no cookie is generated, so its path is not used"},
    {"DestinationRule", "spec.subsets[].trafficPolicy.loadBalancer.consistentHash.ringHash", Support::kNotEnforced,
     "the waypoint always uses a ring hash with 160 points per endpoint"},
    {"DestinationRule", "spec.subsets[].trafficPolicy.loadBalancer.consistentHash.maglev", Support::kNotEnforced,
     "the waypoint uses a ring hash (160 points per endpoint), not Maglev"},
    {"DestinationRule", "spec.subsets[].trafficPolicy.loadBalancer.consistentHash.minimumRingSize", Support::kNotEnforced,
     "the ring always has 160 points per endpoint"},
    {"DestinationRule", "spec.trafficPolicy.loadBalancer.warmup", Support::kNotEnforced,
     "slow start is not applied"},
    {"DestinationRule", "spec.trafficPolicy.loadBalancer.consistentHash.httpCookie.attributes", Support::kNotEnforced,
     "no cookie is generated, so its attributes are not used"},
    {"DestinationRule", "spec.trafficPolicy.tunnel", Support::kNotEnforced,
     "tunneling to an upstream proxy is not supported"},
    {"DestinationRule", "spec.trafficPolicy.proxyProtocol", Support::kNotEnforced,
     "PROXY protocol to upstreams is not supported"},
    {"DestinationRule", "spec.trafficPolicy.retryBudget", Support::kNotEnforced,
     "retry budgets are not applied"},
    {"DestinationRule", "spec.subsets[].trafficPolicy.loadBalancer.warmup", Support::kNotEnforced,
     "slow start is not applied"},
    {"DestinationRule", "spec.subsets[].trafficPolicy.loadBalancer.consistentHash.httpCookie.attributes", Support::kNotEnforced,
     "no cookie is generated, so its attributes are not used"},
    {"DestinationRule", "spec.subsets[].trafficPolicy.tunnel", Support::kNotEnforced,
     "tunneling to an upstream proxy is not supported"},
    {"DestinationRule", "spec.subsets[].trafficPolicy.proxyProtocol", Support::kNotEnforced,
     "PROXY protocol to upstreams is not supported"},
    {"DestinationRule", "spec.subsets[].trafficPolicy.retryBudget", Support::kNotEnforced,
     "retry budgets are not applied"},
    {"DestinationRule", "spec.trafficPolicy.loadBalancer.simple", Support::kNotEnforced,
     "PASSTHROUGH is not supported: the waypoint balances round robin", "PASSTHROUGH"},
    {"DestinationRule", "spec.subsets[].trafficPolicy.loadBalancer.simple", Support::kNotEnforced,
     "PASSTHROUGH is not supported: the waypoint balances round robin", "PASSTHROUGH"},
    {"ServiceEntry", "", Support::kEnforced,
     "hosts are published to ztunnel with their addresses or auto-allocated VIPs, answered by its "
     "DNS proxy and routed to the endpoints or selected pods (docs/dns.md)"},
    {"ServiceEntry", "spec.exportTo", Support::kNotEnforced,
     "stored, not enforced: ztunnel's DNS and routing see the entry from every namespace"},
    {"ServiceEntry", "spec.location", Support::kNotEnforced,
     "MESH_INTERNAL is not acted on: endpoints get HBONE only when they are enrolled pods selected "
     "by workloadSelector", "MESH_INTERNAL"},
    {"ServiceEntry", "spec.endpoints[].locality", Support::kNotEnforced,
     "stored, not acted on: endpoints are picked uniformly at random"},
    {"ServiceEntry", "spec.endpoints[].weight", Support::kNotEnforced,
     "stored, not acted on: endpoints are picked uniformly at random"},
    // Gateway API.
    {"Gateway", "", Support::kEnforced,
     "class istio-waypoint: a waypoint Deployment and Service are made (L4 relay)"},
    {"Gateway", "spec.gatewayClassName", Support::kNotEnforced,
     "stored, not enforced: only gatewayClassName istio-waypoint is acted on (no ingress gateways)",
     "!istio-waypoint"},
    {"HTTPRoute", "", Support::kPartial, kRoutes},
    {"GRPCRoute", "", Support::kPartial, kRoutes},
};

bool IsSet(const json& v) {
  if (v.is_null()) return false;
  if ((v.is_array() || v.is_object()) && v.empty()) return false;
  return true;
}

bool ValueMatches(const json& v, std::string_view want) {
  if (want.empty()) return true;
  std::string s;
  if (v.is_boolean()) {
    s = v.get<bool>() ? "true" : "false";
  } else if (v.is_string()) {
    s = v.get<std::string>();
  } else {
    return false;
  }
  if (want.front() == '!') return s != want.substr(1);
  return s == want;
}

// Finds the first use of |path| (relative segments) under |node|; returns the
// concrete path walked (with indexes) or "" when unused.
bool FindUse(const json& node, std::string_view path, std::string_view value, std::string* walked) {
  if (path.empty()) return IsSet(node) && ValueMatches(node, value);
  size_t dot = path.find('.');
  std::string_view seg = path.substr(0, dot);
  std::string_view rest = dot == std::string_view::npos ? std::string_view() : path.substr(dot + 1);
  const bool each = seg.size() > 2 && seg.substr(seg.size() - 2) == "[]";
  if (each) seg.remove_suffix(2);
  if (!node.is_object()) return false;
  auto it = node.find(std::string(seg));
  if (it == node.end()) return false;
  std::string here = walked->empty() ? std::string(seg) : *walked + "." + std::string(seg);
  if (!each) {
    std::string sub = here;
    if (!FindUse(*it, rest, value, &sub)) return false;
    *walked = sub;
    return true;
  }
  if (!it->is_array()) return false;
  for (size_t i = 0; i < it->size(); ++i) {
    std::string sub = here + "[" + std::to_string(i) + "]";
    if (rest.empty() ? IsSet((*it)[i]) : FindUse((*it)[i], rest, value, &sub)) {
      *walked = sub;
      return true;
    }
  }
  return false;
}

void Check(const json& object, std::string_view prefix, const SupportEntry& e,
           std::vector<SupportWarning>* out) {
  std::string walked;
  if (e.field.empty()) {
    out->push_back({"", std::string(e.message)});
    return;
  }
  std::string full = std::string(prefix) + std::string(e.field);
  if (FindUse(object, full, e.value, &walked)) out->push_back({walked, std::string(e.message)});
}

}  // namespace

const std::vector<SupportEntry>& SupportTable() { return kTable; }

std::string_view ToString(Support status) {
  switch (status) {
    case Support::kEnforced:
      return "enforced";
    case Support::kPartial:
      return "partial";
    case Support::kNotEnforced:
      return "not enforced";
  }
  return "unknown";
}

std::vector<SupportWarning> CheckSupport(const Resource& resource) {
  std::vector<SupportWarning> out;
  const std::string_view kind = KindOf(resource);
  const json object = ToJson(resource);
  for (const SupportEntry& e : kTable) {
    if (e.status == Support::kEnforced) continue;
    if (e.kind == kind) {
      Check(object, "", e, &out);
    } else if (e.kind == "PodSpec" && kind == "Pod") {
      Check(object, "spec.", e, &out);
    } else if (e.kind == "PodSpec" && kind == "Deployment") {
      Check(object, "spec.template.spec.", e, &out);
    }
  }
  if (const auto* cm = std::get_if<ConfigMap>(&resource); cm && IsMeshConfigMap(*cm)) {
    MeshConfigResult mesh = ParseMeshConfigMap(*cm);
    // The `ambit` key's settings, as fields the table can name.
    const json view = {{"data", {{"ambit", {{"waypointFailClosed", mesh.config.waypoint_fail_closed}}}}}};
    for (const SupportEntry& e : kTable) {
      if (e.kind == "ConfigMap" && e.status != Support::kEnforced && e.field.rfind("data.ambit.", 0) == 0) {
        Check(view, "", e, &out);
      }
    }
    for (const std::string& field : mesh.config.unenforced) {
      out.push_back({"data.mesh." + field,
                     "accepted, not enforced: Ambit acts on discoverySelectors, rootNamespace and "
                     "trustDomain only (docs/mesh-config.md)"});
    }
  }
  return out;
}

}  // namespace ambit::config
