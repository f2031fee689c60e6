#include "net/socket_options.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <cerrno>
#include <string>

namespace ambit::net {
namespace {

// SO_ORIGINAL_DST (<linux/netfilter_ipv4.h>) and IP6T_SO_ORIGINAL_DST
// (<linux/netfilter_ipv6/ip6_tables.h>); those headers clash with glibc's.
constexpr int kSoOriginalDst = 80;
constexpr int kIp6tSoOriginalDst = 80;

Status SetInt(int fd, int level, int name, int value, const char* what) {
  if (::setsockopt(fd, level, name, &value, sizeof(value)) != 0) {
    return ErrnoError(std::string("setsockopt ") + what, errno);
  }
  return Ok();
}

Result<int> SocketFamily(int fd) {
  int domain = 0;
  socklen_t len = sizeof(domain);
  if (::getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &domain, &len) != 0) {
    return ErrnoError("getsockopt SO_DOMAIN", errno);
  }
  return domain;
}

}  // namespace

Status SetNoDelay(int fd) { return SetInt(fd, IPPROTO_TCP, TCP_NODELAY, 1, "TCP_NODELAY"); }

Status SetKeepalive(int fd, const KeepaliveConfig& config) {
  if (!config.enabled) return SetInt(fd, SOL_SOCKET, SO_KEEPALIVE, 0, "SO_KEEPALIVE");
  AMBIT_RETURN_IF_ERROR(SetInt(fd, SOL_SOCKET, SO_KEEPALIVE, 1, "SO_KEEPALIVE"));
  AMBIT_RETURN_IF_ERROR(SetInt(fd, IPPROTO_TCP, TCP_KEEPIDLE,
                               static_cast<int>(config.time.count()), "TCP_KEEPIDLE"));
  AMBIT_RETURN_IF_ERROR(SetInt(fd, IPPROTO_TCP, TCP_KEEPINTVL,
                               static_cast<int>(config.interval.count()), "TCP_KEEPINTVL"));
  return SetInt(fd, IPPROTO_TCP, TCP_KEEPCNT, config.probes, "TCP_KEEPCNT");
}

Status ApplyStreamOptions(int fd, const KeepaliveConfig& keepalive) {
  AMBIT_RETURN_IF_ERROR(SetNoDelay(fd));
  return SetKeepalive(fd, keepalive);
}

Status SetReuseAddr(int fd) { return SetInt(fd, SOL_SOCKET, SO_REUSEADDR, 1, "SO_REUSEADDR"); }
Status SetReusePort(int fd) { return SetInt(fd, SOL_SOCKET, SO_REUSEPORT, 1, "SO_REUSEPORT"); }

Status SetMark(int fd, std::uint32_t mark) {
  return SetInt(fd, SOL_SOCKET, SO_MARK, static_cast<int>(mark), "SO_MARK");
}

Result<std::uint32_t> GetMark(int fd) {
  int mark = 0;
  socklen_t len = sizeof(mark);
  if (::getsockopt(fd, SOL_SOCKET, SO_MARK, &mark, &len) != 0) {
    return ErrnoError("getsockopt SO_MARK", errno);
  }
  return static_cast<std::uint32_t>(mark);
}

Status SetTransparent(int fd, int family) {
  if (family == AF_INET6) return SetInt(fd, SOL_IPV6, IPV6_TRANSPARENT, 1, "IPV6_TRANSPARENT");
  return SetInt(fd, SOL_IP, IP_TRANSPARENT, 1, "IP_TRANSPARENT");
}

Status SetFreebind(int fd, int family) {
  if (family == AF_INET6) return SetInt(fd, SOL_IPV6, IPV6_FREEBIND, 1, "IPV6_FREEBIND");
  return SetInt(fd, SOL_IP, IP_FREEBIND, 1, "IP_FREEBIND");
}

Result<SocketAddress> OriginalDestination(int fd) {
  AMBIT_ASSIGN_OR_RETURN(int family, SocketFamily(fd));
  return OriginalDestination(fd, family);
}

Result<SocketAddress> OriginalDestination(int fd, int family) {
  sockaddr_storage ss{};
  socklen_t len = sizeof(ss);
  int rc = 0;
  if (family == AF_INET6) {
    rc = ::getsockopt(fd, SOL_IPV6, kIp6tSoOriginalDst, &ss, &len);
    // A v4 client on a dual-stack socket has its conntrack entry under IPv4.
    if (rc != 0) {
      len = sizeof(ss);
      rc = ::getsockopt(fd, SOL_IP, kSoOriginalDst, &ss, &len);
    }
  } else {
    rc = ::getsockopt(fd, SOL_IP, kSoOriginalDst, &ss, &len);
  }
  if (rc != 0) {
    const int err = errno;
    Error e = ErrnoError("getsockopt SO_ORIGINAL_DST (connection not redirected?)", err);
    if (err == ENOENT) return Error(ErrorCode::kNotFound, e.message());
    return e;
  }
  return SocketAddress::FromSockaddr(reinterpret_cast<sockaddr*>(&ss), len);
}

Result<SocketAddress> LocalAddress(int fd) {
  sockaddr_storage ss{};
  socklen_t len = sizeof(ss);
  if (::getsockname(fd, reinterpret_cast<sockaddr*>(&ss), &len) != 0) {
    return ErrnoError("getsockname", errno);
  }
  return SocketAddress::FromSockaddr(reinterpret_cast<sockaddr*>(&ss), len);
}

Result<SocketAddress> PeerAddress(int fd) {
  sockaddr_storage ss{};
  socklen_t len = sizeof(ss);
  if (::getpeername(fd, reinterpret_cast<sockaddr*>(&ss), &len) != 0) {
    return ErrnoError("getpeername", errno);
  }
  return SocketAddress::FromSockaddr(reinterpret_cast<sockaddr*>(&ss), len);
}

}  // namespace ambit::net
