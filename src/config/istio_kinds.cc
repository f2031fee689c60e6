// Schemas and decoders of the Istio kinds (istio.h). Field names follow
// istio/api (security/v1beta1, networking/v1alpha3); nested messages that no
// component uses yet are checked at their top level only (AnyObject).
#include <string>

#include "config/field_path.h"
#include "config/kinds.h"
#include "config/names.h"

namespace ambit::config::internal {
namespace {

using json = nlohmann::json;

StringCheck Subdomain() { return [](std::string_view v) { return CheckDns1123Subdomain(v); }; }
SchemaPtr Duration() { return Str("a duration", CheckDuration); }

SchemaPtr WorkloadSelector() {
  return Obj({Opt("matchLabels", StrMap())}, "a workload selector (object)");
}

SchemaPtr TargetRef() {
  return Obj({Opt("group", Str()), Req("kind", Str()), Req("name", Str()), Opt("namespace", Str())},
             "a policy target reference (object)");
}

SchemaPtr Percent() { return Obj({Opt("value", Num())}, "a percentage (object)"); }

SchemaPtr StringMatch() {
  return WithRule(Obj({Opt("exact", Str()), Opt("prefix", Str()), Opt("regex", Str())},
                      "a string match (object)"),
                  AtMostOneOf({"exact", "prefix", "regex"}));
}

SchemaPtr Destination() {
  return Obj({Req("host", Str()), Opt("subset", Str()),
              Opt("port", Obj({Opt("number", Int(1, 65535))}, "a port selector (object)"))},
             "a destination (object)");
}

void PolicyTargetRules(std::vector<std::pair<std::string, std::string>>* out, const json& spec) {
  std::vector<std::string> present;
  for (const char* k : {"selector", "targetRef", "targetRefs"}) {
    if (!Member(spec, k).is_null()) present.push_back(k);
  }
  if (present.size() > 1) {
    out->push_back({"", "expected at most one of selector, targetRef, targetRefs, got " + present[0] +
                            " and " + present[1]});
  }
}

std::optional<Labels> DecodeSelector(const json& spec, std::string_view field, std::string_view labels_key) {
  const json& sel = Member(spec, field);
  if (sel.is_null()) return std::nullopt;
  return GetLabels(sel, labels_key);
}

std::vector<PolicyTargetRef> DecodeTargetRefs(const json& spec) {
  std::vector<PolicyTargetRef> out;
  auto one = [&](const json& r) {
    out.push_back(PolicyTargetRef{GetStr(r, "group"), GetStr(r, "kind"), GetStr(r, "name"), GetStr(r, "namespace")});
  };
  if (Member(spec, "targetRef").is_object()) one(Member(spec, "targetRef"));
  if (Member(spec, "targetRefs").is_array()) {
    for (const json& r : Member(spec, "targetRefs")) one(r);
  }
  return out;
}

template <typename T>
T Base(const json& o, const std::string& api_version) {
  T r;
  r.api_version = api_version;
  r.metadata = DecodeMeta(Member(o, "metadata"), true);
  r.spec = Member(o, "spec").is_object() ? Member(o, "spec") : json::object();
  return r;
}

// ---- AuthorizationPolicy ----

SchemaPtr AuthorizationPolicySpec() {
  auto source = Obj({Opt("principals", StrList()), Opt("notPrincipals", StrList()),
                     Opt("requestPrincipals", StrList()), Opt("notRequestPrincipals", StrList()),
                     Opt("namespaces", StrList()), Opt("notNamespaces", StrList()),
                     Opt("serviceAccounts", StrList()), Opt("notServiceAccounts", StrList()),
                     Opt("ipBlocks", StrList()), Opt("notIpBlocks", StrList()),
                     Opt("remoteIpBlocks", StrList()), Opt("notRemoteIpBlocks", StrList())},
                    "a source (object)");
  auto operation = Obj({Opt("hosts", StrList()), Opt("notHosts", StrList()), Opt("ports", StrList()),
                        Opt("notPorts", StrList()), Opt("methods", StrList()),
                        Opt("notMethods", StrList()), Opt("paths", StrList()), Opt("notPaths", StrList())},
                       "an operation (object)");
  auto condition = WithRule(Obj({Req("key", Str()), Opt("values", StrList()), Opt("notValues", StrList())},
                                "a condition (object)"),
                            [](const json& c, std::vector<std::pair<std::string, std::string>>* out) {
                              if (Member(c, "values").is_null() && Member(c, "notValues").is_null()) {
                                out->push_back({"", "expected values or notValues"});
                              }
                            });
  auto rule = Obj({Opt("from", List(Obj({Opt("source", source)}, "a rule source (object)"))),
                   Opt("to", List(Obj({Opt("operation", operation)}, "a rule operation (object)"))),
                   Opt("when", List(condition))},
                  "a rule (object)");
  auto spec = Obj({Opt("selector", WorkloadSelector()), Opt("targetRef", TargetRef()),
                   Opt("targetRefs", List(TargetRef(), 0, 16)), Opt("rules", List(rule)),
                   Opt("action", Enum({"ALLOW", "DENY", "AUDIT", "CUSTOM"})),
                   Opt("provider", Obj({Opt("name", Str())}, "an extension provider (object)"))},
                  "an AuthorizationPolicy spec (object)");
  return WithRule(spec, [](const json& s, std::vector<std::pair<std::string, std::string>>* out) {
    PolicyTargetRules(out, s);
    bool custom = GetStr(s, "action") == "CUSTOM";
    bool provider = !Member(s, "provider").is_null();
    if (custom && !provider) out->push_back({"provider", "required field is missing (action CUSTOM needs a provider)"});
    if (!custom && provider) out->push_back({"provider", "expected no provider unless action is CUSTOM"});
  });
}

Resource DecodeAuthorizationPolicy(const json& o, const std::string& v, const std::string&, std::vector<Finding>*) {
  auto r = Base<AuthorizationPolicy>(o, v);
  r.selector = DecodeSelector(r.spec, "selector", "matchLabels");
  r.target_refs = DecodeTargetRefs(r.spec);
  r.action = GetStr(r.spec, "action", "ALLOW");
  return r;
}

// ---- PeerAuthentication ----

SchemaPtr PeerAuthenticationSpec() {
  auto mtls = Obj({Opt("mode", Enum({"UNSET", "DISABLE", "PERMISSIVE", "STRICT"}))}, "an mTLS setting (object)");
  auto spec = Obj({Opt("selector", WorkloadSelector()), Opt("mtls", mtls),
                   Opt("portLevelMtls", Map(mtls, [](std::string_view k) -> std::string {
                         int port = 0;
                         for (char c : k) {
                           if (c < '0' || c > '9' || port > 65535) return "expected a port number 1-65535, got '" + std::string(k) + "'";
                           port = port * 10 + (c - '0');
                         }
                         if (k.empty() || port < 1 || port > 65535) return "expected a port number 1-65535, got '" + std::string(k) + "'";
                         return "";
                       }, "a map of port to mTLS setting"))},
                  "a PeerAuthentication spec (object)");
  return WithRule(spec, [](const json& s, std::vector<std::pair<std::string, std::string>>* out) {
    if (!Member(s, "portLevelMtls").is_null() && Member(s, "selector").is_null()) {
      out->push_back({"portLevelMtls", "expected a selector: portLevelMtls applies only to selected workloads"});
    }
  });
}

Resource DecodePeerAuthentication(const json& o, const std::string& v, const std::string&, std::vector<Finding>*) {
  auto r = Base<PeerAuthentication>(o, v);
  r.selector = DecodeSelector(r.spec, "selector", "matchLabels");
  r.mtls_mode = GetStr(Member(r.spec, "mtls"), "mode", "UNSET");
  const json& ports = Member(r.spec, "portLevelMtls");
  if (ports.is_object()) {
    for (const auto& [port, setting] : ports.items()) {
      r.port_level_mtls[static_cast<uint32_t>(std::stoul(port))] = GetStr(setting, "mode", "UNSET");
    }
  }
  return r;
}

// ---- RequestAuthentication ----

SchemaPtr RequestAuthenticationSpec() {
  auto jwt = Obj({Req("issuer", Str()), Opt("audiences", StrList()), Opt("jwksUri", Str()),
                  Opt("jwks", Str()),
                  Opt("fromHeaders", List(Obj({Req("name", Str()), Opt("prefix", Str())}, "a JWT header location (object)"))),
                  Opt("fromParams", StrList()), Opt("fromCookies", StrList()),
                  Opt("outputPayloadToHeader", Str()), Opt("forwardOriginalToken", Bool()),
                  Opt("outputClaimToHeaders",
                      List(Obj({Req("header", Str()), Req("claim", Str())}, "a claim-to-header mapping (object)"))),
                  Opt("timeout", Duration())},
                 "a JWT rule (object)");
  auto spec = Obj({Opt("selector", WorkloadSelector()), Opt("targetRef", TargetRef()),
                   Opt("targetRefs", List(TargetRef(), 0, 16)), Opt("jwtRules", List(jwt, 0, 4096))},
                  "a RequestAuthentication spec (object)");
  return WithRule(spec, [](const json& s, std::vector<std::pair<std::string, std::string>>* out) {
    PolicyTargetRules(out, s);
  });
}

Resource DecodeRequestAuthentication(const json& o, const std::string& v, const std::string&, std::vector<Finding>*) {
  auto r = Base<RequestAuthentication>(o, v);
  r.selector = DecodeSelector(r.spec, "selector", "matchLabels");
  r.target_refs = DecodeTargetRefs(r.spec);
  return r;
}

// ---- VirtualService ----

SchemaPtr VirtualServiceSpec() {
  auto match = Obj({Opt("name", Str()), Opt("uri", StringMatch()), Opt("scheme", StringMatch()),
                    Opt("method", StringMatch()), Opt("authority", StringMatch()),
                    Opt("headers", Map(StringMatch())), Opt("port", Int(1, 65535)),
                    Opt("sourceLabels", StrMap()), Opt("gateways", StrList()),
                    Opt("queryParams", Map(StringMatch())), Opt("ignoreUriCase", Bool()),
                    Opt("withoutHeaders", Map(StringMatch())), Opt("sourceNamespace", Str()),
                    Opt("statPrefix", Str())},
                   "an HTTP match (object)");
  auto route_dest = Obj({Req("destination", Destination()), Opt("weight", Int(0, INT32_MAX)),
                         Opt("headers", AnyObject())},
                        "a route destination (object)");
  auto fault = Obj({Opt("delay", Obj({Opt("fixedDelay", Duration()), Opt("exponentialDelay", Duration()),
                                      Opt("percentage", Percent()), Opt("percent", Int(0, 100))},
                                     "a fault delay (object)")),
                    Opt("abort", Obj({Opt("httpStatus", Int(100, 599)), Opt("grpcStatus", Str()),
                                      Opt("http2Error", Str()), Opt("percentage", Percent())},
                                     "a fault abort (object)"))},
                   "a fault injection (object)");
  auto retries = Obj({Opt("attempts", Int(0, INT32_MAX)), Opt("perTryTimeout", Duration()),
                      Opt("retryOn", Str()), Opt("retryRemoteLocalities", Bool()),
                      Opt("retryIgnorePreviousHosts", Bool()), Opt("backoff", Duration())},
                     "a retry policy (object)");
  auto http = Obj({Opt("name", Str()), Opt("match", List(match)), Opt("route", List(route_dest)),
                   Opt("redirect", AnyObject()), Opt("directResponse", AnyObject()),
                   Opt("delegate", AnyObject()), Opt("rewrite", AnyObject()),
                   Opt("timeout", Duration()), Opt("retries", retries), Opt("fault", fault),
                   Opt("mirror", Destination()), Opt("mirrors", List(AnyObject())),
                   Opt("mirrorPercentage", Percent()), Opt("mirrorPercent", Int(0, 100)),
                   Opt("corsPolicy", AnyObject()), Opt("headers", AnyObject())},
                  "an HTTP route (object)");
  auto tls_tcp_route = Obj({Opt("match", List(AnyObject())), Opt("route", List(route_dest))},
                           "a TLS/TCP route (object)");
  return Obj({Opt("hosts", StrList()), Opt("gateways", StrList()), Opt("http", List(http)),
              Opt("tls", List(tls_tcp_route)), Opt("tcp", List(tls_tcp_route)),
              Opt("exportTo", StrList())},
             "a VirtualService spec (object)");
}

Resource DecodeVirtualService(const json& o, const std::string& v, const std::string&, std::vector<Finding>*) {
  auto r = Base<VirtualService>(o, v);
  r.hosts = GetStrList(r.spec, "hosts");
  r.gateways = GetStrList(r.spec, "gateways");
  r.export_to = GetStrList(r.spec, "exportTo");
  return r;
}

// ---- DestinationRule ----

SchemaPtr TrafficPolicy() {
  auto policy = Obj({Opt("loadBalancer", AnyObject()), Opt("connectionPool", AnyObject()),
                     Opt("outlierDetection", AnyObject()), Opt("tls", AnyObject()),
                     Opt("portLevelSettings", List(AnyObject())), Opt("tunnel", AnyObject()),
                     Opt("proxyProtocol", AnyObject()), Opt("retryBudget", AnyObject())},
                    "a traffic policy (object)");
  return policy;
}

SchemaPtr DestinationRuleSpec() {
  auto subset = Obj({Req("name", Str("a subset name", [](std::string_view v) { return CheckDns1123Label(v); })),
                     Opt("labels", StrMap()), Opt("trafficPolicy", TrafficPolicy())},
                    "a subset (object)");
  return Obj({Req("host", Str()), Opt("trafficPolicy", TrafficPolicy()), Opt("subsets", List(subset)),
              Opt("exportTo", StrList()), Opt("workloadSelector", WorkloadSelector())},
             "a DestinationRule spec (object)");
}

Resource DecodeDestinationRule(const json& o, const std::string& v, const std::string& base,
                               std::vector<Finding>* findings) {
  auto r = Base<DestinationRule>(o, v);
  r.host = GetStr(r.spec, "host");
  r.export_to = GetStrList(r.spec, "exportTo");
  const json& subsets = Member(r.spec, "subsets");
  for (size_t i = 0; subsets.is_array() && i < subsets.size(); ++i) {
    DestinationRuleSubset s{GetStr(subsets[i], "name"), GetLabels(subsets[i], "labels")};
    for (const auto& prev : r.subsets) {
      if (prev.name == s.name) {
        findings->push_back({JoinKey(JoinIndex(JoinKey(JoinKey(base, "spec"), "subsets"), i), "name"),
                             "duplicate subset name '" + s.name + "'"});
      }
    }
    r.subsets.push_back(std::move(s));
  }
  return r;
}

// ---- ServiceEntry ----

SchemaPtr ServiceEntrySpec() {
  auto port = Obj({Req("number", Int(1, 65535)), Opt("protocol", Str()), Req("name", Str()),
                   Opt("targetPort", Int(1, 65535))},
                  "a service entry port (object)");
  auto endpoint = Obj({Opt("address", Str()), Opt("ports", Map(Int(1, 65535), nullptr, "a map of port name to number")),
                       Opt("labels", StrMap()), Opt("network", Str()), Opt("locality", Str()),
                       Opt("weight", Int(0, UINT32_MAX)), Opt("serviceAccount", Str())},
                      "a workload entry (object)");
  return Obj({Req("hosts", List(Str(), 1)), Opt("addresses", StrList()), Opt("ports", List(port)),
              Opt("location", Enum({"MESH_EXTERNAL", "MESH_INTERNAL"})),
              Opt("resolution", Enum({"NONE", "STATIC", "DNS", "DNS_ROUND_ROBIN"})),
              Opt("endpoints", List(endpoint)),
              Opt("workloadSelector", Obj({Opt("labels", StrMap())}, "a workload selector (object)")),
              Opt("exportTo", StrList()), Opt("subjectAltNames", StrList())},
             "a ServiceEntry spec (object)");
}

Resource DecodeServiceEntry(const json& o, const std::string& v, const std::string& base,
                            std::vector<Finding>* findings) {
  auto r = Base<ServiceEntry>(o, v);
  r.hosts = GetStrList(r.spec, "hosts");
  r.addresses = GetStrList(r.spec, "addresses");
  r.location = GetStr(r.spec, "location", "MESH_EXTERNAL");
  r.resolution = GetStr(r.spec, "resolution", "NONE");
  r.export_to = GetStrList(r.spec, "exportTo");
  if (Member(r.spec, "workloadSelector").is_object()) {
    r.workload_selector = GetLabels(Member(r.spec, "workloadSelector"), "labels");
  }
  const json& ports = Member(r.spec, "ports");
  for (size_t i = 0; ports.is_array() && i < ports.size(); ++i) {
    ServiceEntryPort p;
    p.number = static_cast<uint32_t>(GetInt(ports[i], "number"));
    p.protocol = GetStr(ports[i], "protocol");
    p.name = GetStr(ports[i], "name");
    p.target_port = static_cast<uint32_t>(GetInt(ports[i], "targetPort"));
    for (const auto& prev : r.ports) {
      if (prev.name == p.name || prev.number == p.number) {
        findings->push_back({JoinIndex(JoinKey(JoinKey(base, "spec"), "ports"), i),
                             "duplicate port " + (prev.name == p.name ? "name '" + p.name + "'" : "number " + std::to_string(p.number))});
      }
    }
    r.ports.push_back(std::move(p));
  }
  if (!Member(r.spec, "workloadSelector").is_null() && !Member(r.spec, "endpoints").is_null()) {
    findings->push_back({JoinKey(base, "spec"), "expected at most one of workloadSelector, endpoints, got both"});
  }
  return r;
}

const std::vector<std::string> kSecurityVersions = {"security.istio.io/v1", "security.istio.io/v1beta1"};
const std::vector<std::string> kNetworkingVersions = {"networking.istio.io/v1", "networking.istio.io/v1beta1",
                                                      "networking.istio.io/v1alpha3"};

}  // namespace

void AddIstioKinds(std::vector<KindInfo>* kinds) {
  auto add = [&](std::string kind, const std::vector<std::string>& versions, SchemaPtr spec, bool spec_required,
                 Decoder decode) {
    kinds->push_back(KindInfo{std::move(kind), versions, true,
                              ObjectSchema(true, Subdomain(), {spec_required ? Req("spec", spec) : Opt("spec", spec)}),
                              decode});
  };
  add("AuthorizationPolicy", kSecurityVersions, AuthorizationPolicySpec(), false, DecodeAuthorizationPolicy);
  add("PeerAuthentication", kSecurityVersions, PeerAuthenticationSpec(), false, DecodePeerAuthentication);
  add("RequestAuthentication", kSecurityVersions, RequestAuthenticationSpec(), false, DecodeRequestAuthentication);
  add("VirtualService", kNetworkingVersions, VirtualServiceSpec(), true, DecodeVirtualService);
  add("DestinationRule", kNetworkingVersions, DestinationRuleSpec(), true, DecodeDestinationRule);
  add("ServiceEntry", kNetworkingVersions, ServiceEntrySpec(), true, DecodeServiceEntry);
}

}  // namespace ambit::config::internal
