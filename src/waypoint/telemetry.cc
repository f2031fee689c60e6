#include "waypoint/telemetry.h"

#include "proxy/state_lookup.h"

namespace ambit::waypoint {
telemetry::TcpLabels RelayLabels(const state::WorkloadState& state, std::string_view network,
                                 const identity::SpiffeId& client_identity,
                                 const net::IpAddress& client_ip, const net::SocketAddress& target,
                                 const net::IpAddress& endpoint_ip) {
  telemetry::TcpLabels l;
  l.reporter = "waypoint";
  l.connection_security_policy = "mutual_tls";
  if (const state::Workload* src =
          state.FindWorkloadByAddress(network, proxy::PackedFromIp(client_ip))) {
    telemetry::FillSource(l, src);
  } else {
    l.source_workload_namespace = client_identity.ns();
  }
  l.source_principal = client_identity.ToString();  // what the client proved
  telemetry::FillDestination(l,
                             state.FindWorkloadByAddress(network, proxy::PackedFromIp(endpoint_ip)),
                             state.FindServiceByVip(network, proxy::PackedFromIp(target.ip())));
  return l;
}

}  // namespace ambit::waypoint
