#include "waypoint/load_balancer.h"

#include <algorithm>

namespace ambit::waypoint {
namespace {

std::uint64_t Mix(std::uint64_t x) {  // the splitmix64 finalizer
  x ^= x >> 30;
  x *= 0xbf58476d1ce4e5b9ULL;
  x ^= x >> 27;
  x *= 0x94d049bb133111ebULL;
  x ^= x >> 31;
  return x;
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// The value of query parameter |name| in |path| (raw, not percent-decoded),
// nullopt when absent.
std::optional<std::string_view> QueryParameter(std::string_view path, std::string_view name) {
  const auto q = path.find('?');
  if (q == std::string_view::npos) return std::nullopt;
  std::string_view query = path.substr(q + 1);
  if (const auto hash = query.find('#'); hash != std::string_view::npos) {
    query = query.substr(0, hash);
  }
  while (!query.empty()) {
    const auto amp = query.find('&');
    std::string_view pair = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
    const auto eq = pair.find('=');
    if (pair.substr(0, eq) != name) continue;
    return eq == std::string_view::npos ? std::string_view() : pair.substr(eq + 1);
  }
  return std::nullopt;
}

// The value of cookie |name| in the request's cookie fields (RFC 6265 §5.4:
// "name=value" pairs separated by ';').
std::optional<std::string_view> Cookie(const h2::Headers& fields, std::string_view name) {
  for (const h2::Header& h : fields) {
    if (h.name != "cookie") continue;
    std::string_view rest = h.value;
    while (!rest.empty()) {
      const auto semi = rest.find(';');
      std::string_view pair = Trim(rest.substr(0, semi));
      rest = semi == std::string_view::npos ? std::string_view() : rest.substr(semi + 1);
      const auto eq = pair.find('=');
      if (eq == std::string_view::npos || Trim(pair.substr(0, eq)) != name) continue;
      std::string_view value = Trim(pair.substr(eq + 1));
      if (value.size() >= 2 && value.front() == '"' && value.back() == '"') {
        value = value.substr(1, value.size() - 2);
      }
      return value;
    }
  }
  return std::nullopt;
}

}  // namespace

std::uint64_t StableHash(std::string_view bytes) {
  std::uint64_t h = 0xcbf29ce484222325ULL;  // FNV-1a 64 offset basis
  for (const char c : bytes) {
    h ^= static_cast<std::uint8_t>(c);
    h *= 0x100000001b3ULL;  // FNV-1a 64 prime
  }
  return Mix(h);
}

std::optional<std::uint64_t> RequestHash(const route::LoadBalancer& lb, const h2::RequestHead& head,
                                         const net::IpAddress& client) {
  switch (lb.hash) {
    case route::LoadBalancer::Hash::kNone:
      return std::nullopt;
    case route::LoadBalancer::Hash::kHeader: {
      std::vector<std::string_view> values;
      if (lb.hash_key == "host" || lb.hash_key == ":authority") {
        if (!head.authority.empty()) values.push_back(head.authority);
      }
      for (const h2::Header& h : head.fields) {
        if (h.name == lb.hash_key) values.push_back(h.value);
      }
      if (values.empty()) return std::nullopt;
      std::sort(values.begin(), values.end());
      std::string joined;
      for (std::string_view v : values) joined += v;
      return StableHash(joined);
    }
    case route::LoadBalancer::Hash::kQueryParameter: {
      const auto v = QueryParameter(head.path, lb.hash_key);
      if (!v) return std::nullopt;
      return StableHash(*v);
    }
    case route::LoadBalancer::Hash::kSourceIp: {
      const auto& b = client.bytes();
      const std::size_t n = client.is_v4() ? 4 : 16;
      return StableHash(std::string_view(reinterpret_cast<const char*>(b.data()), n));
    }
    case route::LoadBalancer::Hash::kCookie: {
      const auto v = Cookie(head.fields, lb.hash_key);
      if (!v) return std::nullopt;
      return StableHash(*v);
    }
  }
  return std::nullopt;
}

HashRing::HashRing(std::vector<std::string> endpoints, std::size_t points_per_endpoint)
    : endpoints_(std::move(endpoints)) {
  if (endpoints_.empty()) return;
  const std::size_t per = std::max<std::size_t>(points_per_endpoint, 1);
  ring_.reserve(per * endpoints_.size());
  std::string point;
  for (std::size_t e = 0; e < endpoints_.size(); ++e) {
    for (std::size_t i = 0; i < per; ++i) {
      point = endpoints_[e];
      point += '_';
      point += std::to_string(i);
      ring_.emplace_back(StableHash(point), static_cast<std::uint32_t>(e));
    }
  }
  // Ties broken by the endpoint key, so the ring does not depend on the
  // order the endpoints came in.
  std::sort(ring_.begin(), ring_.end(), [this](const auto& a, const auto& b) {
    if (a.first != b.first) return a.first < b.first;
    return endpoints_[a.second] < endpoints_[b.second];
  });
}

std::size_t HashRing::Pick(std::uint64_t hash, std::uint32_t attempt) const {
  auto it = std::lower_bound(ring_.begin(), ring_.end(), hash,
                             [](const auto& entry, std::uint64_t h) { return entry.first < h; });
  std::size_t index = static_cast<std::size_t>(it - ring_.begin());
  index = (index + attempt) % ring_.size();
  return ring_[index].second;
}

std::uint32_t LbLoopState::Outstanding(const std::string& endpoint) const {
  auto it = outstanding_.find(endpoint);
  return it == outstanding_.end() ? 0 : it->second;
}

void LbLoopState::Finished(const std::string& endpoint) {
  auto it = outstanding_.find(endpoint);
  if (it == outstanding_.end()) return;
  if (--it->second == 0) outstanding_.erase(it);
}

const HashRing& LbLoopState::Ring(const std::string& backend,
                                  const std::vector<std::string>& endpoints) {
  std::unique_ptr<HashRing>& ring = rings_[backend];
  if (ring == nullptr || ring->endpoints() != endpoints) {
    ring = std::make_unique<HashRing>(endpoints);
  }
  return *ring;
}

std::size_t PickEndpoint(const route::LoadBalancer& lb, const std::string& backend,
                         const std::vector<std::string>& endpoints,
                         std::optional<std::uint64_t> hash, std::uint32_t attempt,
                         LbLoopState& state, std::uint64_t random) {
  const std::size_t n = endpoints.size();
  if (n <= 1) return 0;
  if (lb.hash != route::LoadBalancer::Hash::kNone) {
    // Envoy hashes a random value when the request has no hash input.
    return state.Ring(backend, endpoints).Pick(hash.value_or(random), attempt);
  }
  switch (lb.simple) {
    case route::LoadBalancer::Simple::kRoundRobin:
      return static_cast<std::size_t>(state.NextRoundRobin(backend) % n);
    case route::LoadBalancer::Simple::kRandom:
      return static_cast<std::size_t>(random % n);
    case route::LoadBalancer::Simple::kLeastRequest: {
      const std::size_t a = static_cast<std::size_t>(random % n);
      const std::size_t b = static_cast<std::size_t>(Mix(random) % n);
      return state.Outstanding(endpoints[b]) < state.Outstanding(endpoints[a]) ? b : a;
    }
  }
  return 0;
}

}  // namespace ambit::waypoint
