#include "model/route_tables.h"

#include <algorithm>
#include <set>

#include "route/lower.h"
#include "route/wire.h"

namespace ambit::model {
namespace {

// Whether a route host ("reviews.default.svc.cluster.local", "*.default.svc.cluster.local",
// "*") covers |fqdn|.
bool Covers(const std::string& host, const std::string& fqdn) {
  if (host == "*" || host == fqdn) return true;
  if (host.size() > 1 && host[0] == '*' && host[1] == '.') {
    const std::string suffix = host.substr(1);  // ".default.svc.cluster.local"
    return fqdn.size() > suffix.size() &&
           fqdn.compare(fqdn.size() - suffix.size(), suffix.size(), suffix) == 0;
  }
  return false;
}

bool RouteCovers(const route::Route& r, const std::string& fqdn) {
  for (const std::string& h : r.hosts) {
    if (Covers(h, fqdn)) return true;
  }
  return false;
}

// The resource a lowered route came from: its name is "<Kind> <ns>/<name> <where>".
config::Diagnostic SourceOf(const route::Route& r) {
  config::Diagnostic d;
  d.severity = config::Severity::kWarning;
  const size_t space = r.name.find(' ');
  const size_t slash = r.name.find('/', space == std::string::npos ? 0 : space);
  const size_t end = r.name.find(' ', slash == std::string::npos ? 0 : slash);
  if (space != std::string::npos && slash != std::string::npos) {
    d.kind = r.name.substr(0, space);
    d.ns = r.name.substr(space + 1, slash - space - 1);
    d.name =
        r.name.substr(slash + 1, end == std::string::npos ? std::string::npos : end - slash - 1);
  }
  return d;
}

}  // namespace

std::map<std::string, const google::protobuf::Message*> RouteTableModel::MessageView() const {
  std::map<std::string, const google::protobuf::Message*> out;
  for (const auto& [name, table] : tables) out.emplace(name, &table);
  return out;
}

RouteTableModel BuildRouteTables(const AmbientInput& input) {
  RouteTableModel out;
  const route::LowerOptions options{.domain_suffix = input.mesh.domain_suffix};

  std::vector<config::HttpRoute> http;
  for (const auto* r : input.http_routes) http.push_back(*r);
  std::vector<config::GrpcRoute> grpc;
  for (const auto* r : input.grpc_routes) grpc.push_back(*r);
  std::vector<config::VirtualService> vs;
  for (const auto* v : input.virtual_services) vs.push_back(*v);
  std::vector<config::DestinationRule> dr;
  for (const auto* d : input.destination_rules) dr.push_back(*d);

  route::Lowered gateway = route::LowerGatewayRoutes(http, grpc, options);
  route::Lowered istio = route::LowerVirtualServices(vs, dr, options);
  route::ApplyDestinationRuleLoadBalancing(gateway.rules, dr, options);
  for (auto& d : gateway.diagnostics) out.diagnostics.push_back(std::move(d));
  for (auto& d : istio.diagnostics) out.diagnostics.push_back(std::move(d));

  std::map<std::string, const config::Labels*> namespace_labels;
  for (const auto* ns : input.namespaces)
    namespace_labels[ns->metadata.name] = &ns->metadata.labels;
  static const config::Labels kNoLabels;
  const WaypointIndex waypoints(input.gateways);

  std::set<std::string> services;  // every Service FQDN
  std::set<std::string> warned;    // "<route name>" already reported for a Service without waypoint
  for (const ServiceInput& s : input.services) {
    const config::Service& svc = *s.service;
    const std::string fqdn =
        svc.metadata.name + "." + svc.metadata.ns + ".svc." + input.mesh.domain_suffix;
    services.insert(fqdn);
    auto ns = namespace_labels.find(svc.metadata.ns);
    const std::optional<WaypointBinding> binding =
        waypoints.ForService(svc, ns == namespace_labels.end() ? kNoLabels : *ns->second);

    route::RouteRules from_gateway{.precedence = route::Precedence::kGatewayApi, .routes = {}};
    for (const route::Route& r : gateway.rules.routes) {
      if (RouteCovers(r, fqdn)) from_gateway.routes.push_back(r);
    }
    route::RouteRules from_vs{.precedence = route::Precedence::kFirstMatch, .routes = {}};
    for (const route::Route& r : istio.rules.routes) {
      // A VirtualService host "*" is not a mesh route for every Service.
      if (std::find(r.hosts.begin(), r.hosts.end(), fqdn) != r.hosts.end() ||
          (RouteCovers(r, fqdn) &&
           std::find(r.hosts.begin(), r.hosts.end(), "*") == r.hosts.end())) {
        from_vs.routes.push_back(r);
      }
    }
    if (from_gateway.routes.empty() && from_vs.routes.empty()) continue;

    if (!binding) {
      for (const auto* list : {&from_gateway.routes, &from_vs.routes}) {
        for (const route::Route& r : *list) {
          config::Diagnostic d = SourceOf(r);
          if (!warned.insert(d.kind + " " + d.ns + "/" + d.name + " " + fqdn).second) continue;
          d.message = "not enforced for Service " + fqdn +
                      ": it has no waypoint (istio.io/use-waypoint), and without one routes do "
                      "nothing, as in Istio ambient";
          out.diagnostics.push_back(std::move(d));
        }
      }
      continue;
    }
    if (!from_gateway.routes.empty() && !from_vs.routes.empty()) {
      for (const route::Route& r : from_vs.routes) {
        config::Diagnostic d = SourceOf(r);
        if (!warned.insert(d.kind + " " + d.ns + "/" + d.name + " " + fqdn).second) continue;
        d.message =
            "not applied to Service " + fqdn +
            ": HTTPRoute/GRPCRoute attach to it too, and those make its route table "
            "(mixing VirtualService and Gateway API routes on one Service is not supported)";
        out.diagnostics.push_back(std::move(d));
      }
    }
    const route::RouteRules& rules = from_gateway.routes.empty() ? from_vs : from_gateway;
    out.tables[fqdn] = route::EncodeRouteTable(rules);
    out.audience[fqdn] = *binding;
  }
  return out;
}

}  // namespace ambit::model
