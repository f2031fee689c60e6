#include "ca/ca_request_handler.h"

#include <cctype>

#include "pki/csr.h"

namespace ambit::ca {
namespace {

constexpr std::string_view kBearer = "bearer ";

bool StartsWithIgnoreCase(std::string_view s, std::string_view prefix) {
  if (s.size() < prefix.size()) return false;
  for (std::size_t i = 0; i < prefix.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(s[i])) != prefix[i]) return false;
  }
  return true;
}

}  // namespace

Result<NodeCredential> CaRequestHandler::Authenticate(const CaRequest& request) const {
  if (request.authorization.empty()) {
    return Error(ErrorCode::kUnauthenticated,
                 "missing 'authorization: Bearer <node credential>' metadata");
  }
  if (request.authorization.size() > 1) {
    return Error(ErrorCode::kUnauthenticated, "more than one 'authorization' metadata value");
  }
  std::string_view value = request.authorization.front();
  if (!StartsWithIgnoreCase(value, kBearer)) {
    return Error(ErrorCode::kUnauthenticated,
                 "'authorization' metadata must be 'Bearer <node credential>'");
  }
  std::string_view token = value.substr(kBearer.size());
  while (!token.empty() && token.front() == ' ') token.remove_prefix(1);
  return verifier_.Verify(token);
}

Result<CaDecision> CaRequestHandler::Handle(const CaRequest& request) const {
  AMBIT_ASSIGN_OR_RETURN(NodeCredential cred, Authenticate(request));
  std::chrono::seconds ttl(request.validity_seconds);
  AMBIT_RETURN_IF_ERROR(ca_.CheckTtl(ttl));

  // The identity asked for: ImpersonatedIdentity if given, else the CSR's URI SAN.
  if (request.impersonated_identity_wrong_type) {
    return Error(ErrorCode::kInvalidArgument,
                 "metadata field ImpersonatedIdentity must be a string SPIFFE ID");
  }
  std::string requested;
  if (request.impersonated_identity.has_value()) {
    requested = *request.impersonated_identity;
  } else {
    AMBIT_ASSIGN_OR_RETURN(pki::ParsedCsr csr, pki::ParseCsr(request.csr));
    if (csr.uri_sans.size() != 1) {
      return Error(ErrorCode::kInvalidArgument,
                   "CSR: must carry exactly one URI SAN (the SPIFFE ID), found " +
                       std::to_string(csr.uri_sans.size()));
    }
    requested = csr.uri_sans.front();
  }
  Result<identity::SpiffeId> id = identity::SpiffeId::Parse(requested);
  if (!id.ok()) {
    return Error(ErrorCode::kInvalidArgument,
                 std::string(request.impersonated_identity ? "ImpersonatedIdentity" : "CSR URI SAN") +
                     ": " + id.error().message());
  }
  AMBIT_RETURN_IF_ERROR(ca_.CheckTrustDomain(*id));
  if (!authorizer_.PodWithIdentityOnNode(cred.node, *id)) {
    return Error(ErrorCode::kPermissionDenied, "node '" + cred.node + "' runs no pod with identity " +
                                                   id->ToString());
  }
  AMBIT_ASSIGN_OR_RETURN(std::vector<std::string> chain, ca_.Sign(request.csr, *id, ttl));
  return CaDecision{cred.node, id->ToString(), std::move(chain)};
}

}  // namespace ambit::ca
