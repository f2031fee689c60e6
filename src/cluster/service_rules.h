// Service VIPs inside a pod: an nftables table in the pod's network namespace that
// DNATs connections to a ClusterIP:port to one of the service's ready endpoints,
// chosen at random per connection (numgen random), and rejects connections to a
// VIP:port with no endpoint.
//
// The nat chain hooks output at priority -90, i.e. after any priority -100 nat
// chain: in-pod redirection installed by ambit-cni at -100 makes the first NAT
// decision on a connection and therefore wins, so the node proxy still sees the
// VIP as the original destination of enrolled pods.
//
// Pure text building plus one `nft -f` per pod; the whole table is replaced in a
// single transaction, so a pod never sees a half-updated table.
#pragma once

#include <string>
#include <vector>

#include "core/result.h"

namespace ambit::cluster {

inline constexpr char kServiceTable[] = "ambit_services";

struct Endpoint {
  std::string ip;
  int port = 0;
  friend bool operator==(const Endpoint&, const Endpoint&) = default;
};

struct ServicePortRule {
  std::string protocol = "TCP";  // TCP | UDP | SCTP
  int port = 0;
  std::vector<Endpoint> endpoints;  // ready endpoints; empty = reject
};

struct ServiceRule {
  std::string name;  // ns/name, for comments
  std::string vip;
  std::vector<ServicePortRule> ports;
};

// The complete `nft -f` input that replaces the table (deterministic for a given
// input, so callers can skip unchanged pods by comparing text).
std::string BuildServiceRuleset(const std::vector<ServiceRule>& services);

// Applies |ruleset| inside the namespace at |netns_path| in one transaction.
Status ApplyRuleset(const std::string& netns_path, const std::string& ruleset);

}  // namespace ambit::cluster
