#include "waypoint/http_decision.h"

#include <fmt/format.h>

#include <algorithm>

#include "route/retry.h"

namespace ambit::waypoint {
namespace {

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           auto lower = [](char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c + 32) : c; };
           return lower(x) == lower(y);
         });
}

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c + 32);
  }
  return out;
}

// Request fields as route::HeaderLookup: repeated fields joined with ','
// (only then does a lookup allocate).
class FieldsLookup final : public route::HeaderLookup {
 public:
  explicit FieldsLookup(const h2::Headers& fields) : fields_(fields) {}
  std::optional<std::string_view> Get(std::string_view lower_name) const override {
    const h2::Header* first = nullptr;
    bool repeated = false;
    for (const auto& f : fields_) {
      if (f.name != lower_name) continue;
      if (first == nullptr) {
        first = &f;
      } else {
        repeated = true;
        break;
      }
    }
    if (first == nullptr) return std::nullopt;
    if (!repeated) return std::string_view(first->value);
    joined_.clear();
    for (const auto& f : fields_) {
      if (f.name != lower_name) continue;
      if (!joined_.empty()) joined_ += ',';
      joined_ += f.value;
    }
    return std::string_view(joined_);
  }

 private:
  const h2::Headers& fields_;
  mutable std::string joined_;
};

// "host:port" -> host; "[v6]:port" -> "[v6]".
std::string_view HostOf(std::string_view authority) {
  if (!authority.empty() && authority.front() == '[') {
    auto close = authority.find(']');
    return close == std::string_view::npos ? authority : authority.substr(0, close + 1);
  }
  auto colon = authority.rfind(':');
  return colon == std::string_view::npos ? authority : authority.substr(0, colon);
}

std::optional<std::string_view> PortOf(std::string_view authority) {
  std::string_view host = HostOf(authority);
  if (host.size() + 1 >= authority.size()) return std::nullopt;
  return authority.substr(host.size() + 1);
}

bool WellKnownPort(std::string_view scheme, std::uint16_t port) {
  return (scheme == "http" && port == 80) || (scheme == "https" && port == 443);
}

// Location for a redirect (Gateway API RequestRedirect, VirtualService
// redirect): each part unchanged unless the redirect sets it; a scheme
// change drops the port unless the redirect names one; a scheme's
// well-known port is left out.
std::string Location(const route::Redirect& r, const route::PathMatch* matched,
                     const h2::RequestHead& head) {
  const std::string scheme = r.scheme.value_or(head.scheme.empty() ? "http" : head.scheme);
  const std::string host = r.hostname.value_or(std::string(HostOf(head.authority)));
  std::string port;
  if (r.port.has_value()) {
    if (!WellKnownPort(scheme, *r.port)) port = std::to_string(*r.port);
  } else if (!r.scheme.has_value()) {
    if (auto p = PortOf(head.authority)) port = std::string(*p);
  }
  const std::string path =
      r.path.has_value() ? route::RewritePath(*r.path, matched, head.path) : head.path;
  return scheme + "://" + host + (port.empty() ? "" : ":" + port) + path;
}

}  // namespace

void ApplyHeaderModifier(h2::Headers& fields, const route::HeaderModifier& m) {
  auto erase = [&](std::string_view name) {
    std::erase_if(fields, [&](const h2::Header& h) { return EqualsIgnoreCase(h.name, name); });
  };
  for (const auto& name : m.remove) erase(name);
  for (const auto& [name, value] : m.set) {
    erase(name);
    fields.push_back({Lower(name), value});
  }
  for (const auto& [name, value] : m.add) fields.push_back({Lower(name), value});
}

RequestDecision DecideRequest(const HttpDestination& destination, h2::RequestHead head,
                              const route::RouteTable* table, std::uint64_t random) {
  if (table == nullptr) {
    ForwardRequest out;
    out.backend_host = destination.service_host;
    out.backend_port = destination.port;
    out.head = std::move(head);
    static const route::RetryPolicy kIstioDefault = route::IstioDefaultRetry();
    out.retry = &kIstioDefault;
    return out;
  }
  FieldsLookup fields(head.fields);
  route::RequestView view;
  view.host = destination.service_host;
  view.authority = head.authority;
  view.path = head.path;
  view.method = head.method;
  view.port = destination.port;
  view.headers = &fields;
  const route::MatchResult match = table->MatchWithDetail(view);
  if (!match) {
    return LocalReply{404,
                      {},
                      "",
                      "NR",
                      "no route of " + destination.service_host + " matches " + head.method + " " +
                          route::OneLine(head.path)};
  }
  const route::Route& r = *match.route;
  const route::PathMatch* matched_path =
      match.match != nullptr && match.match->path.has_value() ? &*match.match->path : nullptr;
  if (r.redirect.has_value()) {
    return LocalReply{r.redirect->status,
                      {{"location", Location(*r.redirect, matched_path, head)}},
                      "",
                      "",
                      "redirected by " + r.name};
  }
  if (r.direct_response.has_value()) {
    return LocalReply{r.direct_response->status,
                      {},
                      r.direct_response->body,
                      "",
                      "answered directly by " + r.name};
  }
  const route::Backend* backend = route::PickBackend(r, random);
  if (backend == nullptr) {
    return LocalReply{500, {}, "", "NC", r.name + " has no backend with a non-zero weight"};
  }
  if (backend->unresolved_status != 0) {
    return LocalReply{backend->unresolved_status,
                      {},
                      "",
                      "NC",
                      r.name + ": backend " + backend->host +
                          (backend->subset.empty() ? "" : " subset " + backend->subset) +
                          " is not resolved"};
  }
  ForwardRequest out;
  out.route_name = r.name;
  out.backend_host = backend->host;
  out.backend_port = backend->port != 0 ? backend->port : destination.port;
  out.backend_subset = backend->subset;
  out.load_balancer = backend->load_balancer;
  if (r.rewrite_path.has_value()) {
    head.path = route::RewritePath(*r.rewrite_path, matched_path, head.path);
  }
  if (r.rewrite_host.has_value()) head.authority = *r.rewrite_host;
  ApplyHeaderModifier(head.fields, r.request_headers);
  ApplyHeaderModifier(head.fields, backend->request_headers);
  out.head = std::move(head);
  out.route_response_headers = r.response_headers;
  out.backend_response_headers = backend->response_headers;
  out.timeouts = r.timeouts;
  out.retry = r.retry.has_value() ? &*r.retry : nullptr;
  out.fault = r.fault;
  out.mirrors = r.mirrors;
  return out;
}

void AddProxyRequestHeaders(h2::RequestHead& head, const net::IpAddress& client,
                            std::string_view generated_request_id, int attempt) {
  auto find = [&](std::string_view name) {
    return std::find_if(head.fields.begin(), head.fields.end(),
                        [&](const h2::Header& h) { return h.name == name; });
  };
  const std::string ip = client.ToString();
  if (auto xff = find("x-forwarded-for"); xff != head.fields.end()) {
    xff->value += ", " + ip;
  } else {
    head.fields.push_back({"x-forwarded-for", ip});
  }
  if (find("x-forwarded-proto") == head.fields.end()) {
    head.fields.push_back({"x-forwarded-proto", head.scheme.empty() ? "http" : head.scheme});
  }
  if (auto id = find("x-request-id"); id == head.fields.end() || id->value.empty()) {
    if (id != head.fields.end()) head.fields.erase(id);
    head.fields.push_back({"x-request-id", std::string(generated_request_id)});
  }
  SetAttemptCount(head, attempt);
}

void SetAttemptCount(h2::RequestHead& head, int attempt) {
  std::erase_if(head.fields, [](const h2::Header& h) { return h.name == "x-envoy-attempt-count"; });
  head.fields.push_back({"x-envoy-attempt-count", std::to_string(attempt)});
}

void AddProxyResponseHeaders(h2::ResponseHead& head, const ForwardRequest& forward,
                             std::chrono::milliseconds upstream_time) {
  ApplyHeaderModifier(head.fields, forward.route_response_headers);
  ApplyHeaderModifier(head.fields, forward.backend_response_headers);
  std::erase_if(head.fields,
                [](const h2::Header& h) { return h.name == "x-envoy-upstream-service-time"; });
  head.fields.push_back({"x-envoy-upstream-service-time", std::to_string(upstream_time.count())});
}

bool InPercentage(double percentage, std::uint64_t draw) {
  constexpr std::uint64_t kMillion = 1'000'000;
  if (!(percentage > 0)) return false;  // also NaN
  if (percentage >= 100) return true;
  const auto numerator = static_cast<std::uint64_t>(percentage * 10'000 + 0.5);
  return draw % kMillion < numerator;
}

FaultDecision DecideFault(const route::Fault& fault, std::uint64_t delay_draw,
                          std::uint64_t abort_draw) {
  FaultDecision out;
  if (fault.delay.has_value() && fault.delay->fixed.count() > 0 &&
      InPercentage(fault.delay->percentage, delay_draw)) {
    out.delay = fault.delay->fixed;
  }
  if (!fault.abort.has_value() || !InPercentage(fault.abort->percentage, abort_draw)) return out;
  const route::Fault::Abort& a = *fault.abort;
  LocalReply reply;
  reply.flag = "FI";
  if (!a.grpc_status.empty()) {
    // Envoy answers a gRPC abort with HTTP 200 and the status in a
    // trailers-only response; for HTTP/1 the "trailers" are head fields.
    const int code = route::GrpcStatusCode(a.grpc_status).value_or(2);  // UNKNOWN
    reply.status = 200;
    reply.fields = {{"content-type", "application/grpc"},
                    {"grpc-status", std::to_string(code)},
                    {"grpc-message", "fault filter abort"}};
    reply.reason = "fault injected: gRPC status " + a.grpc_status;
  } else {
    reply.status = a.http_status;
    reply.body = "fault filter abort";
    reply.reason = "fault injected: HTTP " + std::to_string(a.http_status);
  }
  out.abort = std::move(reply);
  return out;
}

std::string ShadowAuthority(std::string_view authority) {
  std::string_view host = HostOf(authority);
  std::string out(host);
  out += "-shadow";
  out += authority.substr(host.size());
  return out;
}

std::string FormatRequestId(std::uint64_t high, std::uint64_t low) {
  high = (high & ~0xf000ULL) | 0x4000ULL;                       // version 4
  low = (low & 0x3fffffffffffffffULL) | 0x8000000000000000ULL;  // variant 10
  return fmt::format("{:08x}-{:04x}-{:04x}-{:04x}-{:012x}", high >> 32, (high >> 16) & 0xffff,
                     high & 0xffff, low >> 48, low & 0xffffffffffffULL);
}

}  // namespace ambit::waypoint
