#include "redirect/nftables_rules.h"

#include <fmt/format.h>

#include <sstream>

#include "redirect/constants.h"

namespace ambit::redirect {
namespace {

struct Chain {
  std::string name;
  std::string hook;  // empty for a regular chain
  std::vector<std::string> rules;
};

std::string Hex8(uint32_t v) { return fmt::format("0x{:08x}", v); }

// "meta mark & 0x00000fff != 0x00000539" — nft's own rendering of a masked compare.
std::string MarkIs(bool equal, uint32_t mark) {
  return fmt::format("meta mark & {} {} {}", Hex8(kInpodMask), equal ? "==" : "!=", Hex8(mark));
}

std::string Render(std::string_view table, const std::vector<Chain>& chains) {
  std::string out = fmt::format("table inet {} {{\n", table);
  for (size_t i = 0; i < chains.size(); ++i) {
    if (i > 0) out += "\n";
    out += fmt::format("\tchain {} {{\n", chains[i].name);
    if (!chains[i].hook.empty()) out += fmt::format("\t\t{}\n", chains[i].hook);
    for (const auto& rule : chains[i].rules) out += fmt::format("\t\t{}\n", rule);
    out += "\t}\n";
  }
  out += "}\n";
  return out;
}

std::vector<Chain> BaseChains(std::string_view type, std::string_view prerouting_priority,
                              std::string_view output_type, std::string_view output_priority) {
  return {
      {"prerouting",
       fmt::format("type {} hook prerouting priority {}; policy accept;", type, prerouting_priority),
       {"jump istio-prerouting"}},
      {"output",
       fmt::format("type {} hook output priority {}; policy accept;", output_type, output_priority),
       {"jump istio-output"}},
  };
}

NftTable NatTable(const RedirectOptions& o) {
  const std::string not_ours = MarkIs(false, kInpodMark);
  std::vector<std::string> pre;
  std::vector<std::string> out;
  // Host probes (SNATed to the link-local probe address by the node) bypass capture.
  pre.push_back(fmt::format("meta l4proto tcp ip saddr {} counter accept", kProbeSourceV4));
  if (o.ipv6) pre.push_back(fmt::format("meta l4proto tcp ip6 saddr {} counter accept", kProbeSourceV6));
  // Inbound TCP not from ztunnel and not HBONE goes to the plaintext listener.
  pre.push_back(fmt::format("ip daddr != 127.0.0.1 tcp dport != {} {} counter redirect to :{}",
                            kInboundHbonePort, not_ours, kInboundPlaintextPort));
  if (o.ipv6) {
    pre.push_back(fmt::format("ip6 daddr != ::1 tcp dport != {} {} counter redirect to :{}",
                              kInboundHbonePort, not_ours, kInboundPlaintextPort));
  }
  out.push_back(fmt::format("meta l4proto tcp ip daddr {} counter accept", kProbeSourceV4));
  if (o.ipv6) out.push_back(fmt::format("meta l4proto tcp ip6 daddr {} counter accept", kProbeSourceV6));
  if (o.dns_capture) {
    out.push_back(fmt::format("oifname != \"lo\" {} udp dport 53 counter redirect to :{}", not_ours, kDnsPort));
    out.push_back(fmt::format("ip daddr != 127.0.0.1 tcp dport 53 {} counter redirect to :{}", not_ours, kDnsPort));
    if (o.ipv6) {
      out.push_back(fmt::format("ip6 daddr != ::1 tcp dport 53 {} counter redirect to :{}", not_ours, kDnsPort));
    }
  }
  // Connections ztunnel accepted with a spoofed source: replies stay local.
  out.push_back(fmt::format("meta l4proto tcp {} counter accept", MarkIs(true, kConnMark)));
  // The app talking to its own pod IP.
  out.push_back("oifname \"lo\" ip daddr != 127.0.0.1 counter accept");
  if (o.ipv6) out.push_back("oifname \"lo\" ip6 daddr != ::1 counter accept");
  // Everything else the app sends over TCP goes to the outbound listener.
  out.push_back(fmt::format("meta l4proto tcp ip daddr != 127.0.0.1 {} counter redirect to :{}", not_ours,
                            kOutboundPort));
  if (o.ipv6) {
    out.push_back(fmt::format("meta l4proto tcp ip6 daddr != ::1 {} counter redirect to :{}", not_ours,
                              kOutboundPort));
  }
  auto chains = BaseChains("nat", "dstnat", "nat", "-100");
  chains.push_back({"istio-prerouting", "", std::move(pre)});
  chains.push_back({"istio-output", "", std::move(out)});
  return {std::string(kNftTableNames[0]), Render(kNftTableNames[0], chains)};
}

NftTable MangleTable() {
  // Tag connections ztunnel made, then restore the tag on every packet of them.
  // nft prints "ct mark & 0xfffff000 | 0x111" in its folded form below.
  const uint32_t keep = ~kConnMask | kConnMark;
  auto chains = BaseChains("filter", "mangle", "route", "mangle");
  chains.push_back({"istio-prerouting",
                    "",
                    {fmt::format("{} counter ct mark set ct mark & {} | {}", MarkIs(true, kInpodMark), Hex8(keep),
                                 Hex8(kConnMark))}});
  chains.push_back({"istio-output",
                    "",
                    {fmt::format("ct mark & {} == {} counter meta mark set ct mark", Hex8(kConnMask),
                                 Hex8(kConnMark))}});
  return {std::string(kNftTableNames[1]), Render(kNftTableNames[1], chains)};
}

NftTable RawTable() {
  // DNS answers to the app and queries from ztunnel use separate conntrack zones
  // so the two legs of a proxied lookup are not confused (istio/istio#33469).
  auto chains = BaseChains("filter", "raw", "filter", "raw");
  chains.push_back(
      {"istio-prerouting", "", {fmt::format("udp sport 53 {} counter ct zone set 1", MarkIs(false, kInpodMark))}});
  chains.push_back(
      {"istio-output", "", {fmt::format("udp dport 53 {} counter ct zone set 1", MarkIs(true, kInpodMark))}});
  return {std::string(kNftTableNames[2]), Render(kNftTableNames[2], chains)};
}

// "table inet X" creates X if missing, so the following delete cannot fail.
std::string DropTable(std::string_view name) {
  return fmt::format("table inet {}\ndelete table inet {}\n", name, name);
}

}  // namespace

std::vector<NftTable> NftablesTables(const RedirectOptions& options) {
  std::vector<NftTable> tables{NatTable(options), MangleTable()};
  if (options.dns_capture) tables.push_back(RawTable());
  return tables;
}

std::string NftablesInstallScript(const RedirectOptions& options) {
  std::string script;
  for (std::string_view name : kNftTableNames) script += DropTable(name);
  for (const auto& table : NftablesTables(options)) script += table.listing;
  return script;
}

std::string NftablesRemoveScript() {
  std::string script;
  for (std::string_view name : kNftTableNames) script += DropTable(name);
  return script;
}

bool SameNftListing(std::string_view a, std::string_view b) {
  auto tokens = [](std::string_view s) {
    std::istringstream in{std::string(s)};
    std::vector<std::string> words;
    for (std::string w; in >> w;) words.push_back(std::move(w));
    return words;
  };
  return tokens(a) == tokens(b);
}

}  // namespace ambit::redirect
