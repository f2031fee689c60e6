// L4 policy evaluation (src/authz), per inbound connection, and what it costs
// per state snapshot.
//
// The snapshot holds |total| AuthorizationPolicies (as istio.security.
// Authorization resources) of which |applicable| apply to the destination
// workload "server/w5"; the rest are a realistic distraction: 60% are
// selector-scoped policies of the same namespace that other workloads list,
// 40% live in other namespaces (half namespace-wide, half selector-scoped).
// The applicable ones are a typical ztunnel mix: 80% selector-scoped (listed
// by the workload), 20% namespace-wide; 90% ALLOW, 10% DENY. Each is one rule
// with a `from` clause (two exact principals OR a namespace; every fourth also
// requires an ipBlock via a second clause) and a `to` clause (two ports).
//
// Shapes measured (args applicable / total):
//   0 / 0      no policy anywhere (the fast path)
//   0 / 100    policies exist, none applies to this workload
//   10 / 100   realistic: a tenth of the mesh's policies apply here
//   100 / 100  worst case: every policy applies here
//   10 / 10000 many unrelated policies must cost nothing
// Outcomes: allowed = the caller matches the last ALLOW policy checked (so
// every applicable policy is evaluated, DENY ones first); denied = a stranger
// no policy matches (again every one evaluated, then "no ALLOW matched").
//
// BM_DecideInbound is ztunnel's whole per-connection decision
// (proxy::DecideInbound: the destination workload found by IP among 1,000,
// its pre-resolved policies evaluated); target: under 1 µs for 100 applicable
// policies (issue #11). BM_Evaluate is the evaluation alone
// (authz::PolicyIndex::Evaluate on the resolved sets). The per-snapshot costs:
// BM_AuthzIndexRebuildOneChange (recompile one policy, reuse the rest) and
// BM_SnapshotBuild (a whole WorkloadState of 1,000 workloads, with and
// without 100 policies: what resolving every workload's policies adds).
#include <benchmark/benchmark.h>

#include <algorithm>
#include <memory>
#include <string>
#include <vector>

#include "authz/policy_index.h"
#include "istio/security/authorization.pb.h"
#include "proxy/authorization.h"
#include "state/ip_bytes.h"

namespace ambit {
namespace {

namespace pb = istio::security;

constexpr int kWorkloads = 1000;
constexpr int kTarget = 5;  // server/w5, 10.4.0.6

std::string Principal(const std::string& ns, const std::string& sa) {
  return "cluster.local/ns/" + ns + "/sa/" + sa;
}

// Policy |name| in |ns|: allows (or denies) principals client-<i>/{app,worker}
// or namespace client-<i>-legacy, on ports 8080 and 9090; with |ip_block|
// also only from 10.0.0.0/8.
std::shared_ptr<const pb::Authorization> MakePolicy(const std::string& ns, const std::string& name,
                                                    int i, pb::Scope scope, pb::Action action,
                                                    bool ip_block,
                                                    std::uint32_t extra_port = 9090) {
  pb::Authorization p;
  p.set_namespace_(ns);
  p.set_name(name);
  p.set_scope(scope);
  p.set_action(action);
  auto* rule = p.add_rules();
  auto* from = rule->add_clauses();
  auto* by_principal = from->add_matches();
  by_principal->add_principals()->set_exact(Principal("client-" + std::to_string(i), "app"));
  by_principal->add_principals()->set_exact(Principal("client-" + std::to_string(i), "worker"));
  from->add_matches()->add_namespaces()->set_exact("client-" + std::to_string(i) + "-legacy");
  if (ip_block) {
    auto* block = rule->add_clauses()->add_matches()->add_source_ips();
    block->set_address(std::string("\x0a\x00\x00\x00", 4));
    block->set_length(8);
  }
  auto* to = rule->add_clauses()->add_matches();
  to->add_destination_ports(8080);
  to->add_destination_ports(extra_port);
  return std::make_shared<const pb::Authorization>(std::move(p));
}

struct World {
  authz::PolicyMap policies;
  std::vector<std::string> target_keys;              // listed by server/w5
  std::vector<std::vector<std::string>> other_keys;  // listed by the other workloads
  int matching_client = -1;  // the caller that the last ALLOW checked matches
};

World MakeWorld(int applicable, int total) {
  World w;
  w.other_keys.resize(kWorkloads);
  int last_allow = -1;
  for (int j = 0; j < applicable; ++j) {
    const bool namespace_wide = j % 5 == 0;
    const pb::Action action = j % 10 == 5 ? pb::DENY : pb::ALLOW;
    char name[32];
    std::snprintf(name, sizeof name, "applies-%03d", j);
    auto p = MakePolicy("server", name, j, namespace_wide ? pb::NAMESPACE : pb::WORKLOAD_SELECTOR,
                        action, j % 4 == 3);
    const std::string key = "server/" + p->name();
    if (!namespace_wide) {
      w.target_keys.push_back(key);
      if (action == pb::ALLOW) last_allow = j;  // listed ALLOWs are checked last, in list order
    }
    w.policies[key] = std::move(p);
  }
  w.matching_client = last_allow;
  for (int j = applicable; j < total; ++j) {
    const int k = j - applicable;
    const bool ip_block = j % 4 == 3;
    if (k % 5 < 3) {  // same namespace, selecting another workload
      auto p = MakePolicy("server", "other-" + std::to_string(j), j, pb::WORKLOAD_SELECTOR,
                          pb::ALLOW, ip_block);
      const std::string key = "server/" + p->name();
      int owner = j % kWorkloads;
      if (owner == kTarget) owner = kTarget + 1;
      w.other_keys[owner].push_back(key);
      w.policies[key] = std::move(p);
    } else {  // another namespace
      const std::string ns = "team-" + std::to_string(j % 37);
      auto p = MakePolicy(ns, "p-" + std::to_string(j), j,
                          k % 2 == 0 ? pb::NAMESPACE : pb::WORKLOAD_SELECTOR, pb::ALLOW, ip_block);
      w.policies[ns + "/" + p->name()] = std::move(p);
    }
  }
  return w;
}

std::unique_ptr<state::WorkloadState> MakeSnapshot(const World& w) {
  state::WorkloadState::Contents contents;
  for (int i = 0; i < kWorkloads; ++i) {
    auto wl = std::make_shared<state::Workload>();
    wl->uid = "c//Pod/server/w" + std::to_string(i);
    wl->name = "w" + std::to_string(i);
    wl->ns = "server";
    wl->addresses = {
        *state::PackIp("10.4." + std::to_string(i / 250) + "." + std::to_string(i % 250 + 1))};
    wl->authorization_policies = i == kTarget ? w.target_keys : w.other_keys[i];
    contents.workloads[wl->uid] = std::move(wl);
  }
  contents.policies = w.policies;
  return std::make_unique<state::WorkloadState>(std::move(contents));
}

// A caller with identity client-<client>/app (client < 0: a stranger).
struct Caller {
  explicit Caller(int client)
      : id("cluster.local", client < 0 ? "stranger" : "client-" + std::to_string(client), "app"),
        principal(id.Principal()),
        view(authz::PeerView::Of(id, principal)) {}
  identity::SpiffeId id;
  std::string principal;
  authz::PeerView view;
};

// The expected decision: allowed and by which policy, or denied (and why).
bool Expected(const authz::Decision& d, bool want_allowed, int applicable, int client) {
  if (applicable == 0) return d.allowed() && d.reason == authz::DecisionReason::kNoAllowPolicies;
  if (!want_allowed) return !d.allowed() && d.reason == authz::DecisionReason::kNoAllowMatched;
  char name[48];
  std::snprintf(name, sizeof name, "server/applies-%03d", client);
  return d.allowed() && d.policy == name;
}

struct Setup {
  World world;
  std::unique_ptr<state::WorkloadState> snapshot;
  Caller caller;
  proxy::InboundConnectionFacts facts;

  Setup(int applicable, int total, bool allowed)
      : world(MakeWorld(applicable, total)),
        snapshot(MakeSnapshot(world)),
        caller(allowed ? world.matching_client : -1),
        facts{&caller.view, net::IpAddress::Parse("10.1.2.3").value(),
              net::SocketAddress::Parse("10.4.0.6:8080").value()} {}
};

void Args(benchmark::internal::Benchmark* b) {
  b->ArgNames({"applicable", "total", "allowed"});
  b->Args({0, 0, 1});
  b->Args({0, 100, 1});
  b->Args({10, 100, 1});
  b->Args({10, 100, 0});
  b->Args({100, 100, 1});
  b->Args({100, 100, 0});
  b->Args({10, 10000, 1});
}

void BM_DecideInbound(benchmark::State& st) {
  const int applicable = static_cast<int>(st.range(0));
  const bool allowed = st.range(2) != 0;
  const Setup s(applicable, static_cast<int>(st.range(1)), allowed);
  const authz::Decision d = proxy::DecideInbound(*s.snapshot, "", "server", s.facts);
  if (!Expected(d, allowed, applicable, s.world.matching_client)) {
    st.SkipWithError("unexpected decision");
    return;
  }
  for (auto _ : st) {
    benchmark::DoNotOptimize(proxy::DecideInbound(*s.snapshot, "", "server", s.facts));
  }
}
BENCHMARK(BM_DecideInbound)->Apply(Args);

void BM_Evaluate(benchmark::State& st) {
  const int applicable = static_cast<int>(st.range(0));
  const bool allowed = st.range(2) != 0;
  const Setup s(applicable, static_cast<int>(st.range(1)), allowed);
  const state::Workload* target = s.snapshot->FindWorkloadByUid("c//Pod/server/w5");
  const auto* resolved = s.snapshot->FindWorkloadPolicies(*target);
  const authz::PolicySet& empty = authz::PolicyIndex::EmptySet();
  const authz::PolicySet& scoped = resolved != nullptr ? *resolved->scoped : empty;
  const authz::PolicySet& listed = resolved != nullptr ? *resolved->listed : empty;
  const auto conn = authz::PreparedConnection::Prepare(
      s.facts.peer, s.facts.source, s.facts.destination.ip(), s.facts.destination.port());
  if (!Expected(authz::PolicyIndex::Evaluate(scoped, listed, conn), allowed, applicable,
                s.world.matching_client)) {
    st.SkipWithError("unexpected decision");
    return;
  }
  for (auto _ : st) {
    benchmark::DoNotOptimize(authz::PolicyIndex::Evaluate(scoped, listed, conn));
  }
}
BENCHMARK(BM_Evaluate)->Apply(Args);

// One policy changed among |total|: rebuild the index reusing the rest.
void BM_AuthzIndexRebuildOneChange(benchmark::State& st) {
  World w = MakeWorld(10, static_cast<int>(st.range(0)));
  auto index = std::make_unique<authz::PolicyIndex>(w.policies);
  int generation = 0;
  for (auto _ : st) {
    ++generation;
    w.policies["server/applies-001"] = MakePolicy("server", "applies-001", 1, pb::WORKLOAD_SELECTOR,
                                                  pb::ALLOW, false, 9000 + generation % 2);
    auto next = std::make_unique<authz::PolicyIndex>(w.policies, index.get());
    index = std::move(next);
  }
}
BENCHMARK(BM_AuthzIndexRebuildOneChange)->Arg(100)->Arg(10000)->Unit(benchmark::kMicrosecond);

// A whole snapshot of 1,000 workloads with |total| policies (10 applying to
// server/w5), built from the previous one (compiled policies reused): the
// per-update cost, including resolving every workload's policies.
void BM_SnapshotBuild(benchmark::State& st) {
  const int total = static_cast<int>(st.range(0));
  const World w = MakeWorld(std::min(total, 10), total);
  auto previous = MakeSnapshot(w);
  for (auto _ : st) {
    state::WorkloadState::Contents contents = previous->contents();
    auto next = std::make_unique<state::WorkloadState>(std::move(contents), previous.get());
    benchmark::DoNotOptimize(next.get());
    previous = std::move(next);
  }
}
BENCHMARK(BM_SnapshotBuild)->ArgName("policies")->Arg(0)->Arg(100)->Unit(benchmark::kMicrosecond);

}  // namespace
}  // namespace ambit
