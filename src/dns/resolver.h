// Which questions the node proxy answers itself, and with what: a pure
// function of the question, the asking pod and the discovery snapshot
// (Istio ztunnel's DNS semantics, https://istio.io/latest/docs/ops/configuration/traffic-management/dns-proxy/):
//
//  - Only A and AAAA questions of class IN are looked at; everything else is
//    forwarded to the upstream resolver.
//  - The name is tried as asked, as its Kubernetes expansions from the pod's
//    namespace (`web` -> web.<ns>.svc.<domain>, `web.ns` -> web.ns.svc.<domain>,
//    `web.ns.svc` -> web.ns.svc.<domain>), and with each search domain a
//    Kubernetes resolver appends (<ns>.svc.<domain>, svc.<domain>, <domain>)
//    stripped off, plus that name's expansions; each candidate also as its
//    wildcards (a.b.c, *.b.c, *.c) for ServiceEntry hosts like *.example.com.
//  - A candidate matches a Service with that hostname that has VIPs, or a
//    headless Kubernetes Service (hostname under .svc.<domain>); a Service of
//    the pod's own namespace wins over others.
//  - A match is answered authoritatively with TTL 30: the Service's VIPs on the
//    pod's network of the asked family, or for a headless Service the healthy
//    endpoints' addresses. A name found through a stripped search domain gets a
//    CNAME from the asked name to the stripped one. No address of that family
//    is NODATA (NOERROR, no records), never NXDOMAIN.
//  - Anything not matched is forwarded; NXDOMAIN only ever comes from upstream.
//
// NameTable is built once per discovery snapshot and borrows from it.
// Thread-compatible; a const NameTable is safe to share.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "dns/message.h"
#include "state/workload_state.h"

namespace ambit::dns {

inline constexpr uint32_t kAnswerTtl = 30;  // seconds, as ztunnel

struct ResolverSettings {
  std::string domain = "cluster.local";  // the cluster's DNS domain (MeshSettings.domain_suffix)
  uint32_t ttl = kAnswerTtl;
  bool ipv6 = true;                      // answer AAAA from IPv6 addresses
};

// The pod that asks.
struct Client {
  std::string ns;
  std::string network;  // "" = default network
};

class NameTable {
 public:
  struct Entry {
    const state::Service* service = nullptr;
    // Packed addresses of the healthy endpoints (headless services only).
    std::vector<std::string> endpoint_addresses;
  };

  NameTable() = default;
  // Indexes every service of |snapshot| by lower-cased hostname. |snapshot|
  // must outlive the table.
  explicit NameTable(const state::WorkloadState& snapshot);

  // Services whose hostname is exactly |hostname| (lower case), in key order.
  const std::vector<Entry>* Find(std::string_view hostname) const;
  std::size_t size() const { return by_host_.size(); }

 private:
  std::unordered_map<std::string, std::vector<Entry>> by_host_;
};

struct Decision {
  enum class Kind { kForward, kAnswer };
  Kind kind = Kind::kForward;
  Reply reply;          // kAnswer only
  std::string service;  // "namespace/hostname" that matched (kAnswer)
};

Decision Resolve(const Question& question, const Client& client, const NameTable& names,
                 const ResolverSettings& settings);

// The candidate names Resolve tries for |name| (lookup form), in order, each
// with the stripped name it came from ("" when asked as is). Exposed for tests.
struct Alias {
  std::string name;
  std::string stripped;
  friend bool operator==(const Alias&, const Alias&) = default;
};
std::vector<Alias> Aliases(std::string_view name, std::string_view client_ns, std::string_view domain);

}  // namespace ambit::dns
