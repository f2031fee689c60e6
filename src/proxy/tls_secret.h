// Builds the Secret the data path uses from a fetched certificate: the parsed
// credential and one client and one server TLS context for the identity.
// Contexts are built once per certificate (per rotation), never per connection.
//
// Pure function; thread-safe.
#pragma once

#include "caclient/workload_certificate.h"
#include "core/result.h"
#include "proxy/secret_manager.h"
#include "tls/credential.h"

namespace ambit::proxy {

// Parses the PEMs of |cert| into a TLS credential (leaf + intermediates, key, roots).
Result<tls::WorkloadCredential> CredentialFromCertificate(const caclient::WorkloadCertificate& cert);

// A SecretBuilder (see secret_manager.h) that fills client_context and server_context.
Result<std::shared_ptr<const Secret>> BuildTlsSecret(caclient::WorkloadCertificate cert);

}  // namespace ambit::proxy
