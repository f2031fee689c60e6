#include "dns/proxy.h"

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/ip/udp.hpp>
#include <asio/post.hpp>
#include <asio/read.hpp>
#include <asio/redirect_error.hpp>
#include <asio/steady_timer.hpp>
#include <asio/this_coro.hpp>
#include <asio/use_awaitable.hpp>
#include <asio/write.hpp>

#include <array>
#include <cerrno>
#include <cstring>
#include <random>
#include <sstream>
#include <unordered_map>

#include "core/co_try.h"
#include "core/log.h"
#include "net/connect.h"
#include "net/socket_options.h"
#include "net/task_group.h"

namespace ambit::dns {

struct DnsService::Counters {
  std::atomic<std::uint64_t> queries{0}, tcp_queries{0}, answered{0}, forwarded{0}, upstream_failures{0},
      upstream_tcp_retries{0}, upstream_udp_sockets{0}, truncated{0}, malformed{0}, refused{0};
};

struct DnsService::LoopTables {
  explicit LoopTables(const state::StateStore& store) : reader(store) {}
  state::StateReader reader;
  std::shared_ptr<const state::WorkloadState> built_from;  // keeps the table's pointers valid
  NameTable table;
};

DnsService::DnsService(const state::StateStore& store, ProxyConfig config, std::size_t loops)
    : store_(store), config_(std::move(config)), counters_(std::make_unique<Counters>()) {
  for (std::size_t i = 0; i < std::max<std::size_t>(loops, 1); ++i) {
    tables_.push_back(std::make_unique<LoopTables>(store_));
  }
}

DnsService::~DnsService() = default;

const NameTable& DnsService::Names(std::size_t loop) {
  LoopTables& t = *tables_[loop % tables_.size()];
  const auto& current = t.reader.Hold();
  if (current != t.built_from) {
    t.table = NameTable(*current);
    t.built_from = current;
  }
  return t.table;
}

ProxyCounters DnsService::counters() const {
  const Counters& c = *counters_;
  ProxyCounters out;
  out.queries = c.queries.load(std::memory_order_relaxed);
  out.tcp_queries = c.tcp_queries.load(std::memory_order_relaxed);
  out.answered = c.answered.load(std::memory_order_relaxed);
  out.forwarded = c.forwarded.load(std::memory_order_relaxed);
  out.upstream_failures = c.upstream_failures.load(std::memory_order_relaxed);
  out.upstream_tcp_retries = c.upstream_tcp_retries.load(std::memory_order_relaxed);
  out.upstream_udp_sockets = c.upstream_udp_sockets.load(std::memory_order_relaxed);
  out.truncated = c.truncated.load(std::memory_order_relaxed);
  out.malformed = c.malformed.load(std::memory_order_relaxed);
  out.refused = c.refused.load(std::memory_order_relaxed);
  return out;
}

namespace {

using asio::ip::tcp;
using asio::ip::udp;
using Bytes = std::vector<uint8_t>;

void Bump(std::atomic<std::uint64_t>& c) { c.fetch_add(1, std::memory_order_relaxed); }

template <typename Endpoint>
Endpoint ToEndpoint(const net::SocketAddress& addr) {
  Endpoint e;
  sockaddr_storage ss;
  const socklen_t len = addr.ToSockaddr(&ss);
  std::memcpy(e.data(), &ss, len);
  e.resize(len);
  return e;
}

// A reply to send back, or the reason none could be had.
struct Upstreamed {
  Bytes response;
  Header header;
};


// Reads exactly |out.size()| bytes within |timeout|; false on error, EOF or timeout.
// (Class-type arguments of these coroutines are references: GCC 12 mishandles
// temporaries made for by-value parameters inside a co_await expression.)
asio::awaitable<bool> ReadFull(const std::shared_ptr<tcp::socket>& socket, std::span<uint8_t> out,
                               std::chrono::milliseconds timeout) {
  auto executor = co_await asio::this_coro::executor;
  auto done = std::make_shared<bool>(false);
  asio::steady_timer timer(executor, timeout);
  timer.async_wait([socket, done](asio::error_code ec) {
    if (ec || *done) return;
    asio::error_code ignored;
    socket->cancel(ignored);
  });
  asio::error_code ec;
  co_await asio::async_read(*socket, asio::buffer(out.data(), out.size()),
                            asio::redirect_error(asio::use_awaitable, ec));
  *done = true;
  timer.cancel();
  co_return !ec;
}

// Connected UDP sockets to the upstream resolvers, shared by the forwarded
// queries of one pod on its loop: at most one open "channel" per upstream
// takes new queries. Answers are matched to their query by id and question
// (CheckResponseMatches), so a channel carries many queries at once and the
// pod's network namespace is entered once per channel, not once per query.
// A channel is retired after kQueriesPerChannel queries (its successor gets a
// fresh random source port: RFC 5452 §9.2 wants both the id and the port
// unpredictable) or at its first socket error, and closed once its last query
// has ended. Ids are random and unique among a channel's queries in flight.
// Threading: every call on the owner's loop; no locks.
class UdpUpstreams {
 public:
  static constexpr std::size_t kQueriesPerChannel = 64;

  UdpUpstreams(std::shared_ptr<const net::SocketFactory> sockets, DnsService::Counters& counters)
      : sockets_(std::move(sockets)), counters_(counters) {}
  ~UdpUpstreams() { Close(); }
  UdpUpstreams(const UdpUpstreams&) = delete;
  UdpUpstreams& operator=(const UdpUpstreams&) = delete;

  // Sends |msg| (re-id'd) to |upstream| and waits up to |timeout| for the
  // matching answer; stray or spoofed datagrams are ignored meanwhile.
  asio::awaitable<Result<Upstreamed>> Exchange(const net::SocketAddress& upstream, const Bytes& msg,
                                               const Query& query, std::chrono::milliseconds timeout,
                                               std::mt19937& rng);

  // Retires every channel: queries in flight still get their answers.
  void Close() {
    for (auto& ch : current_) Retire(*ch);
    current_.clear();
  }

 private:
  struct Waiter {
    const Query* query;
    asio::steady_timer* wake;  // cancelled when |outcome| is set
    std::optional<Result<Upstreamed>> outcome;
  };
  struct Channel {
    Channel(udp::socket s, net::SocketAddress up) : socket(std::move(s)), upstream(std::move(up)) {}
    udp::socket socket;
    net::SocketAddress upstream;
    std::unordered_map<uint16_t, Waiter*> waiting;
    std::size_t uses = 0;
    bool retired = false;
  };
  // Removes a query's registration when its Exchange ends, however it ends.
  struct Registration {
    std::shared_ptr<Channel> channel;
    uint16_t id;
    ~Registration() {
      channel->waiting.erase(id);
      if (channel->retired && channel->waiting.empty()) CloseChannel(*channel);
    }
  };

  Result<std::shared_ptr<Channel>> ChannelFor(const net::SocketAddress& upstream,
                                              const asio::any_io_executor& executor);
  static asio::awaitable<void> Read(std::shared_ptr<Channel> ch);
  static void Retire(Channel& ch) {
    ch.retired = true;
    if (ch.waiting.empty()) CloseChannel(ch);
  }
  static void CloseChannel(Channel& ch) {
    asio::error_code ignored;
    ch.socket.close(ignored);  // ends Read
  }
  // Every query waiting on |ch| fails with |error| (the socket failed).
  static void FailAll(Channel& ch, const Error& error) {
    auto waiting = std::move(ch.waiting);
    ch.waiting.clear();
    for (auto& [id, waiter] : waiting) {
      waiter->outcome = error;
      waiter->wake->cancel();
    }
  }

  std::shared_ptr<const net::SocketFactory> sockets_;
  DnsService::Counters& counters_;
  std::vector<std::shared_ptr<Channel>> current_;  // not retired; one per upstream
};

Result<std::shared_ptr<UdpUpstreams::Channel>> UdpUpstreams::ChannelFor(
    const net::SocketAddress& upstream, const asio::any_io_executor& executor) {
  std::erase_if(current_, [](const auto& ch) { return ch->retired; });
  for (auto& ch : current_) {
    if (ch->upstream == upstream) return ch;
  }
  const std::string where = "udp " + upstream.ToString();
  auto fd = sockets_->NewUdpSocket(upstream.family());  // in the pod's namespace
  if (!fd.ok()) return std::move(fd).error().WithContext(where);
  udp::socket socket(executor);
  asio::error_code ec;
  socket.assign(upstream.family() == AF_INET ? udp::v4() : udp::v6(), fd->get(), ec);
  if (ec) return Error(ErrorCode::kIo, where + ": " + ec.message());
  fd->release();
  socket.connect(ToEndpoint<udp::endpoint>(upstream), ec);
  if (ec) return Error(ErrorCode::kUnavailable, where + ": connect: " + ec.message());
  socket.non_blocking(true, ec);
  if (ec) return Error(ErrorCode::kIo, where + ": " + ec.message());
  auto ch = std::make_shared<Channel>(std::move(socket), upstream);
  Bump(counters_.upstream_udp_sockets);
  current_.push_back(ch);
  asio::co_spawn(executor, Read(ch), asio::detached);  // ends when the socket closes
  return ch;
}

// Hands each datagram to the query it answers, until the socket closes or fails.
asio::awaitable<void> UdpUpstreams::Read(std::shared_ptr<Channel> ch) {
  // One buffer per loop thread: a datagram is handled before the next wait.
  thread_local Bytes buf(kMaxMessage);
  for (;;) {
    asio::error_code ec;
    co_await ch->socket.async_wait(udp::socket::wait_read, asio::redirect_error(asio::use_awaitable, ec));
    if (!ch->socket.is_open()) co_return;
    for (;;) {
      const std::size_t n = ec ? 0 : ch->socket.receive(asio::buffer(buf), 0, ec);
      if (ec == asio::error::would_block || ec == asio::error::try_again) break;
      if (ec) {
        // E.g. ECONNREFUSED (ICMP port unreachable) on the connected socket:
        // it cannot be told which query it belongs to, so all of them fail
        // (and try the next upstream) and the channel is replaced.
        FailAll(*ch, Error(ErrorCode::kUnavailable, "udp " + ch->upstream.ToString() + ": " + ec.message()));
        ch->retired = true;
        CloseChannel(*ch);
        co_return;
      }
      if (n < kHeaderSize) continue;
      const uint16_t id = static_cast<uint16_t>((buf[0] << 8) | buf[1]);
      auto it = ch->waiting.find(id);
      if (it == ch->waiting.end()) continue;  // late, stray or spoofed
      Waiter& waiter = *it->second;
      auto h = CheckResponseMatches(*waiter.query, id, std::span<const uint8_t>(buf.data(), n));
      if (!h.ok()) continue;  // wrong question: keep waiting for the real answer
      waiter.outcome = Upstreamed{Bytes(buf.begin(), buf.begin() + static_cast<std::ptrdiff_t>(n)), *h};
      ch->waiting.erase(it);
      waiter.wake->cancel();
    }
  }
}

asio::awaitable<Result<Upstreamed>> UdpUpstreams::Exchange(const net::SocketAddress& upstream,
                                                            const Bytes& msg, const Query& query,
                                                            std::chrono::milliseconds timeout,
                                                            std::mt19937& rng) {
  auto executor = co_await asio::this_coro::executor;
  auto channel = ChannelFor(upstream, executor);
  if (!channel.ok()) co_return std::move(channel).error();
  std::shared_ptr<Channel> ch = *channel;
  uint16_t id = static_cast<uint16_t>(rng());
  while (ch->waiting.contains(id)) id = static_cast<uint16_t>(rng());
  const Bytes wire = WithId(msg, id);
  asio::steady_timer wake(executor, timeout);
  Waiter waiter{&query, &wake, std::nullopt};
  ch->waiting.emplace(id, &waiter);
  Registration registration{ch, id};
  if (++ch->uses >= kQueriesPerChannel) ch->retired = true;  // closes after its last query
  asio::error_code ec;
  co_await ch->socket.async_send(asio::buffer(wire), asio::redirect_error(asio::use_awaitable, ec));
  if (ec && !waiter.outcome) {
    ch->retired = true;
    co_return Error(ErrorCode::kUnavailable, "udp " + upstream.ToString() + ": send: " + ec.message());
  }
  if (!waiter.outcome) co_await wake.async_wait(asio::redirect_error(asio::use_awaitable, ec));
  if (waiter.outcome) co_return std::move(*waiter.outcome);
  co_return Error(ErrorCode::kTimeout, "udp " + upstream.ToString() + ": no answer in time");
}

asio::awaitable<Result<Upstreamed>> TcpExchange(const net::SocketFactory& sockets, const net::SocketAddress& upstream,
                                                const Bytes& wire, const Query& query, uint16_t id,
                                                std::chrono::milliseconds timeout) {
  const std::string where = "tcp " + upstream.ToString();
  net::ConnectOptions options;
  options.timeout = timeout;
  auto connected = co_await net::Connect(sockets, upstream, options);
  if (!connected.ok()) co_return std::move(connected).error();
  auto socket = std::make_shared<tcp::socket>(std::move(*connected));
  const std::array<uint8_t, 2> prefix = {static_cast<uint8_t>(wire.size() >> 8),
                                         static_cast<uint8_t>(wire.size() & 0xff)};
  const std::array<asio::const_buffer, 2> pieces = {asio::buffer(prefix), asio::buffer(wire)};
  asio::error_code ec;
  co_await asio::async_write(*socket, pieces, asio::redirect_error(asio::use_awaitable, ec));
  if (ec) co_return Error(ErrorCode::kUnavailable, where + ": write: " + ec.message());
  std::array<uint8_t, 2> len_bytes{};
  if (!co_await ReadFull(socket, len_bytes, timeout)) co_return Error(ErrorCode::kUnavailable, where + ": no answer");
  Bytes response((static_cast<std::size_t>(len_bytes[0]) << 8) | len_bytes[1]);
  if (!co_await ReadFull(socket, response, timeout)) {
    co_return Error(ErrorCode::kUnavailable, where + ": answer cut short");
  }
  auto h = CheckResponseMatches(query, id, response);
  if (!h.ok()) co_return std::move(h).error().WithContext(where);
  co_return Upstreamed{std::move(response), *h};
}

// |msg| (the client's query) to the upstreams in order, with a fresh id each
// (UDP through |udp|'s shared sockets); a UDP answer with TC is fetched again
// over TCP. The upstream's answer, still
// carrying the id it was sent with.
asio::awaitable<Result<Bytes>> Forward(const std::shared_ptr<const net::SocketFactory>& sockets,
                                       UdpUpstreams& udp, const ProxyConfig& config, const Query& query,
                                       const Bytes& msg, bool over_tcp, std::mt19937& rng,
                                       DnsService::Counters& counters) {
  if (config.upstreams.empty()) co_return Error(ErrorCode::kUnavailable, "no upstream resolver configured");
  Error last(ErrorCode::kUnavailable, "no upstream answered");
  for (const auto& upstream : config.upstreams) {
    std::optional<Bytes> truncated;
    if (!over_tcp) {
      auto r = co_await udp.Exchange(upstream, msg, query, config.upstream_timeout, rng);
      if (!r.ok()) {
        last = std::move(r).error();
        continue;
      }
      if (!r->header.tc) co_return std::move(r->response);
      Bump(counters.upstream_tcp_retries);
      truncated = std::move(r->response);
    }
    const auto id = static_cast<uint16_t>(rng());
    const Bytes wire = WithId(msg, id);
    auto r = co_await TcpExchange(*sockets, upstream, wire, query, id, config.upstream_timeout);
    if (r.ok()) co_return std::move(r->response);
    if (truncated) co_return std::move(*truncated);  // the client may still retry over TCP itself
    last = std::move(r).error();
  }
  co_return last;
}

}  // namespace

struct PodDnsProxy::Impl : std::enable_shared_from_this<Impl> {
  Impl(DnsService& s, asio::io_context& l, std::size_t index, std::shared_ptr<const net::SocketFactory> f,
       Client c)
      : service(s),
        loop(l),
        loop_index(index),
        sockets(std::move(f)),
        client(std::move(c)),
        rng(std::random_device{}()),
        upstreams(sockets, s.mutable_counters()),
        tasks(l.get_executor()) {}

  DnsService& service;
  asio::io_context& loop;
  std::size_t loop_index;
  std::shared_ptr<const net::SocketFactory> sockets;
  Client client;
  std::mt19937 rng;
  UdpUpstreams upstreams;  // forwarded queries' UDP sockets (this loop only)
  std::vector<std::unique_ptr<udp::socket>> udp_sockets;
  std::vector<std::unique_ptr<tcp::acceptor>> acceptors;
  std::vector<net::SocketAddress> addresses;
  std::atomic<bool> stopped{false};
  std::size_t in_flight = 0;  // on the loop only
  // The serve loops and every query and TCP connection being answered, on
  // the loop: Close() cancels them. Each holds the Impl, so they end first.
  net::TaskGroup tasks;

  DnsService::Counters& counters() { return service.mutable_counters(); }
  const ProxyConfig& config() const { return service.config(); }

  Status Bind(const net::SocketAddress& addr) {
    // UDP.
    AMBIT_ASSIGN_OR_RETURN(UniqueFd ufd, sockets->NewUdpSocket(addr.family()));
    AMBIT_RETURN_IF_ERROR(net::SetReuseAddr(ufd.get()));
    AMBIT_RETURN_IF_ERROR(net::SetReusePort(ufd.get()));
    sockaddr_storage ss;
    const socklen_t len = addr.ToSockaddr(&ss);
    if (::bind(ufd.get(), reinterpret_cast<sockaddr*>(&ss), len) != 0) {
      return ErrnoError("bind udp " + addr.ToString(), errno);
    }
    auto u = std::make_unique<udp::socket>(loop);
    asio::error_code ec;
    u->assign(addr.family() == AF_INET ? udp::v4() : udp::v6(), ufd.get(), ec);
    if (ec) return Error(ErrorCode::kIo, "adopting udp " + addr.ToString() + ": " + ec.message());
    ufd.release();
    // TCP.
    net::ListenOptions lo;
    lo.reuse_port = true;
    lo.backlog = 128;
    AMBIT_ASSIGN_OR_RETURN(UniqueFd tfd, sockets->NewListener(addr, lo));
    auto a = std::make_unique<tcp::acceptor>(loop);
    a->assign(addr.family() == AF_INET ? tcp::v4() : tcp::v6(), tfd.get(), ec);
    if (ec) return Error(ErrorCode::kIo, "adopting tcp " + addr.ToString() + ": " + ec.message());
    tfd.release();
    udp_sockets.push_back(std::move(u));
    acceptors.push_back(std::move(a));
    addresses.push_back(addr);
    return Ok();
  }

  void Close() {
    stopped = true;
    asio::error_code ec;
    for (auto& u : udp_sockets) u->close(ec);
    for (auto& a : acceptors) a->close(ec);
    upstreams.Close();
    tasks.Cancel();  // queries in flight, idle TCP clients
  }

  static asio::awaitable<void> ServeUdp(std::shared_ptr<Impl> self, udp::socket* sock) {
    Bytes buf(kMaxMessage);
    for (;;) {
      udp::endpoint from;
      asio::error_code ec;
      const std::size_t n =
          co_await sock->async_receive_from(asio::buffer(buf), from, asio::redirect_error(asio::use_awaitable, ec));
      if (self->stopped || ec == asio::error::operation_aborted || ec == asio::error::bad_descriptor) co_return;
      if (ec) continue;
      Bytes msg(buf.begin(), buf.begin() + static_cast<std::ptrdiff_t>(n));
      auto task = HandleUdp(self, sock, std::move(msg), from);
      self->tasks.Spawn(std::move(task));
    }
  }

  static asio::awaitable<void> HandleUdp(std::shared_ptr<Impl> self, udp::socket* sock, Bytes msg,
                                         udp::endpoint from) {
    auto answering = self->Answer(std::move(msg), false);
    Bytes reply = co_await std::move(answering);
    if (reply.empty() || self->stopped) co_return;
    asio::error_code ec;
    co_await sock->async_send_to(asio::buffer(reply), from, asio::redirect_error(asio::use_awaitable, ec));
  }

  static asio::awaitable<void> ServeTcp(std::shared_ptr<Impl> self, tcp::acceptor* acceptor) {
    for (;;) {
      auto socket = std::make_shared<tcp::socket>(self->loop);
      asio::error_code ec;
      co_await acceptor->async_accept(*socket, asio::redirect_error(asio::use_awaitable, ec));
      if (self->stopped || ec == asio::error::operation_aborted || ec == asio::error::bad_descriptor) co_return;
      if (ec) continue;
      auto task = HandleTcp(self, std::move(socket));
      self->tasks.Spawn(std::move(task));
    }
  }

  static asio::awaitable<void> HandleTcp(std::shared_ptr<Impl> self, std::shared_ptr<tcp::socket> socket) {
    const auto idle = self->config().tcp_idle;
    for (;;) {
      std::array<uint8_t, 2> prefix{};
      if (!co_await ReadFull(socket, prefix, idle)) co_return;
      const std::size_t len = (static_cast<std::size_t>(prefix[0]) << 8) | prefix[1];
      if (len < kHeaderSize) co_return;
      Bytes msg(len);
      if (!co_await ReadFull(socket, msg, idle)) co_return;
      auto answering = self->Answer(std::move(msg), true);
      Bytes reply = co_await std::move(answering);
      if (reply.empty()) co_return;  // unreadable: close (RFC 7766 §6.2.4 leaves this to the server)
      const std::array<uint8_t, 2> out_prefix = {static_cast<uint8_t>(reply.size() >> 8),
                                                 static_cast<uint8_t>(reply.size() & 0xff)};
      const std::array<asio::const_buffer, 2> pieces = {asio::buffer(out_prefix), asio::buffer(reply)};
      asio::error_code ec;
      co_await asio::async_write(*socket, pieces, asio::redirect_error(asio::use_awaitable, ec));
      if (ec) co_return;
    }
  }

  Bytes Reject(const Query& query, uint16_t rcode, std::size_t limit) {
    Reply r;
    r.rcode = rcode;
    auto built = BuildReply(query, r, limit);
    return built.ok() ? std::move(*built) : BuildHeaderOnlyError(query.header, kRcodeServFail);
  }

  asio::awaitable<Bytes> Answer(Bytes msg, bool over_tcp) {
    auto self = shared_from_this();
    Bump(counters().queries);
    if (over_tcp) Bump(counters().tcp_queries);
    auto header = ParseHeader(msg);
    if (!header.ok() || header->qr) {
      Bump(counters().malformed);
      co_return Bytes{};
    }
    if (header->opcode != kOpcodeQuery) co_return BuildHeaderOnlyError(*header, kRcodeNotImp);
    auto query = ParseQuery(msg);
    if (!query.ok()) {
      Bump(counters().malformed);
      AMBIT_LOG_DEBUG("dns {}: {}", client.ns, query.error().ToString());
      co_return BuildHeaderOnlyError(*header, kRcodeFormErr);
    }
    const std::size_t limit = over_tcp ? kMaxMessage : UdpLimit(*query);
    if (query->edns && query->edns->version != 0) co_return Reject(*query, kRcodeBadVers, limit);

    const Decision decision = Resolve(query->question, client, service.Names(loop_index), config().resolver);
    Bytes out;
    if (decision.kind == Decision::Kind::kAnswer) {
      Bump(counters().answered);
      auto built = BuildReply(*query, decision.reply, limit);
      out = built.ok() ? std::move(*built) : Reject(*query, kRcodeServFail, limit);
    } else {
      if (in_flight >= config().max_in_flight) {
        Bump(counters().refused);
        co_return Reject(*query, kRcodeRefused, limit);
      }
      Bump(counters().forwarded);
      ++in_flight;
      auto upstream = co_await Forward(sockets, upstreams, config(), *query, msg, over_tcp, rng, counters());
      --in_flight;
      if (!upstream.ok()) {
        Bump(counters().upstream_failures);
        AMBIT_LOG_DEBUG("dns {}: forwarding {}: {}", client.ns, query->question.name, upstream.error().ToString());
        co_return Reject(*query, kRcodeServFail, limit);
      }
      auto adapted = AdaptUpstreamResponse(*query, *upstream, limit);
      out = adapted.ok() ? std::move(*adapted) : Reject(*query, kRcodeServFail, limit);
    }
    if (!over_tcp && out.size() > 2 && (out[2] & 0x02) != 0) Bump(counters().truncated);
    co_return out;
  }

};

PodDnsProxy::PodDnsProxy(std::shared_ptr<Impl> impl) : impl_(std::move(impl)) {}

PodDnsProxy::~PodDnsProxy() { Stop(); }

Result<std::shared_ptr<PodDnsProxy>> PodDnsProxy::Start(DnsService& service, asio::io_context& loop,
                                                        std::size_t loop_index,
                                                        std::shared_ptr<const net::SocketFactory> sockets,
                                                        Client client, std::uint16_t port) {
  auto impl = std::make_shared<Impl>(service, loop, loop_index, std::move(sockets), std::move(client));
  Status v4 = impl->Bind(net::SocketAddress(net::IpAddress::Loopback4(), port));
  if (!v4.ok()) return std::move(v4).error().WithContext("DNS proxy on 127.0.0.1");
  std::array<std::uint8_t, 16> one{};
  one[15] = 1;
  Status v6 = impl->Bind(net::SocketAddress(net::IpAddress::V6(one), port));
  if (!v6.ok()) AMBIT_LOG_DEBUG("dns {}: no IPv6 listener: {}", impl->client.ns, v6.error().ToString());
  // The task group belongs to the loop: spawn there.
  asio::post(loop, [impl] {
    if (impl->stopped) return;
    for (auto& u : impl->udp_sockets) {
      auto serve = Impl::ServeUdp(impl, u.get());
      impl->tasks.Spawn(std::move(serve));
    }
    for (auto& a : impl->acceptors) {
      auto serve = Impl::ServeTcp(impl, a.get());
      impl->tasks.Spawn(std::move(serve));
    }
  });
  return std::shared_ptr<PodDnsProxy>(new PodDnsProxy(std::move(impl)));
}

void PodDnsProxy::Stop() {
  if (impl_ == nullptr || impl_->stopped.exchange(true)) return;
  asio::post(impl_->loop, [impl = impl_] { impl->Close(); });
}

const std::vector<net::SocketAddress>& PodDnsProxy::addresses() const { return impl_->addresses; }

namespace {

struct ResolveArgs {
  DnsService* service;
  std::size_t loop;
  std::shared_ptr<const net::SocketFactory> sockets;
  Client client;
  std::string hostname;
  bool want_v6;
};

// The coroutine takes its arguments as one shared object: GCC 12 destroys
// class-type prvalue arguments of a coroutine twice.
asio::awaitable<Result<net::IpAddress>> ResolveHostnameImpl(std::shared_ptr<ResolveArgs> args) {
  DnsService& service = *args->service;
  const std::size_t loop = args->loop;
  const auto& sockets = args->sockets;
  const Client& client = args->client;
  const std::string& hostname = args->hostname;
  const bool want_v6 = args->want_v6;
  thread_local std::mt19937 rng{std::random_device{}()};
  // This resolution's own UDP channels (a connection's hostname, not a pod's
  // stream of queries): at most one socket per upstream for both families.
  UdpUpstreams upstreams(sockets, service.mutable_counters());
  std::string name = hostname;
  while (!name.empty() && name.back() == '.') name.pop_back();
  for (char& c : name) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  std::vector<std::string> found[2];  // [0] = preferred family, [1] = the other
  for (const uint16_t type : {want_v6 ? kTypeAaaa : kTypeA, want_v6 ? kTypeA : kTypeAaaa}) {
    const int slot = (type == kTypeAaaa) == want_v6 ? 0 : 1;
    Question q;
    q.name = name;
    q.type = type;
    q.klass = kClassIn;
    const Decision d = Resolve(q, client, service.Names(loop), service.config().resolver);
    if (d.kind == Decision::Kind::kAnswer) {
      for (const auto& a : d.reply.answers) {
        if (a.type == type) found[slot].push_back(a.data);
      }
    } else {
      const auto id = static_cast<uint16_t>(rng());
      AMBIT_CO_TRY_CONTEXT(auto wire, BuildQuery(id, name, type), "resolving " + hostname);
      AMBIT_CO_TRY_CONTEXT(auto query, ParseQuery(wire), "resolving " + hostname);
      AMBIT_CO_TRY_CONTEXT(auto response,
                           co_await Forward(sockets, upstreams, service.config(), query, wire, false, rng,
                                            service.mutable_counters()),
                           "resolving " + hostname);
      AMBIT_CO_TRY_CONTEXT(auto message, ParseMessage(response), "resolving " + hostname);
      for (const auto& r : message.answers) {
        if (r.type == type && r.klass == kClassIn) found[slot].push_back(r.data);
      }
    }
    if (!found[0].empty()) break;  // the preferred family answered
  }
  for (const auto& list : found) {
    if (list.empty()) continue;
    const std::string& packed = list[rng() % list.size()];
    std::array<std::uint8_t, 16> bytes{};
    std::memcpy(bytes.data(), packed.data(), packed.size());
    if (packed.size() == 4) co_return net::IpAddress::V4({bytes[0], bytes[1], bytes[2], bytes[3]});
    co_return net::IpAddress::V6(bytes);
  }
  co_return Error(ErrorCode::kNotFound, "resolving " + hostname + ": no address");
}

}  // namespace

asio::awaitable<Result<net::IpAddress>> ResolveHostname(DnsService& service, std::size_t loop,
                                                       std::shared_ptr<const net::SocketFactory> sockets,
                                                       Client client, std::string hostname, bool want_v6) {
  auto args = std::make_shared<ResolveArgs>(
      ResolveArgs{&service, loop, std::move(sockets), std::move(client), std::move(hostname), want_v6});
  return ResolveHostnameImpl(args);
}

std::vector<net::SocketAddress> ParseResolvConfNameservers(std::string_view text) {
  std::vector<net::SocketAddress> out;
  std::istringstream in{std::string(text)};
  for (std::string line; std::getline(in, line) && out.size() < 3;) {
    if (auto hash = line.find_first_of("#;"); hash != std::string::npos) line.resize(hash);
    std::istringstream words(line);
    std::string key, value;
    if (!(words >> key >> value) || key != "nameserver") continue;
    if (auto pct = value.find('%'); pct != std::string::npos) value.resize(pct);
    auto ip = net::IpAddress::Parse(value);
    if (ip.ok()) out.emplace_back(*ip, 53);
  }
  return out;
}

}  // namespace ambit::dns
