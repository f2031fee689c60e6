// L4 authorization where traffic arrives: ztunnel's decision against a
// snapshot's PolicyIndex (destination workload, fallback namespace, no
// identity for plaintext), the waypoint's (only its own listed policies), the
// per-pod hbone::Authorizer with its watch, and the policy watcher that
// re-checks watched connections when a new snapshot changes policies.
#include "proxy/authorization.h"

#include <asio/io_context.hpp>

#include <gtest/gtest.h>

#include "authz/string_pattern.h"
#include "core/netns.h"
#include "istio/security/authorization.pb.h"
#include "node/pod_authorizer.h"
#include "node/policy_watcher.h"
#include "proxy/state_lookup.h"
#include "state/ip_bytes.h"

namespace ambit::node {
namespace {

namespace pb = istio::security;
using identity::SpiffeId;

net::IpAddress Ip(const char* s) { return *net::IpAddress::Parse(s); }
net::SocketAddress Addr(const char* s) { return *net::SocketAddress::Parse(s); }

std::shared_ptr<const pb::Authorization> Policy(const std::string& ns, const std::string& name,
                                                pb::Scope scope, pb::Action action,
                                                const std::function<void(pb::Match&)>& fill) {
  auto p = std::make_shared<pb::Authorization>();
  p->set_namespace_(ns);
  p->set_name(name);
  p->set_scope(scope);
  p->set_action(action);
  fill(*p->add_rules()->add_clauses()->add_matches());
  return p;
}

// ALLOW only spiffe://cluster.local/ns/shop/sa/<sa>.
std::shared_ptr<const pb::Authorization> AllowPrincipal(const std::string& ns,
                                                        const std::string& name,
                                                        const std::string& sa) {
  return Policy(ns, name, pb::WORKLOAD_SELECTOR, pb::ALLOW, [&](pb::Match& m) {
    *m.add_principals() = authz::StringMatchFromPattern("cluster.local/ns/shop/sa/" + sa);
  });
}

std::shared_ptr<const state::Workload> W(const std::string& name, const char* ip,
                                         std::vector<std::string> policies = {}) {
  auto w = std::make_shared<state::Workload>();
  w->uid = "c//Pod/shop/" + name;
  w->name = name;
  w->ns = "shop";
  w->addresses = {*state::PackIp(ip)};
  w->tunnel_protocol = state::TunnelProtocol::kHbone;
  w->service_account = name;
  w->authorization_policies = std::move(policies);
  return w;
}

struct Caller {
  explicit Caller(const std::string& sa)
      : id("cluster.local", "shop", sa), principal(id.Principal()),
        view(authz::PeerView::Of(id, principal)) {}
  SpiffeId id;
  std::string principal;
  authz::PeerView view;
};

class AuthorizationTest : public ::testing::Test {
 protected:
  void SetUp() override {
    contents_.workloads["c//Pod/shop/server"] = W("server", "10.1.0.2", {"shop/allow-client"});
    contents_.workloads["c//Pod/shop/open"] = W("open", "10.1.0.3");
    contents_.policies["shop/allow-client"] = AllowPrincipal("shop", "allow-client", "client");
    Publish();
  }
  void Publish() {
    auto next = std::make_shared<const state::WorkloadState>(contents_, store_.Snapshot().get());
    store_.Publish(next);
  }
  authz::Decision Decide(const Caller* caller, const char* dst, const char* src = "10.1.0.1") {
    proxy::InboundConnectionFacts facts{caller != nullptr ? &caller->view : nullptr, Ip(src),
                                        Addr(dst)};
    return proxy::DecideInbound(*store_.Snapshot(), "", "shop", facts);
  }

  state::WorkloadState::Contents contents_;
  state::StateStore store_;
  Caller client_{"client"};
  Caller intruder_{"intruder"};
};

TEST_F(AuthorizationTest, TheDestinationWorkloadsPoliciesDecide) {
  const authz::Decision allowed = Decide(&client_, "10.1.0.2:8080");
  EXPECT_TRUE(allowed.allowed());
  EXPECT_EQ(allowed.policy, "shop/allow-client");
  const authz::Decision denied = Decide(&intruder_, "10.1.0.2:8080");
  EXPECT_FALSE(denied.allowed());
  EXPECT_EQ(authz::DenialReason(denied), "allow policies exist, but none allowed");
  // Another workload does not list the policy: anyone may connect.
  EXPECT_TRUE(Decide(&intruder_, "10.1.0.3:8080").allowed());
}

TEST_F(AuthorizationTest, PlaintextHasNoIdentity) {
  EXPECT_FALSE(Decide(nullptr, "10.1.0.2:8080").allowed());
  EXPECT_TRUE(Decide(nullptr, "10.1.0.3:8080").allowed());
  // PeerAuthentication STRICT as istiod lowers it: DENY when no principal.
  contents_.policies["istio-system/istio_converted_static_strict"] =
      Policy("istio-system", "istio_converted_static_strict", pb::GLOBAL, pb::DENY,
             [](pb::Match& m) { m.add_not_principals()->mutable_presence(); });
  Publish();
  const authz::Decision strict = Decide(nullptr, "10.1.0.3:8080");
  EXPECT_FALSE(strict.allowed());
  EXPECT_EQ(proxy::RejectionError(authz::DenialReason(strict)),
            "connection closed due to policy rejection: explicitly denied by: "
            "istio-system/istio_converted_static_strict");
  EXPECT_TRUE(Decide(&intruder_, "10.1.0.3:8080").allowed());
}

TEST_F(AuthorizationTest, AnUnknownDestinationFallsBackToThePodNamespace) {
  contents_.policies["shop/deny-9090"] =
      Policy("shop", "deny-9090", pb::NAMESPACE, pb::DENY,
             [](pb::Match& m) { m.add_destination_ports(9090); });
  Publish();
  // 10.1.0.9 is no workload of the state: the pod's namespace policies apply.
  EXPECT_FALSE(Decide(&client_, "10.1.0.9:9090").allowed());
  EXPECT_TRUE(Decide(&client_, "10.1.0.9:8080").allowed());
}

TEST_F(AuthorizationTest, TheWaypointEnforcesOnlyWhatItsOwnWorkloadLists) {
  contents_.workloads["c//Pod/shop/waypoint"] = W("waypoint", "10.1.0.50", {"shop/wp-allow"});
  contents_.policies["shop/wp-allow"] = AllowPrincipal("shop", "wp-allow", "client");
  // A namespace-wide policy of the waypoint's namespace is not the waypoint's.
  contents_.policies["shop/deny-everything"] = Policy(
      "shop", "deny-everything", pb::NAMESPACE, pb::DENY, [](pb::Match& m) { m.add_destination_ports(80); });
  Publish();
  auto decide = [&](const Caller& caller, const char* self) {
    proxy::InboundConnectionFacts facts{&caller.view, Ip("10.1.0.1"), Addr("10.96.0.10:80")};
    return proxy::DecideAtWaypoint(*store_.Snapshot(), "", Ip(self), facts);
  };
  EXPECT_TRUE(decide(client_, "10.1.0.50").allowed());
  const authz::Decision denied = decide(intruder_, "10.1.0.50");
  EXPECT_FALSE(denied.allowed());
  // A waypoint the state does not know has no policies of its own.
  EXPECT_TRUE(decide(intruder_, "10.1.0.99").allowed());
}

TEST_F(AuthorizationTest, PodAuthorizerAnswersWithTheDenialAndRevokesOnAPolicyChange) {
  auto lookup = std::make_shared<proxy::StateLookup>(store_, 1);
  auto tracker = ConnectionTracker::Create();
  PodAuthorizer authorizer("shop", lookup, tracker);
  hbone::InboundRequestInfo request{intruder_.id, Addr("10.1.0.1:40000"), Addr("10.1.0.3:8080"),
                                    std::nullopt, intruder_.principal, {}};
  EXPECT_TRUE(authorizer.Authorize(request).allow);

  asio::io_context loop;
  std::vector<std::string> revoked;
  auto watch = authorizer.Watch(request, loop.get_executor(),
                                [&](std::string reason) { revoked.push_back(std::move(reason)); });
  ASSERT_NE(watch, nullptr);
  EXPECT_EQ(tracker->active(), 1u);
  // A re-check while still allowed changes nothing.
  tracker->RecheckAll();
  loop.poll();
  loop.restart();
  EXPECT_TRUE(revoked.empty());
  // Now "open" lists a DENY policy for the intruder.
  contents_.workloads["c//Pod/shop/open"] = W("open", "10.1.0.3", {"shop/deny-intruder"});
  contents_.policies["shop/deny-intruder"] =
      Policy("shop", "deny-intruder", pb::WORKLOAD_SELECTOR, pb::DENY, [](pb::Match& m) {
        *m.add_principals() = authz::StringMatchFromPattern("cluster.local/ns/shop/sa/intruder");
      });
  Publish();
  const hbone::AuthorizationResult now = authorizer.Authorize(request);
  EXPECT_FALSE(now.allow);
  EXPECT_EQ(now.reason, "explicitly denied by: shop/deny-intruder");
  tracker->RecheckAll();
  loop.poll();
  loop.restart();
  EXPECT_EQ(revoked, std::vector<std::string>{"explicitly denied by: shop/deny-intruder"});
  // Once the watch is gone nothing is re-checked.
  watch.reset();
  EXPECT_EQ(tracker->active(), 0u);
  tracker->RecheckAll();
  loop.poll();
  EXPECT_EQ(revoked.size(), 1u);
}

// A pod object for the watcher (no listeners: only its spec and tracker are used).
std::shared_ptr<Pod> FakePod(const std::string& name) {
  auto netns = Netns::Current();
  EXPECT_TRUE(netns.ok());
  return std::make_shared<Pod>(
      PodSpec{"uid-" + name, name, "shop", name}, SpiffeId("cluster.local", "shop", name),
      std::make_shared<const Netns>(std::move(*netns)), 0, proxy::CertLease());
}

TEST_F(AuthorizationTest, WatcherRechecksOnlyWhenWhatAuthorizationSeesChanges) {
  std::vector<std::shared_ptr<Pod>> pods{FakePod("server"), FakePod("open")};
  asio::io_context loop;
  std::map<std::string, int> rechecked;
  std::vector<std::optional<ConnectionTracker::Token>> tokens;
  for (auto& pod : pods) {
    tokens.push_back(pod->connections().Register(loop.get_executor(), {}, {}, [&, name = pod->spec().name] {
      ++rechecked[name];
    }));
  }
  PolicyWatcher watcher(store_, [&] { return pods; });
  auto run = [&] {
    loop.poll();
    loop.restart();
  };

  // Nothing authorization sees changed (a service): no re-check at all.
  auto svc = std::make_shared<state::Service>();
  svc->name = "web";
  svc->ns = "shop";
  svc->hostname = "web.shop.svc.cluster.local";
  contents_.services[svc->Key()] = svc;
  Publish();
  run();
  EXPECT_TRUE(rechecked.empty());
  EXPECT_EQ(watcher.policy_updates(), 0u);

  // One workload's keys changed: only its pod.
  contents_.workloads["c//Pod/shop/open"] = W("open", "10.1.0.3", {"shop/allow-client"});
  Publish();
  run();
  EXPECT_EQ(rechecked, (std::map<std::string, int>{{"open", 1}}));

  // A policy changed: every pod (as ztunnel).
  contents_.policies["shop/allow-client"] = AllowPrincipal("shop", "allow-client", "other");
  Publish();
  run();
  EXPECT_EQ(rechecked, (std::map<std::string, int>{{"open", 2}, {"server", 1}}));
  EXPECT_EQ(watcher.policy_updates(), 2u);
  EXPECT_EQ(watcher.pod_rechecks(), 3u);

  watcher.Detach();
  contents_.policies.erase("shop/allow-client");
  Publish();
  run();
  EXPECT_EQ(watcher.policy_updates(), 2u);
}

TEST(PolicyWatcherAffects, ComparesGenerationsThenTheChangeList) {
  state::WorkloadState::Contents c;
  c.workloads["c//Pod/shop/a"] = W("a", "10.1.0.1", {"shop/p"});
  state::WorkloadState first(c);
  const PodSpec a{"uid-a", "a", "shop", "a"}, b{"uid-b", "b", "shop", "b"};
  EXPECT_TRUE(PolicyWatcher::Affects(nullptr, first, a));  // no previous: everything is new
  state::WorkloadState same(c, &first);
  EXPECT_FALSE(PolicyWatcher::Affects(&first, same, a));
  c.workloads["c//Pod/shop/a"] = W("a", "10.1.0.1", {"shop/q"});
  state::WorkloadState changed(c, &same);
  EXPECT_TRUE(PolicyWatcher::Affects(&same, changed, a));
  EXPECT_FALSE(PolicyWatcher::Affects(&same, changed, b));
  // Not built from the snapshot it replaces: every pod.
  state::WorkloadState unrelated(c);
  EXPECT_TRUE(PolicyWatcher::Affects(&same, unrelated, b));
}

}  // namespace
}  // namespace ambit::node
