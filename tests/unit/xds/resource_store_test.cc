#include "xds/resource_store.h"

#include <gtest/gtest.h>

#include "istio/security/authorization.pb.h"
#include "test_resources.h"
#include "xds/type_urls.h"

namespace ambit::xds {
namespace {

using testing::WorkloadAddress;
using testing::WorkloadUid;

TEST(ResourceStore, SetAllReportsOnlyWhatChanged) {
  ResourceStore store;
  auto a = WorkloadAddress("ns", "a", "10.0.0.1");
  auto b = WorkloadAddress("ns", "b", "10.0.0.2");
  auto first = store.SetAll(kAddressTypeUrl, {{WorkloadUid("ns", "a"), &a}, {WorkloadUid("ns", "b"), &b}});
  ASSERT_TRUE(first.ok());
  EXPECT_EQ(first->upserted.size(), 2u);

  // Same content again: nothing changes, revision stays.
  uint64_t revision = store.revision();
  auto same = store.SetAll(kAddressTypeUrl, {{WorkloadUid("ns", "a"), &a}, {WorkloadUid("ns", "b"), &b}});
  ASSERT_TRUE(same.ok());
  EXPECT_TRUE(same->empty());
  EXPECT_EQ(store.revision(), revision);

  // One changed, one removed.
  auto b2 = WorkloadAddress("ns", "b", "10.0.0.22");
  auto next = store.SetAll(kAddressTypeUrl, {{WorkloadUid("ns", "b"), &b2}});
  ASSERT_TRUE(next.ok());
  EXPECT_EQ(next->upserted, std::vector<std::string>{WorkloadUid("ns", "b")});
  EXPECT_EQ(next->removed, std::vector<std::string>{WorkloadUid("ns", "a")});
  EXPECT_EQ(store.Get(kAddressTypeUrl)->size(), 1u);
}

TEST(ResourceStore, VersionsAreContentHashesStableAcrossStores) {
  ResourceStore one, two;
  auto a = WorkloadAddress("ns", "a", "10.0.0.1");
  (*a.mutable_workload()->mutable_services())["ns/x"].add_ports()->set_service_port(1);
  (*a.mutable_workload()->mutable_services())["ns/y"].add_ports()->set_service_port(2);
  ASSERT_TRUE(one.Set(kAddressTypeUrl, "a", a).ok());
  ASSERT_TRUE(two.Set(kAddressTypeUrl, "a", a).ok());
  EXPECT_EQ(one.Get(kAddressTypeUrl)->at("a").version, two.Get(kAddressTypeUrl)->at("a").version);
  EXPECT_EQ(one.Get(kAddressTypeUrl)->at("a").version.size(), 16u);
  auto changed = WorkloadAddress("ns", "a", "10.0.0.9");
  ASSERT_TRUE(two.Set(kAddressTypeUrl, "a", changed).ok());
  EXPECT_NE(one.Get(kAddressTypeUrl)->at("a").version, two.Get(kAddressTypeUrl)->at("a").version);
}

TEST(ResourceStore, RejectsAMessageOfTheWrongType) {
  ResourceStore store;
  istio::security::Authorization policy;
  auto r = store.Set(kAddressTypeUrl, "x", policy);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message().find("istio.security.Authorization"), std::string::npos);
}

TEST(ResourceStore, ListenersSeeEachEffectiveChange) {
  ResourceStore store;
  int calls = 0;
  store.AddListener([&](std::string_view type_url, const StoreChange& change) {
    EXPECT_EQ(type_url, kAddressTypeUrl);
    EXPECT_FALSE(change.empty());
    ++calls;
  });
  auto a = WorkloadAddress("ns", "a", "10.0.0.1");
  ASSERT_TRUE(store.Set(kAddressTypeUrl, "a", a).ok());
  ASSERT_TRUE(store.Set(kAddressTypeUrl, "a", a).ok());  // no-op
  EXPECT_TRUE(store.Remove(kAddressTypeUrl, "missing").empty());
  EXPECT_FALSE(store.Remove(kAddressTypeUrl, "a").empty());
  EXPECT_EQ(calls, 2);
}

}  // namespace
}  // namespace ambit::xds
