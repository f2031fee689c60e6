#include "pki/chain.h"

#include <gtest/gtest.h>

#include "test_certs.h"

namespace ambit::pki {
namespace {

using testing::Must;

std::vector<UniqueX509> One(X509* c) {
  std::vector<UniqueX509> v;
  v.push_back(RefX509(c));
  return v;
}

TEST(ChainTest, LeafThroughIntermediate) {
  auto root = testing::MakeCa("root", nullptr);
  auto inter = testing::MakeCa("inter", &root);
  auto leaf = testing::MakeLeaf("spiffe://td/ns/a/sa/b", inter);
  auto roots = One(root.cert.get());
  auto inters = One(inter.cert.get());
  EXPECT_TRUE(VerifyChain(leaf.cert.get(), inters, roots).ok());
}

TEST(ChainTest, MissingIntermediateFails) {
  auto root = testing::MakeCa("root", nullptr);
  auto inter = testing::MakeCa("inter", &root);
  auto leaf = testing::MakeLeaf("spiffe://td/ns/a/sa/b", inter);
  auto roots = One(root.cert.get());
  auto st = VerifyChain(leaf.cert.get(), {}, roots);
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.error().code(), ErrorCode::kUnauthenticated);
  EXPECT_NE(st.error().message().find("unable to get local issuer"), std::string::npos)
      << st.error().message();
}

TEST(ChainTest, ForeignRootFails) {
  auto root = testing::MakeCa("root", nullptr);
  auto other = testing::MakeCa("other", nullptr);
  auto leaf = testing::MakeLeaf("spiffe://td/ns/a/sa/b", root);
  auto roots = One(other.cert.get());
  EXPECT_FALSE(VerifyChain(leaf.cert.get(), {}, roots).ok());
}

TEST(ChainTest, ExpiredAtGivenTime) {
  auto root = testing::MakeCa("root", nullptr);
  auto leaf = testing::MakeLeaf("spiffe://td/ns/a/sa/b", root, std::chrono::hours(1));
  auto roots = One(root.cert.get());
  VerifyOptions later;
  later.at = std::chrono::system_clock::now() + std::chrono::hours(2);
  auto st = VerifyChain(leaf.cert.get(), {}, roots, later);
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.error().message().find("expired"), std::string::npos) << st.error().message();
}

TEST(ChainTest, LeafCannotSign) {
  // A leaf (CA:FALSE) used as an issuer must be rejected by path validation.
  auto root = testing::MakeCa("root", nullptr);
  auto leaf = testing::MakeLeaf("spiffe://td/ns/a/sa/b", root);
  auto grandchild = testing::MakeLeaf("spiffe://td/ns/a/sa/c", leaf);
  auto roots = One(root.cert.get());
  auto inters = One(leaf.cert.get());
  EXPECT_FALSE(VerifyChain(grandchild.cert.get(), inters, roots).ok());
}

TEST(ChainTest, NoRootsIsAnError) {
  auto root = testing::MakeCa("root", nullptr);
  EXPECT_FALSE(VerifyChain(root.cert.get(), {}, {}).ok());
}

}  // namespace
}  // namespace ambit::pki
