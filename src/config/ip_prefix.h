// IP addresses and CIDR prefixes as Istio's security APIs write them
// (AuthorizationPolicy ipBlocks, `when` source.ip / destination.ip values),
// and port numbers written as strings (operation.ports, destination.port).
// Acceptance follows istio/istio pkg/config/security ValidateIPs and
// ValidatePorts (Go's netip.ParseAddr / ParsePrefix, strconv.ParseUint):
//   "10.0.0.1"        -> 4 bytes, length 32
//   "10.0.0.0/8"      -> 4 bytes, length 8 (host bits kept as written)
//   "2001:db8::/32"   -> 16 bytes, length 32
//   port "8080"       -> 8080; digits only, 0-65535
// Pure functions; thread-safe.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace ambit::config {

struct IpPrefix {
  std::string bytes;    // the address in network order: 4 (IPv4) or 16 (IPv6) bytes
  uint32_t length = 0;  // prefix length; the address's bit length for a plain address
  friend bool operator==(const IpPrefix&, const IpPrefix&) = default;
};

// nullopt unless |text| is an IPv4/IPv6 address or address/length.
std::optional<IpPrefix> ParseIpOrCidr(std::string_view text);
// "" when valid, else "expected an IP address or CIDR range, got '...'".
std::string CheckIpOrCidr(std::string_view text);

// nullopt unless |text| is a decimal port number 0-65535.
std::optional<uint32_t> ParsePortString(std::string_view text);
// "" when valid, else "expected a port number 0-65535, got '...'".
std::string CheckPortString(std::string_view text);

}  // namespace ambit::config
