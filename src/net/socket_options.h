// Socket options used by the data path, on raw file descriptors.
//
// Each function is one setsockopt/getsockopt; errors name the option and carry
// errno. Thread-safe (no state). Values match ztunnel's defaults
// (https://github.com/istio/ztunnel/blob/master/src/config.rs): TCP_NODELAY on every
// socket, keepalive 180 s / 180 s / 9 probes, mark 0x539 on sockets made in a pod's namespace.
#pragma once

#include <chrono>
#include <cstdint>

#include "core/result.h"
#include "net/socket_address.h"

namespace ambit::net {

// SO_MARK put on every socket ztunnel creates inside a pod network namespace,
// so the in-pod redirection rules let it through (docs/redirection.md).
inline constexpr std::uint32_t kInpodMark = 0x539;

struct KeepaliveConfig {
  bool enabled = true;
  std::chrono::seconds time{180};      // idle time before the first probe
  std::chrono::seconds interval{180};  // between probes
  int probes = 9;                      // unanswered probes before the kernel drops it
};

Status SetNoDelay(int fd);
Status SetKeepalive(int fd, const KeepaliveConfig& config);
// Both of the options every accepted and connected data-path socket gets.
Status ApplyStreamOptions(int fd, const KeepaliveConfig& keepalive = {});

Status SetReuseAddr(int fd);
Status SetReusePort(int fd);
// SO_MARK (needs CAP_NET_ADMIN).
Status SetMark(int fd, std::uint32_t mark);
Result<std::uint32_t> GetMark(int fd);
// IP_TRANSPARENT / IPV6_TRANSPARENT for |family| (needs CAP_NET_ADMIN): lets the
// socket bind a non-local source address (source IP spoofing on inbound).
Status SetTransparent(int fd, int family);
// IP_FREEBIND / IPV6_FREEBIND: bind to an address not (yet) configured locally.
Status SetFreebind(int fd, int family);

// The destination the client originally dialed before a nat REDIRECT sent it
// to us (SO_ORIGINAL_DST, or IP6T_SO_ORIGINAL_DST on AF_INET6 sockets). Fails
// with kNotFound when the connection was not redirected.
Result<SocketAddress> OriginalDestination(int fd);
// The same for a socket whose family (AF_INET/AF_INET6) the caller knows
// (e.g. that of its peer address): saves the getsockopt(SO_DOMAIN).
Result<SocketAddress> OriginalDestination(int fd, int family);

Result<SocketAddress> LocalAddress(int fd);
Result<SocketAddress> PeerAddress(int fd);

}  // namespace ambit::net
