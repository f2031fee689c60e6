// The node proxy's DNS server: one PodDnsProxy per enrolled pod, listening on
// UDP and TCP port 15053 of the pod's loopback (127.0.0.1 and, when the pod has
// IPv6 on lo, ::1) inside the pod's network namespace, where the in-pod
// redirection sends the pod's port-53 traffic (docs/dns.md).
//
// Each query is parsed (message.h), decided (resolver.h: answered from the
// discovery snapshot, or forwarded), and answered on the transport it came on:
//  - UDP answers larger than the client's limit (512 bytes, or its EDNS(0)
//    size) carry no records and TC=1, so the client retries over TCP;
//  - forwarded queries go to the configured upstream resolvers in order, from
//    sockets the pod's socket factory makes (inside the pod's namespace,
//    marked so the redirection lets them through), with a fresh random id;
//    over UDP a pod's queries share one connected socket per upstream, which
//    is replaced after 64 queries (a new random source port); a UDP
//    answer with TC set is fetched again over TCP; an upstream that does not
//    answer in |upstream_timeout| (or answers something else) is skipped; when
//    none answers the client gets SERVFAIL.
//  - malformed queries get FORMERR (when the header is readable; otherwise
//    they are dropped), opcodes other than QUERY NOTIMP, EDNS versions other
//    than 0 BADVERS.
// TCP connections may carry several queries (RFC 7766), answered in order, and
// are closed after |tcp_idle| without a query.
//
// Threading: a pod's proxy runs entirely on one worker loop; DnsService is
// shared by all of them (its name tables are per loop, its counters atomic).
#pragma once

#include <asio/awaitable.hpp>
#include <asio/io_context.hpp>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/result.h"
#include "dns/resolver.h"
#include "net/socket_address.h"
#include "net/socket_factory.h"
#include "state/state_store.h"

namespace ambit::dns {

inline constexpr std::uint16_t kDnsProxyPort = 15053;

struct ProxyConfig {
  std::vector<net::SocketAddress> upstreams;  // tried in order; empty = SERVFAIL for forwards
  std::chrono::milliseconds upstream_timeout{2500};  // per upstream and transport
  std::chrono::milliseconds tcp_idle{5000};
  std::size_t max_in_flight = 256;  // per pod; queries beyond get REFUSED
  ResolverSettings resolver;
};

struct ProxyCounters {
  std::uint64_t queries = 0;          // every query read (UDP and TCP)
  std::uint64_t tcp_queries = 0;
  std::uint64_t answered = 0;         // answered from the snapshot (incl. NODATA)
  std::uint64_t forwarded = 0;        // sent upstream
  std::uint64_t upstream_failures = 0;  // forwarded queries no upstream answered (SERVFAIL)
  std::uint64_t upstream_tcp_retries = 0;  // upstream UDP answers with TC fetched over TCP
  std::uint64_t upstream_udp_sockets = 0;  // UDP sockets opened toward upstreams
  std::uint64_t truncated = 0;        // UDP answers sent with TC=1
  std::uint64_t malformed = 0;        // FORMERR or dropped
  std::uint64_t refused = 0;          // over max_in_flight
};

// What every pod proxy of one ztunnel shares.
class DnsService {
 public:
  // |store| must outlive the service; |loops| = the worker pool's size.
  DnsService(const state::StateStore& store, ProxyConfig config, std::size_t loops);
  ~DnsService();
  DnsService(const DnsService&) = delete;
  DnsService& operator=(const DnsService&) = delete;

  const ProxyConfig& config() const { return config_; }
  // The name table of the newest snapshot. Only on worker loop |loop|.
  const NameTable& Names(std::size_t loop);
  ProxyCounters counters() const;

  struct Counters;
  Counters& mutable_counters() { return *counters_; }

 private:
  struct LoopTables;
  const state::StateStore& store_;
  ProxyConfig config_;
  std::vector<std::unique_ptr<LoopTables>> tables_;
  std::unique_ptr<Counters> counters_;
};

class PodDnsProxy {
 public:
  // Binds UDP and TCP |port| on 127.0.0.1 (required) and ::1 (when the
  // namespace has it) through |sockets|, and serves them on |loop| (worker
  // |loop_index|). Fails naming the address that could not be bound.
  static Result<std::shared_ptr<PodDnsProxy>> Start(DnsService& service, asio::io_context& loop,
                                                    std::size_t loop_index,
                                                    std::shared_ptr<const net::SocketFactory> sockets,
                                                    Client client, std::uint16_t port);
  ~PodDnsProxy();

  // Closes the sockets and cancels the queries being answered and the TCP
  // client connections (asynchronously, on the proxy's loop; they are owned
  // by the proxy's net::TaskGroup). Safe from any thread; idempotent.
  void Stop();
  const std::vector<net::SocketAddress>& addresses() const;

  struct Impl;

 private:
  explicit PodDnsProxy(std::shared_ptr<Impl> impl);
  std::shared_ptr<Impl> impl_;
};

// Resolves |hostname| for a connection from a pod (a ServiceEntry endpoint
// known only by name): from the discovery snapshot first, as the pod's DNS
// proxy would answer, else from the upstream resolvers through |sockets| (the
// pod's namespace). One address at random, of the IPv6 family when |want_v6|
// and there is one, else of the other. Runs on worker loop |loop|.
asio::awaitable<Result<net::IpAddress>> ResolveHostname(DnsService& service, std::size_t loop,
                                                       std::shared_ptr<const net::SocketFactory> sockets,
                                                       Client client, std::string hostname, bool want_v6);

// Nameservers of a resolv.conf text ("nameserver" lines, port 53), in order;
// lines that are not valid addresses are skipped. At most 3, as glibc.
std::vector<net::SocketAddress> ParseResolvConfNameservers(std::string_view text);

}  // namespace ambit::dns
