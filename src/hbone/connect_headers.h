// Building the CONNECT request ztunnel sends
// (https://istio.io/latest/docs/ambient/architecture/hbone/):
//   :method CONNECT, :authority <ip:port> (IPv6 bracketed),
//   baggage (k8s.* / service.* / cloud.* pairs), forwarded for="<client ip:port>"
//   [;host=<service>], traceparent 00-<32 hex>-<16 hex>-00 (random per connection).
// Pure functions except RandomTraceparent (thread-local generator).
#pragma once

#include <array>
#include <cstdint>
#include <string>

#include "h2/headers.h"
#include "net/socket_address.h"

namespace ambit::hbone {

// Workload metadata carried in `baggage` (empty fields are left out).
struct Baggage {
  std::string cluster;            // k8s.cluster.name
  std::string ns;                 // k8s.namespace.name
  std::string workload_type;      // "deployment", "pod", "job", "cronjob"
  std::string workload_name;      // k8s.<workload_type>.name
  std::string service_name;       // service.name (canonical name)
  std::string service_version;    // service.version (canonical revision)
  std::string region;             // cloud.region
  std::string zone;               // cloud.availability_zone
};
std::string FormatBaggage(const Baggage& baggage);

struct ConnectRequest {
  net::SocketAddress target;      // the :authority
  net::SocketAddress downstream;  // the original client, for `forwarded: for=`
  std::string service_host;       // `;host=` when a destination service is known
  std::string baggage;            // FormatBaggage() of the source workload
  std::string traceparent;        // RandomTraceparent() when empty
};

h2::Headers BuildConnectHeaders(const ConnectRequest& request);

std::string FormatTraceparent(const std::array<std::uint8_t, 16>& trace_id,
                              const std::array<std::uint8_t, 8>& parent_id);
std::string RandomTraceparent();

}  // namespace ambit::hbone
