#include "ctl/get_commands.h"

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

}  // namespace

Result<std::string> Get(const GetOptions& options) {
  const bool as_json = options.output == "json";
  if (!options.output.empty() && !as_json) {
    return Error(ErrorCode::kInvalidArgument,
                 "-o: unknown output format '" + options.output + "' (expected json)");
  }
  std::string what = options.what;
  if (what == "node" || what == "no") what = "nodes";
  if (what == "pod" || what == "po") what = "pods";
  if (what == "service" || what == "svc") what = "services";
  if (what != "nodes" && what != "pods" && what != "services") {
    return Error(ErrorCode::kInvalidArgument,
                 "unknown resource type '" + options.what + "' (expected nodes, pods or services)");
  }
  AMBIT_ASSIGN_OR_RETURN(auto client,
                         ClusterClient::Connect(cluster::ClusterLayout(options.cluster)));
  if (what == "pods") return GetPods(*client, options.ns, as_json);
  if (what == "services") return GetServices(*client, options.ns, as_json);
  return GetNodes(*client, as_json);
}

}  // namespace ambit::ctl
