#include "caclient/workload_certificate.h"

#include <gtest/gtest.h>

#include "ca/certificate_authority.h"
#include "pki/csr.h"
#include "pki/key.h"
#include "support/temp_dir.h"

namespace ambit::caclient {
namespace {

const identity::SpiffeId kWeb("cluster.local", "default", "web");

template <typename T>
T Must(Result<T> r) {
  if (!r.ok()) {
    ADD_FAILURE() << r.error().ToString();
    std::abort();
  }
  return std::move(r).value();
}

class AssembleTest : public ::testing::Test {
 protected:
  AssembleTest() : ca_(Must(ca::CertificateAuthority::LoadOrCreateSelfSigned(tmp_.path(), {}))) {}

  // Issues for |san| with a fresh key; returns {key_pem, chain}.
  std::pair<std::string, std::vector<std::string>> Issue(const identity::SpiffeId& id) {
    auto key = Must(pki::GenerateEcP256Key());
    auto chain = Must(ca_->Sign(Must(pki::BuildCsrPem(key.get(), id.ToString())), id,
                                std::chrono::hours(2)));
    return {Must(pki::PrivateKeyToPem(key.get())), chain};
  }

  void ExpectUnusable(const Result<WorkloadCertificate>& r, std::string_view fragment) {
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().code(), ErrorCode::kProtocol) << r.error().ToString();
    EXPECT_NE(r.error().ToString().find(fragment), std::string::npos) << r.error().ToString();
  }

  ambit::testing::TempDir tmp_;
  std::unique_ptr<ca::CertificateAuthority> ca_;
};

TEST_F(AssembleTest, BuildsCertificateWithHalfLifeRefresh) {
  auto [key_pem, chain] = Issue(kWeb);
  WorkloadCertificate wc = Must(AssembleWorkloadCertificate(kWeb, key_pem, chain));
  EXPECT_EQ(wc.identity, kWeb);
  EXPECT_EQ(wc.key_pem, key_pem);
  EXPECT_EQ(wc.leaf_pem, chain[0]);
  EXPECT_TRUE(wc.chain_pems.empty());
  ASSERT_EQ(wc.root_pems.size(), 1u);
  EXPECT_EQ(wc.root_pems[0], ca_->roots_pem());
  EXPECT_EQ(wc.refresh_at, wc.not_before + (wc.not_after - wc.not_before) / 2);
  EXPECT_GT(wc.refresh_at, std::chrono::system_clock::now() + std::chrono::minutes(55));
}

TEST_F(AssembleTest, SplitsConcatenatedRoots) {
  auto [key_pem, chain] = Issue(kWeb);
  ambit::testing::TempDir other_dir;
  auto other = Must(ca::CertificateAuthority::LoadOrCreateSelfSigned(other_dir.path(), {}));
  chain.back() += other->roots_pem();  // a second trust anchor (root rotation)
  WorkloadCertificate wc = Must(AssembleWorkloadCertificate(kWeb, key_pem, chain));
  EXPECT_EQ(wc.root_pems.size(), 2u);
}

TEST_F(AssembleTest, RejectsWrongIdentity) {
  auto [key_pem, chain] = Issue(kWeb);
  ExpectUnusable(AssembleWorkloadCertificate(identity::SpiffeId("cluster.local", "default", "db"),
                                             key_pem, chain),
                 "differs from the requested identity");
}

TEST_F(AssembleTest, RejectsForeignKey) {
  auto [key_pem, chain] = Issue(kWeb);
  auto other = Must(pki::GenerateEcP256Key());
  ExpectUnusable(AssembleWorkloadCertificate(kWeb, Must(pki::PrivateKeyToPem(other.get())), chain),
                 "does not match");
}

TEST_F(AssembleTest, RejectsShortOrBrokenChains) {
  auto [key_pem, chain] = Issue(kWeb);
  ExpectUnusable(AssembleWorkloadCertificate(kWeb, key_pem, {chain[0]}), "at least the leaf and the root");
  ExpectUnusable(AssembleWorkloadCertificate(kWeb, key_pem, {"junk", chain[1]}), "cert_chain[0]");
  ambit::testing::TempDir other_dir;
  auto other = Must(ca::CertificateAuthority::LoadOrCreateSelfSigned(other_dir.path(), {}));
  ExpectUnusable(AssembleWorkloadCertificate(kWeb, key_pem, {chain[0], other->roots_pem()}),
                 "does not verify");
}

}  // namespace
}  // namespace ambit::caclient
