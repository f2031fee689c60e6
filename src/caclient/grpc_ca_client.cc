#include <grpcpp/grpcpp.h>

#include <cctype>

#include "caclient/ca_client.h"
#include "istio/security/ca.grpc.pb.h"
#include "pki/csr.h"
#include "pki/file.h"
#include "pki/key.h"
#include "core/check.h"

namespace ambit::caclient {
namespace {

std::string_view Trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

ErrorCode FromGrpcCode(grpc::StatusCode code) {
  switch (code) {
    case grpc::StatusCode::UNAUTHENTICATED: return ErrorCode::kUnauthenticated;
    case grpc::StatusCode::PERMISSION_DENIED: return ErrorCode::kPermissionDenied;
    case grpc::StatusCode::INVALID_ARGUMENT: return ErrorCode::kInvalidArgument;
    case grpc::StatusCode::NOT_FOUND: return ErrorCode::kNotFound;
    case grpc::StatusCode::UNAVAILABLE: return ErrorCode::kUnavailable;
    case grpc::StatusCode::DEADLINE_EXCEEDED: return ErrorCode::kTimeout;
    default: return ErrorCode::kInternal;
  }
}

class GrpcCaClient final : public CaClient {
 public:
  GrpcCaClient(std::shared_ptr<grpc::Channel> channel, GrpcCaClientOptions options)
      : stub_(istio::v1::auth::IstioCertificateService::NewStub(channel)),
        options_(std::move(options)) {}

  Result<WorkloadCertificate> Fetch(const identity::SpiffeId& identity) override {
    std::string what = "fetching certificate for " + identity.ToString();
    Result<WorkloadCertificate> r = FetchImpl(identity);
    if (!r.ok()) return std::move(r).error().WithContext(what);
    return r;
  }

 private:
  Result<WorkloadCertificate> FetchImpl(const identity::SpiffeId& identity) {
    AMBIT_ASSIGN_OR_RETURN(std::string token, options_.token());
    AMBIT_ASSIGN_OR_RETURN(pki::UniqueEvpPkey key, pki::GenerateEcP256Key());
    AMBIT_ASSIGN_OR_RETURN(std::string csr, pki::BuildCsrPem(key.get(), identity.ToString()));
    AMBIT_ASSIGN_OR_RETURN(std::string key_pem, pki::PrivateKeyToPem(key.get()));

    istio::v1::auth::IstioCertificateRequest request;
    request.set_csr(csr);
    request.set_validity_duration(options_.requested_ttl.count());
    (*request.mutable_metadata()->mutable_fields())["ImpersonatedIdentity"].set_string_value(
        identity.ToString());

    grpc::ClientContext context;
    context.AddMetadata("authorization", "Bearer " + token);
    if (!options_.cluster_id.empty()) context.AddMetadata("clusterid", options_.cluster_id);
    context.set_deadline(std::chrono::system_clock::now() + options_.timeout);
    istio::v1::auth::IstioCertificateResponse response;
    grpc::Status status = stub_->CreateCertificate(&context, request, &response);
    if (!status.ok()) {
      return Error(FromGrpcCode(status.error_code()), "CA refused: " + status.error_message());
    }
    std::vector<std::string> chain(response.cert_chain().begin(), response.cert_chain().end());
    return AssembleWorkloadCertificate(identity, std::move(key_pem), chain);
  }

  std::unique_ptr<istio::v1::auth::IstioCertificateService::Stub> stub_;
  GrpcCaClientOptions options_;
};

}  // namespace

TokenSource FileTokenSource(std::string path) {
  return [path = std::move(path)]() -> Result<std::string> {
    AMBIT_ASSIGN_OR_RETURN(std::string text, pki::ReadFileToString(path, 16 * 1024));
    std::string token(Trim(text));
    if (token.empty()) return Error(ErrorCode::kInvalidArgument, "node credential file " + path + " is empty");
    return token;
  };
}

TokenSource StaticTokenSource(std::string token) {
  return [token = std::move(token)]() -> Result<std::string> { return token; };
}

Result<TokenSource> NodeCredentialTokenSource(const std::string& path) {
  if (path.empty()) return StaticTokenSource("");
  TokenSource token = FileTokenSource(path);
  if (auto first = token(); !first.ok()) {
    return std::move(first).error().WithContext("reading the node credential " + path);
  }
  return token;
}

std::unique_ptr<CaClient> MakeGrpcCaClient(std::shared_ptr<grpc::Channel> channel,
                                           GrpcCaClientOptions options) {
  AMBIT_CHECK(options.token != nullptr, "GrpcCaClientOptions.token is required");
  return std::make_unique<GrpcCaClient>(std::move(channel), std::move(options));
}

std::shared_ptr<grpc::Channel> MakeInsecureChannel(const std::string& target) {
  return grpc::CreateChannel(target, grpc::InsecureChannelCredentials());
}

}  // namespace ambit::caclient
