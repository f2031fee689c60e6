#include "node/data_path.h"

#include <asio/post.hpp>
#include <asio/redirect_error.hpp>
#include <asio/steady_timer.hpp>
#include <asio/this_coro.hpp>
#include <asio/use_awaitable.hpp>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <atomic>
#include <future>
#include <optional>

#include "core/log.h"
#include "hbone/connect_headers.h"
#include "hbone/copy.h"
#include "h2/session.h"
#include "hbone/inbound_server.h"
#include "hbone/outbound_path.h"
#include "hbone/pool.h"
#include "hbone/ports.h"
#include "hbone/route.h"
#include "hbone/stats.h"
#include "net/task_set.h"
#include "proxy/authorization.h"
#include "proxy/await_secret.h"
#include "proxy/config_dump.h"
#include "node/inbound_service.h"
#include "node/pod_authorizer.h"
#include "net/connect.h"
#include "net/socket_options.h"
#include "proxy/state_lookup.h"
#include "telemetry/connection_record.h"
#include "tls/context.h"

namespace ambit::node {
namespace {

using asio::ip::tcp;
using telemetry::ConnectionEnds;
using telemetry::ConnectionRecord;
using telemetry::FillDestination;
using telemetry::FillSource;
using telemetry::TcpLabels;
using telemetry::TcpMetrics;

// Per-pod proxies, attached to the Pod; its listeners' connections come here.
struct PodState final : PodTraffic {
  explicit PodState(DataPath::Impl* data_path) : impl(data_path) {}
  void OnOutbound(std::shared_ptr<Pod> pod, tcp::socket socket) override;
  void OnInboundPlaintext(std::shared_ptr<Pod> pod, tcp::socket socket) override;
  void OnHbone(std::shared_ptr<Pod> pod, tcp::socket socket) override;
  // An HBONE connection until the inbound server takes it, holding |load|
  // (this loop's count of HBONE connections) meanwhile.
  static asio::awaitable<void> HbonePending(DataPath::Impl* impl,
                                            std::shared_ptr<hbone::InboundServer> inbound,
                                            std::shared_ptr<Pod> pod, tcp::socket socket,
                                            net::LoadHold load);
  bool WaitIdle(std::chrono::steady_clock::time_point deadline) const override {
    return tasks.WaitIdle(deadline);
  }

  DataPath::Impl* impl;  // the DataPath outlives every pod and its connections
  std::function<std::shared_ptr<const proxy::Secret>()> secret;
  std::shared_ptr<hbone::InboundServer> inbound;
  // Every connection accepted on the pod's listeners, from accept to close
  // (also while it waits for a certificate or discovery, before it registers
  // with the pod's ConnectionTracker, which drains and aborts it). Each task
  // holds the pod, so this outlives them.
  net::TaskSet tasks;
};

std::string BaggageFor(const Pod& pod, const state::Workload* w) {
  hbone::Baggage b;
  b.ns = pod.spec().ns;
  if (w != nullptr) {
    b.cluster = w->cluster_id;
    b.workload_type = "pod";
    b.workload_name = w->workload_name.empty() ? w->name : w->workload_name;
    b.service_name = w->canonical_name;
    b.service_version = w->canonical_revision;
  } else {
    b.workload_type = "pod";
    b.workload_name = pod.spec().name;
  }
  return hbone::FormatBaggage(b);
}

// The far side of an outbound connection and what it reports, as kept while
// the bytes flow. Small on purpose: it lives in a frame that lasts as long as
// the connection; everything needed only to set the connection up stays in
// OpenOutbound's frame, which ends once the leg is open.
struct OutboundLeg {
  // Labels, series and log fields (ends().dst: the passthrough destination
  // or the HBONE peer; ends().hbone_addr: the CONNECT target).
  telemetry::ConnectionRecord record;
  hbone::OutboundLeg far;  // the stream (HBONE) or the socket (passthrough)
};

bool IsIllegalPort(std::uint16_t port) {
  for (auto p : hbone::kIllegalDestinationPorts) {
    if (p == port) return true;
  }
  return false;
}

// Fills a connection row's age and app-socket byte counts.
void DescribeApp(std::chrono::steady_clock::time_point start, const tcp::socket& app,
                 ConnectionRow& row) {
  row.age = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - start);
  if (auto bytes = TcpBytes(const_cast<tcp::socket&>(app).native_handle())) {
    row.bytes_from_app = bytes->first;
    row.bytes_to_app = bytes->second;
  }
}

// What an outbound connection shows in the admin's "connections" (read on
// its loop, only when asked). Destination: the original destination for
// passthrough, the CONNECT target for HBONE; identity: what the HBONE peer
// must prove.
struct OutboundView {
  std::chrono::steady_clock::time_point start;
  const tcp::socket* app;
  const std::optional<OutboundLeg>* leg;
  static void Describe(const void* context, ConnectionRow& row) {
    const auto& v = *static_cast<const OutboundView*>(context);
    row.direction = "outbound";
    DescribeApp(v.start, *v.app, row);
    if (auto peer = net::PeerAddress(const_cast<tcp::socket*>(v.app)->native_handle()); peer.ok()) {
      row.source = peer->ToString();
    }
    if (*v.leg) {
      const telemetry::ConnectionRecord& record = (*v.leg)->record;
      row.destination = (*v.leg)->far.hbone() ? record.ends().hbone_addr : record.ends().dst.ToString();
      row.identity = record.labels().destination_principal;
    }
  }
};

// An inbound plaintext connection (from outside the mesh): no identity.
struct PlaintextView {
  std::chrono::steady_clock::time_point start;
  const tcp::socket* app;
  static void Describe(const void* context, ConnectionRow& row) {
    const auto& v = *static_cast<const PlaintextView*>(context);
    row.direction = "inbound";
    DescribeApp(v.start, *v.app, row);
    auto* socket = const_cast<tcp::socket*>(v.app);
    if (auto peer = net::PeerAddress(socket->native_handle()); peer.ok()) {
      row.source = peer->ToString();
      if (auto dst = net::OriginalDestination(socket->native_handle(), peer->family()); dst.ok()) {
        row.destination = dst->ToString();
      }
    }
  }
};

// Keeps a gauge up for the lifetime of a connection.
class ActiveGauge {
 public:
  explicit ActiveGauge(std::atomic<std::int64_t>& g) : g_(g) { g_.fetch_add(1, std::memory_order_relaxed); }
  ~ActiveGauge() { g_.fetch_sub(1, std::memory_order_relaxed); }
  ActiveGauge(const ActiveGauge&) = delete;
  ActiveGauge& operator=(const ActiveGauge&) = delete;

 private:
  std::atomic<std::int64_t>& g_;
};

// An inbound HBONE tunnel (TLS session from a peer ztunnel or waypoint).
struct SessionView {
  std::chrono::steady_clock::time_point start;
  std::string identity;
  std::string source;
  std::string destination;
  static void Describe(const void* context, ConnectionRow& row) {
    const auto& v = *static_cast<const SessionView*>(context);
    row.direction = "inbound-hbone";
    row.source = v.source;
    row.destination = v.destination;
    row.identity = v.identity;
    row.age = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - v.start);
  }
};

// Destination-side telemetry of a pod's HBONE server: istio_tcp_* with
// reporter="destination", mutual_tls, and the access log line.
class InboundTelemetry final : public hbone::InboundObserver {
 public:
  InboundTelemetry(PodSpec pod, std::string identity, std::shared_ptr<proxy::StateLookup> lookup,
                   TcpMetrics& metrics, std::shared_ptr<ConnectionTracker> tracker)
      : pod_(std::move(pod)), identity_(std::move(identity)), lookup_(std::move(lookup)),
        metrics_(metrics), tracker_(std::move(tracker)) {}

  // Tracks the connection with the pod, so removing the pod (or shutting
  // down) ends it after the drain period; untracked when it closes.
  void SessionStarted(const std::shared_ptr<h2::Session>& session,
                      const hbone::InboundConnectionInfo& connection) override {
    std::weak_ptr<h2::Session> weak = session;
    // The tunnel as the admin's "connections" shows it (its app streams are
    // inside; the bytes are the session's, not counted per tunnel here).
    auto holder = std::make_shared<Tracked>();
    holder->view = {std::chrono::steady_clock::now(), connection.peer_identity.ToString(),
                    connection.peer.ToString(), connection.local.ToString()};
    auto token = tracker_->Register(
        session->executor(),
        [weak] {
          if (auto s = weak.lock()) s->Terminate("pod removed or ztunnel shutting down");
        },
        [weak] {
          // GOAWAY: open streams finish, the peer's pool dials anew for new ones.
          if (auto s = weak.lock()) s->Shutdown();
        },
        {}, ConnectionView{&SessionView::Describe, &holder->view});
    if (!token) {
      session->Terminate("pod is draining");
      return;
    }
    holder->token.emplace(std::move(*token));
    session->set_on_close([holder] { holder->token.reset(); });
  }

  // Each CONNECT's labels are decided once, when it is accepted (one
  // snapshot); its outcome is counted and logged through them.
  std::unique_ptr<hbone::InboundStreamObserver> StreamAccepted(
      const hbone::InboundRequestInfo& request) override {
    return std::make_unique<Stream>(
        &metrics_, Labels(request),
        ConnectionEnds{"inbound", request.peer_address,
                                  net::SocketAddress(request.target.ip(), hbone::kHbonePort),
                                  request.target.ToString()});
  }

 private:
  struct Tracked {
    SessionView view;
    std::optional<ConnectionTracker::Token> token;
  };

  // One CONNECT stream. 401: istio_tcp_connections_failed_total with
  // response_flags="DENY" and a "connection failed" line naming the policy;
  // 503: flag CONNECT. A revoked stream (a policy change denied it) keeps
  // its bytes on the series it opened in; closed and failed count with
  // flag DENY (as ztunnel's AuthorizationPolicyLateRejection).
  class Stream final : public hbone::InboundStreamObserver {
   public:
    Stream(TcpMetrics* metrics, TcpLabels labels, ConnectionEnds ends)
        : metrics_(metrics),
          labels_(std::make_unique<TcpLabels>(std::move(labels))),
          ends_(std::move(ends)) {}
    void Refused(int status, std::string_view reason) override {
      if (labels_ == nullptr) return;
      ConnectionRecord::Refuse(metrics_, std::move(*labels_), ends_,
                               status == 401 ? "DENY" : "CONNECT",
                               status == 401 ? proxy::RejectionError(reason) : std::string());
      labels_.reset();
    }
    void Opened() override {
      if (labels_ == nullptr) return;
      // From here the labels live in the interned series; the record points there.
      record_ = ConnectionRecord(metrics_, *labels_, ends_);
      labels_.reset();
      opened_ = true;
      record_.Opened();
    }
    void Closed(std::uint64_t to_app, std::uint64_t from_app, bool aborted,
                std::string_view revoked) override {
      if (!opened_) return;
      if (!revoked.empty()) {
        record_.Revoked(from_app, to_app, proxy::LateRejectionError(revoked));
      } else {
        record_.Closed(from_app, to_app, aborted);
      }
    }

   private:
    TcpMetrics* metrics_;
    std::unique_ptr<TcpLabels> labels_;  // until the stream opens or is refused
    ConnectionEnds ends_;
    ConnectionRecord record_;
    bool opened_ = false;
  };

  telemetry::TcpLabels Labels(const hbone::InboundRequestInfo& request) const {
    std::shared_ptr<const state::WorkloadState> snapshot = lookup_->Hold();
    telemetry::TcpLabels labels;
    labels.reporter = "destination";
    labels.connection_security_policy = "mutual_tls";
    FillSource(labels, snapshot->FindWorkloadByAddress(lookup_->network(),
                                                       proxy::PackedFromIp(request.peer_address.ip())));
    labels.source_principal = request.peer_identity.ToString();  // what the peer proved
    const state::Workload* self =
        snapshot->FindWorkloadByAddress(lookup_->network(), proxy::PackedFromIp(request.target.ip()));
    FillDestination(labels, self,
                    self == nullptr ? nullptr
                                    : GuessInboundService(*snapshot, *self, request.target.port(),
                                                          request.forwarded_host));
    if (self == nullptr) {
      labels.destination_workload = pod_.name;
      labels.destination_workload_namespace = pod_.ns;
      labels.destination_principal = identity_;
    }
    return labels;
  }

  PodSpec pod_;
  std::string identity_;
  std::shared_ptr<proxy::StateLookup> lookup_;
  TcpMetrics& metrics_;
  std::shared_ptr<ConnectionTracker> tracker_;
};

}  // namespace

struct DataPath::Impl {
  Impl(net::WorkerPool& w, const state::StateStore& s, TcpMetrics& m, Options o)
      : workers(w),
        metrics(m),
        options(std::move(o)),
        stats(w.size()),
        pools(w, PoolOptions(options), &stats),
        lookup(std::make_shared<proxy::StateLookup>(s, w.size(), options.network)),
        outbound(lookup, &pools, &stats, OutboundOptions(options)) {}

  static hbone::Pool::Options PoolOptions(const Options& o) {
    hbone::Pool::Options p;
    p.connect_timeout = o.connect_timeout;
    p.max_streams_per_connection = std::max<std::size_t>(o.pool_max_streams, 1);
    return p;
  }

  static hbone::OutboundPath::Options OutboundOptions(const Options& o) {
    hbone::OutboundPath::Options p;
    p.route.hbone_port = o.hbone_port;
    p.route.waypoint_fail_open = o.waypoint_fail_open;
    p.connect_timeout = o.connect_timeout;
    p.ready = o.discovery_ready;
    p.when_ready = o.when_discovery_ready;
    p.ready_wait = o.cert_wait;
    return p;
  }

  asio::awaitable<void> Outbound(std::shared_ptr<Pod> pod, tcp::socket downstream);
  // Routes |downstream| and opens its far side; nullopt when it was refused
  // or failed (counted, logged, |downstream| aborted).
  // |start|: when |downstream| was accepted.
  asio::awaitable<std::optional<OutboundLeg>> OpenOutbound(
      const std::shared_ptr<Pod>& pod, tcp::socket& downstream,
      std::chrono::steady_clock::time_point start);
  asio::awaitable<void> InboundPlaintext(std::shared_ptr<Pod> pod, tcp::socket downstream);
  // Serves |socket| with |inbound| (the pod's server) once a certificate is there.
  asio::awaitable<void> Hbone(std::shared_ptr<Pod> pod, tcp::socket socket,
                              std::shared_ptr<hbone::InboundServer> inbound);

  net::WorkerPool& workers;
  TcpMetrics& metrics;
  Options options;
  hbone::Stats stats;
  hbone::PoolSet pools;
  std::shared_ptr<proxy::StateLookup> lookup;
  // The outbound steps (route, open, copy); telemetry and tracking are here.
  hbone::OutboundPath outbound;

  std::atomic<std::uint64_t> outbound_opened{0};
  std::atomic<std::uint64_t> outbound_hbone{0};
  std::atomic<std::uint64_t> outbound_passthrough{0};
  std::atomic<std::uint64_t> outbound_rejected{0};
  std::atomic<std::uint64_t> outbound_failed{0};
  std::atomic<std::int64_t> outbound_active{0};
  std::atomic<std::uint64_t> outbound_waypoint_unavailable{0};
  std::atomic<std::uint64_t> plaintext_opened{0};
  std::atomic<std::uint64_t> plaintext_failed{0};
  std::atomic<std::uint64_t> plaintext_denied{0};
  std::atomic<std::uint64_t> plaintext_revoked{0};
  std::atomic<std::int64_t> plaintext_active{0};
  std::atomic<std::uint64_t> hbone_accepted{0};
  std::atomic<std::uint64_t> no_certificate{0};
};

DataPath::DataPath(net::WorkerPool& workers, const state::StateStore& state,
                   telemetry::TcpMetrics& metrics, Options options)
    : impl_(std::make_unique<Impl>(workers, state, metrics, std::move(options))) {}

DataPath::~DataPath() = default;

Result<std::unique_ptr<PodTraffic>> DataPath::Attach(const Pod& pod) {
  auto state = std::make_unique<PodState>(impl_.get());
  state->secret = pod.certificate().Source();
  hbone::InboundServer::Options in;
  in.upstream_connect_timeout = impl_->options.connect_timeout;
  in.spoof_source_ip = impl_->options.preserve_source_ip;
  in.observer = std::make_shared<InboundTelemetry>(pod.spec(), pod.identity().ToString(),
                                                   impl_->lookup, impl_->metrics, pod.tracker());
  auto secret = state->secret;
  state->inbound = std::make_shared<hbone::InboundServer>(
      [secret]() -> std::shared_ptr<const tls::TlsContext> {
        auto s = secret();
        return s != nullptr ? s->server_context : nullptr;
      },
      pod.sockets(),
      std::make_shared<PodAuthorizer>(pod.spec().ns, impl_->lookup, pod.tracker()),
      &impl_->stats, in);
  return std::unique_ptr<PodTraffic>(std::move(state));
}

void PodState::OnOutbound(std::shared_ptr<Pod> pod, tcp::socket socket) {
  auto executor = socket.get_executor();
  asio::awaitable<void> task = impl->Outbound(std::move(pod), std::move(socket));
  (void)tasks.Spawn(executor, std::move(task));
}

void PodState::OnInboundPlaintext(std::shared_ptr<Pod> pod, tcp::socket socket) {
  auto executor = socket.get_executor();
  asio::awaitable<void> task = impl->InboundPlaintext(std::move(pod), std::move(socket));
  (void)tasks.Spawn(executor, std::move(task));
}

asio::awaitable<void> PodState::HbonePending(DataPath::Impl* impl,
                                             std::shared_ptr<hbone::InboundServer> inbound,
                                             std::shared_ptr<Pod> pod, tcp::socket socket,
                                             net::LoadHold load) {
  co_await impl->Hbone(std::move(pod), std::move(socket), std::move(inbound));
  (void)load;  // released here, when the server holds its own
}

void PodState::OnHbone(std::shared_ptr<Pod> pod, tcp::socket socket) {
  auto executor = socket.get_executor();
  // Counts in this loop's load while waiting for the certificate (the
  // inbound server then holds its own), so least-loaded placement of the
  // next HBONE connection already sees this one.
  asio::awaitable<void> task =
      HbonePending(impl, inbound, std::move(pod), std::move(socket), net::WorkerPool::HoldCurrentLoop());
  // |load| is released when the task ends (or is refused unstarted).
  (void)tasks.Spawn(executor, std::move(task));
}

asio::awaitable<void> DataPath::Impl::Outbound(std::shared_ptr<Pod> pod, tcp::socket downstream) {
  const auto start = std::chrono::steady_clock::now();
  outbound_opened.fetch_add(1, std::memory_order_relaxed);
  ActiveGauge active(outbound_active);
  std::optional<OutboundLeg> leg;
  const OutboundView view{start, &downstream, &leg};
  auto token = pod->connections().Register(
      downstream.get_executor(), [&downstream] { hbone::AbortSocket(downstream); }, {}, {},
      ConnectionView{&OutboundView::Describe, &view});
  if (!token) co_return;  // pod is draining
  leg = co_await OpenOutbound(pod, downstream, start);
  if (!leg) co_return;
  std::optional<ConnectionTracker::Token> upstream_token;
  if (!leg->far.hbone()) {
    auto registered = pod->connections().Register(downstream.get_executor(), [&leg] {
      hbone::AbortSocket(*leg->far.upstream);
    });
    if (registered) upstream_token.emplace(std::move(*registered));
  }
  const hbone::CopyResult result = co_await outbound.Copy(downstream, leg->far);
  leg->record.Closed(result.peer_to_socket, result.socket_to_peer, result.aborted);
}

asio::awaitable<std::optional<OutboundLeg>> DataPath::Impl::OpenOutbound(
    const std::shared_ptr<Pod>& pod, tcp::socket& downstream,
    std::chrono::steady_clock::time_point start) {
  // Called apart from the co_await: GCC 12 mishandles temporaries inside a
  // co_await expression. The resolver runs within the co_await (|pod| lives).
  hbone::HostnameResolver resolve;
  if (options.resolve_hostname) {
    resolve = [this, p = pod.get()](std::string hostname, bool v6) {
      return options.resolve_hostname(*p, std::move(hostname), v6);
    };
  }
  asio::awaitable<hbone::OutboundPlan> planning = outbound.Plan(downstream, std::move(resolve));
  const hbone::OutboundPlan plan = co_await std::move(planning);
  switch (plan.outcome) {
    case hbone::OutboundPlan::Outcome::kRouted:
      break;
    case hbone::OutboundPlan::Outcome::kNoDestination:
      AMBIT_LOG_WARN("outbound in pod {}: {}", pod->spec().uid, plan.error);
      co_return std::nullopt;
    case hbone::OutboundPlan::Outcome::kNotReady:
      outbound_rejected.fetch_add(1, std::memory_order_relaxed);
      AMBIT_LOG_WARN("outbound {} -> {}: {}; connection reset", plan.peer.ToString(),
                     plan.original.ToString(), plan.error);
      co_return std::nullopt;
    case hbone::OutboundPlan::Outcome::kUnresolved:
      outbound_failed.fetch_add(1, std::memory_order_relaxed);
      AMBIT_LOG_WARN("outbound {} -> {}: {}", plan.peer.ToString(), plan.original.ToString(), plan.error);
      co_return std::nullopt;
  }
  const net::SocketAddress& peer = plan.peer;
  const net::SocketAddress& original = plan.original;
  const hbone::RouteDecision& route = plan.route;

  // Telemetry labels from the same snapshot the decision saw (or a newer one).
  std::shared_ptr<const state::WorkloadState> snapshot = lookup->Hold();
  const state::Workload* src = snapshot->FindWorkloadByAddress(lookup->network(),
                                                               proxy::PackedFromIp(peer.ip()));
  TcpLabels labels;
  labels.reporter = "source";
  FillSource(labels, src);
  if (src == nullptr) {
    labels.source_workload = pod->spec().name;
    labels.source_workload_namespace = pod->spec().ns;
    labels.source_principal = pod->identity().ToString();
  }
  if (route.kind != hbone::RouteDecision::Kind::kReject) {
    const state::Service* svc =
        snapshot->FindServiceByVip(lookup->network(), proxy::PackedFromIp(original.ip()));
    const state::Workload* dst = snapshot->FindWorkloadByAddress(
        lookup->network(), proxy::PackedFromIp(route.next_hop.ip()));
    FillDestination(labels, dst, svc);
  }

  hbone::OutboundSource source{pod->identity(), nullptr, pod->sockets(), {}};
  std::optional<ConnectionRecord> record;
  switch (route.kind) {
    case hbone::RouteDecision::Kind::kReject:
      outbound_rejected.fetch_add(1, std::memory_order_relaxed);
      if (route.waypoint_unavailable) {
        // Fail closed: counted (flag CONNECT, as ztunnel's "no healthy
        // upstream") and logged, never sent direct.
        outbound_waypoint_unavailable.fetch_add(1, std::memory_order_relaxed);
        const state::Service* svc =
            snapshot->FindServiceByVip(lookup->network(), proxy::PackedFromIp(original.ip()));
        const state::Workload* dst =
            svc != nullptr ? nullptr
                           : snapshot->FindWorkloadByAddress(lookup->network(),
                                                             proxy::PackedFromIp(original.ip()));
        FillDestination(labels, dst, svc);
        labels.connection_security_policy = "unknown";
        ConnectionRecord::Refuse(&metrics, std::move(labels), {"outbound", peer, original},
                                 "CONNECT", route.reason);
      } else {
        AMBIT_LOG_DEBUG("outbound {} -> {} rejected: {}", peer.ToString(), original.ToString(),
                        route.reason);
      }
      hbone::AbortSocket(downstream);
      co_return std::nullopt;
    case hbone::RouteDecision::Kind::kPassthrough:
      labels.connection_security_policy = "unknown";
      record.emplace(&metrics, labels, ConnectionEnds{"outbound", peer, route.next_hop}, start);
      break;
    case hbone::RouteDecision::Kind::kHbone: {
      labels.connection_security_policy = "mutual_tls";
      record.emplace(&metrics, labels,
                     ConnectionEnds{"outbound", peer, route.next_hop, route.connect_target.ToString()},
                     start);
      std::shared_ptr<const proxy::Secret> secret =
          co_await proxy::AwaitSecret(pod->certificate(), options.cert_wait);
      if (secret == nullptr || secret->client_context == nullptr) {
        no_certificate.fetch_add(1, std::memory_order_relaxed);
        outbound_failed.fetch_add(1, std::memory_order_relaxed);
        record->Failed();
        AMBIT_LOG_WARN("outbound {} -> {}: no certificate for {} yet", peer.ToString(),
                       original.ToString(), pod->identity().ToString());
        hbone::AbortSocket(downstream);
        co_return std::nullopt;
      }
      source.tls = secret->client_context;
      source.baggage = BaggageFor(*pod, src);
      break;
    }
  }
  asio::awaitable<Result<hbone::OutboundLeg>> opening = outbound.Open(downstream, plan, std::move(source));
  Result<hbone::OutboundLeg> far = co_await std::move(opening);
  if (!far.ok()) {
    outbound_failed.fetch_add(1, std::memory_order_relaxed);
    record->Failed();
    if (route.kind == hbone::RouteDecision::Kind::kHbone) {
      AMBIT_LOG_INFO("outbound {} -> {}: {}", peer.ToString(), original.ToString(), far.error().ToString());
    } else {
      AMBIT_LOG_DEBUG("outbound {} -> {}: {}", peer.ToString(), original.ToString(), far.error().ToString());
    }
    co_return std::nullopt;
  }
  (far->hbone() ? outbound_hbone : outbound_passthrough).fetch_add(1, std::memory_order_relaxed);
  record->Opened();
  OutboundLeg leg;
  leg.record = std::move(*record);
  leg.far = std::move(*far);
  co_return leg;
}

asio::awaitable<void> DataPath::Impl::InboundPlaintext(std::shared_ptr<Pod> pod,
                                                       tcp::socket downstream) {
  const auto start = std::chrono::steady_clock::now();
  plaintext_opened.fetch_add(1, std::memory_order_relaxed);
  ActiveGauge active(plaintext_active);
  // What a later policy decision needs, and what it leaves behind when it
  // closes the connection. Filled before the first decision; the recheck
  // (posted to this loop by the PolicyWatcher) only runs once this frame
  // suspends, by then |facts| is set.
  struct Watched {
    std::optional<proxy::InboundConnectionFacts> facts;
    std::optional<tcp::socket> upstream;
    std::string revoked;  // denial reason once a policy change closed it
  } watched;
  // Registered before the first decision, so a policy published in between
  // is not missed (as ztunnel's ConnectionManager::assert_rbac).
  const PlaintextView view{start, &downstream};
  auto token = pod->connections().Register(
      downstream.get_executor(),
      [&] {
        hbone::AbortSocket(downstream);
        if (watched.upstream) hbone::AbortSocket(*watched.upstream);
      },
      {},
      [&, this, ns = pod->spec().ns] {
        if (!watched.facts || !watched.revoked.empty()) return;
        std::shared_ptr<const state::WorkloadState> hold;
        const authz::Decision d =
            proxy::DecideInbound(lookup->Current(hold), lookup->network(), ns, *watched.facts);
        if (d.allowed()) return;
        watched.revoked = authz::DenialReason(d);
        hbone::AbortSocket(downstream);
        if (watched.upstream) hbone::AbortSocket(*watched.upstream);
      },
      ConnectionView{&PlaintextView::Describe, &view});
  if (!token) co_return;
  auto peer = net::PeerAddress(downstream.native_handle());
  auto original = peer.ok() ? net::OriginalDestination(downstream.native_handle(), peer->family())
                            : net::OriginalDestination(downstream.native_handle());
  if (!peer.ok() || !original.ok()) {
    AMBIT_LOG_WARN("inbound plaintext in pod {}: no original destination: {}", pod->spec().uid,
                   original.ok() ? peer.error().ToString() : original.error().ToString());
    hbone::AbortSocket(downstream);
    co_return;
  }
  if (IsIllegalPort(original->port())) {
    AMBIT_LOG_DEBUG("inbound plaintext {} -> {}: loop to ztunnel's own port refused",
                    peer->ToString(), original->ToString());
    hbone::AbortSocket(downstream);
    co_return;
  }
  std::shared_ptr<const state::WorkloadState> snapshot = lookup->Hold();
  // L4 authorization: plaintext carries no identity, so only address and
  // port rules (and negative identity rules) can allow it.
  watched.facts = proxy::InboundConnectionFacts{nullptr, peer->ip(), *original};
  const authz::Decision decision =
      proxy::DecideInbound(*snapshot, lookup->network(), pod->spec().ns, *watched.facts);
  TcpLabels labels;
  labels.reporter = "destination";
  labels.connection_security_policy = "unknown";
  FillSource(labels, snapshot->FindWorkloadByAddress(lookup->network(), proxy::PackedFromIp(peer->ip())));
  labels.source_principal.clear();  // plaintext: the peer proved no identity
  const state::Workload* self =
      snapshot->FindWorkloadByAddress(lookup->network(), proxy::PackedFromIp(original->ip()));
  FillDestination(labels, self,
                  self == nullptr ? nullptr
                                  : GuessInboundService(*snapshot, *self, original->port(), {}));
  if (self == nullptr) {
    labels.destination_workload = pod->spec().name;
    labels.destination_workload_namespace = pod->spec().ns;
    labels.destination_principal = pod->identity().ToString();
  }
  if (!decision.allowed()) {
    // Denied: reset (the client sees ECONNRESET, curl exits 56); nothing
    // reaches the app.
    plaintext_denied.fetch_add(1, std::memory_order_relaxed);
    ConnectionRecord::Refuse(&metrics, std::move(labels), {"inbound", *peer, *original}, "DENY",
                             proxy::RejectionError(authz::DenialReason(decision)));
    hbone::AbortSocket(downstream);
    co_return;
  }
  const ConnectionRecord record(&metrics, labels, {"inbound", *peer, *original}, start);
  net::ConnectOptions opts;
  opts.timeout = options.connect_timeout;
  if (options.preserve_source_ip && peer->family() == original->family()) opts.source = peer->ip();
  auto upstream = co_await net::Connect(*pod->sockets(), *original, opts);
  if (!watched.revoked.empty()) {
    // A policy change denied it while the app connection was being made.
    plaintext_denied.fetch_add(1, std::memory_order_relaxed);
    record.Denied(proxy::RejectionError(watched.revoked));
    if (upstream.ok()) hbone::AbortSocket(*upstream);
    co_return;
  }
  if (!upstream.ok()) {
    plaintext_failed.fetch_add(1, std::memory_order_relaxed);
    record.Failed();
    AMBIT_LOG_INFO("inbound plaintext {} -> {}: {}", peer->ToString(), original->ToString(),
                   upstream.error().ToString());
    hbone::AbortSocket(downstream);
    co_return;
  }
  record.Opened();
  watched.upstream.emplace(std::move(*upstream));
  // Plaintext from outside the mesh: the client is downstream.
  auto result = co_await hbone::CopyBidirectional(downstream, *watched.upstream,
                                                  hbone::DownstreamCounters(stats.Local()));
  if (watched.revoked.empty()) {
    record.Closed(result.peer_to_socket, result.socket_to_peer, result.aborted);
    co_return;
  }
  // Closed by a policy change: counted and logged as ztunnel's
  // AuthorizationPolicyLateRejection (flag DENY).
  plaintext_revoked.fetch_add(1, std::memory_order_relaxed);
  record.Revoked(result.peer_to_socket, result.socket_to_peer, proxy::LateRejectionError(watched.revoked));
}

asio::awaitable<void> DataPath::Impl::Hbone(std::shared_ptr<Pod> pod, tcp::socket socket,
                                            std::shared_ptr<hbone::InboundServer> inbound) {
  hbone_accepted.fetch_add(1, std::memory_order_relaxed);
  std::shared_ptr<const proxy::Secret> secret = co_await proxy::AwaitSecret(pod->certificate(), options.cert_wait);
  if (secret == nullptr || secret->server_context == nullptr) {
    no_certificate.fetch_add(1, std::memory_order_relaxed);
    AMBIT_LOG_WARN("HBONE connection to pod {}: no certificate for {} yet", pod->spec().uid,
                   pod->identity().ToString());
    hbone::AbortSocket(socket);
    co_return;
  }
  // The server runs the TLS + HTTP/2 connection on this loop from here on.
  inbound->Serve(std::move(socket));
}

void DataPath::DumpCounters(nlohmann::json& out) const {
  const hbone::StatsSnapshot s = impl_->stats.Snapshot();
  // Pooled connections currently open, counted on each loop.
  std::size_t pooled = 0;
  std::vector<std::future<std::size_t>> counts;
  for (std::size_t i = 0; i < impl_->pools.size(); ++i) {
    auto promise = std::make_shared<std::promise<std::size_t>>();
    counts.push_back(promise->get_future());
    impl_->workers.Post(i, [promise, pool = &impl_->pools.At(i)] {
      promise->set_value(pool->connection_count());
    });
  }
  bool complete = true;
  for (auto& f : counts) {
    if (f.wait_for(std::chrono::seconds(1)) == std::future_status::ready) {
      pooled += f.get();
    } else {
      complete = false;
    }
  }
  auto load = [](const auto& a) { return a.load(std::memory_order_relaxed); };
  out = nlohmann::json{
      {"outbound",
       {{"connectionsOpened", load(impl_->outbound_opened)},
        {"connectionsActive", load(impl_->outbound_active)},
        {"hbone", load(impl_->outbound_hbone)},
        {"passthrough", load(impl_->outbound_passthrough)},
        {"rejected", load(impl_->outbound_rejected)},
        {"waypointUnavailable", load(impl_->outbound_waypoint_unavailable)},
        {"failed", load(impl_->outbound_failed)},
        {"tlsConnectionsOpened", s.tls_connections_opened},
        {"tlsConnectionsActive", pooled},
        {"tlsConnectFailures", s.tls_connect_failures},
        {"streamsOpened", s.streams_opened},
        {"streamFailures", s.stream_failures}}},
      {"inbound",
       {{"tlsConnectionsAccepted", s.tls_connections_accepted},
        {"tlsHandshakeFailures", s.tls_handshake_failures},
        {"streams", s.inbound_streams},
        {"status200", s.inbound_status_200},
        {"status400", s.inbound_status_400},
        {"status401", s.inbound_status_401},
        {"status503", s.inbound_status_503},
        {"hboneConnectionsAccepted", load(impl_->hbone_accepted)}}},
      {"inboundPlaintext",
       {{"connectionsOpened", load(impl_->plaintext_opened)},
        {"connectionsActive", load(impl_->plaintext_active)},
        {"failed", load(impl_->plaintext_failed)},
        {"denied", load(impl_->plaintext_denied)},
        {"revoked", load(impl_->plaintext_revoked)}}},
      {"bytes",
       {{"downstreamToUpstream", s.bytes_downstream_to_upstream},
        {"upstreamToDownstream", s.bytes_upstream_to_downstream}}},
      {"connectionsWithoutCertificate", load(impl_->no_certificate)},
  };
  if (!complete) out["outbound"]["tlsConnectionsActiveIncomplete"] = true;
}

void DataPath::DumpWorkers(nlohmann::json& out) const { proxy::DumpWorkers(impl_->stats, out); }

void DataPath::ShutdownPools() {
  std::vector<std::future<void>> done;
  for (std::size_t i = 0; i < impl_->pools.size(); ++i) {
    auto promise = std::make_shared<std::promise<void>>();
    done.push_back(promise->get_future());
    impl_->workers.Post(i, [promise, pool = &impl_->pools.At(i)] {
      pool->Shutdown();
      promise->set_value();
    });
  }
  for (auto& f : done) f.wait_for(std::chrono::seconds(2));
}

}  // namespace ambit::node
