#include "net/tcp_listeners.h"

#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/sock_diag.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/time.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <string>

#include "core/unique_fd.h"

namespace ambit::net {
namespace {

Error DiagError(const Netns& netns, const std::string& step, int err) {
  return Error(ErrorCode::kIo, "TCP listener query in " + netns.path() + ": " + step + ": " + std::strerror(err));
}

// A socket-diagnostics socket that belongs to |netns| (a netlink socket answers
// for the namespace it was created in, whichever thread later uses it).
Result<UniqueFd> DiagSocket(const Netns& netns) {
  AMBIT_ASSIGN_OR_RETURN(NetnsGuard guard, NetnsGuard::Enter(netns));
  UniqueFd fd(::socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_SOCK_DIAG));
  if (!fd.valid()) return DiagError(netns, "socket(NETLINK_SOCK_DIAG)", errno);
  // The dump is answered in the kernel, synchronously; the timeout only guards
  // against a reply that never comes.
  timeval timeout{2, 0};
  if (::setsockopt(fd.get(), SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout) != 0) {
    return DiagError(netns, "SO_RCVTIMEO", errno);
  }
  return fd;
}

// Dumps the LISTEN sockets of |family| and reports whether one is on |port|.
// A family the kernel has no diagnostics module for (ENOENT) has no listeners.
Result<bool> FamilyListens(const Netns& netns, int fd, std::uint8_t family, std::uint16_t port,
                           std::uint32_t seq) {
  struct {
    nlmsghdr header;
    inet_diag_req_v2 request;
  } message{};
  message.header.nlmsg_len = sizeof message;
  message.header.nlmsg_type = SOCK_DIAG_BY_FAMILY;
  message.header.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
  message.header.nlmsg_seq = seq;
  message.request.sdiag_family = family;
  message.request.sdiag_protocol = IPPROTO_TCP;
  message.request.idiag_states = 1u << TCP_LISTEN;
  sockaddr_nl kernel{};
  kernel.nl_family = AF_NETLINK;
  if (::sendto(fd, &message, sizeof message, 0, reinterpret_cast<sockaddr*>(&kernel), sizeof kernel) < 0) {
    return DiagError(netns, "sending the dump request", errno);
  }
  alignas(nlmsghdr) char buffer[16384];
  for (;;) {
    ssize_t n = ::recv(fd, buffer, sizeof buffer, 0);
    if (n < 0) {
      if (errno == EINTR) continue;
      return DiagError(netns, "reading the dump", errno);
    }
    if (n == 0) return DiagError(netns, "reading the dump", EPIPE);
    // Walks the messages as NLMSG_OK/NLMSG_NEXT do, copying each header and
    // payload out (no casts of the byte buffer to kernel structs).
    size_t left = static_cast<size_t>(n);
    for (const char* p = buffer; left >= sizeof(nlmsghdr);) {
      nlmsghdr h;
      std::memcpy(&h, p, sizeof h);
      if (h.nlmsg_len < sizeof h || h.nlmsg_len > left) break;
      const char* payload = p + NLMSG_HDRLEN;
      const size_t payload_len = h.nlmsg_len - NLMSG_HDRLEN;
      const size_t step = std::min<size_t>(NLMSG_ALIGN(h.nlmsg_len), left);
      p += step;
      left -= step;
      if (h.nlmsg_seq != seq) continue;  // not ours (cannot happen on a fresh socket)
      if (h.nlmsg_type == NLMSG_DONE) return false;
      if (h.nlmsg_type == NLMSG_ERROR) {
        nlmsgerr e{};
        if (payload_len < sizeof e) return DiagError(netns, "kernel answer", EPROTO);
        std::memcpy(&e, payload, sizeof e);
        if (e.error == -ENOENT) return false;
        return DiagError(netns, "kernel answer", -e.error);
      }
      if (h.nlmsg_type != SOCK_DIAG_BY_FAMILY || payload_len < sizeof(inet_diag_msg)) continue;
      inet_diag_msg s;
      std::memcpy(&s, payload, sizeof s);
      if (s.idiag_state == TCP_LISTEN && ntohs(s.id.idiag_sport) == port) return true;
    }
  }
}

}  // namespace

Result<bool> TcpPortListening(const Netns& netns, std::uint16_t port) {
  AMBIT_ASSIGN_OR_RETURN(UniqueFd fd, DiagSocket(netns));
  std::uint32_t seq = 1;
  for (std::uint8_t family : {std::uint8_t{AF_INET}, std::uint8_t{AF_INET6}}) {
    // A dump that found nothing was read to its end, so the socket is free for
    // the next one; one that found the port stops here (the rest is dropped
    // with the socket).
    AMBIT_ASSIGN_OR_RETURN(bool found, FamilyListens(netns, fd.get(), family, port, seq++));
    if (found) return true;
  }
  return false;
}

}  // namespace ambit::net
