// What the waypoint does with one HTTP request it parsed from a tunnel,
// decided as a plain value before any I/O (docs/waypoint.md, "HTTP"):
//
//   the Service has a route table (route::RouteTable)
//     no route matches                    -> 404, response flag NR (Envoy's
//                                            "no route")
//     the route redirects                 -> its status with Location
//     the route answers directly          -> its status and body
//     the chosen backend is unresolved    -> its unresolved_status, flag NC
//     otherwise                           -> forward to the backend picked
//                                            by weight, with the route's
//                                            rewrites and header changes
//   no route table                        -> Istio's default route: forward
//                                            to the addressed Service itself,
//                                            with Istio's default retry policy
//                                            (route::IstioDefaultRetry)
//
// Then, for a forwarded request, the headers every proxied request gets
// (AddProxyRequestHeaders: x-forwarded-for, x-forwarded-proto, x-request-id,
// x-envoy-attempt-count) and every proxied response gets
// (AddProxyResponseHeaders: the route's response header changes,
// x-envoy-upstream-service-time), named as Envoy names them
// (https://www.envoyproxy.io/docs/envoy/latest/configuration/http/http_conn_man/headers).
//
// Pure; thread-compatible (RouteTable::Match is const and thread-safe).
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "h2/headers.h"
#include "net/socket_address.h"
#include "route/route.h"
#include "route/table.h"

namespace ambit::waypoint {

// The Service a tunnel addressed: the route table's host and port.
struct HttpDestination {
  std::string service_host;  // FQDN, e.g. reviews.default.svc.cluster.local
  std::uint16_t port = 0;    // the service port
};

struct ForwardRequest {
  std::string route_name;    // "" for the default route
  std::string backend_host;  // the Service whose endpoints serve the request
  std::uint16_t backend_port = 0;
  std::string backend_subset;  // "" = every endpoint
  // The backend's DestinationRule load balancing (round robin by default).
  route::LoadBalancer load_balancer;
  h2::RequestHead head;  // as it goes upstream: rewrites and header changes applied
  // Applied to the answer, in order: the route's, then the backend's.
  route::HeaderModifier route_response_headers;
  route::HeaderModifier backend_response_headers;
  // The route's timeouts and retry policy (route::Route); the default route
  // (no table) has no timeout and Istio's default retry policy.
  route::Timeouts timeouts;
  const route::RetryPolicy* retry = nullptr;  // owned by the table (or static); null: none
  // The route's fault injection and mirrors (copies: a mirror outlives the
  // request and the table snapshot it came from).
  std::optional<route::Fault> fault;
  std::vector<route::Mirror> mirrors;
};

struct LocalReply {
  int status = 0;
  h2::Headers fields;  // e.g. location
  std::string body;
  std::string flag;    // Envoy response flag ("NR", "NC"), "" for a configured answer
  std::string reason;  // for the log
};

using RequestDecision = std::variant<ForwardRequest, LocalReply>;

// |table| null: the default route. |random| picks the weighted backend.
RequestDecision DecideRequest(const HttpDestination& destination, h2::RequestHead head,
                              const route::RouteTable* table, std::uint64_t random);

// Changes |fields| as |modifier| says (RFC 9110 field names compared
// case-insensitively): remove, then set (replacing every field of that
// name), then add.
void ApplyHeaderModifier(h2::Headers& fields, const route::HeaderModifier& modifier);

// The request headers of one try: x-forwarded-for gets |client| appended (a
// new field when absent), x-forwarded-proto "http" when absent, x-request-id
// |generated_request_id| when absent, x-envoy-attempt-count |attempt|
// (replacing a value the client sent).
void AddProxyRequestHeaders(h2::RequestHead& head, const net::IpAddress& client,
                            std::string_view generated_request_id, int attempt);

// x-envoy-attempt-count |attempt| (1 = the first try), replacing the
// previous value: for each retry after AddProxyRequestHeaders.
void SetAttemptCount(h2::RequestHead& head, int attempt);

// The response headers: |forward|'s header changes, then
// x-envoy-upstream-service-time (milliseconds from sending the request
// upstream to the response head).
void AddProxyResponseHeaders(h2::ResponseHead& head, const ForwardRequest& forward,
                             std::chrono::milliseconds upstream_time);

// Fault injection as Envoy's fault filter does it, configured per route as
// Istio configures it from VirtualService `fault`
// (https://istio.io/latest/docs/reference/config/networking/virtual-service/#HTTPFaultInjection,
// https://www.envoyproxy.io/docs/envoy/latest/configuration/http/http_filters/fault_filter):
// the delay first, then the abort, each drawn on its own; both before any
// upstream is chosen or contacted.
struct FaultDecision {
  std::chrono::milliseconds delay{0};  // 0: not delayed (response flag DI otherwise)
  std::optional<LocalReply> abort;     // the answer instead of forwarding (flag FI)
};

// Whether a request falls in |percentage| (0-100, fractions allowed) of
// requests given |draw|, a uniform random number: in millionths, as Istio
// hands percentages to Envoy (FractionalPercent, denominator MILLION).
bool InPercentage(double percentage, std::uint64_t draw);

// |delay_draw| and |abort_draw| are independent uniform random numbers. An
// HTTP abort answers its status with Envoy's body "fault filter abort"; a
// gRPC abort answers 200 in gRPC's trailers-only form (content-type
// application/grpc, grpc-status, grpc-message in the head, no body).
FaultDecision DecideFault(const route::Fault& fault, std::uint64_t delay_draw,
                          std::uint64_t abort_draw);

// The mirror copy's Host/:authority: "-shadow" appended to the host, before
// any port ("reviews:9080" -> "reviews-shadow:9080"), as Envoy's shadow
// requests carry it
// (https://www.envoyproxy.io/docs/envoy/latest/api-v3/config/route/v3/route_components.proto#config-route-v3-routeaction-requestmirrorpolicy).
std::string ShadowAuthority(std::string_view authority);

// A version 4 UUID (RFC 9562 §5.4) from 128 random bits, lower-case hex: the
// form Envoy generates for x-request-id.
std::string FormatRequestId(std::uint64_t high, std::uint64_t low);

}  // namespace ambit::waypoint
