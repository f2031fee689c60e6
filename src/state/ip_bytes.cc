#include "state/ip_bytes.h"

#include <arpa/inet.h>

#include <array>

namespace ambit::state {

Result<std::string> PackIp(std::string_view text) {
  std::string z(text);  // inet_pton needs a NUL-terminated string
  std::array<unsigned char, 16> buf{};
  if (inet_pton(AF_INET, z.c_str(), buf.data()) == 1) {
    return std::string(reinterpret_cast<const char*>(buf.data()), 4);
  }
  if (inet_pton(AF_INET6, z.c_str(), buf.data()) == 1) {
    return std::string(reinterpret_cast<const char*>(buf.data()), 16);
  }
  return Error(ErrorCode::kInvalidArgument, "not an IPv4 or IPv6 address: '" + z + "'");
}

std::string FormatIp(std::string_view packed) {
  char out[INET6_ADDRSTRLEN] = {};
  if (packed.size() == 4 && inet_ntop(AF_INET, packed.data(), out, sizeof(out)) != nullptr) {
    return out;
  }
  if (packed.size() == 16 && inet_ntop(AF_INET6, packed.data(), out, sizeof(out)) != nullptr) {
    return out;
  }
  return "<invalid " + std::to_string(packed.size()) + "-byte address>";
}

}  // namespace ambit::state
