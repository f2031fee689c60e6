// Fuzzes the route lowering and table (src/route) from untrusted YAML, the way
// ambitd gets it: `ambitctl apply -f` -> ParseManifests -> LowerVirtualServices /
// LowerGatewayRoutes (HTTPRoute, GRPCRoute) -> Compile. Checks, besides not crashing:
//  - the lowered rules always compile (a rule that does not is dropped with a
//    diagnostic, never passed on);
//  - every diagnostic names its resource and field and is one line;
//  - the lowering is deterministic;
//  - Match on each route's hosts, with paths, headers and queries taken from
//    the input, returns a route of the table, and PickBackend finds a backend
//    exactly when the route's weights sum to more than zero.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "config/parse.h"
#include "route/lower.h"
#include "route/table.h"

namespace {

using namespace ambit;

class InputHeaders : public route::HeaderLookup {
 public:
  explicit InputHeaders(std::string_view value) : value_(value) {}
  std::optional<std::string_view> Get(std::string_view name) const override {
    if (name.size() % 2 == 0) return std::nullopt;  // some headers absent
    return value_;
  }

 private:
  std::string_view value_;
};

void CheckDiagnostics(const std::vector<config::Diagnostic>& ds) {
  for (const auto& d : ds) {
    if (d.kind.empty() || d.name.empty() || d.path.empty()) abort();
    if (d.message.find_first_of("\n\r") != std::string::npos) abort();
  }
}

void Exercise(const route::RouteTable& table, std::string_view text) {
  const std::string_view tail = text.substr(text.size() / 2, 200);
  const InputHeaders headers(tail);
  for (const route::Route& r : table.routes()) {
    for (const std::string& host : r.hosts) {
      for (std::string_view path :
           {std::string_view("/"), std::string_view("/api/v1/items?x=1&v=2"), tail}) {
        const route::RequestView request{
            .host = host, .path = path, .method = "GET", .port = 80, .headers = &headers};
        const route::Route* m = table.Match(request);
        if (m == nullptr) continue;
        if (m < table.routes().data() || m >= table.routes().data() + table.routes().size())
          abort();
        const route::Backend* b = route::PickBackend(*m, text.size() * 0x9e3779b97f4a7c15ULL);
        if ((b != nullptr) != (m->total_weight > 0)) abort();
        if (b != nullptr && b->weight == 0) abort();
      }
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  config::ParseResult parsed = config::ParseManifests(text, "fuzz.yaml");
  std::vector<config::VirtualService> vs;
  std::vector<config::DestinationRule> dr;
  std::vector<config::HttpRoute> hr;
  std::vector<config::GrpcRoute> gr;
  for (const config::Resource& r : parsed.resources) {
    if (const auto* v = std::get_if<config::VirtualService>(&r)) vs.push_back(*v);
    if (const auto* d = std::get_if<config::DestinationRule>(&r)) dr.push_back(*d);
    if (const auto* h = std::get_if<config::HttpRoute>(&r)) hr.push_back(*h);
    if (const auto* g = std::get_if<config::GrpcRoute>(&r)) gr.push_back(*g);
  }
  for (int kind = 0; kind < 2; ++kind) {
    route::Lowered lowered =
        kind == 0 ? route::LowerVirtualServices(vs, dr) : route::LowerGatewayRoutes(hr, gr);
    CheckDiagnostics(lowered.diagnostics);
    const route::Lowered again =
        kind == 0 ? route::LowerVirtualServices(vs, dr) : route::LowerGatewayRoutes(hr, gr);
    if (again.rules.routes.size() != lowered.rules.routes.size() ||
        again.diagnostics != lowered.diagnostics) {
      abort();
    }
    for (size_t i = 0; i < lowered.rules.routes.size(); ++i) {
      if (again.rules.routes[i].name != lowered.rules.routes[i].name) abort();
    }
    auto table = route::Compile(std::move(lowered.rules));
    if (!table.ok()) abort();
    Exercise(*table, text);
  }
  return 0;
}
