#include "waypoint/http_proxy.h"

#include <array>
#include <deque>
#include <random>
#include <span>

#include "core/log.h"
#include "h2/stream_byte_stream.h"
#include "hbone/connect_headers.h"
#include "http1/writer.h"
#include "net/byte_stream.h"
#include "net/connect.h"
#include "waypoint/stream_copy.h"

namespace ambit::waypoint {
namespace {

constexpr std::size_t kReadBuffer = 16 * 1024;
constexpr std::string_view kH2Preface = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

// One parser callback, kept until the proxy loop gets to it (the parser
// calls back synchronously inside Feed; the proxy writes asynchronously).
struct Event {
  enum class Kind { kRequest, kResponse, kBody, kTrailers, kEnd };
  Kind kind = Kind::kEnd;
  h2::RequestHead request;
  h2::ResponseHead response;
  http1::MessageInfo info;
  std::string bytes;  // kBody: a copy (the parser's views die with the callback)
  h2::Headers trailers;
};

class EventQueue final : public http1::Sink {
 public:
  void OnRequest(h2::RequestHead head, const http1::MessageInfo& info) override {
    Event e;
    e.kind = Event::Kind::kRequest;
    e.request = std::move(head);
    e.info = info;
    events.push_back(std::move(e));
  }
  void OnResponse(h2::ResponseHead head, const http1::MessageInfo& info) override {
    Event e;
    e.kind = Event::Kind::kResponse;
    e.response = std::move(head);
    e.info = info;
    events.push_back(std::move(e));
  }
  void OnBody(std::span<const std::uint8_t> bytes) override {
    if (!events.empty() && events.back().kind == Event::Kind::kBody) {
      events.back().bytes.append(reinterpret_cast<const char*>(bytes.data()), bytes.size());
      return;
    }
    Event e;
    e.kind = Event::Kind::kBody;
    e.bytes.assign(reinterpret_cast<const char*>(bytes.data()), bytes.size());
    events.push_back(std::move(e));
  }
  void OnTrailers(h2::Headers trailers) override {
    Event e;
    e.kind = Event::Kind::kTrailers;
    e.trailers = std::move(trailers);
    events.push_back(std::move(e));
  }
  void OnMessageEnd() override {
    Event e;
    e.kind = Event::Kind::kEnd;
    events.push_back(std::move(e));
  }

  std::deque<Event> events;
};

// The next parser event of |stream|, reading as needed.
struct Next {
  enum class State { kEvent, kEof, kIoError, kParseError };
  State state = State::kEof;
  Event event;
  std::string error;
};

// |pending|: bytes already read from |stream| (and counted), parsed first.
asio::awaitable<Next> ReadEvent(net::ByteStream& stream, http1::Parser& parser, EventQueue& queue,
                                std::vector<std::uint8_t>& buffer, std::uint64_t& bytes_read,
                                std::string& pending) {
  Next next;
  if (!pending.empty()) {
    Result<std::size_t> fed = parser.Feed(std::span<const std::uint8_t>(
        reinterpret_cast<const std::uint8_t*>(pending.data()), pending.size()));
    pending.clear();
    if (!fed.ok()) {
      next.state = Next::State::kParseError;
      next.error = fed.error().ToString();
      co_return next;
    }
  }
  while (queue.events.empty()) {
    if (parser.upgraded()) {
      next.state = Next::State::kParseError;
      next.error = "protocol upgrades are not proxied yet";
      co_return next;
    }
    net::MutableBytes out(buffer.data(), buffer.size());
    Result<std::size_t> n = co_await stream.ReadSome(out);
    if (!n.ok()) {
      next.state = Next::State::kIoError;
      next.error = n.error().ToString();
      co_return next;
    }
    if (*n == 0) {
      Status finished = parser.Finish();
      if (!finished.ok()) {
        next.state = Next::State::kIoError;
        next.error = finished.error().ToString();
        co_return next;
      }
      if (queue.events.empty()) co_return next;  // kEof
      break;
    }
    bytes_read += *n;
    Result<std::size_t> fed = parser.Feed(std::span<const std::uint8_t>(buffer.data(), *n));
    if (!fed.ok()) {
      next.state = Next::State::kParseError;
      next.error = fed.error().ToString();
      co_return next;
    }
  }
  next.state = Next::State::kEvent;
  next.event = std::move(queue.events.front());
  queue.events.pop_front();
  co_return next;
}

asio::awaitable<Status> Send(net::ByteStream& stream, const std::string& bytes,
                             std::uint64_t* counter = nullptr) {
  if (bytes.empty()) co_return Ok();
  const std::array<net::ConstBytes, 1> pieces{
      net::ConstBytes(reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size())};
  const std::span<const net::ConstBytes> span(pieces);
  Status st = co_await stream.Write(span);
  if (st.ok() && counter != nullptr) *counter += bytes.size();
  co_return st;
}

std::span<const std::uint8_t> AsBytes(const std::string& s) {
  return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}

std::string ReplyBytes(const LocalReply& reply, bool keep_alive) {
  h2::ResponseHead head{reply.status, reply.fields};
  if (!reply.body.empty()) head.fields.push_back({"content-type", "text/plain"});
  http1::Framing framing{http1::Framing::Kind::kContentLength, reply.body.size()};
  http1::HeadOptions options;
  options.keep_alive = keep_alive;
  std::string out;
  http1::AppendResponseHead(out, head, framing, options);
  out += reply.body;
  return out;
}

http1::Framing RequestFraming(const http1::MessageInfo& info) {
  if (info.content_length.has_value()) {
    return {http1::Framing::Kind::kContentLength, *info.content_length};
  }
  if (info.chunked) return {http1::Framing::Kind::kChunked, 0};
  return {http1::Framing::Kind::kNone, 0};
}

// How the answer is framed for the client: its length when the upstream
// gave one, no body where HTTP has none, chunked to an HTTP/1.1 client,
// otherwise until the connection closes (HTTP/1.0).
http1::Framing ResponseFraming(const h2::ResponseHead& head, const http1::MessageInfo& info,
                               bool head_request, int client_minor) {
  if (info.content_length.has_value()) {
    return {http1::Framing::Kind::kContentLength, *info.content_length};
  }
  if (head_request || head.status == 204 || head.status == 304) {
    return {http1::Framing::Kind::kNone, 0};
  }
  if (client_minor >= 1) return {http1::Framing::Kind::kChunked, 0};
  return {http1::Framing::Kind::kUntilClose, 0};
}

// The parser leaves Content-Length among the fields; the writer frames
// each message itself, so the received one is dropped first.
void DropContentLength(h2::Headers& fields) {
  std::erase_if(fields, [](const h2::Header& h) { return h.name == "content-length"; });
}

std::string Flags(std::string_view flag) { return flag.empty() ? "-" : std::string(flag); }

}  // namespace

std::shared_ptr<const route::RouteTable> RouteTables::Find(std::string_view service_host) const {
  std::shared_ptr<const Map> map = Snapshot();
  auto it = map->find(std::string(service_host));
  return it == map->end() ? nullptr : it->second;
}

struct HttpProxy::Upstream {
  std::string key;  // the endpoint: next hop + CONNECT target
  std::unique_ptr<net::ByteStream> stream;
  h2::StreamByteStream* tunnel = nullptr;  // when over HBONE
  EventQueue queue;
  http1::Parser parser{http1::Parser::Kind::kResponses, queue};
  std::vector<std::uint8_t> buffer = std::vector<std::uint8_t>(kReadBuffer);
  std::uint64_t bytes_read = 0;
  std::string pending;            // always empty: responses are read from the start
  bool server_keep_alive = true;  // the last response did not say Connection: close

  // Usable for another request: nothing unread, not ended by the peer.
  bool Reusable() const {
    if (!server_keep_alive || !queue.events.empty() || !parser.idle() || parser.upgraded()) {
      return false;
    }
    if (tunnel == nullptr) return false;  // plain TCP: not pooled (no cheap liveness check)
    const h2::Stream& s = tunnel->stream();
    return !s.reset() && !s.closed() && s.readable_bytes() == 0 && !s.read_finished();
  }
};

struct HttpProxy::Loop {
  std::unordered_map<std::string, std::vector<std::unique_ptr<Upstream>>> idle;
  LoopCounters counters;
  std::mt19937_64 rng{std::random_device{}()};
};

HttpProxy::HttpProxy(net::WorkerPool& workers,
                     std::shared_ptr<const hbone::DestinationLookup> lookup,
                     identity::SpiffeId identity, ClientTlsSource client_tls,
                     std::shared_ptr<const net::SocketFactory> sockets, hbone::PoolSet& pools,
                     const RouteTables& tables, Options options)
    : workers_(workers),
      lookup_(std::move(lookup)),
      identity_(std::move(identity)),
      client_tls_(std::move(client_tls)),
      sockets_(std::move(sockets)),
      pools_(pools),
      tables_(tables),
      options_(std::move(options)) {
  for (std::size_t i = 0; i < workers_.size(); ++i) loops_.push_back(std::make_unique<Loop>());
}

HttpProxy::~HttpProxy() = default;

HttpProxy::Loop& HttpProxy::Local() {
  const int index = net::WorkerPool::CurrentIndex();
  return *loops_[index < 0 ? 0 : static_cast<std::size_t>(index)];
}

const HttpProxy::LoopCounters& HttpProxy::counters(std::size_t loop) const {
  return loops_[loop]->counters;
}

void HttpProxy::DropIdleOnThisLoop() { Local().idle.clear(); }

hbone::RouteDecision HttpProxy::Resolve(const ForwardRequest& forward, const Tunnel& tunnel,
                                        std::uint64_t pick) const {
  std::optional<net::IpAddress> vip;
  if (forward.backend_host == tunnel.destination.service_host) {
    vip = tunnel.target.ip();
  } else if (options_.service_vip) {
    vip = options_.service_vip(forward.backend_host);
  }
  if (!vip.has_value()) {
    hbone::RouteDecision none;
    none.reason = "no service " + forward.backend_host + " with a VIP is known";
    return none;
  }
  hbone::RouteOptions route_options;
  route_options.hbone_port = options_.hbone_port;
  route_options.use_waypoints = false;  // the waypoint sends to endpoints itself
  hbone::RouteDecision route = hbone::DecideRoute(net::SocketAddress(*vip, forward.backend_port),
                                                  *lookup_, pick, route_options);
  if (route.kind != hbone::RouteDecision::Kind::kReject && !route.resolve_hostname.empty()) {
    hbone::RouteDecision none;
    none.reason = "endpoint " + route.resolve_hostname + " is known only by DNS name";
    return none;
  }
  return route;
}

asio::awaitable<Result<std::unique_ptr<HttpProxy::Upstream>>> HttpProxy::Acquire(
    const hbone::RouteDecision& route, const Tunnel& tunnel, bool fresh) {
  Loop& loop = Local();
  std::string key = route.next_hop.ToString() + " " + route.connect_target.ToString();
  if (auto it = loop.idle.find(key); !fresh && it != loop.idle.end()) {
    while (!it->second.empty()) {
      std::unique_ptr<Upstream> u = std::move(it->second.back());
      it->second.pop_back();
      if (u->Reusable()) {
        ++loop.counters.upstream_reused;
        co_return u;
      }
    }
  }
  auto upstream = std::make_unique<Upstream>();
  upstream->key = std::move(key);
  if (route.kind == hbone::RouteDecision::Kind::kPassthrough) {
    net::ConnectOptions connect_options;
    connect_options.timeout = options_.connect_timeout;
    auto socket = co_await net::Connect(*sockets_, route.next_hop, connect_options);
    if (!socket.ok()) co_return std::move(socket).error();
    upstream->stream = std::make_unique<net::TcpByteStream>(std::move(*socket));
    ++loop.counters.upstream_opened;
    co_return upstream;
  }
  std::shared_ptr<const tls::TlsContext> tls = client_tls_();
  if (tls == nullptr) {
    co_return Error(ErrorCode::kUnavailable,
                    "the waypoint has no certificate for " + identity_.ToString() + " yet");
  }
  hbone::PoolKey pool_key{identity_, tunnel.local.ip(), route.next_hop, route.expected_identities};
  hbone::ConnectRequest request;
  request.target = route.connect_target;
  // The connection is shared by every client of this loop: the waypoint is
  // its downstream; each request names its client in x-forwarded-for.
  request.downstream = tunnel.local;
  request.service_host = route.service_hostname;
  request.baggage = options_.baggage;
  hbone::DialParams dial{std::move(tls), sockets_};
  h2::Headers headers = hbone::BuildConnectHeaders(request);
  auto stream =
      co_await pools_.Local().Connect(std::move(pool_key), std::move(dial), std::move(headers));
  if (!stream.ok()) co_return std::move(stream).error();
  auto tunnel_stream = std::make_unique<h2::StreamByteStream>(std::move(*stream));
  upstream->tunnel = tunnel_stream.get();
  upstream->stream = std::move(tunnel_stream);
  ++loop.counters.upstream_opened;
  co_return upstream;
}

void HttpProxy::Release(std::unique_ptr<Upstream> upstream) {
  if (!upstream->Reusable()) return;
  auto& list = Local().idle[upstream->key];
  if (list.size() >= options_.max_idle_per_endpoint) return;
  list.push_back(std::move(upstream));
}

asio::awaitable<void> HttpProxy::RelayOpaque(h2::StreamByteStream& down, const std::string& prefix,
                                             const Tunnel& tunnel, Outcome& outcome) {
  ForwardRequest self;
  self.backend_host = tunnel.destination.service_host;
  self.backend_port = tunnel.destination.port;
  const hbone::RouteDecision route = Resolve(self, tunnel, Local().rng());
  if (route.kind == hbone::RouteDecision::Kind::kReject) {
    AMBIT_LOG_INFO("waypoint: HTTP/2 tunnel to {} from {} closed: {}", self.backend_host,
                   tunnel.client.ToString(), route.reason);
    outcome.aborted = true;
    down.Close();
    co_return;
  }
  auto upstream = co_await Acquire(route, tunnel, /*fresh=*/true);
  if (!upstream.ok()) {
    AMBIT_LOG_INFO("waypoint: HTTP/2 tunnel to {} from {} closed: endpoint {}: {}",
                   self.backend_host, tunnel.client.ToString(), route.connect_target.ToString(),
                   upstream.error().ToString());
    outcome.aborted = true;
    down.Close();
    co_return;
  }
  Upstream& up = **upstream;
  if (!(co_await Send(*up.stream, prefix)).ok()) {
    outcome.aborted = true;
    down.Close();
    co_return;
  }
  hbone::CopyResult r;
  if (up.tunnel != nullptr) {
    r = co_await CopyStreams(down.stream(), up.tunnel->stream());
  } else {
    auto& tcp = static_cast<net::TcpByteStream&>(*up.stream);
    hbone::CopyResult seen = co_await hbone::CopyBidirectional(tcp.socket(), down.stream());
    r = hbone::CopyResult{seen.peer_to_socket, seen.socket_to_peer, seen.aborted};
  }
  outcome.bytes_received += r.socket_to_peer;
  outcome.bytes_sent += r.peer_to_socket;
  outcome.aborted = r.aborted;
}

asio::awaitable<HttpProxy::Outcome> HttpProxy::Serve(std::shared_ptr<h2::Stream> downstream,
                                                     Tunnel tunnel) {
  Outcome outcome;
  Loop& loop = Local();
  h2::StreamByteStream down(std::move(downstream));
  EventQueue queue;
  http1::Parser parser(http1::Parser::Kind::kRequests, queue, options_.limits);
  std::vector<std::uint8_t> buffer(kReadBuffer);
  // The Service's table, looked up again when a new set was published (a
  // route change applies to the next request of an open keep-alive tunnel,
  // as Envoy applies a new route configuration to new requests).
  std::shared_ptr<const RouteTables::Map> tables_seen = tables_.Snapshot();
  std::shared_ptr<const route::RouteTable> table;
  if (auto it = tables_seen->find(tunnel.destination.service_host); it != tables_seen->end()) {
    table = it->second;
  }

  // HTTP/1.1, or HTTP/2 with prior knowledge (RFC 9113 §3.3): read until the
  // bytes either differ from HTTP/2's connection preface or hold all of it.
  std::string first;
  for (;;) {
    net::MutableBytes out(buffer.data(), buffer.size());
    Result<std::size_t> n = co_await down.ReadSome(out);
    if (!n.ok()) {
      outcome.aborted = true;
      down.Close();
      co_return outcome;
    }
    if (*n == 0) break;
    first.append(reinterpret_cast<const char*>(buffer.data()), *n);
    const std::size_t k = std::min(first.size(), kH2Preface.size());
    if (std::string_view(first).substr(0, k) != kH2Preface.substr(0, k)) break;
    if (first.size() >= kH2Preface.size()) {
      outcome.bytes_received += first.size();
      co_await RelayOpaque(down, first, tunnel, outcome);
      co_return outcome;
    }
  }
  outcome.bytes_received += first.size();

  // The rest of the current request's body, read and dropped (the request
  // is answered locally); false when the client's side failed.
  auto drain_body = [&]() -> asio::awaitable<bool> {
    for (;;) {
      Next next = co_await ReadEvent(down, parser, queue, buffer, outcome.bytes_received, first);
      if (next.state != Next::State::kEvent) co_return false;
      if (next.event.kind == Event::Kind::kEnd) co_return true;
    }
  };

  for (;;) {
    Next next = co_await ReadEvent(down, parser, queue, buffer, outcome.bytes_received, first);
    if (next.state == Next::State::kEof) break;
    if (next.state == Next::State::kIoError) {
      outcome.aborted = true;
      break;
    }
    if (next.state == Next::State::kParseError) {
      const int status = parser.error_status() != 0 ? parser.error_status() : 400;
      AMBIT_LOG_INFO("waypoint: http request to {} from {} refused with {}: {}",
                     tunnel.destination.service_host, tunnel.client.ToString(), status, next.error);
      LocalReply reply{status, {}, "", "", next.error};
      const std::string bytes = ReplyBytes(reply, /*keep_alive=*/false);
      (void)co_await Send(down, bytes, &outcome.bytes_sent);
      break;
    }
    if (next.event.kind != Event::Kind::kRequest) {  // the parser's contract: a head first
      outcome.aborted = true;
      break;
    }
    const auto start = std::chrono::steady_clock::now();
    ++outcome.requests;
    ++loop.counters.requests;
    const http1::MessageInfo info = next.event.info;
    h2::RequestHead head = std::move(next.event.request);
    const std::string method = head.method;
    const std::string path = head.path;
    if (head.authority.empty()) head.authority = tunnel.destination.service_host;  // HTTP/1.0

    // decide
    if (std::shared_ptr<const RouteTables::Map> now = tables_.Snapshot(); now != tables_seen) {
      tables_seen = std::move(now);
      auto it = tables_seen->find(tunnel.destination.service_host);
      table = it == tables_seen->end() ? nullptr : it->second;
    }
    RequestDecision decision =
        DecideRequest(tunnel.destination, std::move(head), table.get(), loop.rng());
    auto* forward = std::get_if<ForwardRequest>(&decision);
    hbone::RouteDecision route;
    if (forward != nullptr) {
      route = Resolve(*forward, tunnel, loop.rng());
      if (route.kind == hbone::RouteDecision::Kind::kReject) {
        decision = LocalReply{
            503, {}, "no healthy upstream", "UH", forward->backend_host + ": " + route.reason};
        forward = nullptr;
      }
    }
    if (auto* reply = std::get_if<LocalReply>(&decision)) {
      ++loop.counters.local_replies;
      // A client waiting for 100-continue sends no body: answer and close.
      bool keep_alive = info.keep_alive && !info.expect_continue;
      if (!info.expect_continue && !co_await drain_body()) {
        outcome.aborted = true;
        break;
      }
      const std::string bytes = ReplyBytes(*reply, keep_alive);
      Status sent = co_await Send(down, bytes, &outcome.bytes_sent);
      AMBIT_LOG_DEBUG("waypoint: http {} {}{} -> {} {} ({})", method,
                      tunnel.destination.service_host, route::OneLine(path), reply->status,
                      Flags(reply->flag), reply->reason);
      if (!sent.ok()) {
        outcome.aborted = true;
        break;
      }
      if (!keep_alive) break;
      continue;
    }

    // send: the request head, then its body as it arrives
    if (info.expect_continue) {
      std::erase_if(forward->head.fields, [](const h2::Header& h) { return h.name == "expect"; });
      const std::string continue_line = "HTTP/1.1 100 Continue\r\n\r\n";
      if (!(co_await Send(down, continue_line, &outcome.bytes_sent)).ok()) {
        outcome.aborted = true;
        break;
      }
    }
    AddProxyRequestHeaders(forward->head, tunnel.client, FormatRequestId(loop.rng(), loop.rng()),
                           /*attempt=*/1);
    // A request that fails upstream before its answer began: 503 with
    // |flag|, and the tunnel closed (the rest of its body is not read).
    auto fail = [&](const char* flag, std::string reason) -> asio::awaitable<void> {
      ++loop.counters.local_replies;
      AMBIT_LOG_INFO("waypoint: http {} {}{} -> 503 {} ({})", method,
                     tunnel.destination.service_host, route::OneLine(path), flag, reason);
      LocalReply reply{503,
                       {},
                       "upstream connect error or disconnect/reset before headers",
                       flag,
                       std::move(reason)};
      const std::string bytes = ReplyBytes(reply, /*keep_alive=*/false);
      (void)co_await Send(down, bytes, &outcome.bytes_sent);
    };
    auto acquired = co_await Acquire(route, tunnel, /*fresh=*/false);
    if (!acquired.ok()) {
      std::string reason = forward->backend_host + " endpoint " + route.connect_target.ToString() +
                           ": " + acquired.error().ToString();
      co_await fail("UF", std::move(reason));
      break;
    }
    std::unique_ptr<Upstream> upstream = std::move(*acquired);
    const http1::Framing request_framing = RequestFraming(info);
    std::string out;
    DropContentLength(forward->head.fields);
    http1::AppendRequestHead(out, forward->head, request_framing);
    const auto sent_at = std::chrono::steady_clock::now();
    Status up = co_await Send(*upstream->stream, out);
    bool request_done = false;
    h2::Headers trailers;
    while (up.ok() && !request_done) {
      Next body = co_await ReadEvent(down, parser, queue, buffer, outcome.bytes_received, first);
      if (body.state != Next::State::kEvent) break;
      out.clear();
      switch (body.event.kind) {
        case Event::Kind::kBody:
          if (request_framing.kind == http1::Framing::Kind::kChunked) {
            http1::AppendChunk(out, AsBytes(body.event.bytes));
          } else {
            out = std::move(body.event.bytes);
          }
          up = co_await Send(*upstream->stream, out);
          break;
        case Event::Kind::kTrailers:
          trailers = std::move(body.event.trailers);
          break;
        case Event::Kind::kEnd:
          if (request_framing.kind == http1::Framing::Kind::kChunked) {
            http1::AppendLastChunk(out, trailers);
            up = co_await Send(*upstream->stream, out);
          }
          request_done = up.ok();
          break;
        default:
          break;
      }
    }
    if (!request_done) {
      if (!up.ok()) {
        std::string reason =
            "sending the request to " + upstream->key + ": " + up.error().ToString();
        co_await fail("UC", std::move(reason));
      } else {
        outcome.aborted = true;  // the client went away mid-body
      }
      break;
    }

    // answer
    upstream->parser.ExpectResponseToHead(method == "HEAD");
    bool head_sent = false;
    bool keep_alive = info.keep_alive;
    bool response_done = false;
    int status = 0;
    http1::Framing response_framing;
    h2::Headers response_trailers;
    std::string error;
    while (!response_done) {
      Next answer = co_await ReadEvent(*upstream->stream, upstream->parser, upstream->queue,
                                       upstream->buffer, upstream->bytes_read, upstream->pending);
      if (answer.state != Next::State::kEvent) {
        error = answer.state == Next::State::kEof ? "upstream closed" : answer.error;
        break;
      }
      out.clear();
      Status written;
      switch (answer.event.kind) {
        case Event::Kind::kResponse: {
          h2::ResponseHead& response = answer.event.response;
          if (response.status >= 100 && response.status < 200) continue;  // 1xx: not forwarded
          status = response.status;
          upstream->server_keep_alive = answer.event.info.keep_alive;
          AddProxyResponseHeaders(response, *forward,
                                  std::chrono::duration_cast<std::chrono::milliseconds>(
                                      std::chrono::steady_clock::now() - sent_at));
          response_framing =
              ResponseFraming(response, answer.event.info, method == "HEAD", info.version_minor);
          if (response_framing.kind == http1::Framing::Kind::kUntilClose) keep_alive = false;
          http1::HeadOptions options;
          options.keep_alive = keep_alive;
          DropContentLength(response.fields);
          http1::AppendResponseHead(out, response, response_framing, options);
          written = co_await Send(down, out, &outcome.bytes_sent);
          head_sent = true;
          break;
        }
        case Event::Kind::kBody:
          if (response_framing.kind == http1::Framing::Kind::kChunked) {
            http1::AppendChunk(out, AsBytes(answer.event.bytes));
          } else {
            out = std::move(answer.event.bytes);
          }
          written = co_await Send(down, out, &outcome.bytes_sent);
          break;
        case Event::Kind::kTrailers:
          response_trailers = std::move(answer.event.trailers);
          break;
        case Event::Kind::kEnd:
          if (response_framing.kind == http1::Framing::Kind::kChunked) {
            http1::AppendLastChunk(out, response_trailers);
            written = co_await Send(down, out, &outcome.bytes_sent);
          }
          response_done = written.ok();
          break;
        default:
          break;
      }
      if (!written.ok()) {
        error = "to the client: " + written.error().ToString();
        break;
      }
    }
    const auto elapsed = std::chrono::duration_cast<std::chrono::milliseconds>(
        std::chrono::steady_clock::now() - start);
    if (!response_done) {
      if (!head_sent) {
        std::string reason = upstream->key + " ended before the response head: " + error;
        co_await fail("UC", std::move(reason));
      } else {
        AMBIT_LOG_INFO("waypoint: http {} {}{} -> {} cut short ({})", method,
                       tunnel.destination.service_host, route::OneLine(path), status, error);
        outcome.aborted = true;
      }
      break;
    }
    AMBIT_LOG_DEBUG("waypoint: http {} {}{} -> {} route={} upstream={} {}ms", method,
                    tunnel.destination.service_host, route::OneLine(path), status,
                    forward->route_name.empty() ? "default" : forward->route_name, upstream->key,
                    elapsed.count());
    Release(std::move(upstream));
    if (!keep_alive) break;
  }
  if (outcome.aborted) {
    down.Close();
  } else {
    co_await down.ShutdownWrite();
  }
  co_return outcome;
}

}  // namespace ambit::waypoint
