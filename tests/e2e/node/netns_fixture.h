// Helpers for node e2e tests: uniquely named network namespaces (deleted on
// destruction), sockets made inside them, an echo server, a blocking client.
// Test-only; each helper fails soft (invalid fd / ok() false) so the test can
// assert with a message.
#pragma once

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <memory>
#include <mutex>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "core/netns.h"
#include "core/result.h"
#include "core/unique_fd.h"
#include "redirect/netns_exec.h"

namespace ambit::node::e2e {

using redirect::RunInNetns;

inline std::string Suffix() {
  std::random_device rd;
  return std::to_string(::getpid()) + "-" + std::to_string(rd() % 100000);
}

// A named netns deleted on destruction.
class NamedNetns {
 public:
  explicit NamedNetns(std::string name) : name_(std::move(name)) {
    auto added = RunInNetns(-1, {"ip", "netns", "add", name_});
    if (!added.ok() || added->exit_code != 0) return;
    created_ = true;
    auto ns = Netns::Open("/run/netns/" + name_);
    if (ns.ok()) netns_ = std::make_shared<Netns>(std::move(*ns));
  }
  ~NamedNetns() {
    if (created_) (void)RunInNetns(-1, {"ip", "netns", "del", name_});
  }
  bool ok() const { return netns_ != nullptr; }
  const Netns& netns() const { return *netns_; }
  const std::string& name() const { return name_; }
  // A fresh fd for the namespace, as the node agent would pass it.
  UniqueFd Dup() const { return UniqueFd(::fcntl(netns_->fd(), F_DUPFD_CLOEXEC, 0)); }

  Status Sh(const std::string& cmd) const {
    auto out = RunInNetns(netns_->fd(), {"sh", "-c", cmd});
    if (!out.ok()) return std::move(out).error();
    if (out->exit_code != 0) return Error(ErrorCode::kIo, cmd + ": " + out->err);
    return Ok();
  }

 private:
  std::string name_;
  bool created_ = false;
  std::shared_ptr<Netns> netns_;
};

inline UniqueFd TcpSocketIn(const Netns& ns) {
  auto guard = NetnsGuard::Enter(ns);
  if (!guard.ok()) return UniqueFd();
  return UniqueFd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
}

inline sockaddr_in Sin(const char* ip, std::uint16_t port) {
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_port = htons(port);
  ::inet_pton(AF_INET, ip, &sa.sin_addr);
  return sa;
}

// An echo server inside a namespace: every connection gets its bytes back;
// records the client addresses it saw.
class EchoServer {
 public:
  EchoServer(const Netns& ns, const char* ip, std::uint16_t port) {
    fd_ = TcpSocketIn(ns);
    int one = 1;
    ::setsockopt(fd_.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    sockaddr_in sa = Sin(ip, port);
    ok_ = ::bind(fd_.get(), reinterpret_cast<sockaddr*>(&sa), sizeof(sa)) == 0 &&
          ::listen(fd_.get(), 512) == 0;
    if (ok_) thread_ = std::thread([this] { Run(); });
  }
  ~EchoServer() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
    for (auto& t : workers_) t.join();
  }
  bool ok() const { return ok_; }
  std::set<std::string> peers() {
    std::lock_guard lock(mu_);
    return peers_;
  }

 private:
  void Run() {
    while (!stop_) {
      pollfd p{fd_.get(), POLLIN, 0};
      if (::poll(&p, 1, 50) <= 0) continue;
      sockaddr_in peer{};
      socklen_t len = sizeof(peer);
      int c = ::accept4(fd_.get(), reinterpret_cast<sockaddr*>(&peer), &len, SOCK_CLOEXEC);
      if (c < 0) continue;
      char buf[INET_ADDRSTRLEN];
      ::inet_ntop(AF_INET, &peer.sin_addr, buf, sizeof(buf));
      {
        std::lock_guard lock(mu_);
        peers_.insert(buf);
      }
      workers_.emplace_back([c] {
        std::vector<char> data(64 * 1024);
        while (true) {
          ssize_t n = ::recv(c, data.data(), data.size(), 0);
          if (n <= 0) break;
          ssize_t off = 0;
          while (off < n) {
            ssize_t w = ::send(c, data.data() + off, static_cast<std::size_t>(n - off), MSG_NOSIGNAL);
            if (w <= 0) break;
            off += w;
          }
        }
        ::shutdown(c, SHUT_WR);
        ::close(c);
      });
    }
  }

  UniqueFd fd_;
  bool ok_ = false;
  std::atomic<bool> stop_{false};
  std::thread thread_;
  std::vector<std::thread> workers_;
  std::mutex mu_;
  std::set<std::string> peers_;
};

// Connects from inside |ns| (an app socket: no mark, so it is captured).
inline UniqueFd ConnectFrom(const Netns& ns, const char* ip, std::uint16_t port) {
  UniqueFd fd = TcpSocketIn(ns);
  timeval tv{10, 0};
  ::setsockopt(fd.get(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  ::setsockopt(fd.get(), SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
  sockaddr_in sa = Sin(ip, port);
  if (::connect(fd.get(), reinterpret_cast<sockaddr*>(&sa), sizeof(sa)) != 0) return UniqueFd();
  return fd;
}

// Sends |payload| on |fd|, half-closes, reads everything back.
inline std::string RoundTrip(int fd, const std::string& payload) {
  std::string got;
  std::thread writer([&] {
    std::size_t off = 0;
    while (off < payload.size()) {
      ssize_t n = ::send(fd, payload.data() + off, payload.size() - off, MSG_NOSIGNAL);
      if (n <= 0) break;
      off += static_cast<std::size_t>(n);
    }
    ::shutdown(fd, SHUT_WR);
  });
  std::vector<char> buf(64 * 1024);
  while (true) {
    ssize_t n = ::recv(fd, buf.data(), buf.size(), 0);
    if (n <= 0) break;
    got.append(buf.data(), static_cast<std::size_t>(n));
  }
  writer.join();
  return got;
}

inline std::string RandomBytes(std::size_t n) {
  std::mt19937 rng(42);
  std::string s(n, '\0');
  for (auto& c : s) c = static_cast<char>(rng());
  return s;
}


// Joins |a| and |b| with a veth pair: |a| gets |ip_a|/24, |b| gets every
// address of |ips_b| (/24); both get lo up and a default route on the veth.
inline Status LinkPods(const NamedNetns& a, const std::string& ip_a, const NamedNetns& b,
                       const std::vector<std::string>& ips_b) {
  AMBIT_RETURN_IF_ERROR(a.Sh("ip link set lo up && ip link add veth-a type veth peer name veth-b netns " +
                             b.name() + " && ip addr add " + ip_a +
                             "/24 dev veth-a && ip link set veth-a up && ip route add default dev veth-a"));
  std::string cmd = "ip link set lo up";
  for (const auto& ip : ips_b) cmd += " && ip addr add " + ip + "/24 dev veth-b";
  cmd += " && ip link set veth-b up && ip route add default dev veth-b";
  return b.Sh(cmd);
}

}  // namespace ambit::node::e2e
