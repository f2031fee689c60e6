#include "xds/state_applier.h"

#include <gtest/gtest.h>

#include "envoy/service/discovery/v3/discovery.pb.h"
#include "istio/security/authorization.pb.h"
#include "state/ip_bytes.h"
#include "test_resources.h"
#include "xds/type_urls.h"

namespace ambit::xds {
namespace {

using envoy::service::discovery::v3::DeltaDiscoveryResponse;
using testing::ServiceAddress;
using testing::ServiceKey;
using testing::WorkloadAddress;
using testing::WorkloadUid;

void Add(DeltaDiscoveryResponse& r, const std::string& name, const google::protobuf::Message& m,
         const std::string& version = "v1") {
  auto* res = r.add_resources();
  res->set_name(name);
  res->set_version(version);
  res->mutable_resource()->PackFrom(m);
}

DeltaDiscoveryResponse AddressResponse() {
  DeltaDiscoveryResponse r;
  r.set_type_url(std::string(kAddressTypeUrl));
  r.set_nonce("1");
  return r;
}

std::string Ip(const char* text) { return state::PackIp(text).value(); }

TEST(StateApplier, AppliesUpsertsAndRemovalsAsNewSnapshots) {
  state::StateStore store;
  StateApplier applier(store);
  auto first = AddressResponse();
  Add(first, WorkloadUid("ns", "a"), WorkloadAddress("ns", "a", "10.0.0.1"));
  Add(first, WorkloadUid("ns", "b"), WorkloadAddress("ns", "b", "10.0.0.2"));
  Add(first, ServiceKey("ns", "web"), ServiceAddress("ns", "web", "10.96.0.1"));
  ASSERT_TRUE(applier.Apply(first).ok());
  auto before = store.Snapshot();
  EXPECT_EQ(before->workload_count(), 2u);
  EXPECT_EQ(before->service_count(), 1u);
  EXPECT_NE(before->FindServiceByVip("", Ip("10.96.0.1")), nullptr);

  auto second = AddressResponse();
  Add(second, WorkloadUid("ns", "b"), WorkloadAddress("ns", "b", "10.0.0.22"), "v2");
  second.add_removed_resources(WorkloadUid("ns", "a"));
  second.add_removed_resources(ServiceKey("ns", "web"));
  second.add_removed_resources("never-seen");
  ASSERT_TRUE(applier.Apply(second).ok());
  auto after = store.Snapshot();
  EXPECT_EQ(after->workload_count(), 1u);
  EXPECT_EQ(after->service_count(), 0u);
  EXPECT_NE(after->FindWorkloadByAddress("", Ip("10.0.0.22")), nullptr);
  EXPECT_EQ(after->FindWorkloadByAddress("", Ip("10.0.0.2")), nullptr);
  // The old snapshot is untouched.
  EXPECT_NE(before->FindWorkloadByAddress("", Ip("10.0.0.2")), nullptr);
  EXPECT_EQ(applier.versions(kAddressTypeUrl),
            (std::map<std::string, std::string>{{WorkloadUid("ns", "b"), "v2"}}));
}

TEST(StateApplier, ABadResourceRejectsTheWholeResponseAndKeepsTheLastGoodState) {
  state::StateStore store;
  StateApplier applier(store);
  auto good = AddressResponse();
  Add(good, WorkloadUid("ns", "a"), WorkloadAddress("ns", "a", "10.0.0.1"));
  ASSERT_TRUE(applier.Apply(good).ok());
  uint64_t generation = store.generation();

  auto bad = AddressResponse();
  Add(bad, WorkloadUid("ns", "b"), WorkloadAddress("ns", "b", "10.0.0.2"), "v2");
  auto broken = WorkloadAddress("ns", "c", "10.0.0.3");
  broken.mutable_workload()->set_addresses(0, "xyz");
  Add(bad, WorkloadUid("ns", "c"), broken, "v2");
  bad.add_removed_resources(WorkloadUid("ns", "a"));
  Status s = applier.Apply(bad);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.error().message().find(WorkloadUid("ns", "c")), std::string::npos);
  EXPECT_EQ(store.generation(), generation);
  EXPECT_EQ(store.Snapshot()->workload_count(), 1u);
  EXPECT_NE(store.Snapshot()->FindWorkloadByUid(WorkloadUid("ns", "a")), nullptr);
  EXPECT_EQ(applier.versions(kAddressTypeUrl).size(), 1u);
}

TEST(StateApplier, RejectsUndecodableBodiesAndForeignTypes) {
  state::StateStore store;
  StateApplier applier(store);
  auto garbage = AddressResponse();
  auto* res = garbage.add_resources();
  res->set_name("x");
  res->mutable_resource()->set_type_url(std::string(kAddressTypeUrl));
  res->mutable_resource()->set_value("\xff\xff\xff");
  EXPECT_FALSE(applier.Apply(garbage).ok());

  auto mismatched = AddressResponse();
  istio::security::Authorization policy;
  policy.set_name("p");
  Add(mismatched, "/p", policy);
  EXPECT_FALSE(applier.Apply(mismatched).ok());

  DeltaDiscoveryResponse unknown;
  unknown.set_type_url("type.googleapis.com/envoy.config.cluster.v3.Cluster");
  EXPECT_FALSE(applier.Apply(unknown).ok());
}

TEST(StateApplier, AppliesAuthorizationPolicies) {
  state::StateStore store;
  StateApplier applier(store);
  DeltaDiscoveryResponse r;
  r.set_type_url(std::string(kAuthorizationTypeUrl));
  istio::security::Authorization policy;
  policy.set_name("allow-web");
  policy.set_namespace_("shop");
  policy.set_scope(istio::security::NAMESPACE);
  Add(r, "shop/allow-web", policy);
  ASSERT_TRUE(applier.Apply(r).ok());
  EXPECT_EQ(store.Snapshot()->NamespacePolicies("shop").size(), 1u);
  DeltaDiscoveryResponse removal;
  removal.set_type_url(std::string(kAuthorizationTypeUrl));
  removal.add_removed_resources("shop/allow-web");
  ASSERT_TRUE(applier.Apply(removal).ok());
  EXPECT_EQ(store.Snapshot()->policy_count(), 0u);
}

}  // namespace
}  // namespace ambit::xds
