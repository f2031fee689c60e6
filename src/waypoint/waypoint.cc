#include "waypoint/waypoint.h"

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/redirect_error.hpp>
#include <asio/steady_timer.hpp>
#include <asio/use_awaitable.hpp>

#include <nlohmann/json.hpp>

#include <mutex>
#include <thread>

#include "caclient/ca_client.h"
#include "core/log.h"
#include "hbone/connect_headers.h"
#include "hbone/copy.h"
#include "hbone/inbound_server.h"
#include "net/listener.h"
#include "net/worker_pool.h"
#include "node/admin.h"
#include "node/authorization.h"
#include "node/await_secret.h"
#include "node/config_dump.h"
#include "node/readiness.h"
#include "node/secret_manager.h"
#include "node/service_loop.h"
#include "node/state_lookup.h"
#include "node/tcp_metrics.h"
#include "node/tls_secret.h"
#include "state/state_store.h"
#include "waypoint/relay.h"
#include "waypoint/telemetry.h"
#include "xds/delta_ads_client.h"

namespace ambit::waypoint {

// Members in construction order; destroyed in reverse (after Shutdown).
struct Waypoint::Impl {
  Impl(WaypointConfig c, identity::SpiffeId id) : config(std::move(c)), identity(std::move(id)) {}

  WaypointConfig config;
  identity::SpiffeId identity;
  WaypointSelf self;
  state::StateStore store;
  node::TcpMetrics metrics;
  node::Readiness readiness;
  node::ServiceLoop service;
  std::shared_ptr<caclient::CaClient> ca;
  std::unique_ptr<node::SecretManager> secrets;
  node::CertLease lease;
  std::unique_ptr<net::WorkerPool> workers;
  std::shared_ptr<node::StateLookup> lookup;
  std::unique_ptr<Relay> relay;
  std::shared_ptr<hbone::InboundServer> inbound;
  std::shared_ptr<net::Listener> listener;
  std::unique_ptr<xds::DeltaAdsClient> xds;
  std::unique_ptr<node::Admin> admin;
  std::atomic<std::uint64_t> accepted_without_certificate{0};
  bool shut_down = false;

  // Re-decides the open relays when a published snapshot changes the policy
  // generation (a policy added, changed or removed, or a workload's policy
  // list changed: the waypoint's own among them). Runs on the publishing
  // (xDS) thread; |relay| is cleared before the relay goes away.
  struct PolicyRecheck {
    std::mutex mu;
    Relay* relay = nullptr;  // guarded by mu
    std::atomic<std::uint64_t> updates{0};
  };
  std::shared_ptr<PolicyRecheck> policy_recheck = std::make_shared<PolicyRecheck>();

  // Hands |socket| to the HBONE server once the certificate is there
  // (right after a start it may still be on its way), else resets it.
  asio::awaitable<void> Accept(asio::ip::tcp::socket socket);
};

asio::awaitable<void> Waypoint::Impl::Accept(asio::ip::tcp::socket socket) {
  const std::shared_ptr<const node::Secret> secret =
      co_await node::AwaitSecret(lease, std::chrono::seconds(5));
  if (secret == nullptr) {
    accepted_without_certificate.fetch_add(1, std::memory_order_relaxed);
    AMBIT_LOG_WARN("waypoint: HBONE connection reset: no certificate for {} yet",
                   identity.ToString());
    hbone::AbortSocket(socket);
    co_return;
  }
  inbound->Serve(std::move(socket));
}

Waypoint::Waypoint(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

Waypoint::~Waypoint() { Shutdown(std::chrono::milliseconds(0)); }

Result<std::unique_ptr<Waypoint>> Waypoint::Start(WaypointConfig config) {
  if (config.name.empty()) return Error(ErrorCode::kInvalidArgument, "--name is required");
  if (config.ns.empty()) return Error(ErrorCode::kInvalidArgument, "--namespace is required");
  if (config.node_name.empty()) return Error(ErrorCode::kInvalidArgument, "--node is required");
  if (config.xds_address.empty()) {
    return Error(ErrorCode::kInvalidArgument, "--xds-address is required");
  }
  if (config.ca_address.empty()) config.ca_address = config.xds_address;
  if (config.service_account.empty()) config.service_account = config.name;

  auto impl = std::make_unique<Impl>(
      config, identity::SpiffeId(config.trust_domain, config.ns, config.service_account));
  Impl& w = *impl;
  w.self.service_key =
      config.ns + "/" + config.name + "." + config.ns + ".svc." + config.domain_suffix;
  if (!config.instance_ip.empty()) {
    auto ip = net::IpAddress::Parse(config.instance_ip);
    if (!ip.ok()) return std::move(ip).error().WithContext("--ip");
    w.self.addresses.push_back(*ip);
  }

  AMBIT_ASSIGN_OR_RETURN(caclient::TokenSource token,
                         caclient::NodeCredentialTokenSource(config.credential_file));

  // Certificate: the waypoint's own identity, fetched at once, renewed at half-life.
  w.ca = config.ca_client;
  if (w.ca == nullptr) {
    caclient::GrpcCaClientOptions ca_options;
    ca_options.token = token;
    ca_options.cluster_id = config.cluster_id;
    ca_options.requested_ttl = config.secret_ttl;
    AMBIT_ASSIGN_OR_RETURN(auto ca_channel, caclient::MakeCaChannel(config.ca_address));
    w.ca = std::shared_ptr<caclient::CaClient>(caclient::MakeGrpcCaClient(ca_channel, ca_options));
  }
  node::SecretManager::Options secret_options;
  secret_options.build = node::BuildTlsSecret;
  w.secrets = std::make_unique<node::SecretManager>(*w.ca, secret_options);
  w.lease = w.secrets->Acquire(w.identity);

  // Data plane.
  w.workers = std::make_unique<net::WorkerPool>(config.workers);
  w.lookup = std::make_shared<node::StateLookup>(w.store, w.workers->size());
  Relay::Options relay_options;
  relay_options.self = w.self;
  relay_options.hbone_port = config.hbone_port;
  relay_options.connect_timeout = config.connect_timeout;
  hbone::Baggage baggage;
  baggage.cluster = config.cluster_id;
  baggage.ns = config.ns;
  baggage.workload_type = "deployment";
  baggage.workload_name = config.name;
  baggage.service_name = config.name;
  baggage.service_version = "latest";
  relay_options.baggage = hbone::FormatBaggage(baggage);
  relay_options.metrics = &w.metrics;
  // The policies that target this waypoint, as its own workload lists them
  // (the workload at its pod IP: --ip, else the address the client dialed).
  std::optional<net::IpAddress> own_ip;
  if (!w.self.addresses.empty()) own_ip = w.self.addresses.front();
  relay_options.authorize = [lookup = w.lookup, own_ip](const hbone::InboundConnectionInfo& conn,
                                                        const net::IpAddress& client_ip,
                                                        const net::SocketAddress& target) {
    const authz::PeerView peer = authz::PeerView::Of(conn.peer_identity, conn.peer_principal);
    std::shared_ptr<const state::WorkloadState> hold;
    const authz::Decision d =
        node::DecideAtWaypoint(lookup->Current(hold), lookup->network(),
                               own_ip.value_or(conn.local.ip()),
                               node::InboundConnectionFacts{&peer, client_ip, target});
    if (d.allowed()) return hbone::AuthorizationResult{};
    return hbone::AuthorizationResult{false, authz::DenialReason(d)};
  };
  relay_options.labeler = [lookup = w.lookup](const hbone::InboundConnectionInfo& conn,
                                              const net::IpAddress& client_ip,
                                              const RelayRoute& relay) {
    std::shared_ptr<const state::WorkloadState> snapshot = lookup->Hold();
    return RelayLabels(*snapshot, lookup->network(), conn.peer_identity, client_ip, relay.target,
                       relay.route.next_hop.ip());
  };
  auto secret_source = w.lease.Source();
  auto sockets = std::make_shared<net::DefaultSocketFactory>();
  w.relay = std::make_unique<Relay>(
      *w.workers, w.lookup, w.identity,
      [secret_source]() -> std::shared_ptr<const tls::TlsContext> {
        auto s = secret_source();
        return s != nullptr ? s->client_context : nullptr;
      },
      sockets, relay_options);
  hbone::InboundServer::Options inbound_options;
  Relay* relay = w.relay.get();
  w.policy_recheck->relay = relay;
  w.store.AddObserver(
      [recheck = w.policy_recheck](const std::shared_ptr<const state::WorkloadState>& previous,
                                   const std::shared_ptr<const state::WorkloadState>& current) {
        const std::uint64_t before = previous == nullptr ? 0 : previous->policy_generation();
        if (before == current->policy_generation()) return;  // the common case: nothing to do
        std::lock_guard lock(recheck->mu);
        if (recheck->relay == nullptr) return;
        recheck->updates.fetch_add(1, std::memory_order_relaxed);
        recheck->relay->RecheckAll();
      });
  inbound_options.stream_handler = [relay](const hbone::InboundConnectionInfo& conn,
                                           std::shared_ptr<h2::Stream> stream) {
    return relay->Serve(conn, std::move(stream));
  };
  w.inbound = std::make_shared<hbone::InboundServer>(
      [secret_source]() -> std::shared_ptr<const tls::TlsContext> {
        auto s = secret_source();
        return s != nullptr ? s->server_context : nullptr;
      },
      // The stream handler (the relay) authorizes each CONNECT itself.
      sockets, std::make_shared<hbone::AllowAllAuthorizer>(), &w.relay->stats(), inbound_options);

  // Discovery.
  xds::DeltaAdsClientOptions xds_options;
  xds_options.node.ip = config.instance_ip;
  xds_options.node.pod_name = config.name;
  xds_options.node.pod_namespace = config.ns;
  xds_options.node.node_name = config.node_name;
  xds_options.node.cluster_id = config.cluster_id;
  if (!config.credential_file.empty()) xds_options.token_source = token;
  AMBIT_ASSIGN_OR_RETURN(auto xds_channel, xds::MakeXdsChannel(config.xds_address));
  w.xds = std::make_unique<xds::DeltaAdsClient>(xds_channel, xds_options, w.store);

  // Readiness and admin.
  auto* xds_client = w.xds.get();
  const node::CertLease* lease = &w.lease;
  w.readiness.AddCheck("xds", [xds_client] { return xds_client->synced(); });
  w.readiness.AddCheck("certificate", [lease] { return lease->Current() != nullptr; });
  w.admin = std::make_unique<node::Admin>(w.service, w.readiness, w.metrics);
  Impl* raw = impl.get();
  w.admin->AddDumpSection("waypoint", [raw](nlohmann::json& out) {
    out = nlohmann::json{{"name", raw->config.name},
                         {"namespace", raw->config.ns},
                         {"identity", raw->identity.ToString()},
                         {"service", raw->self.service_key},
                         {"hboneAddress", raw->listener ? raw->listener->local_address().ToString()
                                                        : std::string()}};
  });
  w.admin->AddDumpSection("counters", [raw](nlohmann::json& out) {
    raw->relay->DumpCounters(out);
    out["policyUpdates"] = raw->policy_recheck->updates.load(std::memory_order_relaxed);
    out["downstream"]["connectionsWithoutCertificate"] =
        raw->accepted_without_certificate.load(std::memory_order_relaxed);
    out["downstream"]["tlsConnectionsActive"] = raw->inbound->connection_count();
  });
  w.admin->AddDumpSection("workloads", [raw](nlohmann::json& out) {
    node::DumpWorkloads(*raw->store.Snapshot(), out);
  });
  w.admin->AddDumpSection("services", [raw](nlohmann::json& out) {
    node::DumpServices(*raw->store.Snapshot(), out);
  });
  w.admin->AddDumpSection("certificates", [raw](nlohmann::json& out) {
    node::DumpCertificates(raw->secrets->Status(), out);
  });
  w.admin->AddDumpSection("xds", [raw](nlohmann::json& out) {
    const auto s = raw->xds->stats();
    out = nlohmann::json{{"address", raw->config.xds_address},
                         {"connected", s.connected},
                         {"synced", raw->xds->synced()},
                         {"responsesApplied", s.responses_applied},
                         {"responsesRejected", s.responses_rejected},
                         {"lastError", s.last_error}};
  });
  w.admin->AddDumpSection("readiness", [raw](nlohmann::json& out) {
    out = nlohmann::json{{"ready", raw->readiness.ready()}, {"pending", raw->readiness.pending()}};
  });
  w.admin->AddDumpSection("config", [raw](nlohmann::json& out) {
    const auto& c = raw->config;
    out = nlohmann::json{{"node", c.node_name},         {"xdsAddress", c.xds_address},
                         {"caAddress", c.ca_address},     {"trustDomain", c.trust_domain},
                         {"clusterId", c.cluster_id},     {"workers", raw->workers->size()},
                         {"instanceIp", c.instance_ip}};
  });

  // Bind first: a port conflict is the likeliest failure and should stop us
  // before anything connects anywhere.
  w.service.Start();
  AMBIT_RETURN_IF_ERROR(w.admin->Start(node::Admin::Addresses{
      config.admin_address, config.metrics_address, config.readiness_address}));
  w.workers->Start();
  auto listener = net::Listener::Start(
      *w.workers, *sockets, config.hbone_address, {}, [raw](asio::ip::tcp::socket socket) {
        auto executor = socket.get_executor();
        asio::co_spawn(executor, raw->Accept(std::move(socket)), asio::detached);
      });
  if (!listener.ok()) {
    w.admin->Close();
    w.workers->Stop();
    w.service.Stop();
    return std::move(listener).error().WithContext("HBONE listener on " +
                                                   config.hbone_address.ToString());
  }
  w.listener = *listener;
  AMBIT_LOG_INFO("HBONE server listening on {}", w.listener->local_address().ToString());
  w.secrets->Start();
  w.xds->Start();
  AMBIT_LOG_INFO("waypoint {} ({}) started: serves {}, xDS {}, CA {}, {} worker(s)",
                 config.name, w.identity.ToString(), w.self.service_key, config.xds_address,
                 config.ca_address, w.workers->size());
  return std::unique_ptr<Waypoint>(new Waypoint(std::move(impl)));
}

void Waypoint::Shutdown(std::chrono::milliseconds drain) {
  Impl& w = *impl_;
  if (w.shut_down) return;
  w.shut_down = true;
  w.readiness.Block("draining");
  w.listener->Close();
  w.inbound->Shutdown();  // GOAWAY: open streams finish, clients dial elsewhere
  const auto deadline = std::chrono::steady_clock::now() + drain;
  while (w.inbound->connection_count() > 0 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  if (const std::size_t left = w.inbound->connection_count(); left > 0) {
    AMBIT_LOG_WARN("{} HBONE connection(s) still open after the drain", left);
  }
  w.relay->ShutdownPools();
  w.xds->Stop();
  {
    std::lock_guard lock(w.policy_recheck->mu);
    w.policy_recheck->relay = nullptr;
  }
  w.secrets->Stop();
  w.admin->Close();
  w.workers->Stop();
  w.service.Stop();
  AMBIT_LOG_INFO("waypoint stopped");
}

void Waypoint::SetQuitHandler(std::function<void()> on_quit) {
  impl_->admin->SetQuitHandler(std::move(on_quit));
}

bool Waypoint::ready() const { return impl_->readiness.ready(); }
net::SocketAddress Waypoint::hbone_address() const { return impl_->listener->local_address(); }
net::SocketAddress Waypoint::admin_address() const { return impl_->admin->bound().admin; }
net::SocketAddress Waypoint::metrics_address() const { return impl_->admin->bound().metrics; }
net::SocketAddress Waypoint::readiness_address() const { return impl_->admin->bound().readiness; }
std::string Waypoint::ConfigDump() const { return impl_->admin->ConfigDump(); }

}  // namespace ambit::waypoint
