// The waypoint's L4 telemetry labels: Istio's istio_tcp_* label set for one
// relayed connection with reporter "waypoint"
// (https://istio.io/latest/docs/reference/config/metrics/). Source = the client (the identity it
// proved, its workload found by the original client address), destination =
// the service addressed and the endpoint chosen; connection security
// mutual_tls (the waypoint only takes HBONE).
//
// Pure; thread-safe.
#pragma once

#include <string_view>

#include "identity/spiffe_id.h"
#include "net/socket_address.h"
#include "state/workload_state.h"
#include "telemetry/tcp_metrics.h"

namespace ambit::waypoint {

telemetry::TcpLabels RelayLabels(const state::WorkloadState& state, std::string_view network,
                                 const identity::SpiffeId& client_identity,
                                 const net::IpAddress& client_ip, const net::SocketAddress& target,
                                 const net::IpAddress& endpoint_ip);

}  // namespace ambit::waypoint
