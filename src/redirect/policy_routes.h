// Policy routing that sends connmarked replies back to ztunnel's local sockets:
//   ip rule add fwmark 0x111/0xfff pref 32764 lookup 100
//   ip route add local 0.0.0.0/0 dev lo table 100
// (and the -6 equivalents with ::/0 when IPv6 is on). Pure functions: argv
// vectors for `ip` and parsers for `ip -j` output.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"
#include "redirect/options.h"

namespace ambit::redirect {

using IpArgs = std::vector<std::string>;  // arguments after "ip"

// Adds the rule and the route for |family|.
std::vector<IpArgs> PolicyRouteAddCommands(IpFamily family);
// Queries: `ip -j -4 rule show pref 32764` and `ip -j -4 route show table 100`.
IpArgs PolicyRuleQuery(IpFamily family);
IpArgs PolicyRouteQuery(IpFamily family);
// Removes the rule (by priority) / the route; each fails if absent, so the
// caller runs only those whose query found something.
IpArgs PolicyRuleDelete(IpFamily family);
IpArgs PolicyRouteDelete(IpFamily family);

// One line per command ("ip -4 rule add ..."), for logs and golden files.
std::string RenderIpCommands(const std::vector<IpArgs>& commands);

// Whether `ip -j rule show ...` output holds our rule (pref, fwmark/mask, table).
// Unparseable JSON is an error naming what was expected.
Result<bool> HasPolicyRule(std::string_view ip_json);
// Whether `ip -j route show table 100` output holds the local default via lo.
Result<bool> HasPolicyRoute(std::string_view ip_json);

}  // namespace ambit::redirect
