// waypoint: Ambit's waypoint proxy, one per waypoint Gateway (class
// istio-waypoint), run as a pod outside the ambient redirection. For now the
// L4 slice: terminates HBONE on 15008 and relays each CONNECT addressed to a
// service (or workload) bound to this waypoint to one of its endpoints over
// a new HBONE connection with the waypoint's own identity. Gets workloads
// from ambitd over delta xDS and its certificate from ambitd's CA. Runs until
// SIGTERM/SIGINT or POST /quitquitquit, then drains.
#include <CLI/CLI.hpp>

#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <pthread.h>
#include <unistd.h>

#include "core/duration.h"
#include "core/log.h"
#include "waypoint/waypoint.h"

namespace {

// The value of environment variable |name|, or "".
std::string Env(const char* name) {
  const char* v = std::getenv(name);
  return v != nullptr ? v : "";
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"waypoint: Ambit waypoint proxy (HBONE relay to the services bound to it)"};
  ambit::waypoint::WaypointConfig config;
  // Pods of the local cluster (and Kubernetes via the downward API) carry these.
  config.node_name = Env("NODE_NAME");
  config.ns = Env("POD_NAMESPACE");
  config.instance_ip = Env("POD_IP");
  std::string credential_dir;
  std::string log_level = "info";
  bool log_json = false;
  std::string hbone_ip = "0.0.0.0";
  std::string admin_ip = "127.0.0.1";
  std::string status_ip = "0.0.0.0";
  int hbone_port = 15008, admin_port = 15000, metrics_port = 15020, readiness_port = 15021;
  int drain_seconds = 5;

  app.add_option("--name", config.name, "The waypoint Gateway's name (its Service is <name>)")
      ->required();
  app.add_option("--namespace", config.ns, "The Gateway's namespace (default: $POD_NAMESPACE)");
  app.add_option("--service-account", config.service_account,
                 "Service account of the waypoint pod (default: the name)");
  app.add_option("--node", config.node_name,
                 "Node the waypoint pod runs on (default: $NODE_NAME); sent as NODE_NAME to xDS");
  app.add_option("--ip", config.instance_ip, "This pod's IP (default: $POD_IP)");
  app.add_option("--xds-address", config.xds_address,
                 "ambitd xDS endpoint, e.g. unix:/var/lib/ambit/<cluster>/ambitd.sock")
      ->required();
  app.add_option("--ca-address", config.ca_address, "CA endpoint (default: the xDS address)");
  app.add_option("--credential-file", config.credential_file,
                 "Node bearer token file, sent as 'authorization: Bearer' to xDS and the CA");
  app.add_option("--node-credential-dir", credential_dir,
                 "Directory with <node>/credential (the local cluster's nodes/ directory); "
                 "used when --credential-file is not given");
  app.add_option("--trust-domain", config.trust_domain, "SPIFFE trust domain")
      ->capture_default_str();
  app.add_option("--domain-suffix", config.domain_suffix, "Cluster DNS suffix of service hostnames")
      ->capture_default_str();
  app.add_option("--cluster-id", config.cluster_id, "Cluster id (xDS node, CA metadata)")
      ->capture_default_str();
  app.add_option("--workers", config.workers, "Data-plane event loops (0 = one per core)")
      ->capture_default_str();
  app.add_option("--hbone-address", hbone_ip, "HBONE bind address")->capture_default_str();
  app.add_option("--hbone-port", hbone_port, "HBONE port")->capture_default_str();
  app.add_option("--admin-address", admin_ip, "Admin bind address")->capture_default_str();
  app.add_option("--admin-port", admin_port, "Admin port (/config_dump)")->capture_default_str();
  app.add_option("--status-address", status_ip, "Metrics and readiness bind address")
      ->capture_default_str();
  app.add_option("--metrics-port", metrics_port, "Prometheus /metrics port")->capture_default_str();
  app.add_option("--readiness-port", readiness_port, "/healthz/ready port")->capture_default_str();
  app.add_option("--drain-seconds", drain_seconds, "Grace for open connections on shutdown")
      ->capture_default_str();
  std::string secret_ttl = "24h";
  app.add_option("--secret-ttl", secret_ttl,
                 "Workload certificate lifetime to request from the CA (ztunnel's SECRET_TTL), "
                 "e.g. 20s, 1h, 24h (10s-2160h); renewed at half-life")
      ->capture_default_str();
  app.add_option("--log-level", log_level, "trace|debug|info|warn|error|off")->capture_default_str();
  app.add_flag("--log-json", log_json, "One JSON object per log line");
  CLI11_PARSE(app, argc, argv);
  if (auto ttl = ambit::ParseWorkloadCertTtl(secret_ttl, "--secret-ttl"); ttl.ok()) {
    config.secret_ttl = *ttl;
  } else {
    std::fprintf(stderr, "waypoint: %s\n", ttl.error().ToString().c_str());
    return 2;
  }

  if (auto st = ambit::InitLogging("waypoint", log_level, log_json); !st.ok()) {
    std::fprintf(stderr, "waypoint: %s\n", st.error().ToString().c_str());
    return 2;
  }
  if (config.credential_file.empty() && !credential_dir.empty() && !config.node_name.empty()) {
    config.credential_file = credential_dir + "/" + config.node_name + "/credential";
  }
  auto hbone = ambit::net::SocketAddress::FromParts(hbone_ip, hbone_port);
  auto admin = ambit::net::SocketAddress::FromParts(admin_ip, admin_port);
  auto metrics = ambit::net::SocketAddress::FromParts(status_ip, metrics_port);
  auto readiness = ambit::net::SocketAddress::FromParts(status_ip, readiness_port);
  for (const auto* r : {&hbone, &admin, &metrics, &readiness}) {
    if (!r->ok()) {
      std::fprintf(stderr, "waypoint: %s\n", r->error().ToString().c_str());
      return 2;
    }
  }
  config.hbone_address = *hbone;
  config.admin_address = *admin;
  config.metrics_address = *metrics;
  config.readiness_address = *readiness;
  const auto drain = std::chrono::seconds(std::max(0, drain_seconds));

  // Signals are taken synchronously by this thread only: block them before
  // any other thread exists so every thread inherits the mask.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  std::signal(SIGPIPE, SIG_IGN);

  auto waypoint = ambit::waypoint::Waypoint::Start(config);
  if (!waypoint.ok()) {
    AMBIT_LOG_ERROR("waypoint failed to start: {}", waypoint.error().ToString());
    return 1;
  }
  (*waypoint)->SetQuitHandler([] { ::kill(::getpid(), SIGTERM); });

  int sig = 0;
  sigwait(&signals, &sig);
  AMBIT_LOG_INFO("received {}, draining", sig == SIGTERM ? "SIGTERM" : "SIGINT");
  (*waypoint)->Shutdown(drain);
  return 0;
}
