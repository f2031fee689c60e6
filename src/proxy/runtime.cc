#include "proxy/runtime.h"

#include <nlohmann/json.hpp>

#include "caclient/ca_client.h"
#include "net/worker_pool.h"
#include "metrics/registry.h"
#include "proxy/admin.h"
#include "proxy/config_dump.h"
#include "proxy/memory_trimmer.h"
#include "proxy/readiness.h"
#include "proxy/secret_manager.h"
#include "httpd/service_loop.h"
#include "proxy/tls_secret.h"
#include "state/state_store.h"
#include "xds/delta_ads_client.h"

namespace ambit::proxy {

// Members in construction order; destroyed in reverse (after Stop).
struct Runtime::Impl {
  ProxyConfig config;
  std::chrono::milliseconds memory_trim_period{0};
  state::StateStore store;
  Readiness readiness;
  httpd::ServiceLoop service;
  std::shared_ptr<caclient::CaClient> ca;
  std::unique_ptr<SecretManager> secrets;
  std::unique_ptr<net::WorkerPool> workers;
  std::unique_ptr<metrics::Registry> metrics;
  std::unique_ptr<xds::DeltaAdsClient> xds;
  std::unique_ptr<Admin> admin;
  std::unique_ptr<MemoryTrimmer> trimmer;  // destroyed first: after Stop stopped the loops
  bool started = false;
  bool stopped = false;
};

Runtime::Runtime(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

Runtime::~Runtime() { Stop(); }

Result<std::unique_ptr<Runtime>> Runtime::Create(const ProxyConfig& config, Options options) {
  if (config.node_name.empty()) return Error(ErrorCode::kInvalidArgument, "--node is required");
  if (config.xds_address.empty()) {
    return Error(ErrorCode::kInvalidArgument, "--xds-address is required");
  }
  auto impl = std::make_unique<Impl>();
  Impl& r = *impl;
  r.config = config;
  if (r.config.ca_address.empty()) r.config.ca_address = r.config.xds_address;
  r.memory_trim_period = options.memory_trim_period;
  const ProxyConfig& c = r.config;

  AMBIT_ASSIGN_OR_RETURN(caclient::TokenSource token,
                         caclient::NodeCredentialTokenSource(c.credential_file));

  // Certificates: fetched when a lease is first taken, renewed at half-life.
  r.ca = c.ca_client;
  if (r.ca == nullptr) {
    caclient::GrpcCaClientOptions ca_options;
    ca_options.token = token;
    ca_options.cluster_id = c.cluster_id;
    ca_options.requested_ttl = c.secret_ttl;
    AMBIT_ASSIGN_OR_RETURN(auto ca_channel, caclient::MakeCaChannel(c.ca_address));
    r.ca = std::shared_ptr<caclient::CaClient>(caclient::MakeGrpcCaClient(ca_channel, ca_options));
  }
  SecretManager::Options secret_options;
  secret_options.build = BuildTlsSecret;
  r.secrets = std::make_unique<SecretManager>(*r.ca, secret_options);

  r.workers = std::make_unique<net::WorkerPool>(c.workers);
  // Cell 0 for threads off the worker loops, cell i+1 for worker i.
  r.metrics = std::make_unique<metrics::Registry>(
      r.workers->size() + 1,
      +[]() -> std::size_t { return static_cast<std::size_t>(net::WorkerPool::CurrentIndex() + 1); });

  // Discovery.
  xds::DeltaAdsClientOptions xds_options;
  xds_options.node = std::move(options.xds_node);
  xds_options.node.ip = c.instance_ip;
  xds_options.node.node_name = c.node_name;
  xds_options.node.cluster_id = c.cluster_id;
  if (!c.credential_file.empty()) xds_options.token_source = token;
  xds_options.handlers = std::move(options.xds_handlers);
  AMBIT_ASSIGN_OR_RETURN(auto xds_channel, xds::MakeXdsChannel(c.xds_address));
  r.xds = std::make_unique<xds::DeltaAdsClient>(xds_channel, xds_options, r.store);

  // Readiness and admin, with the sections both proxies have.
  xds::DeltaAdsClient* xds_client = r.xds.get();
  r.readiness.AddCheck("xds", [xds_client] { return xds_client->synced(); });
  r.admin = std::make_unique<Admin>(r.service, r.readiness);
  r.admin->AddMetricsSource([registry = r.metrics.get()] { return registry->Render(); });
  Impl* raw = impl.get();
  r.admin->AddDumpSection(
      "workloads", [raw](nlohmann::json& out) { DumpWorkloads(*raw->store.Snapshot(), out); });
  r.admin->AddDumpSection(
      "services", [raw](nlohmann::json& out) { DumpServices(*raw->store.Snapshot(), out); });
  r.admin->AddDumpSection("certificates", [raw](nlohmann::json& out) {
    DumpCertificates(raw->secrets->Status(), out);
  });
  r.admin->AddDumpSection("xds", [raw](nlohmann::json& out) {
    const auto s = raw->xds->stats();
    out = nlohmann::json{{"address", raw->config.xds_address},
                         {"connected", s.connected},
                         {"synced", raw->xds->synced()},
                         {"streamsStarted", s.attempts},
                         {"streamsConnected", s.connects},
                         {"responsesApplied", s.responses_applied},
                         {"responsesRejected", s.responses_rejected},
                         {"resourcesApplied", s.resources_applied},
                         {"removalsApplied", s.removals_applied},
                         {"lastError", s.last_error}};
  });
  r.admin->AddDumpSection("readiness", [raw](nlohmann::json& out) {
    out = nlohmann::json{{"ready", raw->readiness.ready()}, {"pending", raw->readiness.pending()}};
  });
  return std::unique_ptr<Runtime>(new Runtime(std::move(impl)));
}

Status Runtime::Start() {
  Impl& r = *impl_;
  r.started = true;
  r.service.Start();
  if (Status st = r.admin->Start(Admin::Addresses{r.config.admin_address, r.config.metrics_address,
                                                  r.config.readiness_address});
      !st.ok()) {
    Stop();
    return st;
  }
  r.secrets->Start();
  r.workers->Start();
  if (r.memory_trim_period.count() > 0) {
    r.trimmer =
        std::make_unique<MemoryTrimmer>(r.service.context(), *r.workers, r.memory_trim_period);
    r.trimmer->Start();
  }
  return Ok();
}

void Runtime::StartDiscovery() { impl_->xds->Start(); }

void Runtime::BeginDrain() { impl_->readiness.Block("draining"); }

void Runtime::StopDiscovery() { impl_->xds->Stop(); }

void Runtime::Stop() {
  Impl& r = *impl_;
  if (r.stopped || !r.started) return;
  r.stopped = true;
  r.xds->Stop();
  r.secrets->Stop();
  r.admin->Close();
  if (r.trimmer) r.trimmer->Stop();
  r.workers->Stop();
  r.service.Stop();
}

const ProxyConfig& Runtime::config() const { return impl_->config; }
state::StateStore& Runtime::store() { return impl_->store; }
Readiness& Runtime::readiness() { return impl_->readiness; }
httpd::ServiceLoop& Runtime::service() { return impl_->service; }
SecretManager& Runtime::secrets() { return *impl_->secrets; }
net::WorkerPool& Runtime::workers() { return *impl_->workers; }
metrics::Registry& Runtime::metrics() { return *impl_->metrics; }
xds::DeltaAdsClient& Runtime::xds() { return *impl_->xds; }
Admin& Runtime::admin() { return *impl_->admin; }
const Admin& Runtime::admin() const { return *impl_->admin; }

}  // namespace ambit::proxy
