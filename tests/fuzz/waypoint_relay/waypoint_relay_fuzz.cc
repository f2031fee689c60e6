// Feeds arbitrary header sets to the waypoint's relay decision over a fixed
// discovery view. Input format: a sequence of "name\0value\0" pairs. Checks
// that the decision never crashes, refuses only with 400 or 503, and relays
// only what is bound to this waypoint, to an endpoint (never back to a
// waypoint) on the right HBONE port.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <map>
#include <string>

#include "waypoint/relay_decision.h"

namespace {

using namespace ambit;

constexpr char kMe[] = "shop/waypoint.shop.svc.cluster.local";

net::IpAddress Ip(const char* s) { return *net::IpAddress::Parse(s); }

class Lookup final : public hbone::DestinationLookup {
 public:
  Lookup() {
    hbone::WorkloadTarget pod{Ip("10.0.1.1"), identity::SpiffeId("cluster.local", "shop", "cart"), true};
    hbone::ServiceTarget bound{"cart.shop.svc.cluster.local", {{pod, 8080}}, {}};
    bound.waypoint = hbone::WaypointRef{kMe, std::nullopt, 15008};
    services_.emplace(Ip("10.96.0.1"), bound);
    hbone::ServiceTarget other{"pay.shop.svc.cluster.local", {{pod, 9000}}, {}};
    services_.emplace(Ip("10.96.0.2"), other);
    pod.waypoint = hbone::WaypointRef{kMe, std::nullopt, 15008};
    workloads_.emplace(pod.ip, pod);
  }
  std::optional<hbone::ServiceTarget> FindService(const net::SocketAddress& vip, std::uint64_t /*pick*/) const override {
    auto it = services_.find(vip.ip());
    if (it == services_.end()) return std::nullopt;
    return it->second;
  }
  std::optional<hbone::WorkloadTarget> FindWorkload(const net::IpAddress& ip) const override {
    auto it = workloads_.find(ip);
    if (it == workloads_.end()) return std::nullopt;
    return it->second;
  }
  std::optional<hbone::WaypointTarget> FindWaypoint(const hbone::WaypointRef&) const override {
    return hbone::WaypointTarget{
        {hbone::WorkloadTarget{Ip("10.0.9.1"), identity::SpiffeId("cluster.local", "shop", "waypoint"), true}},
        15008, {}};
  }

 private:
  std::map<net::IpAddress, hbone::ServiceTarget> services_;
  std::map<net::IpAddress, hbone::WorkloadTarget> workloads_;
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const Lookup lookup;
  static const waypoint::WaypointSelf self{kMe, {Ip("10.0.9.1")}};
  h2::Headers headers;
  std::string cur[2];
  int field = 0;
  for (std::size_t i = 0; i < size; ++i) {
    if (data[i] == 0) {
      if (++field == 2) {
        headers.push_back({std::move(cur[0]), std::move(cur[1])});
        cur[0].clear();
        cur[1].clear();
        field = 0;
      }
      continue;
    }
    cur[field] += static_cast<char>(data[i]);
  }
  waypoint::RelayDecision d = waypoint::DecideRelay(headers, lookup, self, size);
  if (const auto* r = std::get_if<waypoint::RelayRoute>(&d)) {
    if (r->route.via_waypoint) std::abort();
    if (r->route.kind != hbone::RouteDecision::Kind::kHbone) std::abort();  // every endpoint is in the mesh
    if (r->route.next_hop != net::SocketAddress(Ip("10.0.1.1"), 15008)) std::abort();
    const bool to_service = r->target.ip() == Ip("10.96.0.1");
    const bool to_pod = r->target.ip() == Ip("10.0.1.1");
    if (!to_service && !to_pod) std::abort();  // only what is bound here
    if (to_service && r->route.connect_target.port() != 8080) std::abort();
    if (to_pod && r->route.connect_target != r->target) std::abort();
  } else {
    const int status = std::get<waypoint::RelayRefusal>(d).status;
    if (status != 400 && status != 503) std::abort();
  }
  return 0;
}
