#include "caclient/local_ca_client.h"

#include <gtest/gtest.h>

#include "pki/key.h"
#include "pki/pem.h"
#include "support/temp_dir.h"

namespace ambit::caclient {
namespace {

TEST(LocalCaClient, IssuesThroughTheRealCa) {
  ambit::testing::TempDir tmp;
  auto ca = ca::CertificateAuthority::LoadOrCreateSelfSigned(tmp.path(), {});
  ASSERT_TRUE(ca.ok()) << ca.error().ToString();
  LocalCaClient client(**ca, std::chrono::hours(1));
  identity::SpiffeId web("cluster.local", "default", "web");
  auto wc = client.Fetch(web);
  ASSERT_TRUE(wc.ok()) << wc.error().ToString();
  EXPECT_EQ(wc->identity, web);
  EXPECT_EQ(wc->not_after - wc->not_before, std::chrono::hours(1) + std::chrono::seconds(60));
  EXPECT_EQ(client.fetch_count(), 1);
  // The CA's own rules still apply.
  auto foreign = client.Fetch(identity::SpiffeId("other.td", "default", "web"));
  ASSERT_FALSE(foreign.ok());
  EXPECT_EQ(foreign.error().code(), ErrorCode::kPermissionDenied);
  EXPECT_EQ(client.fetch_count(), 2);
}

}  // namespace
}  // namespace ambit::caclient
