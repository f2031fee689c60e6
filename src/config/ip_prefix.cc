#include "config/ip_prefix.h"

#include <arpa/inet.h>

#include <array>

#include "config/field_path.h"

namespace ambit::config {
namespace {

std::optional<std::string> PackAddress(std::string_view text) {
  if (text.empty() || text.size() > INET6_ADDRSTRLEN) return std::nullopt;
  const std::string z(text);  // inet_pton wants a terminated string
  std::array<unsigned char, 16> buf{};
  if (inet_pton(AF_INET, z.c_str(), buf.data()) == 1) {
    return std::string(reinterpret_cast<const char*>(buf.data()), 4);
  }
  if (inet_pton(AF_INET6, z.c_str(), buf.data()) == 1) {
    return std::string(reinterpret_cast<const char*>(buf.data()), 16);
  }
  return std::nullopt;
}

// Decimal digits without a leading zero (except "0"), at most |max|.
std::optional<uint32_t> ParseDecimal(std::string_view text, uint32_t max, bool allow_leading_zero) {
  if (text.empty() || text.size() > 10) return std::nullopt;
  if (!allow_leading_zero && text.size() > 1 && text[0] == '0') return std::nullopt;
  uint64_t v = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return std::nullopt;
    v = v * 10 + static_cast<uint64_t>(c - '0');
  }
  if (v > max) return std::nullopt;
  return static_cast<uint32_t>(v);
}

}  // namespace

std::optional<IpPrefix> ParseIpOrCidr(std::string_view text) {
  const size_t slash = text.find('/');
  std::optional<std::string> bytes = PackAddress(text.substr(0, slash));
  if (!bytes) return std::nullopt;
  const uint32_t bits = static_cast<uint32_t>(bytes->size() * 8);
  if (slash == std::string_view::npos) return IpPrefix{std::move(*bytes), bits};
  std::optional<uint32_t> length =
      ParseDecimal(text.substr(slash + 1), bits, /*allow_leading_zero=*/false);
  if (!length) return std::nullopt;
  return IpPrefix{std::move(*bytes), *length};
}

std::string CheckIpOrCidr(std::string_view text) {
  if (ParseIpOrCidr(text)) return "";
  return "expected an IP address or CIDR range, got " + internal::QuoteForMessage(text);
}

std::optional<uint32_t> ParsePortString(std::string_view text) {
  // strconv.ParseUint accepts leading zeros ("080").
  return ParseDecimal(text, 65535, /*allow_leading_zero=*/true);
}

std::string CheckPortString(std::string_view text) {
  if (ParsePortString(text)) return "";
  return "expected a port number 0-65535, got " + internal::QuoteForMessage(text);
}

}  // namespace ambit::config
