#include "caclient/workload_certificate.h"

#include "pki/cert.h"
#include "pki/chain.h"
#include "pki/key.h"
#include "pki/pem.h"

namespace ambit::caclient {
namespace {

Error Bad(std::string why) {
  return Error(ErrorCode::kProtocol, "CA response unusable: " + std::move(why));
}

}  // namespace

Result<WorkloadCertificate> AssembleWorkloadCertificate(const identity::SpiffeId& identity,
                                                        std::string key_pem,
                                                        const std::vector<std::string>& cert_chain) {
  if (cert_chain.size() < 2) {
    return Bad("cert_chain has " + std::to_string(cert_chain.size()) +
               " element(s); expected at least the leaf and the root");
  }
  Result<pki::UniqueX509> leaf = pki::CertFromPem(cert_chain.front(), "cert_chain[0] (leaf)");
  if (!leaf.ok()) return Bad(leaf.error().message());
  std::vector<pki::UniqueX509> intermediates;
  for (std::size_t i = 1; i + 1 < cert_chain.size(); ++i) {
    Result<std::vector<pki::UniqueX509>> certs =
        pki::CertsFromPem(cert_chain[i], "cert_chain[" + std::to_string(i) + "]");
    if (!certs.ok()) return Bad(certs.error().message());
    for (auto& c : *certs) intermediates.push_back(std::move(c));
  }
  Result<std::vector<pki::UniqueX509>> roots =
      pki::CertsFromPem(cert_chain.back(), "cert_chain[" + std::to_string(cert_chain.size() - 1) + "] (roots)");
  if (!roots.ok()) return Bad(roots.error().message());

  Result<pki::CertInfo> info = pki::InspectCert(leaf->get());
  if (!info.ok()) return Bad("leaf: " + info.error().message());
  if (info->uri_sans.size() != 1) {
    return Bad("leaf has " + std::to_string(info->uri_sans.size()) + " URI SANs, expected exactly one");
  }
  Result<identity::SpiffeId> got = identity::SpiffeId::Parse(info->uri_sans.front());
  if (!got.ok() || !(*got == identity)) {
    return Bad("leaf URI SAN '" + info->uri_sans.front() + "' differs from the requested identity '" +
               identity.ToString() + "'");
  }
  if (info->is_ca) return Bad("leaf is a CA certificate");

  Result<pki::UniqueEvpPkey> key = pki::PrivateKeyFromPem(key_pem, "workload key");
  if (!key.ok()) return key.error();
  if (Status st = pki::CheckKeyMatchesCert(key->get(), leaf->get()); !st.ok()) {
    return Bad("leaf: " + st.error().message());
  }
  if (Status st = pki::VerifyChain(leaf->get(), intermediates, *roots); !st.ok()) {
    return Bad(st.error().message());
  }

  WorkloadCertificate out{identity, std::move(key_pem), cert_chain.front(), {}, {}, {}, {}, {}};
  for (const auto& c : intermediates) {
    AMBIT_ASSIGN_OR_RETURN(std::string pem, pki::CertToPem(c.get()));
    out.chain_pems.push_back(std::move(pem));
  }
  for (const auto& r : *roots) {
    AMBIT_ASSIGN_OR_RETURN(std::string pem, pki::CertToPem(r.get()));
    out.root_pems.push_back(std::move(pem));
  }
  out.not_before = info->not_before;
  out.not_after = info->not_after;
  out.refresh_at = info->not_before + (info->not_after - info->not_before) / 2;
  return out;
}

}  // namespace ambit::caclient
