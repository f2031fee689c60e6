// What to install in a pod netns: which backend writes the rules and which
// optional parts of Istio's REDIRECT-mode rule set are enabled.
#pragma once

#include <string_view>

#include "core/result.h"

namespace ambit::redirect {

enum class Backend {
  kNftables,  // native nftables: tables inet istio-ambient-{nat,mangle,raw} (default)
  kIptables,  // iptables-restore: chains ISTIO_PRERT / ISTIO_OUTPUT in mangle, nat, raw
};

// "nftables" / "iptables".
std::string_view ToString(Backend backend);
// Accepts "nftables"/"nft" and "iptables"; anything else is kInvalidArgument.
Result<Backend> ParseBackend(std::string_view text);

enum class IpFamily { kV4, kV6 };

struct RedirectOptions {
  Backend backend = Backend::kNftables;
  // Redirect DNS (UDP 53 leaving the pod, TCP 53 not to loopback) to 15053 and
  // split DNS conntrack zones. Istio's chart default is on.
  bool dns_capture = true;
  // Also capture IPv6 (ip6 rules, ip6tables, `ip -6` policy routes). The pod
  // must have IPv6 enabled on lo.
  bool ipv6 = false;
  friend bool operator==(const RedirectOptions&, const RedirectOptions&) = default;
};

}  // namespace ambit::redirect
