#include "node/ztunnel.h"

#include <nlohmann/json.hpp>

#include <cstdio>
#include <thread>

#include "caclient/ca_client.h"
#include "core/log.h"
#include "dns/proxy.h"
#include "inpod/zds_client.h"
#include "net/worker_pool.h"
#include "node/admin.h"
#include "node/config_dump.h"
#include "node/data_path.h"
#include "node/pod_manager.h"
#include "node/policy_watcher.h"
#include "node/readiness.h"
#include "node/secret_manager.h"
#include "node/memory_trimmer.h"
#include "node/service_loop.h"
#include "node/tcp_metrics.h"
#include "node/tls_secret.h"
#include "node/zds_handler.h"
#include "state/state_store.h"
#include "xds/delta_ads_client.h"

namespace ambit::node {
namespace {

// A pod's DNS proxy as the pod's side service.
class PodDns final : public PodSideService {
 public:
  explicit PodDns(std::shared_ptr<dns::PodDnsProxy> proxy) : proxy_(std::move(proxy)) {}
  void Stop() override { proxy_->Stop(); }
  std::vector<std::string> Describe() const override {
    std::vector<std::string> out;
    for (const auto& a : proxy_->addresses()) {
      out.push_back("dns udp " + a.ToString());
      out.push_back("dns tcp " + a.ToString());
    }
    return out;
  }

 private:
  std::shared_ptr<dns::PodDnsProxy> proxy_;
};

Result<std::vector<net::SocketAddress>> DnsUpstreams(const ZtunnelConfig& config) {
  std::vector<net::SocketAddress> out;
  for (const auto& text : config.dns_upstreams) {
    auto with_port = net::SocketAddress::Parse(text);
    if (with_port.ok()) {
      out.push_back(*with_port);
      continue;
    }
    auto ip = net::IpAddress::Parse(text);
    if (!ip.ok()) {
      return Error(ErrorCode::kInvalidArgument,
                   "--dns-upstream: expected an IP or IP:port, got '" + text + "'");
    }
    out.emplace_back(*ip, 53);
  }
  if (!out.empty() || config.resolv_conf.empty()) return out;
  std::FILE* f = std::fopen(config.resolv_conf.c_str(), "re");
  if (f == nullptr) {
    AMBIT_LOG_WARN("dns: cannot read {}: forwarded queries will fail", config.resolv_conf);
    return out;
  }
  std::string text;
  char buf[4096];
  for (std::size_t n; (n = std::fread(buf, 1, sizeof buf, f)) > 0;) text.append(buf, n);
  std::fclose(f);
  return dns::ParseResolvConfNameservers(text);
}

}  // namespace

// Members in construction order; destroyed in reverse (after Shutdown).
struct Ztunnel::Impl {
  ZtunnelConfig config;
  state::StateStore store;
  TcpMetrics metrics;
  Readiness readiness;
  ServiceLoop service;
  std::shared_ptr<caclient::CaClient> ca;
  std::unique_ptr<SecretManager> secrets;
  std::unique_ptr<net::WorkerPool> workers;
  std::unique_ptr<dns::DnsService> dns;
  std::unique_ptr<DataPath> data_path;
  std::unique_ptr<PodManager> pods;
  std::unique_ptr<PolicyWatcher> policy_watcher;
  std::unique_ptr<ZdsHandler> zds_handler;
  std::unique_ptr<inpod::ZdsClient> zds;
  std::unique_ptr<xds::DeltaAdsClient> xds;
  std::unique_ptr<Admin> admin;
  std::unique_ptr<MemoryTrimmer> trimmer;  // destroyed first: after Shutdown stopped the loops
  bool shut_down = false;
};

Ztunnel::Ztunnel(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

Ztunnel::~Ztunnel() { Shutdown(std::chrono::milliseconds(0)); }

Result<std::unique_ptr<Ztunnel>> Ztunnel::Start(ZtunnelConfig config) {
  if (config.node_name.empty()) return Error(ErrorCode::kInvalidArgument, "--node is required");
  if (config.xds_address.empty()) {
    return Error(ErrorCode::kInvalidArgument, "--xds-address is required");
  }
  if (config.zds_socket.empty()) return Error(ErrorCode::kInvalidArgument, "--zds-socket is required");
  if (config.ca_address.empty()) config.ca_address = config.xds_address;

  auto impl = std::make_unique<Impl>();
  impl->config = config;
  Impl& z = *impl;

  AMBIT_ASSIGN_OR_RETURN(caclient::TokenSource token,
                         caclient::NodeCredentialTokenSource(config.credential_file));

  // Certificates.
  z.ca = config.ca_client;
  if (z.ca == nullptr) {
    caclient::GrpcCaClientOptions ca_options;
    ca_options.token = token;
    ca_options.cluster_id = config.cluster_id;
    ca_options.requested_ttl = config.secret_ttl;
    AMBIT_ASSIGN_OR_RETURN(auto ca_channel, caclient::MakeCaChannel(config.ca_address));
    z.ca = std::shared_ptr<caclient::CaClient>(caclient::MakeGrpcCaClient(ca_channel, ca_options));
  }
  SecretManager::Options secret_options;
  secret_options.build = BuildTlsSecret;
  z.secrets = std::make_unique<SecretManager>(*z.ca, secret_options);

  // Data plane.
  z.workers = std::make_unique<net::WorkerPool>(config.workers);
  // DNS: the per-pod proxies (when on) and the resolution of endpoints known
  // only by hostname share one service.
  dns::ProxyConfig dns_config;
  AMBIT_ASSIGN_OR_RETURN(dns_config.upstreams, DnsUpstreams(config));
  dns_config.resolver.domain = config.cluster_domain;
  dns_config.resolver.ipv6 = config.ipv6;
  z.dns = std::make_unique<dns::DnsService>(z.store, dns_config, z.workers->size());
  DataPath::Options dp;
  dp.network = config.network;
  dp.cluster_id = config.cluster_id;
  dp.preserve_source_ip = config.preserve_source_ip;
  dp.hbone_port = config.hbone_port;
  dp.pool_max_streams = config.pool_max_streams;
  dp.waypoint_fail_open = config.waypoint_fail_open;
  // The xDS client is created below; the data path asks it only per connection.
  auto* xds_slot = &z.xds;
  dp.discovery_ready = [xds_slot] { return *xds_slot != nullptr && (*xds_slot)->synced(); };
  dp.when_discovery_ready = [xds_slot](std::function<void()> wake) {
    return *xds_slot != nullptr && (*xds_slot)->WhenSynced(std::move(wake));
  };
  {
    dns::DnsService* dns_service = z.dns.get();
    const std::string network = config.network;
    dp.resolve_hostname = [dns_service, network](const Pod& pod, std::string hostname,
                                                 bool v6) -> asio::awaitable<Result<net::IpAddress>> {
      const int loop = net::WorkerPool::CurrentIndex();
      return dns::ResolveHostname(*dns_service, loop < 0 ? 0 : static_cast<std::size_t>(loop), pod.sockets(),
                                  dns::Client{pod.spec().ns, network}, std::move(hostname), v6);
    };
  }
  z.data_path = std::make_unique<DataPath>(*z.workers, z.store, z.metrics, dp);
  PodManager::Options pod_options;
  pod_options.trust_domain = config.trust_domain;
  pod_options.drain_grace = config.drain;
  state::StateStore* store = &z.store;
  const std::string node_name = config.node_name;
  pod_options.resolve_service_account = [store, node_name](const PodSpec& pod) -> std::string {
    auto snapshot = store->Snapshot();
    for (const auto& [uid, w] : snapshot->contents().workloads) {
      if (w->ns == pod.ns && w->name == pod.name && (w->node.empty() || w->node == node_name)) {
        return w->service_account;
      }
    }
    return "";
  };
  if (config.dns_proxy) {
    dns::DnsService* dns_service = z.dns.get();
    net::WorkerPool* workers = z.workers.get();
    const std::string network = config.network;
    const std::uint16_t dns_port = config.dns_port;
    pod_options.side_service = [dns_service, workers, network,
                                dns_port](const Pod& pod) -> Result<std::unique_ptr<PodSideService>> {
      const std::size_t loop = workers->NextIndex();
      AMBIT_ASSIGN_OR_RETURN(auto proxy, dns::PodDnsProxy::Start(*dns_service, workers->loop(loop), loop,
                                                                 pod.sockets(),
                                                                 dns::Client{pod.spec().ns, network}, dns_port));
      return std::unique_ptr<PodSideService>(std::make_unique<PodDns>(std::move(proxy)));
    };
  }
  z.pods = std::make_unique<PodManager>(*z.workers, *z.secrets, *z.data_path, z.service.context(),
                                        pod_options);
  // Open inbound connections are decided again when policies change.
  PodManager* pod_manager = z.pods.get();
  z.policy_watcher = std::make_unique<PolicyWatcher>(z.store, [pod_manager] {
    return pod_manager->LivePods();
  });

  // Discovery.
  xds::DeltaAdsClientOptions xds_options;
  xds_options.node.ip = config.instance_ip;
  xds_options.node.pod_name = "ztunnel-" + config.node_name;
  xds_options.node.pod_namespace = "istio-system";
  xds_options.node.node_name = config.node_name;
  xds_options.node.cluster_id = config.cluster_id;
  if (!config.credential_file.empty()) xds_options.token_source = token;
  AMBIT_ASSIGN_OR_RETURN(auto xds_channel, xds::MakeXdsChannel(config.xds_address));
  z.xds = std::make_unique<xds::DeltaAdsClient>(xds_channel, xds_options, z.store);

  // Node agent.
  z.zds_handler = std::make_unique<ZdsHandler>(*z.pods);
  inpod::ZdsClientOptions zds_options;
  zds_options.socket_path = config.zds_socket;
  z.zds = std::make_unique<inpod::ZdsClient>(zds_options, *z.zds_handler);

  // Readiness and admin.
  auto* xds_client = z.xds.get();
  auto* zds_client = z.zds.get();
  z.readiness.AddCheck("xds", [xds_client] { return xds_client->synced(); });
  z.readiness.AddCheck("zds", [zds_client] { return zds_client->ready(); });
  z.admin = std::make_unique<Admin>(z.service, z.readiness, z.metrics);
  Impl* raw = impl.get();
  z.admin->AddDumpSection("workloads", [raw](nlohmann::json& out) {
    DumpWorkloads(*raw->store.Snapshot(), out);
  });
  z.admin->AddDumpSection("services", [raw](nlohmann::json& out) {
    DumpServices(*raw->store.Snapshot(), out);
  });
  z.admin->AddDumpSection("policies", [raw](nlohmann::json& out) {
    DumpPolicies(*raw->store.Snapshot(), out);
  });
  z.admin->AddDumpSection("policyWatcher", [raw](nlohmann::json& out) {
    const auto snapshot = raw->store.Snapshot();
    out = nlohmann::json{{"policyGeneration", snapshot->policy_generation()},
                         {"policyUpdates", raw->policy_watcher->policy_updates()},
                         {"podRechecks", raw->policy_watcher->pod_rechecks()}};
  });
  z.admin->AddDumpSection("certificates", [raw](nlohmann::json& out) {
    DumpCertificates(raw->secrets->Status(), out);
  });
  z.admin->AddDumpSection("pods", [raw](nlohmann::json& out) { DumpPods(raw->pods->Pods(), out); });
  z.admin->AddDumpSection("connections", [raw](nlohmann::json& out) {
    DumpConnections(raw->pods->Connections(std::chrono::seconds(2)), out);
  });
  z.admin->AddDumpSection("counters", [raw](nlohmann::json& out) {
    raw->data_path->DumpCounters(out);
  });
  z.admin->AddDumpSection("xds", [raw](nlohmann::json& out) {
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
  z.admin->AddDumpSection("zds", [raw](nlohmann::json& out) {
    out = nlohmann::json{{"socket", raw->config.zds_socket},
                         {"ready", raw->zds->ready()},
                         {"connections", raw->zds->connections()},
                         {"workloads", raw->zds->Workloads()}};
  });
  z.admin->AddDumpSection("readiness", [raw](nlohmann::json& out) {
    out = nlohmann::json{{"ready", raw->readiness.ready()}, {"pending", raw->readiness.pending()}};
  });
  z.admin->AddDumpSection("config", [raw](nlohmann::json& out) {
    const auto& c = raw->config;
    out = nlohmann::json{{"node", c.node_name},          {"xdsAddress", c.xds_address},
                         {"caAddress", c.ca_address},      {"zdsSocket", c.zds_socket},
                         {"trustDomain", c.trust_domain},  {"clusterId", c.cluster_id},
                         {"network", c.network},           {"workers", raw->workers->size()},
                         {"poolMaxStreams", c.pool_max_streams}, {"drainMs", c.drain.count()},
                         {"waypointFailOpen", c.waypoint_fail_open},
                         {"dnsProxy", c.dns_proxy},        {"clusterDomain", c.cluster_domain}};
  });
  z.admin->AddDumpSection("dns", [raw](nlohmann::json& out) {
    const auto c = raw->dns->counters();
    nlohmann::json upstreams = nlohmann::json::array();
    for (const auto& u : raw->dns->config().upstreams) upstreams.push_back(u.ToString());
    out = nlohmann::json{{"enabled", raw->config.dns_proxy},
                         {"port", raw->config.dns_port},
                         {"domain", raw->dns->config().resolver.domain},
                         {"upstreams", upstreams},
                         {"queries", c.queries},
                         {"tcpQueries", c.tcp_queries},
                         {"answered", c.answered},
                         {"forwarded", c.forwarded},
                         {"upstreamFailures", c.upstream_failures},
                         {"upstreamTcpRetries", c.upstream_tcp_retries},
                         {"upstreamUdpSockets", c.upstream_udp_sockets},
                         {"truncated", c.truncated},
                         {"malformed", c.malformed},
                         {"refused", c.refused}};
  });
  z.admin->AddDumpSection("workers", [raw](nlohmann::json& out) { raw->data_path->DumpWorkers(out); });

  // Bind the side servers first: a port conflict is the likeliest failure
  // and should stop us before anything connects anywhere.
  z.service.Start();
  AMBIT_RETURN_IF_ERROR(z.admin->Start(Admin::Addresses{
      config.admin_address, config.metrics_address, config.readiness_address}));
  z.secrets->Start();
  z.workers->Start();
  if (config.memory_trim_period.count() > 0) {
    z.trimmer = std::make_unique<MemoryTrimmer>(z.service.context(), *z.workers, config.memory_trim_period);
    z.trimmer->Start();
  }
  z.xds->Start();
  z.zds->Start();
  AMBIT_LOG_INFO("ztunnel for node {} started: xDS {}, CA {}, ZDS {}, {} worker(s)",
                 config.node_name, config.xds_address, config.ca_address, config.zds_socket,
                 z.workers->size());
  return std::unique_ptr<Ztunnel>(new Ztunnel(std::move(impl)));
}

void Ztunnel::Shutdown(std::chrono::milliseconds drain) {
  Impl& z = *impl_;
  if (z.shut_down) return;
  z.shut_down = true;
  z.readiness.Block("draining");
  AMBIT_LOG_INFO("draining: {} pod(s), up to {} ms", z.pods->pod_count(), drain.count());
  z.zds->Stop();  // no more pods come or go
  const std::size_t left = z.pods->Shutdown(drain);
  if (left > 0) AMBIT_LOG_WARN("{} connection(s) still open after the drain", left);
  z.data_path->ShutdownPools();
  z.xds->Stop();
  z.policy_watcher->Detach();
  z.secrets->Stop();
  z.admin->Close();
  if (z.trimmer) z.trimmer->Stop();
  z.workers->Stop();
  z.service.Stop();
  AMBIT_LOG_INFO("ztunnel stopped");
}

void Ztunnel::SetQuitHandler(std::function<void()> on_quit) {
  impl_->admin->SetQuitHandler(std::move(on_quit));
}

bool Ztunnel::ready() const { return impl_->readiness.ready(); }
net::SocketAddress Ztunnel::admin_address() const { return impl_->admin->bound().admin; }
net::SocketAddress Ztunnel::metrics_address() const { return impl_->admin->bound().metrics; }
net::SocketAddress Ztunnel::readiness_address() const { return impl_->admin->bound().readiness; }
std::string Ztunnel::ConfigDump() const { return impl_->admin->ConfigDump(); }

}  // namespace ambit::node
