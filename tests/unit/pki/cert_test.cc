#include "pki/cert.h"

#include <gtest/gtest.h>

#include "test_certs.h"

namespace ambit::pki {
namespace {

using testing::Must;
using std::chrono::hours;

TEST(CertTest, InspectLeaf) {
  auto root = testing::MakeCa("root", nullptr);
  auto leaf = testing::MakeLeaf("spiffe://cluster.local/ns/a/sa/b", root, hours(24));
  CertInfo info = Must(InspectCert(leaf.cert.get()));
  EXPECT_EQ(info.subject, "");
  EXPECT_EQ(info.issuer, "CN=root,O=ambit-test");
  ASSERT_EQ(info.uri_sans.size(), 1u);
  EXPECT_EQ(info.uri_sans[0], "spiffe://cluster.local/ns/a/sa/b");
  EXPECT_TRUE(info.san_critical);
  EXPECT_FALSE(info.is_ca);
  EXPECT_EQ(info.not_after - info.not_before, hours(24));
  auto now = std::chrono::system_clock::now();
  EXPECT_LT(info.not_before, now);
  EXPECT_GT(info.not_before, now - hours(1));
  EXPECT_EQ(info.serial_hex.size(), 32u) << info.serial_hex;
}

TEST(CertTest, InspectCa) {
  auto root = testing::MakeCa("root", nullptr);
  CertInfo info = Must(InspectCert(root.cert.get()));
  EXPECT_TRUE(info.is_ca);
  EXPECT_TRUE(info.uri_sans.empty());
  EXPECT_TRUE(CertIsSelfSigned(root.cert.get()));
  auto inter = testing::MakeCa("inter", &root);
  EXPECT_FALSE(CertIsSelfSigned(inter.cert.get()));
}

TEST(CertTest, SerialsDiffer) {
  auto root = testing::MakeCa("root", nullptr);
  auto a = testing::MakeLeaf("spiffe://td/ns/a/sa/b", root);
  auto b = testing::MakeLeaf("spiffe://td/ns/a/sa/b", root);
  EXPECT_NE(Must(CertSerialHex(a.cert.get())), Must(CertSerialHex(b.cert.get())));
}

}  // namespace
}  // namespace ambit::pki
