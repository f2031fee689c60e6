// L4 policy evaluation (src/authz): PolicyIndex::Evaluate per inbound
// connection, with 0 / 10 / 100 policies applying to the destination
// workload, on the allow and the deny path, and with 10 applicable among
// 10,000 policies (the index must not scan the rest). Plus the cost of
// rebuilding the index when one policy changes (per control-plane update).
//
// Each applicable policy is realistic for ztunnel: one rule, a `from` clause
// (principal prefix OR namespace) and a `to` clause (ports); half are
// namespace-scoped, half selector-scoped (listed by the workload).
// BM_DecideInbound is ztunnel's whole per-connection decision
// (node::DecideInbound): the destination workload looked up in a state
// snapshot by IP, then its policies evaluated (target: under 1 µs with 100).
#include <benchmark/benchmark.h>

#include <algorithm>
#include <memory>
#include <string>
#include <vector>

#include "authz/policy_index.h"
#include "istio/security/authorization.pb.h"
#include "node/authorization.h"
#include "state/ip_bytes.h"

namespace ambit {
namespace {

namespace pb = istio::security;

// Policy |i| of namespace |ns|: matches callers from namespace "client-<i>"
// on port 8080.
std::shared_ptr<const pb::Authorization> MakePolicy(const std::string& ns, int i, pb::Action action,
                                                    std::uint32_t extra_port = 9090) {
  pb::Authorization p;
  p.set_namespace_(ns);
  p.set_name("policy-" + std::to_string(i));
  p.set_scope(i % 2 == 0 ? pb::NAMESPACE : pb::WORKLOAD_SELECTOR);
  p.set_action(action);
  auto* rule = p.add_rules();
  auto* from = rule->add_clauses()->add_matches();
  from->add_principals()->set_prefix("cluster.local/ns/client-" + std::to_string(i) + "/sa/");
  auto* from_ns = rule->mutable_clauses(0)->add_matches();
  from_ns->add_namespaces()->set_exact("client-" + std::to_string(i) + "-legacy");
  auto* to = rule->add_clauses()->add_matches();
  to->add_destination_ports(8080);
  to->add_destination_ports(extra_port);
  return std::make_shared<const pb::Authorization>(std::move(p));
}

struct World {
  authz::PolicyMap policies;
  std::vector<std::string> workload_keys;  // selector-scoped ones of the target
};

// |applicable| policies apply to a workload in "server"; |total| - applicable
// more live in other namespaces.
World MakeWorld(int applicable, int total, pb::Action action) {
  World w;
  for (int i = 0; i < applicable; ++i) {
    auto p = MakePolicy("server", i, action);
    const std::string key = "server/" + p->name();
    if (p->scope() == pb::WORKLOAD_SELECTOR) w.workload_keys.push_back(key);
    w.policies[key] = std::move(p);
  }
  for (int i = applicable; i < total; ++i) {
    auto p = MakePolicy("other-" + std::to_string(i % 1000), i, action);
    w.policies[p->namespace_() + "/" + p->name()] = std::move(p);
  }
  return w;
}

// The policy checked last among |n| applicable ones: namespace-scoped (even)
// policies come first, then the workload's selector-scoped (odd) keys.
int LastChecked(int n) { return n % 2 == 0 ? n - 1 : std::max(n - 2, 0); }

// A caller that matches exactly policy |i| or, with i < 0, none.
authz::Connection Caller(int i) {
  authz::Connection c;
  const std::string ns = i < 0 ? "stranger" : "client-" + std::to_string(i);
  c.peer = authz::Peer::FromIdentity(identity::SpiffeId("cluster.local", ns, "app"));
  c.source_ip = net::IpAddress::Parse("10.1.2.3").value();
  c.destination_ip = net::IpAddress::Parse("10.4.5.6").value();
  c.destination_port = 8080;
  return c;
}

// Checks the decision once (allowed?, deciding policy number or -1), then times it.
void Run(benchmark::State& st, const World& w, const authz::Connection& conn, bool want_allowed,
         int want_policy) {
  authz::PolicyIndex index(w.policies);
  const authz::Decision d = index.Evaluate("server", w.workload_keys, conn);
  const std::string want_name = want_policy < 0 ? "" : "server/policy-" + std::to_string(want_policy);
  if (d.allowed() != want_allowed || d.policy != want_name) {
    st.SkipWithError("unexpected decision");
    return;
  }
  for (auto _ : st) {
    benchmark::DoNotOptimize(index.Evaluate("server", w.workload_keys, conn));
  }
}

// Allow path: ALLOW policies apply; the caller matches the last one checked
// (a selector-scoped one, evaluated after the namespace bucket). With 0
// policies the answer is "no ALLOW policy applies".
void BM_AuthzAllow(benchmark::State& st) {
  const int n = static_cast<int>(st.range(0));
  World w = MakeWorld(n, static_cast<int>(st.range(1)), pb::ALLOW);
  Run(st, w, Caller(n == 0 ? -1 : LastChecked(n)), true, n == 0 ? -1 : LastChecked(n));
}
BENCHMARK(BM_AuthzAllow)->ArgNames({"policies", "total"})
    ->Args({0, 0})->Args({10, 10})->Args({100, 100})->Args({10, 10000});

// Deny path, explicit: DENY policies apply; the caller matches the last one.
void BM_AuthzDenyMatched(benchmark::State& st) {
  const int n = static_cast<int>(st.range(0));
  World w = MakeWorld(n, static_cast<int>(st.range(1)), pb::DENY);
  Run(st, w, Caller(LastChecked(n)), false, LastChecked(n));
}
BENCHMARK(BM_AuthzDenyMatched)->ArgNames({"policies", "total"})
    ->Args({1, 1})->Args({10, 10})->Args({100, 100})->Args({10, 10000});

// Deny path, implicit: ALLOW policies apply and none matches (every policy
// is checked). With 0 policies nothing denies: same as the allow path.
void BM_AuthzNoAllowMatched(benchmark::State& st) {
  const int n = static_cast<int>(st.range(0));
  World w = MakeWorld(n, static_cast<int>(st.range(1)), pb::ALLOW);
  Run(st, w, Caller(-1), n == 0, -1);
}
BENCHMARK(BM_AuthzNoAllowMatched)->ArgNames({"policies", "total"})
    ->Args({0, 0})->Args({10, 10})->Args({100, 100})->Args({10, 10000});

// One policy changed among |total|: rebuild the index reusing the rest.
void BM_AuthzIndexRebuildOneChange(benchmark::State& st) {
  const int total = static_cast<int>(st.range(0));
  World w = MakeWorld(10, total, pb::ALLOW);
  auto index = std::make_unique<authz::PolicyIndex>(w.policies);
  int generation = 0;
  for (auto _ : st) {
    ++generation;
    w.policies["server/policy-0"] = MakePolicy("server", 0, pb::ALLOW, 9000 + generation % 2);
    auto next = std::make_unique<authz::PolicyIndex>(w.policies, index.get());
    index = std::move(next);
  }
}
BENCHMARK(BM_AuthzIndexRebuildOneChange)->Arg(100)->Arg(10000)->Unit(benchmark::kMicrosecond);

// ztunnel's decision for one inbound connection, as the data path makes it:
// a snapshot with |n| policies applying to the destination workload (and
// |total| in all), the workload found by the destination IP among 1,000.
void BM_DecideInbound(benchmark::State& st) {
  const int n = static_cast<int>(st.range(0));
  World w = MakeWorld(n, static_cast<int>(st.range(1)), pb::ALLOW);
  state::WorkloadState::Contents contents;
  for (int i = 0; i < 1000; ++i) {
    auto wl = std::make_shared<state::Workload>();
    wl->uid = "c//Pod/server/w" + std::to_string(i);
    wl->name = "w" + std::to_string(i);
    wl->ns = "server";
    wl->addresses = {*state::PackIp("10.4." + std::to_string(i / 250) + "." +
                                    std::to_string(i % 250 + 1))};
    if (i == 5) wl->authorization_policies = w.workload_keys;  // 10.4.0.6
    contents.workloads[wl->uid] = std::move(wl);
  }
  contents.policies = w.policies;
  state::WorkloadState snapshot(std::move(contents));
  const int want = n == 0 ? -1 : LastChecked(n);
  const identity::SpiffeId id("cluster.local", want < 0 ? "stranger" : "client-" + std::to_string(want),
                              "app");
  const std::string principal = id.Principal();
  const authz::PeerView peer = authz::PeerView::Of(id, principal);
  const node::InboundConnectionFacts facts{&peer, net::IpAddress::Parse("10.1.2.3").value(),
                                           net::SocketAddress::Parse("10.4.0.6:8080").value()};
  const authz::Decision d = node::DecideInbound(snapshot, "", "server", facts);
  if (!d.allowed() || (want >= 0 && d.policy != "server/policy-" + std::to_string(want))) {
    st.SkipWithError("unexpected decision");
    return;
  }
  for (auto _ : st) {
    benchmark::DoNotOptimize(node::DecideInbound(snapshot, "", "server", facts));
  }
}
BENCHMARK(BM_DecideInbound)->ArgNames({"policies", "total"})
    ->Args({0, 0})->Args({100, 100})->Args({100, 10000});

}  // namespace
}  // namespace ambit
