// Which endpoint of a backend serves one HTTP try, by the backend's
// DestinationRule load balancing policy (route::LoadBalancer), decided as a
// value (docs/traffic-management.md, "Load balancing"):
//
//   consistentHash   the request's hash (RequestHash: a header, a query
//                    parameter, the source IP or a cookie; a random value
//                    when the request lacks it, as Envoy does) looked up on a
//                    ring hash over the endpoints (HashRing: like Envoy's
//                    RING_HASH, Istio's default for consistentHash).
//                    Removing an endpoint moves only the requests that
//                    hashed to it.
//   LEAST_REQUEST    Envoy's power of two choices: two endpoints at random,
//                    the one with fewer requests outstanding on this loop.
//   RANDOM           uniformly at random.
//   ROUND_ROBIN      the next endpoint in turn, per backend and loop.
//
// https://www.envoyproxy.io/docs/envoy/latest/intro/arch_overview/upstream/load_balancing/load_balancers
//
// A retry (|attempt| > 0) walks on from the first choice (the next ring
// entry for a hash, a fresh choice otherwise), so that a caller can prefer an
// endpoint not tried yet, as Envoy's previous_hosts predicate does.
//
// Threading: RequestHash, HashRing and PickEndpoint are pure; LbLoopState is
// owned by one event loop (no locks).
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "h2/headers.h"
#include "net/socket_address.h"
#include "route/load_balancer.h"

namespace ambit::waypoint {

// A stable 64-bit hash (FNV-1a, then a 64-bit finalizer), the same on every
// waypoint replica so that they agree on a key's endpoint.
std::uint64_t StableHash(std::string_view bytes);

// The request's consistent-hash value under |lb|; nullopt when |lb| has no
// consistentHash or the request lacks the input (the header, parameter or
// cookie). Several fields of the header are hashed sorted and joined, so
// their order does not matter.
std::optional<std::uint64_t> RequestHash(const route::LoadBalancer& lb, const h2::RequestHead& head,
                                         const net::IpAddress& client);

// A ring hash over endpoint keys: each endpoint owns a fixed number of
// points at StableHash("<key>_<i>"); a hash maps to the first point at or
// after it (wrapping). Depends only on the set of keys, not their order. The
// points per endpoint do not depend on how many endpoints there are (unlike
// Envoy's ring, sized from minimumRingSize), so the endpoints that stay keep
// exactly their points when one goes away or comes back.
class HashRing {
 public:
  // As ketama's 160 points per server: a ring of 1024+ points from 7
  // endpoints, each endpoint's share within about 10% of even.
  static constexpr std::size_t kPointsPerEndpoint = 160;

  explicit HashRing(std::vector<std::string> endpoints,
                    std::size_t points_per_endpoint = kPointsPerEndpoint);

  // The index in endpoints() for |hash|; |attempt| > 0 walks that many ring
  // entries further (a retry). endpoints() must not be empty.
  std::size_t Pick(std::uint64_t hash, std::uint32_t attempt = 0) const;
  const std::vector<std::string>& endpoints() const { return endpoints_; }

 private:
  std::vector<std::string> endpoints_;
  std::vector<std::pair<std::uint64_t, std::uint32_t>> ring_;  // (point, endpoint index), sorted
};

// One event loop's load balancing state: round robin positions per backend,
// outstanding requests per endpoint, hash rings per backend. Not thread-safe.
class LbLoopState {
 public:
  std::uint64_t NextRoundRobin(const std::string& backend) { return round_robin_[backend]++; }
  std::uint32_t Outstanding(const std::string& endpoint) const;
  void Started(const std::string& endpoint) { ++outstanding_[endpoint]; }
  void Finished(const std::string& endpoint);
  // The ring over |endpoints| for |backend|, rebuilt when they changed.
  const HashRing& Ring(const std::string& backend, const std::vector<std::string>& endpoints);

 private:
  std::unordered_map<std::string, std::uint64_t> round_robin_;
  std::unordered_map<std::string, std::uint32_t> outstanding_;
  std::unordered_map<std::string, std::unique_ptr<HashRing>> rings_;
};

// The index in |endpoints| (not empty) that serves try |attempt| (0 = the
// first) of a request to |backend| ("<host> <subset>") under |lb|. |hash| is
// RequestHash's value; |random| fresh random bits for this call.
std::size_t PickEndpoint(const route::LoadBalancer& lb, const std::string& backend,
                         const std::vector<std::string>& endpoints,
                         std::optional<std::uint64_t> hash, std::uint32_t attempt,
                         LbLoopState& state, std::uint64_t random);

}  // namespace ambit::waypoint
