// Inbound CONNECT validation, as a pure function (no I/O): the first half of
// serving a request on 15008 (as ztunnel's
// https://github.com/istio/ztunnel/blob/master/src/proxy/inbound.rs).
//
//   method is not CONNECT                  -> 400
//   :authority missing or not host:port    -> 400
//   :authority is a hostname (double HBONE) -> 503 (not supported yet)
//   target IP != local IP of the connection -> 400
//   target port is 15001/15006/15008       -> 503 (self call)
//   otherwise                              -> accepted, with the parsed
//                                             forwarded/traceparent/baggage
// Authorization (401) and the upstream connect (503) come after, in the server.
//
// Thread-compatible; never fails on any input (fuzzed: tests/fuzz/hbone_request).
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <variant>

#include "h2/headers.h"
#include "hbone/ports.h"
#include "net/socket_address.h"

namespace ambit::hbone {

struct InboundContext {
  net::IpAddress local_ip;  // local address of the HBONE connection (the pod IP)
  std::span<const std::uint16_t> illegal_ports = kIllegalDestinationPorts;
};

struct AcceptedConnect {
  net::SocketAddress target;                   // where to connect the app side
  std::optional<net::SocketAddress> forwarded_for;  // `forwarded: for="ip:port"`
  std::string forwarded_host;                  // `forwarded: ...;host=<svc>`
  std::string traceparent;                     // only if well formed
  std::string baggage;                         // raw, for telemetry
};

struct RejectedConnect {
  int status;          // 400 or 503
  std::string reason;  // for logs, never sent to the peer
};

using ConnectDecision = std::variant<AcceptedConnect, RejectedConnect>;

ConnectDecision DecideConnect(const h2::Headers& headers, const InboundContext& context);

// W3C traceparent "00-<32 hex>-<16 hex>-<2 hex>", lower-case hex, non-zero ids.
bool IsValidTraceparent(std::string_view value);

// Parses the `for=` element of a Forwarded header (RFC 7239) holding an
// "ip:port" (quoted; IPv6 bracketed). Other forms give nullopt.
std::optional<net::SocketAddress> ParseForwardedFor(std::string_view forwarded);
// The `host=` element of a Forwarded header, unquoted, or "".
std::string ParseForwardedHost(std::string_view forwarded);

}  // namespace ambit::hbone
