#include "proxy/main.h"

#include <pthread.h>
#include <unistd.h>

#include <algorithm>
#include <csignal>
#include <cstdio>

#include "core/duration.h"
#include "telemetry/access_log.h"

namespace ambit::proxy {

ProxyMain::ProxyMain(std::string name, const std::string& description, ProxyConfig& config)
    : name_(std::move(name)), app_(description), config_(config) {
  app_.add_option("--xds-address", config_.xds_address,
                  "ambitd xDS endpoint, e.g. unix:/var/lib/ambit/<cluster>/ambitd.sock")
      ->required();
  app_.add_option("--ca-address", config_.ca_address, "CA endpoint (default: the xDS address)");
  app_.add_option("--credential-file", config_.credential_file,
                  "Node bearer token file, sent as 'authorization: Bearer' to xDS and the CA");
  app_.add_option("--trust-domain", config_.trust_domain, "SPIFFE trust domain")
      ->capture_default_str();
  app_.add_option("--cluster-id", config_.cluster_id, "Cluster id (xDS node, CA metadata)")
      ->capture_default_str();
  app_.add_option("--workers", config_.workers, "Data-plane event loops (0 = one per core)")
      ->capture_default_str();
  app_.add_option("--admin-address", admin_ip_, "Admin bind address")->capture_default_str();
  app_.add_option("--admin-port", admin_port_, "Admin port (/config_dump)")->capture_default_str();
  app_.add_option("--status-address", status_ip_, "Metrics and readiness bind address")
      ->capture_default_str();
  app_.add_option("--metrics-port", metrics_port_, "Prometheus /metrics port")
      ->capture_default_str();
  app_.add_option("--readiness-port", readiness_port_, "/healthz/ready port")
      ->capture_default_str();
  drain_option_ =
      app_.add_option("--drain-seconds", drain_seconds_, "Grace for open connections on shutdown")
          ->capture_default_str();
  app_.add_option("--secret-ttl", secret_ttl_,
                  "Workload certificate lifetime to request from the CA (ztunnel's SECRET_TTL), "
                  "e.g. 20s, 1h, 24h (10s-2160h); renewed at half-life")
      ->capture_default_str();
  app_.add_option("--log-level", log_level_, "trace|debug|info|warn|error|off")
      ->capture_default_str();
  app_.add_flag("--log-json", log_json_, "One JSON object per log line");
}

void ProxyMain::DescribeDrain(const std::string& text) { drain_option_->description(text); }

int ProxyMain::Fail(const Error& error) const {
  std::fprintf(stderr, "%s: %s\n", name_.c_str(), error.ToString().c_str());
  return 2;
}

std::optional<int> ProxyMain::Parse(int argc, char** argv) {
  try {
    app_.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app_.exit(e);
  }
  auto ttl = ParseWorkloadCertTtl(secret_ttl_, "--secret-ttl");
  if (!ttl.ok()) return Fail(ttl.error());
  config_.secret_ttl = *ttl;
  if (auto st = InitLogging(name_, log_level_, log_json_); !st.ok()) return Fail(st.error());
  if (log_json_) telemetry::SetAccessLogFormat(telemetry::AccessLogFormat::kJson);
  auto admin = net::SocketAddress::FromParts(admin_ip_, admin_port_);
  auto metrics = net::SocketAddress::FromParts(status_ip_, metrics_port_);
  auto readiness = net::SocketAddress::FromParts(status_ip_, readiness_port_);
  for (const auto* r : {&admin, &metrics, &readiness}) {
    if (!r->ok()) return Fail(r->error());
  }
  config_.admin_address = *admin;
  config_.metrics_address = *metrics;
  config_.readiness_address = *readiness;
  return std::nullopt;
}

std::chrono::milliseconds ProxyMain::drain() const {
  return std::chrono::seconds(std::max(0, drain_seconds_));
}

namespace {

sigset_t TerminationSignals() {
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  return signals;
}

}  // namespace

void ProxyMain::PrepareSignals() {
  const sigset_t signals = TerminationSignals();
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  std::signal(SIGPIPE, SIG_IGN);
}

void ProxyMain::WaitForTermination() const {
  const sigset_t signals = TerminationSignals();
  int sig = 0;
  sigwait(&signals, &sig);
  AMBIT_LOG_INFO("received {}, draining", sig == SIGTERM ? "SIGTERM" : "SIGINT");
}

void ProxyMain::RequestTermination() { ::kill(::getpid(), SIGTERM); }

}  // namespace ambit::proxy
