#include <cctype>

#include "caclient/ca_client.h"
#include "istio/security/ca.pb.h"
#include "pki/csr.h"
#include "pki/file.h"
#include "pki/key.h"
#include "rpc/channel.h"
#include "core/check.h"

namespace ambit::caclient {
namespace {

std::string_view Trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

constexpr const char* kCreateCertificateMethod =
    "/istio.v1.auth.IstioCertificateService/CreateCertificate";

class GrpcCaClient final : public CaClient {
 public:
  GrpcCaClient(std::shared_ptr<rpc::Channel> channel, GrpcCaClientOptions options)
      : channel_(std::move(channel)), options_(std::move(options)) {}

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

    rpc::Metadata metadata = {{"authorization", "Bearer " + token}};
    if (!options_.cluster_id.empty()) metadata.emplace_back("clusterid", options_.cluster_id);
    Result<std::string> answer = channel_->UnaryCall(kCreateCertificateMethod, request.SerializeAsString(),
                                                     metadata, options_.timeout);
    if (!answer.ok()) return std::move(answer).error().WithContext("calling the CA");
    istio::v1::auth::IstioCertificateResponse response;
    if (!response.ParseFromString(*answer)) {
      return Error(ErrorCode::kProtocol, "CA answered with an unparsable IstioCertificateResponse");
    }
    std::vector<std::string> chain(response.cert_chain().begin(), response.cert_chain().end());
    return AssembleWorkloadCertificate(identity, std::move(key_pem), chain);
  }

  std::shared_ptr<rpc::Channel> channel_;
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

std::unique_ptr<CaClient> MakeGrpcCaClient(std::shared_ptr<rpc::Channel> channel,
                                           GrpcCaClientOptions options) {
  AMBIT_CHECK(options.token != nullptr, "GrpcCaClientOptions.token is required");
  return std::make_unique<GrpcCaClient>(std::move(channel), std::move(options));
}

Result<std::shared_ptr<rpc::Channel>> MakeCaChannel(const std::string& target) {
  return rpc::Channel::Create(target);
}

}  // namespace ambit::caclient
