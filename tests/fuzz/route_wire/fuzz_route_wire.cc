// Fuzzes the route table decoder (src/route/wire.h) with the bytes a waypoint
// gets off the wire: an ambit.route.v1.RouteTable resource's value. Checks,
// besides not crashing:
//  - an error names the resource and is one line;
//  - decoded rules re-encode and decode to the same message (round trip);
//  - Compile either accepts them or returns an error (never crashes), and a
//    compiled table answers Match for each route's first host.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "route/table.h"
#include "route/wire.h"

namespace {

using namespace ambit;
constexpr std::string_view kName = "reviews.default.svc.cluster.local";

std::string Deterministic(const google::protobuf::Message& m) {
  std::string out;
  google::protobuf::io::StringOutputStream s(&out);
  google::protobuf::io::CodedOutputStream c(&s);
  c.SetSerializationDeterministic(true);
  m.SerializeToCodedStream(&c);
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  auto decoded = route::DecodeRouteTableBytes(kName, bytes);
  if (!decoded.ok()) {
    const std::string& msg = decoded.error().message();
    if (msg.rfind("RouteTable '" + std::string(kName) + "': ", 0) != 0) std::abort();
    if (msg.find('\n') != std::string::npos) std::abort();
    return 0;
  }
  const route::v1::RouteTable once = route::EncodeRouteTable(decoded.value());
  auto again = route::DecodeRouteTable(kName, once);
  if (!again.ok()) std::abort();
  if (Deterministic(route::EncodeRouteTable(again.value())) != Deterministic(once)) std::abort();

  auto table = route::Compile(std::move(decoded).value());
  if (!table.ok()) return 0;
  for (const route::Route& r : table.value().routes()) {
    if (r.hosts.empty()) continue;
    route::RequestView req{
        .host = r.hosts[0], .authority = r.hosts[0], .path = "/a/b?c=d", .method = "GET"};
    const route::Route* hit = table.value().Match(req);
    if (hit != nullptr && (hit < table.value().routes().data() ||
                           hit >= table.value().routes().data() + table.value().routes().size())) {
      std::abort();
    }
    (void)route::PickBackend(r, 12345);
  }
  return 0;
}
