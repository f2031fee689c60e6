#include "node/ztunnel.h"

#include <nlohmann/json.hpp>

#include <cstdio>
#include <thread>

#include "core/log.h"
#include "dns/proxy.h"
#include "inpod/zds_client.h"
#include "net/worker_pool.h"
#include "node/data_path.h"
#include "node/pod_dump.h"
#include "node/pod_manager.h"
#include "node/policy_watcher.h"
#include "node/zds_handler.h"
#include "proxy/admin.h"
#include "proxy/config_dump.h"
#include "proxy/readiness.h"
#include "proxy/runtime.h"
#include "httpd/service_loop.h"
#include "state/state_store.h"
#include "telemetry/tcp_metrics.h"
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
  std::unique_ptr<proxy::Runtime> runtime;
  // One cell per worker loop (+1 for other threads); made once the pool's
  // size is known.
  std::unique_ptr<telemetry::TcpMetrics> metrics;
  std::unique_ptr<dns::DnsService> dns;
  std::unique_ptr<DataPath> data_path;
  std::unique_ptr<PodManager> pods;
  std::unique_ptr<PolicyWatcher> policy_watcher;
  std::unique_ptr<ZdsHandler> zds_handler;
  std::unique_ptr<inpod::ZdsClient> zds;
  bool shut_down = false;

  // ztunnel's own /config_dump sections (the shared ones come with the runtime).
  void AddDumpSections(proxy::Admin& admin);
};

void Ztunnel::Impl::AddDumpSections(proxy::Admin& admin) {
  admin.AddDumpSection("policies", [this](nlohmann::json& out) {
    proxy::DumpPolicies(*runtime->store().Snapshot(), out);
  });
  admin.AddDumpSection("policyWatcher", [this](nlohmann::json& out) {
    const auto snapshot = runtime->store().Snapshot();
    out = nlohmann::json{{"policyGeneration", snapshot->policy_generation()},
                         {"policyUpdates", policy_watcher->policy_updates()},
                         {"podRechecks", policy_watcher->pod_rechecks()}};
  });
  admin.AddDumpSection("pods", [this](nlohmann::json& out) { DumpPods(pods->Pods(), out); });
  admin.AddDumpSection("connections", [this](nlohmann::json& out) {
    DumpConnections(pods->Connections(std::chrono::seconds(2)), out);
  });
  admin.AddDumpSection("counters", [this](nlohmann::json& out) { data_path->DumpCounters(out); });
  admin.AddDumpSection("zds", [this](nlohmann::json& out) {
    out = nlohmann::json{{"socket", config.zds_socket},
                         {"ready", zds->ready()},
                         {"connections", zds->connections()},
                         {"workloads", zds->Workloads()}};
  });
  admin.AddDumpSection("config", [this](nlohmann::json& out) {
    const ZtunnelConfig& c = config;
    out = nlohmann::json{{"node", c.node_name},
                         {"xdsAddress", c.xds_address},
                         {"caAddress", runtime->config().ca_address},
                         {"zdsSocket", c.zds_socket},
                         {"trustDomain", c.trust_domain},
                         {"clusterId", c.cluster_id},
                         {"network", c.network},
                         {"workers", runtime->workers().size()},
                         {"poolMaxStreams", c.pool_max_streams},
                         {"drainMs", c.drain.count()},
                         {"waypointFailOpen", c.waypoint_fail_open},
                         {"dnsProxy", c.dns_proxy},
                         {"clusterDomain", c.cluster_domain}};
  });
  admin.AddDumpSection("dns", [this](nlohmann::json& out) {
    const auto n = dns->counters();
    nlohmann::json upstreams = nlohmann::json::array();
    for (const auto& u : dns->config().upstreams) upstreams.push_back(u.ToString());
    out = nlohmann::json{{"enabled", config.dns_proxy},
                         {"port", config.dns_port},
                         {"domain", dns->config().resolver.domain},
                         {"upstreams", upstreams},
                         {"queries", n.queries},
                         {"tcpQueries", n.tcp_queries},
                         {"answered", n.answered},
                         {"forwarded", n.forwarded},
                         {"upstreamFailures", n.upstream_failures},
                         {"upstreamTcpRetries", n.upstream_tcp_retries},
                         {"upstreamUdpSockets", n.upstream_udp_sockets},
                         {"truncated", n.truncated},
                         {"malformed", n.malformed},
                         {"refused", n.refused}};
  });
  admin.AddDumpSection("workers", [this](nlohmann::json& out) { data_path->DumpWorkers(out); });
}

Ztunnel::Ztunnel(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

Ztunnel::~Ztunnel() { Shutdown(std::chrono::milliseconds(0)); }

Result<std::unique_ptr<Ztunnel>> Ztunnel::Start(ZtunnelConfig config) {
  if (config.node_name.empty()) return Error(ErrorCode::kInvalidArgument, "--node is required");
  if (config.zds_socket.empty())
    return Error(ErrorCode::kInvalidArgument, "--zds-socket is required");

  auto impl = std::make_unique<Impl>();
  impl->config = config;
  Impl& z = *impl;
  proxy::Runtime::Options runtime_options;
  runtime_options.xds_node.pod_name = "ztunnel-" + config.node_name;
  runtime_options.xds_node.pod_namespace = "istio-system";
  runtime_options.memory_trim_period = config.memory_trim_period;
  AMBIT_ASSIGN_OR_RETURN(z.runtime, proxy::Runtime::Create(config, runtime_options));
  proxy::Runtime& rt = *z.runtime;
  z.metrics = std::make_unique<telemetry::TcpMetrics>(rt.metrics());

  // DNS: the per-pod proxies (when on) and the resolution of endpoints known
  // only by hostname share one service.
  dns::ProxyConfig dns_config;
  AMBIT_ASSIGN_OR_RETURN(dns_config.upstreams, DnsUpstreams(config));
  dns_config.resolver.domain = config.cluster_domain;
  dns_config.resolver.ipv6 = config.ipv6;
  z.dns = std::make_unique<dns::DnsService>(rt.store(), dns_config, rt.workers().size());

  // Data path.
  DataPath::Options dp;
  dp.network = config.network;
  dp.cluster_id = config.cluster_id;
  dp.preserve_source_ip = config.preserve_source_ip;
  dp.hbone_port = config.hbone_port;
  dp.pool_max_streams = config.pool_max_streams;
  dp.waypoint_fail_open = config.waypoint_fail_open;
  xds::DeltaAdsClient* xds_client = &rt.xds();
  dp.discovery_ready = [xds_client] { return xds_client->synced(); };
  dp.when_discovery_ready = [xds_client](std::function<void()> wake) {
    return xds_client->WhenSynced(std::move(wake));
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
  z.data_path = std::make_unique<DataPath>(rt.workers(), rt.store(), *z.metrics, dp);

  // Pods.
  PodManager::Options pod_options;
  pod_options.trust_domain = config.trust_domain;
  pod_options.drain_grace = config.drain;
  state::StateStore* store = &rt.store();
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
    net::WorkerPool* workers = &rt.workers();
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
  z.pods = std::make_unique<PodManager>(rt.workers(), rt.secrets(), *z.data_path,
                                        rt.service().context(), pod_options);
  // Open inbound connections are decided again when policies change.
  PodManager* pod_manager = z.pods.get();
  z.policy_watcher = std::make_unique<PolicyWatcher>(
      rt.store(), [pod_manager] { return pod_manager->LivePods(); });

  // Node agent.
  z.zds_handler = std::make_unique<ZdsHandler>(*z.pods);
  inpod::ZdsClientOptions zds_options;
  zds_options.socket_path = config.zds_socket;
  z.zds = std::make_unique<inpod::ZdsClient>(zds_options, *z.zds_handler);
  inpod::ZdsClient* zds_client = z.zds.get();
  rt.readiness().AddCheck("zds", [zds_client] { return zds_client->ready(); });
  z.AddDumpSections(rt.admin());

  AMBIT_RETURN_IF_ERROR(rt.Start());
  rt.StartDiscovery();
  z.zds->Start();
  AMBIT_LOG_INFO("ztunnel for node {} started: xDS {}, CA {}, ZDS {}, {} worker(s)",
                 config.node_name, config.xds_address, rt.config().ca_address, config.zds_socket,
                 rt.workers().size());
  return std::unique_ptr<Ztunnel>(new Ztunnel(std::move(impl)));
}

void Ztunnel::Shutdown(std::chrono::milliseconds drain) {
  Impl& z = *impl_;
  if (z.shut_down) return;
  z.shut_down = true;
  z.runtime->BeginDrain();
  AMBIT_LOG_INFO("draining: {} pod(s), up to {} ms", z.pods->pod_count(), drain.count());
  z.zds->Stop();  // no more pods come or go
  const std::size_t left = z.pods->Shutdown(drain);
  if (left > 0) AMBIT_LOG_WARN("{} connection(s) still open after the drain", left);
  z.data_path->ShutdownPools();
  z.runtime->StopDiscovery();
  z.policy_watcher->Detach();
  z.runtime->Stop();
  AMBIT_LOG_INFO("ztunnel stopped");
}

void Ztunnel::SetQuitHandler(std::function<void()> on_quit) {
  impl_->runtime->admin().SetQuitHandler(std::move(on_quit));
}

bool Ztunnel::ready() const { return impl_->runtime->readiness().ready(); }
net::SocketAddress Ztunnel::admin_address() const { return impl_->runtime->admin().bound().admin; }
net::SocketAddress Ztunnel::metrics_address() const {
  return impl_->runtime->admin().bound().metrics;
}
net::SocketAddress Ztunnel::readiness_address() const {
  return impl_->runtime->admin().bound().readiness;
}
std::string Ztunnel::ConfigDump() const { return impl_->runtime->admin().ConfigDump(); }

}  // namespace ambit::node
