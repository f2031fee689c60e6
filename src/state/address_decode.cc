#include "state/address_decode.h"

#include <string>

#include "istio/security/authorization.pb.h"
#include "istio/workload/workload.pb.h"
#include "state/ip_bytes.h"

namespace ambit::state {
namespace {

namespace wl = istio::workload;

Error Invalid(std::string_view resource_name, const std::string& what) {
  return Error(ErrorCode::kInvalidArgument,
               "resource '" + std::string(resource_name) + "': " + what);
}

Result<uint16_t> CheckedPort(std::string_view resource_name, const char* field, uint32_t port) {
  if (port > 65535) {
    return Invalid(resource_name, std::string(field) + " " + std::to_string(port) + " out of range");
  }
  return static_cast<uint16_t>(port);
}

Result<std::vector<PortMapping>> DecodePorts(std::string_view resource_name,
                                             const google::protobuf::RepeatedPtrField<wl::Port>& ports) {
  std::vector<PortMapping> out;
  out.reserve(ports.size());
  for (const wl::Port& p : ports) {
    AMBIT_ASSIGN_OR_RETURN(uint16_t service_port,
                           CheckedPort(resource_name, "service_port", p.service_port()));
    AMBIT_ASSIGN_OR_RETURN(uint16_t target_port,
                           CheckedPort(resource_name, "target_port", p.target_port()));
    AppProtocol protocol = AppProtocol::kUnknown;
    switch (p.app_protocol()) {
      case wl::HTTP11: protocol = AppProtocol::kHttp11; break;
      case wl::HTTP2: protocol = AppProtocol::kHttp2; break;
      case wl::GRPC: protocol = AppProtocol::kGrpc; break;
      default: break;  // UNKNOWN, or a value newer than this proxy: L4
    }
    out.push_back(PortMapping{service_port, target_port, protocol});
  }
  return out;
}

Result<std::optional<GatewayRef>> DecodeGateway(std::string_view resource_name,
                                                const wl::GatewayAddress& gw, bool present) {
  if (!present) return std::optional<GatewayRef>();
  GatewayRef ref;
  AMBIT_ASSIGN_OR_RETURN(ref.hbone_mtls_port,
                         CheckedPort(resource_name, "waypoint.hbone_mtls_port", gw.hbone_mtls_port()));
  switch (gw.destination_case()) {
    case wl::GatewayAddress::kHostname:
      if (gw.hostname().hostname().empty()) {
        return Invalid(resource_name, "waypoint hostname is empty");
      }
      ref.service_key = gw.hostname().namespace_() + "/" + gw.hostname().hostname();
      break;
    case wl::GatewayAddress::kAddress:
      if (!IsValidPackedIp(gw.address().address())) {
        return Invalid(resource_name, "waypoint address has " +
                                          std::to_string(gw.address().address().size()) +
                                          " bytes, want 4 or 16");
      }
      ref.network = gw.address().network();
      ref.address = gw.address().address();
      break;
    case wl::GatewayAddress::DESTINATION_NOT_SET:
      return Invalid(resource_name, "waypoint has neither hostname nor address");
  }
  return std::optional<GatewayRef>(std::move(ref));
}

// True when |extensions| names kWaypointRequiredExtension (its config, if
// any, carries nothing we read).
bool HasWaypointRequired(const google::protobuf::RepeatedPtrField<wl::Extension>& extensions) {
  for (const wl::Extension& e : extensions) {
    if (e.name() == kWaypointRequiredExtension) return true;
  }
  return false;
}

Result<std::shared_ptr<const Workload>> DecodeWorkload(std::string_view resource_name,
                                                       const wl::Workload& in) {
  auto w = std::make_shared<Workload>();
  w->uid = in.uid().empty() ? std::string(resource_name) : in.uid();
  if (w->uid != resource_name) {
    return Invalid(resource_name, "workload uid '" + in.uid() + "' differs from the resource name");
  }
  if (w->uid.empty()) return Invalid(resource_name, "workload has no uid");
  w->name = in.name();
  w->ns = in.namespace_();
  for (int i = 0; i < in.addresses_size(); ++i) {
    const std::string& ip = in.addresses(i);
    if (!IsValidPackedIp(ip)) {
      return Invalid(resource_name, "addresses[" + std::to_string(i) + "] has " +
                                        std::to_string(ip.size()) + " bytes, want 4 or 16");
    }
    w->addresses.push_back(ip);
  }
  if (w->addresses.empty() && in.hostname().empty()) {
    return Invalid(resource_name, "workload has neither addresses nor hostname");
  }
  w->hostname = in.hostname();
  w->network = in.network();
  switch (in.tunnel_protocol()) {
    case wl::NONE:
      w->tunnel_protocol = TunnelProtocol::kNone;
      break;
    case wl::HBONE:
      w->tunnel_protocol = TunnelProtocol::kHbone;
      break;
    default:
      return Invalid(resource_name,
                     "unsupported tunnel_protocol " + std::to_string(in.tunnel_protocol()));
  }
  w->trust_domain =
      in.trust_domain().empty() ? std::string(identity::kDefaultTrustDomain) : in.trust_domain();
  w->service_account = in.service_account().empty() ? "default" : in.service_account();
  w->node = in.node();
  w->locality = Locality{in.locality().region(), in.locality().zone(), in.locality().subzone()};
  w->canonical_name = in.canonical_name();
  w->canonical_revision = in.canonical_revision();
  switch (in.workload_type()) {
    case wl::DEPLOYMENT: w->workload_type = WorkloadType::kDeployment; break;
    case wl::CRONJOB: w->workload_type = WorkloadType::kCronJob; break;
    case wl::POD: w->workload_type = WorkloadType::kPod; break;
    case wl::JOB: w->workload_type = WorkloadType::kJob; break;
    default: w->workload_type = WorkloadType::kPod; break;  // telemetry only; be lenient
  }
  w->workload_name = in.workload_name();
  w->cluster_id = in.cluster_id();
  w->healthy = in.status() == wl::HEALTHY;
  w->host_network = in.network_mode() == wl::HOST_NETWORK;
  AMBIT_ASSIGN_OR_RETURN(w->waypoint, DecodeGateway(resource_name, in.waypoint(), in.has_waypoint()));
  for (const auto& [service_key, port_list] : in.services()) {
    if (service_key.find('/') == std::string::npos) {
      return Invalid(resource_name, "services key '" + service_key + "' is not namespace/hostname");
    }
    AMBIT_ASSIGN_OR_RETURN(w->services[service_key], DecodePorts(resource_name, port_list.ports()));
  }
  w->authorization_policies.assign(in.authorization_policies().begin(),
                                   in.authorization_policies().end());
  w->waypoint_required = HasWaypointRequired(in.extensions());
  return std::shared_ptr<const Workload>(std::move(w));
}

Result<LoadBalancing> DecodeLoadBalancing(std::string_view resource_name, const wl::LoadBalancing& in) {
  LoadBalancing lb;
  for (int i = 0; i < in.routing_preference_size(); ++i) {
    switch (in.routing_preference(i)) {
      case wl::LoadBalancing::REGION: lb.routing_preference.push_back(LbScope::kRegion); break;
      case wl::LoadBalancing::ZONE: lb.routing_preference.push_back(LbScope::kZone); break;
      case wl::LoadBalancing::SUBZONE: lb.routing_preference.push_back(LbScope::kSubzone); break;
      case wl::LoadBalancing::NODE: lb.routing_preference.push_back(LbScope::kNode); break;
      case wl::LoadBalancing::CLUSTER: lb.routing_preference.push_back(LbScope::kCluster); break;
      case wl::LoadBalancing::NETWORK: lb.routing_preference.push_back(LbScope::kNetwork); break;
      default:
        return Invalid(resource_name, "load_balancing.routing_preference[" + std::to_string(i) +
                                          "] is " + std::to_string(in.routing_preference(i)) +
                                          ", not a known scope");
    }
  }
  switch (in.mode()) {
    case wl::LoadBalancing::UNSPECIFIED_MODE: lb.mode = LbMode::kStandard; break;
    case wl::LoadBalancing::STRICT: lb.mode = LbMode::kStrict; break;
    case wl::LoadBalancing::FAILOVER: lb.mode = LbMode::kFailover; break;
    case wl::LoadBalancing::PASSTHROUGH: lb.mode = LbMode::kPassthrough; break;
    default:
      return Invalid(resource_name,
                     "load_balancing.mode " + std::to_string(in.mode()) + " is not a known mode");
  }
  switch (in.health_policy()) {
    case wl::LoadBalancing::ONLY_HEALTHY: lb.allow_unhealthy = false; break;
    case wl::LoadBalancing::ALLOW_ALL: lb.allow_unhealthy = true; break;
    default:
      return Invalid(resource_name, "load_balancing.health_policy " +
                                        std::to_string(in.health_policy()) + " is not known");
  }
  return lb;
}

Result<std::shared_ptr<const Service>> DecodeService(std::string_view resource_name,
                                                     const wl::Service& in) {
  auto s = std::make_shared<Service>();
  s->name = in.name();
  s->ns = in.namespace_();
  s->hostname = in.hostname();
  if (s->hostname.empty()) return Invalid(resource_name, "service has no hostname");
  if (s->Key() != resource_name) {
    return Invalid(resource_name, "service key '" + s->Key() + "' differs from the resource name");
  }
  for (int i = 0; i < in.addresses_size(); ++i) {
    const wl::NetworkAddress& a = in.addresses(i);
    if (!IsValidPackedIp(a.address())) {
      return Invalid(resource_name, "addresses[" + std::to_string(i) + "] has " +
                                        std::to_string(a.address().size()) +
                                        " bytes, want 4 or 16");
    }
    s->vips.push_back(ServiceVip{a.network(), a.address()});
  }
  AMBIT_ASSIGN_OR_RETURN(s->ports, DecodePorts(resource_name, in.ports()));
  s->subject_alt_names.assign(in.subject_alt_names().begin(), in.subject_alt_names().end());
  AMBIT_ASSIGN_OR_RETURN(s->waypoint, DecodeGateway(resource_name, in.waypoint(), in.has_waypoint()));
  s->waypoint_required = HasWaypointRequired(in.extensions());
  if (in.has_load_balancing()) {
    AMBIT_ASSIGN_OR_RETURN(s->load_balancing, DecodeLoadBalancing(resource_name, in.load_balancing()));
  }
  return std::shared_ptr<const Service>(std::move(s));
}

}  // namespace

Result<DecodedAddress> DecodeAddress(std::string_view resource_name, const wl::Address& address) {
  switch (address.type_case()) {
    case wl::Address::kWorkload: {
      AMBIT_ASSIGN_OR_RETURN(auto w, DecodeWorkload(resource_name, address.workload()));
      return DecodedAddress(std::move(w));
    }
    case wl::Address::kService: {
      AMBIT_ASSIGN_OR_RETURN(auto s, DecodeService(resource_name, address.service()));
      return DecodedAddress(std::move(s));
    }
    case wl::Address::TYPE_NOT_SET:
      break;
  }
  return Invalid(resource_name, "Address has neither workload nor service");
}

Result<std::shared_ptr<const istio::security::Authorization>> DecodeAuthorization(
    std::string_view resource_name, const istio::security::Authorization& policy) {
  if (policy.name().empty()) return Invalid(resource_name, "policy has no name");
  std::string key = policy.namespace_() + "/" + policy.name();
  if (key != resource_name) {
    return Invalid(resource_name, "policy key '" + key + "' differs from the resource name");
  }
  for (const auto& rule : policy.rules()) {
    for (const auto& clause : rule.clauses()) {
      for (const auto& match : clause.matches()) {
        for (const auto* ips : {&match.source_ips(), &match.not_source_ips(),
                                &match.destination_ips(), &match.not_destination_ips()}) {
          for (const auto& ip : *ips) {
            if (!IsValidPackedIp(ip.address()) || ip.length() > ip.address().size() * 8) {
              return Invalid(resource_name, "policy IP prefix is malformed");
            }
          }
        }
        for (const auto* ports : {&match.destination_ports(), &match.not_destination_ports()}) {
          for (uint32_t port : *ports) {
            if (port > 65535) return Invalid(resource_name, "policy port out of range");
          }
        }
      }
    }
  }
  return std::make_shared<const istio::security::Authorization>(policy);
}

}  // namespace ambit::state
