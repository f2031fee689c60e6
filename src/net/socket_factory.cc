#include "net/socket_factory.h"

#include <sys/socket.h>

#include <cerrno>

#include "net/socket_options.h"

namespace ambit::net {
namespace {

Result<UniqueFd> RawTcpSocket(int family) {
  int fd = ::socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return ErrnoError("socket(SOCK_STREAM)", errno);
  return UniqueFd(fd);
}

Result<UniqueFd> RawUdpSocket(int family) {
  int fd = ::socket(family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return ErrnoError("socket(SOCK_DGRAM)", errno);
  return UniqueFd(fd);
}

}  // namespace

Result<UniqueFd> SocketFactory::NewUdpSocket(int family) const { return RawUdpSocket(family); }

Result<UniqueFd> SocketFactory::NewListener(const SocketAddress& addr,
                                            const ListenOptions& options) const {
  AMBIT_ASSIGN_OR_RETURN(UniqueFd fd, NewTcpSocket(addr.family()));
  AMBIT_RETURN_IF_ERROR(SetReuseAddr(fd.get()));
  if (options.reuse_port) AMBIT_RETURN_IF_ERROR(SetReusePort(fd.get()));
  if (options.transparent) AMBIT_RETURN_IF_ERROR(SetTransparent(fd.get(), addr.family()));
  sockaddr_storage ss;
  const socklen_t len = addr.ToSockaddr(&ss);
  if (::bind(fd.get(), reinterpret_cast<sockaddr*>(&ss), len) != 0) {
    return ErrnoError("bind " + addr.ToString(), errno);
  }
  if (::listen(fd.get(), options.backlog) != 0) {
    return ErrnoError("listen " + addr.ToString(), errno);
  }
  return fd;
}

Result<UniqueFd> DefaultSocketFactory::NewTcpSocket(int family) const {
  AMBIT_ASSIGN_OR_RETURN(UniqueFd fd, RawTcpSocket(family));
  if (mark_) AMBIT_RETURN_IF_ERROR(SetMark(fd.get(), *mark_));
  return fd;
}

Result<UniqueFd> DefaultSocketFactory::NewUdpSocket(int family) const {
  AMBIT_ASSIGN_OR_RETURN(UniqueFd fd, RawUdpSocket(family));
  if (mark_) AMBIT_RETURN_IF_ERROR(SetMark(fd.get(), *mark_));
  return fd;
}

NetnsSocketFactory::NetnsSocketFactory(std::shared_ptr<const Netns> netns, std::uint32_t mark)
    : netns_(std::move(netns)), mark_(mark) {}

NetnsSocketFactory::NetnsSocketFactory(std::shared_ptr<const Netns> netns)
    : NetnsSocketFactory(std::move(netns), kInpodMark) {}

Result<UniqueFd> NetnsSocketFactory::NewTcpSocket(int family) const {
  Result<UniqueFd> fd = Error(ErrorCode::kInternal, "unset");
  {
    AMBIT_ASSIGN_OR_RETURN(NetnsGuard guard, NetnsGuard::Enter(*netns_));
    fd = RawTcpSocket(family);
  }  // back in the thread's own namespace before anything else runs
  if (!fd.ok()) return std::move(fd).error().WithContext("in namespace " + netns_->path());
  AMBIT_RETURN_IF_ERROR(SetMark(fd->get(), mark_));
  return fd;
}

Result<UniqueFd> NetnsSocketFactory::NewUdpSocket(int family) const {
  Result<UniqueFd> fd = Error(ErrorCode::kInternal, "unset");
  {
    AMBIT_ASSIGN_OR_RETURN(NetnsGuard guard, NetnsGuard::Enter(*netns_));
    fd = RawUdpSocket(family);
  }
  if (!fd.ok()) return std::move(fd).error().WithContext("in namespace " + netns_->path());
  AMBIT_RETURN_IF_ERROR(SetMark(fd->get(), mark_));
  return fd;
}

Result<UniqueFd> NetnsSocketFactory::NewListener(const SocketAddress& addr,
                                                 const ListenOptions& options) const {
  // Binding a wildcard is resolved against the socket's own namespace, which
  // was fixed at creation, so the base implementation is correct here too.
  auto fd = SocketFactory::NewListener(addr, options);
  if (!fd.ok()) return std::move(fd).error().WithContext("in namespace " + netns_->path());
  return fd;
}

}  // namespace ambit::net
