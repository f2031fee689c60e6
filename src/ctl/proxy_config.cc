#include "ctl/proxy_config.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <ctime>

#include "ambit/v1/cluster.pb.h"
#include "core/duration.h"
#include "ctl/client.h"
#include "ctl/netns_http.h"
#include "ctl/output.h"

namespace ambit::ctl {

using nlohmann::json;

namespace {

using Rows = std::vector<std::vector<std::string>>;

constexpr int kAdminPort = 15000;  // ztunnel admin, 127.0.0.1 of the node netns
constexpr int kFetchTimeoutMs = 5000;

std::string Str(const json& j, const char* key, const std::string& fallback = "") {
  auto it = j.find(key);
  if (it == j.end() || !it->is_string()) return fallback;
  return it->get<std::string>();
}

// "None" when a workload or service has no waypoint; otherwise its name (the
// first label of the waypoint service's hostname) or its address.
json Arr(const json& j, const char* key) {
  auto it = j.find(key);
  return it != j.end() && it->is_array() ? *it : json::array();
}

double Num(const json& j, const char* key) {
  auto it = j.find(key);
  return it != j.end() && it->is_number() ? it->get<double>() : 0.0;
}

std::string WaypointName(const json& j) {
  auto it = j.find("waypoint");
  if (it == j.end() || !it->is_object()) return "None";
  std::string key = Str(*it, "service");
  if (!key.empty()) {
    auto slash = key.find('/');
    std::string host = slash == std::string::npos ? key : key.substr(slash + 1);
    return host.substr(0, host.find('.'));
  }
  std::string addr = Str(*it, "address");
  auto slash = addr.find('/');
  return slash == std::string::npos ? addr : addr.substr(slash + 1);
}

std::string Join(const std::vector<std::string>& parts, const char* sep = ",") {
  std::string out;
  for (const auto& p : parts) out += (out.empty() ? "" : sep) + p;
  return out;
}

// "network/ip" -> "ip".
std::string WithoutNetwork(const std::string& v) {
  auto slash = v.find('/');
  return slash == std::string::npos ? v : v.substr(slash + 1);
}

std::string Age(double seconds) {
  if (!(seconds >= 0) || seconds > 1e12) return "-";
  auto s = static_cast<long long>(seconds);
  if (s < 60) return std::to_string(s) + "s";
  if (s < 3600) return std::to_string(s / 60) + "m" + std::to_string(s % 60) + "s";
  return std::to_string(s / 3600) + "h" + std::to_string(s % 3600 / 60) + "m";
}

Error BadDump(const std::string& node, const std::string& what) {
  return Error(ErrorCode::kProtocol, "node " + node + ": ztunnel /config_dump " + what);
}

Result<Rows> WorkloadRows(const json& section) {
  Rows rows;
  for (const auto& w : section) {
    std::vector<std::string> ips;
    if (auto it = w.find("workloadIps"); it != w.end() && it->is_array()) {
      for (const auto& ip : *it) {
        if (ip.is_string()) ips.push_back(ip.get<std::string>());
      }
    }
    rows.push_back({Str(w, "namespace"), Str(w, "name"), ips.empty() ? "None" : Join(ips),
                    Str(w, "node", "None"), WaypointName(w), Str(w, "protocol", "TCP")});
  }
  return rows;
}

Result<Rows> ServiceRows(const json& section) {
  Rows rows;
  for (const auto& s : section) {
    std::vector<std::string> vips;
    if (auto it = s.find("vips"); it != s.end() && it->is_array()) {
      for (const auto& v : *it) {
        if (v.is_string()) vips.push_back(WithoutNetwork(v.get<std::string>()));
      }
    }
    int healthy = 0, total = 0;
    if (auto it = s.find("endpoints"); it != s.end() && it->is_object()) {
      for (const auto& [uid, ep] : it->items()) {
        ++total;
        healthy += Str(ep, "status") == "Healthy";
      }
    }
    rows.push_back({Str(s, "namespace"), Str(s, "name"), vips.empty() ? "None" : Join(vips),
                    WaypointName(s), std::to_string(healthy) + "/" + std::to_string(total)});
  }
  return rows;
}

// Proto3 JSON of istio.security.Authorization: enums by name, defaults omitted.
Result<Rows> PolicyRows(const json& section) {
  Rows rows;
  for (const auto& p : section) {
    const std::string action = Str(p, "action", "ALLOW");
    const std::string scope = Str(p, "scope", "GLOBAL");
    rows.push_back({Str(p, "namespace"), Str(p, "name"),
                    action == "ALLOW" ? "Allow" : action == "DENY" ? "Deny" : action,
                    scope == "GLOBAL"              ? "Global"
                    : scope == "NAMESPACE"         ? "Namespace"
                    : scope == "WORKLOAD_SELECTOR" ? "WorkloadSelector"
                                                   : scope});
  }
  return rows;
}

Result<Rows> CertificateRows(const json& section, const std::string& now) {
  Rows rows;
  for (const auto& c : section) {
    const std::string name = Str(c, "identity");
    const std::string state = Str(c, "state", "Unknown");
    auto add = [&](const json& cert, const char* type) {
      const std::string from = Str(cert, "validFrom"), until = Str(cert, "expirationTime");
      // Both are RFC 3339 UTC of the same shape, so they compare as text.
      const bool valid = !from.empty() && !until.empty() && from <= now && now < until;
      rows.push_back({name, type, state, valid ? "true" : "false", Str(cert, "serialNumber", "-"),
                      until.empty() ? "-" : until, from.empty() ? "-" : from});
    };
    const json chain = Arr(c, "certChain");
    const json roots = Arr(c, "rootCerts");
    if (chain.empty() && roots.empty()) {
      rows.push_back({name, "Leaf", state, "false", "-", "-", "-"});
      continue;
    }
    for (std::size_t i = 0; i < chain.size(); ++i) add(chain[i], i == 0 ? "Leaf" : "Intermediate");
    for (const auto& r : roots) add(r, "Root");
  }
  return rows;
}

std::string Bytes(const json& row, const char* key) {
  auto it = row.find(key);
  if (it == row.end() || !it->is_number_unsigned()) return "-";
  return std::to_string(it->get<std::uint64_t>());
}

Result<Rows> ConnectionRows(const json& section) {
  Rows rows;
  for (const auto& c : section) {
    const std::string identity = Str(c, "identity");
    rows.push_back({Str(c, "pod"), Str(c, "direction"), Str(c, "source", "-"),
                    Str(c, "destination", "-"), identity.empty() ? "-" : identity,
                    Bytes(c, "bytesFromApp"), Bytes(c, "bytesToApp"),
                    Age(Num(c, "ageSeconds"))});
  }
  return rows;
}

std::vector<std::string> Header(ProxyView view) {
  switch (view) {
    case ProxyView::kWorkloads:
      return {"NAMESPACE", "POD NAME", "ADDRESS", "NODE", "WAYPOINT", "PROTOCOL"};
    case ProxyView::kServices:
      return {"NAMESPACE", "SERVICE NAME", "SERVICE VIP", "WAYPOINT", "ENDPOINTS"};
    case ProxyView::kPolicies:
      return {"NAMESPACE", "POLICY NAME", "ACTION", "SCOPE"};
    case ProxyView::kCertificates:
      return {"CERTIFICATE NAME", "TYPE", "STATUS", "VALID CERT", "SERIAL NUMBER", "NOT AFTER", "NOT BEFORE"};
    case ProxyView::kConnections:
      return {"POD", "DIRECTION", "SOURCE", "DESTINATION", "IDENTITY", "BYTES FROM APP", "BYTES TO APP", "AGE"};
  }
  return {};
}

}  // namespace

Result<ProxyView> ParseProxyView(std::string_view name) {
  if (name == "workloads" || name == "workload" || name == "w") return ProxyView::kWorkloads;
  if (name == "services" || name == "service" || name == "svc" || name == "s") return ProxyView::kServices;
  if (name == "policies" || name == "policy" || name == "p") return ProxyView::kPolicies;
  if (name == "certificates" || name == "certificate" || name == "certs" || name == "c") {
    return ProxyView::kCertificates;
  }
  if (name == "connections" || name == "connection" || name == "conn") return ProxyView::kConnections;
  return Error(ErrorCode::kInvalidArgument,
               "unknown proxy-config view '" + std::string(name) +
                   "'; want workloads, services, policies, certificates or connections");
}

const char* SectionName(ProxyView view) {
  switch (view) {
    case ProxyView::kWorkloads: return "workloads";
    case ProxyView::kServices: return "services";
    case ProxyView::kPolicies: return "policies";
    case ProxyView::kCertificates: return "certificates";
    case ProxyView::kConnections: return "connections";
  }
  return "";
}

Result<std::string> RenderProxyConfig(ProxyView view, const std::vector<NodeDump>& dumps,
                                      const RenderOptions& options) {
  const char* section_name = SectionName(view);
  const std::string now = FormatUtcTimestamp(options.now);
  json raw = json::object();
  Rows all;
  for (const auto& d : dumps) {
    json doc = json::parse(d.config_dump, nullptr, /*allow_exceptions=*/false);
    if (doc.is_discarded() || !doc.is_object()) return BadDump(d.node, "is not a JSON object");
    auto it = doc.find(section_name);
    if (it == doc.end()) return BadDump(d.node, std::string("has no '") + section_name + "' section");
    if (!it->is_array()) return BadDump(d.node, std::string("section '") + section_name + "' is not an array");
    for (const auto& entry : *it) {
      if (!entry.is_object()) {
        return BadDump(d.node, std::string("section '") + section_name + "' holds a non-object entry");
      }
    }
    if (options.json) {
      raw[d.node] = *it;
      continue;
    }
    Result<Rows> rows = Error(ErrorCode::kInternal, "no view");
    try {
      switch (view) {
        case ProxyView::kWorkloads: rows = WorkloadRows(*it); break;
        case ProxyView::kServices: rows = ServiceRows(*it); break;
        case ProxyView::kPolicies: rows = PolicyRows(*it); break;
        case ProxyView::kCertificates: rows = CertificateRows(*it, now); break;
        case ProxyView::kConnections: rows = ConnectionRows(*it); break;
      }
    } catch (const json::exception& e) {
      return BadDump(d.node, std::string("section '") + section_name + "': " + e.what());
    }
    if (!rows.ok()) return std::move(rows).error().WithContext("node " + d.node);
    // Stable order within a node (connections keep the dump's oldest-first).
    if (view != ProxyView::kConnections) std::stable_sort(rows->begin(), rows->end());
    for (auto& r : *rows) {
      if (options.node_column) r.insert(r.begin(), d.node);
      all.push_back(std::move(r));
    }
  }
  if (options.json) {
    if (!options.node_column && dumps.size() == 1) return raw[dumps.front().node].dump(2) + "\n";
    return raw.dump(2) + "\n";
  }
  std::vector<std::string> header = Header(view);
  // The workloads table has Istio's own NODE column (where the workload runs).
  if (options.node_column) header.insert(header.begin(), view == ProxyView::kWorkloads ? "ZTUNNEL" : "NODE");
  return FormatTable(header, all);
}

Result<ProxyConfigOutput> ProxyConfig(const ProxyConfigOptions& options) {
  AMBIT_ASSIGN_OR_RETURN(ProxyView view, ParseProxyView(options.what));
  if (!options.output.empty() && options.output != "json") {
    return Error(ErrorCode::kInvalidArgument, "unknown output format '" + options.output + "'; want json");
  }
  AMBIT_ASSIGN_OR_RETURN(auto client, ClusterClient::Connect(cluster::ClusterLayout(options.cluster)));
  AMBIT_ASSIGN_OR_RETURN(auto nodes, client->ListNodes());
  std::vector<std::pair<std::string, std::string>> targets;  // name, netns path
  std::vector<std::string> names;
  for (const auto& n : nodes.nodes()) {
    names.push_back(n.name());
    if (options.node.empty() || n.name() == options.node) targets.emplace_back(n.name(), n.netns());
  }
  if (targets.empty()) {
    return Error(ErrorCode::kNotFound, "no node '" + options.node + "' in cluster '" + options.cluster +
                                           "' (nodes: " + Join(names, ", ") + ")");
  }
  ProxyConfigOutput out;
  std::vector<NodeDump> dumps;
  for (const auto& [name, netns] : targets) {
    auto reply = HttpGetInNetns(netns, "127.0.0.1", kAdminPort, "/config_dump", kFetchTimeoutMs);
    if (!reply.ok()) {
      out.errors.push_back("node " + name + ": ztunnel admin: " + reply.error().ToString());
      continue;
    }
    if (reply->status != 200) {
      out.errors.push_back("node " + name + ": ztunnel admin answered " + std::to_string(reply->status) +
                           " to GET /config_dump: " + reply->body.substr(0, 200));
      continue;
    }
    dumps.push_back({name, std::move(reply->body)});
  }
  if (dumps.empty()) {
    // One "error: " line per node (main prefixes the first).
    return Error(ErrorCode::kUnavailable, Join(out.errors, "\nerror: "));
  }
  RenderOptions render;
  render.json = options.output == "json";
  render.node_column = options.node.empty();
  AMBIT_ASSIGN_OR_RETURN(out.text, RenderProxyConfig(view, dumps, render));
  return out;
}

}  // namespace ambit::ctl
