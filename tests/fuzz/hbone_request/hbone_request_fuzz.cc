// Feeds arbitrary header sets to the inbound CONNECT decision. Input format:
// the first byte picks the local IP family, the rest is a sequence of
// "name\0value\0" pairs. Checks that the decision never crashes and that an
// accepted target always matches the local IP and is not a self-call port.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "hbone/connect_headers.h"
#include "hbone/connect_request.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace ambit;
  if (size == 0) return 0;
  const net::IpAddress local = (data[0] & 1) ? *net::IpAddress::Parse("fd00::7")
                                             : *net::IpAddress::Parse("10.0.0.7");
  h2::Headers headers;
  std::string cur[2];
  int field = 0;
  for (std::size_t i = 1; i < size; ++i) {
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
  hbone::ConnectDecision d = hbone::DecideConnect(headers, {local});
  if (const auto* a = std::get_if<hbone::AcceptedConnect>(&d)) {
    if (a->target.ip() != local) std::abort();
    for (auto port : hbone::kIllegalDestinationPorts) {
      if (a->target.port() == port) std::abort();
    }
    if (!a->traceparent.empty() && !hbone::IsValidTraceparent(a->traceparent)) std::abort();
    // What we accept we can also build: the client's headers round-trip.
    hbone::ConnectRequest r;
    r.target = a->target;
    r.downstream = a->forwarded_for.value_or(a->target);
    auto rebuilt = hbone::DecideConnect(hbone::BuildConnectHeaders(r), {local});
    if (!std::holds_alternative<hbone::AcceptedConnect>(rebuilt)) std::abort();
  } else {
    const int status = std::get<hbone::RejectedConnect>(d).status;
    if (status != 400 && status != 503) std::abort();
  }
  return 0;
}
