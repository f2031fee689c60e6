#include "dns/resolver.h"

#include <gtest/gtest.h>

#include "state/ip_bytes.h"

namespace ambit::dns {
namespace {

using state::PackIp;

std::string Ip(std::string_view text) { return PackIp(text).value(); }

std::shared_ptr<const state::Service> Svc(std::string ns, std::string hostname, std::vector<std::string> vips,
                                          std::string name = "svc") {
  auto s = std::make_shared<state::Service>();
  s->name = std::move(name);
  s->ns = std::move(ns);
  s->hostname = std::move(hostname);
  for (auto& v : vips) s->vips.push_back({"", Ip(v)});
  return s;
}

std::shared_ptr<const state::Workload> Pod(std::string uid, std::string ip, std::string service_key,
                                           bool healthy = true) {
  auto w = std::make_shared<state::Workload>();
  w->uid = uid;
  w->name = uid;
  w->ns = "ns";
  w->addresses = {Ip(ip)};
  w->healthy = healthy;
  w->services[service_key] = {};
  return w;
}

class ResolverTest : public ::testing::Test {
 protected:
  ResolverTest() {
    state::WorkloadState::Contents c;
    auto add = [&](std::shared_ptr<const state::Service> s) { c.services[s->Key()] = std::move(s); };
    add(Svc("ns", "web.ns.svc.cluster.local", {"10.96.0.11", "fd00::11"}));
    add(Svc("other", "web.other.svc.cluster.local", {"10.96.0.12"}));
    add(Svc("ns", "db.ns.svc.cluster.local", {}));  // headless
    add(Svc("ns", "api.example.com", {"240.240.0.1"}));
    add(Svc("other", "api.example.com", {"240.240.0.9"}));
    add(Svc("ns", "*.wild.test", {"240.240.0.2"}));
    add(Svc("ns", "novip.example.com", {}));  // ServiceEntry without addresses: forwarded
    c.workloads["db-0"] = Pod("db-0", "10.244.1.5", "ns/db.ns.svc.cluster.local");
    c.workloads["db-1"] = Pod("db-1", "10.244.1.6", "ns/db.ns.svc.cluster.local");
    c.workloads["db-sick"] = Pod("db-sick", "10.244.1.7", "ns/db.ns.svc.cluster.local", false);
    state_ = std::make_unique<state::WorkloadState>(std::move(c));
    names_ = NameTable(*state_);
  }

  Decision Ask(std::string name, uint16_t type = kTypeA, std::string client_ns = "ns") {
    Question q;
    q.name = std::move(name);
    q.type = type;
    q.klass = kClassIn;
    return Resolve(q, Client{std::move(client_ns), ""}, names_, settings_);
  }

  static std::vector<std::string> Addresses(const Decision& d) {
    std::vector<std::string> out;
    for (const auto& a : d.reply.answers) {
      if (a.type == kTypeA || a.type == kTypeAaaa) out.push_back(state::FormatIp(a.data));
    }
    std::sort(out.begin(), out.end());
    return out;
  }

  std::unique_ptr<state::WorkloadState> state_;
  NameTable names_;
  ResolverSettings settings_;
};

TEST_F(ResolverTest, EveryServiceNameFormResolvesToTheVip) {
  for (const char* name : {"web", "web.ns", "web.ns.svc", "web.ns.svc.cluster.local"}) {
    const Decision d = Ask(name);
    ASSERT_EQ(d.kind, Decision::Kind::kAnswer) << name;
    EXPECT_EQ(d.service, "ns/web.ns.svc.cluster.local") << name;
    EXPECT_TRUE(d.reply.authoritative);
    EXPECT_EQ(Addresses(d), std::vector<std::string>{"10.96.0.11"}) << name;
    ASSERT_EQ(d.reply.answers.size(), 1u) << name;
    EXPECT_EQ(d.reply.answers[0].owner, name);  // asked as is: no CNAME
    EXPECT_EQ(d.reply.answers[0].ttl, kAnswerTtl);
  }
}

TEST_F(ResolverTest, SearchPathExpansionsGetACnameToTheStrippedName) {
  // What glibc sends for "web.other" from namespace ns with ndots:5: the
  // first search domain appended.
  const Decision d = Ask("web.other.ns.svc.cluster.local");
  ASSERT_EQ(d.kind, Decision::Kind::kAnswer);
  EXPECT_EQ(d.service, "other/web.other.svc.cluster.local");
  ASSERT_EQ(d.reply.answers.size(), 2u);
  EXPECT_EQ(d.reply.answers[0].type, kTypeCname);
  EXPECT_EQ(d.reply.answers[0].owner, "web.other.ns.svc.cluster.local");
  EXPECT_EQ(d.reply.answers[0].data, "web.other");
  EXPECT_EQ(d.reply.answers[1].owner, "web.other");
  EXPECT_EQ(Addresses(d), std::vector<std::string>{"10.96.0.12"});
}

TEST_F(ResolverTest, BareNamesResolveInTheClientsNamespace) {
  EXPECT_EQ(Ask("web", kTypeA, "other").service, "other/web.other.svc.cluster.local");
  EXPECT_EQ(Ask("web", kTypeA, "elsewhere").kind, Decision::Kind::kForward);
}

TEST_F(ResolverTest, AaaaFromIpv6VipsAndNodataWhenNone) {
  EXPECT_EQ(Addresses(Ask("web.ns", kTypeAaaa)), std::vector<std::string>{"fd00::11"});
  const Decision none = Ask("web.other", kTypeAaaa);
  ASSERT_EQ(none.kind, Decision::Kind::kAnswer);  // the name exists: NODATA, not NXDOMAIN
  EXPECT_EQ(none.reply.rcode, kRcodeNoError);
  EXPECT_TRUE(none.reply.answers.empty());
  settings_.ipv6 = false;
  EXPECT_TRUE(Ask("web.ns", kTypeAaaa).reply.answers.empty());
}

TEST_F(ResolverTest, HeadlessServicesAnswerHealthyEndpointAddresses) {
  const Decision d = Ask("db");
  ASSERT_EQ(d.kind, Decision::Kind::kAnswer);
  EXPECT_EQ(Addresses(d), (std::vector<std::string>{"10.244.1.5", "10.244.1.6"}));
}

TEST_F(ResolverTest, ServiceEntryHostsPreferTheClientsNamespace) {
  EXPECT_EQ(Addresses(Ask("api.example.com")), std::vector<std::string>{"240.240.0.1"});
  EXPECT_EQ(Addresses(Ask("api.example.com", kTypeA, "other")), std::vector<std::string>{"240.240.0.9"});
  // Through a search domain: CNAME to the host.
  const Decision d = Ask("api.example.com.ns.svc.cluster.local");
  ASSERT_EQ(d.kind, Decision::Kind::kAnswer);
  EXPECT_EQ(d.reply.answers[0].type, kTypeCname);
  EXPECT_EQ(d.reply.answers[0].data, "api.example.com");
}

TEST_F(ResolverTest, WildcardHostsMatchSubdomains) {
  const Decision d = Ask("a.b.wild.test");
  ASSERT_EQ(d.kind, Decision::Kind::kAnswer);
  EXPECT_EQ(Addresses(d), std::vector<std::string>{"240.240.0.2"});
  EXPECT_EQ(d.reply.answers[0].owner, "a.b.wild.test");
  EXPECT_EQ(Ask("wild.test").kind, Decision::Kind::kForward);
}

TEST_F(ResolverTest, EverythingElseIsForwarded) {
  EXPECT_EQ(Ask("example.org").kind, Decision::Kind::kForward);
  EXPECT_EQ(Ask("novip.example.com").kind, Decision::Kind::kForward);
  EXPECT_EQ(Ask("nope.ns.svc.cluster.local").kind, Decision::Kind::kForward);
  EXPECT_EQ(Ask("web.ns.svc.cluster.local", 16 /* TXT */).kind, Decision::Kind::kForward);
  EXPECT_EQ(Ask("").kind, Decision::Kind::kForward);
}

TEST_F(ResolverTest, DomainSuffixComesFromTheSettings) {
  settings_.domain = "corp.internal";
  EXPECT_EQ(Ask("web").kind, Decision::Kind::kForward);  // expands to web.ns.svc.corp.internal
}

TEST(Aliases, FollowKubernetesExpansions) {
  auto names = [](std::string_view n) {
    std::vector<std::string> out;
    for (const auto& a : Aliases(n, "ns", "cluster.local")) out.push_back(a.name);
    return out;
  };
  EXPECT_EQ(names("web"), (std::vector<std::string>{"web", "web.ns.svc.cluster.local"}));
  EXPECT_EQ(names("web.other"),
            (std::vector<std::string>{"web.other", "web.other.svc.cluster.local", "web.other.ns.svc.cluster.local"}));
  EXPECT_EQ(names("web.other.svc"),
            (std::vector<std::string>{"web.other.svc", "web.other.svc.cluster.local",
                                      "web.other.svc.svc.cluster.local"}));
}

}  // namespace
}  // namespace ambit::dns
