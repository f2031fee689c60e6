#include "ctl/netns_http.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>

#include <cerrno>
#include <chrono>
#include <cctype>
#include <charconv>
#include <optional>

#include "core/netns.h"
#include "core/unique_fd.h"

namespace ambit::ctl {
namespace {

using Clock = std::chrono::steady_clock;

int RemainingMs(Clock::time_point deadline) {
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
  return left > 0 ? static_cast<int>(left) : 0;
}

// Waits for |events| on |fd| until |deadline|; false on timeout.
Result<bool> Wait(int fd, short events, Clock::time_point deadline) {
  for (;;) {
    pollfd p{fd, events, 0};
    int rc = ::poll(&p, 1, RemainingMs(deadline));
    if (rc > 0) return true;
    if (rc == 0) return false;
    if (errno != EINTR) return ErrnoError("poll", errno);
  }
}

std::string Lower(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

}  // namespace

Result<HttpReply> ParseHttpReply(const std::string& raw) {
  const auto head_end = raw.find("\r\n\r\n");
  if (head_end == std::string::npos) {
    return Error(ErrorCode::kProtocol, "HTTP reply ends before the end of its headers (" +
                                           std::to_string(raw.size()) + " bytes)");
  }
  const auto line_end = raw.find("\r\n");
  const std::string status_line = raw.substr(0, line_end);
  if (status_line.rfind("HTTP/1.", 0) != 0 || status_line.size() < 12 || status_line[8] != ' ') {
    return Error(ErrorCode::kProtocol, "not an HTTP/1.x status line: '" + status_line.substr(0, 80) + "'");
  }
  HttpReply reply;
  const char* first = status_line.data() + 9;
  auto [ptr, ec] = std::from_chars(first, first + 3, reply.status);
  if (ec != std::errc() || ptr != first + 3 || reply.status < 100 || reply.status > 599) {
    return Error(ErrorCode::kProtocol, "bad status code in '" + status_line.substr(0, 80) + "'");
  }
  std::size_t content_length = std::string::npos;
  std::size_t pos = line_end + 2;
  while (pos < head_end) {
    std::size_t eol = raw.find("\r\n", pos);
    const std::string line = raw.substr(pos, eol - pos);
    pos = eol + 2;
    const auto colon = line.find(':');
    if (colon == std::string::npos) {
      return Error(ErrorCode::kProtocol, "malformed header line '" + line.substr(0, 80) + "'");
    }
    const std::string name = Lower(line.substr(0, colon));
    std::string value = line.substr(colon + 1);
    while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) value.erase(0, 1);
    if (name == "content-length") {
      std::size_t n = 0;
      auto [p, e] = std::from_chars(value.data(), value.data() + value.size(), n);
      if (e != std::errc() || p != value.data() + value.size()) {
        return Error(ErrorCode::kProtocol, "bad Content-Length '" + value + "'");
      }
      content_length = n;
    } else if (name == "transfer-encoding" && Lower(value) != "identity") {
      return Error(ErrorCode::kProtocol, "unsupported Transfer-Encoding '" + value + "'");
    }
  }
  reply.body = raw.substr(head_end + 4);
  if (content_length != std::string::npos) {
    if (reply.body.size() < content_length) {
      return Error(ErrorCode::kProtocol, "HTTP body truncated: " + std::to_string(reply.body.size()) +
                                             " of " + std::to_string(content_length) + " bytes");
    }
    reply.body.resize(content_length);
  }
  return reply;
}

Result<HttpReply> HttpGetInNetns(const std::string& netns_path, const std::string& ip, int port,
                                 const std::string& path, int timeout_ms) {
  const auto deadline = Clock::now() + std::chrono::milliseconds(timeout_ms);
  const std::string where = "http://" + ip + ":" + std::to_string(port) + path +
                            (netns_path.empty() ? "" : " in " + netns_path);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  if (::inet_pton(AF_INET, ip.c_str(), &addr.sin_addr) != 1) {
    return Error(ErrorCode::kInvalidArgument, "not an IPv4 address: '" + ip + "'");
  }
  UniqueFd fd;
  {
    std::optional<NetnsGuard> guard;
    if (!netns_path.empty()) {
      auto g = NetnsGuard::Enter(netns_path);
      if (!g.ok()) return std::move(g).error().WithContext("entering " + netns_path);
      guard.emplace(std::move(*g));
    }
    fd.reset(::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
    if (!fd) return ErrnoError("socket in " + netns_path, errno);
  }
  if (::connect(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    if (errno != EINPROGRESS) return ErrnoError("connecting to " + where, errno);
    AMBIT_ASSIGN_OR_RETURN(bool ready, Wait(fd.get(), POLLOUT, deadline));
    if (!ready) return Error(ErrorCode::kTimeout, "connecting to " + where + ": timed out");
    int err = 0;
    socklen_t len = sizeof(err);
    ::getsockopt(fd.get(), SOL_SOCKET, SO_ERROR, &err, &len);
    if (err != 0) return ErrnoError("connecting to " + where, err);
  }
  const std::string request = "GET " + path + " HTTP/1.1\r\nHost: " + ip + ":" + std::to_string(port) +
                              "\r\nAccept: */*\r\nConnection: close\r\n\r\n";
  std::size_t sent = 0;
  while (sent < request.size()) {
    ssize_t n = ::send(fd.get(), request.data() + sent, request.size() - sent, MSG_NOSIGNAL);
    if (n > 0) {
      sent += static_cast<std::size_t>(n);
    } else if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
      AMBIT_ASSIGN_OR_RETURN(bool ready, Wait(fd.get(), POLLOUT, deadline));
      if (!ready) return Error(ErrorCode::kTimeout, "sending to " + where + ": timed out");
    } else {
      return ErrnoError("sending to " + where, errno);
    }
  }
  std::string raw;
  char buf[16384];
  for (;;) {
    ssize_t n = ::recv(fd.get(), buf, sizeof(buf), 0);
    if (n > 0) {
      raw.append(buf, static_cast<std::size_t>(n));
      // Done once a Content-Length body is complete (the server may keep the connection).
      auto reply = ParseHttpReply(raw);
      if (reply.ok() && raw.find("\r\n\r\n") != std::string::npos &&
          Lower(raw.substr(0, raw.find("\r\n\r\n"))).find("content-length:") != std::string::npos) {
        return reply;
      }
    } else if (n == 0) {
      break;
    } else if (errno == EAGAIN || errno == EINTR) {
      AMBIT_ASSIGN_OR_RETURN(bool ready, Wait(fd.get(), POLLIN, deadline));
      if (!ready) return Error(ErrorCode::kTimeout, "reading from " + where + ": timed out");
    } else {
      return ErrnoError("reading from " + where, errno);
    }
  }
  auto reply = ParseHttpReply(raw);
  if (!reply.ok()) return std::move(reply).error().WithContext("reply of " + where);
  return reply;
}

}  // namespace ambit::ctl
