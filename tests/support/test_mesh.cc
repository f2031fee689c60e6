#include "support/test_mesh.h"

#include <chrono>

#include "pki/cert_builder.h"
#include "pki/key.h"

namespace ambit::testing {

Result<TestMesh> TestMesh::Create(std::string trust_domain) {
  TestMesh mesh;
  mesh.trust_domain_ = std::move(trust_domain);
  AMBIT_ASSIGN_OR_RETURN(mesh.root_key_, pki::GenerateEcP256Key());
  const auto now = std::chrono::system_clock::now();
  pki::CertSpec spec;
  spec.subject_org = "ambit-test";
  spec.subject_cn = "root " + mesh.trust_domain_;
  spec.public_key = mesh.root_key_.get();
  spec.signing_key = mesh.root_key_.get();
  spec.not_before = now - std::chrono::minutes(5);
  spec.not_after = now + std::chrono::hours(24);
  spec.is_ca = true;
  AMBIT_ASSIGN_OR_RETURN(mesh.root_, pki::IssueCert(spec));
  return mesh;
}

Result<tls::WorkloadCredential> TestMesh::Issue(const std::string& ns, const std::string& sa) const {
  return Issue(Id(ns, sa));
}

Result<tls::WorkloadCredential> TestMesh::Issue(const identity::SpiffeId& id) const {
  tls::WorkloadCredential cred;
  AMBIT_ASSIGN_OR_RETURN(cred.key, pki::GenerateEcP256Key());
  const auto now = std::chrono::system_clock::now();
  pki::CertSpec spec;
  spec.public_key = cred.key.get();
  spec.issuer_cert = root_.get();
  spec.signing_key = root_key_.get();
  spec.not_before = now - std::chrono::minutes(5);
  spec.not_after = now + std::chrono::hours(1);
  spec.uri_sans = {id.ToString()};
  spec.server_auth = true;
  spec.client_auth = true;
  AMBIT_ASSIGN_OR_RETURN(pki::UniqueX509 leaf, pki::IssueCert(spec));
  cred.chain.push_back(std::move(leaf));
  cred.roots.push_back(pki::RefX509(root_.get()));
  return cred;
}

}  // namespace ambit::testing
