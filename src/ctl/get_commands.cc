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
      out.push_back({{"name", n.name()}, {"ip", n.ip()}, {"podCIDR", n.pod_cidr()},
                     {"netns", n.netns()}});
    }
    return out.dump(2) + "\n";
  }
  std::vector<std::vector<std::string>> rows;
  for (const auto& n : list.nodes()) rows.push_back({n.name(), n.ip(), n.pod_cidr(), n.netns()});
  return FormatTable({"NAME", "IP", "POD-CIDR", "NETNS"}, rows);
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
  if (what != "nodes") {
    return Error(ErrorCode::kInvalidArgument,
                 "unknown resource type '" + options.what + "' (expected nodes, pods or services)");
  }
  AMBIT_ASSIGN_OR_RETURN(auto client, ClusterClient::Connect(cluster::ClusterLayout(options.cluster)));
  return GetNodes(*client, as_json);
}

}  // namespace ambit::ctl
