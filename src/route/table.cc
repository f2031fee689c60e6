#include "route/table.h"

#include <re2/re2.h>

#include <algorithm>
#include <array>
#include <set>
#include <tuple>

namespace ambit::route {
namespace {

char Lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

bool EqualsCase(std::string_view a, std::string_view b, bool ignore_case) {
  if (!ignore_case) return a == b;
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (Lower(a[i]) != Lower(b[i])) return false;
  }
  return true;
}

bool StartsCase(std::string_view text, std::string_view prefix, bool ignore_case) {
  return text.size() >= prefix.size() &&
         EqualsCase(text.substr(0, prefix.size()), prefix, ignore_case);
}

bool FullMatch(const re2::RE2* re, std::string_view text) {
  return re != nullptr && re2::RE2::FullMatch(re2::StringPiece(text.data(), text.size()), *re);
}

// A PathPrefix pattern without its trailing '/' ("/" becomes "").
std::string_view PrefixElements(std::string_view value) {
  while (!value.empty() && value.back() == '/') value.remove_suffix(1);
  return value;
}

bool StringMatches(const StringMatch& m, std::string_view text) {
  switch (m.kind) {
    case StringMatch::Kind::kExact:
      return EqualsCase(text, m.value, m.ignore_case);
    case StringMatch::Kind::kPrefix:
      return StartsCase(text, m.value, m.ignore_case);
    case StringMatch::Kind::kRegex:
      return FullMatch(m.compiled, text);
    case StringMatch::Kind::kPresent:
      return true;
  }
  return false;
}

// The value of the first |name| parameter in |query| ("a=1&b" -> b is ""),
// compared as raw bytes.
std::optional<std::string_view> QueryParam(std::string_view query, std::string_view name) {
  while (!query.empty()) {
    const size_t amp = query.find('&');
    std::string_view pair = query.substr(0, amp);
    const size_t eq = pair.find('=');
    if (pair.substr(0, eq) == name) {
      return eq == std::string_view::npos ? std::string_view() : pair.substr(eq + 1);
    }
    if (amp == std::string_view::npos) break;
    query.remove_prefix(amp + 1);
  }
  return std::nullopt;
}

bool KeyValueMatches(const KeyValueMatch& m, std::optional<std::string_view> value) {
  const bool hit = value.has_value() && StringMatches(m.match, *value);
  return hit != m.invert;
}

bool EntryMatches(const RouteMatch& m, const RequestView& r, std::string_view path,
                  std::string_view query) {
  if (m.port != 0 && m.port != r.port) return false;
  if (m.method && !StringMatches(*m.method, r.method)) return false;
  if (m.path && !PathMatches(*m.path, path)) return false;
  if (m.authority && !StringMatches(*m.authority, r.authority.empty() ? r.host : r.authority))
    return false;
  for (const KeyValueMatch& h : m.headers) {
    std::optional<std::string_view> v;
    if (r.headers != nullptr) v = r.headers->Get(h.name);
    if (!KeyValueMatches(h, v)) return false;
  }
  for (const KeyValueMatch& q : m.query_params) {
    if (!KeyValueMatches(q, QueryParam(query, q.name))) return false;
  }
  return true;
}

// The first segment of an origin-form path ("/api/v1" -> "api", "/" -> "");
// none for a path not starting with '/'.
std::optional<std::string_view> FirstSegment(std::string_view path) {
  if (path.empty() || path.front() != '/') return std::nullopt;
  const size_t end = path.find('/', 1);
  return path.substr(1, end == std::string_view::npos ? std::string_view::npos : end - 1);
}

// The first segment every path matching |m| has, when the match fixes it
// (case-sensitive matches only); none when it can match paths with any first
// segment.
std::optional<std::string> SegmentKey(const RouteMatch* m) {
  if (m == nullptr || !m->path || m->path->ignore_case) return std::nullopt;
  const PathMatch& p = *m->path;
  // A literal every matching path starts with, and whether it is the whole path
  // or ends at a segment boundary.
  std::string_view literal;
  bool bounded = false;
  switch (p.kind) {
    case PathMatch::Kind::kExact:
      literal = p.value;
      bounded = true;
      break;
    case PathMatch::Kind::kPathPrefix:
      literal = PrefixElements(p.value);
      bounded = !literal.empty();  // the path continues with '/' or ends there
      break;
    case PathMatch::Kind::kStringPrefix:
      literal = p.value;
      break;
    case PathMatch::Kind::kRegex:
      literal = p.literal_prefix;
      break;
  }
  if (literal.empty() || literal.front() != '/') return std::nullopt;
  const size_t end = literal.find('/', 1);
  if (end == std::string_view::npos && !bounded) return std::nullopt;
  return std::string(
      literal.substr(1, end == std::string_view::npos ? std::string_view::npos : end - 1));
}

// ---- Compile ----

class Compiler {
 public:
  explicit Compiler(std::vector<std::unique_ptr<re2::RE2>>* regexes) : regexes_(regexes) {}

  // Compiles |pattern|; on error returns the message.
  std::optional<std::string> Regex(const std::string& pattern, const re2::RE2** out) {
    re2::RE2::Options options;
    options.set_log_errors(false);
    auto re = std::make_unique<re2::RE2>(pattern, options);
    if (!re->ok()) return "bad regular expression '" + pattern + "': " + re->error();
    *out = re.get();
    regexes_->push_back(std::move(re));
    return std::nullopt;
  }

  std::optional<std::string> String(StringMatch& m) {
    if (m.kind != StringMatch::Kind::kRegex) return std::nullopt;
    return Regex(m.value, &m.compiled);
  }

 private:
  std::vector<std::unique_ptr<re2::RE2>>* regexes_;
};

// The longest string every match of |re| starts with: all matches lie in
// [min, max] (lexicographically), so they share min's and max's common prefix.
std::string LiteralPrefix(const re2::RE2& re) {
  std::string min, max;
  if (!re.PossibleMatchRange(&min, &max, 64)) return "";
  size_t n = 0;
  while (n < min.size() && n < max.size() && min[n] == max[n]) ++n;
  return min.substr(0, n);
}

std::string Idx(std::string_view field, size_t i) {
  return std::string(field) + "[" + std::to_string(i) + "]";
}

bool ValidPercent(double p) { return p >= 0 && p <= 100; }

// The first problem of |route| as "field: message", compiling its regexes.
std::optional<std::string> CheckRoute(Route& route, Compiler& c) {
  if (route.hosts.empty()) return "hosts: expected at least one host";
  for (size_t i = 0; i < route.hosts.size(); ++i) {
    if (route.hosts[i].empty()) return Idx("hosts", i) + ": expected a host name, got ''";
  }
  for (size_t i = 0; i < route.matches.size(); ++i) {
    RouteMatch& m = route.matches[i];
    const std::string at = Idx("matches", i);
    if (m.path) {
      if (m.path->kind == PathMatch::Kind::kRegex) {
        if (auto e = c.Regex(m.path->value, &m.path->compiled)) return at + ".path: " + *e;
        m.path->literal_prefix = LiteralPrefix(*m.path->compiled);
      } else if (m.path->value.empty() || m.path->value[0] != '/') {
        return at + ".path: expected a path starting with '/', got '" + m.path->value + "'";
      }
    }
    for (auto [list, field] :
         {std::pair{&m.headers, "headers"}, std::pair{&m.query_params, "queryParams"}}) {
      for (size_t j = 0; j < list->size(); ++j) {
        KeyValueMatch& kv = (*list)[j];
        if (kv.name.empty()) return at + "." + Idx(field, j) + ": expected a name";
        if (list == &m.headers)
          std::transform(kv.name.begin(), kv.name.end(), kv.name.begin(), Lower);
        if (auto e = c.String(kv.match))
          return at + "." + Idx(field, j) + " (" + kv.name + "): " + *e;
      }
    }
    if (m.method) {
      if (auto e = c.String(*m.method)) return at + ".method: " + *e;
    }
    if (m.authority) {
      if (auto e = c.String(*m.authority)) return at + ".authority: " + *e;
    }
  }
  const int outcomes =
      (route.backends.empty() ? 0 : 1) + (route.redirect ? 1 : 0) + (route.direct_response ? 1 : 0);
  if (outcomes > 1)
    return std::string("expected at most one of backends, redirect, directResponse");
  if (route.redirect) {
    const uint16_t s = route.redirect->status;
    if (s != 301 && s != 302 && s != 303 && s != 307 && s != 308) {
      return "redirect.status: expected 301, 302, 303, 307 or 308, got " + std::to_string(s);
    }
    if (route.redirect->path && route.redirect->path->kind == PathRewrite::Kind::kRegex) {
      return std::string("redirect.path: expected a full path or prefix replacement");
    }
    if (route.rewrite_path || route.rewrite_host)
      return std::string("expected no rewrite with a redirect");
  }
  auto path_value = [](const PathRewrite& rw) -> std::optional<std::string> {
    const bool absolute = !rw.value.empty() && rw.value[0] == '/';
    if (rw.kind == PathRewrite::Kind::kFullPath && !absolute) {
      return "expected a full path starting with '/', got '" + rw.value + "'";
    }
    if (rw.kind == PathRewrite::Kind::kPrefix && !rw.value.empty() && !absolute) {
      return "expected a prefix starting with '/' (or empty), got '" + rw.value + "'";
    }
    return std::nullopt;
  };
  if (route.redirect && route.redirect->path) {
    if (auto e = path_value(*route.redirect->path)) return "redirect.path: " + *e;
  }
  if (route.rewrite_path) {
    if (auto e = path_value(*route.rewrite_path)) return "rewrite.path: " + *e;
  }
  if (route.direct_response &&
      (route.direct_response->status < 200 || route.direct_response->status > 599)) {
    return "directResponse.status: expected 200-599, got " +
           std::to_string(route.direct_response->status);
  }
  if (route.rewrite_path && route.rewrite_path->kind == PathRewrite::Kind::kRegex) {
    PathRewrite& rw = *route.rewrite_path;
    if (auto e = c.Regex(rw.pattern, &rw.compiled)) return "rewrite.path: " + *e;
    std::string why;
    if (!rw.compiled->CheckRewriteString(rw.value, &why)) {
      return "rewrite.path: bad substitution '" + rw.value + "': " + why;
    }
  }
  route.total_weight = 0;
  for (const Backend& b : route.backends) route.total_weight += b.weight;
  if (route.fault) {
    if (route.fault->delay && !ValidPercent(route.fault->delay->percentage)) {
      return std::string("fault.delay.percentage: expected 0-100");
    }
    if (const auto& a = route.fault->abort) {
      if (!ValidPercent(a->percentage))
        return std::string("fault.abort.percentage: expected 0-100");
      if ((a->http_status != 0) == !a->grpc_status.empty()) {
        return std::string("fault.abort: expected exactly one of httpStatus, grpcStatus");
      }
      if (!a->grpc_status.empty() && !GrpcStatusCode(a->grpc_status)) {
        return "fault.abort.grpcStatus: '" + a->grpc_status + "' is not a gRPC status name";
      }
    }
  }
  for (size_t i = 0; i < route.mirrors.size(); ++i) {
    if (!ValidPercent(route.mirrors[i].percentage))
      return Idx("mirrors", i) + ".percentage: expected 0-100";
    if (route.mirrors[i].backend.host.empty())
      return Idx("mirrors", i) + ": expected a backend host";
  }
  if (route.retry) {
    for (uint16_t code : route.retry->codes) {
      if (code < 100 || code > 599)
        return "retry.codes: expected 100-599, got " + std::to_string(code);
    }
  }
  return std::nullopt;
}

// Gateway API precedence key of one entry: larger sorts first.
// (path rank: exact 3 > prefix 2 > regex 1 > none 0, pattern length, method,
// header count, query count). An entry without matches is PathPrefix "/".
std::tuple<int, size_t, int, size_t, size_t> GatewayKey(const RouteMatch* m) {
  if (m == nullptr) return {2, 1, 0, 0, 0};
  int rank = 0;
  size_t len = 0;
  if (m->path) {
    len = m->path->value.size();
    switch (m->path->kind) {
      case PathMatch::Kind::kExact:
        rank = 3;
        break;
      case PathMatch::Kind::kPathPrefix:
      case PathMatch::Kind::kStringPrefix:
        rank = 2;
        break;
      case PathMatch::Kind::kRegex:
        rank = 1;
        break;
    }
  }
  return {rank, len, m->method ? 1 : 0, m->headers.size(), m->query_params.size()};
}

}  // namespace

bool PathMatches(const PathMatch& m, std::string_view path) {
  switch (m.kind) {
    case PathMatch::Kind::kExact:
      return EqualsCase(path, m.value, m.ignore_case);
    case PathMatch::Kind::kStringPrefix:
      return StartsCase(path, m.value, m.ignore_case);
    case PathMatch::Kind::kPathPrefix: {
      const std::string_view p = PrefixElements(m.value);
      if (!StartsCase(path, p, m.ignore_case)) return false;
      return path.size() == p.size() || path[p.size()] == '/';
    }
    case PathMatch::Kind::kRegex:
      return path.starts_with(m.literal_prefix) && FullMatch(m.compiled, path);
  }
  return false;
}

RouteTable::RouteTable() = default;
RouteTable::RouteTable(RouteTable&&) noexcept = default;
RouteTable& RouteTable::operator=(RouteTable&&) noexcept = default;
RouteTable::~RouteTable() = default;

const RouteTable::HostRoutes* RouteTable::Lookup(std::string_view host) const {
  if (!host.empty() && host.front() == '[') {
    const size_t close = host.find(']');
    if (close != std::string_view::npos) host = host.substr(0, close + 1);
  } else if (const size_t colon = host.rfind(':');
             colon != std::string_view::npos && host.find(':') == colon) {
    host = host.substr(0, colon);
  }
  if (!host.empty() && host.back() == '.') host.remove_suffix(1);
  std::array<char, 256> buf;
  if (host.size() <= buf.size()) {
    for (size_t i = 0; i < host.size(); ++i) buf[i] = Lower(host[i]);
    const std::string_view key(buf.data(), host.size());
    if (auto it = exact_.find(key); it != exact_.end()) return &lists_[it->second];
    if (!wildcard_.empty()) {
      // Longest wildcard first: "*.b.example.com" before "*.example.com".
      for (size_t dot = key.find('.', 1); dot != std::string_view::npos;
           dot = key.find('.', dot + 1)) {
        if (auto it = wildcard_.find(key.substr(dot)); it != wildcard_.end())
          return &lists_[it->second];
      }
    }
  }
  return any_ ? &lists_[*any_] : nullptr;
}

MatchResult RouteTable::MatchWithDetail(const RequestView& request) const {
  const HostRoutes* host = Lookup(request.host);
  if (host == nullptr) return {};
  std::string_view path = request.path;
  std::string_view query;
  if (const size_t q = path.find('?'); q != std::string_view::npos) {
    query = path.substr(q + 1);
    path = path.substr(0, q);
  }
  const std::vector<Entry>* list = &host->all;
  if (host->indexed) {
    list = &host->unkeyed;
    if (std::optional<std::string_view> segment = FirstSegment(path)) {
      if (auto it = host->by_segment.find(*segment); it != host->by_segment.end())
        list = &it->second;
    }
  }
  for (const Entry& e : *list) {
    if (e.match == nullptr || EntryMatches(*e.match, request, path, query))
      return {e.route, e.match};
  }
  return {};
}

void RouteTable::Index(HostRoutes& host) {
  // Below this length a scan is as fast as the extra lookup.
  constexpr size_t kMinEntries = 16;
  // Each segment list repeats the unkeyed entries: stay linear beyond this.
  constexpr size_t kMaxIndexedEntries = 1 << 16;
  if (host.all.size() < kMinEntries) return;
  std::vector<std::optional<std::string>> keys;
  std::set<std::string> distinct;
  size_t unkeyed = 0;
  for (const Entry& e : host.all) {
    keys.push_back(SegmentKey(e.match));
    if (keys.back()) {
      distinct.insert(*keys.back());
    } else {
      ++unkeyed;
    }
  }
  if (distinct.size() < 2 || distinct.size() * unkeyed + host.all.size() > kMaxIndexedEntries)
    return;
  for (const std::string& k : distinct) host.by_segment[k];
  for (size_t i = 0; i < host.all.size(); ++i) {
    if (keys[i]) {
      host.by_segment[*keys[i]].push_back(host.all[i]);
    } else {
      host.unkeyed.push_back(host.all[i]);
      for (auto& [k, list] : host.by_segment) list.push_back(host.all[i]);
    }
  }
  host.indexed = true;
}

Result<RouteTable> Compile(RouteRules rules) {
  RouteTable table;
  table.precedence_ = rules.precedence;
  table.routes_ = std::move(rules.routes);
  Compiler compiler(&table.regexes_);
  for (size_t i = 0; i < table.routes_.size(); ++i) {
    Route& route = table.routes_[i];
    if (auto e = CheckRoute(route, compiler)) {
      const std::string name = route.name.empty() ? Idx("routes", i) : route.name;
      return Error(ErrorCode::kInvalidArgument, OneLine("route '" + name + "': " + *e));
    }
  }
  auto list_for = [&](std::string host) -> uint32_t {
    std::transform(host.begin(), host.end(), host.begin(), Lower);
    if (!host.empty() && host.back() == '.') host.pop_back();
    auto add = [&](RouteTable::HostMap& map, std::string key) {
      auto [it, inserted] = map.emplace(std::move(key), static_cast<uint32_t>(table.lists_.size()));
      if (inserted) table.lists_.emplace_back();
      return it->second;
    };
    if (host == "*") {
      if (!table.any_) {
        table.any_ = static_cast<uint32_t>(table.lists_.size());
        table.lists_.emplace_back();
      }
      return *table.any_;
    }
    if (host.starts_with("*.")) return add(table.wildcard_, host.substr(1));
    return add(table.exact_, std::move(host));
  };
  for (const Route& route : table.routes_) {
    std::set<uint32_t> lists;  // a host listed twice adds the route once
    for (const std::string& host : route.hosts) lists.insert(list_for(host));
    for (uint32_t l : lists) {
      if (route.matches.empty()) {
        table.lists_[l].all.push_back({&route, nullptr});
      } else {
        for (const RouteMatch& m : route.matches) table.lists_[l].all.push_back({&route, &m});
      }
    }
  }
  for (auto& host : table.lists_) {
    if (table.precedence_ == Precedence::kGatewayApi) {
      std::stable_sort(host.all.begin(), host.all.end(),
                       [](const RouteTable::Entry& a, const RouteTable::Entry& b) {
                         return GatewayKey(a.match) > GatewayKey(b.match);
                       });
    }
    RouteTable::Index(host);
  }
  return table;
}

const Backend* PickBackend(const Route& route, uint64_t random) {
  if (route.total_weight == 0) return nullptr;
  __extension__ using Wide = unsigned __int128;  // multiply-shift: uniform without modulo bias
  const auto target = static_cast<uint64_t>((static_cast<Wide>(random) * route.total_weight) >> 64);
  uint64_t acc = 0;
  for (const Backend& b : route.backends) {
    acc += b.weight;
    if (target < acc) return &b;
  }
  return nullptr;
}

std::string RewritePath(const PathRewrite& rewrite, const PathMatch* matched,
                        std::string_view path_and_query) {
  std::string_view path = path_and_query;
  std::string_view query;
  if (const size_t q = path.find('?'); q != std::string_view::npos) {
    query = path.substr(q);
    path = path.substr(0, q);
  }
  std::string out;
  switch (rewrite.kind) {
    case PathRewrite::Kind::kFullPath:
      out = rewrite.value;
      break;
    case PathRewrite::Kind::kPrefix:
      if (matched != nullptr && matched->kind == PathMatch::Kind::kPathPrefix) {
        // Gateway API ReplacePrefixMatch: whole elements, no doubled or lost '/'.
        const std::string_view rest =
            path.substr(std::min(path.size(), PrefixElements(matched->value).size()));
        out = std::string(PrefixElements(rewrite.value)) + std::string(rest);
        if (out.empty()) out = "/";
      } else if (matched != nullptr && matched->kind == PathMatch::Kind::kStringPrefix) {
        out =
            rewrite.value + std::string(path.substr(std::min(path.size(), matched->value.size())));
      } else {
        out = rewrite.value;
      }
      break;
    case PathRewrite::Kind::kRegex:
      out = std::string(path);
      if (rewrite.compiled != nullptr)
        re2::RE2::GlobalReplace(&out, *rewrite.compiled, rewrite.value);
      break;
  }
  out += query;
  return out;
}

std::string OneLine(std::string_view text) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (char ch : text) {
    const auto c = static_cast<unsigned char>(ch);
    if (c == '\n') {
      out += "\\n";
    } else if (c < 0x20 || c == 0x7f) {
      out += "\\x";
      out += kHex[c >> 4];
      out += kHex[c & 0xf];
    } else {
      out += ch;
    }
  }
  return out;
}

std::optional<int> GrpcStatusCode(std::string_view name) {
  static constexpr std::string_view kNames[] = {"OK",
                                                "CANCELLED",
                                                "UNKNOWN",
                                                "INVALID_ARGUMENT",
                                                "DEADLINE_EXCEEDED",
                                                "NOT_FOUND",
                                                "ALREADY_EXISTS",
                                                "PERMISSION_DENIED",
                                                "RESOURCE_EXHAUSTED",
                                                "FAILED_PRECONDITION",
                                                "ABORTED",
                                                "OUT_OF_RANGE",
                                                "UNIMPLEMENTED",
                                                "INTERNAL",
                                                "UNAVAILABLE",
                                                "DATA_LOSS",
                                                "UNAUTHENTICATED"};
  for (std::size_t i = 0; i < std::size(kNames); ++i) {
    if (kNames[i] == name) return static_cast<int>(i);
  }
  return std::nullopt;
}

}  // namespace ambit::route
