#include "net/socket_address.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <charconv>
#include <cstring>

namespace ambit::net {
namespace {

constexpr std::array<std::uint8_t, 12> kV4MappedPrefix = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

Result<std::uint16_t> ParsePort(std::string_view text, std::string_view whole) {
  unsigned value = 0;
  if (text.empty() || text.size() > 5) {
    return Error(ErrorCode::kInvalidArgument, "bad port in '" + std::string(whole) + "'");
  }
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size() || value > 65535) {
    return Error(ErrorCode::kInvalidArgument, "bad port in '" + std::string(whole) + "'");
  }
  return static_cast<std::uint16_t>(value);
}

}  // namespace

Result<IpAddress> IpAddress::Parse(std::string_view text) {
  // inet_pton needs a NUL-terminated string; addresses are short.
  if (text.empty() || text.size() >= INET6_ADDRSTRLEN) {
    return Error(ErrorCode::kInvalidArgument, "not an IP address: '" + std::string(text) + "'");
  }
  char buf[INET6_ADDRSTRLEN];
  std::memcpy(buf, text.data(), text.size());
  buf[text.size()] = '\0';
  std::array<std::uint8_t, 16> bytes{};
  if (::inet_pton(AF_INET, buf, bytes.data()) == 1) {
    return V4({bytes[0], bytes[1], bytes[2], bytes[3]});
  }
  if (::inet_pton(AF_INET6, buf, bytes.data()) == 1) return V6(bytes);
  return Error(ErrorCode::kInvalidArgument, "not an IP address: '" + std::string(text) + "'");
}

IpAddress IpAddress::V4(std::array<std::uint8_t, 4> b) {
  IpAddress ip;
  std::memcpy(ip.bytes_.data(), b.data(), 4);
  return ip;
}

IpAddress IpAddress::V6(const std::array<std::uint8_t, 16>& bytes) {
  IpAddress ip;
  ip.bytes_ = bytes;
  ip.v6_ = true;
  return ip;
}

bool IpAddress::IsUnspecified() const {
  const std::size_t n = v6_ ? 16 : 4;
  for (std::size_t i = 0; i < n; ++i) {
    if (bytes_[i] != 0) return false;
  }
  return true;
}

std::string IpAddress::ToString() const {
  if (!v6_) {
    // Formatted by hand: inet_ntop goes through sprintf, and addresses are
    // rendered a few times per connection (access log, CONNECT headers).
    char buf[16];
    char* p = buf;
    for (int i = 0; i < 4; ++i) {
      unsigned v = bytes_[i];
      if (v >= 100) *p++ = static_cast<char>('0' + v / 100);
      if (v >= 10) *p++ = static_cast<char>('0' + v / 10 % 10);
      *p++ = static_cast<char>('0' + v % 10);
      if (i < 3) *p++ = '.';
    }
    return std::string(buf, p);
  }
  char buf[INET6_ADDRSTRLEN];
  ::inet_ntop(v6_ ? AF_INET6 : AF_INET, bytes_.data(), buf, sizeof(buf));
  return buf;
}

Result<SocketAddress> SocketAddress::FromParts(std::string_view ip, int port) {
  auto addr = IpAddress::Parse(ip);
  if (!addr.ok()) return std::move(addr).error().WithContext("bind address " + std::string(ip));
  if (port < 0 || port > 65535) {
    return Error(ErrorCode::kInvalidArgument, "port out of range: " + std::to_string(port));
  }
  return SocketAddress(*addr, static_cast<std::uint16_t>(port));
}

Result<SocketAddress> SocketAddress::Parse(std::string_view text) {
  std::string_view host;
  std::string_view port;
  if (!text.empty() && text.front() == '[') {
    const auto close = text.find(']');
    if (close == std::string_view::npos || close + 1 >= text.size() || text[close + 1] != ':') {
      return Error(ErrorCode::kInvalidArgument, "bad bracketed address '" + std::string(text) + "'");
    }
    host = text.substr(1, close - 1);
    port = text.substr(close + 2);
    AMBIT_ASSIGN_OR_RETURN(IpAddress ip, IpAddress::Parse(host));
    if (!ip.is_v6()) {
      return Error(ErrorCode::kInvalidArgument, "brackets around an IPv4 address in '" + std::string(text) + "'");
    }
    AMBIT_ASSIGN_OR_RETURN(std::uint16_t p, ParsePort(port, text));
    return SocketAddress(ip, p);
  }
  const auto colon = text.rfind(':');
  if (colon == std::string_view::npos) {
    return Error(ErrorCode::kInvalidArgument, "missing port in '" + std::string(text) + "'");
  }
  host = text.substr(0, colon);
  port = text.substr(colon + 1);
  if (host.find(':') != std::string_view::npos) {
    return Error(ErrorCode::kInvalidArgument, "IPv6 address must be bracketed in '" + std::string(text) + "'");
  }
  AMBIT_ASSIGN_OR_RETURN(IpAddress ip, IpAddress::Parse(host));
  AMBIT_ASSIGN_OR_RETURN(std::uint16_t p, ParsePort(port, text));
  return SocketAddress(ip, p);
}

Result<SocketAddress> SocketAddress::FromSockaddr(const sockaddr* sa, socklen_t len) {
  if (sa->sa_family == AF_INET && len >= static_cast<socklen_t>(sizeof(sockaddr_in))) {
    const auto* in = reinterpret_cast<const sockaddr_in*>(sa);
    std::array<std::uint8_t, 4> b;
    std::memcpy(b.data(), &in->sin_addr, 4);
    return SocketAddress(IpAddress::V4(b), ntohs(in->sin_port));
  }
  if (sa->sa_family == AF_INET6 && len >= static_cast<socklen_t>(sizeof(sockaddr_in6))) {
    const auto* in6 = reinterpret_cast<const sockaddr_in6*>(sa);
    std::array<std::uint8_t, 16> b;
    std::memcpy(b.data(), &in6->sin6_addr, 16);
    if (std::memcmp(b.data(), kV4MappedPrefix.data(), kV4MappedPrefix.size()) == 0) {
      return SocketAddress(IpAddress::V4({b[12], b[13], b[14], b[15]}), ntohs(in6->sin6_port));
    }
    return SocketAddress(IpAddress::V6(b), ntohs(in6->sin6_port));
  }
  return Error(ErrorCode::kInvalidArgument,
               "unsupported socket address family " + std::to_string(sa->sa_family));
}

socklen_t SocketAddress::ToSockaddr(sockaddr_storage* out) const {
  std::memset(out, 0, sizeof(*out));
  if (ip_.is_v4()) {
    auto* in = reinterpret_cast<sockaddr_in*>(out);
    in->sin_family = AF_INET;
    in->sin_port = htons(port_);
    std::memcpy(&in->sin_addr, ip_.bytes().data(), 4);
    return sizeof(sockaddr_in);
  }
  return ToSockaddrV6(out);
}

socklen_t SocketAddress::ToSockaddrV6(sockaddr_storage* out) const {
  std::memset(out, 0, sizeof(*out));
  auto* in6 = reinterpret_cast<sockaddr_in6*>(out);
  in6->sin6_family = AF_INET6;
  in6->sin6_port = htons(port_);
  if (ip_.is_v4()) {
    std::memcpy(&in6->sin6_addr, kV4MappedPrefix.data(), 12);
    std::memcpy(reinterpret_cast<std::uint8_t*>(&in6->sin6_addr) + 12, ip_.bytes().data(), 4);
  } else {
    std::memcpy(&in6->sin6_addr, ip_.bytes().data(), 16);
  }
  return sizeof(sockaddr_in6);
}

std::string SocketAddress::ToString() const {
  std::string out;
  if (ip_.is_v6()) {
    out = "[" + ip_.ToString() + "]";
  } else {
    out = ip_.ToString();
  }
  out += ':';
  out += std::to_string(port_);
  return out;
}

std::size_t HashValue(const IpAddress& ip) {
  // FNV-1a over the meaningful bytes and the family.
  std::size_t h = 1469598103934665603ull;
  const std::size_t n = ip.is_v6() ? 16 : 4;
  for (std::size_t i = 0; i < n; ++i) {
    h = (h ^ ip.bytes()[i]) * 1099511628211ull;
  }
  return h ^ static_cast<std::size_t>(ip.family());
}

std::size_t HashValue(const SocketAddress& addr) {
  return HashValue(addr.ip()) * 31 + addr.port();
}

}  // namespace ambit::net
