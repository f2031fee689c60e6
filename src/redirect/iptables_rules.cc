#include "redirect/iptables_rules.h"

#include <fmt/format.h>

#include <algorithm>
#include <sstream>

#include "redirect/constants.h"

namespace ambit::redirect {
namespace {

bool IsOwnedChain(std::string_view chain) {
  return chain == kIptablesPreroutingChain || chain == kIptablesOutputChain;
}

// The chain an "-A CHAIN ..." line appends to.
std::string ChainOf(std::string_view rule) {
  std::istringstream in{std::string(rule)};
  std::string flag, chain;
  in >> flag >> chain;
  return chain;
}

bool JumpsToOwnedChain(std::string_view rule) {
  return rule.ends_with(fmt::format(" -j {}", kIptablesPreroutingChain)) ||
         rule.ends_with(fmt::format(" -j {}", kIptablesOutputChain));
}

bool IsOwnedRule(std::string_view rule) { return IsOwnedChain(ChainOf(rule)) || JumpsToOwnedChain(rule); }

std::string Mark(bool equal, uint32_t mark, uint32_t mask) {
  return fmt::format("-m mark {}--mark 0x{:x}/0x{:x}", equal ? "" : "! ", mark, mask);
}

}  // namespace

std::vector<IptablesTable> IptablesRules(const RedirectOptions& options, IpFamily family) {
  const bool v6 = family == IpFamily::kV6;
  const std::string loopback = v6 ? "::1/128" : "127.0.0.1/32";
  const std::string probe = fmt::format("{}/{}", v6 ? kProbeSourceV6 : kProbeSourceV4, v6 ? 128 : 32);
  const std::string not_ours = Mark(false, kInpodMark, kInpodMask);
  const auto pre = kIptablesPreroutingChain;
  const auto out = kIptablesOutputChain;

  IptablesTable mangle{"mangle",
                       {
                           fmt::format("-A PREROUTING -j {}", pre),
                           fmt::format("-A OUTPUT -j {}", out),
                           fmt::format("-A {} {} -j CONNMARK --set-xmark 0x{:x}/0x{:x}", pre,
                                       Mark(true, kInpodMark, kInpodMask), kConnMark, kConnMask),
                           fmt::format("-A {} -m connmark --mark 0x{:x}/0x{:x} -j CONNMARK --restore-mark "
                                       "--nfmask 0xffffffff --ctmask 0xffffffff",
                                       out, kConnMark, kConnMask),
                       }};

  IptablesTable nat{"nat",
                    {
                        fmt::format("-A PREROUTING -j {}", pre),
                        fmt::format("-A OUTPUT -j {}", out),
                        fmt::format("-A {} -s {} -p tcp -j ACCEPT", pre, probe),
                        fmt::format("-A {} ! -d {} -p tcp -m tcp ! --dport {} {} -j REDIRECT --to-ports {}", pre,
                                    loopback, kInboundHbonePort, not_ours, kInboundPlaintextPort),
                        fmt::format("-A {} -d {} -p tcp -j ACCEPT", out, probe),
                    }};
  if (options.dns_capture) {
    nat.rules.push_back(fmt::format("-A {} ! -o lo -p udp -m udp --dport 53 {} -j REDIRECT --to-ports {}", out,
                                    not_ours, kDnsPort));
    nat.rules.push_back(fmt::format("-A {} ! -d {} -p tcp -m tcp --dport 53 {} -j REDIRECT --to-ports {}", out,
                                    loopback, not_ours, kDnsPort));
  }
  nat.rules.push_back(fmt::format("-A {} -p tcp {} -j ACCEPT", out, Mark(true, kConnMark, kConnMask)));
  nat.rules.push_back(fmt::format("-A {} ! -d {} -o lo -j ACCEPT", out, loopback));
  nat.rules.push_back(
      fmt::format("-A {} ! -d {} -p tcp {} -j REDIRECT --to-ports {}", out, loopback, not_ours, kOutboundPort));

  std::vector<IptablesTable> tables{std::move(mangle), std::move(nat)};
  if (options.dns_capture) {
    tables.push_back({"raw",
                      {
                          fmt::format("-A PREROUTING -j {}", pre),
                          fmt::format("-A OUTPUT -j {}", out),
                          fmt::format("-A {} -p udp -m udp --sport 53 {} -j CT --zone 1", pre, not_ours),
                          fmt::format("-A {} -p udp -m udp --dport 53 {} -j CT --zone 1", out,
                                      Mark(true, kInpodMark, kInpodMask)),
                      }});
  }
  return tables;
}

IptablesState ParseIptablesSave(std::string_view text) {
  IptablesState state;
  IptablesTableState* current = nullptr;
  std::istringstream in{std::string(text)};
  for (std::string line; std::getline(in, line);) {
    while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) line.pop_back();
    if (line.empty() || line[0] == '#') continue;
    if (line[0] == '*') {
      current = &state[line.substr(1)];
    } else if (current == nullptr) {
      continue;  // garbage before the first table header
    } else if (line[0] == ':') {
      current->chains.insert(line.substr(1, line.find(' ') == std::string::npos ? std::string::npos
                                                                                  : line.find(' ') - 1));
    } else if (line.starts_with("-A ")) {
      current->rules.push_back(line);
    }
  }
  return state;
}

std::map<std::string, std::vector<std::string>> OwnedIptablesRules(const IptablesState& state) {
  std::map<std::string, std::vector<std::string>> owned;
  for (const auto& [table, content] : state) {
    std::vector<std::string> rules;
    std::copy_if(content.rules.begin(), content.rules.end(), std::back_inserter(rules), IsOwnedRule);
    bool has_chain = std::any_of(content.chains.begin(), content.chains.end(),
                                 [](const std::string& c) { return IsOwnedChain(c); });
    if (!rules.empty() || has_chain) owned[table] = std::move(rules);
  }
  return owned;
}

std::string IptablesRestoreScript(const std::vector<IptablesTable>& desired, const IptablesState& observed) {
  std::set<std::string> tables;
  for (const auto& t : desired) tables.insert(t.table);
  const auto owned = OwnedIptablesRules(observed);
  for (const auto& [table, rules] : owned) tables.insert(table);

  // Install order: the order of |desired|, then leftovers in name order.
  std::vector<std::string> order;
  for (const auto& t : desired) order.push_back(t.table);
  for (const auto& t : tables) {
    if (std::find(order.begin(), order.end(), t) == order.end()) order.push_back(t);
  }

  std::string script;
  for (const auto& table : order) {
    const IptablesTable* want = nullptr;
    for (const auto& t : desired) {
      if (t.table == table) want = &t;
    }
    const auto seen = observed.find(table);
    script += fmt::format("*{}\n", table);
    // Drop every jump into our chains that exists (duplicates included).
    if (seen != observed.end()) {
      for (const auto& rule : seen->second.rules) {
        if (!IsOwnedChain(ChainOf(rule)) && JumpsToOwnedChain(rule)) script += "-D" + rule.substr(2) + "\n";
      }
    }
    // Declaring a chain under --noflush creates it, or empties it if it exists.
    for (std::string_view chain : {kIptablesPreroutingChain, kIptablesOutputChain}) {
      const bool exists = seen != observed.end() && seen->second.chains.contains(std::string(chain));
      if (want != nullptr) {
        script += fmt::format(":{} - [0:0]\n", chain);
      } else if (exists) {
        script += fmt::format(":{} - [0:0]\n-X {}\n", chain, chain);
      }
    }
    if (want != nullptr) {
      for (const auto& rule : want->rules) script += rule + "\n";
    }
    script += "COMMIT\n";
  }
  return script;
}

bool IptablesUpToDate(const std::vector<IptablesTable>& desired, const IptablesState& observed) {
  auto owned = OwnedIptablesRules(observed);
  for (const auto& want : desired) {
    auto it = owned.find(want.table);
    if (it == owned.end()) return false;
    const auto& chains = observed.at(want.table).chains;
    if (!chains.contains(std::string(kIptablesPreroutingChain)) ||
        !chains.contains(std::string(kIptablesOutputChain))) {
      return false;
    }
    // Compare chain by chain: iptables-save groups rules by chain, not in the
    // order they were appended.
    auto by_chain = [](const std::vector<std::string>& rules) {
      std::map<std::string, std::vector<std::string>> m;
      for (const auto& r : rules) m[ChainOf(r)].push_back(r);
      return m;
    };
    if (by_chain(it->second) != by_chain(want.rules)) return false;
    owned.erase(it);
  }
  return owned.empty();  // anything left is ours but unwanted
}

}  // namespace ambit::redirect
