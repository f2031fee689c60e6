#include "route/lower.h"

#include <re2/re2.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <set>
#include <tuple>

#include "route/retry.h"
#include "route/table.h"

namespace ambit::route {
namespace {

using json = nlohmann::json;

const json& At(const json& o, const char* key) {
  static const json kNull;
  if (!o.is_object()) return kNull;
  auto it = o.find(key);
  return it == o.end() ? kNull : *it;
}

std::string Str(const json& o, const char* key, std::string def = "") {
  const json& v = At(o, key);
  return v.is_string() ? v.get<std::string>() : def;
}

std::string Index(const std::string& path, size_t i) {
  return path + "[" + std::to_string(i) + "]";
}
std::string JoinKey(const std::string& path, const char* key) {
  return path.empty() ? key : path + "." + key;
}

// "10s", "1.5s", "250ms", "1h30m" (config's CheckDuration grammar) in
// milliseconds, rounded down; nullopt when not a duration.
std::optional<std::chrono::milliseconds> ParseDuration(const std::string& text) {
  double total_ms = 0;
  size_t i = 0;
  if (text.empty()) return std::nullopt;
  while (i < text.size()) {
    const size_t start = i;
    while (i < text.size() && ((text[i] >= '0' && text[i] <= '9') || text[i] == '.')) ++i;
    if (i == start) return std::nullopt;
    const double value = std::strtod(text.substr(start, i - start).c_str(), nullptr);
    double unit = 0;
    for (auto [name, ms] : {std::pair{"ms", 1.0}, std::pair{"us", 1e-3}, std::pair{"ns", 1e-6},
                            std::pair{"h", 3600e3}, std::pair{"m", 60e3}, std::pair{"s", 1e3}}) {
      const std::string_view u(name);
      if (text.compare(i, u.size(), u) == 0) {
        unit = ms;
        i += u.size();
        break;
      }
    }
    if (unit == 0) return std::nullopt;
    total_ms += value * unit;
  }
  // Beyond any useful timeout (about 31 years); keeps the conversion defined.
  constexpr double kMaxMs = 1e12;
  return std::chrono::milliseconds(static_cast<int64_t>(std::floor(std::min(total_ms, kMaxMs))));
}

class Sink {
 public:
  Sink(std::vector<config::Diagnostic>* out, std::string kind, const config::ObjectMeta& meta)
      : out_(out), kind_(std::move(kind)), ns_(meta.ns), name_(meta.name) {}

  void Error(std::string path, std::string message) {
    Add(config::Severity::kError, std::move(path), std::move(message));
  }
  void Warning(std::string path, std::string message) {
    Add(config::Severity::kWarning, std::move(path), std::move(message));
  }
  void NotEnforced(const std::string& path, const std::string& what) {
    Add(config::Severity::kWarning, path,
        what + " is accepted but not enforced by the waypoint's route table");
  }

 private:
  void Add(config::Severity s, std::string path, std::string message) {
    config::Diagnostic d;
    d.severity = s;
    d.kind = kind_;
    d.ns = ns_;
    d.name = name_;
    d.path = std::move(path);
    d.message = OneLine(message);
    out_->push_back(std::move(d));
  }
  std::vector<config::Diagnostic>* out_;
  std::string kind_, ns_, name_;
};

// Oldest first, then namespace/name: the tie-break both APIs use.
template <typename T>
std::vector<const T*> ByAge(const std::vector<T>& items) {
  std::vector<const T*> out;
  for (const T& t : items) out.push_back(&t);
  std::stable_sort(out.begin(), out.end(), [](const T* a, const T* b) {
    // An absent timestamp sorts after every given one (RFC 3339 UTC strings compare as times).
    auto key = [](const T* t) {
      return std::tuple(t->metadata.creation_timestamp.empty(), t->metadata.creation_timestamp,
                        t->metadata.ns, t->metadata.name);
    };
    return key(a) < key(b);
  });
  return out;
}

// Drops |route| with a diagnostic when it does not compile on its own (bad
// regex, bad path, ...), so one bad rule does not take the table down.
bool CompilesAlone(const Route& route, Sink& sink, const std::string& path) {
  auto t = Compile(RouteRules{Precedence::kFirstMatch, {route}});
  if (t.ok()) return true;
  sink.Error(path, t.error().message() + " (rule not used)");
  return false;
}

// ---- Gateway API ----

StringMatch GatewayString(const json& m) {
  StringMatch s;
  s.kind = Str(m, "type", "Exact") == "RegularExpression" ? StringMatch::Kind::kRegex
                                                          : StringMatch::Kind::kExact;
  s.value = Str(m, "value");
  return s;
}

HeaderModifier GatewayHeaders(const json& f) {
  HeaderModifier h;
  for (const char* op : {"set", "add"}) {
    const json& list = At(f, op);
    for (size_t i = 0; list.is_array() && i < list.size(); ++i) {
      (op[0] == 's' ? h.set : h.add).emplace_back(Str(list[i], "name"), Str(list[i], "value"));
    }
  }
  const json& remove = At(f, "remove");
  for (size_t i = 0; remove.is_array() && i < remove.size(); ++i) {
    if (remove[i].is_string()) h.remove.push_back(remove[i].get<std::string>());
  }
  return h;
}

PathRewrite GatewayPathModifier(const json& p) {
  PathRewrite rw;
  if (Str(p, "type") == "ReplacePrefixMatch") {
    rw.kind = PathRewrite::Kind::kPrefix;
    rw.value = Str(p, "replacePrefixMatch");
  } else {
    rw.kind = PathRewrite::Kind::kFullPath;
    rw.value = Str(p, "replaceFullPath");
  }
  return rw;
}

// A Service backendRef or mirror target. Unresolvable references keep their
// weight and are answered 500 (Gateway API BackendRef).
Backend GatewayBackend(const json& ref, const std::string& route_ns, const LowerOptions& options,
                       Sink& sink, const std::string& path) {
  Backend b;
  const std::string group = Str(ref, "group");
  const std::string kind = Str(ref, "kind", "Service");
  if (!group.empty() || kind != "Service") {
    sink.Error(path, "backend kind '" + (group.empty() ? "" : group + "/") + kind +
                         "' is not supported (only Services); requests to it are answered 500");
    b.unresolved_status = 500;
    return b;
  }
  b.host =
      Str(ref, "name") + "." + Str(ref, "namespace", route_ns) + ".svc." + options.domain_suffix;
  const json& port = At(ref, "port");
  if (!port.is_number_integer()) {
    sink.Error(JoinKey(path, "port"),
               "a Service backend needs a port; requests to it are answered 500");
    b.unresolved_status = 500;
  } else {
    b.port = static_cast<uint16_t>(port.get<int64_t>());
  }
  return b;
}

// Applies the rule-level filters of an HTTPRoute rule to |route|.
void GatewayFilters(const json& filters, Route& route, const std::string& route_ns,
                    const LowerOptions& options, Sink& sink, const std::string& path) {
  for (size_t i = 0; filters.is_array() && i < filters.size(); ++i) {
    const json& f = filters[i];
    const std::string at = Index(path, i);
    const std::string type = Str(f, "type");
    if (type == "RequestHeaderModifier") {
      route.request_headers = GatewayHeaders(At(f, "requestHeaderModifier"));
    } else if (type == "ResponseHeaderModifier") {
      route.response_headers = GatewayHeaders(At(f, "responseHeaderModifier"));
    } else if (type == "RequestRedirect") {
      const json& r = At(f, "requestRedirect");
      Redirect red;
      if (At(r, "scheme").is_string()) red.scheme = Str(r, "scheme");
      if (At(r, "hostname").is_string()) red.hostname = Str(r, "hostname");
      if (At(r, "port").is_number_integer())
        red.port = static_cast<uint16_t>(At(r, "port").get<int64_t>());
      if (At(r, "path").is_object()) red.path = GatewayPathModifier(At(r, "path"));
      red.status = static_cast<uint16_t>(
          At(r, "statusCode").is_number_integer() ? At(r, "statusCode").get<int64_t>() : 302);
      route.redirect = red;
    } else if (type == "URLRewrite") {
      const json& r = At(f, "urlRewrite");
      if (At(r, "hostname").is_string()) route.rewrite_host = Str(r, "hostname");
      if (At(r, "path").is_object()) route.rewrite_path = GatewayPathModifier(At(r, "path"));
    } else if (type == "RequestMirror") {
      const json& m = At(f, "requestMirror");
      Mirror mirror;
      mirror.backend = GatewayBackend(At(m, "backendRef"), route_ns, options, sink,
                                      JoinKey(JoinKey(at, "requestMirror"), "backendRef"));
      if (At(m, "percent").is_number()) mirror.percentage = At(m, "percent").get<double>();
      if (const json& fr = At(m, "fraction"); fr.is_object()) {
        const double den =
            At(fr, "denominator").is_number() ? At(fr, "denominator").get<double>() : 100;
        mirror.percentage = std::min(100.0, 100.0 * At(fr, "numerator").get<double>() / den);
      }
      if (mirror.backend.unresolved_status == 0) route.mirrors.push_back(std::move(mirror));
    } else if (type == "ExtensionRef") {
      // Gateway API: an unresolvable filter is not skipped; its requests get a 500.
      sink.Error(
          at,
          "ExtensionRef filters are not supported; requests matching this rule are answered 500");
      route.direct_response = DirectResponse{500, ""};
    } else if (type == "CORS") {
      sink.NotEnforced(at, "the CORS filter");
    }
  }
}

}  // namespace

namespace {

// An HTTPRoute or a GRPCRoute: what the lowering reads of either.
struct GatewaySource {
  bool grpc = false;
  const config::ObjectMeta* meta = nullptr;
  const json* spec = nullptr;
  const std::vector<config::ParentRef>* parent_refs = nullptr;
  const std::vector<std::string>* hostnames = nullptr;
};

// A GRPCRoute method match as a path match on "/<service>/<method>"
// (https://gateway-api.sigs.k8s.io/reference/spec/#grpcmethodmatch): Exact
// with both -> exact path; service only -> the service's prefix; otherwise a
// regex with "[^/]+" for what is omitted.
std::optional<PathMatch> GrpcMethodPath(const json& method) {
  if (!method.is_object()) return std::nullopt;
  const std::string service = Str(method, "service");
  const std::string name = Str(method, "method");
  if (service.empty() && name.empty()) return std::nullopt;
  PathMatch p;
  if (Str(method, "type", "Exact") == "Exact") {
    if (!service.empty() && !name.empty()) {
      p.kind = PathMatch::Kind::kExact;
      p.value = "/" + service + "/" + name;
      return p;
    }
    if (name.empty()) {
      p.kind = PathMatch::Kind::kStringPrefix;
      p.value = "/" + service + "/";
      return p;
    }
    p.kind = PathMatch::Kind::kRegex;
    p.value = "/[^/]+/" + re2::RE2::QuoteMeta(name);
    return p;
  }
  p.kind = PathMatch::Kind::kRegex;
  p.value = "/" + (service.empty() ? std::string("[^/]+") : service) + "/" +
            (name.empty() ? std::string("[^/]+") : name);
  return p;
}

}  // namespace

Lowered LowerHttpRoutes(const std::vector<config::HttpRoute>& routes, const LowerOptions& options) {
  return LowerGatewayRoutes(routes, {}, options);
}

Lowered LowerGatewayRoutes(const std::vector<config::HttpRoute>& http_routes,
                           const std::vector<config::GrpcRoute>& grpc_routes,
                           const LowerOptions& options) {
  Lowered out;
  out.rules.precedence = Precedence::kGatewayApi;
  std::vector<GatewaySource> sources;
  for (const auto& r : http_routes)
    sources.push_back({false, &r.metadata, &r.spec, &r.parent_refs, &r.hostnames});
  for (const auto& r : grpc_routes)
    sources.push_back({true, &r.metadata, &r.spec, &r.parent_refs, &r.hostnames});
  // Oldest first, then namespace/name, across both kinds.
  std::stable_sort(
      sources.begin(), sources.end(), [](const GatewaySource& a, const GatewaySource& b) {
        auto key = [](const GatewaySource& s) {
          return std::tuple(s.meta->creation_timestamp.empty(), s.meta->creation_timestamp,
                            s.meta->ns, s.meta->name, s.grpc);
        };
        return key(a) < key(b);
      });
  for (const GatewaySource& src : sources) {
    const config::ObjectMeta& meta = *src.meta;
    const std::string kind = src.grpc ? "GRPCRoute" : "HTTPRoute";
    Sink sink(&out.diagnostics, kind, meta);
    // Service parents grouped by port (0 = every port).
    std::map<uint16_t, std::vector<std::string>> hosts_by_port;
    for (const config::ParentRef& p : *src.parent_refs) {
      if (!p.group.empty() || p.kind != "Service") continue;
      const std::string ns = p.ns.empty() ? meta.ns : p.ns;
      hosts_by_port[static_cast<uint16_t>(p.port.value_or(0))].push_back(
          p.name + "." + ns + ".svc." + options.domain_suffix);
    }
    if (hosts_by_port.empty()) continue;
    if (!src.hostnames->empty()) {
      sink.NotEnforced(
          "spec.hostnames",
          "hostnames on a route with Service parents (GAMMA routes by the parent Service)");
    }
    const json& rules = At(*src.spec, "rules");
    const size_t rule_count = rules.is_array() ? rules.size() : 0;
    for (size_t ri = 0; ri < std::max<size_t>(rule_count, rules.is_array() ? 0 : 1); ++ri) {
      static const json kEmpty = json::object();
      const json& rule = rules.is_array() ? rules[ri] : kEmpty;
      const std::string at = Index("spec.rules", ri);
      Route route;
      route.name = kind + " " + meta.ns + "/" + meta.name + " rules[" + std::to_string(ri) + "]";
      const json& matches = At(rule, "matches");
      for (size_t mi = 0; matches.is_array() && mi < matches.size(); ++mi) {
        const json& m = matches[mi];
        RouteMatch rm;
        PathMatch pm;  // default: PathPrefix "/"
        if (const json& p = At(m, "path"); p.is_object()) {
          const std::string type = Str(p, "type", "PathPrefix");
          pm.kind = type == "Exact"               ? PathMatch::Kind::kExact
                    : type == "RegularExpression" ? PathMatch::Kind::kRegex
                                                  : PathMatch::Kind::kPathPrefix;
          pm.value = Str(p, "value", "/");
        }
        // A GRPCRoute match without a method has no path condition: it ranks
        // below every method match, as GRPCRoute precedence orders by the
        // length of the matched service and method.
        rm.path = src.grpc ? GrpcMethodPath(At(m, "method")) : std::optional<PathMatch>(pm);
        for (auto [key, list] :
             {std::pair{"headers", &rm.headers}, std::pair{"queryParams", &rm.query_params}}) {
          const json& items = At(m, key);
          for (size_t k = 0; items.is_array() && k < items.size(); ++k) {
            list->push_back(KeyValueMatch{Str(items[k], "name"), GatewayString(items[k]), false});
          }
        }
        if (At(m, "method").is_string())
          rm.method = StringMatch{StringMatch::Kind::kExact, Str(m, "method")};
        route.matches.push_back(std::move(rm));
      }
      if (route.matches.empty()) {
        route.matches.push_back(src.grpc ? RouteMatch{} : RouteMatch{.path = PathMatch{}});
      }
      GatewayFilters(At(rule, "filters"), route, meta.ns, options, sink, JoinKey(at, "filters"));
      if (route.rewrite_path && route.rewrite_path->kind == PathRewrite::Kind::kPrefix &&
          std::any_of(route.matches.begin(), route.matches.end(), [](const RouteMatch& rm) {
            return !rm.path || rm.path->kind != PathMatch::Kind::kPathPrefix;
          })) {
        // https://gateway-api.sigs.k8s.io/reference/spec/#httppathmodifier
        sink.Error(
            JoinKey(at, "filters"),
            "ReplacePrefixMatch needs every match of the rule to be a PathPrefix (rule not used)");
        continue;
      }
      const json& refs = At(rule, "backendRefs");
      for (size_t bi = 0; refs.is_array() && bi < refs.size(); ++bi) {
        const std::string bat = Index(JoinKey(at, "backendRefs"), bi);
        Backend b = GatewayBackend(refs[bi], meta.ns, options, sink, bat);
        b.weight = static_cast<uint32_t>(
            At(refs[bi], "weight").is_number_integer() ? At(refs[bi], "weight").get<int64_t>() : 1);
        const json& bf = At(refs[bi], "filters");
        for (size_t fi = 0; bf.is_array() && fi < bf.size(); ++fi) {
          const std::string type = Str(bf[fi], "type");
          if (type == "RequestHeaderModifier") {
            b.request_headers = GatewayHeaders(At(bf[fi], "requestHeaderModifier"));
          } else if (type == "ResponseHeaderModifier") {
            b.response_headers = GatewayHeaders(At(bf[fi], "responseHeaderModifier"));
          } else {
            sink.NotEnforced(Index(JoinKey(bat, "filters"), fi),
                             "a " + type + " filter on a backend");
          }
        }
        route.backends.push_back(std::move(b));
      }
      if (route.direct_response) route.backends.clear();  // the rule answers 500 itself
      if (route.backends.empty() && !route.redirect && !route.direct_response) {
        // https://gateway-api.sigs.k8s.io/reference/spec/#httproutefilter: nothing
        // answers and no backend: 500.
        route.direct_response = DirectResponse{500, ""};
      }
      if (const json& t = At(rule, "timeouts"); t.is_object()) {
        if (At(t, "request").is_string()) route.timeouts.request = ParseDuration(Str(t, "request"));
        if (At(t, "backendRequest").is_string())
          route.timeouts.backend_request = ParseDuration(Str(t, "backendRequest"));
      }
      if (const json& r = At(rule, "retry"); r.is_object()) {
        RetryPolicy retry;
        retry.attempts = static_cast<uint32_t>(
            At(r, "attempts").is_number_integer() ? At(r, "attempts").get<int64_t>() : 2);
        retry.retry_on = {"connect-failure", "refused-stream", "unavailable", "cancelled"};
        const json& codes = At(r, "codes");
        for (size_t i = 0; codes.is_array() && i < codes.size(); ++i) {
          retry.codes.push_back(static_cast<uint16_t>(codes[i].get<int64_t>()));
        }
        if (!retry.codes.empty()) retry.retry_on.push_back("retriable-status-codes");
        if (At(r, "backoff").is_string()) retry.backoff = ParseDuration(Str(r, "backoff"));
        route.retry = std::move(retry);
      } else if (!route.redirect && !route.direct_response) {
        route.retry = IstioDefaultRetry();
      }
      if (!At(rule, "sessionPersistence").is_null())
        sink.NotEnforced(JoinKey(at, "sessionPersistence"), "sessionPersistence");
      for (const auto& [port, hosts] : hosts_by_port) {
        Route copy = route;
        copy.hosts = hosts;
        if (port != 0) {
          for (RouteMatch& rm : copy.matches) rm.port = port;
        }
        if (CompilesAlone(copy, sink, at)) out.rules.routes.push_back(std::move(copy));
      }
    }
  }
  return out;
}

// ---- Istio ----

namespace {

// "reviews" -> "reviews.<ns>.svc.<domain>"; names with a dot, wildcards and
// addresses are taken as written (Istio's short-name rule).
std::string ResolveHost(const std::string& host, const std::string& ns,
                        const LowerOptions& options) {
  if (host == "*" || host.find('.') != std::string::npos || host.find(':') != std::string::npos)
    return host;
  return host + "." + ns + ".svc." + options.domain_suffix;
}

// An Istio StringMatch; `{}` is a presence match.
StringMatch IstioString(const json& m, bool ignore_case = false) {
  StringMatch s;
  s.ignore_case = ignore_case;
  if (At(m, "exact").is_string()) {
    s.kind = StringMatch::Kind::kExact;
    s.value = Str(m, "exact");
  } else if (At(m, "prefix").is_string()) {
    s.kind = StringMatch::Kind::kPrefix;
    s.value = Str(m, "prefix");
  } else if (At(m, "regex").is_string()) {
    s.kind = StringMatch::Kind::kRegex;
    s.value = Str(m, "regex");
  } else {
    s.kind = StringMatch::Kind::kPresent;
  }
  return s;
}

HeaderModifier IstioHeaders(const json& ops) {
  HeaderModifier h;
  for (const char* op : {"set", "add"}) {
    const json& map = At(ops, op);
    if (!map.is_object()) continue;
    for (const auto& [k, v] : map.items()) {
      (op[0] == 's' ? h.set : h.add).emplace_back(k, v.is_string() ? v.get<std::string>() : "");
    }
  }
  const json& remove = At(ops, "remove");
  for (size_t i = 0; remove.is_array() && i < remove.size(); ++i) {
    if (remove[i].is_string()) h.remove.push_back(remove[i].get<std::string>());
  }
  return h;
}

double IstioPercent(const json& p, double def = 100) {
  return At(p, "value").is_number() ? At(p, "value").get<double>() : def;
}

class SubsetIndex {
 public:
  SubsetIndex(const std::vector<config::DestinationRule>& rules, const LowerOptions& options) {
    for (const config::DestinationRule* dr : ByAge(rules)) {
      const std::string host = ResolveHost(dr->host, dr->metadata.ns, options);
      for (const auto& s : dr->subsets) subsets_[host].insert(s.name);
    }
  }
  bool HostHasRule(const std::string& host) const { return subsets_.count(host) != 0; }
  bool Has(const std::string& host, const std::string& subset) const {
    auto it = subsets_.find(host);
    return it != subsets_.end() && it->second.count(subset) != 0;
  }

 private:
  std::map<std::string, std::set<std::string>> subsets_;
};

Backend IstioDestination(const json& d, const std::string& ns, const SubsetIndex& subsets,
                         const LowerOptions& options, Sink& sink, const std::string& path) {
  Backend b;
  b.host = ResolveHost(Str(d, "host"), ns, options);
  b.subset = Str(d, "subset");
  if (const json& port = At(At(d, "port"), "number"); port.is_number_integer()) {
    b.port = static_cast<uint16_t>(port.get<int64_t>());
  }
  if (!b.subset.empty() && !subsets.Has(b.host, b.subset)) {
    sink.Error(JoinKey(path, "subset"),
               "subset '" + b.subset + "' of host '" + b.host +
                   "' is not defined by any DestinationRule; requests to it are answered 503");
    b.unresolved_status = 503;
  }
  return b;
}

}  // namespace

LoadBalancer LowerLoadBalancer(const json& lb) {
  LoadBalancer out;
  const std::string simple = Str(lb, "simple");
  if (simple == "LEAST_REQUEST" || simple == "LEAST_CONN") {
    out.simple = LoadBalancer::Simple::kLeastRequest;
  } else if (simple == "RANDOM") {
    out.simple = LoadBalancer::Simple::kRandom;
  }
  const json& hash = At(lb, "consistentHash");
  if (!hash.is_object()) return out;
  if (const std::string header = Str(hash, "httpHeaderName"); !header.empty()) {
    out.hash = LoadBalancer::Hash::kHeader;
    out.hash_key = header;
    for (char& c : out.hash_key) {
      if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    }
  } else if (const std::string query = Str(hash, "httpQueryParameterName"); !query.empty()) {
    out.hash = LoadBalancer::Hash::kQueryParameter;
    out.hash_key = query;
  } else if (const std::string cookie = Str(At(hash, "httpCookie"), "name"); !cookie.empty()) {
    out.hash = LoadBalancer::Hash::kCookie;
    out.hash_key = cookie;
  } else if (At(hash, "useSourceIp").is_boolean() && At(hash, "useSourceIp").get<bool>()) {
    out.hash = LoadBalancer::Hash::kSourceIp;
  }
  return out;
}

void ApplyDestinationRuleLoadBalancing(
    RouteRules& rules, const std::vector<config::DestinationRule>& destination_rules,
    const LowerOptions& options) {
  // host -> the oldest DestinationRule for it
  std::map<std::string, const config::DestinationRule*> by_host;
  for (const config::DestinationRule* dr : ByAge(destination_rules)) {
    by_host.emplace(ResolveHost(dr->host, dr->metadata.ns, options), dr);
  }
  for (Route& r : rules.routes) {
    for (Backend& b : r.backends) {
      auto it = by_host.find(b.host);
      if (it == by_host.end()) continue;
      const json& spec = it->second->spec;
      const json* policy = &At(At(spec, "trafficPolicy"), "loadBalancer");
      if (!b.subset.empty()) {
        const json& subsets = At(spec, "subsets");
        for (std::size_t i = 0; subsets.is_array() && i < subsets.size(); ++i) {
          if (Str(subsets[i], "name") != b.subset) continue;
          const json& own = At(At(subsets[i], "trafficPolicy"), "loadBalancer");
          if (own.is_object()) policy = &own;
          break;
        }
      }
      b.load_balancer = LowerLoadBalancer(*policy);
    }
  }
}

Lowered LowerVirtualServices(const std::vector<config::VirtualService>& services,
                             const std::vector<config::DestinationRule>& destination_rules,
                             const LowerOptions& options) {
  Lowered out;
  out.rules.precedence = Precedence::kFirstMatch;
  const SubsetIndex subsets(destination_rules, options);
  std::map<std::string, std::string>
      host_owner;  // host -> "ns/name" of the oldest VirtualService routing it
  for (const config::VirtualService* vs : ByAge(services)) {
    if (!vs->gateways.empty() &&
        std::find(vs->gateways.begin(), vs->gateways.end(), "mesh") == vs->gateways.end()) {
      continue;  // bound to ingress gateways only
    }
    Sink sink(&out.diagnostics, "VirtualService", vs->metadata);
    const std::string ns = vs->metadata.ns;
    const std::string self = ns + "/" + vs->metadata.name;
    std::vector<std::string> hosts;
    for (size_t i = 0; i < vs->hosts.size(); ++i) {
      const std::string host = ResolveHost(vs->hosts[i], ns, options);
      auto [it, inserted] = host_owner.emplace(host, self);
      if (!inserted && it->second != self) {
        sink.Error(Index("spec.hosts", i), "host '" + host +
                                               "' is already routed by the older VirtualService " +
                                               it->second + "; this one is not used for it");
        continue;
      }
      if (std::find(hosts.begin(), hosts.end(), host) == hosts.end()) hosts.push_back(host);
    }
    if (hosts.empty()) continue;
    const json& http = At(vs->spec, "http");
    for (size_t hi = 0; http.is_array() && hi < http.size(); ++hi) {
      const json& h = http[hi];
      const std::string at = Index("spec.http", hi);
      Route route;
      route.name = "VirtualService " + self + " http[" + std::to_string(hi) + "]";
      route.hosts = hosts;
      const json& matches = At(h, "match");
      for (size_t mi = 0; matches.is_array() && mi < matches.size(); ++mi) {
        const json& m = matches[mi];
        const std::string mat = Index(JoinKey(at, "match"), mi);
        RouteMatch rm;
        const bool ignore_case =
            At(m, "ignoreUriCase").is_boolean() && At(m, "ignoreUriCase").get<bool>();
        if (const json& uri = At(m, "uri"); uri.is_object()) {
          const StringMatch s = IstioString(uri, ignore_case);
          PathMatch pm;
          pm.ignore_case = ignore_case;
          pm.value = s.value;
          switch (s.kind) {
            case StringMatch::Kind::kExact:
              pm.kind = PathMatch::Kind::kExact;
              break;
            case StringMatch::Kind::kPrefix:
              pm.kind = PathMatch::Kind::kStringPrefix;
              break;
            case StringMatch::Kind::kRegex:
              pm.kind = PathMatch::Kind::kRegex;
              break;
            case StringMatch::Kind::kPresent:
              pm.kind = PathMatch::Kind::kStringPrefix;
              pm.value = "/";
              break;
          }
          rm.path = pm;
        }
        for (auto [key, list, invert] : {std::tuple{"headers", &rm.headers, false},
                                         std::tuple{"withoutHeaders", &rm.headers, true},
                                         std::tuple{"queryParams", &rm.query_params, false}}) {
          const json& items = At(m, key);
          if (!items.is_object()) continue;
          for (const auto& [name, sm] : items.items())
            list->push_back(KeyValueMatch{name, IstioString(sm), invert});
        }
        if (At(m, "method").is_object()) rm.method = IstioString(At(m, "method"));
        if (At(m, "authority").is_object()) rm.authority = IstioString(At(m, "authority"));
        if (At(m, "port").is_number_integer())
          rm.port = static_cast<uint16_t>(At(m, "port").get<int64_t>());
        // Conditions the waypoint cannot evaluate make the entry never match
        // (narrower than written, never wider); an entry for gateways only is
        // not mesh routing.
        bool never = false;
        for (const char* field : {"scheme", "sourceLabels", "sourceNamespace"}) {
          if (At(m, field).is_null()) continue;
          sink.Warning(JoinKey(mat, field),
                       std::string("match.") + field +
                           " is not supported in the waypoint: this match entry never matches");
          never = true;
        }
        if (const json& gw = At(m, "gateways"); gw.is_array() && !gw.empty()) {
          never = never || std::find(gw.begin(), gw.end(), json("mesh")) == gw.end();
        }
        if (never) continue;
        route.matches.push_back(std::move(rm));
      }
      if (matches.is_array() && !matches.empty() && route.matches.empty())
        continue;  // no entry can match
      // Outcome: route, redirect or directResponse.
      const json& dests = At(h, "route");
      for (size_t di = 0; dests.is_array() && di < dests.size(); ++di) {
        const std::string dat = Index(JoinKey(at, "route"), di);
        Backend b = IstioDestination(At(dests[di], "destination"), ns, subsets, options, sink,
                                     JoinKey(dat, "destination"));
        // An omitted weight is 0, except that a lone destination takes all traffic.
        const json& w = At(dests[di], "weight");
        b.weight = w.is_number_integer() ? static_cast<uint32_t>(w.get<int64_t>())
                                         : (dests.size() == 1 ? 1 : 0);
        if (const json& hd = At(dests[di], "headers"); hd.is_object()) {
          b.request_headers = IstioHeaders(At(hd, "request"));
          b.response_headers = IstioHeaders(At(hd, "response"));
        }
        route.backends.push_back(std::move(b));
      }
      if (const json& r = At(h, "redirect"); r.is_object()) {
        Redirect red;
        red.status = static_cast<uint16_t>(
            At(r, "redirectCode").is_number_integer() ? At(r, "redirectCode").get<int64_t>() : 301);
        if (At(r, "uri").is_string())
          red.path = PathRewrite{.kind = PathRewrite::Kind::kFullPath, .value = Str(r, "uri")};
        if (At(r, "authority").is_string()) red.hostname = Str(r, "authority");
        if (At(r, "port").is_number_integer())
          red.port = static_cast<uint16_t>(At(r, "port").get<int64_t>());
        if (At(r, "scheme").is_string()) red.scheme = Str(r, "scheme");
        if (!At(r, "derivePort").is_null())
          sink.NotEnforced(JoinKey(JoinKey(at, "redirect"), "derivePort"), "redirect.derivePort");
        route.redirect = red;
      }
      if (const json& d = At(h, "directResponse"); d.is_object()) {
        DirectResponse dr;
        dr.status = static_cast<uint16_t>(At(d, "status").get<int64_t>());
        dr.body = Str(At(d, "body"), "string");
        if (At(At(d, "body"), "bytes").is_string()) {
          sink.NotEnforced(JoinKey(JoinKey(at, "directResponse"), "body.bytes"),
                           "directResponse.body.bytes");
        }
        route.direct_response = dr;
      }
      if (!At(h, "delegate").is_null()) {
        sink.Error(
            JoinKey(at, "delegate"),
            "delegate is only for gateways and is not supported in the mesh (rule not used)");
        continue;
      }
      if (route.backends.empty() && !route.redirect && !route.direct_response) {
        sink.Error(at, "expected one of route, redirect, directResponse (rule not used)");
        continue;
      }
      if (const json& rw = At(h, "rewrite"); rw.is_object()) {
        if (At(rw, "uri").is_string())
          route.rewrite_path =
              PathRewrite{.kind = PathRewrite::Kind::kPrefix, .value = Str(rw, "uri")};
        if (const json& re = At(rw, "uriRegexRewrite"); re.is_object()) {
          route.rewrite_path = PathRewrite{.kind = PathRewrite::Kind::kRegex,
                                           .value = Str(re, "rewrite"),
                                           .pattern = Str(re, "match")};
        }
        if (At(rw, "authority").is_string()) route.rewrite_host = Str(rw, "authority");
      }
      if (const json& hd = At(h, "headers"); hd.is_object()) {
        route.request_headers = IstioHeaders(At(hd, "request"));
        route.response_headers = IstioHeaders(At(hd, "response"));
      }
      if (At(h, "timeout").is_string()) route.timeouts.request = ParseDuration(Str(h, "timeout"));
      if (const json& r = At(h, "retries"); r.is_object()) {
        RetryPolicy retry;
        retry.attempts = static_cast<uint32_t>(
            At(r, "attempts").is_number_integer() ? At(r, "attempts").get<int64_t>() : 0);
        if (At(r, "perTryTimeout").is_string())
          retry.per_try_timeout = ParseDuration(Str(r, "perTryTimeout"));
        if (At(r, "backoff").is_string()) retry.backoff = ParseDuration(Str(r, "backoff"));
        const std::string on = Str(r, "retryOn");
        if (on.empty()) {
          const RetryPolicy def = IstioDefaultRetry();
          retry.retry_on = def.retry_on;
          retry.codes = def.codes;
        }
        // retryOn: Envoy conditions; plain numbers are retriable status codes.
        for (size_t start = 0; start < on.size();) {
          size_t comma = on.find(',', start);
          if (comma == std::string::npos) comma = on.size();
          std::string item = on.substr(start, comma - start);
          item.erase(0, item.find_first_not_of(' '));
          item.erase(item.find_last_not_of(' ') + 1);
          start = comma + 1;
          if (item.empty()) continue;
          if (std::all_of(item.begin(), item.end(), [](char c) { return c >= '0' && c <= '9'; })) {
            const int code = std::atoi(item.c_str());
            if (code < 100 || code > 599) {
              sink.Error(JoinKey(JoinKey(at, "retries"), "retryOn"),
                         "status code " + item + " is not 100-599 (ignored)");
              continue;
            }
            retry.codes.push_back(static_cast<uint16_t>(code));
          } else {
            const std::string field = JoinKey(JoinKey(at, "retries"), "retryOn");
            if (!IsEnvoyRetryOn(item)) {
              sink.Warning(field, "unknown retry condition \"" + item +
                                      "\" (Envoy's x-envoy-retry-on conditions); ignored");
            } else if (!RetryOnBit(item).has_value()) {
              sink.NotEnforced(field, "retry condition \"" + item + "\"");
            }
            retry.retry_on.push_back(item);
          }
        }
        if (!retry.codes.empty() && std::find(retry.retry_on.begin(), retry.retry_on.end(),
                                              "retriable-status-codes") == retry.retry_on.end()) {
          retry.retry_on.push_back("retriable-status-codes");
        }
        for (const char* field : {"retryRemoteLocalities", "retryIgnorePreviousHosts"}) {
          if (!At(r, field).is_null())
            sink.NotEnforced(JoinKey(JoinKey(at, "retries"), field),
                             std::string("retries.") + field);
        }
        route.retry = std::move(retry);
      } else if (!route.redirect && !route.direct_response) {
        route.retry = IstioDefaultRetry();
      }
      if (const json& f = At(h, "fault"); f.is_object()) {
        Fault fault;
        if (const json& d = At(f, "delay"); d.is_object()) {
          if (At(d, "fixedDelay").is_string()) {
            fault.delay = Fault::Delay{
                ParseDuration(Str(d, "fixedDelay")).value_or(std::chrono::milliseconds(0)),
                At(d, "percentage").is_object() ? IstioPercent(At(d, "percentage"))
                : At(d, "percent").is_number()  ? At(d, "percent").get<double>()
                                                : 100};
          } else if (!At(d, "exponentialDelay").is_null()) {
            sink.NotEnforced(JoinKey(JoinKey(JoinKey(at, "fault"), "delay"), "exponentialDelay"),
                             "fault.delay.exponentialDelay");
          }
        }
        if (const json& a = At(f, "abort"); a.is_object()) {
          Fault::Abort abort;
          abort.percentage = IstioPercent(At(a, "percentage"));
          if (At(a, "httpStatus").is_number_integer())
            abort.http_status = static_cast<uint16_t>(At(a, "httpStatus").get<int64_t>());
          abort.grpc_status = Str(a, "grpcStatus");
          if (!abort.grpc_status.empty() && !GrpcStatusCode(abort.grpc_status)) {
            sink.Error(JoinKey(JoinKey(JoinKey(at, "fault"), "abort"), "grpcStatus"),
                       "\"" + abort.grpc_status +
                           "\" is not a gRPC status name (OK, CANCELLED, ..., UNAVAILABLE, "
                           "DATA_LOSS, UNAUTHENTICATED); the abort is dropped");
            abort.grpc_status.clear();
          }
          if (abort.http_status != 0 || !abort.grpc_status.empty()) {
            fault.abort = abort;
          } else if (!At(a, "http2Error").is_null()) {
            sink.NotEnforced(JoinKey(JoinKey(JoinKey(at, "fault"), "abort"), "http2Error"),
                             "fault.abort.http2Error");
          }
        }
        if (fault.delay || fault.abort) route.fault = fault;
      }
      if (const json& m = At(h, "mirror"); m.is_object()) {
        Mirror mirror;
        mirror.backend = IstioDestination(m, ns, subsets, options, sink, JoinKey(at, "mirror"));
        if (At(h, "mirrorPercentage").is_object()) {
          mirror.percentage = IstioPercent(At(h, "mirrorPercentage"));
        } else if (At(h, "mirrorPercent").is_number()) {
          mirror.percentage = At(h, "mirrorPercent").get<double>();
        }
        if (mirror.backend.unresolved_status == 0) route.mirrors.push_back(std::move(mirror));
      }
      if (const json& ms = At(h, "mirrors"); ms.is_array()) {
        for (size_t i = 0; i < ms.size(); ++i) {
          Mirror mirror;
          mirror.backend =
              IstioDestination(At(ms[i], "destination"), ns, subsets, options, sink,
                               JoinKey(Index(JoinKey(at, "mirrors"), i), "destination"));
          mirror.percentage = IstioPercent(At(ms[i], "percentage"));
          if (mirror.backend.unresolved_status == 0) route.mirrors.push_back(std::move(mirror));
        }
      }
      if (!At(h, "corsPolicy").is_null()) sink.NotEnforced(JoinKey(at, "corsPolicy"), "corsPolicy");
      if (CompilesAlone(route, sink, at)) out.rules.routes.push_back(std::move(route));
    }
    if (!At(vs->spec, "tcp").is_null()) sink.NotEnforced("spec.tcp", "tcp routes");
    if (!At(vs->spec, "tls").is_null()) sink.NotEnforced("spec.tls", "tls routes");
  }
  ApplyDestinationRuleLoadBalancing(out.rules, destination_rules, options);
  return out;
}

}  // namespace ambit::route
