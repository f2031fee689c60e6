#include "xds/delta_ads_client.h"

#include <grpcpp/grpcpp.h>

#include <cerrno>
#include <fstream>
#include <random>
#include <sstream>

#include "core/log.h"
#include "envoy/service/discovery/v3/discovery.grpc.pb.h"
#include "xds/ack.h"
#include "xds/backoff.h"
#include "xds/state_applier.h"
#include "xds/type_urls.h"

namespace ambit::xds {

using envoy::service::discovery::v3::AggregatedDiscoveryService;
using envoy::service::discovery::v3::DeltaDiscoveryRequest;
using envoy::service::discovery::v3::DeltaDiscoveryResponse;

std::shared_ptr<grpc::Channel> MakeXdsChannel(const std::string& target,
                                              std::shared_ptr<grpc::ChannelCredentials> credentials) {
  grpc::ChannelArguments args;
  args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, 10);
  args.SetInt(GRPC_ARG_MIN_RECONNECT_BACKOFF_MS, 10);
  args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, 15'000);
  // A full sync of a large mesh is one response; do not cap it at gRPC's 4 MiB default.
  args.SetMaxReceiveMessageSize(-1);
  if (!credentials) credentials = grpc::InsecureChannelCredentials();
  return grpc::CreateCustomChannel(target, credentials, args);
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

DeltaAdsClient::DeltaAdsClient(std::shared_ptr<grpc::Channel> channel,
                               DeltaAdsClientOptions options, state::StateStore& store)
    : channel_(std::move(channel)),
      options_(std::move(options)),
      applier_(std::make_unique<StateApplier>(store)) {
  if (options_.type_urls.empty()) {
    options_.type_urls = {std::string(kAddressTypeUrl), std::string(kAuthorizationTypeUrl)};
  }
}

DeltaAdsClient::~DeltaAdsClient() { Stop(); }

void DeltaAdsClient::Start() {
  std::lock_guard lock(mu_);
  if (thread_.joinable() || stopping_) return;
  thread_ = std::thread([this] { Run(); });
}

void DeltaAdsClient::Stop() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
    if (context_ != nullptr) context_->TryCancel();
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

bool DeltaAdsClient::synced() const {
  std::lock_guard lock(mu_);
  return synced_types_.size() == options_.type_urls.size();
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
  grpc::ClientContext context;
  if (options_.token_source) {
    Result<std::string> token = options_.token_source();
    if (!token.ok()) {
      std::lock_guard lock(mu_);
      stats_.last_error = "reading the node credential: " + token.error().ToString();
      AMBIT_LOG_WARN("xds: {}", stats_.last_error);
      return;
    }
    context.AddMetadata("authorization", "Bearer " + *token);
  }
  {
    std::lock_guard lock(mu_);
    if (stopping_) return;
    context_ = &context;
    ++stats_.attempts;
  }

  auto stub = AggregatedDiscoveryService::NewStub(channel_);
  auto stream = stub->DeltaAggregatedResources(&context);
  bool ok = true;
  for (size_t i = 0; i < options_.type_urls.size() && ok; ++i) {
    DeltaDiscoveryRequest request;
    if (i == 0) options_.node.ToProto(request.mutable_node());
    request.set_type_url(options_.type_urls[i]);
    // An empty first subscription list is a wildcard subscription.
    for (const auto& [name, version] : applier_->versions(options_.type_urls[i])) {
      (*request.mutable_initial_resource_versions())[name] = version;
    }
    ok = stream->Write(request);
  }

  DeltaDiscoveryResponse response;
  while (ok && stream->Read(&response)) {
    Status applied = applier_->Apply(response);
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
    if (!stream->Write(AnswerFor(response, applied))) break;
  }
  grpc::Status status = stream->Finish();
  std::lock_guard lock(mu_);
  context_ = nullptr;
  stats_.connected = false;
  if (!status.ok() && !stopping_) {
    stats_.last_error = "xDS stream ended: " + status.error_message();
    AMBIT_LOG_DEBUG("xds: {}", stats_.last_error);
  }
}

}  // namespace ambit::xds
