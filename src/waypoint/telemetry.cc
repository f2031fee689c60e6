#include "waypoint/telemetry.h"

#include "proxy/state_lookup.h"

namespace ambit::waypoint {
namespace {

std::string WorkloadName(const state::Workload& w) {
  return w.workload_name.empty() ? w.name : w.workload_name;
}

}  // namespace

node::TcpLabels RelayLabels(const state::WorkloadState& state, std::string_view network,
                            const identity::SpiffeId& client_identity,
                            const net::IpAddress& client_ip, const net::SocketAddress& target,
                            const net::IpAddress& endpoint_ip) {
  node::TcpLabels l;
  l.reporter = "waypoint";
  l.connection_security_policy = "mutual_tls";
  if (const state::Workload* src =
          state.FindWorkloadByAddress(network, proxy::PackedFromIp(client_ip))) {
    l.source_workload = WorkloadName(*src);
    l.source_canonical_service = src->canonical_name;
    l.source_canonical_revision = src->canonical_revision;
    l.source_workload_namespace = src->ns;
    l.source_app = src->canonical_name;
    l.source_version = src->canonical_revision;
    l.source_cluster = src->cluster_id;
  } else {
    l.source_workload_namespace = client_identity.ns();
  }
  l.source_principal = client_identity.ToString();  // what the client proved
  if (const state::Service* svc =
          state.FindServiceByVip(network, proxy::PackedFromIp(target.ip()))) {
    l.destination_service = svc->hostname;
    l.destination_service_namespace = svc->ns;
    l.destination_service_name = svc->name;
  }
  if (const state::Workload* dst =
          state.FindWorkloadByAddress(network, proxy::PackedFromIp(endpoint_ip))) {
    l.destination_workload = WorkloadName(*dst);
    l.destination_canonical_service = dst->canonical_name;
    l.destination_canonical_revision = dst->canonical_revision;
    l.destination_workload_namespace = dst->ns;
    l.destination_principal = dst->Identity().ToString();
    l.destination_app = dst->canonical_name;
    l.destination_version = dst->canonical_revision;
    l.destination_cluster = dst->cluster_id;
  }
  return l;
}

}  // namespace ambit::waypoint
