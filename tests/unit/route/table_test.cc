#include "route/table.h"

#include <gtest/gtest.h>

#include <map>
#include <random>
#include <string>

namespace ambit::route {
namespace {

class Headers : public HeaderLookup {
 public:
  Headers(std::initializer_list<std::pair<const std::string, std::string>> h) : h_(h) {}
  std::optional<std::string_view> Get(std::string_view name) const override {
    auto it = h_.find(std::string(name));
    if (it == h_.end()) return std::nullopt;
    return std::string_view(it->second);
  }

 private:
  std::map<std::string, std::string> h_;
};

PathMatch Path(PathMatch::Kind kind, std::string value) {
  PathMatch p;
  p.kind = kind;
  p.value = std::move(value);
  return p;
}

RouteMatch OnPath(PathMatch::Kind kind, std::string value) {
  RouteMatch m;
  m.path = Path(kind, std::move(value));
  return m;
}

Route Named(std::string name, std::vector<RouteMatch> matches,
            std::vector<std::string> hosts = {"svc.ns.svc.cluster.local"}) {
  Route r;
  r.name = std::move(name);
  r.hosts = std::move(hosts);
  r.matches = std::move(matches);
  r.backends.push_back(Backend{.host = "svc.ns.svc.cluster.local"});
  return r;
}

KeyValueMatch Kv(std::string name, StringMatch::Kind kind, std::string value, bool invert = false) {
  KeyValueMatch kv;
  kv.name = std::move(name);
  kv.match.kind = kind;
  kv.match.value = std::move(value);
  kv.invert = invert;
  return kv;
}

RouteTable MustCompile(Precedence p, std::vector<Route> routes) {
  auto t = Compile(RouteRules{p, std::move(routes)});
  EXPECT_TRUE(t.ok()) << t.error().ToString();
  return std::move(t).value();
}

std::string NameOf(const RouteTable& t, RequestView r) {
  if (r.host.empty()) r.host = "svc.ns.svc.cluster.local";
  if (r.method.empty()) r.method = "GET";
  const Route* route = t.Match(r);
  return route == nullptr ? "<none>" : route->name;
}

TEST(PathMatchTest, PathPrefixIsElementWise) {
  const PathMatch p = Path(PathMatch::Kind::kPathPrefix, "/abc");
  EXPECT_TRUE(PathMatches(p, "/abc"));
  EXPECT_TRUE(PathMatches(p, "/abc/"));
  EXPECT_TRUE(PathMatches(p, "/abc/def"));
  EXPECT_FALSE(PathMatches(p, "/abcd"));
  EXPECT_FALSE(PathMatches(p, "/ab"));
  // A trailing slash in the pattern is ignored (Gateway API).
  const PathMatch slash = Path(PathMatch::Kind::kPathPrefix, "/abc/");
  EXPECT_TRUE(PathMatches(slash, "/abc"));
  EXPECT_TRUE(PathMatches(slash, "/abc/x"));
  EXPECT_FALSE(PathMatches(slash, "/abcd"));
  EXPECT_TRUE(PathMatches(Path(PathMatch::Kind::kPathPrefix, "/"), "/anything"));
}

TEST(PathMatchTest, StringPrefixExactAndCase) {
  EXPECT_TRUE(PathMatches(Path(PathMatch::Kind::kStringPrefix, "/abc"), "/abcd"));
  EXPECT_TRUE(PathMatches(Path(PathMatch::Kind::kExact, "/a"), "/a"));
  EXPECT_FALSE(PathMatches(Path(PathMatch::Kind::kExact, "/a"), "/a/"));
  PathMatch ic = Path(PathMatch::Kind::kExact, "/Login");
  EXPECT_FALSE(PathMatches(ic, "/LOGIN"));
  ic.ignore_case = true;
  EXPECT_TRUE(PathMatches(ic, "/LOGIN"));
}

TEST(PathMatchTest, RegexIsAFullMatchWithALiteralPrefilter) {
  Route r = Named("re", {OnPath(PathMatch::Kind::kRegex, "/api/v[0-9]+/(books|authors)/.*"),
                         OnPath(PathMatch::Kind::kRegex, "(?i)/CaSe/x"),
                         OnPath(PathMatch::Kind::kRegex, ".*/tail")});
  auto t = Compile(RouteRules{Precedence::kFirstMatch, {r}});
  ASSERT_TRUE(t.ok());
  const auto& m = t->routes()[0].matches;
  EXPECT_EQ(m[0].path->literal_prefix, "/api/v");
  EXPECT_EQ(m[2].path->literal_prefix, "");
  EXPECT_TRUE(PathMatches(*m[0].path, "/api/v2/books/1"));
  EXPECT_FALSE(PathMatches(*m[0].path, "/api/v2/books"));
  EXPECT_FALSE(PathMatches(*m[0].path, "/x/api/v2/books/1"));  // anchored at both ends
  EXPECT_TRUE(PathMatches(*m[1].path, "/case/X"));
  EXPECT_TRUE(PathMatches(*m[1].path, "/CASE/x"));
  EXPECT_TRUE(PathMatches(*m[2].path, "/a/b/tail"));
}

TEST(RouteTableTest, GatewayPrecedenceAcrossRules) {
  RouteMatch method = OnPath(PathMatch::Kind::kPathPrefix, "/api");
  method.method = StringMatch{StringMatch::Kind::kExact, "POST"};
  RouteMatch headers2 = OnPath(PathMatch::Kind::kPathPrefix, "/api");
  headers2.headers = {Kv("a", StringMatch::Kind::kExact, "1"),
                      Kv("b", StringMatch::Kind::kExact, "2")};
  RouteMatch headers1 = OnPath(PathMatch::Kind::kPathPrefix, "/api");
  headers1.headers = {Kv("a", StringMatch::Kind::kExact, "1")};
  RouteMatch query = OnPath(PathMatch::Kind::kPathPrefix, "/api");
  query.query_params = {Kv("q", StringMatch::Kind::kExact, "1")};
  // Input order deliberately the reverse of precedence.
  auto t = MustCompile(Precedence::kGatewayApi,
                       {Named("catch-all", {}),
                        Named("prefix-short", {OnPath(PathMatch::Kind::kPathPrefix, "/api")}),
                        Named("query", {query}), Named("headers1", {headers1}),
                        Named("headers2", {headers2}), Named("method", {method}),
                        Named("prefix-long", {OnPath(PathMatch::Kind::kPathPrefix, "/api/v1")}),
                        Named("regex", {OnPath(PathMatch::Kind::kRegex, "/api/v1/.*")}),
                        Named("exact", {OnPath(PathMatch::Kind::kExact, "/api/v1/x")})});
  Headers ab{{"a", "1"}, {"b", "2"}};
  EXPECT_EQ(NameOf(t, {.path = "/api/v1/x", .method = "POST", .headers = &ab}), "exact");
  EXPECT_EQ(NameOf(t, {.path = "/api/v1/y", .method = "POST", .headers = &ab}), "prefix-long");
  // Prefix beats regex even when the regex matches.
  EXPECT_EQ(NameOf(t, {.path = "/api/v1/y"}), "prefix-long");
  EXPECT_EQ(NameOf(t, {.path = "/api/z", .method = "POST", .headers = &ab}), "method");
  EXPECT_EQ(NameOf(t, {.path = "/api/z?q=1", .headers = &ab}), "headers2");
  Headers a{{"a", "1"}};
  EXPECT_EQ(NameOf(t, {.path = "/api/z?q=1", .headers = &a}), "headers1");
  EXPECT_EQ(NameOf(t, {.path = "/api/z?x=0&q=1"}), "query");
  EXPECT_EQ(NameOf(t, {.path = "/api/z?q=2"}), "prefix-short");
  EXPECT_EQ(NameOf(t, {.path = "/apix"}), "catch-all");
}

TEST(RouteTableTest, GatewayTiesKeepInputOrder) {
  auto t = MustCompile(Precedence::kGatewayApi,
                       {Named("older", {OnPath(PathMatch::Kind::kPathPrefix, "/a")}),
                        Named("newer", {OnPath(PathMatch::Kind::kPathPrefix, "/a")})});
  EXPECT_EQ(NameOf(t, {.path = "/a/b"}), "older");
}

TEST(RouteTableTest, FirstMatchKeepsInputOrder) {
  // The same rules as a VirtualService: the first matching rule wins, even a
  // catch-all before more specific ones.
  Route jason = Named("jason", {});
  RouteMatch hdr;
  hdr.headers = {Kv("end-user", StringMatch::Kind::kExact, "jason")};
  jason.matches = {hdr};
  auto t = MustCompile(
      Precedence::kFirstMatch,
      {Named("prefix", {OnPath(PathMatch::Kind::kStringPrefix, "/api")}), jason,
       Named("exact", {OnPath(PathMatch::Kind::kExact, "/api/v1")}), Named("rest", {})});
  Headers j{{"end-user", "jason"}};
  EXPECT_EQ(NameOf(t, {.path = "/api/v1", .headers = &j}), "prefix");
  EXPECT_EQ(NameOf(t, {.path = "/other", .headers = &j}), "jason");
  EXPECT_EQ(NameOf(t, {.path = "/other"}), "rest");
}

TEST(RouteTableTest, AnyMatchOfARuleSelectsIt) {
  auto t =
      MustCompile(Precedence::kFirstMatch, {Named("two", {OnPath(PathMatch::Kind::kExact, "/a"),
                                                          OnPath(PathMatch::Kind::kExact, "/b")})});
  EXPECT_EQ(NameOf(t, {.path = "/a"}), "two");
  EXPECT_EQ(NameOf(t, {.path = "/b?x"}), "two");
  EXPECT_EQ(NameOf(t, {.path = "/c"}), "<none>");
  auto detail =
      t.MatchWithDetail({.host = "svc.ns.svc.cluster.local", .path = "/b", .method = "GET"});
  ASSERT_TRUE(detail);
  EXPECT_EQ(detail.match, &detail.route->matches[1]);
}

TEST(RouteTableTest, HeaderKinds) {
  RouteMatch prefix, regex, present, without;
  prefix.headers = {
      Kv("X-Prefix", StringMatch::Kind::kPrefix, "ab")};  // name lower-cased by Compile
  regex.headers = {Kv("x-re", StringMatch::Kind::kRegex, "v[0-9]+")};
  present.headers = {Kv("x-present", StringMatch::Kind::kPresent, "")};
  without.headers = {Kv("x-block", StringMatch::Kind::kPresent, "", /*invert=*/true),
                     Kv("x-go", StringMatch::Kind::kExact, "1")};
  auto t = MustCompile(Precedence::kFirstMatch,
                       {Named("prefix", {prefix}), Named("regex", {regex}),
                        Named("present", {present}), Named("without", {without})});
  Headers h1{{"x-prefix", "abc"}};
  EXPECT_EQ(NameOf(t, {.path = "/", .headers = &h1}), "prefix");
  Headers h2{{"x-re", "v12"}};
  EXPECT_EQ(NameOf(t, {.path = "/", .headers = &h2}), "regex");
  Headers h3{{"x-re", "v12x"}};  // full match, not search
  EXPECT_EQ(NameOf(t, {.path = "/", .headers = &h3}), "<none>");
  Headers h4{{"x-present", ""}};
  EXPECT_EQ(NameOf(t, {.path = "/", .headers = &h4}), "present");
  Headers h5{{"x-go", "1"}};
  EXPECT_EQ(NameOf(t, {.path = "/", .headers = &h5}), "without");
  Headers h6{{"x-go", "1"}, {"x-block", "yes"}};
  EXPECT_EQ(NameOf(t, {.path = "/", .headers = &h6}), "<none>");
  EXPECT_EQ(NameOf(t, {.path = "/"}), "<none>");  // no headers at all
}

TEST(RouteTableTest, QueryMethodAuthorityPort) {
  RouteMatch q;
  q.query_params = {Kv("version", StringMatch::Kind::kRegex, "v[12]"),
                    Kv("flag", StringMatch::Kind::kExact, "")};
  RouteMatch m;
  m.method = StringMatch{StringMatch::Kind::kRegex, "PUT|PATCH"};
  RouteMatch a;
  a.authority = StringMatch{StringMatch::Kind::kPrefix, "api."};
  RouteMatch p;
  p.port = 9080;
  auto t = MustCompile(Precedence::kFirstMatch, {Named("query", {q}), Named("method", {m}),
                                                 Named("authority", {a}), Named("port", {p})});
  EXPECT_EQ(NameOf(t, {.path = "/x?version=v2&flag"}), "query");
  EXPECT_EQ(NameOf(t, {.path = "/x?version=v2"}), "<none>");
  EXPECT_EQ(NameOf(t, {.path = "/x?version=v3&flag"}), "<none>");
  EXPECT_EQ(NameOf(t, {.path = "/x", .method = "PATCH"}), "method");
  EXPECT_EQ(NameOf(t, {.authority = "api.example.com:80", .path = "/x"}), "authority");
  EXPECT_EQ(NameOf(t, {.path = "/x", .port = 9080}), "port");
  EXPECT_EQ(NameOf(t, {.path = "/x", .port = 80}), "<none>");
}

TEST(RouteTableTest, HostsExactWildcardAnyAndPorts) {
  auto t =
      MustCompile(Precedence::kFirstMatch,
                  {Named("exact", {}, {"foo.example.com"}), Named("wide", {}, {"*.example.com"}),
                   Named("narrow", {}, {"*.b.example.com"}), Named("any", {}, {"*"}),
                   Named("ip", {}, {"10.96.0.1"})});
  auto at = [&](std::string_view host) { return NameOf(t, {.host = host, .path = "/"}); };
  EXPECT_EQ(at("foo.example.com"), "exact");
  EXPECT_EQ(at("FOO.Example.COM:8080"), "exact");
  EXPECT_EQ(at("foo.example.com."), "exact");
  EXPECT_EQ(at("bar.example.com"), "wide");
  EXPECT_EQ(at("x.y.example.com"), "wide");
  EXPECT_EQ(at("x.b.example.com"), "narrow");
  EXPECT_EQ(at("example.com"), "any");
  EXPECT_EQ(at("10.96.0.1:9080"), "ip");
  EXPECT_EQ(at("[fd00::1]:80"), "any");
  EXPECT_EQ(at(std::string(300, 'a')), "any");

  auto none = MustCompile(Precedence::kFirstMatch, {Named("only", {}, {"a.example.com"})});
  EXPECT_EQ(NameOf(none, {.host = "b.example.com", .path = "/"}), "<none>");
}

TEST(RouteTableTest, MostSpecificHostWinsWholesale) {
  // foo's own routes are consulted alone: no fallback to the wildcard's.
  auto t =
      MustCompile(Precedence::kFirstMatch,
                  {Named("foo-api", {OnPath(PathMatch::Kind::kExact, "/api")}, {"foo.example.com"}),
                   Named("wild", {}, {"*.example.com"})});
  EXPECT_EQ(NameOf(t, {.host = "foo.example.com", .path = "/other"}), "<none>");
  EXPECT_EQ(NameOf(t, {.host = "bar.example.com", .path = "/other"}), "wild");
}

TEST(RouteTableTest, SegmentIndexAgreesWithAScanInOrder) {
  // Enough routes on one host for the first-segment index, mixing matches that
  // fix the first segment with ones that do not (string prefixes ending inside
  // a segment, case-insensitive, unanchored regexes, catch-alls). A linear
  // scan in input order over the compiled routes is the reference.
  const std::vector<std::string> segments = {"", "api", "apix", "static", "a", "API", "v1", "x"};
  std::mt19937_64 rng(99);
  auto segment = [&] { return segments[rng() % segments.size()]; };
  std::vector<Route> routes;
  for (int i = 0; i < 120; ++i) {
    const std::string value = "/" + segment() + (rng() % 2 ? "/" + segment() : "");
    PathMatch p;
    switch (rng() % 6) {
      case 0:
        p = Path(PathMatch::Kind::kExact, value);
        break;
      case 1:
        p = Path(PathMatch::Kind::kPathPrefix, value);
        break;
      case 2:
        p = Path(PathMatch::Kind::kStringPrefix, value);
        break;
      case 3:
        p = Path(PathMatch::Kind::kRegex, value + "(/[a-z0-9]*)*");
        break;
      case 4:
        p = Path(PathMatch::Kind::kPathPrefix, value);
        p.ignore_case = true;
        break;
      case 5:
        p = Path(PathMatch::Kind::kRegex, ".*" + value);
        break;
    }
    RouteMatch m;
    m.path = p;
    routes.push_back(Named("r" + std::to_string(i),
                           i == 100 ? std::vector<RouteMatch>{} : std::vector<RouteMatch>{m}));
  }
  auto t = MustCompile(Precedence::kFirstMatch, routes);
  int matched = 0;
  for (int i = 0; i < 5000; ++i) {
    std::string path = "/" + segment();
    for (int depth = rng() % 3; depth > 0; --depth) path += "/" + segment();
    if (rng() % 10 == 0) path = path.substr(1);  // not origin form
    std::string want = "<none>";
    for (const Route& r : t.routes()) {
      if (r.matches.empty() || PathMatches(*r.matches[0].path, path)) {
        want = r.name;
        break;
      }
    }
    EXPECT_EQ(NameOf(t, {.path = path}), want) << path;
    matched += want != "<none>";
  }
  EXPECT_GT(matched, 1000);
}

TEST(CompileTest, BadRegexNamesRouteFieldAndRe2Message) {
  RouteMatch m;
  m.headers = {Kv("x-a", StringMatch::Kind::kExact, "1"),
               Kv("x-b", StringMatch::Kind::kRegex, "(unclosed")};
  auto t = Compile(RouteRules{
      Precedence::kFirstMatch,
      {Named("VirtualService ns/r http[2]", {OnPath(PathMatch::Kind::kExact, "/"), m})}});
  ASSERT_FALSE(t.ok());
  EXPECT_EQ(t.error().code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(
      t.error().message(),
      "route 'VirtualService ns/r http[2]': matches[1].headers[1] (x-b): bad regular expression "
      "'(unclosed': missing ): (unclosed");

  auto p = Compile(
      RouteRules{Precedence::kGatewayApi, {Named("r", {OnPath(PathMatch::Kind::kRegex, "/a/[")})}});
  ASSERT_FALSE(p.ok());
  EXPECT_NE(p.error().message().find("route 'r': matches[0].path: bad regular expression '/a/['"),
            std::string::npos)
      << p.error().message();
}

TEST(CompileTest, RejectsInconsistentRoutes) {
  auto error_of = [](Route r) {
    auto t = Compile(RouteRules{Precedence::kFirstMatch, {std::move(r)}});
    return t.ok() ? std::string("ok") : t.error().message();
  };
  Route no_hosts = Named("r", {}, {});
  EXPECT_EQ(error_of(no_hosts), "route 'r': hosts: expected at least one host");
  Route relative = Named("r", {OnPath(PathMatch::Kind::kExact, "api")});
  EXPECT_EQ(error_of(relative),
            "route 'r': matches[0].path: expected a path starting with '/', got 'api'");
  Route both = Named("r", {});
  both.redirect = Redirect{};
  EXPECT_EQ(error_of(both),
            "route 'r': expected at most one of backends, redirect, directResponse");
  Route bad_status = Named("r", {});
  bad_status.backends.clear();
  bad_status.redirect = Redirect{.status = 200};
  EXPECT_EQ(error_of(bad_status),
            "route 'r': redirect.status: expected 301, 302, 303, 307 or 308, got 200");
  Route abort = Named("r", {});
  abort.fault = Fault{.abort = Fault::Abort{}};
  EXPECT_EQ(error_of(abort),
            "route 'r': fault.abort: expected exactly one of httpStatus, grpcStatus");
  Route grpc = Named("r", {});
  grpc.fault = Fault{.abort = Fault::Abort{.grpc_status = "Unavailable"}};
  EXPECT_EQ(error_of(grpc),
            "route 'r': fault.abort.grpcStatus: 'Unavailable' is not a gRPC status name");
  grpc.fault->abort->grpc_status = "UNAVAILABLE";
  EXPECT_EQ(error_of(grpc), "ok");
  Route rewrite = Named("r", {});
  rewrite.rewrite_path =
      PathRewrite{.kind = PathRewrite::Kind::kRegex, .value = "/\\2", .pattern = "^/(a)$"};
  EXPECT_NE(error_of(rewrite).find("rewrite.path: bad substitution '/\\2'"), std::string::npos)
      << error_of(rewrite);
  Route full = Named("r", {});
  full.rewrite_path = PathRewrite{.kind = PathRewrite::Kind::kFullPath, .value = "x"};
  EXPECT_EQ(error_of(full),
            "route 'r': rewrite.path: expected a full path starting with '/', got 'x'");
  Route redirect_prefix = Named("r", {});
  redirect_prefix.backends.clear();
  redirect_prefix.redirect =
      Redirect{.path = PathRewrite{.kind = PathRewrite::Kind::kPrefix, .value = "x"}};
  EXPECT_EQ(error_of(redirect_prefix),
            "route 'r': redirect.path: expected a prefix starting with '/' (or empty), got 'x'");
  // Input quoted in an error stays on one line.
  Route newline = Named("r", {OnPath(PathMatch::Kind::kRegex, "/a\n(")});
  EXPECT_EQ(error_of(newline).find('\n'), std::string::npos) << error_of(newline);
  EXPECT_NE(error_of(newline).find("'/a\\n('"), std::string::npos) << error_of(newline);
  Route unnamed = Named("", {}, {});
  auto t = Compile(RouteRules{Precedence::kFirstMatch, {Named("fine", {}), unnamed}});
  ASSERT_FALSE(t.ok());
  EXPECT_EQ(t.error().message(), "route 'routes[1]': hosts: expected at least one host");
}

TEST(PickBackendTest, WeightsWithinTolerance) {
  Route r = Named("split", {});
  r.backends = {Backend{.host = "v1", .weight = 90}, Backend{.host = "zero", .weight = 0},
                Backend{.host = "v3", .weight = 10}};
  auto t = MustCompile(Precedence::kFirstMatch, {r});
  const Route& route = t.routes()[0];
  EXPECT_EQ(route.total_weight, 100u);
  std::mt19937_64 rng(42);
  std::map<std::string, int> counts;
  constexpr int kN = 100000;
  for (int i = 0; i < kN; ++i) counts[PickBackend(route, rng())->host]++;
  EXPECT_EQ(counts.count("zero"), 0u);
  // 3 sigma of a binomial(100000, 0.1) is ~285.
  EXPECT_NEAR(counts["v1"], 90000, 300);
  EXPECT_NEAR(counts["v3"], 10000, 300);
  // Extremes of the random range land on the first and last non-zero backend.
  EXPECT_EQ(PickBackend(route, 0)->host, "v1");
  EXPECT_EQ(PickBackend(route, UINT64_MAX)->host, "v3");
}

TEST(PickBackendTest, ArbitraryTotalsAndNoBackend) {
  Route r = Named("odd", {});
  r.backends = {Backend{.host = "a", .weight = 1}, Backend{.host = "b", .weight = 2}};
  Route empty = Named("empty", {});
  empty.backends = {Backend{.host = "z", .weight = 0}};
  Route redirect = Named("redirect", {});
  redirect.backends.clear();
  redirect.redirect = Redirect{};
  auto t = MustCompile(Precedence::kFirstMatch, {r, empty, redirect});
  std::mt19937_64 rng(7);
  int b = 0;
  constexpr int kN = 30000;
  for (int i = 0; i < kN; ++i) b += PickBackend(t.routes()[0], rng())->host == "b";
  EXPECT_NEAR(b, 20000, 250);  // 3 sigma ~ 245
  EXPECT_EQ(PickBackend(t.routes()[1], rng()), nullptr);
  EXPECT_EQ(PickBackend(t.routes()[2], rng()), nullptr);
}

TEST(RewritePathTest, GatewayReplacePrefixMatchTable) {
  // The table of https://gateway-api.sigs.k8s.io/reference/spec/#httppathmodifier.
  struct Case {
    const char* path;
    const char* prefix;
    const char* replace;
    const char* want;
  };
  for (const Case& c : std::initializer_list<Case>{{"/foo/bar", "/foo", "/xyz", "/xyz/bar"},
                                                   {"/foo/bar", "/foo", "/xyz/", "/xyz/bar"},
                                                   {"/foo/bar", "/foo/", "/xyz", "/xyz/bar"},
                                                   {"/foo/bar", "/foo/", "/xyz/", "/xyz/bar"},
                                                   {"/foo", "/foo", "/xyz", "/xyz"},
                                                   {"/foo/", "/foo", "/xyz", "/xyz/"},
                                                   {"/foo/bar", "/foo", "", "/bar"},
                                                   {"/foo/", "/foo", "", "/"},
                                                   {"/foo", "/foo", "", "/"},
                                                   {"/foo/", "/foo", "/", "/"},
                                                   {"/foo", "/foo", "/", "/"}}) {
    const PathMatch m = Path(PathMatch::Kind::kPathPrefix, c.prefix);
    EXPECT_EQ(RewritePath(PathRewrite{.kind = PathRewrite::Kind::kPrefix, .value = c.replace}, &m,
                          c.path),
              c.want)
        << c.path << " " << c.prefix << " -> " << c.replace;
  }
}

TEST(RewritePathTest, StringPrefixFullAndRegex) {
  const PathMatch vs = Path(PathMatch::Kind::kStringPrefix, "/ratings");
  EXPECT_EQ(RewritePath(PathRewrite{.kind = PathRewrite::Kind::kPrefix, .value = "/v1/bookRatings"},
                        &vs, "/ratings/0?x=1"),
            "/v1/bookRatings/0?x=1");
  const PathMatch exact = Path(PathMatch::Kind::kExact, "/a");
  EXPECT_EQ(
      RewritePath(PathRewrite{.kind = PathRewrite::Kind::kPrefix, .value = "/b"}, &exact, "/a"),
      "/b");
  EXPECT_EQ(RewritePath(PathRewrite{.kind = PathRewrite::Kind::kFullPath, .value = "/new"}, nullptr,
                        "/old/x?q"),
            "/new?q");

  Route r = Named("re", {});
  r.rewrite_path = PathRewrite{
      .kind = PathRewrite::Kind::kRegex, .value = "/v2/\\1", .pattern = "^/service/([^/]+)"};
  auto t = MustCompile(Precedence::kFirstMatch, {r});
  EXPECT_EQ(RewritePath(*t.routes()[0].rewrite_path, nullptr, "/service/reviews/1?a"),
            "/v2/reviews/1?a");
}

}  // namespace
}  // namespace ambit::route
