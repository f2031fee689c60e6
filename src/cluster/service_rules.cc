#include "cluster/service_rules.h"

#include <algorithm>

#include "cluster/subprocess.h"

namespace ambit::cluster {
namespace {

std::string Proto(const std::string& protocol) {
  std::string p = protocol;
  std::transform(p.begin(), p.end(), p.begin(), [](unsigned char c) { return std::tolower(c); });
  return p.empty() ? "tcp" : p;
}

std::string Comment(const std::string& text) {
  std::string out;
  for (char c : text) {
    if (c != '"' && c != '\\' && c != '\n') out += c;
  }
  return out;
}

}  // namespace

std::string BuildServiceRuleset(const std::vector<ServiceRule>& services) {
  std::string dispatch;  // vip . proto . port : jump chain
  std::string chains;
  std::string rejects;  // vip . proto . port with no endpoint
  int n = 0;
  for (const auto& svc : services) {
    for (const auto& port : svc.ports) {
      const std::string proto = Proto(port.protocol);
      const std::string key = svc.vip + " . " + proto + " . " + std::to_string(port.port);
      if (port.endpoints.empty()) {
        rejects += (rejects.empty() ? "" : ", ") + key;
        continue;
      }
      const std::string chain = "svc_" + std::to_string(n++);
      dispatch += (dispatch.empty() ? "" : ",\n      ") + key + " : jump " + chain;
      std::string map;
      for (size_t i = 0; i < port.endpoints.size(); ++i) {
        if (i) map += ", ";
        map += std::to_string(i) + " : " + port.endpoints[i].ip + " . " +
               std::to_string(port.endpoints[i].port);
      }
      chains += "  chain " + chain + " {\n";
      chains += "    comment \"" +
                Comment(svc.name + " " + proto + "/" + std::to_string(port.port)) + "\"\n";
      chains += "    meta l4proto " + proto + " dnat ip to numgen random mod " +
                std::to_string(port.endpoints.size()) + " map { " + map + " }\n";
      chains += "  }\n";
    }
  }
  std::string out;
  // Declaring then deleting makes the delete valid when the table does not exist;
  // the three statements form one transaction.
  out += "table ip " + std::string(kServiceTable) + "\n";
  out += "delete table ip " + std::string(kServiceTable) + "\n";
  out += "table ip " + std::string(kServiceTable) + " {\n";
  out += "  chain output {\n";
  out += "    type nat hook output priority -90; policy accept;\n";
  if (!dispatch.empty()) {
    out += "    ip daddr . meta l4proto . th dport vmap {\n      " + dispatch + "\n    }\n";
  }
  out += "  }\n";
  out += chains;
  out += "  chain reject_out {\n";
  out += "    type filter hook output priority 0; policy accept;\n";
  if (!rejects.empty()) {
    out += "    ip daddr . meta l4proto . th dport { " + rejects +
           " } meta l4proto tcp reject with tcp reset\n";
    out += "    ip daddr . meta l4proto . th dport { " + rejects + " } reject\n";
  }
  out += "  }\n";
  out += "}\n";
  return out;
}

Status ApplyRuleset(const std::string& netns_path, const std::string& ruleset) {
  CommandOptions opts;
  opts.netns = netns_path;
  opts.stdin_data = ruleset;
  auto r = RunChecked({"nft", "-f", "-"}, opts);
  if (!r.ok()) return std::move(r).error().WithContext("installing service rules");
  return Ok();
}

}  // namespace ambit::cluster
