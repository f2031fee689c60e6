// ztunnel: Ambit's node L4 proxy. One per node: serves every enrolled pod on
// that node (listeners inside each pod's network namespace), gets workloads
// from ambitd over delta xDS, certificates from ambitd's CA, and pods from the
// node agent over ZDS. Runs until SIGTERM/SIGINT or POST /quitquitquit, then
// drains (proxy::ProxyMain).
#include <algorithm>

#include "node/ztunnel.h"
#include "proxy/main.h"

int main(int argc, char** argv) {
  ambit::node::ZtunnelConfig config;
  ambit::proxy::ProxyMain m(
      "ztunnel", "ztunnel: Ambit node L4 proxy (mTLS/HBONE for every enrolled pod on a node)",
      config);
  CLI::App& app = m.app();
  int memory_trim_seconds = 10;
  bool no_source_ip = false;
  bool no_dns_proxy = false;
  bool no_ipv6 = false;
  app.add_option("--node", config.node_name, "Cluster node this ztunnel serves")->required();
  app.add_option("--ip", config.instance_ip, "This ztunnel's IP, reported to xDS");
  app.add_option("--zds-socket", config.zds_socket, "Node agent's ZDS socket (SOCK_SEQPACKET)")
      ->required();
  app.add_option("--network", config.network, "This node's network (default network if empty)");
  app.add_option("--pool-max-streams", config.pool_max_streams,
                 "Most app connections one pooled HBONE (TLS) connection carries; "
                 "1 = a TLS connection with a full handshake per app connection")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  m.DescribeDrain("Grace for open connections of a removed pod and on shutdown");
  app.add_option("--memory-trim-seconds", memory_trim_seconds,
                 "Give memory left by bursts and closed connections back to the OS this often "
                 "(0 = never)")
      ->capture_default_str();
  app.add_flag("--no-preserve-source-ip", no_source_ip,
               "Connect to apps from the pod IP instead of the client's IP (no IP_TRANSPARENT)");
  app.add_flag("--waypoint-fail-open", config.waypoint_fail_open,
               "Send destinations marked ambit.io/waypoint-required direct while their waypoint "
               "has no ready endpoint (Istio's fallback) instead of resetting the connection");
  app.add_flag("--no-ipv6", no_ipv6, "IPv4-only node: the DNS proxy answers AAAA with no records");
  app.add_flag("--no-dns-proxy", no_dns_proxy, "Do not open the per-pod DNS proxy (port 15053)");
  app.add_option("--dns-upstream", config.dns_upstreams,
                 "Resolver for forwarded queries, IP or IP:port, repeatable (default: the "
                 "nameservers of --resolv-conf)");
  app.add_option("--resolv-conf", config.resolv_conf, "Where the default upstreams come from")
      ->capture_default_str();
  app.add_option("--cluster-domain", config.cluster_domain, "Kubernetes DNS domain")
      ->capture_default_str();
  if (auto code = m.Parse(argc, argv)) return *code;

  config.drain = m.drain();
  config.memory_trim_period = std::chrono::seconds(std::max(0, memory_trim_seconds));
  config.preserve_source_ip = !no_source_ip;
  config.dns_proxy = !no_dns_proxy;
  config.ipv6 = !no_ipv6;
  return m.Run([&] { return ambit::node::Ztunnel::Start(config); });
}
