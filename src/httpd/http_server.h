// HttpServer: a small HTTP/1.1 server for admin, metrics and readiness.
//
// One request per connection (the response carries "Connection: close"),
// request head up to 16 KiB, request bodies up to 64 KiB (read and handed to
// the handler), 10 s to send the request. Requests are parsed by
// ParseHttpRequest (http_request.h); a malformed one is answered with its
// status (400, 413, 431, 501) and a body naming what is wrong, and reaches no
// handler. Routes match the path exactly (query string split off); anything
// else is 404. Handlers run on the ServiceLoop thread and must not block for
// long.
//
// Thread-safety: Start and Close may be called from any thread.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <string>

#include "core/result.h"
#include "net/socket_address.h"
#include "httpd/http_request.h"
#include "httpd/service_loop.h"

namespace ambit::httpd {

struct HttpResponse {
  int status = 200;
  std::string content_type = "text/plain; charset=utf-8";
  std::string body;
  // Runs on the server's loop once the response has been written and the
  // connection closed (also when the write failed): for a handler whose
  // action must not race its own answer, e.g. POST /quitquitquit stopping the
  // process. Not run when the server's loop stops first.
  std::function<void()> after_sent;

  static HttpResponse Text(int status, std::string body);
  static HttpResponse Json(std::string body);
};

using HttpHandler = std::function<HttpResponse(const HttpRequest&)>;
using HttpRoutes = std::map<std::string, HttpHandler>;

class HttpServer : public std::enable_shared_from_this<HttpServer> {
 public:
  // Binds |addr| (port 0 picks one) in the calling thread's network namespace
  // and serves |routes| on |loop|.
  static Result<std::shared_ptr<HttpServer>> Start(ServiceLoop& loop, const net::SocketAddress& addr,
                                                   HttpRoutes routes);
  ~HttpServer();

  const net::SocketAddress& local_address() const { return local_; }
  // Stops accepting; requests being served finish. Idempotent.
  void Close();

  struct Impl;
  HttpServer(std::unique_ptr<Impl> impl, net::SocketAddress local);

 private:
  std::unique_ptr<Impl> impl_;
  net::SocketAddress local_;
};

// The reason phrase for |status| ("OK", "Not Found", ...).
const char* HttpReason(int status);

}  // namespace ambit::httpd
