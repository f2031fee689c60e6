// Schemas and decoders of the Istio kinds (istio.h). Field names follow
// istio/api (security/v1beta1, networking/v1alpha3); nested messages that no
// component uses yet are checked at their top level only (AnyObject).
#include <arpa/inet.h>

#include <optional>
#include <string>

#include "config/field_path.h"
#include "config/ip_prefix.h"
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

// The `when` keys Istio accepts (istio/istio pkg/config/security ValidateAttribute):
// "" when |key| is one, else what is wrong with it.
std::string CheckConditionKey(std::string_view key) {
  for (std::string_view exact :
       {"source.ip", "remote.ip", "source.namespace", "source.serviceAccount", "source.principal",
        "source.trustDomain", "request.auth.principal", "request.auth.audiences",
        "request.auth.presenter", "destination.ip", "destination.port", "connection.sni"}) {
    if (key == exact) return "";
  }
  auto map_key = [&](std::string_view prefix) -> std::optional<std::string> {
    if (!key.starts_with(prefix)) return std::nullopt;
    const size_t open = key.find('[');
    if (key.ends_with("]") && open != std::string_view::npos && open > 0 && open + 2 < key.size()) return "";
    return "bad key " + QuoteForMessage(key) + ": expected the form " + std::string(prefix) + "[name]";
  };
  for (std::string_view prefix : {"request.headers", "request.auth.claims", "experimental.envoy.filters."}) {
    if (auto r = map_key(prefix)) return *r;
  }
  if (key == "destination.namespace") return "attribute 'destination.namespace' is replaced by metadata.namespace";
  if (key.starts_with("destination.labels")) return "attribute 'destination.labels' is replaced by the workload selector";
  if (key == "destination.name" || key == "destination.user") {
    return "deprecated attribute " + QuoteForMessage(key) + ": only supported in v1alpha1";
  }
  return "unknown attribute " + QuoteForMessage(key);
}

// Rules Istio's validation applies to a `from.source`, `to.operation` and
// `when` (istio/istio pkg/config/validation ValidateAuthorizationPolicy).
void SourceRules(const json& s, std::vector<std::pair<std::string, std::string>>* out) {
  bool any = false;
  for (const auto& [k, v] : s.items()) any = any || !(v.is_null() || (v.is_array() && v.empty()));
  if (!any) out->push_back({"", "expected at least one non-empty field: an empty source matches nothing"});
  bool identity = false, accounts = false;
  for (const char* k : {"principals", "notPrincipals", "namespaces", "notNamespaces"}) {
    identity = identity || !Member(s, k).is_null();
  }
  for (const char* k : {"serviceAccounts", "notServiceAccounts"}) accounts = accounts || !Member(s, k).is_null();
  if (identity && accounts) {
    out->push_back({"", "cannot set serviceAccounts with namespaces or principals"});
  }
}

void OperationRules(const json& o, std::vector<std::pair<std::string, std::string>>* out) {
  bool any = false;
  for (const auto& [k, v] : o.items()) any = any || !(v.is_null() || (v.is_array() && v.empty()));
  if (!any) out->push_back({"", "expected at least one non-empty field: an empty operation matches nothing"});
}

void ConditionRules(const json& c, std::vector<std::pair<std::string, std::string>>* out) {
  if (Member(c, "values").is_null() && Member(c, "notValues").is_null()) {
    out->push_back({"", "expected values or notValues"});
  }
  const std::string key = GetStr(c, "key");
  if (std::string problem = CheckConditionKey(key); !problem.empty()) {
    out->push_back({"key", problem});
    return;
  }
  StringCheck check;
  if (key == "source.ip" || key == "remote.ip" || key == "destination.ip") {
    check = CheckIpOrCidr;
  } else if (key == "destination.port") {
    check = CheckPortString;
  }
  for (const char* field : {"values", "notValues"}) {
    const json& values = Member(c, field);
    for (size_t i = 0; values.is_array() && i < values.size(); ++i) {
      if (!values[i].is_string()) continue;  // the schema reports it
      const std::string v = values[i].get<std::string>();
      std::string problem = v.empty() ? "empty value not allowed" : (check ? check(v) : "");
      if (!problem.empty()) out->push_back({field, "item " + std::to_string(i) + ": " + problem});
    }
  }
}

SchemaPtr NonEmptyStrList() {
  return List(Str("a non-empty string", [](std::string_view v) -> std::string {
    return v.empty() ? "empty value not allowed" : "";
  }));
}

SchemaPtr AuthorizationPolicySpec() {
  auto ips = List(Str("an IP address or CIDR range", CheckIpOrCidr));
  auto ports = List(Str("a port number 0-65535", CheckPortString));
  auto source = WithRule(
      Obj({Opt("principals", NonEmptyStrList()), Opt("notPrincipals", NonEmptyStrList()),
           Opt("requestPrincipals", NonEmptyStrList()), Opt("notRequestPrincipals", NonEmptyStrList()),
           Opt("namespaces", NonEmptyStrList()), Opt("notNamespaces", NonEmptyStrList()),
           Opt("serviceAccounts", NonEmptyStrList()), Opt("notServiceAccounts", NonEmptyStrList()),
           Opt("ipBlocks", ips), Opt("notIpBlocks", ips),
           Opt("remoteIpBlocks", ips), Opt("notRemoteIpBlocks", ips)},
          "a source (object)"),
      SourceRules);
  auto operation = WithRule(
      Obj({Opt("hosts", NonEmptyStrList()), Opt("notHosts", NonEmptyStrList()), Opt("ports", ports),
           Opt("notPorts", ports), Opt("methods", NonEmptyStrList()),
           Opt("notMethods", NonEmptyStrList()), Opt("paths", NonEmptyStrList()),
           Opt("notPaths", NonEmptyStrList())},
          "an operation (object)"),
      OperationRules);
  auto condition = WithRule(Obj({Req("key", Str()), Opt("values", StrList()), Opt("notValues", StrList())},
                                "a condition (object)"),
                            ConditionRules);
  auto rule = Obj({Opt("from", List(Obj({Req("source", source)}, "a rule source (object)"), 1)),
                   Opt("to", List(Obj({Req("operation", operation)}, "a rule operation (object)"), 1)),
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
    if (GetStr(s, "action") == "DENY" && (!Member(s, "rules").is_array() || Member(s, "rules").empty())) {
      out->push_back({"rules", "required field is missing (a DENY policy without rules never "
                               "matches; add an empty rule {} to deny everything)"});
    }
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
                           if (c < '0' || c > '9' || port > 65535) return "expected a port number 1-65535, got " + QuoteForMessage(k);
                           port = port * 10 + (c - '0');
                         }
                         if (k.empty() || port < 1 || port > 65535) return "expected a port number 1-65535, got " + QuoteForMessage(k);
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
  auto header_ops = Obj({Opt("set", StrMap()), Opt("add", StrMap()), Opt("remove", StrList())},
                        "header operations (object)");
  auto headers = Obj({Opt("request", header_ops), Opt("response", header_ops)}, "header manipulation (object)");
  auto route_dest = Obj({Req("destination", Destination()), Opt("weight", Int(0, INT32_MAX)),
                         Opt("headers", headers)},
                        "a route destination (object)");
  auto redirect = Obj({Opt("uri", Str()), Opt("authority", Str()), Opt("port", Int(1, 65535)),
                       Opt("derivePort", Enum({"FROM_PROTOCOL_DEFAULT", "FROM_REQUEST_PORT"})),
                       Opt("scheme", Str()), Opt("redirectCode", Int(300, 399))},
                      "an HTTP redirect (object)");
  auto rewrite = Obj({Opt("uri", Str()), Opt("authority", Str()),
                      Opt("uriRegexRewrite", Obj({Opt("match", Str()), Opt("rewrite", Str())}, "a regex rewrite (object)"))},
                     "an HTTP rewrite (object)");
  auto direct = Obj({Req("status", Int(200, 599)),
                     Opt("body", WithRule(Obj({Opt("string", Str()), Opt("bytes", Str())}, "a response body (object)"),
                                          AtMostOneOf({"string", "bytes"})))},
                    "a direct response (object)");
  auto cors = Obj({Opt("allowOrigins", List(StringMatch())), Opt("allowOrigin", StrList()),
                   Opt("allowMethods", StrList()), Opt("allowHeaders", StrList()), Opt("exposeHeaders", StrList()),
                   Opt("maxAge", Duration()), Opt("allowCredentials", Bool()),
                   Opt("unmatchedPreflights", Enum({"UNSPECIFIED", "FORWARD", "IGNORE"}))},
                  "a CORS policy (object)");
  auto mirror = Obj({Req("destination", Destination()), Opt("percentage", Percent())}, "a mirror policy (object)");
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
                   Opt("redirect", redirect), Opt("directResponse", direct),
                   Opt("delegate", Obj({Opt("name", Str()), Opt("namespace", Str())}, "a delegate (object)")),
                   Opt("rewrite", rewrite),
                   Opt("timeout", Duration()), Opt("retries", retries), Opt("fault", fault),
                   Opt("mirror", Destination()), Opt("mirrors", List(mirror)),
                   Opt("mirrorPercentage", Percent()), Opt("mirrorPercent", Int(0, 100)),
                   Opt("corsPolicy", cors), Opt("headers", headers)},
                  "an HTTP route (object)");
  auto l4_dest = Obj({Req("destination", Destination()), Opt("weight", Int(0, INT32_MAX))},
                     "a route destination (object)");
  auto tls_match = Obj({Req("sniHosts", List(Str(), 1)), Opt("destinationSubnets", StrList()),
                        Opt("port", Int(1, 65535)), Opt("sourceLabels", StrMap()), Opt("gateways", StrList()),
                        Opt("sourceNamespace", Str())},
                       "a TLS match (object)");
  auto tcp_match = Obj({Opt("destinationSubnets", StrList()), Opt("port", Int(1, 65535)),
                        Opt("sourceSubnet", Str()), Opt("sourceLabels", StrMap()), Opt("gateways", StrList()),
                        Opt("sourceNamespace", Str())},
                       "a TCP match (object)");
  auto tls_route = Obj({Req("match", List(tls_match, 1)), Opt("route", List(l4_dest))}, "a TLS route (object)");
  auto tcp_route = Obj({Opt("match", List(tcp_match)), Opt("route", List(l4_dest))}, "a TCP route (object)");
  return Obj({Opt("hosts", StrList()), Opt("gateways", StrList()), Opt("http", List(http)),
              Opt("tls", List(tls_route)), Opt("tcp", List(tcp_route)),
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

SchemaPtr LoadBalancer() {
  auto cookie = Obj({Req("name", Str()), Opt("path", Str()), Opt("ttl", Duration()),
                     Opt("attributes", List(Obj({Req("name", Str()), Opt("value", Str())}, "a cookie attribute (object)")))},
                    "an HTTP cookie (object)");
  auto hash = WithRule(
      Obj({Opt("httpHeaderName", Str()), Opt("httpCookie", cookie), Opt("useSourceIp", Bool()),
           Opt("httpQueryParameterName", Str()),
           Opt("ringHash", Obj({Opt("minimumRingSize", Int(0, INT64_MAX))}, "ring hash settings (object)")),
           Opt("maglev", Obj({Opt("tableSize", Int(0, INT64_MAX))}, "maglev settings (object)")),
           Opt("minimumRingSize", Int(0, INT64_MAX))},
          "a consistent hash setting (object)"),
      AtMostOneOf({"httpHeaderName", "httpCookie", "useSourceIp", "httpQueryParameterName"}));
  auto from_to = Obj({Opt("from", Str()), Opt("to", Str())}, "a failover rule (object)");
  auto locality = Obj({Opt("distribute", List(Obj({Opt("from", Str()), Opt("to", Map(Int(0, UINT32_MAX)))},
                                                  "a distribution rule (object)"))),
                       Opt("failover", List(from_to)), Opt("failoverPriority", StrList()),
                       Opt("enabled", Bool())},
                      "locality load balancing settings (object)");
  return WithRule(
      Obj({Opt("simple", Enum({"UNSPECIFIED", "LEAST_CONN", "RANDOM", "PASSTHROUGH", "ROUND_ROBIN",
                               "LEAST_REQUEST"})),
           Opt("consistentHash", hash), Opt("localityLbSetting", locality),
           Opt("warmupDurationSecs", Duration()),
           Opt("warmup", Obj({Opt("duration", Duration()), Opt("minimumPercent", Num()),
                              Opt("aggression", Num())},
                             "warmup settings (object)"))},
          "load balancer settings (object)"),
      AtMostOneOf({"simple", "consistentHash"}));
}

SchemaPtr ConnectionPool() {
  auto tcp = Obj({Opt("maxConnections", Int(0, INT32_MAX)), Opt("connectTimeout", Duration()),
                  Opt("tcpKeepalive", Obj({Opt("probes", Int(0, UINT32_MAX)), Opt("time", Duration()),
                                           Opt("interval", Duration())},
                                          "TCP keepalive settings (object)")),
                  Opt("maxConnectionDuration", Duration()), Opt("idleTimeout", Duration())},
                 "TCP connection pool settings (object)");
  auto http = Obj({Opt("http1MaxPendingRequests", Int(0, INT32_MAX)), Opt("http2MaxRequests", Int(0, INT32_MAX)),
                   Opt("maxRequestsPerConnection", Int(0, INT32_MAX)), Opt("maxRetries", Int(0, INT32_MAX)),
                   Opt("idleTimeout", Duration()), Opt("h2UpgradePolicy", Enum({"DEFAULT", "DO_NOT_UPGRADE", "UPGRADE"})),
                   Opt("useClientProtocol", Bool()), Opt("maxConcurrentStreams", Int(0, INT32_MAX))},
                  "HTTP connection pool settings (object)");
  return Obj({Opt("tcp", tcp), Opt("http", http)}, "connection pool settings (object)");
}

SchemaPtr OutlierDetection() {
  return Obj({Opt("consecutiveErrors", Int(0, INT32_MAX)), Opt("splitExternalLocalOriginErrors", Bool()),
              Opt("consecutiveLocalOriginFailures", Int(0, UINT32_MAX)),
              Opt("consecutiveGatewayErrors", Int(0, UINT32_MAX)), Opt("consecutive5xxErrors", Int(0, UINT32_MAX)),
              Opt("interval", Duration()), Opt("baseEjectionTime", Duration()),
              Opt("maxEjectionPercent", Int(0, 100)), Opt("minHealthPercent", Int(0, 100)),
              Opt("outlierDetectionHttpErrorCodes", List(Int(100, 599)))},
             "outlier detection settings (object)");
}

SchemaPtr ClientTls() {
  return Obj({Opt("mode", Enum({"DISABLE", "SIMPLE", "MUTUAL", "ISTIO_MUTUAL"})),
              Opt("clientCertificate", Str()), Opt("privateKey", Str()), Opt("caCertificates", Str()),
              Opt("credentialName", Str()), Opt("subjectAltNames", StrList()), Opt("sni", Str()),
              Opt("insecureSkipVerify", Bool()), Opt("caCrl", Str())},
             "client TLS settings (object)");
}

SchemaPtr TrafficPolicy() {
  auto port_settings = Obj({Opt("port", Obj({Opt("number", Int(1, 65535))}, "a port selector (object)")),
                            Opt("loadBalancer", LoadBalancer()), Opt("connectionPool", ConnectionPool()),
                            Opt("outlierDetection", OutlierDetection()), Opt("tls", ClientTls())},
                           "port traffic policy (object)");
  return Obj({Opt("loadBalancer", LoadBalancer()), Opt("connectionPool", ConnectionPool()),
              Opt("outlierDetection", OutlierDetection()), Opt("tls", ClientTls()),
              Opt("portLevelSettings", List(port_settings)),
              Opt("tunnel", Obj({Req("protocol", Str()), Req("targetHost", Str()), Req("targetPort", Int(1, 65535))},
                                "tunnel settings (object)")),
              Opt("proxyProtocol", Obj({Opt("version", Enum({"V1", "V2"}))}, "proxy protocol settings (object)")),
              Opt("retryBudget", Obj({Opt("percent", Num()), Opt("minRetryConcurrency", Int(0, UINT32_MAX))},
                                     "a retry budget (object)"))},
             "a traffic policy (object)");
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
                             "duplicate port " + (prev.name == p.name ? "name " + QuoteForMessage(p.name) : "number " + std::to_string(p.number))});
      }
    }
    r.ports.push_back(std::move(p));
  }
  if (!Member(r.spec, "workloadSelector").is_null() && !Member(r.spec, "endpoints").is_null()) {
    findings->push_back({JoinKey(base, "spec"), "expected at most one of workloadSelector, endpoints, got both"});
  }
  // (What is stored but not acted on is in the support table, support.cc.)
  const std::string spec_path = JoinKey(base, "spec");
  const json& endpoints = Member(r.spec, "endpoints");
  for (size_t i = 0; endpoints.is_array() && i < endpoints.size(); ++i) {
    if (endpoints[i].is_object() && r.resolution == "STATIC" && endpoints[i].contains("address")) {
      const std::string address = GetStr(endpoints[i], "address");
      in6_addr a6{};
      in_addr a4{};
      if (::inet_pton(AF_INET, address.c_str(), &a4) != 1 && ::inet_pton(AF_INET6, address.c_str(), &a6) != 1) {
        findings->push_back({JoinKey(JoinIndex(JoinKey(spec_path, "endpoints"), i), "address"),
                             "expected an IP address with resolution STATIC, got " + QuoteForMessage(address)});
      }
    }
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
