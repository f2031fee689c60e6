#include "xds/delta_ads_server.h"

#include <grpcpp/grpcpp.h>

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <set>
#include <thread>

#include "core/log.h"
#include "metrics/registry.h"
#include "xds/type_urls.h"
#include "envoy/service/discovery/v3/discovery.grpc.pb.h"
#include "xds/delta_session.h"

namespace ambit::xds {

using envoy::service::discovery::v3::AggregatedDiscoveryService;
using envoy::service::discovery::v3::DeltaDiscoveryRequest;
using envoy::service::discovery::v3::DeltaDiscoveryResponse;
using Stream = grpc::ServerReaderWriter<DeltaDiscoveryResponse, DeltaDiscoveryRequest>;

namespace {

// One open stream's shared state between its reader (gRPC handler) thread,
// its writer thread, store listeners and Stop().
struct StreamState {
  std::mutex mu;
  std::condition_variable cv;
  DeltaSession session;  // guarded by mu
  bool dirty = false;    // guarded by mu: something may need sending
  bool closed = false;   // guarded by mu: the writer must exit
  ProxyNode node;        // immutable once registered
  grpc::ServerContext* context = nullptr;

  void Wake() {
    {
      std::lock_guard lock(mu);
      dirty = true;
    }
    cv.notify_one();
  }
};

// The set of open streams. Shared with the store listener, which may outlive
// the server (ResourceStore listeners cannot be removed).
struct Hub {
  std::mutex mu;
  std::set<std::shared_ptr<StreamState>> streams;  // guarded by mu
  bool stopped = false;                            // guarded by mu

  void WakeAll() {
    std::lock_guard lock(mu);
    for (const auto& s : streams) s->Wake();
  }
};

std::string BearerToken(const grpc::ServerContext& context) {
  auto range = context.client_metadata().equal_range("authorization");
  for (auto it = range.first; it != range.second; ++it) {
    std::string_view value(it->second.data(), it->second.size());
    constexpr std::string_view kPrefix = "Bearer ";
    if (value.size() >= kPrefix.size() &&
        strncasecmp(value.data(), kPrefix.data(), kPrefix.size()) == 0) {
      return std::string(value.substr(kPrefix.size()));
    }
  }
  return "";
}

grpc::Status ToGrpc(grpc::StatusCode code, const Error& error) {
  return grpc::Status(code, error.ToString());
}

// istiod's pilot_xds_config_size_bytes buckets (bytes).
const std::vector<double> kConfigSizeBuckets = {1, 10000, 1000000, 4000000, 10000000, 40000000};

}  // namespace

std::string MetricTypeName(std::string_view type_url) {
  if (type_url == kAddressTypeUrl) return "wds";
  if (type_url == kAuthorizationTypeUrl) return "wads";
  return std::string(type_url);
}

class DeltaAdsServer::Impl final : public AggregatedDiscoveryService::Service {
 public:
  Impl(ResourceStore& store, const NodeAuthenticator& authenticator,
       const NodeResourceFilter* filter)
      : store_(store), authenticator_(authenticator), filter_(filter),
        hub_(std::make_shared<Hub>()) {
    store_.AddListener([hub = hub_](std::string_view, const StoreChange&) { hub->WakeAll(); });
  }

  grpc::Status DeltaAggregatedResources(grpc::ServerContext* context, Stream* stream) override {
    Result<std::string> authenticated = authenticator_.Authenticate(BearerToken(*context));
    if (!authenticated.ok()) {
      ++streams_rejected_;
      AMBIT_LOG_WARN("xds: rejected stream from {}: {}", context->peer(),
                     authenticated.error().ToString());
      return ToGrpc(grpc::StatusCode::UNAUTHENTICATED, authenticated.error());
    }
    DeltaDiscoveryRequest request;
    if (!stream->Read(&request)) return grpc::Status::OK;  // client left before saying anything
    if (!request.has_node()) {
      ++streams_rejected_;
      return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                          "the first DeltaDiscoveryRequest must carry the node");
    }
    Result<ProxyNode> node = ProxyNode::FromProto(request.node());
    if (!node.ok()) {
      ++streams_rejected_;
      return ToGrpc(grpc::StatusCode::INVALID_ARGUMENT, node.error());
    }
    if (!authenticated->empty() && node->node_name != *authenticated) {
      ++streams_rejected_;
      return grpc::Status(grpc::StatusCode::PERMISSION_DENIED,
                          "credential is for node '" + *authenticated + "' but the stream says '" +
                              node->node_name + "'");
    }

    auto state = std::make_shared<StreamState>();
    state->node = std::move(node).value();
    state->context = context;
    {
      std::lock_guard lock(hub_->mu);
      if (hub_->stopped) return grpc::Status(grpc::StatusCode::UNAVAILABLE, "xDS server stopping");
      hub_->streams.insert(state);
    }
    ++streams_opened_;
    AMBIT_LOG_INFO("xds: stream opened by node {} ({})", state->node.node_name,
                   request.node().id());

    std::thread writer([this, state, stream] { WriterLoop(*state, stream); });
    grpc::Status status = grpc::Status::OK;
    do {
      Status applied = Ok();
      {
        std::lock_guard lock(state->mu);
        applied = state->session.OnRequest(request);
        state->dirty = true;
      }
      if (!applied.ok()) {
        status = ToGrpc(grpc::StatusCode::INVALID_ARGUMENT, applied.error());
        context->TryCancel();  // unblocks a writer stuck in Write
        break;
      }
      if (!request.response_nonce().empty()) {
        if (request.has_error_detail()) {
          ++nacks_;
          if (rejects_ != nullptr) {
            const std::string type = MetricTypeName(request.type_url());
            const std::string_view values[] = {type};
            rejects_->Get(values).Inc();
          }
          AMBIT_LOG_WARN("xds: node {} rejected {} (nonce {}): {}", state->node.node_name,
                         request.type_url(), request.response_nonce(),
                         request.error_detail().message());
        } else {
          ++acks_;
        }
      }
      state->cv.notify_one();
    } while (stream->Read(&request));

    {
      std::lock_guard lock(state->mu);
      state->closed = true;
    }
    state->cv.notify_one();
    writer.join();
    {
      std::lock_guard lock(hub_->mu);
      hub_->streams.erase(state);
    }
    AMBIT_LOG_INFO("xds: stream of node {} closed", state->node.node_name);
    return status;
  }

  void WriterLoop(StreamState& state, Stream* stream) {
    DeltaSession::Visibility visible;
    if (filter_ != nullptr) {
      visible = [this, &state](std::string_view type_url, const VersionedResource& r) {
        return filter_->Visible(state.node, type_url, r);
      };
    }
    std::unique_lock lock(state.mu);
    while (true) {
      state.cv.wait(lock, [&] { return state.dirty || state.closed; });
      if (state.closed) return;
      state.dirty = false;
      std::vector<DeltaDiscoveryResponse> out;
      for (const std::string& type_url : state.session.subscribed_types()) {
        auto snapshot = store_.Get(type_url);
        auto response = state.session.BuildResponse(type_url, *snapshot, visible);
        if (response) out.push_back(std::move(*response));
      }
      lock.unlock();
      for (const DeltaDiscoveryResponse& response : out) {
        if (observer_) observer_(state.node, response);
        if (!stream->Write(response)) {
          state.context->TryCancel();
          lock.lock();
          return;
        }
        ++responses_sent_;
        if (pushes_ != nullptr) {
          const std::string type = MetricTypeName(response.type_url());
          const std::string_view values[] = {type};
          pushes_->Get(values).Inc();
          config_size_->Get(values).Observe(static_cast<double>(response.ByteSizeLong()));
        }
        resources_sent_ += response.resources_size();
        removals_sent_ += response.removed_resources_size();
      }
      lock.lock();
    }
  }

  void Stop() {
    std::lock_guard lock(hub_->mu);
    hub_->stopped = true;
    for (const auto& s : hub_->streams) s->context->TryCancel();
  }

  Stats stats() const {
    Stats s;
    s.streams_opened = streams_opened_;
    s.streams_rejected = streams_rejected_;
    s.responses_sent = responses_sent_;
    s.resources_sent = resources_sent_;
    s.removals_sent = removals_sent_;
    s.acks = acks_;
    s.nacks = nacks_;
    std::lock_guard lock(hub_->mu);
    s.connected = hub_->streams.size();
    return s;
  }

  std::vector<ProxyNode> ConnectedNodes() const {
    std::vector<ProxyNode> out;
    std::lock_guard lock(hub_->mu);
    for (const auto& s : hub_->streams) out.push_back(s->node);
    return out;
  }

  void EnableMetrics(metrics::Registry& registry) {
    registry.AddCallback("pilot_xds", "Number of proxies connected to this control plane over xDS.",
                         metrics::MetricType::kGauge, [hub = hub_] {
                           std::lock_guard lock(hub->mu);
                           return static_cast<double>(hub->streams.size());
                         });
    pushes_ = &registry.AddCounter("pilot_xds_pushes", "xDS responses sent, by type.", {"type"});
    rejects_ = &registry.AddCounter("pilot_total_xds_rejects",
                                    "xDS responses the proxy rejected (NACK), by type.", {"type"});
    config_size_ = &registry.AddHistogram("pilot_xds_config_size_bytes",
                                          "Size of the xDS responses sent, by type.", {"type"},
                                          kConfigSizeBuckets);
  }

  SendObserver observer_;

 private:
  // Set by EnableMetrics before serving, then read-only.
  metrics::CounterFamily* pushes_ = nullptr;
  metrics::CounterFamily* rejects_ = nullptr;
  metrics::HistogramFamily* config_size_ = nullptr;
  ResourceStore& store_;
  const NodeAuthenticator& authenticator_;
  const NodeResourceFilter* filter_;
  std::shared_ptr<Hub> hub_;
  std::atomic<uint64_t> streams_opened_{0}, streams_rejected_{0}, responses_sent_{0},
      resources_sent_{0}, removals_sent_{0}, acks_{0}, nacks_{0};
};

DeltaAdsServer::DeltaAdsServer(ResourceStore& store, const NodeAuthenticator& authenticator,
                               const NodeResourceFilter* filter)
    : impl_(std::make_unique<Impl>(store, authenticator, filter)) {}

DeltaAdsServer::~DeltaAdsServer() { Stop(); }

grpc::Service* DeltaAdsServer::service() { return impl_.get(); }
void DeltaAdsServer::Stop() { impl_->Stop(); }
void DeltaAdsServer::EnableMetrics(metrics::Registry& registry) { impl_->EnableMetrics(registry); }
void DeltaAdsServer::SetSendObserver(SendObserver observer) { impl_->observer_ = std::move(observer); }
DeltaAdsServer::Stats DeltaAdsServer::stats() const { return impl_->stats(); }
std::vector<ProxyNode> DeltaAdsServer::ConnectedNodes() const { return impl_->ConnectedNodes(); }

}  // namespace ambit::xds
