#include "rpc/target.h"

#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <cerrno>
#include <charconv>
#include <cstring>

namespace ambit::rpc {
namespace {

Error Invalid(std::string_view text, std::string_view why) {
  return Error(ErrorCode::kInvalidArgument,
               "RPC target \"" + std::string(text) + "\": " + std::string(why));
}

int RemainingMs(std::chrono::steady_clock::time_point deadline) {
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline -
                                                                    std::chrono::steady_clock::now());
  return left.count() < 0 ? 0 : static_cast<int>(std::min<long long>(left.count(), 1 << 30));
}

// Connects |fd| (non-blocking) to |addr|; waits for completion until |deadline|.
Status ConnectFd(int fd, const sockaddr* addr, socklen_t length, const std::string& name,
                 std::chrono::steady_clock::time_point deadline) {
  if (::connect(fd, addr, length) == 0) return Ok();
  if (errno != EINPROGRESS && errno != EAGAIN) {
    int err = errno;
    return Error(ErrorCode::kUnavailable, "connecting to " + name + ": " + std::strerror(err));
  }
  pollfd p{fd, POLLOUT, 0};
  while (true) {
    int n = ::poll(&p, 1, RemainingMs(deadline));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return ErrnoError("poll while connecting to " + name, errno);
    if (n == 0) return Error(ErrorCode::kTimeout, "connecting to " + name + ": timed out");
    break;
  }
  int err = 0;
  socklen_t err_len = sizeof(err);
  if (::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &err_len) != 0) {
    return ErrnoError("getsockopt(SO_ERROR) connecting to " + name, errno);
  }
  if (err != 0) return Error(ErrorCode::kUnavailable, "connecting to " + name + ": " + std::strerror(err));
  return Ok();
}

}  // namespace

Result<Target> Target::Parse(std::string_view text) {
  Target t;
  if (text.starts_with("unix:")) {
    std::string_view path = text.substr(5);
    if (path.starts_with("//")) path.remove_prefix(2);  // unix:///abs/path
    if (path.empty()) return Invalid(text, "empty unix socket path");
    if (path.size() >= sizeof(sockaddr_un::sun_path)) return Invalid(text, "unix socket path too long");
    t.kind = Kind::kUnix;
    t.path = std::string(path);
    return t;
  }
  std::string_view host;
  std::string_view port;
  if (text.starts_with("[")) {
    size_t close = text.find(']');
    if (close == std::string_view::npos || close + 1 >= text.size() || text[close + 1] != ':') {
      return Invalid(text, "expected [address]:port");
    }
    host = text.substr(1, close - 1);
    port = text.substr(close + 2);
  } else {
    size_t colon = text.rfind(':');
    if (colon == std::string_view::npos) return Invalid(text, "expected unix:/path or host:port");
    host = text.substr(0, colon);
    port = text.substr(colon + 1);
    if (host.find(':') != std::string_view::npos) return Invalid(text, "IPv6 address needs [brackets]");
  }
  if (host.empty()) return Invalid(text, "empty host");
  unsigned value = 0;
  auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
  if (port.empty() || ec != std::errc() || end != port.data() + port.size() || value == 0 || value > 65535) {
    return Invalid(text, "port must be 1..65535");
  }
  t.kind = Kind::kTcp;
  t.host = std::string(host);
  t.port = static_cast<std::uint16_t>(value);
  return t;
}

std::string Target::ToString() const {
  if (kind == Kind::kUnix) return "unix:" + path;
  return Authority();
}

std::string Target::Authority() const {
  if (kind == Kind::kUnix) return "localhost";
  if (host.find(':') != std::string::npos) return "[" + host + "]:" + std::to_string(port);
  return host + ":" + std::to_string(port);
}

Result<UniqueFd> Connect(const Target& target, std::chrono::steady_clock::time_point deadline) {
  const std::string name = target.ToString();
  if (target.kind == Target::Kind::kUnix) {
    UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
    if (!fd) return ErrnoError("socket(AF_UNIX) for " + name, errno);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::memcpy(addr.sun_path, target.path.data(), target.path.size());
    AMBIT_RETURN_IF_ERROR(
        ConnectFd(fd.get(), reinterpret_cast<const sockaddr*>(&addr), sizeof(addr), name, deadline));
    return fd;
  }
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_NUMERICSERV | AI_ADDRCONFIG;
  addrinfo* found = nullptr;
  int rc = ::getaddrinfo(target.host.c_str(), std::to_string(target.port).c_str(), &hints, &found);
  if (rc != 0) {
    return Error(ErrorCode::kUnavailable, "resolving " + name + ": " + ::gai_strerror(rc));
  }
  Error last(ErrorCode::kUnavailable, "resolving " + name + ": no address");
  for (addrinfo* a = found; a != nullptr; a = a->ai_next) {
    UniqueFd fd(::socket(a->ai_family, a->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, a->ai_protocol));
    if (!fd) {
      last = ErrnoError("socket for " + name, errno);
      continue;
    }
    Status connected = ConnectFd(fd.get(), a->ai_addr, a->ai_addrlen, name, deadline);
    if (!connected.ok()) {
      last = std::move(connected).error();
      continue;
    }
    int one = 1;
    ::setsockopt(fd.get(), IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    ::freeaddrinfo(found);
    return fd;
  }
  ::freeaddrinfo(found);
  return last;
}

}  // namespace ambit::rpc
