#include "pki/pem.h"

#include <gtest/gtest.h>
#include <openssl/x509.h>

#include "pki/cert.h"
#include "test_certs.h"

namespace ambit::pki {
namespace {

using testing::Must;

TEST(PemTest, SingleCertRoundTrip) {
  auto ca = testing::MakeCa("root", nullptr);
  std::string pem = Must(CertToPem(ca.cert.get()));
  UniqueX509 back = Must(CertFromPem(pem));
  EXPECT_EQ(X509_cmp(ca.cert.get(), back.get()), 0);
}

TEST(PemTest, ChainKeepsOrder) {
  auto root = testing::MakeCa("root", nullptr);
  auto inter = testing::MakeCa("inter", &root);
  auto leaf = testing::MakeLeaf("spiffe://cluster.local/ns/a/sa/b", inter);
  std::vector<UniqueX509> chain;
  chain.push_back(RefX509(leaf.cert.get()));
  chain.push_back(RefX509(inter.cert.get()));
  chain.push_back(RefX509(root.cert.get()));
  std::string pem = "leading text is ignored\n" + Must(CertsToPem(chain)) + "\n\n";
  auto back = Must(CertsFromPem(pem));
  ASSERT_EQ(back.size(), 3u);
  for (size_t i = 0; i < 3; ++i) EXPECT_EQ(X509_cmp(chain[i].get(), back[i].get()), 0) << i;
}

TEST(PemTest, CertFromPemRejectsTwo) {
  auto a = testing::MakeCa("a", nullptr);
  auto b = testing::MakeCa("b", nullptr);
  std::string pem = Must(CertToPem(a.cert.get())) + Must(CertToPem(b.cert.get()));
  auto r = CertFromPem(pem, "ca-cert.pem");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message().find("ca-cert.pem"), std::string::npos);
  EXPECT_NE(r.error().message().find("exactly one"), std::string::npos);
}

TEST(PemTest, RejectsEmptyAndCorrupt) {
  auto empty = CertsFromPem("", "x.pem");
  ASSERT_FALSE(empty.ok());
  EXPECT_NE(empty.error().message().find("no PEM certificate"), std::string::npos);

  auto ca = testing::MakeCa("root", nullptr);
  std::string pem = Must(CertToPem(ca.cert.get()));
  pem[pem.size() / 2] = pem[pem.size() / 2] == 'A' ? 'B' : 'A';  // corrupt base64 payload
  pem.insert(pem.size() / 2, "!!");
  auto bad = CertsFromPem(pem, "bad.pem");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().code(), ErrorCode::kInvalidArgument);
  EXPECT_NE(bad.error().message().find("bad.pem"), std::string::npos);
}

}  // namespace
}  // namespace ambit::pki
