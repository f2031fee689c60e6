#include "proxy/tls_secret.h"

#include <gtest/gtest.h>

#include "ca/certificate_authority.h"
#include "caclient/local_ca_client.h"
#include "support/temp_dir.h"
#include "tls/context.h"

namespace ambit::proxy {
namespace {

TEST(TlsSecretTest, BuildsClientAndServerContextsForTheIdentity) {
  ::ambit::testing::TempDir dir;
  auto ca = ca::CertificateAuthority::LoadOrCreateSelfSigned(dir.path(), {});
  ASSERT_TRUE(ca.ok()) << ca.error().ToString();
  caclient::LocalCaClient client(**ca);
  identity::SpiffeId id("cluster.local", "shop", "web");
  auto cert = client.Fetch(id);
  ASSERT_TRUE(cert.ok()) << cert.error().ToString();
  auto secret = BuildTlsSecret(*cert);
  ASSERT_TRUE(secret.ok()) << secret.error().ToString();
  ASSERT_NE((*secret)->client_context, nullptr);
  ASSERT_NE((*secret)->server_context, nullptr);
  EXPECT_EQ((*secret)->client_context->local_identity(), id);
  EXPECT_EQ((*secret)->server_context->role(), tls::Role::kServer);
  EXPECT_EQ((*secret)->certificate.leaf_pem, cert->leaf_pem);

  auto cred = CredentialFromCertificate(*cert);
  ASSERT_TRUE(cred.ok());
  EXPECT_EQ(cred->chain.size(), 1u);
  EXPECT_EQ(cred->roots.size(), 1u);
}

TEST(TlsSecretTest, RejectsBrokenMaterialNamingTheIdentity) {
  ::ambit::testing::TempDir dir;
  auto ca = ca::CertificateAuthority::LoadOrCreateSelfSigned(dir.path(), {});
  ASSERT_TRUE(ca.ok());
  caclient::LocalCaClient client(**ca);
  auto cert = client.Fetch(identity::SpiffeId("cluster.local", "shop", "web"));
  ASSERT_TRUE(cert.ok());
  auto no_roots = *cert;
  no_roots.root_pems.clear();
  auto r = BuildTlsSecret(no_roots);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().ToString().find("spiffe://cluster.local/ns/shop/sa/web"), std::string::npos)
      << r.error().ToString();
  auto bad_key = *cert;
  bad_key.key_pem = "not a key";
  EXPECT_FALSE(BuildTlsSecret(bad_key).ok());
}

}  // namespace
}  // namespace ambit::proxy
