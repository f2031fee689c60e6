// waypoint: Ambit's waypoint proxy, one per waypoint Gateway (class
// istio-waypoint), run as a pod outside the ambient redirection. For now the
// L4 slice: terminates HBONE on 15008 and relays each CONNECT addressed to a
// service (or workload) bound to this waypoint to one of its endpoints over
// a new HBONE connection with the waypoint's own identity. Gets workloads
// from ambitd over delta xDS and its certificate from ambitd's CA. Runs until
// SIGTERM/SIGINT or POST /quitquitquit, then drains (proxy::ProxyMain).
#include <cstdlib>
#include <string>

#include "proxy/main.h"
#include "waypoint/waypoint.h"

namespace {

// The value of environment variable |name|, or "".
std::string Env(const char* name) {
  const char* v = std::getenv(name);
  return v != nullptr ? v : "";
}

}  // namespace

int main(int argc, char** argv) {
  ambit::waypoint::WaypointConfig config;
  // Pods of the local cluster (and Kubernetes via the downward API) carry these.
  config.node_name = Env("NODE_NAME");
  config.ns = Env("POD_NAMESPACE");
  config.instance_ip = Env("POD_IP");
  ambit::proxy::ProxyMain m(
      "waypoint", "waypoint: Ambit waypoint proxy (HBONE relay to the services bound to it)",
      config);
  CLI::App& app = m.app();
  std::string credential_dir;
  std::string hbone_ip = "0.0.0.0";
  int hbone_port = 15008;
  app.add_option("--name", config.name, "The waypoint Gateway's name (its Service is <name>)")
      ->required();
  app.add_option("--namespace", config.ns, "The Gateway's namespace (default: $POD_NAMESPACE)");
  app.add_option("--service-account", config.service_account,
                 "Service account of the waypoint pod (default: the name)");
  app.add_option("--node", config.node_name,
                 "Node the waypoint pod runs on (default: $NODE_NAME); sent as NODE_NAME to xDS");
  app.add_option("--ip", config.instance_ip, "This pod's IP (default: $POD_IP)");
  app.add_option("--node-credential-dir", credential_dir,
                 "Directory with <node>/credential (the local cluster's nodes/ directory); "
                 "used when --credential-file is not given");
  app.add_option("--domain-suffix", config.domain_suffix, "Cluster DNS suffix of service hostnames")
      ->capture_default_str();
  app.add_option("--hbone-address", hbone_ip, "HBONE bind address")->capture_default_str();
  app.add_option("--hbone-port", hbone_port, "HBONE port")->capture_default_str();
  if (auto code = m.Parse(argc, argv)) return *code;

  if (config.credential_file.empty() && !credential_dir.empty() && !config.node_name.empty()) {
    config.credential_file = credential_dir + "/" + config.node_name + "/credential";
  }
  auto hbone = ambit::net::SocketAddress::FromParts(hbone_ip, hbone_port);
  if (!hbone.ok()) return m.Fail(hbone.error());
  config.hbone_address = *hbone;
  return m.Run([&] { return ambit::waypoint::Waypoint::Start(config); });
}
