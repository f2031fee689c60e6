// The authorization side of a WorkloadState snapshot: the compiled policy
// index built once per snapshot (reusing the previous snapshot's compiled
// policies), the policy generation and change list that tell ztunnel's
// policy watcher whether open connections need a new decision, and the
// StateStore observers that hear of each publication.
#include <gtest/gtest.h>

#include <vector>

#include "istio/security/authorization.pb.h"
#include "state/ip_bytes.h"
#include "state/state_store.h"
#include "state/workload_state.h"

namespace ambit::state {
namespace {

namespace pb = istio::security;

std::shared_ptr<const Authorization> Policy(const std::string& ns, const std::string& name,
                                            pb::Action action, std::uint32_t port = 8080) {
  auto p = std::make_shared<pb::Authorization>();
  p->set_namespace_(ns);
  p->set_name(name);
  p->set_scope(pb::WORKLOAD_SELECTOR);
  p->set_action(action);
  p->add_rules()->add_clauses()->add_matches()->add_destination_ports(port);
  return p;
}

std::shared_ptr<const Workload> W(const std::string& name, const std::string& ip,
                                  std::vector<std::string> policies = {}) {
  auto w = std::make_shared<Workload>();
  w->uid = "c//Pod/shop/" + name;
  w->name = name;
  w->ns = "shop";
  w->addresses = {PackIp(ip).value()};
  w->authorization_policies = std::move(policies);
  return w;
}

WorkloadState::Contents Base() {
  WorkloadState::Contents c;
  c.policies["shop/deny-9090"] = Policy("shop", "deny-9090", pb::DENY, 9090);
  c.workloads["c//Pod/shop/cart"] = W("cart", "10.1.0.1", {"shop/deny-9090"});
  c.workloads["c//Pod/shop/web"] = W("web", "10.1.0.2");
  return c;
}

TEST(PolicySnapshot, EverySnapshotCarriesItsCompiledPolicies) {
  WorkloadState state(Base());
  EXPECT_EQ(state.policy_index().size(), 1u);
  ASSERT_NE(state.policy_index().Find("shop/deny-9090"), nullptr);
  EXPECT_TRUE(state.policy_index().errors().empty());
  EXPECT_EQ(WorkloadState().policy_index().size(), 0u);
}

TEST(PolicySnapshot, UnchangedPoliciesAreNotCompiledAgain) {
  WorkloadState first(Base());
  WorkloadState::Contents next = first.contents();
  next.policies["shop/allow"] = Policy("shop", "allow", pb::ALLOW);
  WorkloadState second(std::move(next), &first);
  ASSERT_EQ(second.policy_index().size(), 2u);
  // Same resource object -> the very same compiled policy.
  EXPECT_EQ(second.policy_index().Find("shop/deny-9090"),
            first.policy_index().Find("shop/deny-9090"));
  // Without the previous snapshot it is compiled anew.
  WorkloadState fresh(second.contents());
  EXPECT_NE(fresh.policy_index().Find("shop/deny-9090"),
            first.policy_index().Find("shop/deny-9090"));
}

TEST(PolicySnapshot, GenerationIsZeroWithNothingToEnforce) {
  WorkloadState::Contents c;
  c.workloads["c//Pod/shop/web"] = W("web", "10.1.0.2");
  WorkloadState state(std::move(c));
  EXPECT_EQ(state.policy_generation(), 0u);
}

TEST(PolicySnapshot, GenerationStaysWhenNothingAuthorizationSeesChanged) {
  WorkloadState first(Base());
  EXPECT_NE(first.policy_generation(), 0u);
  EXPECT_TRUE(first.policies_changed());  // no previous: everything is new
  WorkloadState::Contents next = first.contents();
  // A service, and a workload replaced by an equal-for-authorization copy.
  auto svc = std::make_shared<Service>();
  svc->name = "web";
  svc->ns = "shop";
  svc->hostname = "web.shop.svc.cluster.local";
  next.services[svc->Key()] = svc;
  auto web = std::make_shared<Workload>(*next.workloads["c//Pod/shop/web"]);
  web->healthy = false;
  next.workloads[web->uid] = web;
  WorkloadState second(std::move(next), &first);
  EXPECT_EQ(second.policy_generation(), first.policy_generation());
  EXPECT_EQ(second.previous_policy_generation(), first.policy_generation());
  EXPECT_FALSE(second.policies_changed());
  EXPECT_TRUE(second.policy_changed_workloads().empty());
}

TEST(PolicySnapshot, NewPolicyChangesTheGeneration) {
  WorkloadState first(Base());
  WorkloadState::Contents next = first.contents();
  next.policies["shop/allow"] = Policy("shop", "allow", pb::ALLOW);
  WorkloadState second(std::move(next), &first);
  EXPECT_NE(second.policy_generation(), first.policy_generation());
  EXPECT_TRUE(second.policies_changed());
  // A replaced (even if equal) policy object counts as a change; removal too.
  WorkloadState::Contents again = second.contents();
  again.policies.erase("shop/allow");
  WorkloadState third(std::move(again), &second);
  EXPECT_TRUE(third.policies_changed());
  EXPECT_NE(third.policy_generation(), second.policy_generation());
}

TEST(PolicySnapshot, WorkloadPolicyKeysChangeTheGenerationAndAreListed) {
  WorkloadState first(Base());
  WorkloadState::Contents next = first.contents();
  next.workloads["c//Pod/shop/web"] = W("web", "10.1.0.2", {"shop/deny-9090"});
  WorkloadState second(std::move(next), &first);
  EXPECT_NE(second.policy_generation(), first.policy_generation());
  EXPECT_FALSE(second.policies_changed());
  EXPECT_EQ(second.policy_changed_workloads(), std::vector<std::string>{"shop/web"});

  // A workload that listed policies and is gone is listed too; a new one as well.
  WorkloadState::Contents later = second.contents();
  later.workloads.erase("c//Pod/shop/cart");
  later.workloads["c//Pod/shop/new"] = W("new", "10.1.0.3");
  WorkloadState third(std::move(later), &second);
  EXPECT_EQ(third.policy_changed_workloads(),
            (std::vector<std::string>{"shop/cart", "shop/new"}));
  EXPECT_NE(third.policy_generation(), second.policy_generation());
}

TEST(PolicySnapshot, GenerationsOfUnrelatedSnapshotsNeverCollide) {
  WorkloadState a(Base());
  WorkloadState b(Base());
  EXPECT_NE(a.policy_generation(), b.policy_generation());
}

TEST(StateStoreObservers, HearEachPublicationInOrderWithThePreviousSnapshot) {
  StateStore store;
  std::vector<std::pair<const WorkloadState*, const WorkloadState*>> seen;
  store.AddObserver([&](const std::shared_ptr<const WorkloadState>& previous,
                        const std::shared_ptr<const WorkloadState>& current) {
    // Readers already see the new snapshot.
    EXPECT_EQ(store.Snapshot(), current);
    seen.emplace_back(previous.get(), current.get());
  });
  const WorkloadState* empty = store.Snapshot().get();
  auto first = std::make_shared<const WorkloadState>(Base());
  auto second = std::make_shared<const WorkloadState>(Base(), first.get());
  store.Publish(first);
  store.Publish(second);
  ASSERT_EQ(seen.size(), 2u);
  EXPECT_EQ(seen[0], std::make_pair(empty, first.get()));
  EXPECT_EQ(seen[1], std::make_pair(static_cast<const WorkloadState*>(first.get()), second.get()));
}

}  // namespace
}  // namespace ambit::state
