// The in-pod rule set for iptables, as iptables-restore text (pure functions).
//
// Chains ISTIO_PRERT and ISTIO_OUTPUT, hooked from PREROUTING and OUTPUT of the
// mangle, nat and (with DNS capture) raw tables. Rules are written in the
// canonical form iptables-save prints, so the same strings both install the
// rule set and tell whether what is installed has drifted.
//
// Scripts are for `iptables-restore --noflush` (or ip6tables-restore): they
// touch only our two chains and the jumps to them, and each table's changes
// commit atomically.
#pragma once

#include <map>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "redirect/options.h"

namespace ambit::redirect {

inline constexpr std::string_view kIptablesPreroutingChain = "ISTIO_PRERT";
inline constexpr std::string_view kIptablesOutputChain = "ISTIO_OUTPUT";

struct IptablesTable {
  std::string table;               // "mangle", "nat", "raw"
  std::vector<std::string> rules;  // "-A CHAIN ..." lines, in order
};

// The rules |options| asks for, for one address family (v6 uses ::1 and the v6
// probe address).
std::vector<IptablesTable> IptablesRules(const RedirectOptions& options, IpFamily family);

// What iptables-save reported, per table: every chain that exists and every
// "-A ..." line, in order.
struct IptablesTableState {
  std::set<std::string> chains;
  std::vector<std::string> rules;
};
using IptablesState = std::map<std::string, IptablesTableState>;

// Parses iptables-save output (comments, counters and policies are ignored).
IptablesState ParseIptablesSave(std::string_view text);

// The part of |state| that is ours: rules in ISTIO_PRERT/ISTIO_OUTPUT and jumps
// to them, per table; tables without any are left out.
std::map<std::string, std::vector<std::string>> OwnedIptablesRules(const IptablesState& state);

// A script that turns |observed| into |desired|: removes every jump to our
// chains that exists, creates or flushes our chains where wanted, deletes them
// where not, and appends the wanted rules. Empty when there is nothing to do
// for an empty |desired| (removal of nothing).
std::string IptablesRestoreScript(const std::vector<IptablesTable>& desired, const IptablesState& observed);

// True when the owned part of |observed| is exactly |desired| (same rules, same
// order within each chain, no leftovers in other tables).
bool IptablesUpToDate(const std::vector<IptablesTable>& desired, const IptablesState& observed);

}  // namespace ambit::redirect
