#include "waypoint/http_proxy.h"

#include <algorithm>
#include <array>
#include <asio/redirect_error.hpp>
#include <asio/steady_timer.hpp>
#include <asio/this_coro.hpp>
#include <asio/use_awaitable.hpp>
#include <deque>
#include <random>
#include <span>

#include "core/log.h"
#include "h2/stream_byte_stream.h"
#include "hbone/connect_headers.h"
#include "http1/writer.h"
#include "net/byte_stream.h"
#include "net/connect.h"
#include "net/task_group.h"
#include "net/with_timeout.h"
#include "route/retry.h"
#include "waypoint/load_balancer.h"
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

// Client bytes read ahead while a request is delayed by fault injection.
constexpr std::size_t kDelayReadAhead = 64 * 1024;

// Reads |down| into |pending| until the client goes away (true: its stream
// reset or ended) or kDelayReadAhead bytes wait; then only waits to be
// cancelled (the end of the delay).
asio::awaitable<Result<bool>> WatchClient(h2::StreamByteStream* down, std::string* pending,
                                          std::uint64_t* bytes_read) {
  std::vector<std::uint8_t> buffer(kReadBuffer);
  while (pending->size() < kDelayReadAhead) {
    net::MutableBytes out(buffer.data(), buffer.size());
    Result<std::size_t> n = co_await down->ReadSome(out);
    if (!n.ok() || *n == 0) co_return true;
    *bytes_read += *n;
    pending->append(reinterpret_cast<const char*>(buffer.data()), *n);
  }
  const asio::any_io_executor executor = co_await asio::this_coro::executor;
  asio::steady_timer never(executor, asio::steady_timer::time_point::max());
  co_await never.async_wait(asio::use_awaitable);
  co_return false;
}

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
  std::optional<net::TaskGroup> mirrors;  // this loop's mirror requests (made on first use)
  LbLoopState lb;  // round robin turns, outstanding requests, hash rings
};

struct HttpProxy::MirrorCopy {
  h2::RequestHead head;  // as sent upstream, Host with "-shadow"; no Content-Length field
  http1::Framing::Kind framing = http1::Framing::Kind::kNone;  // of the original request
  std::string body;
  h2::Headers trailers;
};

namespace {

// The mirror copies of one request: the mirrors that drew it and the copy
// they share, its body collected as it streams to the main upstream.
struct MirrorTap {
  std::vector<const route::Mirror*> hits;
  std::shared_ptr<HttpProxy::MirrorCopy> copy;  // null: nothing mirrored
  bool too_large = false;
  std::size_t limit = 0;  // body bytes kept for the copy

  void OnBody(const std::string& bytes) {
    if (copy == nullptr || too_large) return;
    if (copy->body.size() + bytes.size() > limit) {
      too_large = true;
      std::string().swap(copy->body);
      return;
    }
    copy->body += bytes;
  }
  void OnTrailers(const h2::Headers& trailers) {
    if (copy != nullptr) copy->trailers = trailers;
  }
};

// Draws each of |forward|'s mirrors by its percentage; copies the request
// head (after the proxy headers) when one or more drew it.
MirrorTap StartMirrorTap(const ForwardRequest& forward, const http1::MessageInfo& info,
                         std::mt19937_64& rng) {
  MirrorTap tap;
  for (const route::Mirror& m : forward.mirrors) {
    if (InPercentage(m.percentage, rng())) tap.hits.push_back(&m);
  }
  if (tap.hits.empty()) return tap;
  tap.copy = std::make_shared<HttpProxy::MirrorCopy>();
  tap.copy->head = forward.head;
  tap.copy->head.authority = ShadowAuthority(tap.copy->head.authority);
  DropContentLength(tap.copy->head.fields);
  tap.copy->framing = RequestFraming(info).kind;
  return tap;
}

// One request outstanding on an endpoint (LEAST_REQUEST), for as long as it lives.
class OutstandingRequest {
 public:
  OutstandingRequest(LbLoopState& state, std::string endpoint)
      : state_(state), endpoint_(std::move(endpoint)) {
    state_.Started(endpoint_);
  }
  ~OutstandingRequest() { state_.Finished(endpoint_); }
  OutstandingRequest(const OutstandingRequest&) = delete;
  OutstandingRequest& operator=(const OutstandingRequest&) = delete;

 private:
  LbLoopState& state_;
  std::string endpoint_;
};

}  // namespace

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

void HttpProxy::DropIdleOnThisLoop() {
  Loop& loop = Local();
  loop.idle.clear();
  if (loop.mirrors.has_value()) loop.mirrors->Cancel();
}

std::optional<net::IpAddress> HttpProxy::BackendVip(const ForwardRequest& forward,
                                                    const Tunnel& tunnel) const {
  if (forward.backend_host == tunnel.destination.service_host) return tunnel.target.ip();
  if (options_.service_vip) return options_.service_vip(forward.backend_host);
  return std::nullopt;
}

std::uint64_t HttpProxy::PickFor(const ForwardRequest& forward, const Tunnel& tunnel,
                                 std::optional<std::uint64_t> hash, std::uint32_t attempt) {
  Loop& loop = Local();
  const std::uint64_t random = loop.rng();
  if (!options_.service_endpoints) return random;
  const std::optional<net::IpAddress> vip = BackendVip(forward, tunnel);
  if (!vip.has_value()) return random;
  const std::vector<std::string> endpoints =
      options_.service_endpoints(net::SocketAddress(*vip, forward.backend_port));
  if (endpoints.empty()) return random;
  const std::string backend = forward.backend_host + ":" + std::to_string(forward.backend_port) +
                              " " + forward.backend_subset;
  return PickEndpoint(forward.load_balancer, backend, endpoints, hash, attempt, loop.lb, random);
}

hbone::RouteDecision HttpProxy::Resolve(const ForwardRequest& forward, const Tunnel& tunnel,
                                        std::uint64_t pick) const {
  std::optional<net::IpAddress> vip = BackendVip(forward, tunnel);
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

hbone::RouteDecision HttpProxy::ResolveRetry(const ForwardRequest& forward, const Tunnel& tunnel,
                                             const std::vector<std::string>& tried,
                                             const hbone::RouteDecision& last,
                                             std::optional<std::uint64_t> hash,
                                             std::uint32_t retry) {
  // As Envoy's previous_hosts retry predicate (Istio's default), with its
  // 5 host selection attempts: an endpoint not tried yet when one turns up.
  // Each selection asks the load balancer again (round robin takes the next
  // turn, a consistent hash walks on along its ring).
  constexpr std::uint32_t kPicks = 5;
  for (std::uint32_t i = 0; i < kPicks; ++i) {
    hbone::RouteDecision pick =
        Resolve(forward, tunnel, PickFor(forward, tunnel, hash, retry * kPicks + i));
    if (pick.kind == hbone::RouteDecision::Kind::kReject) return last;
    const std::string key = pick.next_hop.ToString() + " " + pick.connect_target.ToString();
    if (std::find(tried.begin(), tried.end(), key) == tried.end() || i + 1 == kPicks) return pick;
  }
  return last;
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

asio::awaitable<bool> HttpProxy::InjectDelay(h2::StreamByteStream& down,
                                             std::chrono::milliseconds delay, std::string& pending,
                                             std::uint64_t& bytes_read) {
  asio::awaitable<Result<bool>> watch = WatchClient(&down, &pending, &bytes_read);
  Result<bool> gone = co_await net::WithTimeout(std::move(watch), delay);
  co_return !(gone.ok() && *gone);
}

void HttpProxy::StartMirror(const asio::any_io_executor& executor,
                            std::shared_ptr<const MirrorCopy> copy, const route::Mirror& mirror,
                            const Tunnel& tunnel) {
  Loop& loop = Local();
  if (!loop.mirrors.has_value()) loop.mirrors.emplace(executor);
  if (loop.mirrors->size() >= options_.max_mirrors_in_flight) {
    ++loop.counters.mirrors_dropped;
    return;
  }
  const std::uint16_t port =
      mirror.backend.port != 0 ? mirror.backend.port : tunnel.destination.port;
  loop.mirrors->Spawn(MirrorRequest(std::move(copy), mirror.backend.host, port, tunnel));
}

asio::awaitable<void> HttpProxy::MirrorRequest(std::shared_ptr<const MirrorCopy> copy,
                                               std::string backend_host, std::uint16_t backend_port,
                                               Tunnel tunnel) {
  ForwardRequest target;
  target.backend_host = backend_host;
  target.backend_port = backend_port;
  const hbone::RouteDecision route = Resolve(target, tunnel, Local().rng());
  if (route.kind == hbone::RouteDecision::Kind::kReject) {
    ++Local().counters.mirrors_failed;
    AMBIT_LOG_DEBUG("waypoint: mirror of {} {} to {} not sent: {}", copy->head.method,
                    route::OneLine(copy->head.path), backend_host, route.reason);
    co_return;
  }
  asio::awaitable<Result<int>> exchange = MirrorExchange(copy, route, tunnel);
  Result<int> status = co_await net::WithTimeout(std::move(exchange), options_.mirror_timeout);
  if (!status.ok()) {
    ++Local().counters.mirrors_failed;
    AMBIT_LOG_DEBUG("waypoint: mirror of {} {} to {} failed: {}", copy->head.method,
                    route::OneLine(copy->head.path), backend_host, status.error().ToString());
    co_return;
  }
  ++Local().counters.mirrors_sent;
  AMBIT_LOG_DEBUG("waypoint: mirror of {} {} to {} ({}) answered {}", copy->head.method,
                  route::OneLine(copy->head.path), backend_host, copy->head.authority, *status);
}

asio::awaitable<Result<int>> HttpProxy::MirrorExchange(std::shared_ptr<const MirrorCopy> copy,
                                                       hbone::RouteDecision route, Tunnel tunnel) {
  auto acquired = co_await Acquire(route, tunnel, /*fresh=*/false);
  if (!acquired.ok()) co_return std::move(acquired).error();
  std::unique_ptr<Upstream> upstream = std::move(*acquired);
  http1::Framing framing{copy->framing, 0};
  if (framing.kind == http1::Framing::Kind::kContentLength) framing.length = copy->body.size();
  std::string out;
  http1::AppendRequestHead(out, copy->head, framing);
  if (framing.kind == http1::Framing::Kind::kChunked) {
    http1::AppendChunk(out, AsBytes(copy->body));
    http1::AppendLastChunk(out, copy->trailers);
  } else {
    out += copy->body;
  }
  Status sent = co_await Send(*upstream->stream, out);
  if (!sent.ok()) co_return std::move(sent).error();
  upstream->parser.ExpectResponseToHead(copy->head.method == "HEAD");
  int status = 0;
  for (;;) {
    Next answer = co_await ReadEvent(*upstream->stream, upstream->parser, upstream->queue,
                                     upstream->buffer, upstream->bytes_read, upstream->pending);
    if (answer.state != Next::State::kEvent) {
      co_return Error(ErrorCode::kUnavailable,
                      answer.state == Next::State::kEof ? "upstream closed" : answer.error);
    }
    if (answer.event.kind == Event::Kind::kResponse) {
      if (answer.event.response.status < 200) continue;  // 1xx
      status = answer.event.response.status;
      upstream->server_keep_alive = answer.event.info.keep_alive;
    } else if (answer.event.kind == Event::Kind::kEnd && status != 0) {
      break;
    }
  }
  Release(std::move(upstream));
  co_return status;
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

// ---- attempts: timeouts and retries ----------------------------------------

namespace {

// The request body as the client sent it so far, kept for a retry while it
// fits the limit (raw bytes, framed again on each try).
struct ReplayBody {
  std::vector<std::string> pieces;
  std::size_t size = 0;
  h2::Headers trailers;
  bool complete = false;   // the client's request ended
  bool replayable = true;  // every byte so far is kept

  void Add(std::string bytes, std::size_t limit) {
    size += bytes.size();
    if (!replayable) return;
    if (size > limit) {
      replayable = false;
      pieces.clear();
      return;
    }
    pieces.push_back(std::move(bytes));
  }
};

// Where the request's remaining events come from (Serve's parser state).
struct DownstreamReader {
  net::ByteStream* stream = nullptr;
  http1::Parser* parser = nullptr;
  EventQueue* queue = nullptr;
  std::vector<std::uint8_t>* buffer = nullptr;
  std::uint64_t* bytes_read = nullptr;
  std::string* pending = nullptr;
};

asio::awaitable<Next> ReadRequestEvent(DownstreamReader d) {
  co_return co_await ReadEvent(*d.stream, *d.parser, *d.queue, *d.buffer, *d.bytes_read,
                               *d.pending);
}

std::optional<int> GrpcStatusOf(const h2::Headers& fields) {
  for (const h2::Header& h : fields) {
    if (h.name != "grpc-status") continue;
    int v = 0;
    if (h.value.empty() || h.value.size() > 2) return std::nullopt;
    for (char c : h.value) {
      if (c < '0' || c > '9') return std::nullopt;
      v = v * 10 + (c - '0');
    }
    return v;
  }
  return std::nullopt;
}

bool HasField(const h2::Headers& fields, std::string_view name) {
  return std::any_of(fields.begin(), fields.end(),
                     [&](const h2::Header& h) { return h.name == name; });
}

}  // namespace

struct HttpProxy::AttemptState {
  // In.
  hbone::RouteDecision route;
  const Tunnel* tunnel = nullptr;
  const h2::RequestHead* head = nullptr;
  http1::Framing framing;
  bool head_request = false;
  ReplayBody* body = nullptr;
  DownstreamReader down;
  std::size_t body_limit = 0;
  MirrorTap* mirror = nullptr;  // sees each body byte once, as it is read
  // Out.
  std::unique_ptr<Upstream> upstream;
  route::AttemptEnd end;
  bool client_failed = false;  // the client's side failed mid-body
  std::string error;
  Event response;  // kResponse: the final response head
  std::chrono::steady_clock::time_point sent_at;
};

asio::awaitable<Status> HttpProxy::RunAttempt(AttemptState* s) {
  using Kind = route::AttemptEnd::Kind;
  auto acquired = co_await Acquire(s->route, *s->tunnel, /*fresh=*/false);
  if (!acquired.ok()) {
    s->error = acquired.error().ToString();
    s->end.kind = s->error.find("REFUSED_STREAM") != std::string::npos ? Kind::kRefusedStream
                                                                       : Kind::kConnectFailure;
    co_return Ok();
  }
  s->upstream = std::move(*acquired);
  Upstream& up = *s->upstream;
  const bool chunked = s->framing.kind == http1::Framing::Kind::kChunked;
  // The head and what the client sent so far (all of it on a retry).
  std::string out;
  http1::AppendRequestHead(out, *s->head, s->framing);
  for (const std::string& piece : s->body->pieces) {
    if (chunked) {
      http1::AppendChunk(out, AsBytes(piece));
    } else {
      out += piece;
    }
  }
  if (s->body->complete && chunked) http1::AppendLastChunk(out, s->body->trailers);
  s->sent_at = std::chrono::steady_clock::now();
  Status sent = co_await Send(*up.stream, out);
  if (!sent.ok()) {
    s->end.kind = Kind::kReset;
    s->error = "sending the request to " + up.key + ": " + sent.error().ToString();
    co_return Ok();
  }
  s->end.request_head_sent = true;
  // The rest of the body as it arrives.
  while (!s->body->complete) {
    Next next = co_await ReadRequestEvent(s->down);
    if (next.state != Next::State::kEvent) {
      s->client_failed = true;
      co_return Ok();
    }
    out.clear();
    switch (next.event.kind) {
      case Event::Kind::kBody:
        if (chunked) {
          http1::AppendChunk(out, AsBytes(next.event.bytes));
        } else {
          out = next.event.bytes;
        }
        s->mirror->OnBody(next.event.bytes);
        s->body->Add(std::move(next.event.bytes), s->body_limit);
        break;
      case Event::Kind::kTrailers:
        s->body->trailers = std::move(next.event.trailers);
        s->mirror->OnTrailers(s->body->trailers);
        break;
      case Event::Kind::kEnd:
        s->body->complete = true;
        if (chunked) http1::AppendLastChunk(out, s->body->trailers);
        break;
      default:
        break;
    }
    sent = co_await Send(*up.stream, out);
    if (!sent.ok()) {
      s->end.kind = Kind::kReset;
      s->error = "sending the request to " + up.key + ": " + sent.error().ToString();
      co_return Ok();
    }
  }
  // The response head (1xx skipped).
  up.parser.ExpectResponseToHead(s->head_request);
  for (;;) {
    Next answer =
        co_await ReadEvent(*up.stream, up.parser, up.queue, up.buffer, up.bytes_read, up.pending);
    if (answer.state != Next::State::kEvent) {
      s->end.kind = Kind::kReset;
      s->error =
          up.key + " ended before the response head: " +
          (answer.state == Next::State::kEof ? std::string("upstream closed") : answer.error);
      co_return Ok();
    }
    if (answer.event.kind != Event::Kind::kResponse) continue;  // not before a head (parser)
    const h2::ResponseHead& head = answer.event.response;
    if (head.status >= 100 && head.status < 200) continue;  // 1xx: not forwarded
    s->end.kind = Kind::kResponse;
    s->end.status = head.status;
    s->end.grpc_status = GrpcStatusOf(head.fields);
    s->end.rate_limited = HasField(head.fields, "x-envoy-ratelimited");
    s->response = std::move(answer.event);
    co_return Ok();
  }
}

struct HttpProxy::ResponseState {
  // In.
  Upstream* upstream = nullptr;
  net::ByteStream* down = nullptr;
  std::uint64_t* bytes_sent = nullptr;
  const ForwardRequest* forward = nullptr;
  Event* head = nullptr;  // the response head event (RunAttempt's)
  bool head_request = false;
  int client_minor = 1;
  std::chrono::steady_clock::time_point sent_at;
  // In and out.
  bool keep_alive = true;
  // Out.
  bool head_sent = false;
  bool done = false;
  std::string error;
};

asio::awaitable<Status> HttpProxy::StreamResponse(ResponseState* s) {
  Upstream& up = *s->upstream;
  h2::ResponseHead& response = s->head->response;
  up.server_keep_alive = s->head->info.keep_alive;
  AddProxyResponseHeaders(response, *s->forward,
                          std::chrono::duration_cast<std::chrono::milliseconds>(
                              std::chrono::steady_clock::now() - s->sent_at));
  const http1::Framing framing =
      ResponseFraming(response, s->head->info, s->head_request, s->client_minor);
  if (framing.kind == http1::Framing::Kind::kUntilClose) s->keep_alive = false;
  http1::HeadOptions options;
  options.keep_alive = s->keep_alive;
  DropContentLength(response.fields);
  std::string out;
  http1::AppendResponseHead(out, response, framing, options);
  s->head_sent = true;  // from here on some of it may have reached the client
  Status written = co_await Send(*s->down, out, s->bytes_sent);
  if (!written.ok()) {
    s->error = "to the client: " + written.error().ToString();
    co_return Ok();
  }
  h2::Headers trailers;
  while (!s->done) {
    Next answer =
        co_await ReadEvent(*up.stream, up.parser, up.queue, up.buffer, up.bytes_read, up.pending);
    if (answer.state != Next::State::kEvent) {
      s->error = answer.state == Next::State::kEof ? "upstream closed" : answer.error;
      co_return Ok();
    }
    out.clear();
    switch (answer.event.kind) {
      case Event::Kind::kBody:
        if (framing.kind == http1::Framing::Kind::kChunked) {
          http1::AppendChunk(out, AsBytes(answer.event.bytes));
        } else {
          out = std::move(answer.event.bytes);
        }
        written = co_await Send(*s->down, out, s->bytes_sent);
        break;
      case Event::Kind::kTrailers:
        trailers = std::move(answer.event.trailers);
        break;
      case Event::Kind::kEnd:
        if (framing.kind == http1::Framing::Kind::kChunked) {
          http1::AppendLastChunk(out, trailers);
          written = co_await Send(*s->down, out, s->bytes_sent);
        }
        s->done = written.ok();
        break;
      default:
        break;
    }
    if (!written.ok()) {
      s->error = "to the client: " + written.error().ToString();
      co_return Ok();
    }
  }
  co_return Ok();
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

    // fault: the delay, then the abort, before any upstream is chosen
    bool delayed = false;
    if (forward != nullptr && forward->fault.has_value()) {
      FaultDecision fault = DecideFault(*forward->fault, loop.rng(), loop.rng());
      if (fault.delay.count() > 0) {
        ++loop.counters.faults_delayed;
        if (!co_await InjectDelay(down, fault.delay, first, outcome.bytes_received)) {
          AMBIT_LOG_DEBUG(
              "waypoint: http {} {}{} dropped: the client went away during the "
              "injected delay (DI)",
              method, tunnel.destination.service_host, route::OneLine(path));
          outcome.aborted = true;
          break;
        }
        delayed = true;
      }
      if (fault.abort.has_value()) {
        ++loop.counters.faults_aborted;
        if (delayed) fault.abort->flag = "DI,FI";
        decision = std::move(*fault.abort);
        forward = nullptr;
      }
    }

    hbone::RouteDecision route;
    std::optional<std::uint64_t> lb_hash;  // the request's consistent-hash value
    if (forward != nullptr) {
      lb_hash = RequestHash(forward->load_balancer, forward->head, tunnel.client);
      route = Resolve(*forward, tunnel, PickFor(*forward, tunnel, lb_hash, 0));
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

    // The client waiting for 100-continue is told to send its body.
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
    MirrorTap mirror = StartMirrorTap(*forward, info, loop.rng);
    mirror.limit = options_.mirror_body_limit;
    // send, under the route's timeouts, as often as its retry policy allows
    const route::RetryPolicy* policy = forward->retry;
    const std::uint32_t retry_mask = policy != nullptr ? route::RetryOnMask(*policy) : 0;
    const std::uint32_t max_retries = policy != nullptr ? policy->attempts : 0;
    std::optional<std::chrono::steady_clock::duration> per_try;
    if (policy != nullptr && policy->per_try_timeout && policy->per_try_timeout->count() > 0) {
      per_try = *policy->per_try_timeout;
    } else if (forward->timeouts.backend_request &&
               forward->timeouts.backend_request->count() > 0) {
      per_try = *forward->timeouts.backend_request;
    }
    std::optional<std::chrono::steady_clock::time_point> deadline;
    if (forward->timeouts.request && forward->timeouts.request->count() > 0) {
      deadline = start + *forward->timeouts.request;
    }
    ReplayBody body;
    DropContentLength(forward->head.fields);
    std::unique_ptr<AttemptState> st;
    std::uint32_t retries = 0;
    std::vector<std::string> tried;
    std::optional<OutstandingRequest> busy;  // until the answer is streamed
    bool request_timed_out = false;  // the route's request timeout expired
    bool exhausted = false;          // retriable, but no retry left (URX)
    for (;;) {
      st = std::make_unique<AttemptState>();
      st->route = route;
      st->tunnel = &tunnel;
      st->head = &forward->head;
      st->framing = RequestFraming(info);
      st->head_request = method == "HEAD";
      st->body = &body;
      st->mirror = &mirror;
      st->down = DownstreamReader{&down, &parser, &queue, &buffer, &outcome.bytes_received, &first};
      st->body_limit = options_.retry_body_limit;
      tried.push_back(route.next_hop.ToString() + " " + route.connect_target.ToString());
      busy.reset();  // the previous try's endpoint no longer has this request
      busy.emplace(loop.lb, route.kind == hbone::RouteDecision::Kind::kHbone
                                ? route.connect_target.ToString()
                                : route.next_hop.ToString());
      std::optional<std::chrono::steady_clock::duration> limit = per_try;
      bool limit_is_request = false;
      if (deadline) {
        const auto left = *deadline - std::chrono::steady_clock::now();
        if (left <= std::chrono::steady_clock::duration::zero()) {
          request_timed_out = true;
          break;
        }
        if (!limit || left <= *limit) {
          limit = left;
          limit_is_request = true;
        }
      }
      asio::awaitable<Status> run = RunAttempt(st.get());
      Status ran = Ok();
      if (limit) {
        const std::chrono::steady_clock::duration bound = *limit;
        ran = co_await net::WithTimeout(std::move(run), bound);
      } else {
        ran = co_await std::move(run);
      }
      if (!ran.ok()) {  // the try ran out of time and was cancelled
        ++loop.counters.upstream_timeouts;
        st->upstream.reset();  // mid-exchange: reset, never reused
        if (limit_is_request) {
          request_timed_out = true;
          break;
        }
        st->end = route::AttemptEnd{};
        st->end.kind = route::AttemptEnd::Kind::kPerTryTimeout;
        st->error = "per-try timeout: " + ran.error().ToString();
      }
      if (st->client_failed) break;
      if (policy == nullptr || !route::IsRetriable(retry_mask, policy->codes, st->end)) break;
      if (retries >= max_retries) {
        exhausted = max_retries > 0;
        break;
      }
      if (!body.replayable) break;  // too big to send again
      st->upstream.reset();         // an answer not taken is dropped with its connection
      AMBIT_LOG_DEBUG(
          "waypoint: http {} {}{} try {} to {} retried: {}", method,
          tunnel.destination.service_host, route::OneLine(path), retries + 1, tried.back(),
          st->end.kind == route::AttemptEnd::Kind::kResponse ? std::to_string(st->end.status)
                                                             : st->error);
      std::chrono::steady_clock::duration wait =
          route::RetryBackoff(policy->backoff, retries + 1, loop.rng());
      if (deadline) wait = std::min(wait, *deadline - std::chrono::steady_clock::now());
      if (wait > std::chrono::steady_clock::duration::zero()) {
        asio::steady_timer timer(co_await asio::this_coro::executor, wait);
        asio::error_code ec;
        co_await timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
      }
      ++retries;
      ++loop.counters.retries;
      route = ResolveRetry(*forward, tunnel, tried, route, lb_hash, retries);
      SetAttemptCount(forward->head, static_cast<int>(retries) + 1);
    }
    if (st->client_failed) {
      outcome.aborted = true;  // the client went away mid-body
      break;
    }
    // mirror: once the whole request was read, the copies leave as child
    // tasks of this loop
    if (mirror.copy != nullptr && body.complete) {
      if (mirror.too_large) {
        loop.counters.mirrors_too_large += mirror.hits.size();
        AMBIT_LOG_DEBUG("waypoint: http {} {}{} not mirrored: body over {} bytes", method,
                        tunnel.destination.service_host, route::OneLine(path),
                        options_.mirror_body_limit);
      } else {
        const asio::any_io_executor executor = down.get_executor();
        for (const route::Mirror* m : mirror.hits) StartMirror(executor, mirror.copy, *m, tunnel);
      }
    }
    if (!request_timed_out && st->end.kind == route::AttemptEnd::Kind::kResponse && deadline &&
        std::chrono::steady_clock::now() >= *deadline) {
      request_timed_out = true;
    }
    // A request that failed upstream before its answer began: a local answer;
    // the tunnel stays open when the whole request was read.
    auto fail = [&](int status, const char* text, std::string flag,
                    std::string reason) -> asio::awaitable<bool> {
      ++loop.counters.local_replies;
      if (exhausted) flag += ",URX";
      AMBIT_LOG_INFO("waypoint: http {} {}{} -> {} {} after {} tries ({})", method,
                     tunnel.destination.service_host, route::OneLine(path), status, flag,
                     retries + 1, reason);
      const bool open = info.keep_alive && body.complete;
      LocalReply reply{status, {}, text, std::move(flag), std::move(reason)};
      const std::string bytes = ReplyBytes(reply, open);
      Status sent = co_await Send(down, bytes, &outcome.bytes_sent);
      co_return sent.ok() && open;
    };
    constexpr const char* kTimeoutBody = "upstream request timeout";
    constexpr const char* kResetBody = "upstream connect error or disconnect/reset before headers";
    bool go_on = true;
    if (request_timed_out) {
      st->upstream.reset();
      go_on = co_await fail(
          504, kTimeoutBody, "UT",
          "request timeout " + std::to_string(forward->timeouts.request->count()) + "ms");
    } else {
      switch (st->end.kind) {
        case route::AttemptEnd::Kind::kPerTryTimeout:
          go_on = co_await fail(504, kTimeoutBody, "UT", st->error);
          break;
        case route::AttemptEnd::Kind::kConnectFailure:
        case route::AttemptEnd::Kind::kRefusedStream:
          go_on =
              co_await fail(503, kResetBody, "UF",
                            forward->backend_host + " endpoint " + tried.back() + ": " + st->error);
          break;
        case route::AttemptEnd::Kind::kReset:
          go_on = co_await fail(503, kResetBody, "UC", st->error);
          break;
        case route::AttemptEnd::Kind::kResponse:
          break;
      }
    }
    if (request_timed_out || st->end.kind != route::AttemptEnd::Kind::kResponse) {
      if (!go_on) break;
      continue;
    }

    // answer: streamed to the client within what is left of the request timeout
    ResponseState rs;
    rs.upstream = st->upstream.get();
    rs.down = &down;
    rs.bytes_sent = &outcome.bytes_sent;
    rs.forward = forward;
    rs.head = &st->response;
    rs.head_request = method == "HEAD";
    rs.client_minor = info.version_minor;
    rs.sent_at = st->sent_at;
    rs.keep_alive = info.keep_alive;
    asio::awaitable<Status> streaming = StreamResponse(&rs);
    Status streamed = Ok();
    if (deadline) {
      const std::chrono::steady_clock::duration left = *deadline - std::chrono::steady_clock::now();
      streamed = co_await net::WithTimeout(std::move(streaming), left);
    } else {
      streamed = co_await std::move(streaming);
    }
    const int status = st->end.status;
    if (!streamed.ok()) {
      ++loop.counters.upstream_timeouts;
      st->upstream.reset();
      rs.error = "request timeout " + std::to_string(forward->timeouts.request->count()) + "ms";
    }
    if (!rs.done) {
      // The head is (or may be) on its way: the client's answer is cut short.
      AMBIT_LOG_INFO("waypoint: http {} {}{} -> {} cut short ({})", method,
                     tunnel.destination.service_host, route::OneLine(path), status, rs.error);
      outcome.aborted = true;
      break;
    }
    const auto elapsed = std::chrono::duration_cast<std::chrono::milliseconds>(
        std::chrono::steady_clock::now() - start);
    AMBIT_LOG_DEBUG("waypoint: http {} {}{} -> {} {} route={} upstream={} tries={} {}ms", method,
                    tunnel.destination.service_host, route::OneLine(path), status,
                    delayed && exhausted ? "DI,URX"
                    : delayed            ? "DI"
                    : exhausted          ? "URX"
                                         : "-",
                    forward->route_name.empty() ? "default" : forward->route_name, tried.back(),
                    retries + 1, elapsed.count());
    Release(std::move(st->upstream));
    if (!rs.keep_alive) break;
  }
  if (outcome.aborted) {
    down.Close();
  } else {
    co_await down.ShutdownWrite();
  }
  co_return outcome;
}

}  // namespace ambit::waypoint
