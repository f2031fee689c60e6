#include "pki/key.h"

#include <gtest/gtest.h>

#include "test_certs.h"

namespace ambit::pki {
namespace {

using testing::Must;

TEST(KeyTest, GeneratesP256AndRoundTripsPkcs8) {
  UniqueEvpPkey key = Must(GenerateEcP256Key());
  EXPECT_EQ(DescribeKey(key.get()), "EC P-256");
  std::string pem = Must(PrivateKeyToPem(key.get()));
  EXPECT_NE(pem.find("-----BEGIN PRIVATE KEY-----"), std::string::npos);
  UniqueEvpPkey back = Must(PrivateKeyFromPem(pem));
  EXPECT_TRUE(SamePublicKey(key.get(), back.get()));
  std::string pub = Must(PublicKeyToPem(key.get()));
  EXPECT_NE(pub.find("-----BEGIN PUBLIC KEY-----"), std::string::npos);
}

TEST(KeyTest, DistinctKeysDiffer) {
  UniqueEvpPkey a = Must(GenerateEcP256Key());
  UniqueEvpPkey b = Must(GenerateEcP256Key());
  EXPECT_FALSE(SamePublicKey(a.get(), b.get()));
  EXPECT_FALSE(SamePublicKey(a.get(), nullptr));
}

TEST(KeyTest, GarbageKeyNamesSource) {
  auto r = PrivateKeyFromPem("not a key", "my-key.pem");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code(), ErrorCode::kInvalidArgument);
  EXPECT_NE(r.error().message().find("my-key.pem"), std::string::npos) << r.error().message();
}

TEST(KeyTest, MissingFileIsNotFoundAndNamesPath) {
  auto r = PrivateKeyFromFile("/nonexistent/dir/key.pem");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code(), ErrorCode::kNotFound);
  EXPECT_NE(r.error().message().find("/nonexistent/dir/key.pem"), std::string::npos);
}

TEST(KeyTest, KeyMatchesCert) {
  auto ca = testing::MakeCa("root", nullptr);
  EXPECT_TRUE(CheckKeyMatchesCert(ca.key.get(), ca.cert.get()).ok());
  UniqueEvpPkey other = Must(GenerateEcP256Key());
  auto st = CheckKeyMatchesCert(other.get(), ca.cert.get());
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.error().message().find("does not match"), std::string::npos);
}

}  // namespace
}  // namespace ambit::pki
