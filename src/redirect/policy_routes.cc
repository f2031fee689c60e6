#include "redirect/policy_routes.h"

#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include "redirect/constants.h"

namespace ambit::redirect {
namespace {

std::string FamilyFlag(IpFamily family) { return family == IpFamily::kV6 ? "-6" : "-4"; }
std::string AnyAddress(IpFamily family) { return family == IpFamily::kV6 ? "::/0" : "0.0.0.0/0"; }

Result<nlohmann::json> ParseArray(std::string_view text, std::string_view what) {
  // `ip -j` prints nothing at all for an empty table on some versions.
  if (text.find_first_not_of(" \t\r\n") == std::string_view::npos) return nlohmann::json::array();
  auto json = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (json.is_discarded() || !json.is_array()) {
    return Error(ErrorCode::kProtocol, fmt::format("{}: expected a JSON array from `ip -j`, got: {}", what,
                                                   std::string(text.substr(0, 200))));
  }
  return json;
}

std::string StringField(const nlohmann::json& obj, const char* key) {
  auto it = obj.find(key);
  if (it == obj.end()) return "";
  if (it->is_string()) return it->get<std::string>();
  if (it->is_number_integer()) return std::to_string(it->get<long long>());
  return "";
}

}  // namespace

std::vector<IpArgs> PolicyRouteAddCommands(IpFamily family) {
  return {
      {FamilyFlag(family), "rule", "add", "fwmark", fmt::format("0x{:x}/0x{:x}", kConnMark, kConnMask), "pref",
       std::to_string(kRulePriority), "lookup", std::to_string(kRouteTable)},
      {FamilyFlag(family), "route", "add", "local", AnyAddress(family), "dev", "lo", "table",
       std::to_string(kRouteTable)},
  };
}

IpArgs PolicyRuleQuery(IpFamily family) {
  return {"-j", FamilyFlag(family), "rule", "show", "pref", std::to_string(kRulePriority)};
}

IpArgs PolicyRouteQuery(IpFamily family) {
  return {"-j", FamilyFlag(family), "route", "show", "table", std::to_string(kRouteTable)};
}

IpArgs PolicyRuleDelete(IpFamily family) {
  return {FamilyFlag(family), "rule", "del", "pref", std::to_string(kRulePriority)};
}

IpArgs PolicyRouteDelete(IpFamily family) {
  return {FamilyFlag(family), "route", "del", "local", AnyAddress(family), "dev", "lo", "table",
          std::to_string(kRouteTable)};
}

std::string RenderIpCommands(const std::vector<IpArgs>& commands) {
  std::string out;
  for (const auto& args : commands) out += fmt::format("ip {}\n", fmt::join(args, " "));
  return out;
}

Result<bool> HasPolicyRule(std::string_view ip_json) {
  AMBIT_ASSIGN_OR_RETURN(auto rules, ParseArray(ip_json, "policy rule query"));
  for (const auto& rule : rules) {
    if (!rule.is_object()) continue;
    if (StringField(rule, "priority") == std::to_string(kRulePriority) &&
        StringField(rule, "fwmark") == fmt::format("0x{:x}", kConnMark) &&
        StringField(rule, "fwmask") == fmt::format("0x{:x}", kConnMask) &&
        StringField(rule, "table") == std::to_string(kRouteTable)) {
      return true;
    }
  }
  return false;
}

Result<bool> HasPolicyRoute(std::string_view ip_json) {
  AMBIT_ASSIGN_OR_RETURN(auto routes, ParseArray(ip_json, "policy route query"));
  for (const auto& route : routes) {
    if (!route.is_object()) continue;
    const std::string dst = StringField(route, "dst");
    if (StringField(route, "type") == "local" && StringField(route, "dev") == "lo" &&
        (dst == "default" || dst == "0.0.0.0/0" || dst == "::/0")) {
      return true;
    }
  }
  return false;
}

}  // namespace ambit::redirect
