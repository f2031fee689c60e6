// CaClient: obtains workload certificates from the mesh CA (the seam ztunnel's
// certificate manager uses; tests substitute a fake).
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <string>

#include "caclient/workload_certificate.h"
#include "core/result.h"
#include "identity/spiffe_id.h"

namespace ambit::rpc {
class Channel;
}  // namespace ambit::rpc

namespace ambit::caclient {

class CaClient {
 public:
  virtual ~CaClient() = default;
  // Generates a fresh key and CSR for |identity| and has the CA sign it.
  // Blocking; thread-safe. Errors: the CA's refusal (kUnauthenticated,
  // kPermissionDenied, kInvalidArgument with the CA's message), kUnavailable /
  // kTimeout when the CA cannot be reached, kProtocol for an unusable response.
  virtual Result<WorkloadCertificate> Fetch(const identity::SpiffeId& identity) = 0;
};

// Returns the current node credential (re-read on every call, so a rotated
// credential file is picked up).
using TokenSource = std::function<Result<std::string>()>;

// A TokenSource reading the whole file at |path| (surrounding whitespace trimmed).
TokenSource FileTokenSource(std::string path);
// A TokenSource returning a fixed token.
TokenSource StaticTokenSource(std::string token);
// The node credential a proxy presents to the CA and to xDS: the file at |path|
// (FileTokenSource), read once now so a missing or empty file fails start-up
// with the file named; "" = no credential (an empty token).
Result<TokenSource> NodeCredentialTokenSource(const std::string& path);

struct GrpcCaClientOptions {
  TokenSource token;                               // required
  std::chrono::seconds requested_ttl{24 * 3600};   // ztunnel SECRET_TTL default
  std::chrono::milliseconds timeout{10'000};       // per CreateCertificate call
  std::string cluster_id;                          // sent as "clusterid" metadata when set
};

// A CaClient calling istio.v1.auth.IstioCertificateService/CreateCertificate
// over |channel| (src/rpc: gRPC over HTTP/2 cleartext, no gRPC library; one
// connection per call) with "authorization: Bearer <token>" metadata (token
// re-read per call) and ImpersonatedIdentity in the request metadata.
std::unique_ptr<CaClient> MakeGrpcCaClient(std::shared_ptr<rpc::Channel> channel,
                                           GrpcCaClientOptions options);

// A cleartext channel to |target| ("unix:/path/to/ambitd.sock", "host:port").
// The CA is reached over a local unix socket; transport security is the socket's
// file permissions. Errors: kInvalidArgument (bad target).
Result<std::shared_ptr<rpc::Channel>> MakeCaChannel(const std::string& target);

}  // namespace ambit::caclient
