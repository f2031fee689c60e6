#include "node/http_server.h"

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/read.hpp>
#include <asio/read_until.hpp>
#include <asio/redirect_error.hpp>
#include <asio/buffers_iterator.hpp>
#include <asio/steady_timer.hpp>
#include <asio/streambuf.hpp>
#include <asio/use_awaitable.hpp>
#include <asio/write.hpp>

#include <algorithm>
#include <cctype>
#include <chrono>

#include "core/log.h"
#include "net/socket_factory.h"
#include "net/socket_options.h"

namespace ambit::node {
namespace {

constexpr std::size_t kMaxHead = 16 * 1024;
constexpr std::size_t kMaxBody = 64 * 1024;
constexpr auto kRequestTimeout = std::chrono::seconds(10);

std::string Lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  return s;
}

std::string Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) s.remove_suffix(1);
  return std::string(s);
}

// Parses the request line and headers (without the final blank line).
Result<HttpRequest> ParseHead(std::string_view head) {
  HttpRequest req;
  auto line_end = head.find("\r\n");
  std::string_view line = head.substr(0, line_end);
  auto sp1 = line.find(' ');
  auto sp2 = sp1 == std::string_view::npos ? sp1 : line.find(' ', sp1 + 1);
  if (sp1 == std::string_view::npos || sp2 == std::string_view::npos) {
    return Error(ErrorCode::kProtocol, "malformed request line");
  }
  req.method = std::string(line.substr(0, sp1));
  std::string_view target = line.substr(sp1 + 1, sp2 - sp1 - 1);
  if (line.substr(sp2 + 1).rfind("HTTP/1.", 0) != 0) {
    return Error(ErrorCode::kProtocol, "not an HTTP/1.x request");
  }
  auto q = target.find('?');
  req.path = std::string(target.substr(0, q));
  if (q != std::string_view::npos) req.query = std::string(target.substr(q + 1));
  std::string_view rest =
      line_end == std::string_view::npos ? std::string_view() : head.substr(line_end + 2);
  while (!rest.empty()) {
    auto end = rest.find("\r\n");
    std::string_view h = rest.substr(0, end);
    rest = end == std::string_view::npos ? std::string_view() : rest.substr(end + 2);
    if (h.empty()) continue;
    auto colon = h.find(':');
    if (colon == std::string_view::npos) return Error(ErrorCode::kProtocol, "malformed header");
    req.headers[Lower(std::string(h.substr(0, colon)))] = Trim(h.substr(colon + 1));
  }
  return req;
}

std::string Serialize(const HttpResponse& resp) {
  std::string out = "HTTP/1.1 " + std::to_string(resp.status) + " " + HttpReason(resp.status) +
                    "\r\nContent-Type: " + resp.content_type +
                    "\r\nContent-Length: " + std::to_string(resp.body.size()) +
                    "\r\nConnection: close\r\n\r\n";
  out += resp.body;
  return out;
}

}  // namespace

struct HttpServer::Impl {
  Impl(asio::ip::tcp::acceptor a, HttpRoutes r) : acceptor(std::move(a)), routes(std::move(r)) {}
  asio::ip::tcp::acceptor acceptor;
  HttpRoutes routes;

  HttpResponse Dispatch(const HttpRequest& req) const {
    auto it = routes.find(req.path);
    if (it == routes.end()) return HttpResponse::Text(404, "not found: " + req.path + "\n");
    return it->second(req);
  }
};

namespace {

asio::awaitable<void> Serve(std::shared_ptr<HttpServer> server, HttpServer::Impl* impl,
                            asio::ip::tcp::socket socket) {
  asio::steady_timer deadline(socket.get_executor());
  deadline.expires_after(kRequestTimeout);
  deadline.async_wait([&socket](asio::error_code ec) {
    if (!ec) {
      asio::error_code ignored;
      socket.close(ignored);
    }
  });
  HttpResponse response;
  try {
    asio::streambuf buf(kMaxHead + kMaxBody);
    std::size_t head_len =
        co_await asio::async_read_until(socket, buf, "\r\n\r\n", asio::use_awaitable);
    std::string data(asio::buffers_begin(buf.data()), asio::buffers_end(buf.data()));
    std::string head = data.substr(0, head_len - 2);
    Result<HttpRequest> req = ParseHead(head);
    if (!req.ok()) {
      response = HttpResponse::Text(400, req.error().ToString() + "\n");
    } else {
      std::size_t body_len = 0;
      if (auto it = req->headers.find("content-length"); it != req->headers.end()) {
        body_len = std::strtoull(it->second.c_str(), nullptr, 10);
      }
      if (body_len > kMaxBody) {
        response = HttpResponse::Text(413, "request body too large\n");
      } else {
        std::string body = data.substr(head_len);
        if (body.size() < body_len) {
          buf.consume(buf.size());
          std::string more(body_len - body.size(), '\0');
          co_await asio::async_read(socket, asio::buffer(more), asio::use_awaitable);
          body += more;
        }
        body.resize(std::min(body.size(), body_len));
        req->body = std::move(body);
        response = impl->Dispatch(*req);
      }
    }
  } catch (const std::exception& e) {
    // Timeout, a peer that went away, or a head over the size limit.
    if (socket.is_open()) {
      response = HttpResponse::Text(400, "bad request\n");
    } else {
      co_return;
    }
  }
  std::string out = Serialize(response);
  asio::error_code ec;
  co_await asio::async_write(socket, asio::buffer(out),
                             asio::redirect_error(asio::use_awaitable, ec));
  socket.shutdown(asio::ip::tcp::socket::shutdown_send, ec);
  socket.close(ec);
  deadline.cancel();
  (void)server;
}

asio::awaitable<void> AcceptLoop(std::shared_ptr<HttpServer> server, HttpServer::Impl* impl) {
  while (true) {
    asio::error_code ec;
    asio::ip::tcp::socket socket =
        co_await impl->acceptor.async_accept(asio::redirect_error(asio::use_awaitable, ec));
    if (ec == asio::error::operation_aborted || !impl->acceptor.is_open()) co_return;
    if (ec) {
      AMBIT_LOG_WARN("admin accept failed: {}", ec.message());
      continue;
    }
    asio::co_spawn(impl->acceptor.get_executor(), Serve(server, impl, std::move(socket)),
                   asio::detached);
  }
}

}  // namespace

HttpResponse HttpResponse::Text(int status, std::string body) {
  HttpResponse r;
  r.status = status;
  r.body = std::move(body);
  return r;
}

HttpResponse HttpResponse::Json(std::string body) {
  HttpResponse r;
  r.content_type = "application/json";
  r.body = std::move(body);
  return r;
}

HttpServer::HttpServer(std::unique_ptr<Impl> impl, net::SocketAddress local)
    : impl_(std::move(impl)), local_(local) {}

HttpServer::~HttpServer() = default;

Result<std::shared_ptr<HttpServer>> HttpServer::Start(ServiceLoop& loop,
                                                      const net::SocketAddress& addr,
                                                      HttpRoutes routes) {
  net::DefaultSocketFactory factory;
  net::ListenOptions listen;
  listen.reuse_port = false;
  listen.backlog = 64;
  AMBIT_ASSIGN_OR_RETURN(UniqueFd fd, factory.NewListener(addr, listen));
  AMBIT_ASSIGN_OR_RETURN(net::SocketAddress local, net::LocalAddress(fd.get()));
  asio::ip::tcp::acceptor acceptor(loop.context());
  asio::error_code ec;
  acceptor.assign(addr.family() == AF_INET ? asio::ip::tcp::v4() : asio::ip::tcp::v6(), fd.get(),
                  ec);
  if (ec) return Error(ErrorCode::kIo, "adopting listener " + local.ToString() + ": " + ec.message());
  fd.release();
  auto server = std::make_shared<HttpServer>(
      std::make_unique<Impl>(std::move(acceptor), std::move(routes)), local);
  asio::co_spawn(loop.context(), AcceptLoop(server, server->impl_.get()), asio::detached);
  return server;
}

void HttpServer::Close() {
  asio::post(impl_->acceptor.get_executor(), [self = shared_from_this()] {
    asio::error_code ec;
    self->impl_->acceptor.close(ec);
  });
}

const char* HttpReason(int status) {
  switch (status) {
    case 200: return "OK";
    case 204: return "No Content";
    case 400: return "Bad Request";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 413: return "Payload Too Large";
    case 500: return "Internal Server Error";
    case 503: return "Service Unavailable";
    default: return "Unknown";
  }
}

}  // namespace ambit::node
