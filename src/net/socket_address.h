// IP addresses and socket addresses as small value types.
//
// Value types; thread-compatible. IPv4-mapped IPv6 addresses (::ffff:a.b.c.d,
// what a dual-stack [::] socket reports for an IPv4 peer) are normalized to
// IPv4 when built from a sockaddr, so an address compares equal however the
// kernel spelled it. ToString() brackets IPv6 in socket addresses ("[::1]:80"),
// the form HBONE uses in :authority.
#pragma once

#include <sys/socket.h>

#include <array>
#include <compare>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "core/result.h"

namespace ambit::net {

class IpAddress {
 public:
  // 0.0.0.0.
  IpAddress() = default;
  // Parses dotted IPv4 or RFC 4291 IPv6 text (no brackets, no zone).
  static Result<IpAddress> Parse(std::string_view text);
  static IpAddress V4(std::array<std::uint8_t, 4> bytes);
  static IpAddress V6(const std::array<std::uint8_t, 16>& bytes);
  static IpAddress Loopback4() { return V4({127, 0, 0, 1}); }

  bool is_v4() const { return !v6_; }
  bool is_v6() const { return v6_; }
  int family() const { return v6_ ? AF_INET6 : AF_INET; }
  bool IsUnspecified() const;
  // Network-order bytes; 4 or 16 of them are meaningful.
  const std::array<std::uint8_t, 16>& bytes() const { return bytes_; }

  std::string ToString() const;

  friend bool operator==(const IpAddress&, const IpAddress&) = default;
  friend auto operator<=>(const IpAddress&, const IpAddress&) = default;

 private:
  std::array<std::uint8_t, 16> bytes_{};
  bool v6_ = false;
};

class SocketAddress {
 public:
  SocketAddress() = default;
  SocketAddress(IpAddress ip, std::uint16_t port) : ip_(ip), port_(port) {}

  // Parses "a.b.c.d:port" or "[v6]:port". The port must be 0..65535.
  static Result<SocketAddress> Parse(std::string_view text);
  // An IP's text (as IpAddress::Parse) and a port given apart, as command-line
  // flags give them; fails naming the IP or the port when one is invalid.
  static Result<SocketAddress> FromParts(std::string_view ip, int port);
  // Converts a kernel sockaddr (AF_INET or AF_INET6); v4-mapped v6 becomes v4.
  static Result<SocketAddress> FromSockaddr(const sockaddr* sa, socklen_t len);

  const IpAddress& ip() const { return ip_; }
  std::uint16_t port() const { return port_; }
  int family() const { return ip_.family(); }

  // Fills |out| and returns the length to pass to bind/connect.
  socklen_t ToSockaddr(sockaddr_storage* out) const;
  // Same, but as AF_INET6 (v4-mapped for IPv4) for use on an AF_INET6 socket.
  socklen_t ToSockaddrV6(sockaddr_storage* out) const;
  // "1.2.3.4:80" or "[::1]:80".
  std::string ToString() const;

  friend bool operator==(const SocketAddress&, const SocketAddress&) = default;
  friend auto operator<=>(const SocketAddress&, const SocketAddress&) = default;

 private:
  IpAddress ip_;
  std::uint16_t port_ = 0;
};

std::size_t HashValue(const IpAddress& ip);
std::size_t HashValue(const SocketAddress& addr);

}  // namespace ambit::net

template <>
struct std::hash<ambit::net::IpAddress> {
  std::size_t operator()(const ambit::net::IpAddress& ip) const { return ambit::net::HashValue(ip); }
};
template <>
struct std::hash<ambit::net::SocketAddress> {
  std::size_t operator()(const ambit::net::SocketAddress& a) const {
    return ambit::net::HashValue(a);
  }
};
