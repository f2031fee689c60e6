#include "ca/ca_service.h"

#include <grpcpp/grpcpp.h>

#include "ca/ca_metrics.h"
#include "ca/ca_request_handler.h"
#include "core/log.h"
#include "istio/security/ca.grpc.pb.h"

namespace ambit::ca {
namespace {

grpc::StatusCode ToGrpcCode(ErrorCode code) {
  switch (code) {
    case ErrorCode::kUnauthenticated: return grpc::StatusCode::UNAUTHENTICATED;
    case ErrorCode::kPermissionDenied: return grpc::StatusCode::PERMISSION_DENIED;
    case ErrorCode::kInvalidArgument: return grpc::StatusCode::INVALID_ARGUMENT;
    case ErrorCode::kNotFound: return grpc::StatusCode::NOT_FOUND;
    case ErrorCode::kUnavailable: return grpc::StatusCode::UNAVAILABLE;
    case ErrorCode::kTimeout: return grpc::StatusCode::DEADLINE_EXCEEDED;
    default: return grpc::StatusCode::INTERNAL;
  }
}

class CaService final : public istio::v1::auth::IstioCertificateService::Service {
 public:
  CaService(const CertificateAuthority& ca, const NodeCredentialVerifier& verifier,
            const NodeAuthorizer& authorizer, const CaMetrics* metrics)
      : handler_(ca, verifier, authorizer), metrics_(metrics) {}

  grpc::Status CreateCertificate(grpc::ServerContext* context,
                                 const istio::v1::auth::IstioCertificateRequest* request,
                                 istio::v1::auth::IstioCertificateResponse* response) override {
    CaRequest req;
    auto range = context->client_metadata().equal_range("authorization");
    for (auto it = range.first; it != range.second; ++it) {
      req.authorization.emplace_back(it->second.data(), it->second.size());
    }
    req.csr = request->csr();
    req.validity_seconds = request->validity_duration();
    const auto& fields = request->metadata().fields();
    if (auto it = fields.find(std::string(kImpersonatedIdentityKey)); it != fields.end()) {
      if (it->second.kind_case() == google::protobuf::Value::kStringValue) {
        req.impersonated_identity = it->second.string_value();
      } else {
        req.impersonated_identity_wrong_type = true;
      }
    }

    Result<CaDecision> decision = handler_.Handle(req);
    if (metrics_ != nullptr) {
      metrics_->Record(decision.ok() ? Ok() : Status(decision.error()));
    }
    if (!decision.ok()) {
      const Error& e = decision.error();
      AMBIT_LOG_WARN("CA: refused CreateCertificate from {}: {}", context->peer(), e.ToString());
      return grpc::Status(ToGrpcCode(e.code()), e.ToString());
    }
    AMBIT_LOG_INFO("CA: issued {} to node {}", decision->identity, decision->node);
    for (auto& pem : decision->cert_chain) response->add_cert_chain(std::move(pem));
    return grpc::Status::OK;
  }

 private:
  CaRequestHandler handler_;
  const CaMetrics* metrics_;  // may be null
};

}  // namespace

std::unique_ptr<grpc::Service> MakeCaService(const CertificateAuthority& ca,
                                             const NodeCredentialVerifier& verifier,
                                             const NodeAuthorizer& authorizer,
                                             const CaMetrics* metrics) {
  return std::make_unique<CaService>(ca, verifier, authorizer, metrics);
}

}  // namespace ambit::ca
