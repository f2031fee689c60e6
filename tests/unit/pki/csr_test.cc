#include "pki/csr.h"

#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "pki/file.h"
#include "pki/key.h"
#include "test_certs.h"

namespace ambit::pki {
namespace {

using testing::Must;

constexpr char kId[] = "spiffe://cluster.local/ns/default/sa/web";

TEST(CsrTest, BuildThenParse) {
  UniqueEvpPkey key = Must(GenerateEcP256Key());
  std::string pem = Must(BuildCsrPem(key.get(), kId));
  EXPECT_NE(pem.find("-----BEGIN CERTIFICATE REQUEST-----"), std::string::npos);
  ParsedCsr csr = Must(ParseCsr(pem));
  ASSERT_EQ(csr.uri_sans.size(), 1u);
  EXPECT_EQ(csr.uri_sans[0], kId);
  EXPECT_EQ(csr.other_san_count, 0u);
  EXPECT_TRUE(csr.san_critical);
  EXPECT_TRUE(csr.subject_empty);
  EXPECT_TRUE(SamePublicKey(csr.public_key.get(), key.get()));
  const X509_ALGOR* alg = nullptr;
  X509_REQ_get0_signature(csr.req.get(), nullptr, &alg);
  EXPECT_EQ(OBJ_obj2nid(alg->algorithm), NID_ecdsa_with_SHA256);
}

void ExpectMalformed(std::string_view pem, std::string_view fragment) {
  auto r = ParseCsr(pem);
  ASSERT_FALSE(r.ok()) << "accepted: " << pem;
  EXPECT_EQ(r.error().code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(r.error().message().rfind("CSR: ", 0), 0u) << r.error().message();
  EXPECT_NE(r.error().message().find(fragment), std::string::npos) << r.error().message();
}

TEST(CsrTest, RejectsNonPem) {
  ExpectMalformed("", "not PEM");
  ExpectMalformed("hello world", "not PEM");
  ExpectMalformed(std::string("a\0b", 3), "NUL");
  ExpectMalformed(std::string(kMaxCsrPemBytes + 1, 'A'), "too large");
}

TEST(CsrTest, RejectsWrongBlockType) {
  auto ca = testing::MakeCa("root", nullptr);
  UniqueBio bio(BIO_new(BIO_s_mem()));
  PEM_write_bio_X509(bio.get(), ca.cert.get());
  char* data = nullptr;
  long len = BIO_get_mem_data(bio.get(), &data);
  ExpectMalformed(std::string(data, static_cast<size_t>(len)), "expected 'CERTIFICATE REQUEST'");
}

TEST(CsrTest, RejectsTwoBlocks) {
  UniqueEvpPkey key = Must(GenerateEcP256Key());
  std::string pem = Must(BuildCsrPem(key.get(), kId));
  ExpectMalformed(pem + pem, "more than one PEM block");
}

TEST(CsrTest, RejectsBadSignature) {
  UniqueEvpPkey key = Must(GenerateEcP256Key());
  UniqueEvpPkey other = Must(GenerateEcP256Key());
  std::string pem = Must(BuildCsrPem(key.get(), kId));
  // Re-encode the request with a different public key but the old signature.
  UniqueX509Req req = std::move(Must(ParseCsr(pem)).req);
  ASSERT_EQ(X509_REQ_set_pubkey(req.get(), other.get()), 1);
  UniqueBio bio(BIO_new(BIO_s_mem()));
  // i2d re-encodes the modified fields; the signature still covers the old ones.
  ASSERT_EQ(PEM_write_bio_X509_REQ(bio.get(), req.get()), 1);
  char* data = nullptr;
  long len = BIO_get_mem_data(bio.get(), &data);
  ExpectMalformed(std::string(data, static_cast<size_t>(len)), "signature does not verify");
}

TEST(CsrTest, RejectsSmallRsa) {
  UniqueEvpPkey rsa(EVP_RSA_gen(1024));
  ASSERT_TRUE(rsa);
  std::string pem = Must(BuildCsrPem(rsa.get(), kId));
  ExpectMalformed(pem, "too small");
}

TEST(CsrTest, CsrWithoutSanParsesWithNoUris) {
  UniqueEvpPkey key = Must(GenerateEcP256Key());
  UniqueX509Req req(X509_REQ_new());
  X509_REQ_set_pubkey(req.get(), key.get());
  ASSERT_GT(X509_REQ_sign(req.get(), key.get(), EVP_sha256()), 0);
  UniqueBio bio(BIO_new(BIO_s_mem()));
  PEM_write_bio_X509_REQ(bio.get(), req.get());
  char* data = nullptr;
  long len = BIO_get_mem_data(bio.get(), &data);
  ParsedCsr csr = Must(ParseCsr(std::string(data, static_cast<size_t>(len))));
  EXPECT_TRUE(csr.uri_sans.empty());
}

TEST(CsrTest, BuildRejectsBadUri) {
  UniqueEvpPkey key = Must(GenerateEcP256Key());
  EXPECT_FALSE(BuildCsrPem(key.get(), "").ok());
  EXPECT_FALSE(BuildCsrPem(key.get(), "spiffe://a b").ok());
}

TEST(CsrTest, ParsesCsrsMadeByOpensslCli) {
  const std::string dir = AMBIT_CSR_CORPUS_DIR;
  ParsedCsr p256 = Must(ParseCsr(Must(ReadFileToString(dir + "/p256-spiffe.pem"))));
  EXPECT_EQ(p256.uri_sans, std::vector<std::string>{kId});
  EXPECT_TRUE(p256.san_critical);
  EXPECT_TRUE(p256.subject_empty);

  ParsedCsr mixed = Must(ParseCsr(Must(ReadFileToString(dir + "/p256-dns-and-uri.pem"))));
  EXPECT_EQ(mixed.uri_sans, std::vector<std::string>{kId});
  EXPECT_EQ(mixed.other_san_count, 1u);
  EXPECT_FALSE(mixed.san_critical);
  EXPECT_FALSE(mixed.subject_empty);

  ParsedCsr rsa = Must(ParseCsr(Must(ReadFileToString(dir + "/rsa2048.pem"))));
  EXPECT_EQ(DescribeKey(rsa.public_key.get()), "RSA 2048");

  ParsedCsr p384 = Must(ParseCsr(Must(ReadFileToString(dir + "/p384-no-san.pem"))));
  EXPECT_EQ(DescribeKey(p384.public_key.get()), "EC P-384");
  EXPECT_TRUE(p384.uri_sans.empty());
}

}  // namespace
}  // namespace ambit::pki
