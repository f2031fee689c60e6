#include "cluster/cluster_config.h"

#include <arpa/inet.h>

#include <nlohmann/json.hpp>

#include "cluster/process.h"

namespace ambit::cluster {

using nlohmann::json;

std::string ClusterConfigToJson(const ClusterConfig& c) {
  json chained = json::array();
  for (const auto& p : c.cni.chained_plugins) chained.push_back(json::parse(p));
  json j = {{"name", c.name},
            {"nodes", c.node_count},
            {"cni", {{"binDirs", c.cni.bin_dirs}, {"chainedPlugins", chained}}},
            {"mesh",
             {{"enabled", c.mesh.enabled},
              {"redirect", c.mesh.redirect},
              {"ztunnelArgs", c.mesh.ztunnel_args},
              {"revision", c.mesh.revision},
              {"dnsCapture", c.mesh.dns_capture}}},
            {"ca", {{"workloadCertTtl", FormatDurationSeconds(c.ca.workload_cert_ttl)}}},
            {"clusterDNS", c.cluster_dns}};
  if (c.prometheus.enabled) j["prometheus"] = {{"enabled", true}, {"port", c.prometheus.port}};
  return j.dump(2) + "\n";
}

std::string ValidateRevision(const std::string& revision) {
  // A label value that also makes the ConfigMap name istio-<revision>: DNS-1123 label.
  bool ok = !revision.empty() && revision.size() <= 56 && revision.front() != '-' && revision.back() != '-';
  for (char c : revision) ok = ok && ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-');
  return ok ? "" : "expected 1-56 characters of [a-z0-9-], not starting or ending with '-', got '" + revision + "'";
}

Result<ClusterConfig> ClusterConfigFromJson(const std::string& text, const std::string& where) {
  json j = json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object()) {
    return Error(ErrorCode::kInvalidArgument, where + ": not a JSON object");
  }
  try {
    ClusterConfig c;
    c.name = j.at("name").get<std::string>();
    c.node_count = j.at("nodes").get<int>();
    if (j.contains("cni")) {
      const auto& cni = j["cni"];
      if (cni.contains("binDirs")) c.cni.bin_dirs = cni["binDirs"].get<std::vector<std::string>>();
      if (cni.contains("chainedPlugins")) {
        for (const auto& p : cni["chainedPlugins"]) c.cni.chained_plugins.push_back(p.dump());
      }
    }
    if (j.contains("mesh")) {
      const auto& mesh = j["mesh"];
      if (mesh.contains("enabled")) c.mesh.enabled = mesh["enabled"].get<bool>();
      if (mesh.contains("redirect")) c.mesh.redirect = mesh["redirect"].get<std::string>();
      if (mesh.contains("ztunnelArgs")) {
        c.mesh.ztunnel_args = mesh["ztunnelArgs"].get<std::vector<std::string>>();
      }
      if (mesh.contains("revision")) c.mesh.revision = mesh["revision"].get<std::string>();
      if (std::string bad = ValidateRevision(c.mesh.revision); !bad.empty()) {
        return Error(ErrorCode::kInvalidArgument, where + ": mesh.revision: " + bad);
      }
      if (mesh.contains("dnsCapture")) c.mesh.dns_capture = mesh["dnsCapture"].get<bool>();
      if (c.mesh.redirect != "nftables" && c.mesh.redirect != "iptables") {
        return Error(ErrorCode::kInvalidArgument,
                     where + ": mesh.redirect: expected nftables or iptables, got '" + c.mesh.redirect + "'");
      }
    }
    if (j.contains("ca")) {
      const auto& ca = j["ca"];
      if (ca.contains("workloadCertTtl")) {
        AMBIT_ASSIGN_OR_RETURN(c.ca.workload_cert_ttl,
                               ParseWorkloadCertTtl(ca["workloadCertTtl"].get<std::string>(),
                                                    where + ": ca.workloadCertTtl"));
      }
    }
    if (j.contains("clusterDNS")) {
      c.cluster_dns = j["clusterDNS"].get<std::string>();
      in6_addr a6{};
      in_addr a4{};
      if (::inet_pton(AF_INET, c.cluster_dns.c_str(), &a4) != 1 &&
          ::inet_pton(AF_INET6, c.cluster_dns.c_str(), &a6) != 1) {
        return Error(ErrorCode::kInvalidArgument,
                     where + ": clusterDNS: expected an IP address, got '" + c.cluster_dns + "'");
      }
    }
    if (j.contains("prometheus")) {
      const auto& prom = j["prometheus"];
      c.prometheus.enabled = prom.value("enabled", false);
      c.prometheus.port = prom.value("port", 0);
      if (c.prometheus.enabled && (c.prometheus.port < 1 || c.prometheus.port > 65535)) {
        return Error(ErrorCode::kInvalidArgument,
                     where + ": prometheus.port: expected 1-65535, got " + std::to_string(c.prometheus.port));
      }
    }
    AMBIT_RETURN_IF_ERROR(ValidateClusterName(c.name));
    if (c.node_count < 1 || c.node_count > kMaxNodes) {
      return Error(ErrorCode::kInvalidArgument,
                   where + ": nodes: expected 1-" + std::to_string(kMaxNodes));
    }
    return c;
  } catch (const json::exception& e) {
    return Error(ErrorCode::kInvalidArgument, where + ": " + e.what());
  }
}

Result<ClusterConfig> LoadClusterConfig(const ClusterLayout& layout) {
  auto text = ReadFile(layout.ClusterFile());
  if (!text.ok()) {
    return Error(ErrorCode::kNotFound, "cluster '" + layout.name() + "' does not exist (no " +
                                           layout.ClusterFile() + ")");
  }
  return ClusterConfigFromJson(*text, layout.ClusterFile());
}

Status SaveClusterConfig(const ClusterLayout& layout, const ClusterConfig& config) {
  return WriteFileAtomic(layout.ClusterFile(), ClusterConfigToJson(config));
}

}  // namespace ambit::cluster
