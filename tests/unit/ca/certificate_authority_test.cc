#include "ca/certificate_authority.h"

#include <gtest/gtest.h>
#include <openssl/x509v3.h>
#include <sys/stat.h>

#include "ca_test_util.h"
#include "pki/chain.h"
#include "support/temp_dir.h"

namespace ambit::ca {
namespace {

using std::chrono::hours;
using std::chrono::seconds;
using testing::Must;

const identity::SpiffeId kWeb("cluster.local", "default", "web");

std::unique_ptr<CertificateAuthority> SelfSigned(const std::string& dir, CaOptions options = {}) {
  return Must(CertificateAuthority::LoadOrCreateSelfSigned(dir, options));
}

void ExpectError(const Result<std::vector<std::string>>& r, ErrorCode code, std::string_view fragment) {
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code(), code) << r.error().ToString();
  EXPECT_NE(r.error().ToString().find(fragment), std::string::npos) << r.error().ToString();
}

TEST(CertificateAuthority, CreatesSelfSignedRootOnceAndReloadsIt) {
  ambit::testing::TempDir tmp;
  std::string dir = tmp.File("ca");
  auto ca = SelfSigned(dir);
  EXPECT_FALSE(ca->plugged_in());
  struct stat st {};
  ASSERT_EQ(stat((dir + "/root-key.pem").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  ASSERT_EQ(stat(dir.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0700u);

  pki::CertInfo root = Must(pki::InspectCert(ca->signing_cert()));
  EXPECT_TRUE(root.is_ca);
  EXPECT_TRUE(pki::CertIsSelfSigned(ca->signing_cert()));
  EXPECT_GT(root.not_after - root.not_before, hours(24 * 3649));
  EXPECT_NE(root.subject.find("O=cluster.local"), std::string::npos) << root.subject;

  auto again = SelfSigned(dir);
  EXPECT_EQ(X509_cmp(ca->signing_cert(), again->signing_cert()), 0);
  EXPECT_EQ(ca->roots_pem(), again->roots_pem());
  // Open() picks self-signed mode when there is no ca-cert.pem.
  auto opened = Must(CertificateAuthority::Open(dir, {}));
  EXPECT_FALSE(opened->plugged_in());
}

TEST(CertificateAuthority, RefusesHalfPresentRoot) {
  ambit::testing::TempDir tmp;
  SelfSigned(tmp.path());
  ASSERT_EQ(::unlink(tmp.File("root-key.pem").c_str()), 0);
  auto r = CertificateAuthority::LoadOrCreateSelfSigned(tmp.path(), {});
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().ToString().find("root-key.pem"), std::string::npos) << r.error().ToString();
}

TEST(CertificateAuthority, RefusesMismatchedRootKey) {
  ambit::testing::TempDir tmp;
  SelfSigned(tmp.path());
  auto other = Must(pki::GenerateEcP256Key());
  testing::WriteKey(tmp.File("root-key.pem"), other.get());
  auto r = CertificateAuthority::LoadOrCreateSelfSigned(tmp.path(), {});
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().ToString().find("does not match"), std::string::npos) << r.error().ToString();
}

TEST(CertificateAuthority, SignsWorkloadLeaf) {
  ambit::testing::TempDir tmp;
  auto ca = SelfSigned(tmp.path());
  auto chain = Must(ca->Sign(testing::CsrFor(kWeb.ToString()), kWeb, seconds(0)));
  ASSERT_EQ(chain.size(), 2u);  // leaf, root
  EXPECT_EQ(chain[1], ca->roots_pem());
  auto leaf = Must(pki::CertFromPem(chain[0]));
  pki::CertInfo info = Must(pki::InspectCert(leaf.get()));
  EXPECT_EQ(info.subject, "");
  ASSERT_EQ(info.uri_sans.size(), 1u);
  EXPECT_EQ(info.uri_sans[0], kWeb.ToString());
  EXPECT_TRUE(info.san_critical);
  EXPECT_FALSE(info.is_ca);
  EXPECT_EQ(info.not_after - info.not_before, hours(24) + seconds(60));
  uint32_t xku = X509_get_extended_key_usage(leaf.get());
  EXPECT_TRUE(xku & XKU_SSL_SERVER);
  EXPECT_TRUE(xku & XKU_SSL_CLIENT);
  uint32_t ku = X509_get_key_usage(leaf.get());
  EXPECT_TRUE(ku & KU_DIGITAL_SIGNATURE);
  EXPECT_TRUE(ku & KU_KEY_ENCIPHERMENT);
  EXPECT_FALSE(ku & KU_KEY_CERT_SIGN);
  EXPECT_NE(X509_get0_subject_key_id(leaf.get()), nullptr);
  EXPECT_NE(X509_get0_authority_key_id(leaf.get()), nullptr);
  std::vector<pki::UniqueX509> roots = Must(pki::CertsFromPem(chain[1]));
  EXPECT_TRUE(pki::VerifyChain(leaf.get(), {}, roots).ok());
}

TEST(CertificateAuthority, HonoursRequestedTtl) {
  ambit::testing::TempDir tmp;
  auto ca = SelfSigned(tmp.path());
  auto chain = Must(ca->Sign(testing::CsrFor(kWeb.ToString()), kWeb, hours(2)));
  pki::CertInfo info = Must(pki::InspectCert(Must(pki::CertFromPem(chain[0])).get()));
  EXPECT_EQ(info.not_after - info.not_before, hours(2) + seconds(60));
}

TEST(CertificateAuthority, Refusals) {
  ambit::testing::TempDir tmp;
  auto ca = SelfSigned(tmp.path());
  std::string csr = testing::CsrFor(kWeb.ToString());
  ExpectError(ca->Sign(csr, kWeb, seconds(-1)), ErrorCode::kInvalidArgument, "negative");
  ExpectError(ca->Sign(csr, kWeb, hours(24 * 91)), ErrorCode::kInvalidArgument, "exceeds the maximum");
  ExpectError(ca->Sign(csr, identity::SpiffeId("other.td", "default", "web"), seconds(0)),
              ErrorCode::kPermissionDenied, "trust domain 'other.td'");
  ExpectError(ca->Sign(csr, identity::SpiffeId("cluster.local", "default", "db"), seconds(0)),
              ErrorCode::kInvalidArgument, "differs from the requested identity");
  ExpectError(ca->Sign("garbage", kWeb, seconds(0)), ErrorCode::kInvalidArgument, "CSR: not PEM");
  ExpectError(ca->Sign(testing::CsrWithSan("DNS:web.default,URI:" + kWeb.ToString()), kWeb, seconds(0)),
              ErrorCode::kInvalidArgument, "non-URI");
  ExpectError(ca->Sign(testing::CsrWithSan("URI:" + kWeb.ToString() + ",URI:spiffe://cluster.local/ns/a/sa/b"),
                       kWeb, seconds(0)),
              ErrorCode::kInvalidArgument, "exactly one URI SAN");
  ExpectError(ca->Sign(testing::CsrWithSan("URI:https://example.com/"), kWeb, seconds(0)),
              ErrorCode::kInvalidArgument, "not a workload identity");
}

TEST(CertificateAuthority, TrustDomainComparesCaseInsensitively) {
  ambit::testing::TempDir tmp;
  auto ca = SelfSigned(tmp.path());
  identity::SpiffeId upper("Cluster.Local", "default", "web");
  EXPECT_TRUE(ca->Sign(testing::CsrFor(upper.ToString()), upper, seconds(0)).ok());
}

TEST(CertificateAuthority, LeafNeverOutlivesIssuer) {
  ambit::testing::TempDir tmp;
  // A plugged-in intermediate with only one hour left.
  auto root = testing::MakeCaCert("root", nullptr);
  testing::KeyAndCert inter;
  inter.key = Must(pki::GenerateEcP256Key());
  pki::CertSpec spec;
  spec.subject_cn = "short";
  spec.public_key = inter.key.get();
  spec.issuer_cert = root.cert.get();
  spec.signing_key = root.key.get();
  spec.not_before = std::chrono::system_clock::now() - hours(1);
  spec.not_after = std::chrono::system_clock::now() + hours(1);
  spec.is_ca = true;
  inter.cert = Must(pki::IssueCert(spec));
  testing::WritePem(tmp.File("ca-cert.pem"), inter.cert.get());
  testing::WriteKey(tmp.File("ca-key.pem"), inter.key.get());
  testing::WritePem(tmp.File("root-cert.pem"), root.cert.get());
  auto ca = Must(CertificateAuthority::Open(tmp.path(), {}));
  auto chain = Must(ca->Sign(testing::CsrFor(kWeb.ToString()), kWeb, seconds(0)));
  pki::CertInfo leaf = Must(pki::InspectCert(Must(pki::CertFromPem(chain[0])).get()));
  EXPECT_LE(leaf.not_after, Must(pki::CertNotAfter(inter.cert.get())));
}

TEST(CertificateAuthority, PluggedInIntermediate) {
  ambit::testing::TempDir tmp;
  auto root = testing::MakeCaCert("root", nullptr);
  auto inter = testing::MakeCaCert("intermediate", &root);
  testing::WritePem(tmp.File("ca-cert.pem"), inter.cert.get());
  testing::WriteKey(tmp.File("ca-key.pem"), inter.key.get());
  testing::WritePem(tmp.File("root-cert.pem"), root.cert.get());
  // Istio's cert-chain.pem: ca-cert then root.
  ASSERT_TRUE(pki::WriteFileAtomically(tmp.File("cert-chain.pem"),
                                       Must(pki::CertToPem(inter.cert.get())) +
                                           Must(pki::CertToPem(root.cert.get())),
                                       0644)
                  .ok());
  auto ca = Must(CertificateAuthority::Open(tmp.path(), {}));
  EXPECT_TRUE(ca->plugged_in());
  auto chain = Must(ca->Sign(testing::CsrFor(kWeb.ToString()), kWeb, seconds(0)));
  ASSERT_EQ(chain.size(), 3u);  // leaf, intermediate, root (not duplicated)
  EXPECT_EQ(chain[1], Must(pki::CertToPem(inter.cert.get())));
  EXPECT_EQ(chain[2], Must(pki::CertToPem(root.cert.get())));
  auto leaf = Must(pki::CertFromPem(chain[0]));
  std::vector<pki::UniqueX509> inters = Must(pki::CertsFromPem(chain[1]));
  std::vector<pki::UniqueX509> roots = Must(pki::CertsFromPem(chain[2]));
  EXPECT_TRUE(pki::VerifyChain(leaf.get(), inters, roots).ok());
  EXPECT_FALSE(pki::VerifyChain(leaf.get(), {}, roots).ok());
}

TEST(CertificateAuthority, PluggedInValidation) {
  auto root = testing::MakeCaCert("root", nullptr);
  auto inter = testing::MakeCaCert("intermediate", &root);
  auto stranger = testing::MakeCaCert("stranger", nullptr);
  auto not_ca = testing::MakeCaCert("not-a-ca", &root, /*is_ca=*/false);
  auto load = [](X509* cert, EVP_PKEY* key, X509* root_cert) {
    ambit::testing::TempDir tmp;
    testing::WritePem(tmp.File("ca-cert.pem"), cert);
    testing::WriteKey(tmp.File("ca-key.pem"), key);
    testing::WritePem(tmp.File("root-cert.pem"), root_cert);
    auto r = CertificateAuthority::Open(tmp.path(), {});
    return r.ok() ? std::string() : r.error().ToString();
  };
  EXPECT_EQ(load(inter.cert.get(), inter.key.get(), root.cert.get()), "");
  EXPECT_NE(load(inter.cert.get(), root.key.get(), root.cert.get()).find("does not match"),
            std::string::npos);
  EXPECT_NE(load(not_ca.cert.get(), not_ca.key.get(), root.cert.get()).find("not a CA"),
            std::string::npos);
  EXPECT_NE(load(inter.cert.get(), inter.key.get(), stranger.cert.get()).find("does not chain"),
            std::string::npos);
  // A missing file is named.
  ambit::testing::TempDir tmp;
  testing::WritePem(tmp.File("ca-cert.pem"), inter.cert.get());
  auto r = CertificateAuthority::Open(tmp.path(), {});
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().ToString().find("ca-key.pem"), std::string::npos) << r.error().ToString();
}

}  // namespace
}  // namespace ambit::ca
