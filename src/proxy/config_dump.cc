#include "proxy/config_dump.h"

#include <google/protobuf/util/json_util.h>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <ctime>

#include "core/duration.h"
#include "istio/security/authorization.pb.h"
#include "pki/cert.h"
#include "pki/pem.h"
#include "state/ip_bytes.h"

namespace ambit::proxy {
namespace {

using nlohmann::json;

const char* WorkloadTypeName(state::WorkloadType t) {
  switch (t) {
    case state::WorkloadType::kDeployment: return "deployment";
    case state::WorkloadType::kCronJob: return "cronjob";
    case state::WorkloadType::kPod: return "pod";
    case state::WorkloadType::kJob: return "job";
  }
  return "unknown";
}

json Gateway(const state::GatewayRef& g) {
  json out;
  if (!g.service_key.empty()) out["service"] = g.service_key;
  if (!g.address.empty()) out["address"] = g.network + "/" + state::FormatIp(g.address);
  out["hboneMtlsPort"] = g.hbone_mtls_port;
  return out;
}

json Ports(const std::vector<state::PortMapping>& ports) {
  json out = json::object();
  for (const auto& p : ports) out[std::to_string(p.service_port)] = p.target_port;
  return out;
}

json LoadBalancingJson(const state::LoadBalancing& lb) {
  static constexpr const char* kScopes[] = {"REGION", "ZONE", "SUBZONE", "NODE", "CLUSTER", "NETWORK"};
  static constexpr const char* kModes[] = {"UNSPECIFIED_MODE", "STRICT", "FAILOVER", "PASSTHROUGH"};
  json scopes = json::array();
  for (state::LbScope scope : lb.routing_preference) scopes.push_back(kScopes[static_cast<int>(scope)]);
  return json{{"mode", kModes[static_cast<int>(lb.mode)]},
              {"routingPreference", std::move(scopes)},
              {"healthPolicy", lb.allow_unhealthy ? "ALLOW_ALL" : "ONLY_HEALTHY"}};
}

json CertJson(const std::string& pem) {
  json out;
  out["pem"] = pem;
  auto cert = pki::CertFromPem(pem);
  if (!cert.ok()) return out;
  auto info = pki::InspectCert(cert->get());
  if (!info.ok()) return out;
  out["serialNumber"] = info->serial_hex;
  out["validFrom"] = FormatUtcTimestamp(info->not_before);
  out["expirationTime"] = FormatUtcTimestamp(info->not_after);
  return out;
}

}  // namespace

void DumpWorkers(const hbone::Stats& stats, json& out) {
  out = json::array();
  for (std::size_t shard = 1; shard < stats.shard_count(); ++shard) {
    const hbone::StatsSnapshot s = stats.ShardSnapshot(shard);
    out.push_back(json{{"index", shard - 1},
                       {"connections", s.app_connections},
                       {"bytes", s.bytes_downstream_to_upstream + s.bytes_upstream_to_downstream}});
  }
}

void DumpWorkloads(const state::WorkloadState& state, json& out) {
  out = json::array();
  for (const auto& [uid, w] : state.contents().workloads) {
    json j;
    j["uid"] = w->uid;
    j["name"] = w->name;
    j["namespace"] = w->ns;
    json addrs = json::array();
    for (const auto& a : w->addresses) addrs.push_back(state::FormatIp(a));
    j["workloadIps"] = std::move(addrs);
    j["network"] = w->network;
    j["protocol"] = w->tunnel_protocol == state::TunnelProtocol::kHbone ? "HBONE" : "TCP";
    j["trustDomain"] = w->trust_domain;
    j["serviceAccount"] = w->service_account;
    j["identity"] = w->Identity().ToString();
    j["node"] = w->node;
    if (w->locality != state::Locality{}) {
      j["locality"] = {{"region", w->locality.region},
                       {"zone", w->locality.zone},
                       {"subzone", w->locality.subzone}};
    }
    j["canonicalName"] = w->canonical_name;
    j["canonicalRevision"] = w->canonical_revision;
    j["workloadName"] = w->workload_name;
    j["workloadType"] = WorkloadTypeName(w->workload_type);
    j["clusterId"] = w->cluster_id;
    j["status"] = w->healthy ? "Healthy" : "Unhealthy";
    if (w->host_network) j["networkMode"] = "HostNetwork";
    if (w->waypoint) j["waypoint"] = Gateway(*w->waypoint);
    if (w->waypoint_required) j["waypointRequired"] = true;  // ambit.io/waypoint-required
    json services = json::object();
    for (const auto& [key, ports] : w->services) services[key] = Ports(ports);
    j["services"] = std::move(services);
    j["authorizationPolicies"] = w->authorization_policies;
    out.push_back(std::move(j));
  }
}

void DumpServices(const state::WorkloadState& state, json& out) {
  out = json::array();
  for (const auto& [key, s] : state.contents().services) {
    json j;
    j["name"] = s->name;
    j["namespace"] = s->ns;
    j["hostname"] = s->hostname;
    json vips = json::array();
    for (const auto& v : s->vips) vips.push_back(v.network + "/" + state::FormatIp(v.address));
    j["vips"] = std::move(vips);
    j["ports"] = Ports(s->ports);
    j["subjectAltNames"] = s->subject_alt_names;
    if (s->waypoint) j["waypoint"] = Gateway(*s->waypoint);
    if (s->waypoint_required) j["waypointRequired"] = true;  // ambit.io/waypoint-required
    if (s->load_balancing) j["loadBalancing"] = LoadBalancingJson(*s->load_balancing);
    json endpoints = json::object();
    for (const auto& port : s->ports) {
      for (const auto& ep : state.Endpoints(*s, port.service_port, /*include_unhealthy=*/true)) {
        endpoints[ep.workload->uid]["workloadUid"] = ep.workload->uid;
        endpoints[ep.workload->uid]["address"] = state::FormatIp(ep.address);
        endpoints[ep.workload->uid]["status"] = ep.workload->healthy ? "Healthy" : "Unhealthy";
        endpoints[ep.workload->uid]["port"][std::to_string(port.service_port)] = ep.target_port;
      }
    }
    j["endpoints"] = std::move(endpoints);
    out.push_back(std::move(j));
  }
}

void DumpPolicies(const state::WorkloadState& state, json& out) {
  out = json::array();
  for (const auto& [key, policy] : state.contents().policies) {
    std::string text;
    google::protobuf::util::JsonPrintOptions options;
    options.preserve_proto_field_names = false;
    if (google::protobuf::util::MessageToJsonString(*policy, &text, options).ok()) {
      json j = json::parse(text, nullptr, /*allow_exceptions=*/false);
      if (!j.is_discarded()) {
        out.push_back(std::move(j));
        continue;
      }
    }
    out.push_back(json{{"key", key}, {"error", "not representable as JSON"}});
  }
}

void DumpCertificates(const std::vector<CertStatus>& certs, json& out) {
  out = json::array();
  for (const auto& c : certs) {
    json j;
    j["identity"] = c.identity.ToString();
    j["state"] = ToString(c.state);
    j["pods"] = c.leases;
    j["fetchesOk"] = c.fetches_ok;
    j["fetchesFailed"] = c.fetches_failed;
    j["fetchInFlight"] = c.fetch_in_flight;
    if (!c.last_error.empty()) j["lastError"] = c.last_error;
    if (c.backoff.count() > 0) j["retryBackoffMs"] = c.backoff.count();
    if (c.next_fetch) j["nextFetch"] = FormatUtcTimestamp(*c.next_fetch);
    json chain = json::array();
    json roots = json::array();
    if (c.secret != nullptr) {
      const auto& cert = c.secret->certificate;
      chain.push_back(CertJson(cert.leaf_pem));
      for (const auto& pem : cert.chain_pems) chain.push_back(CertJson(pem));
      for (const auto& pem : cert.root_pems) roots.push_back(CertJson(pem));
      j["refreshAt"] = FormatUtcTimestamp(cert.refresh_at);
    }
    j["certChain"] = std::move(chain);
    j["rootCerts"] = std::move(roots);
    out.push_back(std::move(j));
  }
}

}  // namespace ambit::proxy
