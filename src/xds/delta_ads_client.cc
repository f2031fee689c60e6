#include "xds/delta_ads_client.h"

#include <cerrno>
#include <fstream>
#include <random>
#include <sstream>

#include "core/log.h"
#include "envoy/service/discovery/v3/discovery.pb.h"
#include "rpc/channel.h"
#include "xds/ack.h"
#include "xds/backoff.h"
#include "xds/state_applier.h"
#include "xds/type_urls.h"

namespace ambit::xds {

using envoy::service::discovery::v3::DeltaDiscoveryRequest;
using envoy::service::discovery::v3::DeltaDiscoveryResponse;

namespace {
constexpr const char* kDeltaAdsMethod =
    "/envoy.service.discovery.v3.AggregatedDiscoveryService/DeltaAggregatedResources";
}  // namespace

Result<std::shared_ptr<rpc::Channel>> MakeXdsChannel(const std::string& target) {
  rpc::ChannelOptions options;
  // A full sync of a large mesh is one response; do not cap it at gRPC's 4 MiB default.
  options.max_receive_message_bytes = kMaxXdsResponseBytes;
  return rpc::Channel::Create(target, options);
}

std::function<Result<std::string>()> TokenFromFile(std::string path) {
  return [path = std::move(path)]() -> Result<std::string> {
    std::ifstream in(path);
    if (!in) return ErrnoError("opening node credential " + path, errno);
    std::stringstream buffer;
    buffer << in.rdbuf();
    std::string token = buffer.str();
    const char* kSpace = " \t\r\n";
    size_t begin = token.find_first_not_of(kSpace);
    if (begin == std::string::npos) {
      return Error(ErrorCode::kInvalidArgument, "node credential " + path + " is empty");
    }
    size_t end = token.find_last_not_of(kSpace);
    return token.substr(begin, end - begin + 1);
  };
}

DeltaAdsClient::DeltaAdsClient(std::shared_ptr<rpc::Channel> channel,
                               DeltaAdsClientOptions options, state::StateStore& store)
    : channel_(std::move(channel)),
      options_(std::move(options)),
      applier_(std::make_unique<StateApplier>(store)) {
  if (options_.type_urls.empty()) {
    options_.type_urls = {std::string(kAddressTypeUrl), std::string(kAuthorizationTypeUrl)};
  }
  for (const auto& [type_url, handler] : options_.handlers) options_.type_urls.push_back(type_url);
}

DeltaAdsClient::~DeltaAdsClient() { Stop(); }

void DeltaAdsClient::Start() {
  std::lock_guard lock(mu_);
  if (thread_.joinable() || stopping_) return;
  thread_ = std::thread([this] { Run(); });
}

void DeltaAdsClient::Stop() {
  std::vector<std::function<void()>> wake;
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
    if (call_ != nullptr) call_->Cancel();
    wake.swap(on_synced_);
  }
  cv_.notify_all();
  for (auto& w : wake) w();
  if (thread_.joinable()) thread_.join();
}

bool DeltaAdsClient::WhenSynced(std::function<void()> callback) const {
  std::lock_guard lock(mu_);
  if (synced_.load(std::memory_order_relaxed) || stopping_) return false;
  on_synced_.push_back(std::move(callback));
  return true;
}

bool DeltaAdsClient::WaitForSync(std::chrono::milliseconds timeout) const {
  std::unique_lock lock(mu_);
  return cv_.wait_for(lock, timeout,
                      [&] { return synced_types_.size() == options_.type_urls.size(); });
}

DeltaAdsClient::Stats DeltaAdsClient::stats() const {
  std::lock_guard lock(mu_);
  return stats_;
}

void DeltaAdsClient::Run() {
  Backoff backoff(options_.initial_backoff, options_.max_backoff);
  std::mt19937_64 random(std::random_device{}());
  while (true) {
    bool got_response = false;
    RunStream(got_response);
    if (got_response) backoff.Reset();
    auto delay = backoff.Next(random());
    std::unique_lock lock(mu_);
    if (cv_.wait_for(lock, delay, [&] { return stopping_; })) return;
  }
}

void DeltaAdsClient::RunStream(bool& got_response) {
  rpc::Metadata metadata;
  if (options_.token_source) {
    Result<std::string> token = options_.token_source();
    if (!token.ok()) {
      std::lock_guard lock(mu_);
      stats_.last_error = "reading the node credential: " + token.error().ToString();
      AMBIT_LOG_WARN("xds: {}", stats_.last_error);
      return;
    }
    metadata.emplace_back("authorization", "Bearer " + *token);
  }
  {
    std::lock_guard lock(mu_);
    if (stopping_) return;
    ++stats_.attempts;
  }
  Status ended = Ok();
  Result<std::unique_ptr<rpc::ClientCall>> started = channel_->StartCall(kDeltaAdsMethod, metadata, std::nullopt);
  if (started.ok()) {
    std::unique_ptr<rpc::ClientCall> call = std::move(started).value();
    {
      std::lock_guard lock(mu_);
      call_ = call.get();
      if (stopping_) call->Cancel();  // Stop() ran while we connected
    }
    ended = Exchange(*call, got_response);
    std::lock_guard lock(mu_);
    call_ = nullptr;
  } else {
    ended = std::move(started).error();
  }
  std::lock_guard lock(mu_);
  stats_.connected = false;
  if (!ended.ok() && !stopping_) {
    stats_.last_error = "xDS stream ended: " + ended.error().ToString();
    AMBIT_LOG_DEBUG("xds: {}", stats_.last_error);
  }
}

Status DeltaAdsClient::Exchange(rpc::ClientCall& call, bool& got_response) {
  for (size_t i = 0; i < options_.type_urls.size(); ++i) {
    DeltaDiscoveryRequest request;
    if (i == 0) options_.node.ToProto(request.mutable_node());
    request.set_type_url(options_.type_urls[i]);
    // An empty first subscription list is a wildcard subscription.
    auto handler = options_.handlers.find(options_.type_urls[i]);
    const std::map<std::string, std::string> versions = handler != options_.handlers.end()
                                                            ? handler->second->versions()
                                                            : applier_->versions(options_.type_urls[i]);
    for (const auto& [name, version] : versions) {
      (*request.mutable_initial_resource_versions())[name] = version;
    }
    AMBIT_RETURN_IF_ERROR(call.Write(request.SerializeAsString()));
  }

  std::string bytes;
  DeltaDiscoveryResponse response;
  while (true) {
    AMBIT_ASSIGN_OR_RETURN(bool got, call.Read(&bytes));
    if (!got) return Error(ErrorCode::kUnavailable, "server ended the stream");
    if (!response.ParseFromString(bytes)) {
      return Error(ErrorCode::kProtocol, "unparsable DeltaDiscoveryResponse (" +
                                             std::to_string(bytes.size()) + " bytes)");
    }
    auto handler = options_.handlers.find(response.type_url());
    Status applied = handler != options_.handlers.end() ? handler->second->Apply(response)
                                                         : applier_->Apply(response);
    std::vector<std::function<void()>> wake;
    {
      std::lock_guard lock(mu_);
      if (!got_response) {
        got_response = true;
        ++stats_.connects;
        stats_.connected = true;
      }
      if (applied.ok()) {
        ++stats_.responses_applied;
        stats_.resources_applied += response.resources_size();
        stats_.removals_applied += response.removed_resources_size();
        synced_types_.insert(response.type_url());
        if (!synced_.load(std::memory_order_relaxed) &&
            synced_types_.size() == options_.type_urls.size()) {
          synced_.store(true, std::memory_order_release);
          wake.swap(on_synced_);
        }
      } else {
        ++stats_.responses_rejected;
        stats_.last_error = applied.error().ToString();
      }
    }
    if (!applied.ok()) {
      AMBIT_LOG_WARN("xds: rejecting {} response {}: {}", response.type_url(), response.nonce(),
                     applied.error().ToString());
    }
    cv_.notify_all();
    for (auto& w : wake) w();
    AMBIT_RETURN_IF_ERROR(call.Write(AnswerFor(response, applied).SerializeAsString()));
  }
}

}  // namespace ambit::xds
