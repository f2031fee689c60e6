// ztunnel: Ambit's node L4 proxy. One per node: serves every enrolled pod on
// that node (listeners inside each pod's network namespace), gets workloads
// from ambitd over delta xDS, certificates from ambitd's CA, and pods from the
// node agent over ZDS. Runs until SIGTERM/SIGINT or POST /quitquitquit, then
// drains.
#include <CLI/CLI.hpp>

#include <csignal>
#include <cstdio>
#include <pthread.h>
#include <unistd.h>

#include "core/duration.h"
#include "core/log.h"
#include "node/ztunnel.h"

int main(int argc, char** argv) {
  CLI::App app{"ztunnel: Ambit node L4 proxy (mTLS/HBONE for every enrolled pod on a node)"};
  ambit::node::ZtunnelConfig config;
  std::string log_level = "info";
  bool log_json = false;
  std::string admin_ip = "127.0.0.1";
  std::string status_ip = "0.0.0.0";
  int admin_port = 15000, metrics_port = 15020, readiness_port = 15021;
  int drain_seconds = 5;
  int memory_trim_seconds = 10;
  bool no_source_ip = false;

  app.add_option("--node", config.node_name, "Cluster node this ztunnel serves")->required();
  app.add_option("--xds-address", config.xds_address,
                 "ambitd xDS endpoint, e.g. unix:/var/lib/ambit/<cluster>/ambitd.sock")
      ->required();
  app.add_option("--ca-address", config.ca_address, "CA endpoint (default: the xDS address)");
  app.add_option("--credential-file", config.credential_file,
                 "Node bearer token file, sent as 'authorization: Bearer' to xDS and the CA");
  app.add_option("--zds-socket", config.zds_socket, "Node agent's ZDS socket (SOCK_SEQPACKET)")
      ->required();
  app.add_option("--trust-domain", config.trust_domain, "SPIFFE trust domain")
      ->capture_default_str();
  app.add_option("--cluster-id", config.cluster_id, "Cluster id (xDS node, CA metadata)")
      ->capture_default_str();
  app.add_option("--network", config.network, "This node's network (default network if empty)");
  app.add_option("--ip", config.instance_ip, "This ztunnel's IP, reported to xDS");
  app.add_option("--workers", config.workers, "Data-plane event loops (0 = one per core)")
      ->capture_default_str();
  app.add_option("--pool-max-streams", config.pool_max_streams,
                 "Most app connections one pooled HBONE (TLS) connection carries; "
                 "1 = a TLS connection with a full handshake per app connection")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  app.add_option("--admin-address", admin_ip, "Admin bind address")->capture_default_str();
  app.add_option("--admin-port", admin_port, "Admin port (/config_dump)")->capture_default_str();
  app.add_option("--status-address", status_ip, "Metrics and readiness bind address")
      ->capture_default_str();
  app.add_option("--metrics-port", metrics_port, "Prometheus /metrics port")->capture_default_str();
  app.add_option("--readiness-port", readiness_port, "/healthz/ready port")->capture_default_str();
  app.add_option("--drain-seconds", drain_seconds,
                 "Grace for open connections of a removed pod and on shutdown")
      ->capture_default_str();
  app.add_option("--memory-trim-seconds", memory_trim_seconds,
                 "Give memory left by bursts and closed connections back to the OS this often (0 = never)")
      ->capture_default_str();
  app.add_flag("--no-preserve-source-ip", no_source_ip,
               "Connect to apps from the pod IP instead of the client's IP (no IP_TRANSPARENT)");
  app.add_flag("--waypoint-fail-open", config.waypoint_fail_open,
               "Send destinations marked ambit.io/waypoint-required direct while their waypoint "
               "has no ready endpoint (Istio's fallback) instead of resetting the connection");
  std::string secret_ttl = "24h";
  app.add_option("--secret-ttl", secret_ttl,
                 "Workload certificate lifetime to request from the CA (ztunnel's SECRET_TTL), "
                 "e.g. 20s, 1h, 24h (10s-2160h); renewed at half-life")
      ->capture_default_str();
  app.add_option("--log-level", log_level, "trace|debug|info|warn|error|off")->capture_default_str();
  app.add_flag("--log-json", log_json, "One JSON object per log line");
  bool no_dns_proxy = false;
  bool no_ipv6 = false;
  app.add_flag("--no-ipv6", no_ipv6, "IPv4-only node: the DNS proxy answers AAAA with no records");
  app.add_flag("--no-dns-proxy", no_dns_proxy, "Do not open the per-pod DNS proxy (port 15053)");
  app.add_option("--dns-upstream", config.dns_upstreams,
                 "Resolver for forwarded queries, IP or IP:port, repeatable (default: the "
                 "nameservers of --resolv-conf)");
  app.add_option("--resolv-conf", config.resolv_conf, "Where the default upstreams come from")
      ->capture_default_str();
  app.add_option("--cluster-domain", config.cluster_domain, "Kubernetes DNS domain")->capture_default_str();
  CLI11_PARSE(app, argc, argv);
  if (auto ttl = ambit::ParseWorkloadCertTtl(secret_ttl, "--secret-ttl"); ttl.ok()) {
    config.secret_ttl = *ttl;
  } else {
    std::fprintf(stderr, "ztunnel: %s\n", ttl.error().ToString().c_str());
    return 2;
  }

  if (auto st = ambit::InitLogging("ztunnel", log_level, log_json); !st.ok()) {
    std::fprintf(stderr, "ztunnel: %s\n", st.error().ToString().c_str());
    return 2;
  }
  auto admin = ambit::net::SocketAddress::FromParts(admin_ip, admin_port);
  auto metrics = ambit::net::SocketAddress::FromParts(status_ip, metrics_port);
  auto readiness = ambit::net::SocketAddress::FromParts(status_ip, readiness_port);
  for (const auto* r : {&admin, &metrics, &readiness}) {
    if (!r->ok()) {
      std::fprintf(stderr, "ztunnel: %s\n", r->error().ToString().c_str());
      return 2;
    }
  }
  config.admin_address = *admin;
  config.metrics_address = *metrics;
  config.readiness_address = *readiness;
  config.drain = std::chrono::seconds(std::max(0, drain_seconds));
  config.memory_trim_period = std::chrono::seconds(std::max(0, memory_trim_seconds));
  config.preserve_source_ip = !no_source_ip;
  config.dns_proxy = !no_dns_proxy;
  config.ipv6 = !no_ipv6;

  // Signals are taken synchronously by this thread only: block them before
  // any other thread exists so every thread inherits the mask.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  std::signal(SIGPIPE, SIG_IGN);

  auto ztunnel = ambit::node::Ztunnel::Start(config);
  if (!ztunnel.ok()) {
    AMBIT_LOG_ERROR("ztunnel failed to start: {}", ztunnel.error().ToString());
    return 1;
  }
  (*ztunnel)->SetQuitHandler([] { ::kill(::getpid(), SIGTERM); });

  int sig = 0;
  sigwait(&signals, &sig);
  AMBIT_LOG_INFO("received {}, draining", sig == SIGTERM ? "SIGTERM" : "SIGINT");
  (*ztunnel)->Shutdown(config.drain);
  return 0;
}
