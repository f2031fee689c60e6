#include "route/wire.h"

#include <cmath>
#include <limits>
#include <optional>

#include "route/table.h"

namespace ambit::route {
namespace {

namespace pb = ambit::route::v1;
using std::chrono::milliseconds;

// ---- encode ----

void EncodeString(const StringMatch& in, pb::StringMatch* out) {
  switch (in.kind) {
    case StringMatch::Kind::kExact:
      out->set_kind(pb::StringMatch::EXACT);
      break;
    case StringMatch::Kind::kPrefix:
      out->set_kind(pb::StringMatch::PREFIX);
      break;
    case StringMatch::Kind::kRegex:
      out->set_kind(pb::StringMatch::REGEX);
      break;
    case StringMatch::Kind::kPresent:
      out->set_kind(pb::StringMatch::PRESENT);
      break;
  }
  if (in.kind != StringMatch::Kind::kPresent) out->set_value(in.value);
  out->set_ignore_case(in.ignore_case);
}

void EncodePath(const PathMatch& in, pb::PathMatch* out) {
  switch (in.kind) {
    case PathMatch::Kind::kExact:
      out->set_kind(pb::PathMatch::EXACT);
      break;
    case PathMatch::Kind::kPathPrefix:
      out->set_kind(pb::PathMatch::PATH_PREFIX);
      break;
    case PathMatch::Kind::kStringPrefix:
      out->set_kind(pb::PathMatch::STRING_PREFIX);
      break;
    case PathMatch::Kind::kRegex:
      out->set_kind(pb::PathMatch::REGEX);
      break;
  }
  out->set_value(in.value);
  out->set_ignore_case(in.ignore_case);
}

void EncodeKeyValues(const std::vector<KeyValueMatch>& in,
                     google::protobuf::RepeatedPtrField<pb::KeyValueMatch>* out) {
  for (const KeyValueMatch& kv : in) {
    pb::KeyValueMatch* o = out->Add();
    o->set_name(kv.name);
    EncodeString(kv.match, o->mutable_match());
    o->set_invert(kv.invert);
  }
}

void EncodeHeaders(const HeaderModifier& in, pb::HeaderModifier* out) {
  for (const auto& [name, value] : in.set) {
    pb::Header* h = out->add_set();
    h->set_name(name);
    h->set_value(value);
  }
  for (const auto& [name, value] : in.add) {
    pb::Header* h = out->add_add();
    h->set_name(name);
    h->set_value(value);
  }
  for (const std::string& name : in.remove) out->add_remove(name);
}

void EncodeBackend(const Backend& in, pb::Backend* out) {
  out->set_host(in.host);
  out->set_port(in.port);
  out->set_subset(in.subset);
  out->set_weight(in.weight);
  out->set_unresolved_status(in.unresolved_status);
  if (!in.request_headers.empty())
    EncodeHeaders(in.request_headers, out->mutable_request_headers());
  if (!in.response_headers.empty())
    EncodeHeaders(in.response_headers, out->mutable_response_headers());
  if (in.load_balancer != LoadBalancer{}) {
    pb::LoadBalancer* lb = out->mutable_load_balancer();
    switch (in.load_balancer.simple) {
      case LoadBalancer::Simple::kRoundRobin:
        lb->set_simple(pb::LoadBalancer::ROUND_ROBIN);
        break;
      case LoadBalancer::Simple::kLeastRequest:
        lb->set_simple(pb::LoadBalancer::LEAST_REQUEST);
        break;
      case LoadBalancer::Simple::kRandom:
        lb->set_simple(pb::LoadBalancer::RANDOM);
        break;
    }
    switch (in.load_balancer.hash) {
      case LoadBalancer::Hash::kNone:
        lb->set_hash(pb::LoadBalancer::HASH_NONE);
        break;
      case LoadBalancer::Hash::kHeader:
        lb->set_hash(pb::LoadBalancer::HEADER);
        break;
      case LoadBalancer::Hash::kQueryParameter:
        lb->set_hash(pb::LoadBalancer::QUERY_PARAMETER);
        break;
      case LoadBalancer::Hash::kSourceIp:
        lb->set_hash(pb::LoadBalancer::SOURCE_IP);
        break;
      case LoadBalancer::Hash::kCookie:
        lb->set_hash(pb::LoadBalancer::COOKIE);
        break;
    }
    lb->set_hash_key(in.load_balancer.hash_key);
  }
}

void EncodeRewrite(const PathRewrite& in, pb::PathRewrite* out) {
  switch (in.kind) {
    case PathRewrite::Kind::kFullPath:
      out->set_kind(pb::PathRewrite::FULL_PATH);
      break;
    case PathRewrite::Kind::kPrefix:
      out->set_kind(pb::PathRewrite::PREFIX);
      break;
    case PathRewrite::Kind::kRegex:
      out->set_kind(pb::PathRewrite::REGEX);
      break;
  }
  out->set_value(in.value);
  out->set_pattern(in.pattern);
}

void EncodeRoute(const Route& in, pb::Route* out) {
  out->set_name(in.name);
  for (const std::string& h : in.hosts) out->add_hosts(h);
  for (const RouteMatch& m : in.matches) {
    pb::RouteMatch* o = out->add_matches();
    if (m.path) EncodePath(*m.path, o->mutable_path());
    EncodeKeyValues(m.headers, o->mutable_headers());
    EncodeKeyValues(m.query_params, o->mutable_query_params());
    if (m.method) EncodeString(*m.method, o->mutable_method());
    if (m.authority) EncodeString(*m.authority, o->mutable_authority());
    o->set_port(m.port);
  }
  for (const Backend& b : in.backends) EncodeBackend(b, out->add_backends());
  if (in.redirect) {
    pb::Redirect* r = out->mutable_redirect();
    if (in.redirect->scheme) r->set_scheme(*in.redirect->scheme);
    if (in.redirect->hostname) r->set_hostname(*in.redirect->hostname);
    if (in.redirect->port) r->set_port(*in.redirect->port);
    if (in.redirect->path) EncodeRewrite(*in.redirect->path, r->mutable_path());
    r->set_status(in.redirect->status);
  }
  if (in.direct_response) {
    out->mutable_direct_response()->set_status(in.direct_response->status);
    out->mutable_direct_response()->set_body(in.direct_response->body);
  }
  if (in.rewrite_path) EncodeRewrite(*in.rewrite_path, out->mutable_rewrite_path());
  if (in.rewrite_host) out->set_rewrite_host(*in.rewrite_host);
  if (!in.request_headers.empty())
    EncodeHeaders(in.request_headers, out->mutable_request_headers());
  if (!in.response_headers.empty())
    EncodeHeaders(in.response_headers, out->mutable_response_headers());
  if (in.timeouts.request || in.timeouts.backend_request) {
    pb::Timeouts* t = out->mutable_timeouts();
    if (in.timeouts.request) t->set_request_ms(static_cast<uint64_t>(in.timeouts.request->count()));
    if (in.timeouts.backend_request) {
      t->set_backend_request_ms(static_cast<uint64_t>(in.timeouts.backend_request->count()));
    }
  }
  if (in.retry) {
    pb::RetryPolicy* r = out->mutable_retry();
    r->set_attempts(in.retry->attempts);
    if (in.retry->per_try_timeout) {
      r->set_per_try_timeout_ms(static_cast<uint64_t>(in.retry->per_try_timeout->count()));
    }
    for (const std::string& on : in.retry->retry_on) r->add_retry_on(on);
    for (uint16_t code : in.retry->codes) r->add_codes(code);
    if (in.retry->backoff) r->set_backoff_ms(static_cast<uint64_t>(in.retry->backoff->count()));
  }
  if (in.fault) {
    pb::Fault* f = out->mutable_fault();
    if (in.fault->delay) {
      f->mutable_delay()->set_fixed_ms(static_cast<uint64_t>(in.fault->delay->fixed.count()));
      f->mutable_delay()->set_percentage(in.fault->delay->percentage);
    }
    if (in.fault->abort) {
      f->mutable_abort()->set_http_status(in.fault->abort->http_status);
      f->mutable_abort()->set_grpc_status(in.fault->abort->grpc_status);
      f->mutable_abort()->set_percentage(in.fault->abort->percentage);
    }
  }
  for (const Mirror& m : in.mirrors) {
    pb::Mirror* o = out->add_mirrors();
    EncodeBackend(m.backend, o->mutable_backend());
    o->set_percentage(m.percentage);
  }
}

// ---- decode ----

// Collects the first error with its field path.
class Decoder {
 public:
  explicit Decoder(std::string_view name) : name_(name) {}

  bool failed() const { return error_.has_value(); }
  Error TakeError() {
    return Error(ErrorCode::kInvalidArgument,
                 OneLine("RouteTable '" + std::string(name_) + "': " + *error_));
  }

  void Fail(const std::string& field, const std::string& what) {
    if (!error_) error_ = field + ": " + what;
  }

  uint16_t Port(const std::string& field, uint32_t v) {
    if (v > 65535) Fail(field, std::to_string(v) + " is not a port (0-65535)");
    return static_cast<uint16_t>(v);
  }
  uint16_t Status(const std::string& field, uint32_t v, bool zero_ok) {
    if ((v == 0 && !zero_ok) || (v != 0 && (v < 100 || v > 599))) {
      Fail(field, std::to_string(v) + " is not an HTTP status (100-599)");
    }
    return static_cast<uint16_t>(v);
  }
  double Percentage(const std::string& field, double v) {
    if (!std::isfinite(v) || v < 0 || v > 100) Fail(field, "percentage must be 0-100");
    return v;
  }
  milliseconds Millis(const std::string& field, uint64_t v) {
    // Bounded so that adding durations (timeouts, backoff) never overflows.
    constexpr uint64_t kMax = uint64_t{1} << 40;  // about 34 years
    if (v > kMax) Fail(field, std::to_string(v) + " ms is too long");
    return milliseconds(static_cast<int64_t>(std::min(v, kMax)));
  }

  StringMatch String(const std::string& field, const pb::StringMatch& in) {
    StringMatch out;
    switch (in.kind()) {
      case pb::StringMatch::EXACT:
        out.kind = StringMatch::Kind::kExact;
        break;
      case pb::StringMatch::PREFIX:
        out.kind = StringMatch::Kind::kPrefix;
        break;
      case pb::StringMatch::REGEX:
        out.kind = StringMatch::Kind::kRegex;
        break;
      case pb::StringMatch::PRESENT:
        out.kind = StringMatch::Kind::kPresent;
        if (!in.value().empty()) Fail(field + ".value", "must be empty for kind PRESENT");
        break;
      default:
        Fail(field + ".kind", "unknown or unset kind " + std::to_string(in.kind()));
        break;
    }
    out.value = in.value();
    out.ignore_case = in.ignore_case();
    return out;
  }

  PathMatch Path(const std::string& field, const pb::PathMatch& in) {
    PathMatch out;
    switch (in.kind()) {
      case pb::PathMatch::EXACT:
        out.kind = PathMatch::Kind::kExact;
        break;
      case pb::PathMatch::PATH_PREFIX:
        out.kind = PathMatch::Kind::kPathPrefix;
        break;
      case pb::PathMatch::STRING_PREFIX:
        out.kind = PathMatch::Kind::kStringPrefix;
        break;
      case pb::PathMatch::REGEX:
        out.kind = PathMatch::Kind::kRegex;
        break;
      default:
        Fail(field + ".kind", "unknown or unset kind " + std::to_string(in.kind()));
        break;
    }
    out.value = in.value();
    out.ignore_case = in.ignore_case();
    return out;
  }

  std::vector<KeyValueMatch> KeyValues(
      const std::string& field, const google::protobuf::RepeatedPtrField<pb::KeyValueMatch>& in) {
    std::vector<KeyValueMatch> out;
    out.reserve(static_cast<size_t>(in.size()));
    for (int i = 0; i < in.size(); ++i) {
      const std::string f = field + "[" + std::to_string(i) + "]";
      KeyValueMatch kv;
      kv.name = in[i].name();
      if (kv.name.empty()) Fail(f + ".name", "must not be empty");
      if (!in[i].has_match()) Fail(f + ".match", "is required");
      kv.match = String(f + ".match", in[i].match());
      kv.invert = in[i].invert();
      out.push_back(std::move(kv));
    }
    return out;
  }

  HeaderModifier Headers(const std::string& field, const pb::HeaderModifier& in) {
    HeaderModifier out;
    auto pairs = [&](const char* what, const auto& list, auto& dst) {
      for (int i = 0; i < list.size(); ++i) {
        if (list[i].name().empty()) {
          Fail(field + "." + what + "[" + std::to_string(i) + "].name", "must not be empty");
        }
        dst.emplace_back(list[i].name(), list[i].value());
      }
    };
    pairs("set", in.set(), out.set);
    pairs("add", in.add(), out.add);
    for (int i = 0; i < in.remove_size(); ++i) {
      if (in.remove(i).empty())
        Fail(field + ".remove[" + std::to_string(i) + "]", "must not be empty");
      out.remove.push_back(in.remove(i));
    }
    return out;
  }

  Backend BackendOf(const std::string& field, const pb::Backend& in) {
    Backend out;
    out.host = in.host();
    if (out.host.empty()) Fail(field + ".host", "must not be empty");
    out.port = Port(field + ".port", in.port());
    out.subset = in.subset();
    out.weight = in.weight();
    out.unresolved_status = Status(field + ".unresolved_status", in.unresolved_status(), true);
    if (in.has_request_headers())
      out.request_headers = Headers(field + ".request_headers", in.request_headers());
    if (in.has_response_headers()) {
      out.response_headers = Headers(field + ".response_headers", in.response_headers());
    }
    if (in.has_load_balancer()) {
      out.load_balancer = LoadBalancerOf(field + ".load_balancer", in.load_balancer());
    }
    return out;
  }

  LoadBalancer LoadBalancerOf(const std::string& field, const pb::LoadBalancer& in) {
    LoadBalancer out;
    switch (in.simple()) {
      case pb::LoadBalancer::ROUND_ROBIN:
        out.simple = LoadBalancer::Simple::kRoundRobin;
        break;
      case pb::LoadBalancer::LEAST_REQUEST:
        out.simple = LoadBalancer::Simple::kLeastRequest;
        break;
      case pb::LoadBalancer::RANDOM:
        out.simple = LoadBalancer::Simple::kRandom;
        break;
      default:
        Fail(field + ".simple", std::to_string(in.simple()) + " is not a known policy");
    }
    bool keyed = true;
    switch (in.hash()) {
      case pb::LoadBalancer::HASH_NONE:
        out.hash = LoadBalancer::Hash::kNone;
        keyed = false;
        break;
      case pb::LoadBalancer::HEADER:
        out.hash = LoadBalancer::Hash::kHeader;
        break;
      case pb::LoadBalancer::QUERY_PARAMETER:
        out.hash = LoadBalancer::Hash::kQueryParameter;
        break;
      case pb::LoadBalancer::SOURCE_IP:
        out.hash = LoadBalancer::Hash::kSourceIp;
        keyed = false;
        break;
      case pb::LoadBalancer::COOKIE:
        out.hash = LoadBalancer::Hash::kCookie;
        break;
      default:
        Fail(field + ".hash", std::to_string(in.hash()) + " is not a known hash kind");
    }
    out.hash_key = in.hash_key();
    if (keyed && out.hash_key.empty()) Fail(field + ".hash_key", "must not be empty");
    if (!keyed && !out.hash_key.empty()) {
      Fail(field + ".hash_key", "must be empty for this hash kind");
    }
    if (out.hash == LoadBalancer::Hash::kHeader) {
      for (const char c : out.hash_key) {
        if (c >= 'A' && c <= 'Z') Fail(field + ".hash_key", "a header name must be lower-case");
      }
    }
    return out;
  }

  PathRewrite Rewrite(const std::string& field, const pb::PathRewrite& in) {
    PathRewrite out;
    switch (in.kind()) {
      case pb::PathRewrite::FULL_PATH:
        out.kind = PathRewrite::Kind::kFullPath;
        break;
      case pb::PathRewrite::PREFIX:
        out.kind = PathRewrite::Kind::kPrefix;
        break;
      case pb::PathRewrite::REGEX:
        out.kind = PathRewrite::Kind::kRegex;
        break;
      default:
        Fail(field + ".kind", "unknown or unset kind " + std::to_string(in.kind()));
        break;
    }
    out.value = in.value();
    out.pattern = in.pattern();
    if (out.kind != PathRewrite::Kind::kRegex && !out.pattern.empty()) {
      Fail(field + ".pattern", "is only for kind REGEX");
    }
    return out;
  }

  Route RouteOf(const std::string& field, const pb::Route& in) {
    Route out;
    out.name = in.name();
    if (out.name.empty()) Fail(field + ".name", "must not be empty");
    for (int i = 0; i < in.hosts_size(); ++i) {
      if (in.hosts(i).empty())
        Fail(field + ".hosts[" + std::to_string(i) + "]", "must not be empty");
      out.hosts.push_back(in.hosts(i));
    }
    for (int i = 0; i < in.matches_size(); ++i) {
      const std::string f = field + ".matches[" + std::to_string(i) + "]";
      const pb::RouteMatch& m = in.matches(i);
      RouteMatch rm;
      if (m.has_path()) rm.path = Path(f + ".path", m.path());
      rm.headers = KeyValues(f + ".headers", m.headers());
      rm.query_params = KeyValues(f + ".query_params", m.query_params());
      if (m.has_method()) rm.method = String(f + ".method", m.method());
      if (m.has_authority()) rm.authority = String(f + ".authority", m.authority());
      rm.port = Port(f + ".port", m.port());
      out.matches.push_back(std::move(rm));
    }
    for (int i = 0; i < in.backends_size(); ++i) {
      out.backends.push_back(
          BackendOf(field + ".backends[" + std::to_string(i) + "]", in.backends(i)));
    }
    if (in.has_redirect()) {
      const pb::Redirect& r = in.redirect();
      Redirect red;
      if (r.has_scheme()) red.scheme = r.scheme();
      if (r.has_hostname()) red.hostname = r.hostname();
      if (r.has_port()) red.port = Port(field + ".redirect.port", r.port());
      if (r.has_path()) red.path = Rewrite(field + ".redirect.path", r.path());
      red.status = Status(field + ".redirect.status", r.status(), false);
      out.redirect = std::move(red);
    }
    if (in.has_direct_response()) {
      out.direct_response = DirectResponse{
          .status = Status(field + ".direct_response.status", in.direct_response().status(), false),
          .body = in.direct_response().body()};
    }
    if (in.has_rewrite_path())
      out.rewrite_path = Rewrite(field + ".rewrite_path", in.rewrite_path());
    if (in.has_rewrite_host()) out.rewrite_host = in.rewrite_host();
    if (in.has_request_headers())
      out.request_headers = Headers(field + ".request_headers", in.request_headers());
    if (in.has_response_headers()) {
      out.response_headers = Headers(field + ".response_headers", in.response_headers());
    }
    if (in.has_timeouts()) {
      const pb::Timeouts& t = in.timeouts();
      if (t.has_request_ms())
        out.timeouts.request = Millis(field + ".timeouts.request_ms", t.request_ms());
      if (t.has_backend_request_ms()) {
        out.timeouts.backend_request =
            Millis(field + ".timeouts.backend_request_ms", t.backend_request_ms());
      }
    }
    if (in.has_retry()) {
      const pb::RetryPolicy& r = in.retry();
      RetryPolicy rp;
      rp.attempts = r.attempts();
      if (r.has_per_try_timeout_ms()) {
        rp.per_try_timeout = Millis(field + ".retry.per_try_timeout_ms", r.per_try_timeout_ms());
      }
      for (int i = 0; i < r.retry_on_size(); ++i) {
        if (r.retry_on(i).empty())
          Fail(field + ".retry.retry_on[" + std::to_string(i) + "]", "must not be empty");
        rp.retry_on.push_back(r.retry_on(i));
      }
      for (int i = 0; i < r.codes_size(); ++i) {
        rp.codes.push_back(
            Status(field + ".retry.codes[" + std::to_string(i) + "]", r.codes(i), false));
      }
      if (r.has_backoff_ms()) rp.backoff = Millis(field + ".retry.backoff_ms", r.backoff_ms());
      out.retry = std::move(rp);
    }
    if (in.has_fault()) {
      const pb::Fault& f = in.fault();
      Fault fault;
      if (f.has_delay()) {
        fault.delay = Fault::Delay{
            .fixed = Millis(field + ".fault.delay.fixed_ms", f.delay().fixed_ms()),
            .percentage = Percentage(field + ".fault.delay.percentage", f.delay().percentage())};
      }
      if (f.has_abort()) {
        const pb::Fault::Abort& a = f.abort();
        Fault::Abort abort;
        if ((a.http_status() != 0) == !a.grpc_status().empty()) {
          Fail(field + ".fault.abort", "exactly one of http_status, grpc_status must be set");
        }
        abort.http_status = Status(field + ".fault.abort.http_status", a.http_status(), true);
        abort.grpc_status = a.grpc_status();
        abort.percentage = Percentage(field + ".fault.abort.percentage", a.percentage());
        fault.abort = std::move(abort);
      }
      out.fault = std::move(fault);
    }
    for (int i = 0; i < in.mirrors_size(); ++i) {
      const std::string f = field + ".mirrors[" + std::to_string(i) + "]";
      if (!in.mirrors(i).has_backend()) Fail(f + ".backend", "is required");
      out.mirrors.push_back(
          Mirror{.backend = BackendOf(f + ".backend", in.mirrors(i).backend()),
                 .percentage = Percentage(f + ".percentage", in.mirrors(i).percentage())});
    }
    return out;
  }

 private:
  std::string_view name_;
  std::optional<std::string> error_;
};

}  // namespace

pb::RouteTable EncodeRouteTable(const RouteRules& rules) {
  pb::RouteTable out;
  out.set_precedence(rules.precedence == Precedence::kGatewayApi ? pb::GATEWAY_API
                                                                 : pb::FIRST_MATCH);
  for (const Route& r : rules.routes) EncodeRoute(r, out.add_routes());
  return out;
}

Result<RouteRules> DecodeRouteTable(std::string_view name, const pb::RouteTable& table) {
  Decoder d(name);
  if (name.empty()) d.Fail("name", "must be the Service's FQDN, not empty");
  RouteRules out;
  switch (table.precedence()) {
    case pb::GATEWAY_API:
      out.precedence = Precedence::kGatewayApi;
      break;
    case pb::FIRST_MATCH:
      out.precedence = Precedence::kFirstMatch;
      break;
    default:
      d.Fail("precedence", "unknown or unset precedence " + std::to_string(table.precedence()));
      break;
  }
  out.routes.reserve(static_cast<size_t>(table.routes_size()));
  for (int i = 0; i < table.routes_size() && !d.failed(); ++i) {
    out.routes.push_back(d.RouteOf("routes[" + std::to_string(i) + "]", table.routes(i)));
  }
  if (d.failed()) return d.TakeError();
  return out;
}

Result<RouteRules> DecodeRouteTableBytes(std::string_view name, std::string_view bytes) {
  pb::RouteTable table;
  if (bytes.size() > static_cast<size_t>(std::numeric_limits<int>::max()) ||
      !table.ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))) {
    return Error(ErrorCode::kInvalidArgument,
                 OneLine("RouteTable '" + std::string(name) +
                         "': not a valid ambit.route.v1.RouteTable message"));
  }
  return DecodeRouteTable(name, table);
}

}  // namespace ambit::route
