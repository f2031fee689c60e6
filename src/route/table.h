// The compiled route table an L7 proxy consults once per request.
//
//   auto table = route::Compile(std::move(rules));   // every regex compiled once
//   const route::Route* r = table->Match(request);    // no allocation
//   const route::Backend* b = route::PickBackend(*r, rng());
//
// Compile checks the rules (bad regex, path patterns, percentages, conflicting
// outcomes) and returns an Error naming the route and the field. A RouteTable
// is immutable after Compile; Match is const and safe to call from any number
// of threads (RE2 is thread-safe; one table per worker loop avoids sharing
// RE2's internal cache between cores). Semantics: docs/traffic-management.md.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "core/result.h"
#include "route/route.h"

namespace ambit::route {

// Request headers as the proxy holds them. Get receives a lower-case name and
// returns the value (repeated headers joined with ',' as RFC 9110 §5.3
// allows), or nullopt when the header is absent. Must not allocate per call
// for Match to stay allocation-free.
class HeaderLookup {
 public:
  virtual ~HeaderLookup() = default;
  virtual std::optional<std::string_view> Get(std::string_view lower_name) const = 0;
};

// What Match looks at. Views only; the caller keeps the strings alive.
struct RequestView {
  // Selects the host entry: the destination Service's hostname (a waypoint
  // knows it from the tunnel's target) or the Host header. A ":port" suffix is
  // ignored; compared case-insensitively.
  std::string_view host{};
  std::string_view authority{};  // the :authority / Host header as sent (for authority matches)
  std::string_view path{};       // request target in origin form, query included: "/a/b?x=1"
  std::string_view method{};     // "GET"
  uint16_t port = 0;             // the destination port (for RouteMatch::port)
  const HeaderLookup* headers = nullptr;  // null = no headers
};

struct MatchResult {
  const Route* route = nullptr;
  const RouteMatch* match = nullptr;  // the entry that matched; null if the route has no matches
  explicit operator bool() const { return route != nullptr; }
};

class RouteTable {
 public:
  RouteTable(RouteTable&&) noexcept;
  RouteTable& operator=(RouteTable&&) noexcept;
  RouteTable(const RouteTable&) = delete;
  RouteTable& operator=(const RouteTable&) = delete;
  ~RouteTable();

  // The route for |request|, or null when no route of the most specific host
  // entry matches (the proxy answers 404, as Envoy does with no route).
  const Route* Match(const RequestView& request) const { return MatchWithDetail(request).route; }
  MatchResult MatchWithDetail(const RequestView& request) const;

  Precedence precedence() const { return precedence_; }
  const std::vector<Route>& routes() const { return routes_; }

 private:
  friend Result<RouteTable> Compile(RouteRules rules);
  RouteTable();

  struct Entry {
    const Route* route;
    const RouteMatch* match;  // null: the route has no matches (matches everything)
  };
  struct Hash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  using HostMap = std::unordered_map<std::string, uint32_t, Hash, std::equal_to<>>;

  // One host entry's routes. Long lists are also split by the request path's
  // first segment ("/api/v1/x" -> "api"): by_segment[k] holds, in order, the
  // entries that can only match paths whose first segment is k plus every
  // entry that can match any path (`unkeyed`), so a request scans only those.
  struct HostRoutes {
    std::vector<Entry> all;
    std::unordered_map<std::string, std::vector<Entry>, Hash, std::equal_to<>> by_segment;
    std::vector<Entry> unkeyed;
    bool indexed = false;
  };

  const HostRoutes* Lookup(std::string_view host) const;
  static void Index(HostRoutes& host);

  Precedence precedence_ = Precedence::kFirstMatch;
  std::vector<Route> routes_;  // never resized after Compile: Entry points into it
  std::vector<std::unique_ptr<re2::RE2>> regexes_;
  std::vector<HostRoutes> lists_;  // one per host entry
  HostMap exact_;                  // "reviews.default.svc.cluster.local" -> list
  HostMap wildcard_;               // "*.example.com" stored as ".example.com" -> list
  std::optional<uint32_t> any_;    // "*"
};

// Checks and compiles |rules|. Errors (kInvalidArgument) name the route and
// field: "route 'HTTPRoute default/r rules[0]': matches[1].path: bad regular
// expression '(': missing ): (".
Result<RouteTable> Compile(RouteRules rules);

// A backend of |route| chosen by weight with |random| (uniform over 64 bits):
// backend i with probability weight_i / total. Null when the route has no
// backend of non-zero weight. Zero-weight backends are never picked.
const Backend* PickBackend(const Route& route, uint64_t random);

// Whether |path| (no query) matches |m| (exposed for tests and rewrites).
bool PathMatches(const PathMatch& m, std::string_view path);

// The path after |rewrite| for a request matched by |matched| (null = no
// path condition): kFullPath replaces the path; kPrefix replaces the matched
// prefix (Gateway API ReplacePrefixMatch element-wise, VirtualService `uri`
// as a plain prefix; the whole path when the match was not a prefix);
// kRegex substitutes every match. The query string is kept.
std::string RewritePath(const PathRewrite& rewrite, const PathMatch* matched,
                        std::string_view path_and_query);

// |text| with control characters escaped (\n, \xNN), so an error or a
// diagnostic quoting input (a pattern, a header name) stays on one line.
std::string OneLine(std::string_view text);

// The numeric gRPC status of a status name as VirtualService's
// fault.abort.grpcStatus spells it ("UNAVAILABLE" -> 14,
// https://github.com/grpc/grpc/blob/master/doc/statuscodes.md); nullopt for
// any other text.
std::optional<int> GrpcStatusCode(std::string_view name);

}  // namespace ambit::route
