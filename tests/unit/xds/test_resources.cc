#include "test_resources.h"

#include "state/ip_bytes.h"

namespace ambit::xds::testing {

std::string WorkloadUid(const std::string& ns, const std::string& name) {
  return "Kubernetes//Pod/" + ns + "/" + name;
}

istio::workload::Address WorkloadAddress(const std::string& ns, const std::string& name,
                                         const std::string& ip) {
  istio::workload::Address a;
  auto* w = a.mutable_workload();
  w->set_uid(WorkloadUid(ns, name));
  w->set_name(name);
  w->set_namespace_(ns);
  w->add_addresses(state::PackIp(ip).value());
  w->set_tunnel_protocol(istio::workload::HBONE);
  w->set_trust_domain("cluster.local");
  w->set_service_account("default");
  return a;
}

std::string ServiceKey(const std::string& ns, const std::string& name) {
  return ns + "/" + name + "." + ns + ".svc.cluster.local";
}

istio::workload::Address ServiceAddress(const std::string& ns, const std::string& name,
                                        const std::string& vip) {
  istio::workload::Address a;
  auto* s = a.mutable_service();
  s->set_name(name);
  s->set_namespace_(ns);
  s->set_hostname(name + "." + ns + ".svc.cluster.local");
  auto* addr = s->add_addresses();
  addr->set_address(state::PackIp(vip).value());
  auto* port = s->add_ports();
  port->set_service_port(80);
  port->set_target_port(8080);
  return a;
}

}  // namespace ambit::xds::testing
