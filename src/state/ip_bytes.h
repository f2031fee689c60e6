// IP addresses in their wire form: 4 (IPv4) or 16 (IPv6) bytes in network
// order, held in a std::string. This is how istio.workload carries addresses,
// and the key type of every address index in WorkloadState.
//
// Free functions; thread-safe.
#pragma once

#include <string>
#include <string_view>

#include "core/result.h"

namespace ambit::state {

// "10.0.0.1" -> 4 bytes, "fd00::1" -> 16 bytes. InvalidArgument otherwise.
Result<std::string> PackIp(std::string_view text);

// The inverse of PackIp; "<invalid N-byte address>" for a length other than 4 or 16.
std::string FormatIp(std::string_view packed);

// True when |packed| has a valid length (4 or 16).
inline bool IsValidPackedIp(std::string_view packed) {
  return packed.size() == 4 || packed.size() == 16;
}

}  // namespace ambit::state
