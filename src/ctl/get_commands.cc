#include "ctl/get_commands.h"

#include <algorithm>
#include <nlohmann/json.hpp>

#include "ambit/v1/cluster.pb.h"
#include "ctl/client.h"
#include "ctl/output.h"

namespace ambit::ctl {

using nlohmann::json;

namespace {

Result<std::string> GetNodes(ClusterClient& client, bool as_json) {
  AMBIT_ASSIGN_OR_RETURN(auto list, client.ListNodes());
  if (as_json) {
    json out = json::array();
    for (const auto& n : list.nodes()) {
      out.push_back(
          {{"name", n.name()}, {"ip", n.ip()}, {"podCIDR", n.pod_cidr()}, {"netns", n.netns()}});
    }
    return out.dump(2) + "\n";
  }
  std::vector<std::vector<std::string>> rows;
  for (const auto& n : list.nodes()) rows.push_back({n.name(), n.ip(), n.pod_cidr(), n.netns()});
  return FormatTable({"NAME", "IP", "POD-CIDR", "NETNS"}, rows);
}

Result<std::string> GetPods(ClusterClient& client, const std::string& ns, bool as_json) {
  AMBIT_ASSIGN_OR_RETURN(auto list, client.ListPods(ns));
  if (as_json) {
    json out = json::array();
    for (const auto& p : list.pods()) {
      json containers = json::array();
      for (const auto& c : p.containers()) {
        containers.push_back({{"name", c.name()},
                              {"state", c.state()},
                              {"pid", c.pid()},
                              {"restarts", c.restarts()},
                              {"exitCode", c.exit_code()},
                              {"message", c.message()}});
      }
      json labels = json::object();
      for (const auto& [k, v] : p.labels()) labels[k] = v;
      out.push_back({{"name", p.name()},
                     {"namespace", p.namespace_()},
                     {"node", p.node()},
                     {"ip", p.ip()},
                     {"phase", p.phase()},
                     {"ready", p.ready()},
                     {"netns", p.netns()},
                     {"uid", p.uid()},
                     {"serviceAccount", p.service_account()},
                     {"labels", labels},
                     {"owner", p.owner()},
                     {"message", p.message()},
                     {"containers", containers}});
    }
    return out.dump(2) + "\n";
  }
  std::vector<std::vector<std::string>> rows;
  for (const auto& p : list.pods()) {
    int ready = 0, restarts = 0;
    for (const auto& c : p.containers()) {
      ready += c.state() == "running";
      restarts += c.restarts();
    }
    rows.push_back({p.namespace_(), p.name(),
                    std::to_string(ready) + "/" + std::to_string(p.containers_size()), p.phase(),
                    std::to_string(restarts), p.ip().empty() ? "-" : p.ip(), p.node()});
  }
  return FormatTable({"NAMESPACE", "NAME", "READY", "STATUS", "RESTARTS", "IP", "NODE"}, rows);
}

Result<std::string> GetServices(ClusterClient& client, const std::string& ns, bool as_json) {
  AMBIT_ASSIGN_OR_RETURN(auto list, client.ListServices(ns));
  if (as_json) {
    json out = json::array();
    for (const auto& s : list.services()) {
      json ports = json::array();
      for (const auto& p : s.ports()) {
        ports.push_back({{"name", p.name()},
                         {"protocol", p.protocol()},
                         {"port", p.port()},
                         {"targetPort", p.target_port()}});
      }
      json selector = json::object();
      for (const auto& [k, v] : s.selector()) selector[k] = v;
      out.push_back(
          {{"name", s.name()},
           {"namespace", s.namespace_()},
           {"clusterIP", s.cluster_ip()},
           {"vip", s.cluster_ip()},
           {"ports", ports},
           {"selector", selector},
           {"endpoints", std::vector<std::string>(s.endpoints().begin(), s.endpoints().end())}});
    }
    return out.dump(2) + "\n";
  }
  std::vector<std::vector<std::string>> rows;
  for (const auto& s : list.services()) {
    std::string ports;
    for (const auto& p : s.ports()) {
      ports += (ports.empty() ? "" : ",") + std::to_string(p.port()) + "/" + p.protocol();
    }
    std::string eps;
    for (const auto& e : s.endpoints()) eps += (eps.empty() ? "" : ",") + e;
    rows.push_back({s.namespace_(), s.name(), s.cluster_ip(), ports, eps.empty() ? "<none>" : eps});
  }
  return FormatTable({"NAMESPACE", "NAME", "CLUSTER-IP", "PORTS", "ENDPOINTS"}, rows);
}

// The member at |path| of |o|, or null.
const json& At(const json& o, std::initializer_list<std::string_view> path) {
  static const json kNull;
  const json* cur = &o;
  for (std::string_view key : path) {
    if (!cur->is_object()) return kNull;
    auto it = cur->find(key);
    if (it == cur->end()) return kNull;
    cur = &*it;
  }
  return *cur;
}

std::string Text(const json& v, const std::string& def = "") {
  if (v.is_string()) return v.get<std::string>();
  return v.is_null() ? def : v.dump();
}

// "a,b,c" of a list, |empty| when there is none.
std::string Join(const json& list, const std::string& empty) {
  if (!list.is_array() || list.empty()) return empty;
  std::string out;
  for (const auto& v : list) out += (out.empty() ? "" : ",") + Text(v);
  return out;
}

// "k=v,..." of a map, "<none>" when empty.
std::string Pairs(const json& map) {
  if (!map.is_object() || map.empty()) return "<none>";
  std::string out;
  for (const auto& [k, v] : map.items()) out += (out.empty() ? "" : ",") + k + "=" + Text(v);
  return out;
}

// Columns after NAMESPACE and NAME, after the CRDs' printer columns where
// Istio and the Gateway API define them.
struct Columns {
  std::vector<std::string> header;
  std::vector<std::string> (*row)(const json&);
};

Columns ColumnsOf(std::string_view kind) {
  using Row = std::vector<std::string>;
  if (kind == "Namespace") return {{"LABELS"}, [](const json& o) -> Row { return {Pairs(At(o, {"metadata", "labels"}))}; }};
  if (kind == "ConfigMap") {
    return {{"DATA"}, [](const json& o) -> Row {
              size_t n = At(o, {"data"}).size() + At(o, {"binaryData"}).size();
              return {std::to_string(n)};
            }};
  }
  if (kind == "Deployment") {
    return {{"REPLICAS", "SELECTOR"}, [](const json& o) -> Row {
              return {Text(At(o, {"spec", "replicas"}), "1"), Pairs(At(o, {"spec", "selector", "matchLabels"}))};
            }};
  }
  if (kind == "AuthorizationPolicy") {
    return {{"ACTION"}, [](const json& o) -> Row { return {Text(At(o, {"spec", "action"}), "ALLOW")}; }};
  }
  if (kind == "PeerAuthentication") {
    return {{"MODE"}, [](const json& o) -> Row { return {Text(At(o, {"spec", "mtls", "mode"}), "UNSET")}; }};
  }
  if (kind == "VirtualService") {
    return {{"GATEWAYS", "HOSTS"}, [](const json& o) -> Row {
              return {Join(At(o, {"spec", "gateways"}), "<none>"), Join(At(o, {"spec", "hosts"}), "<none>")};
            }};
  }
  if (kind == "DestinationRule") {
    return {{"HOST"}, [](const json& o) -> Row { return {Text(At(o, {"spec", "host"}))}; }};
  }
  if (kind == "ServiceEntry") {
    return {{"HOSTS", "LOCATION", "RESOLUTION"}, [](const json& o) -> Row {
              return {Join(At(o, {"spec", "hosts"}), "<none>"), Text(At(o, {"spec", "location"}), "MESH_EXTERNAL"),
                      Text(At(o, {"spec", "resolution"}), "NONE")};
            }};
  }
  if (kind == "Gateway") {
    return {{"CLASS", "LISTENERS"}, [](const json& o) -> Row {
              std::string listeners;
              const json& list = At(o, {"spec", "listeners"});
              for (size_t i = 0; list.is_array() && i < list.size(); ++i) {
                listeners += (listeners.empty() ? "" : ",") + Text(At(list[i], {"name"})) + ":" +
                             Text(At(list[i], {"port"})) + "/" + Text(At(list[i], {"protocol"}));
              }
              return {Text(At(o, {"spec", "gatewayClassName"})), listeners.empty() ? "<none>" : listeners};
            }};
  }
  if (kind == "HTTPRoute" || kind == "GRPCRoute") {
    return {{"HOSTNAMES"}, [](const json& o) -> Row { return {Join(At(o, {"spec", "hostnames"}), "*")}; }};
  }
  return {{}, [](const json&) -> Row { return {}; }};
}

std::string AsOutput(const json& value, const std::string& output) {
  return output == "yaml" ? ToYaml(value) : value.dump(2) + "\n";
}

}  // namespace

Result<std::string> FormatObjects(const config::KindName& kind, const std::vector<json>& objects,
                                  const std::string& output) {
  if (output == "json" || output == "yaml") {
    json list = {{"apiVersion", "v1"}, {"kind", "List"}, {"items", json::array()}};
    for (const auto& o : objects) list["items"].push_back(o);
    return AsOutput(list, output);
  }
  if (!output.empty()) {
    return Error(ErrorCode::kInvalidArgument, "-o: unknown output format '" + output + "' (expected json or yaml)");
  }
  const bool cluster_scoped = kind.kind == "Namespace";
  Columns columns = ColumnsOf(kind.kind);
  std::vector<std::string> header;
  if (!cluster_scoped) header.push_back("NAMESPACE");
  header.push_back("NAME");
  header.insert(header.end(), columns.header.begin(), columns.header.end());
  std::vector<std::vector<std::string>> rows;
  for (const auto& o : objects) {
    std::vector<std::string> row;
    if (!cluster_scoped) row.push_back(Text(At(o, {"metadata", "namespace"})));
    row.push_back(Text(At(o, {"metadata", "name"})));
    for (auto& cell : columns.row(o)) row.push_back(std::move(cell));
    rows.push_back(std::move(row));
  }
  if (rows.empty()) return std::string("No resources found.\n");
  return FormatTable(header, rows);
}

Result<std::string> Get(const GetOptions& options) {
  if (!options.output.empty() && options.output != "json" && options.output != "yaml") {
    return Error(ErrorCode::kInvalidArgument,
                 "-o: unknown output format '" + options.output + "' (expected json or yaml)");
  }
  if (options.all_namespaces && !options.ns.empty()) {
    return Error(ErrorCode::kInvalidArgument, "-A and -n exclude each other");
  }
  std::string what = options.what;
  std::transform(what.begin(), what.end(), what.begin(), [](unsigned char c) { return std::tolower(c); });
  const bool nodes = what == "nodes" || what == "node" || what == "no";
  const config::KindName* kind = nodes ? nullptr : config::FindKindName(what);
  if (!nodes && !kind) {
    std::string known = "nodes";
    for (const auto& k : config::KindNames()) known += ", " + std::string(k.plural);
    return Error(ErrorCode::kInvalidArgument,
                 "unknown resource type '" + options.what + "' (expected one of: " + known + ")");
  }
  AMBIT_ASSIGN_OR_RETURN(auto client,
                         ClusterClient::Connect(cluster::ClusterLayout(options.cluster)));
  const bool structured = !options.output.empty();
  auto render = [&](Result<std::string> json_text) -> Result<std::string> {
    if (!json_text.ok() || options.output != "yaml") return json_text;
    return ToYaml(json::parse(*json_text));
  };
  if (nodes) return render(GetNodes(*client, structured));
  if (kind->kind == "Pod") return render(GetPods(*client, options.ns, structured));
  if (kind->kind == "Service") return render(GetServices(*client, options.ns, structured));
  AMBIT_ASSIGN_OR_RETURN(auto list, client->ListResources(std::string(kind->kind), options.ns));
  std::vector<json> objects;
  for (const auto& text : list.objects()) objects.push_back(json::parse(text));
  return FormatObjects(*kind, objects, options.output);
}

Result<std::string> Analyze(const std::string& cluster, const std::string& ns, bool* failed) {
  AMBIT_ASSIGN_OR_RETURN(auto client, ClusterClient::Connect(cluster::ClusterLayout(cluster)));
  AMBIT_ASSIGN_OR_RETURN(auto resp, client->Analyze(ns));
  *failed = false;
  std::string out;
  for (const auto& m : resp.messages()) {
    out += m.text() + "\n";
    *failed = *failed || m.level() == "Error";
  }
  if (out.empty()) {
    out = "No validation issues found when analyzing " +
          (ns.empty() ? std::string("all namespaces") : "namespace: " + ns) + ".\n";
  }
  return out;
}

}  // namespace ambit::ctl
