#include "inpod/seqpacket.h"

#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace ambit::inpod {
namespace {

constexpr size_t kMaxFds = 4;

Result<sockaddr_un> UnixAddress(const std::string& path) {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (path.empty() || path.size() >= sizeof(addr.sun_path)) {
    return Error(ErrorCode::kInvalidArgument, "unix socket path is empty or too long: " + path);
  }
  std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  return addr;
}

// Waits for |events| on |fd|; kTimeout when the deadline passes first.
Status Wait(int fd, short events, Timeout timeout, std::string_view what) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    int wait_ms = -1;
    if (timeout.count() >= 0) {
      auto left = std::chrono::duration_cast<Timeout>(deadline - std::chrono::steady_clock::now());
      wait_ms = static_cast<int>(std::max<int64_t>(left.count(), 0));
    }
    pollfd p{fd, events, 0};
    int rc = ::poll(&p, 1, wait_ms);
    if (rc > 0) return Ok();  // readiness, hangup or error: the syscall will tell
    if (rc == 0) {
      return Error(ErrorCode::kTimeout,
                   std::string(what) + ": no progress within " + std::to_string(timeout.count()) + " ms");
    }
    if (errno != EINTR) return ErrnoError(std::string(what) + ": poll", errno);
  }
}

}  // namespace

Result<UniqueFd> ListenSeqpacket(const std::string& path, int backlog) {
  AMBIT_ASSIGN_OR_RETURN(sockaddr_un addr, UnixAddress(path));
  UniqueFd fd(::socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0));
  if (!fd) return ErrnoError("socket(AF_UNIX, SOCK_SEQPACKET)", errno);
  ::unlink(path.c_str());
  if (::bind(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    return ErrnoError("binding unix socket " + path, errno);
  }
  if (::listen(fd.get(), backlog) != 0) return ErrnoError("listening on " + path, errno);
  return fd;
}

Result<UniqueFd> AcceptSeqpacket(int listener, Timeout timeout) {
  AMBIT_RETURN_IF_ERROR(Wait(listener, POLLIN, timeout, "accept"));
  int fd = ::accept4(listener, nullptr, nullptr, SOCK_CLOEXEC);
  if (fd < 0) return ErrnoError("accept", errno);
  return UniqueFd(fd);
}

Result<UniqueFd> ConnectSeqpacket(const std::string& path) {
  AMBIT_ASSIGN_OR_RETURN(sockaddr_un addr, UnixAddress(path));
  UniqueFd fd(::socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0));
  if (!fd) return ErrnoError("socket(AF_UNIX, SOCK_SEQPACKET)", errno);
  if (::connect(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    Error e = ErrnoError("connecting to " + path, errno);
    return Error(ErrorCode::kUnavailable, e.message());
  }
  return fd;
}

Status SendDatagram(int fd, std::string_view bytes, int pass_fd, Timeout timeout) {
  AMBIT_RETURN_IF_ERROR(Wait(fd, POLLOUT, timeout, "send"));
  iovec iov{const_cast<char*>(bytes.data()), bytes.size()};
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))] = {};
  if (pass_fd >= 0) {
    msg.msg_control = control;
    msg.msg_controllen = sizeof(control);
    cmsghdr* c = CMSG_FIRSTHDR(&msg);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(sizeof(int));
    std::memcpy(CMSG_DATA(c), &pass_fd, sizeof(int));
  }
  for (;;) {
    ssize_t n = ::sendmsg(fd, &msg, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n == static_cast<ssize_t>(bytes.size())) return Ok();
    if (n >= 0) return Error(ErrorCode::kIo, "short datagram send");
    if (errno == EINTR) continue;
    if (errno == EAGAIN) {
      AMBIT_RETURN_IF_ERROR(Wait(fd, POLLOUT, timeout, "send"));
      continue;
    }
    if (errno == EPIPE || errno == ECONNRESET || errno == ENOTCONN) {
      return Error(ErrorCode::kUnavailable, std::string("peer closed the connection: ") + std::strerror(errno));
    }
    return ErrnoError("sendmsg", errno);
  }
}

Result<ReceivedDatagram> ReceiveDatagram(int fd, Timeout timeout, size_t max_bytes) {
  for (;;) {
    AMBIT_RETURN_IF_ERROR(Wait(fd, POLLIN, timeout, "receive"));
    ReceivedDatagram out;
    out.bytes.resize(max_bytes + 1);  // one spare byte detects oversize payloads
    iovec iov{out.bytes.data(), out.bytes.size()};
    alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int) * kMaxFds)] = {};
    msghdr msg{};
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control;
    msg.msg_controllen = sizeof(control);
    ssize_t n = ::recvmsg(fd, &msg, MSG_CMSG_CLOEXEC | MSG_DONTWAIT);
    if (n < 0 && (errno == EINTR || errno == EAGAIN)) continue;
    // Own every fd that arrived before looking at anything else.
    for (cmsghdr* c = CMSG_FIRSTHDR(&msg); n >= 0 && c != nullptr; c = CMSG_NXTHDR(&msg, c)) {
      if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS) continue;
      size_t count = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
      for (size_t i = 0; i < count; ++i) {
        int received;
        std::memcpy(&received, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
        out.fds.emplace_back(received);
      }
    }
    if (n < 0) {
      if (errno == ECONNRESET || errno == ENOTCONN) return Error(ErrorCode::kUnavailable, "peer reset the connection");
      return ErrnoError("recvmsg", errno);
    }
    if (n == 0) return Error(ErrorCode::kUnavailable, "peer closed the connection");
    out.truncated = (msg.msg_flags & MSG_TRUNC) != 0 || static_cast<size_t>(n) > max_bytes;
    out.control_truncated = (msg.msg_flags & MSG_CTRUNC) != 0;
    out.bytes.resize(std::min(static_cast<size_t>(n), max_bytes));
    return out;
  }
}

}  // namespace ambit::inpod
