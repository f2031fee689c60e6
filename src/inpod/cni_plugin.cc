#include "inpod/cni_plugin.h"

#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include "inpod/seqpacket.h"

namespace ambit::inpod {
namespace {

using nlohmann::json;

const std::vector<std::string> kSupportedVersions = {"0.3.0", "0.3.1", "0.4.0", "1.0.0"};

CniOutput Fail(int code, const std::string& msg, const std::string& details = "") {
  json err = {{"cniVersion", kCniSpecVersion}, {"code", code}, {"msg", msg}};
  if (!details.empty()) err["details"] = details;
  return {code == 0 ? 1 : code, err.dump(-1, ' ', false, json::error_handler_t::replace) + "\n",
          "ambit-cni: " + msg + (details.empty() ? "" : ": " + details)};
}

std::vector<std::string> IpsOf(const json& result) {
  std::vector<std::string> ips;
  auto list = result.find("ips");
  if (list == result.end() || !list->is_array()) return ips;
  for (const auto& entry : *list) {
    if (!entry.is_object()) continue;
    auto address = entry.find("address");
    if (address == entry.end() || !address->is_string()) continue;
    std::string a = address->get<std::string>();
    ips.push_back(a.substr(0, a.find('/')));
  }
  return ips;
}

}  // namespace

std::map<std::string, std::string> ParseCniArgs(std::string_view args) {
  std::map<std::string, std::string> out;
  size_t start = 0;
  while (start <= args.size()) {
    size_t end = args.find(';', start);
    if (end == std::string_view::npos) end = args.size();
    std::string_view pair = args.substr(start, end - start);
    size_t eq = pair.find('=');
    if (eq != std::string_view::npos && eq > 0) out[std::string(pair.substr(0, eq))] = std::string(pair.substr(eq + 1));
    start = end + 1;
  }
  return out;
}

std::vector<std::string> ResultIps(std::string_view result_json) {
  json j = json::parse(result_json, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return {};
  return IpsOf(j);
}

CniOutput RunCniPlugin(const CniEnvironment& env, std::string_view stdin_config, const AgentCall& call_agent) {
  if (env.command == "VERSION") {
    json v = {{"cniVersion", kCniSpecVersion}, {"supportedVersions", kSupportedVersions}};
    return {0, v.dump(-1, ' ', false, json::error_handler_t::replace) + "\n", ""};
  }
  if (env.command != "ADD" && env.command != "DEL" && env.command != "CHECK") {
    return Fail(kCniInvalidEnvironment, "unknown CNI_COMMAND \"" + env.command + "\"");
  }
  json config = json::parse(stdin_config, nullptr, false);
  if (config.is_discarded() || !config.is_object()) {
    return Fail(kCniDecodeFailure, "network configuration on stdin is not a JSON object");
  }
  std::string version;
  if (auto it = config.find("cniVersion"); it != config.end() && it->is_string()) version = it->get<std::string>();
  if (std::find(kSupportedVersions.begin(), kSupportedVersions.end(), version) == kSupportedVersions.end()) {
    return Fail(kCniIncompatibleVersion, "unsupported cniVersion \"" + version + "\"",
                fmt::format("supported: {}", fmt::join(kSupportedVersions, ", ")));
  }
  const json* prev = nullptr;
  if (auto it = config.find("prevResult"); it != config.end() && it->is_object()) prev = &*it;
  // What a successful ADD prints: the previous result, untouched.
  auto pass_through = [&]() -> CniOutput {
    if (env.command != "ADD") return {0, "", ""};
    json out = *prev;
    if (!out.contains("cniVersion")) out["cniVersion"] = version;
    return {0, out.dump(-1, ' ', false, json::error_handler_t::replace) + "\n", ""};
  };
  if (env.command != "DEL" && prev == nullptr) {
    return Fail(kCniInvalidConfig, "ambit-cni must be chained after an interface plugin: no prevResult");
  }
  if (env.container_id.empty()) return Fail(kCniInvalidEnvironment, "CNI_CONTAINERID is not set");
  if (env.command != "DEL" && env.netns.empty()) return Fail(kCniInvalidEnvironment, "CNI_NETNS is not set");

  auto args = ParseCniArgs(env.args);
  if (args["K8S_POD_NAMESPACE"].empty() || args["K8S_POD_NAME"].empty()) {
    // Not a Kubernetes pod (no namespace/name): nothing for the mesh to do.
    return pass_through();
  }
  std::string socket;
  if (auto it = config.find("agentSocket"); it != config.end() && it->is_string()) socket = it->get<std::string>();
  if (socket.empty()) {
    if (env.command == "DEL") return {0, "", "ambit-cni: no agentSocket configured; nothing to remove"};
    return Fail(kCniInvalidConfig, "network configuration lacks \"agentSocket\" (the node agent's socket path)");
  }
  std::chrono::seconds timeout{30};
  if (auto it = config.find("agentTimeoutSeconds"); it != config.end() && it->is_number_unsigned()) {
    timeout = std::chrono::seconds(it->get<unsigned>());
  }

  CniRequest request;
  request.command = env.command == "ADD" ? CniCommand::kAdd : env.command == "DEL" ? CniCommand::kDel
                                                                                  : CniCommand::kCheck;
  request.pod.ns = args["K8S_POD_NAMESPACE"];
  request.pod.name = args["K8S_POD_NAME"];
  request.pod.uid = args["K8S_POD_UID"];
  request.pod.container_id = env.container_id;
  request.pod.netns = env.netns;
  if (prev != nullptr) request.pod.ips = IpsOf(*prev);

  auto reply = call_agent(socket, request, timeout);
  const std::string pod = request.pod.ns + "/" + request.pod.name;
  if (!reply.ok()) {
    if (env.command == "DEL") {
      // DEL must not fail for missing resources; the pod's netns (and its
      // rules) is going away regardless.
      return {0, "", "ambit-cni: DEL " + pod + ": node agent unreachable: " + reply.error().ToString()};
    }
    return Fail(kCniTryAgainLater, "node agent unreachable for " + pod, reply.error().ToString());
  }
  if (reply->result == CniResult::kError) {
    return Fail(kCniAgentRefused, fmt::format("node agent failed {} of pod {}", ToString(request.command), pod),
                reply->message);
  }
  CniOutput out = pass_through();
  out.log = fmt::format("ambit-cni: {} {}: {}{}", ToString(request.command), pod, ToString(reply->result),
                        reply->message.empty() ? "" : " (" + reply->message + ")");
  return out;
}

Result<CniReply> CallAgentOverSocket(const std::string& socket, const CniRequest& request,
                                     std::chrono::seconds timeout) {
  AMBIT_ASSIGN_OR_RETURN(UniqueFd fd, ConnectSeqpacket(socket));
  AMBIT_RETURN_IF_ERROR(SendDatagram(fd.get(), EncodeCniRequest(request), -1, timeout));
  AMBIT_ASSIGN_OR_RETURN(ReceivedDatagram reply, ReceiveDatagram(fd.get(), timeout, kMaxCniDatagram));
  if (reply.truncated || !reply.fds.empty()) {
    return Error(ErrorCode::kProtocol, "malformed reply from the node agent at " + socket);
  }
  return DecodeCniReply(reply.bytes);
}

}  // namespace ambit::inpod
