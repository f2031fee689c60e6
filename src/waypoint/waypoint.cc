#include "waypoint/waypoint.h"


#include <nlohmann/json.hpp>

#include <mutex>

#include "core/log.h"
#include "hbone/connect_headers.h"
#include "hbone/copy.h"
#include "hbone/inbound_server.h"
#include "net/listener.h"
#include "net/task_set.h"
#include "net/worker_pool.h"
#include "proxy/admin.h"
#include "proxy/authorization.h"
#include "proxy/await_secret.h"
#include "proxy/readiness.h"
#include "proxy/runtime.h"
#include "proxy/secret_manager.h"
#include "proxy/state_lookup.h"
#include "state/state_store.h"
#include "telemetry/tcp_metrics.h"
#include "route/wire.h"
#include "waypoint/relay.h"
#include "waypoint/route_updates.h"
#include "waypoint/telemetry.h"

namespace ambit::waypoint {

// Members in construction order; destroyed in reverse (after Shutdown).
struct Waypoint::Impl {
  Impl(WaypointConfig c, identity::SpiffeId id) : config(std::move(c)), identity(std::move(id)) {}

  WaypointConfig config;
  identity::SpiffeId identity;
  WaypointSelf self;
  std::unique_ptr<proxy::Runtime> runtime;
  std::unique_ptr<telemetry::TcpMetrics> metrics;
  proxy::CertLease lease;
  std::shared_ptr<proxy::StateLookup> lookup;
  std::unique_ptr<Relay> relay;
  // ambit.route.v1.RouteTable from ambitd into relay->route_tables().
  std::shared_ptr<RouteTableUpdater> routes = std::make_shared<RouteTableUpdater>();
  std::shared_ptr<hbone::InboundServer> inbound;
  // Accepted connections waiting for the certificate (Accept), on every
  // loop; cancelled at shutdown, before this Impl goes.
  net::TaskSet accepts;
  std::shared_ptr<net::Listener> listener;
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
  // |load| counts the connection in its loop's load until Accept returns.
  asio::awaitable<void> Accept(asio::ip::tcp::socket socket, net::LoadHold load);
  // The relay, its HBONE server and the policy re-checks.
  void BuildRelay(const std::shared_ptr<net::SocketFactory>& sockets);
  // The waypoint's own /config_dump sections and readiness check.
  void AddAdmin();
};

asio::awaitable<void> Waypoint::Impl::Accept(asio::ip::tcp::socket socket, net::LoadHold load) {
  const std::shared_ptr<const proxy::Secret> secret =
      co_await proxy::AwaitSecret(lease, std::chrono::seconds(5));
  if (secret == nullptr) {
    accepted_without_certificate.fetch_add(1, std::memory_order_relaxed);
    AMBIT_LOG_WARN("waypoint: HBONE connection reset: no certificate for {} yet",
                   identity.ToString());
    hbone::AbortSocket(socket);
    co_return;
  }
  inbound->Serve(std::move(socket));
  (void)load;  // released here, when the server holds its own
}

void Waypoint::Impl::BuildRelay(const std::shared_ptr<net::SocketFactory>& sockets) {
  Relay::Options relay_options;
  relay_options.self = self;
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
  relay_options.metrics = metrics.get();
  relay_options.registry = &runtime->metrics();
  // The policies that target this waypoint, as its own workload lists them
  // (the workload at its pod IP: --ip, else the address the client dialed).
  std::optional<net::IpAddress> own_ip;
  if (!self.addresses.empty()) own_ip = self.addresses.front();
  relay_options.authorize = [state_lookup = lookup, own_ip](
                                const hbone::InboundConnectionInfo& conn,
                                const net::IpAddress& client_ip, const net::SocketAddress& target) {
    const authz::PeerView peer = authz::PeerView::Of(conn.peer_identity, conn.peer_principal);
    std::shared_ptr<const state::WorkloadState> hold;
    const authz::Decision d = proxy::DecideAtWaypoint(
        state_lookup->Current(hold), state_lookup->network(), own_ip.value_or(conn.local.ip()),
        proxy::InboundConnectionFacts{&peer, client_ip, target});
    if (d.allowed()) return hbone::AuthorizationResult{};
    return hbone::AuthorizationResult{false, authz::DenialReason(d)};
  };
  relay_options.labeler = [state_lookup = lookup](const hbone::InboundConnectionInfo& conn,
                                                  const net::IpAddress& client_ip,
                                                  const RelayRoute& relayed) {
    std::shared_ptr<const state::WorkloadState> snapshot = state_lookup->Hold();
    return RelayLabels(*snapshot, state_lookup->network(), conn.peer_identity, client_ip,
                       relayed.target, relayed.route.next_hop.ip());
  };
  relay_options.port_protocol = [state_lookup = lookup](const net::SocketAddress& vip) {
    std::shared_ptr<const state::WorkloadState> hold;
    const state::WorkloadState& st = state_lookup->Current(hold);
    const state::Service* svc =
        st.FindServiceByVip(state_lookup->network(), proxy::PackedFromIp(vip.ip()));
    if (svc == nullptr) return state::AppProtocol::kUnknown;
    for (const state::PortMapping& p : svc->ports) {
      if (p.service_port == vip.port()) return p.app_protocol;
    }
    return state::AppProtocol::kUnknown;
  };
  // A Kubernetes Service's FQDN <name>.<namespace>.svc.<domain> -> its VIP
  // on this network (the xDS resource is "<namespace>/<hostname>").
  relay_options.service_vip = [state_lookup = lookup](std::string_view host) -> std::optional<net::IpAddress> {
    const auto first = host.find('.');
    const auto second = first == std::string_view::npos ? first : host.find('.', first + 1);
    if (second == std::string_view::npos) return std::nullopt;
    std::string key(host.substr(first + 1, second - first - 1));
    key += '/';
    key += host;
    std::shared_ptr<const state::WorkloadState> hold;
    const state::WorkloadState& st = state_lookup->Current(hold);
    const state::Service* svc = st.FindServiceByKey(key);
    if (svc == nullptr) return std::nullopt;
    for (const state::ServiceVip& vip : svc->vips) {
      if (vip.network == state_lookup->network()) return proxy::IpFromPacked(vip.address);
    }
    return std::nullopt;
  };
  // The healthy endpoints of a Service VIP:port, keyed as the HTTP proxy's
  // connect target (workload IP and target port), in DecideRoute's order.
  relay_options.service_endpoints =
      [state_lookup = lookup](const net::SocketAddress& vip) -> std::vector<std::string> {
    std::vector<std::string> out;
    std::shared_ptr<const state::WorkloadState> hold;
    const state::WorkloadState& st = state_lookup->Current(hold);
    const state::Service* svc =
        st.FindServiceByVip(state_lookup->network(), proxy::PackedFromIp(vip.ip()));
    if (svc == nullptr) return out;
    for (const state::ServiceEndpoint& ep : st.Endpoints(*svc, vip.port())) {
      if (ep.address.empty()) {
        out.push_back(ep.workload->hostname);
        continue;
      }
      const std::uint16_t port = ep.target_port != 0 ? ep.target_port : vip.port();
      out.push_back(net::SocketAddress(proxy::IpFromPacked(ep.address), port).ToString());
    }
    return out;
  };
  auto secret_source = lease.Source();
  relay = std::make_unique<Relay>(
      runtime->workers(), lookup, identity,
      [secret_source]() -> std::shared_ptr<const tls::TlsContext> {
        auto s = secret_source();
        return s != nullptr ? s->client_context : nullptr;
      },
      sockets, relay_options);
  Relay* raw_relay = relay.get();
  policy_recheck->relay = raw_relay;
  runtime->store().AddObserver(
      [recheck = policy_recheck](const std::shared_ptr<const state::WorkloadState>& previous,
                                 const std::shared_ptr<const state::WorkloadState>& current) {
        const std::uint64_t before = previous == nullptr ? 0 : previous->policy_generation();
        if (before == current->policy_generation()) return;  // the common case: nothing to do
        std::lock_guard lock(recheck->mu);
        if (recheck->relay == nullptr) return;
        recheck->updates.fetch_add(1, std::memory_order_relaxed);
        recheck->relay->RecheckAll();
      });
  hbone::InboundServer::Options inbound_options;
  inbound_options.stream_handler = [raw_relay](const hbone::InboundConnectionInfo& conn,
                                               std::shared_ptr<h2::Stream> stream) {
    return raw_relay->Serve(conn, std::move(stream));
  };
  inbound = std::make_shared<hbone::InboundServer>(
      [secret_source]() -> std::shared_ptr<const tls::TlsContext> {
        auto s = secret_source();
        return s != nullptr ? s->server_context : nullptr;
      },
      // The stream handler (the relay) authorizes each CONNECT itself.
      sockets, std::make_shared<hbone::AllowAllAuthorizer>(), &relay->stats(), inbound_options);
}

void Waypoint::Impl::AddAdmin() {
  const proxy::CertLease* own = &lease;
  runtime->readiness().AddCheck("certificate", [own] { return own->Current() != nullptr; });
  proxy::Admin& admin = runtime->admin();
  admin.AddDumpSection("waypoint", [this](nlohmann::json& out) {
    out = nlohmann::json{
        {"name", config.name},
        {"namespace", config.ns},
        {"identity", identity.ToString()},
        {"service", self.service_key},
        {"hboneAddress", listener ? listener->local_address().ToString() : std::string()}};
  });
  admin.AddDumpSection("routeTables", [this](nlohmann::json& out) { routes->Dump(out); });
  admin.AddDumpSection("counters", [this](nlohmann::json& out) {
    relay->DumpCounters(out);
    out["policyUpdates"] = policy_recheck->updates.load(std::memory_order_relaxed);
    out["downstream"]["connectionsWithoutCertificate"] =
        accepted_without_certificate.load(std::memory_order_relaxed);
    out["downstream"]["tlsConnectionsActive"] = inbound->connection_count();
  });
  admin.AddDumpSection("config", [this](nlohmann::json& out) {
    const WaypointConfig& c = config;
    out = nlohmann::json{{"node", c.node_name},
                         {"xdsAddress", c.xds_address},
                         {"caAddress", runtime->config().ca_address},
                         {"trustDomain", c.trust_domain},
                         {"clusterId", c.cluster_id},
                         {"workers", runtime->workers().size()},
                         {"instanceIp", c.instance_ip}};
  });
}

Waypoint::Waypoint(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

Waypoint::~Waypoint() { Shutdown(std::chrono::milliseconds(0)); }

Result<std::unique_ptr<Waypoint>> Waypoint::Start(WaypointConfig config) {
  if (config.name.empty()) return Error(ErrorCode::kInvalidArgument, "--name is required");
  if (config.ns.empty()) return Error(ErrorCode::kInvalidArgument, "--namespace is required");
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
  proxy::Runtime::Options runtime_options;
  runtime_options.xds_node.pod_name = config.name;
  runtime_options.xds_node.pod_namespace = config.ns;
  runtime_options.xds_handlers[std::string(route::kRouteTableTypeUrl)] = w.routes;
  AMBIT_ASSIGN_OR_RETURN(w.runtime, proxy::Runtime::Create(config, runtime_options));
  w.metrics = std::make_unique<telemetry::TcpMetrics>(w.runtime->metrics());
  proxy::Runtime& rt = *w.runtime;

  // Certificate: the waypoint's own identity, fetched at once, renewed at half-life.
  w.lease = rt.secrets().Acquire(w.identity);
  w.lookup = std::make_shared<proxy::StateLookup>(rt.store(), rt.workers().size());
  auto sockets = std::make_shared<net::DefaultSocketFactory>();
  w.BuildRelay(sockets);
  w.routes->Attach(&w.relay->route_tables());  // before StartDiscovery
  w.AddAdmin();

  // Bind first: a port conflict is the likeliest failure and should stop us
  // before anything connects anywhere.
  AMBIT_RETURN_IF_ERROR(rt.Start());
  Impl* raw = impl.get();
  // One SO_REUSEPORT socket per worker loop; an HBONE connection stays on
  // the loop that accepted it unless another loop serves fewer (ztunnels'
  // pooled connections are few and long-lived).
  net::Listener::Options listen_options;
  listen_options.per_worker = true;
  listen_options.placement = net::Listener::Placement::kLeastLoaded;
  auto listener = net::Listener::Start(
      rt.workers(), *sockets, config.hbone_address, listen_options,
      [raw](asio::ip::tcp::socket socket) {
        auto executor = socket.get_executor();
        // Counts in this loop's load while the certificate is awaited (the
        // HBONE server then holds its own for the connection's life); the
        // hold is released when the task ends (or is refused unstarted).
        asio::awaitable<void> task =
            raw->Accept(std::move(socket), net::WorkerPool::HoldCurrentLoop());
        (void)raw->accepts.Spawn(executor, std::move(task));  // refused (socket closed) once stopping
      });
  if (!listener.ok()) {
    rt.Stop();
    return std::move(listener).error().WithContext("HBONE listener on " +
                                                   config.hbone_address.ToString());
  }
  w.listener = *listener;
  AMBIT_LOG_INFO("HBONE server listening on {}", w.listener->local_address().ToString());
  rt.StartDiscovery();
  AMBIT_LOG_INFO("waypoint {} ({}) started: serves {}, xDS {}, CA {}, {} worker(s)", config.name,
                 w.identity.ToString(), w.self.service_key, config.xds_address,
                 rt.config().ca_address, rt.workers().size());
  return std::unique_ptr<Waypoint>(new Waypoint(std::move(impl)));
}

void Waypoint::Shutdown(std::chrono::milliseconds drain) {
  Impl& w = *impl_;
  if (w.shut_down) return;
  w.shut_down = true;
  w.runtime->BeginDrain();
  w.listener->Close();
  // Connections still waiting for the certificate are dropped.
  w.accepts.Close();
  w.accepts.CancelAll();
  w.inbound->Shutdown();  // GOAWAY: open streams finish, clients dial elsewhere
  const auto deadline = std::chrono::steady_clock::now() + drain;
  if (!w.inbound->WaitDrained(deadline)) {
    AMBIT_LOG_WARN("{} HBONE connection(s) still open after the drain", w.inbound->connection_count());
  }
  w.inbound->Stop();  // cancels the streams still relaying
  // ... and waits for them to end: a relay still suspended when the loops
  // stop would be destroyed with its loop, after the Relay its frame uses.
  if (!w.inbound->WaitStopped(std::chrono::steady_clock::now() + std::chrono::seconds(1))) {
    AMBIT_LOG_WARN("HBONE streams still running 1 s after they were cancelled");
  }
  (void)w.accepts.WaitIdle(std::chrono::steady_clock::now() + std::chrono::seconds(1));
  w.relay->ShutdownPools();
  w.runtime->StopDiscovery();
  {
    std::lock_guard lock(w.policy_recheck->mu);
    w.policy_recheck->relay = nullptr;
  }
  w.runtime->Stop();
  AMBIT_LOG_INFO("waypoint stopped");
}

void Waypoint::SetQuitHandler(std::function<void()> on_quit) {
  impl_->runtime->admin().SetQuitHandler(std::move(on_quit));
}

bool Waypoint::ready() const { return impl_->runtime->readiness().ready(); }
net::SocketAddress Waypoint::hbone_address() const { return impl_->listener->local_address(); }
net::SocketAddress Waypoint::admin_address() const { return impl_->runtime->admin().bound().admin; }
net::SocketAddress Waypoint::metrics_address() const {
  return impl_->runtime->admin().bound().metrics;
}
net::SocketAddress Waypoint::readiness_address() const {
  return impl_->runtime->admin().bound().readiness;
}
RouteTables& Waypoint::route_tables() { return impl_->relay->route_tables(); }

std::string Waypoint::ConfigDump() const { return impl_->runtime->admin().ConfigDump(); }

}  // namespace ambit::waypoint
