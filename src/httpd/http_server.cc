#include "httpd/http_server.h"

#include <asio/io_context.hpp>
#include <asio/post.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/redirect_error.hpp>
#include <asio/use_awaitable.hpp>
#include <asio/write.hpp>

#include <array>
#include <chrono>
#include <variant>

#include "core/log.h"
#include "net/socket_factory.h"
#include "net/socket_options.h"
#include "net/task_group.h"
#include "net/with_timeout.h"

namespace ambit::httpd {
namespace {

constexpr auto kRequestTimeout = std::chrono::seconds(10);

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
  Impl(asio::ip::tcp::acceptor a, HttpRoutes r)
      : acceptor(std::move(a)), routes(std::move(r)), tasks(acceptor.get_executor()) {}
  asio::ip::tcp::acceptor acceptor;
  HttpRoutes routes;
  // The accept loop and every request being served, on the server's loop:
  // Close() ends the accept loop; requests finish. Each holds the server, so
  // they end first.
  net::TaskGroup tasks;

  HttpResponse Dispatch(const HttpRequest& req) const {
    auto it = routes.find(req.path);
    if (it == routes.end()) return HttpResponse::Text(404, "not found: " + req.path + "\n");
    return it->second(req);
  }
};

namespace {

// Reads until the bytes so far are a whole request or a malformed one
// (ParseHttpRequest bounds how much is read: head and body limits) and
// returns the response; an error if the connection failed first.
asio::awaitable<Result<HttpResponse>> ReadAndDispatch(HttpServer::Impl* impl,
                                                      asio::ip::tcp::socket& socket) {
  std::string data;
  std::array<char, 4096> chunk;
  while (true) {
    HttpParseResult parsed = ParseHttpRequest(data);
    if (auto* request = std::get_if<HttpParsed>(&parsed)) co_return impl->Dispatch(request->request);
    if (auto* error = std::get_if<HttpParseError>(&parsed)) {
      co_return HttpResponse::Text(error->status, error->message + "\n");
    }
    asio::error_code ec;
    const std::size_t n = co_await socket.async_read_some(
        asio::buffer(chunk), asio::redirect_error(asio::use_awaitable, ec));
    if (ec == asio::error::operation_aborted) co_return Error(ErrorCode::kUnavailable, "cancelled");
    // The peer ended (or reset) before a whole request arrived.
    if (ec) co_return HttpResponse::Text(400, "incomplete request\n");
    data.append(chunk.data(), n);
  }
}

asio::awaitable<void> Serve(std::shared_ptr<HttpServer> server, HttpServer::Impl* impl,
                            asio::ip::tcp::socket socket) {
  // |socket| stays in this frame: WithTimeout returns only once the read has
  // ended. On timeout nothing is answered and the socket closes.
  asio::awaitable<Result<HttpResponse>> reading = ReadAndDispatch(impl, socket);
  Result<HttpResponse> response = co_await net::WithTimeout(std::move(reading), kRequestTimeout);
  if (!response.ok()) co_return;
  std::string out = Serialize(*response);
  asio::error_code ec;
  co_await asio::async_write(socket, asio::buffer(out),
                             asio::redirect_error(asio::use_awaitable, ec));
  socket.shutdown(asio::ip::tcp::socket::shutdown_send, ec);
  socket.close(ec);
  if (response->after_sent) response->after_sent();
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
    asio::awaitable<void> serve = Serve(server, impl, std::move(socket));
    impl->tasks.Spawn(std::move(serve));
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
  // The task group belongs to the service loop: spawn there.
  asio::post(loop.context(), [server] {
    asio::awaitable<void> accept = AcceptLoop(server, server->impl_.get());
    server->impl_->tasks.Spawn(std::move(accept));
  });
  return server;
}

void HttpServer::Close() {
  asio::post(impl_->acceptor.get_executor(), [self = shared_from_this()] {
    asio::error_code ec;
    // Only the accept loop ends: requests in progress finish (each within
    // its request deadline), so a handler that stops the process -- POST
    // /quitquitquit -- still gets its answer written. Whatever is left when
    // the service loop stops is destroyed with it.
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
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 501: return "Not Implemented";
    case 503: return "Service Unavailable";
    default: return "Unknown";
  }
}

}  // namespace ambit::httpd
