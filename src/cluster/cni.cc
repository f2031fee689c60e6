#include "cluster/cni.h"

#include <nlohmann/json.hpp>

#include "cluster/subprocess.h"

namespace ambit::cluster {

using nlohmann::json;

namespace {
constexpr char kCniVersion[] = "1.0.0";
}

Result<CniChain> CniChain::Create(const CniSettings& settings, const CniNetwork& network) {
  CniChain chain;
  chain.settings_ = settings;
  chain.name_ = network.name;
  json bridge = {
      {"type", "bridge"},
      {"bridge", network.bridge},
      {"isGateway", true},
      {"ipMasq", false},
      {"hairpinMode", true},
      {"ipam",
       {{"type", "host-local"},
        {"ranges", json::array({json::array({{{"subnet", network.subnet}}})})},
        {"routes", json::array({{{"dst", "0.0.0.0/0"}}})},
        {"dataDir", network.ipam_dir}}},
  };
  chain.plugins_.push_back(bridge.dump());
  chain.types_.push_back("bridge");
  for (size_t i = 0; i < settings.chained_plugins.size(); ++i) {
    json p = json::parse(settings.chained_plugins[i], nullptr, false);
    if (p.is_discarded() || !p.is_object() || !p.contains("type") || !p["type"].is_string()) {
      return Error(ErrorCode::kInvalidArgument,
                   "chained CNI plugin " + std::to_string(i + 1) +
                       ": expected a JSON object with a string \"type\"");
    }
    chain.types_.push_back(p["type"].get<std::string>());
    chain.plugins_.push_back(p.dump());
  }
  for (const auto& type : chain.types_) {
    bool found = false;
    for (const auto& dir : settings.bin_dirs) found = found || FindExecutable(dir + "/" + type);
    if (!found) {
      std::string dirs;
      for (const auto& d : settings.bin_dirs) dirs += (dirs.empty() ? "" : ":") + d;
      return Error(ErrorCode::kNotFound, "CNI plugin '" + type + "' not found in " + dirs);
    }
  }
  return chain;
}

std::string CniChain::ConfList() const {
  json list = {{"cniVersion", kCniVersion}, {"name", name_}, {"plugins", json::array()}};
  for (const auto& p : plugins_) list["plugins"].push_back(json::parse(p));
  return list.dump(2);
}

std::string CniChain::PluginInput(size_t index, const std::string& prev_result) const {
  json conf = json::parse(plugins_.at(index));
  conf["cniVersion"] = kCniVersion;
  conf["name"] = name_;
  if (!prev_result.empty()) conf["prevResult"] = json::parse(prev_result);
  return conf.dump();
}

Result<std::string> CniChain::Invoke(size_t index, const std::string& command, const CniPod& pod,
                                     const std::string& prev_result) const {
  std::string path;
  for (const auto& d : settings_.bin_dirs) path += (path.empty() ? "" : ":") + d;
  std::string binary;
  for (const auto& d : settings_.bin_dirs) {
    if (auto f = FindExecutable(d + "/" + types_[index])) {
      binary = *f;
      break;
    }
  }
  if (binary.empty()) {
    return Error(ErrorCode::kNotFound, "CNI plugin '" + types_[index] + "' not found in " + path);
  }
  CommandOptions opts;
  opts.netns = pod.host_netns;
  opts.stdin_data = PluginInput(index, prev_result);
  opts.env = std::map<std::string, std::string>{
      {"CNI_COMMAND", command},
      {"CNI_CONTAINERID", pod.container_id},
      {"CNI_NETNS", pod.netns_path},
      {"CNI_IFNAME", pod.ifname},
      {"CNI_PATH", path},
      {"CNI_ARGS", "IgnoreUnknown=1;K8S_POD_NAMESPACE=" + pod.pod_namespace + ";K8S_POD_NAME=" +
                       pod.pod_name + ";K8S_POD_INFRA_CONTAINER_ID=" + pod.container_id},
      {"PATH", "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"},
  };
  AMBIT_ASSIGN_OR_RETURN(CommandResult r, RunCommand({binary}, opts));
  if (r.exit_code != 0) {
    // Errors are a JSON object on stdout: {"code":..,"msg":..,"details":..}.
    std::string msg = r.out.empty() ? r.err : r.out;
    json err = json::parse(r.out, nullptr, false);
    if (!err.is_discarded() && err.is_object() && err.contains("msg")) {
      msg = err.value("msg", "") + (err.contains("details") ? ": " + err.value("details", "") : "");
    }
    return Error(ErrorCode::kIo, "CNI " + command + " of plugin '" + types_[index] + "' for pod " +
                                     pod.pod_namespace + "/" + pod.pod_name + " failed: " + msg);
  }
  return r.out;
}

Result<CniResult> CniChain::Add(const CniPod& pod) const {
  std::string prev;
  for (size_t i = 0; i < plugins_.size(); ++i) {
    AMBIT_ASSIGN_OR_RETURN(std::string out, Invoke(i, "ADD", pod, prev));
    // A plugin that outputs nothing passes the previous result through.
    if (!out.empty()) prev = out;
  }
  AMBIT_ASSIGN_OR_RETURN(std::string ip, FirstIpv4(prev));
  return CniResult{ip, prev};
}

Status CniChain::Del(const CniPod& pod, const std::string& cached_result) const {
  std::optional<Error> first;
  for (size_t i = plugins_.size(); i-- > 0;) {
    auto r = Invoke(i, "DEL", pod, cached_result);
    if (!r.ok() && !first) first = std::move(r).error();
  }
  if (first) return std::move(*first);
  return Ok();
}

Result<std::string> FirstIpv4(const std::string& result_json) {
  json r = json::parse(result_json, nullptr, false);
  if (r.is_discarded() || !r.is_object()) {
    return Error(ErrorCode::kProtocol, "CNI result is not a JSON object");
  }
  if (r.contains("ips") && r["ips"].is_array()) {
    for (const auto& ip : r["ips"]) {
      std::string addr = ip.value("address", "");
      if (addr.find('.') == std::string::npos) continue;
      return addr.substr(0, addr.find('/'));
    }
  }
  return Error(ErrorCode::kProtocol, "CNI result has no IPv4 address");
}

}  // namespace ambit::cluster
