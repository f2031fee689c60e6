#include "ctl/client.h"

#include <grpcpp/grpcpp.h>
#include <sys/stat.h>

#include <chrono>

#include "ambit/v1/cluster.grpc.pb.h"
#include "cluster/process.h"

namespace ambit::ctl {

class ClusterClient::Impl {
 public:
  Impl(std::shared_ptr<grpc::Channel> channel, std::string cluster)
      : stub(ambit::v1::ClusterService::NewStub(channel)), cluster_name(std::move(cluster)) {}

  template <typename Req, typename Resp, typename Method>
  Result<Resp> Call(Method method, const Req& request, int timeout_s = 30) {
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(timeout_s));
    Resp response;
    grpc::Status status = ((*stub).*method)(&ctx, request, &response);
    if (!status.ok()) return ToError(status);
    return response;
  }

  Error ToError(const grpc::Status& status) const {
    switch (status.error_code()) {
      case grpc::StatusCode::INVALID_ARGUMENT:
        return Error(ErrorCode::kInvalidArgument, status.error_message());
      case grpc::StatusCode::NOT_FOUND:
        return Error(ErrorCode::kNotFound, status.error_message());
      case grpc::StatusCode::ALREADY_EXISTS:
        return Error(ErrorCode::kAlreadyExists, status.error_message());
      case grpc::StatusCode::UNAVAILABLE:
        return Error(ErrorCode::kUnavailable, "ambitd of cluster '" + cluster_name +
                                                  "' is not answering (" + status.error_message() +
                                                  "); try `ambitctl cluster up --cluster " +
                                                  cluster_name + "`");
      case grpc::StatusCode::DEADLINE_EXCEEDED:
        return Error(ErrorCode::kTimeout, "ambitd did not answer in time");
      default:
        return Error(ErrorCode::kInternal, status.error_message());
    }
  }

  std::unique_ptr<ambit::v1::ClusterService::Stub> stub;
  std::string cluster_name;
};

ClusterClient::ClusterClient(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
ClusterClient::~ClusterClient() = default;

Result<std::unique_ptr<ClusterClient>> ClusterClient::Connect(const cluster::ClusterLayout& layout,
                                                              int timeout_ms) {
  struct stat st {};
  if (::stat(layout.ClusterFile().c_str(), &st) != 0) {
    return Error(ErrorCode::kNotFound,
                 "cluster '" + layout.name() +
                     "' does not exist; create it with `ambitctl cluster up" +
                     (layout.name() == cluster::kDefaultCluster ? std::string()
                                                                : " --cluster " + layout.name()) +
                     "`");
  }
  auto daemon = cluster::ReadPidFile(layout.PidFile());
  const bool dead = !daemon || !cluster::IsAlive(*daemon);
  auto channel =
      dead ? nullptr
           : grpc::CreateChannel("unix:" + layout.SocketPath(), grpc::InsecureChannelCredentials());
  if (dead || !channel->WaitForConnected(std::chrono::system_clock::now() +
                                         std::chrono::milliseconds(timeout_ms))) {
    return Error(ErrorCode::kUnavailable,
                 "ambitd of cluster '" + layout.name() + "' is not answering on " +
                     layout.SocketPath() + (dead ? " (not running)" : "") +
                     "; restart it with `ambitctl cluster up" +
                     (layout.name() == cluster::kDefaultCluster ? std::string()
                                                                : " --cluster " + layout.name()) +
                     "`");
  }
  return std::unique_ptr<ClusterClient>(
      new ClusterClient(std::make_unique<Impl>(channel, layout.name())));
}

Result<ambit::v1::ClusterInfo> ClusterClient::GetInfo() {
  return impl_->Call<ambit::v1::GetInfoRequest, ambit::v1::ClusterInfo>(
      &ambit::v1::ClusterService::Stub::GetInfo, ambit::v1::GetInfoRequest{}, 5);
}

Result<ambit::v1::NodeList> ClusterClient::ListNodes() {
  return impl_->Call<ambit::v1::ListRequest, ambit::v1::NodeList>(
      &ambit::v1::ClusterService::Stub::ListNodes, ambit::v1::ListRequest{});
}

}  // namespace ambit::ctl

namespace ambit::ctl {

Result<ambit::v1::PodList> ClusterClient::ListPods(const std::string& ns) {
  ambit::v1::ListRequest req;
  req.set_namespace_(ns);
  return impl_->Call<ambit::v1::ListRequest, ambit::v1::PodList>(
      &ambit::v1::ClusterService::Stub::ListPods, req);
}

Result<ambit::v1::ServiceList> ClusterClient::ListServices(const std::string& ns) {
  ambit::v1::ListRequest req;
  req.set_namespace_(ns);
  return impl_->Call<ambit::v1::ListRequest, ambit::v1::ServiceList>(
      &ambit::v1::ClusterService::Stub::ListServices, req);
}

Result<ambit::v1::ManifestResponse> ClusterClient::Apply(const ambit::v1::ManifestRequest& req) {
  return impl_->Call<ambit::v1::ManifestRequest, ambit::v1::ManifestResponse>(
      &ambit::v1::ClusterService::Stub::Apply, req, 120);
}

Result<ambit::v1::ManifestResponse> ClusterClient::Delete(const ambit::v1::ManifestRequest& req) {
  return impl_->Call<ambit::v1::ManifestRequest, ambit::v1::ManifestResponse>(
      &ambit::v1::ClusterService::Stub::Delete, req, 120);
}

Result<ambit::v1::ResourceList> ClusterClient::ListResources(const std::string& kind,
                                                            const std::string& ns) {
  ambit::v1::ListResourcesRequest req;
  req.set_kind(kind);
  req.set_namespace_(ns);
  return impl_->Call<ambit::v1::ListResourcesRequest, ambit::v1::ResourceList>(
      &ambit::v1::ClusterService::Stub::ListResources, req);
}

Result<ambit::v1::AnalyzeResponse> ClusterClient::Analyze(const std::string& ns) {
  ambit::v1::AnalyzeRequest req;
  req.set_namespace_(ns);
  return impl_->Call<ambit::v1::AnalyzeRequest, ambit::v1::AnalyzeResponse>(
      &ambit::v1::ClusterService::Stub::Analyze, req);
}

}  // namespace ambit::ctl
