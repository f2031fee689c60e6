// The gRPC face of the CA: istio.v1.auth.IstioCertificateService.
//
// Usage (ambitd):
//   auto service = ambit::ca::MakeCaService(ca, verifier, authorizer);
//   builder.RegisterService(service.get());
// The referenced objects and the returned service must outlive the server.
// Each call is decided by CaRequestHandler; refusals become gRPC statuses with
// the handler's message (UNAUTHENTICATED, PERMISSION_DENIED, INVALID_ARGUMENT).
// Each call is counted in |metrics| when it is not null (it must outlive the
// service).
#pragma once

#include <memory>

#include "ca/ca_metrics.h"
#include "ca/certificate_authority.h"
#include "ca/node_authorizer.h"
#include "ca/node_credential.h"

namespace grpc {
class Service;
}  // namespace grpc

namespace ambit::ca {

std::unique_ptr<grpc::Service> MakeCaService(const CertificateAuthority& ca,
                                             const NodeCredentialVerifier& verifier,
                                             const NodeAuthorizer& authorizer,
                                             const CaMetrics* metrics = nullptr);

}  // namespace ambit::ca
