// Schemas and decoders of the Gateway API kinds (gateway.h). Field names
// follow gateway-api apis/v1; nested filter configurations are checked at
// their top level only (AnyObject).
#include <cctype>
#include <set>
#include <string>

#include "config/field_path.h"
#include "config/kinds.h"
#include "config/names.h"

namespace ambit::config::internal {
namespace {

using json = nlohmann::json;

StringCheck Subdomain() { return [](std::string_view v) { return CheckDns1123Subdomain(v); }; }
SchemaPtr Duration() { return Str("a duration", CheckDuration); }

SchemaPtr ParentRefSchema() {
  return Obj({Opt("group", Str()), Opt("kind", Str()), Opt("namespace", Str()), Req("name", Str()),
              Opt("sectionName", Str()), Opt("port", Int(1, 65535))},
             "a parent reference (object)");
}

SchemaPtr BackendRef(SchemaPtr filter) {
  return Obj({Opt("group", Str()), Opt("kind", Str()), Req("name", Str()), Opt("namespace", Str()),
              Opt("port", Int(1, 65535)), Opt("weight", Int(0, 1000000)), Opt("filters", List(filter))},
             "a backend reference (object)");
}

SchemaPtr HeaderMatch() {
  return Obj({Opt("type", Enum({"Exact", "RegularExpression"})), Req("name", Str()), Req("value", Str())},
             "a header match (object)");
}

SchemaPtr Filter(std::vector<std::string> types) {
  auto header = Obj({Req("name", Str()), Req("value", Str())}, "an HTTP header (object)");
  auto header_filter = Obj({Opt("set", List(header, 0, 16)), Opt("add", List(header, 0, 16)),
                            Opt("remove", List(Str(), 0, 16))},
                           "a header modifier (object)");
  auto path_modifier = Obj({Req("type", Enum({"ReplaceFullPath", "ReplacePrefixMatch"})),
                            Opt("replaceFullPath", Str()), Opt("replacePrefixMatch", Str())},
                           "a path modifier (object)");
  auto redirect = Obj({Opt("scheme", Enum({"http", "https"})), Opt("hostname", Str()), Opt("path", path_modifier),
                       Opt("port", Int(1, 65535)), Opt("statusCode", Int(300, 399))},
                      "a request redirect (object)");
  auto rewrite = Obj({Opt("hostname", Str()), Opt("path", path_modifier)}, "a URL rewrite (object)");
  auto object_ref = Obj({Opt("group", Str()), Opt("kind", Str()), Req("name", Str()), Opt("namespace", Str()),
                         Opt("port", Int(1, 65535))},
                        "a backend object reference (object)");
  auto mirror = WithRule(Obj({Req("backendRef", object_ref), Opt("percent", Int(0, 100)),
                              Opt("fraction", Obj({Req("numerator", Int(0, INT32_MAX)),
                                                   Opt("denominator", Int(1, INT32_MAX))},
                                                  "a fraction (object)"))},
                             "a request mirror (object)"),
                         AtMostOneOf({"percent", "fraction"}));
  auto extension = Obj({Req("group", Str()), Req("kind", Str()), Req("name", Str())}, "an extension reference (object)");
  auto cors = Obj({Opt("allowOrigins", StrList()), Opt("allowCredentials", Bool()), Opt("allowMethods", StrList()),
                   Opt("allowHeaders", StrList()), Opt("exposeHeaders", StrList()), Opt("maxAge", Int(0, INT32_MAX))},
                  "a CORS filter (object)");
  auto filter = Obj({Req("type", Enum(types)), Opt("requestHeaderModifier", header_filter),
                     Opt("responseHeaderModifier", header_filter), Opt("requestMirror", mirror),
                     Opt("requestRedirect", redirect), Opt("urlRewrite", rewrite),
                     Opt("extensionRef", extension), Opt("cors", cors)},
                    "a filter (object)");
  return WithRule(filter, [](const json& f, std::vector<std::pair<std::string, std::string>>* out) {
    // The member named after the type (RequestHeaderModifier -> requestHeaderModifier,
    // URLRewrite -> urlRewrite, CORS -> cors) must be set, and no other.
    std::string type = GetStr(f, "type");
    std::string member = type == "URLRewrite" ? "urlRewrite" : type == "CORS" ? "cors" : type;
    if (!member.empty()) member[0] = static_cast<char>(std::tolower(static_cast<unsigned char>(member[0])));
    for (const auto& [k, v] : f.items()) {
      if (k != "type" && k != member && !v.is_null()) {
        out->push_back({k, "expected no " + k + " in a filter of type " + type});
      }
    }
    if (Member(f, member).is_null() && type != "") {
      out->push_back({member, "required field is missing (a filter of type " + type + " needs " + member + ")"});
    }
  });
}

SchemaPtr GatewaySpec() {
  auto allowed_routes = Obj(
      {Opt("namespaces", Obj({Opt("from", Enum({"All", "Same", "Selector", "None"})),
                              Opt("selector", LabelSelectorSchema())},
                             "route namespaces (object)")),
       Opt("kinds", List(Obj({Opt("group", Str()), Req("kind", Str())}, "a route kind (object)")))},
      "allowed routes (object)");
  auto listener = Obj({Req("name", Str("a section name", Subdomain())), Opt("hostname", Str()),
                       Req("port", Int(1, 65535)), Req("protocol", Str()),
                       Opt("tls", Obj({Opt("mode", Enum({"Terminate", "Passthrough"})),
                                       Opt("certificateRefs",
                                           List(Obj({Opt("group", Str()), Opt("kind", Str()), Req("name", Str()),
                                                     Opt("namespace", Str())},
                                                    "a certificate reference (object)"),
                                                0, 64)),
                                       Opt("frontendValidation", AnyObject()), Opt("options", StrMap())},
                                      "listener TLS settings (object)")),
                       Opt("allowedRoutes", allowed_routes)},
                      "a listener (object)");
  auto spec = Obj({Req("gatewayClassName", Str("a class name", Subdomain())),
                   Req("listeners", List(listener, 1, 64)),
                   Opt("addresses", List(Obj({Opt("type", Str()), Req("value", Str())}, "an address (object)"), 0, 16)),
                   Opt("infrastructure", Obj({Opt("labels", LabelMap()), Opt("annotations", StrMap()),
                                              Opt("parametersRef", Obj({Req("group", Str()), Req("kind", Str()),
                                                                        Req("name", Str())},
                                                                       "a parameters reference (object)"))},
                                             "infrastructure (object)")),
                   Opt("backendTLS", AnyObject()), Opt("allowedListeners", AnyObject())},
                  "a Gateway spec (object)");
  return WithRule(spec, [](const json& s, std::vector<std::pair<std::string, std::string>>* out) {
    const json& listeners = Member(s, "listeners");
    if (!listeners.is_array()) return;
    std::set<std::string> names;
    for (size_t i = 0; i < listeners.size(); ++i) {
      std::string name = GetStr(listeners[i], "name");
      if (!name.empty() && !names.insert(name).second) {
        out->push_back({JoinKey(JoinIndex("listeners", i), "name"), "duplicate listener name '" + name + "'"});
      }
    }
  });
}

SchemaPtr HttpRouteSpec() {
  auto filter = Filter({"RequestHeaderModifier", "ResponseHeaderModifier", "RequestMirror",
                        "RequestRedirect", "URLRewrite", "ExtensionRef", "CORS"});
  auto match = Obj({Opt("path", Obj({Opt("type", Enum({"Exact", "PathPrefix", "RegularExpression"})),
                                     Opt("value", Str())},
                                    "a path match (object)")),
                    Opt("headers", List(HeaderMatch(), 0, 16)), Opt("queryParams", List(HeaderMatch(), 0, 16)),
                    Opt("method", Enum({"GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS",
                                        "TRACE", "PATCH"}))},
                   "an HTTP route match (object)");
  auto rule = Obj({Opt("name", Str()), Opt("matches", List(match, 0, 64)), Opt("filters", List(filter, 0, 16)),
                   Opt("backendRefs", List(BackendRef(filter), 0, 16)),
                   Opt("timeouts", Obj({Opt("request", Duration()), Opt("backendRequest", Duration())},
                                       "route timeouts (object)")),
                   Opt("retry", Obj({Opt("codes", List(Int(400, 599))), Opt("attempts", Int(0, INT32_MAX)),
                                     Opt("backoff", Duration())},
                                    "a retry policy (object)")),
                   Opt("sessionPersistence", AnyObject())},
                  "an HTTP route rule (object)");
  return Obj({Opt("parentRefs", List(ParentRefSchema(), 0, 32)), Opt("hostnames", List(Str(), 0, 16)),
              Opt("rules", List(rule, 0, 16))},
             "an HTTPRoute spec (object)");
}

SchemaPtr GrpcRouteSpec() {
  auto filter = Filter({"RequestHeaderModifier", "ResponseHeaderModifier", "RequestMirror", "ExtensionRef"});
  auto match = Obj({Opt("method", Obj({Opt("type", Enum({"Exact", "RegularExpression"})), Opt("service", Str()),
                                       Opt("method", Str())},
                                      "a gRPC method match (object)")),
                    Opt("headers", List(HeaderMatch(), 0, 16))},
                   "a gRPC route match (object)");
  auto rule = Obj({Opt("name", Str()), Opt("matches", List(match, 0, 64)), Opt("filters", List(filter, 0, 16)),
                   Opt("backendRefs", List(BackendRef(filter), 0, 16)), Opt("sessionPersistence", AnyObject())},
                  "a gRPC route rule (object)");
  return Obj({Opt("parentRefs", List(ParentRefSchema(), 0, 32)), Opt("hostnames", List(Str(), 0, 16)),
              Opt("rules", List(rule, 0, 16))},
             "a GRPCRoute spec (object)");
}

template <typename T>
T Base(const json& o, const std::string& api_version) {
  T r;
  r.api_version = api_version;
  r.metadata = DecodeMeta(Member(o, "metadata"), true);
  r.spec = Member(o, "spec").is_object() ? Member(o, "spec") : json::object();
  return r;
}

std::vector<ParentRef> DecodeParentRefs(const json& spec) {
  std::vector<ParentRef> out;
  const json& refs = Member(spec, "parentRefs");
  if (!refs.is_array()) return out;
  for (const json& r : refs) {
    ParentRef p;
    p.group = GetStr(r, "group", "gateway.networking.k8s.io");
    p.kind = GetStr(r, "kind", "Gateway");
    p.ns = GetStr(r, "namespace");
    p.name = GetStr(r, "name");
    p.section_name = GetStr(r, "sectionName");
    if (Member(r, "port").is_number_integer()) p.port = static_cast<uint32_t>(GetInt(r, "port"));
    out.push_back(std::move(p));
  }
  return out;
}

Resource DecodeGateway(const json& o, const std::string& v, const std::string&, std::vector<Finding>*) {
  auto r = Base<Gateway>(o, v);
  r.gateway_class_name = GetStr(r.spec, "gatewayClassName");
  const json& listeners = Member(r.spec, "listeners");
  if (listeners.is_array()) {
    for (const json& l : listeners) {
      r.listeners.push_back(GatewayListener{GetStr(l, "name"), GetStr(l, "hostname"),
                                            static_cast<uint32_t>(GetInt(l, "port")), GetStr(l, "protocol")});
    }
  }
  return r;
}

Resource DecodeHttpRoute(const json& o, const std::string& v, const std::string&, std::vector<Finding>*) {
  auto r = Base<HttpRoute>(o, v);
  r.parent_refs = DecodeParentRefs(r.spec);
  r.hostnames = GetStrList(r.spec, "hostnames");
  return r;
}

Resource DecodeGrpcRoute(const json& o, const std::string& v, const std::string&, std::vector<Finding>*) {
  auto r = Base<GrpcRoute>(o, v);
  r.parent_refs = DecodeParentRefs(r.spec);
  r.hostnames = GetStrList(r.spec, "hostnames");
  return r;
}

const std::vector<std::string> kVersions = {"gateway.networking.k8s.io/v1", "gateway.networking.k8s.io/v1beta1"};

}  // namespace

void AddGatewayKinds(std::vector<KindInfo>* kinds) {
  kinds->push_back(KindInfo{"Gateway", kVersions, true, ObjectSchema(true, Subdomain(), {Req("spec", GatewaySpec())}),
                            DecodeGateway});
  kinds->push_back(KindInfo{"HTTPRoute", kVersions, true,
                            ObjectSchema(true, Subdomain(), {Req("spec", HttpRouteSpec())}), DecodeHttpRoute});
  kinds->push_back(KindInfo{"GRPCRoute", kVersions, true,
                            ObjectSchema(true, Subdomain(), {Req("spec", GrpcRouteSpec())}), DecodeGrpcRoute});
}

}  // namespace ambit::config::internal
