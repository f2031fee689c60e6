#include "caclient/local_ca_client.h"

#include "pki/csr.h"
#include "pki/key.h"

namespace ambit::caclient {

Result<WorkloadCertificate> LocalCaClient::Fetch(const identity::SpiffeId& identity) {
  fetch_count_.fetch_add(1);
  AMBIT_ASSIGN_OR_RETURN(pki::UniqueEvpPkey key, pki::GenerateEcP256Key());
  AMBIT_ASSIGN_OR_RETURN(std::string csr, pki::BuildCsrPem(key.get(), identity.ToString()));
  AMBIT_ASSIGN_OR_RETURN(std::string key_pem, pki::PrivateKeyToPem(key.get()));
  AMBIT_ASSIGN_OR_RETURN(std::vector<std::string> chain, ca_.Sign(csr, identity, ttl_));
  return AssembleWorkloadCertificate(identity, std::move(key_pem), chain);
}

}  // namespace ambit::caclient
