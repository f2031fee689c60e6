// Route rules: the neutral, source-independent form of an L7 route
// (docs/traffic-management.md). Plain value types; thread-compatible. They are
// built by the lowering (route/lower.h) from HTTPRoute or VirtualService, or
// directly by tests, and handed to route::Compile (route/table.h), which checks
// and compiles them into a RouteTable.
//
// Semantics follow the Gateway API (https://gateway-api.sigs.k8s.io/reference/spec/#httproutematch)
// and Istio's VirtualService
// (https://istio.io/latest/docs/reference/config/networking/virtual-service/#HTTPMatchRequest).
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "route/load_balancer.h"

namespace re2 {
class RE2;
}

namespace ambit::route {

// How a string (header value, query parameter value, method, authority) is
// matched. kRegex is an RE2 full match (the whole value).
struct StringMatch {
  enum class Kind {
    kExact,    // value == text
    kPrefix,   // text starts with value (VirtualService's `prefix`)
    kRegex,    // RE2 full match of text
    kPresent,  // any value, including empty (VirtualService's `{}`)
  };
  Kind kind = Kind::kExact;
  std::string value{};       // the text or the pattern; unused for kPresent
  bool ignore_case = false;  // kExact/kPrefix compare ASCII case-insensitively

  // Set by Compile for kRegex (owned by the RouteTable); ignored on input.
  const re2::RE2* compiled = nullptr;
};

// The request path (without the query string) against a pattern.
struct PathMatch {
  enum class Kind {
    kExact,         // path == value
    kPathPrefix,    // Gateway API PathPrefix: element-wise on '/'; "/a" matches "/a", "/a/",
                    // "/a/b", not "/ab"; a trailing '/' in value is ignored
    kStringPrefix,  // VirtualService uri `prefix`: plain string prefix ("/a" matches "/ab")
    kRegex,         // RE2 full match of the path
  };
  Kind kind = Kind::kPathPrefix;
  std::string value = "/";
  bool ignore_case = false;  // kExact/kStringPrefix/kPathPrefix (VirtualService ignoreUriCase)
  const re2::RE2* compiled = nullptr;  // set by Compile for kRegex
  // Set by Compile for kRegex: a prefix every matching path has (from RE2's
  // PossibleMatchRange), checked before running the regex.
  std::string literal_prefix{};
};

// A header or query parameter condition. A missing header or parameter never
// matches; `invert` negates the result, so an inverted condition matches when
// it is missing (VirtualService's withoutHeaders).
struct KeyValueMatch {
  std::string name{};  // header names are compared case-insensitively (lower-cased by Compile)
  StringMatch match{};
  bool invert = false;
};

// One way for a request to select a route: every condition set must hold.
struct RouteMatch {
  std::optional<PathMatch> path{};  // none: any path
  std::vector<KeyValueMatch> headers{};
  std::vector<KeyValueMatch> query_params{};  // on the raw (not percent-decoded) query string
  std::optional<StringMatch> method{};
  std::optional<StringMatch> authority{};  // the Host/:authority header as sent (port included)
  uint16_t port = 0;                       // the destination port; 0 = any
};

struct HeaderModifier {
  std::vector<std::pair<std::string, std::string>> set{};  // replace (or add) the header
  std::vector<std::pair<std::string, std::string>> add{};  // append a value
  std::vector<std::string> remove{};
  bool empty() const { return set.empty() && add.empty() && remove.empty(); }
};

// Where a request goes. An unresolved backend (a reference the lowering could
// not resolve, e.g. a subset no DestinationRule defines) keeps its weight and
// is answered locally with `unresolved_status` (Gateway API: 500; Istio: 503).
struct Backend {
  std::string host{};                // the Service's FQDN, e.g. reviews.default.svc.cluster.local
  uint16_t port = 0;                 // 0 = the request's destination port
  std::string subset{};              // DestinationRule subset name; empty = all endpoints
  uint32_t weight = 1;               // relative; 0 = never picked
  uint16_t unresolved_status = 0;    // 0 = resolved
  HeaderModifier request_headers{};  // per-backend header changes
  HeaderModifier response_headers{};
  LoadBalancer load_balancer{};  // the DestinationRule's policy for host/subset
};

// A path change. kPrefix replaces the part of the path the route's path match
// matched (for an Exact or Regex match or no path match: the whole path).
// kRegex replaces every RE2 match of `pattern` in the path with `value`
// (\1-style groups), as VirtualService's uriRegexRewrite.
struct PathRewrite {
  enum class Kind { kFullPath, kPrefix, kRegex };
  Kind kind = Kind::kFullPath;
  std::string value{};
  std::string pattern{};               // kRegex only
  const re2::RE2* compiled = nullptr;  // set by Compile for kRegex
};

struct Redirect {
  std::optional<std::string> scheme{};    // "http", "https"; none = unchanged
  std::optional<std::string> hostname{};  // none = unchanged
  std::optional<uint16_t> port{};         // none = unchanged
  std::optional<PathRewrite> path{};      // kFullPath or kPrefix; none = unchanged
  uint16_t status = 302;                  // 301, 302, 303, 307, 308
};

struct DirectResponse {
  uint16_t status = 200;
  std::string body{};
};

struct Timeouts {
  std::optional<std::chrono::milliseconds> request{};  // whole request incl. retries; 0 = none
  std::optional<std::chrono::milliseconds>
      backend_request{};  // one attempt (Gateway backendRequest)
};

// Retries as Envoy's route retry policy
// (https://www.envoyproxy.io/docs/envoy/latest/configuration/http/http_filters/router_filter#x-envoy-retry-on).
struct RetryPolicy {
  uint32_t attempts = 0;  // retries after the first try; 0 = none
  std::optional<std::chrono::milliseconds> per_try_timeout{};
  std::vector<std::string> retry_on{};  // Envoy conditions: "5xx", "connect-failure", ...
  std::vector<uint16_t> codes{};        // retriable status codes (retriable-status-codes)
  std::optional<std::chrono::milliseconds> backoff{};  // base interval
};

// Percentages are of requests, 0-100 (fractions allowed).
struct Fault {
  struct Delay {
    std::chrono::milliseconds fixed{0};
    double percentage = 100;
  };
  struct Abort {
    uint16_t http_status = 0;   // exactly one of http_status, grpc_status is set
    std::string grpc_status{};  // a gRPC status name, e.g. "UNAVAILABLE"
    double percentage = 100;
  };
  std::optional<Delay> delay{};
  std::optional<Abort> abort{};
};

struct Mirror {
  Backend backend{};  // weight unused
  double percentage = 100;
};

// One route rule: matches (any one selects it; none = every request) and what
// to do. Exactly one of backends, redirect, direct_response is the outcome.
struct Route {
  std::string
      name{};  // where it came from, for logs and errors: "VirtualService default/reviews http[0]"
  std::vector<std::string> hosts{};  // "reviews.default.svc.cluster.local", "*.example.com", "*"
  std::vector<RouteMatch> matches{};

  std::vector<Backend> backends{};
  std::optional<Redirect> redirect{};
  std::optional<DirectResponse> direct_response{};
  std::optional<PathRewrite> rewrite_path{};  // kFullPath, kPrefix or kRegex
  std::optional<std::string> rewrite_host{};
  HeaderModifier request_headers{};
  HeaderModifier response_headers{};
  Timeouts timeouts{};
  std::optional<RetryPolicy> retry{};
  std::optional<Fault> fault{};
  std::vector<Mirror> mirrors{};

  uint64_t total_weight = 0;  // set by Compile: the sum of backends' weights
};

// How a table orders its routes for one host.
enum class Precedence {
  // HTTPRoute: across all rules' matches, exact path > longest prefix > regex
  // (longest pattern first) > no path; then a method match; then most header
  // matches; then most query matches; then input order (the lowering gives
  // routes oldest first, then by namespace/name, then rule order).
  // https://gateway-api.sigs.k8s.io/reference/spec/#httprouterule
  kGatewayApi,
  // VirtualService: the first rule in input order with a matching entry.
  // https://istio.io/latest/docs/concepts/traffic-management/#routing-rule-precedence
  kFirstMatch,
};

struct RouteRules {
  Precedence precedence = Precedence::kFirstMatch;
  std::vector<Route> routes{};
};

}  // namespace ambit::route
