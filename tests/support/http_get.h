// A blocking HTTP/1.1 client for tests: one request, reads until the server
// closes. Returns the status code and the body.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <string>

#include "core/result.h"
#include "net/socket_address.h"

namespace ambit::testing {

struct HttpReply {
  int status = 0;
  std::string body;
};

inline Result<HttpReply> HttpCall(const net::SocketAddress& addr, const std::string& method,
                                  const std::string& path, const std::string& body = "") {
  int fd = ::socket(addr.family(), SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return ErrnoError("socket", errno);
  sockaddr_storage ss{};
  socklen_t len = addr.ToSockaddr(&ss);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&ss), len) != 0) {
    int err = errno;
    ::close(fd);
    return ErrnoError("connect " + addr.ToString(), err);
  }
  std::string req = method + " " + path + " HTTP/1.1\r\nHost: test\r\nContent-Length: " +
                    std::to_string(body.size()) + "\r\n\r\n" + body;
  if (::send(fd, req.data(), req.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(req.size())) {
    ::close(fd);
    return Error(ErrorCode::kIo, "short send");
  }
  std::string resp;
  char buf[4096];
  while (true) {
    ssize_t n = ::recv(fd, buf, sizeof(buf), 0);
    if (n <= 0) break;
    resp.append(buf, static_cast<std::size_t>(n));
  }
  ::close(fd);
  HttpReply reply;
  if (resp.rfind("HTTP/1.1 ", 0) != 0) return Error(ErrorCode::kProtocol, "bad reply: " + resp);
  reply.status = std::stoi(resp.substr(9, 3));
  auto pos = resp.find("\r\n\r\n");
  if (pos != std::string::npos) reply.body = resp.substr(pos + 4);
  return reply;
}

inline Result<HttpReply> HttpGet(const net::SocketAddress& addr, const std::string& path) {
  return HttpCall(addr, "GET", path);
}

}  // namespace ambit::testing
