#include "ca/node_credential.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include "support/temp_dir.h"

namespace ambit::ca {
namespace {

using std::chrono::hours;
const std::string kSecret(32, 's');
const std::string kOtherSecret(32, 'o');

void ExpectRefused(const Result<NodeCredential>& r, std::string_view fragment) {
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code(), ErrorCode::kUnauthenticated);
  EXPECT_NE(r.error().message().find(fragment), std::string::npos) << r.error().message();
}

TEST(NodeCredential, IssueAndVerify) {
  NodeCredentialIssuer issuer("c1", kSecret);
  NodeCredentialVerifier verifier("c1", kSecret);
  auto token = issuer.Issue("node-a", hours(1));
  ASSERT_TRUE(token.ok()) << token.error().ToString();
  auto cred = verifier.Verify(*token);
  ASSERT_TRUE(cred.ok()) << cred.error().ToString();
  EXPECT_EQ(cred->node, "node-a");
  EXPECT_EQ(cred->cluster, "c1");
  EXPECT_GT(cred->expiry, std::chrono::system_clock::now());
}

TEST(NodeCredential, Expired) {
  NodeCredentialIssuer issuer("c1", kSecret);
  NodeCredentialVerifier verifier("c1", kSecret);
  auto token = issuer.Issue("node-a", std::chrono::system_clock::now() - hours(1));
  ASSERT_TRUE(token.ok());
  ExpectRefused(verifier.Verify(*token), "expired at");
  auto fresh = issuer.Issue("node-a", hours(1));
  ExpectRefused(verifier.Verify(*fresh, std::chrono::system_clock::now() + hours(2)), "expired at");
}

TEST(NodeCredential, OtherClusterSecret) {
  NodeCredentialIssuer other_same_name("c1", kOtherSecret);
  NodeCredentialIssuer other_cluster("c2", kOtherSecret);
  NodeCredentialVerifier verifier("c1", kSecret);
  ExpectRefused(verifier.Verify(*other_same_name.Issue("node-a")), "signature does not verify");
  ExpectRefused(verifier.Verify(*other_cluster.Issue("node-a")), "issued by another cluster ('c2'");
  // Same secret but another cluster name is refused too.
  NodeCredentialIssuer renamed("c2", kSecret);
  ExpectRefused(verifier.Verify(*renamed.Issue("node-a")), "issued for cluster 'c2'");
}

TEST(NodeCredential, Malformed) {
  NodeCredentialIssuer issuer("c1", kSecret);
  NodeCredentialVerifier verifier("c1", kSecret);
  ExpectRefused(verifier.Verify(""), "no token given");
  ExpectRefused(verifier.Verify("abc"), "malformed");
  ExpectRefused(verifier.Verify("v1.a.b.c"), "malformed");
  ExpectRefused(verifier.Verify("v2.eyJ9.AAAA"), "unknown token version");
  ExpectRefused(verifier.Verify("v1.!!!.AAAA"), "claims are not base64url");
  ExpectRefused(verifier.Verify("v1.bm90IGpzb24.AAAA"), "JSON object");  // "not json"
  ExpectRefused(verifier.Verify(std::string(5000, 'a')), "longer than");
  // Tampering with the claims breaks the signature.
  std::string token = *issuer.Issue("node-a");
  std::string forged = *issuer.Issue("node-b");
  std::string mixed = token.substr(0, token.rfind('.')) + forged.substr(forged.rfind('.'));
  ExpectRefused(verifier.Verify(mixed), "signature does not verify");
}

TEST(NodeCredential, RejectsBadNodeNames) {
  NodeCredentialIssuer issuer("c1", kSecret);
  EXPECT_FALSE(issuer.Issue("").ok());
  EXPECT_FALSE(issuer.Issue("Node_A").ok());
  EXPECT_FALSE(issuer.Issue(std::string(254, 'a')).ok());
  EXPECT_TRUE(issuer.Issue("node-1.example").ok());
}

TEST(NodeCredential, SecretFileIsCreatedOnceWithMode0600) {
  testing::TempDir dir;
  std::string ca_dir = dir.File("ca");
  auto first = LoadOrCreateNodeCredentialSecret(ca_dir);
  ASSERT_TRUE(first.ok()) << first.error().ToString();
  EXPECT_EQ(first->size(), 32u);
  struct stat st {};
  ASSERT_EQ(stat((ca_dir + "/node-credential-key").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  auto second = LoadOrCreateNodeCredentialSecret(ca_dir);
  ASSERT_TRUE(second.ok());
  EXPECT_EQ(*first, *second);
}

}  // namespace
}  // namespace ambit::ca
