#include "inpod/cni_protocol.h"

#include <nlohmann/json.hpp>

namespace ambit::inpod {
namespace {

using nlohmann::json;

Error Invalid(std::string message) { return Error(ErrorCode::kInvalidArgument, std::move(message)); }

Result<json> ParseObject(std::string_view text, std::string_view what) {
  json j = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) return Invalid(std::string(what) + " is not a JSON object");
  return j;
}

Result<std::string> StringAt(const json& obj, const char* key, std::string_view what, bool required) {
  auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) {
    if (required) return Invalid(std::string(what) + ": missing \"" + key + "\"");
    return std::string();
  }
  if (!it->is_string()) return Invalid(std::string(what) + ": \"" + key + "\" must be a string");
  return it->get<std::string>();
}

}  // namespace

std::string PodKey(const PodEvent& pod) { return pod.uid.empty() ? pod.ns + "/" + pod.name : pod.uid; }

std::string_view ToString(CniCommand command) {
  switch (command) {
    case CniCommand::kAdd:
      return "ADD";
    case CniCommand::kDel:
      return "DEL";
    case CniCommand::kCheck:
      return "CHECK";
  }
  return "?";
}

std::string_view ToString(CniResult result) {
  switch (result) {
    case CniResult::kEnrolled:
      return "enrolled";
    case CniResult::kNotEnrolled:
      return "not_enrolled";
    case CniResult::kRemoved:
      return "removed";
    case CniResult::kOk:
      return "ok";
    case CniResult::kError:
      return "error";
  }
  return "error";
}

std::string EncodeCniRequest(const CniRequest& request) {
  const PodEvent& p = request.pod;
  json j = {{"command", ToString(request.command)},
            {"pod",
             {{"namespace", p.ns},
              {"name", p.name},
              {"uid", p.uid},
              {"containerId", p.container_id},
              {"netns", p.netns},
              {"ips", p.ips}}}};
  return j.dump(-1, ' ', false, json::error_handler_t::replace);
}

Result<CniRequest> DecodeCniRequest(std::string_view text) {
  AMBIT_ASSIGN_OR_RETURN(json j, ParseObject(text, "CNI request"));
  CniRequest request;
  AMBIT_ASSIGN_OR_RETURN(std::string command, StringAt(j, "command", "CNI request", true));
  if (command == "ADD") {
    request.command = CniCommand::kAdd;
  } else if (command == "DEL") {
    request.command = CniCommand::kDel;
  } else if (command == "CHECK") {
    request.command = CniCommand::kCheck;
  } else {
    return Invalid("CNI request: unknown command \"" + command + "\"");
  }
  auto pod = j.find("pod");
  if (pod == j.end() || !pod->is_object()) return Invalid("CNI request: missing \"pod\" object");
  PodEvent& p = request.pod;
  AMBIT_ASSIGN_OR_RETURN(p.ns, StringAt(*pod, "namespace", "CNI request pod", true));
  AMBIT_ASSIGN_OR_RETURN(p.name, StringAt(*pod, "name", "CNI request pod", true));
  AMBIT_ASSIGN_OR_RETURN(p.uid, StringAt(*pod, "uid", "CNI request pod", false));
  AMBIT_ASSIGN_OR_RETURN(p.container_id, StringAt(*pod, "containerId", "CNI request pod", false));
  AMBIT_ASSIGN_OR_RETURN(p.netns, StringAt(*pod, "netns", "CNI request pod", false));
  if (p.ns.empty() || p.name.empty()) return Invalid("CNI request pod: empty namespace or name");
  if (auto ips = pod->find("ips"); ips != pod->end() && !ips->is_null()) {
    if (!ips->is_array()) return Invalid("CNI request pod: \"ips\" must be an array");
    for (const auto& ip : *ips) {
      if (!ip.is_string()) return Invalid("CNI request pod: \"ips\" must hold strings");
      p.ips.push_back(ip.get<std::string>());
    }
  }
  return request;
}

std::string EncodeCniReply(const CniReply& reply) {
  return json{{"result", ToString(reply.result)}, {"message", reply.message}}.dump(
      -1, ' ', false, json::error_handler_t::replace);
}

Result<CniReply> DecodeCniReply(std::string_view text) {
  AMBIT_ASSIGN_OR_RETURN(json j, ParseObject(text, "node agent reply"));
  AMBIT_ASSIGN_OR_RETURN(std::string result, StringAt(j, "result", "node agent reply", true));
  CniReply reply;
  AMBIT_ASSIGN_OR_RETURN(reply.message, StringAt(j, "message", "node agent reply", false));
  for (CniResult r : {CniResult::kEnrolled, CniResult::kNotEnrolled, CniResult::kRemoved, CniResult::kOk,
                      CniResult::kError}) {
    if (ToString(r) == result) {
      reply.result = r;
      return reply;
    }
  }
  return Invalid("node agent reply: unknown result \"" + result + "\"");
}

}  // namespace ambit::inpod
