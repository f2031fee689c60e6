// TCP_INFO byte counters (Linux 4.1+, tcpi_bytes_acked / tcpi_bytes_received,
// RFC 4898). Its own file: <linux/tcp.h> clashes with <netinet/tcp.h>.
#include <linux/tcp.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <cstdint>
#include <optional>
#include <utility>

namespace ambit::node {

std::optional<std::pair<std::uint64_t, std::uint64_t>> TcpBytes(int fd) {
  if (fd < 0) return std::nullopt;
  struct tcp_info info {};
  socklen_t len = sizeof(info);
  if (::getsockopt(fd, IPPROTO_TCP, TCP_INFO, &info, &len) != 0) return std::nullopt;
  if (len < offsetof(struct tcp_info, tcpi_bytes_received) + sizeof(info.tcpi_bytes_received)) {
    return std::nullopt;
  }
  return std::make_pair(static_cast<std::uint64_t>(info.tcpi_bytes_received),
                        static_cast<std::uint64_t>(info.tcpi_bytes_acked));
}

}  // namespace ambit::node
