// The per-pod DNS proxy on loopback (in the test's own namespace, through the
// default socket factory), against a small upstream DNS server run by the
// test: local answers from the discovery snapshot, forwarding, NXDOMAIN
// passing through, truncation and TCP fallback toward the client and toward
// the upstream, FORMERR and SERVFAIL.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>

#include <atomic>
#include <future>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <set>
#include <thread>

#include "dns/proxy.h"
#include "net/worker_pool.h"
#include "state/ip_bytes.h"

namespace ambit::dns {
namespace {

using Bytes = std::vector<uint8_t>;

std::uint16_t BoundPort(int fd) {
  sockaddr_in a{};
  socklen_t len = sizeof a;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  return ntohs(a.sin_port);
}

int Bind(int type, std::uint16_t port) {
  int fd = ::socket(AF_INET, type | SOCK_CLOEXEC, 0);
  int one = 1;
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    ::close(fd);
    return -1;
  }
  if (type == SOCK_STREAM) ::listen(fd, 16);
  return fd;
}

// A free port for both UDP and TCP on 127.0.0.1.
std::uint16_t FreePort() {
  for (int i = 0; i < 50; ++i) {
    int u = Bind(SOCK_DGRAM, 0);
    const std::uint16_t port = BoundPort(u);
    int t = Bind(SOCK_STREAM, port);
    ::close(u);
    if (t >= 0) {
      ::close(t);
      return port;
    }
  }
  return 0;
}

Bytes Answer(const Query& q, std::vector<AnswerRecord> records, uint16_t rcode, bool tc) {
  Reply r;
  r.rcode = rcode;
  r.answers = std::move(records);
  Bytes out = BuildReply(q, r, kMaxMessage).value();
  if (tc) {
    Reply empty;
    out = BuildReply(q, empty, kMaxMessage).value();
    out[2] |= 0x02;
  }
  return out;
}

// The upstream: ext.test A 192.0.2.1; big.test 60 A records, always
// truncated over UDP (a server with a 512-byte limit); anything else NXDOMAIN.
class Upstream {
 public:
  Upstream() : port_(FreePort()), udp_(Bind(SOCK_DGRAM, port_)), tcp_(Bind(SOCK_STREAM, port_)), thread_([this] { Run(); }) {}
  ~Upstream() {
    stop_ = true;
    thread_.join();
    ::close(udp_);
    ::close(tcp_);
  }
  net::SocketAddress address() const { return net::SocketAddress(net::IpAddress::Loopback4(), port_); }
  int udp_queries() const { return udp_queries_; }
  int tcp_queries() const { return tcp_queries_; }
  // Distinct UDP source ports the queries came from.
  std::size_t udp_source_ports() const {
    std::lock_guard<std::mutex> lock(mu_);
    return source_ports_.size();
  }

 private:
  static Bytes Respond(const Bytes& msg, bool over_udp) {
    auto q = ParseQuery(msg);
    if (!q.ok()) return {};
    // <n>.seq.test: A 198.51.100.<n % 250>, so each answer names its query.
    if (q->question.name.ends_with(".seq.test")) {
      const int n = std::atoi(q->question.name.c_str()) % 250;
      return Answer(*q, {{q->question.name, kTypeA, 60, std::string{char(198), 51, 100, static_cast<char>(n)}}}, 0,
                    false);
    }
    if (q->question.name == "ext.test") return Answer(*q, {{"ext.test", kTypeA, 60, std::string{char(192), 0, 2, 1}}}, 0, false);
    if (q->question.name == "big.test") {
      std::vector<AnswerRecord> many;
      for (int i = 0; i < 60; ++i) many.push_back({"big.test", kTypeA, 60, std::string{10, 9, 0, static_cast<char>(i)}});
      return Answer(*q, std::move(many), 0, over_udp);
    }
    return Answer(*q, {}, kRcodeNxDomain, false);
  }

  void Run() {
    while (!stop_) {
      pollfd fds[2] = {{udp_, POLLIN, 0}, {tcp_, POLLIN, 0}};
      if (::poll(fds, 2, 50) <= 0) continue;
      if (fds[0].revents & POLLIN) {
        Bytes buf(65535);
        sockaddr_storage from{};
        socklen_t len = sizeof from;
        ssize_t n = ::recvfrom(udp_, buf.data(), buf.size(), 0, reinterpret_cast<sockaddr*>(&from), &len);
        if (n > 0) {
          ++udp_queries_;
          {
            std::lock_guard<std::mutex> lock(mu_);
            source_ports_.insert(ntohs(reinterpret_cast<sockaddr_in*>(&from)->sin_port));
          }
          buf.resize(static_cast<size_t>(n));
          Bytes out = Respond(buf, true);
          ::sendto(udp_, out.data(), out.size(), 0, reinterpret_cast<sockaddr*>(&from), len);
        }
      }
      if (fds[1].revents & POLLIN) {
        int c = ::accept(tcp_, nullptr, nullptr);
        if (c < 0) continue;
        uint8_t prefix[2];
        if (::recv(c, prefix, 2, MSG_WAITALL) == 2) {
          Bytes buf((prefix[0] << 8) | prefix[1]);
          if (::recv(c, buf.data(), buf.size(), MSG_WAITALL) == static_cast<ssize_t>(buf.size())) {
            ++tcp_queries_;
            Bytes out = Respond(buf, false);
            uint8_t len[2] = {static_cast<uint8_t>(out.size() >> 8), static_cast<uint8_t>(out.size())};
            ::send(c, len, 2, MSG_NOSIGNAL);
            ::send(c, out.data(), out.size(), MSG_NOSIGNAL);
          }
        }
        ::close(c);
      }
    }
  }

  std::uint16_t port_;
  int udp_;
  int tcp_;
  std::atomic<bool> stop_{false};
  std::atomic<int> udp_queries_{0};
  std::atomic<int> tcp_queries_{0};
  mutable std::mutex mu_;
  std::set<std::uint16_t> source_ports_;
  std::thread thread_;
};

Bytes MakeQuery(std::string_view name, uint16_t type, uint16_t id, std::optional<uint16_t> edns = std::nullopt) {
  Bytes wire = BuildQuery(id, name, type).value();
  if (!edns) {
    wire.resize(wire.size() - 11);  // drop the OPT record
    wire[11] = 0;
  } else {
    wire[wire.size() - 8] = static_cast<uint8_t>(*edns >> 8);
    wire[wire.size() - 7] = static_cast<uint8_t>(*edns & 0xff);
  }
  return wire;
}

std::optional<Bytes> UdpAsk(std::uint16_t port, const Bytes& query, int timeout_ms = 3000) {
  int fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::sendto(fd, query.data(), query.size(), 0, reinterpret_cast<sockaddr*>(&a), sizeof a);
  pollfd p{fd, POLLIN, 0};
  std::optional<Bytes> out;
  if (::poll(&p, 1, timeout_ms) == 1) {
    Bytes buf(65535);
    ssize_t n = ::recv(fd, buf.data(), buf.size(), 0);
    if (n > 0) {
      buf.resize(static_cast<size_t>(n));
      out = std::move(buf);
    }
  }
  ::close(fd);
  return out;
}

std::optional<Bytes> TcpAsk(std::uint16_t port, const Bytes& query) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  timeval tv{5, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  std::optional<Bytes> out;
  if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0) {
    uint8_t len[2] = {static_cast<uint8_t>(query.size() >> 8), static_cast<uint8_t>(query.size())};
    ::send(fd, len, 2, MSG_NOSIGNAL);
    ::send(fd, query.data(), query.size(), MSG_NOSIGNAL);
    uint8_t prefix[2];
    if (::recv(fd, prefix, 2, MSG_WAITALL) == 2) {
      Bytes buf((prefix[0] << 8) | prefix[1]);
      if (::recv(fd, buf.data(), buf.size(), MSG_WAITALL) == static_cast<ssize_t>(buf.size())) out = std::move(buf);
    }
  }
  ::close(fd);
  return out;
}

class DnsProxyTest : public ::testing::Test {
 protected:
  void SetUp() override {
    state::WorkloadState::Contents c;
    auto svc = std::make_shared<state::Service>();
    svc->name = "web";
    svc->ns = "ns";
    svc->hostname = "web.ns.svc.cluster.local";
    svc->vips = {{"", state::PackIp("10.96.0.11").value()}};
    c.services[svc->Key()] = svc;
    store_.Publish(std::make_shared<state::WorkloadState>(std::move(c)));
    pool_.Start();
  }
  void StartProxy(std::vector<net::SocketAddress> upstreams) {
    ProxyConfig config;
    config.upstreams = std::move(upstreams);
    config.upstream_timeout = std::chrono::milliseconds(500);
    service_ = std::make_unique<DnsService>(store_, config, 1);
    port_ = FreePort();
    ASSERT_NE(port_, 0);
    auto proxy = PodDnsProxy::Start(*service_, pool_.loop(0), 0, std::make_shared<net::DefaultSocketFactory>(),
                                    Client{"ns", ""}, port_);
    ASSERT_TRUE(proxy.ok()) << proxy.error().ToString();
    proxy_ = *proxy;
  }
  void TearDown() override {
    if (proxy_) proxy_->Stop();
    pool_.Stop();
  }

  state::StateStore store_;
  net::WorkerPool pool_{1};
  std::unique_ptr<DnsService> service_;
  std::shared_ptr<PodDnsProxy> proxy_;
  std::uint16_t port_ = 0;
};

TEST_F(DnsProxyTest, AnswersServiceNamesFromTheSnapshot) {
  Upstream upstream;
  StartProxy({upstream.address()});
  for (const char* name : {"web", "web.ns", "web.ns.svc", "web.ns.svc.cluster.local"}) {
    auto reply = UdpAsk(port_, MakeQuery(name, kTypeA, 0x5151));
    ASSERT_TRUE(reply.has_value()) << name;
    auto m = ParseMessage(*reply).value();
    EXPECT_EQ(m.header.id, 0x5151);
    EXPECT_TRUE(m.header.aa);
    EXPECT_EQ(m.header.rcode, kRcodeNoError);
    ASSERT_EQ(m.answers.size(), 1u) << name;
    EXPECT_EQ(state::FormatIp(m.answers[0].data), "10.96.0.11");
    EXPECT_EQ(m.answers[0].ttl, kAnswerTtl);
  }
  // Same over TCP.
  auto tcp = TcpAsk(port_, MakeQuery("web.ns", kTypeA, 9));
  ASSERT_TRUE(tcp.has_value());
  EXPECT_EQ(ParseMessage(*tcp).value().answers.size(), 1u);
  EXPECT_EQ(upstream.udp_queries() + upstream.tcp_queries(), 0);  // nothing forwarded
  EXPECT_EQ(service_->counters().answered, 5u);
}

TEST_F(DnsProxyTest, ForwardsOtherNamesAndPassesNxdomainThrough) {
  Upstream upstream;
  StartProxy({upstream.address()});
  auto reply = UdpAsk(port_, MakeQuery("ext.test", kTypeA, 0x7777));
  ASSERT_TRUE(reply.has_value());
  auto m = ParseMessage(*reply).value();
  EXPECT_EQ(m.header.id, 0x7777);  // the client's id, not the one sent upstream
  ASSERT_EQ(m.answers.size(), 1u);
  EXPECT_EQ(state::FormatIp(m.answers[0].data), "192.0.2.1");
  auto nx = UdpAsk(port_, MakeQuery("nope.test", kTypeA, 3));
  ASSERT_TRUE(nx.has_value());
  EXPECT_EQ(ParseMessage(*nx).value().header.rcode, kRcodeNxDomain);
  // A known name with another type is forwarded too (the upstream owns it).
  auto txt = UdpAsk(port_, MakeQuery("web.ns.svc.cluster.local", 16, 4));
  ASSERT_TRUE(txt.has_value());
  EXPECT_EQ(upstream.udp_queries(), 3);
}

std::string SeqName(int i) { return std::to_string(i) + ".seq.test"; }
std::string SeqAddress(int i) { return "198.51.100." + std::to_string(i % 250); }

TEST_F(DnsProxyTest, ForwardedQueriesShareOneUpstreamSocketThatIsReplacedAfter64) {
  Upstream upstream;
  StartProxy({upstream.address()});
  for (int i = 0; i < 150; ++i) {
    const auto id = static_cast<uint16_t>(1000 + i);
    auto reply = UdpAsk(port_, MakeQuery(SeqName(i), kTypeA, id));
    ASSERT_TRUE(reply.has_value()) << i;
    auto m = ParseMessage(*reply).value();
    EXPECT_EQ(m.header.id, id);
    ASSERT_EQ(m.answers.size(), 1u) << i;
    EXPECT_EQ(state::FormatIp(m.answers[0].data), SeqAddress(i));
  }
  // 64 + 64 + 22 queries: three sockets, three source ports, not 150.
  EXPECT_EQ(upstream.udp_queries(), 150);
  EXPECT_EQ(upstream.udp_source_ports(), 3u);
  EXPECT_EQ(service_->counters().upstream_udp_sockets, 3u);
}

TEST_F(DnsProxyTest, ConcurrentForwardedQueriesEachGetTheirOwnAnswer) {
  Upstream upstream;
  StartProxy({upstream.address()});
  // 40 clients ask at once; every answer must be the one for its own name,
  // although they all travel over one upstream socket.
  constexpr int kClients = 40;
  std::vector<int> fds;
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port_);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  for (int i = 0; i < kClients; ++i) {
    fds.push_back(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
    Bytes q = MakeQuery(SeqName(i), kTypeA, static_cast<uint16_t>(7 * i + 1));
    ::sendto(fds.back(), q.data(), q.size(), 0, reinterpret_cast<sockaddr*>(&a), sizeof a);
  }
  int answered = 0;
  for (int i = 0; i < kClients; ++i) {
    pollfd p{fds[static_cast<std::size_t>(i)], POLLIN, 0};
    if (::poll(&p, 1, 3000) != 1) continue;
    Bytes buf(65535);
    const ssize_t n = ::recv(p.fd, buf.data(), buf.size(), 0);
    if (n <= 0) continue;
    buf.resize(static_cast<size_t>(n));
    auto m = ParseMessage(buf).value();
    EXPECT_EQ(m.header.id, 7 * i + 1);
    ASSERT_EQ(m.answers.size(), 1u) << i;
    EXPECT_EQ(state::FormatIp(m.answers[0].data), SeqAddress(i)) << i;
    ++answered;
  }
  for (int fd : fds) ::close(fd);
  EXPECT_EQ(answered, kClients);
  EXPECT_EQ(upstream.udp_source_ports(), 1u);
}

TEST_F(DnsProxyTest, TruncatesForUdpClientsAndFallsBackToTcp) {
  Upstream upstream;
  StartProxy({upstream.address()});
  // Classic client (no EDNS): the upstream truncates, the proxy fetches the
  // full answer over TCP, which is still too big for 512 bytes: TC to the client.
  auto reply = UdpAsk(port_, MakeQuery("big.test", kTypeA, 11));
  ASSERT_TRUE(reply.has_value());
  auto m = ParseMessage(*reply).value();
  EXPECT_TRUE(m.header.tc);
  EXPECT_EQ(m.answers.size(), 0u);
  EXPECT_LE(reply->size(), 512u);
  EXPECT_GE(service_->counters().truncated, 1u);
  EXPECT_GE(service_->counters().upstream_tcp_retries, 1u);
  // The client's retry over TCP gets everything.
  auto full = TcpAsk(port_, MakeQuery("big.test", kTypeA, 12));
  ASSERT_TRUE(full.has_value());
  auto f = ParseMessage(*full).value();
  EXPECT_FALSE(f.header.tc);
  EXPECT_EQ(f.answers.size(), 60u);
  // A client that accepts 4096 bytes gets the full answer over UDP: the proxy
  // went to the upstream over TCP after its truncated UDP answer.
  const int tcp_before = upstream.tcp_queries();
  auto edns = UdpAsk(port_, MakeQuery("big.test", kTypeA, 13, 4096));
  ASSERT_TRUE(edns.has_value());
  auto e = ParseMessage(*edns).value();
  EXPECT_FALSE(e.header.tc);
  EXPECT_EQ(e.answers.size(), 60u);
  EXPECT_EQ(upstream.tcp_queries(), tcp_before + 1);
}

TEST_F(DnsProxyTest, LocalAnswersTooBigForUdpAreTruncated) {
  // A headless service with many endpoints: its A answer exceeds 512 bytes.
  state::WorkloadState::Contents c;
  auto svc = std::make_shared<state::Service>();
  svc->name = "many";
  svc->ns = "ns";
  svc->hostname = "many.ns.svc.cluster.local";
  c.services[svc->Key()] = svc;
  for (int i = 0; i < 40; ++i) {
    auto w = std::make_shared<state::Workload>();
    w->uid = "w" + std::to_string(i);
    w->addresses = {state::PackIp("10.244.0." + std::to_string(i + 1)).value()};
    w->services[svc->Key()] = {};
    c.workloads[w->uid] = w;
  }
  store_.Publish(std::make_shared<state::WorkloadState>(std::move(c)));
  StartProxy({});
  auto udp = UdpAsk(port_, MakeQuery("many", kTypeA, 21));
  ASSERT_TRUE(udp.has_value());
  auto m = ParseMessage(*udp).value();
  EXPECT_TRUE(m.header.tc);
  EXPECT_EQ(m.answers.size(), 0u);
  auto tcp = TcpAsk(port_, MakeQuery("many", kTypeA, 22));
  ASSERT_TRUE(tcp.has_value());
  EXPECT_EQ(ParseMessage(*tcp).value().answers.size(), 40u);
}

TEST_F(DnsProxyTest, MalformedQueriesGetFormerrAndDeadUpstreamsServfail) {
  // The upstream is a port nothing listens on: ICMP refusal, then SERVFAIL.
  const std::uint16_t dead = FreePort();
  StartProxy({net::SocketAddress(net::IpAddress::Loopback4(), dead)});
  Bytes bad = MakeQuery("x.test", kTypeA, 31);
  bad[5] = 2;  // claims two questions
  auto formerr = UdpAsk(port_, bad);
  ASSERT_TRUE(formerr.has_value());
  auto h = ParseHeader(*formerr).value();
  EXPECT_EQ(h.id, 31);
  EXPECT_EQ(h.rcode, kRcodeFormErr);
  EXPECT_FALSE(UdpAsk(port_, Bytes{1, 2, 3}, 300).has_value());  // no header: dropped
  auto servfail = UdpAsk(port_, MakeQuery("x.test", kTypeA, 32));
  ASSERT_TRUE(servfail.has_value());
  EXPECT_EQ(ParseHeader(*servfail).value().rcode, kRcodeServFail);
  EXPECT_EQ(service_->counters().upstream_failures, 1u);
  // The refusal retired that socket: the next query gets a new one (and
  // SERVFAIL again, quickly, not after the timeout).
  auto again = UdpAsk(port_, MakeQuery("y.test", kTypeA, 33));
  ASSERT_TRUE(again.has_value());
  EXPECT_EQ(ParseHeader(*again).value().rcode, kRcodeServFail);
  EXPECT_EQ(service_->counters().upstream_failures, 2u);
  EXPECT_EQ(service_->counters().upstream_udp_sockets, 2u);
}

TEST_F(DnsProxyTest, ResolvesHostnamesFromTheSnapshotThenUpstream) {
  Upstream upstream;
  StartProxy({upstream.address()});
  auto run = [&](std::string name) {
    std::promise<Result<net::IpAddress>> done;
    asio::co_spawn(pool_.loop(0),
                   [&]() -> asio::awaitable<void> {
                     // Arguments made before the co_await: GCC 12 mishandles
                     // class-type temporaries inside a co_await expression.
                     auto resolving = ResolveHostname(*service_, 0, std::make_shared<net::DefaultSocketFactory>(),
                                                      Client{"ns", ""}, name, false);
                     auto result = co_await std::move(resolving);
                     done.set_value(std::move(result));
                   },
                   asio::detached);
    return done.get_future().get();
  };
  auto local = run("web.ns.svc.cluster.local");
  ASSERT_TRUE(local.ok()) << local.error().ToString();
  EXPECT_EQ(local->ToString(), "10.96.0.11");
  auto remote = run("ext.test");
  ASSERT_TRUE(remote.ok()) << remote.error().ToString();
  EXPECT_EQ(remote->ToString(), "192.0.2.1");
  EXPECT_FALSE(run("nope.test").ok());
}

}  // namespace
}  // namespace ambit::dns
