// Fuzzes L4 authorization with arbitrary istio.security.Authorization bytes
// (the resource arrives over xDS): parse, compile, index, evaluate.
//
// Properties checked (abort on violation): no crash; a compiled policy agrees
// with the naive proto interpreter on a fixed set of connections; the index
// enforces it (a matching enforced DENY denies, naming it; an enforced ALLOW
// alone allows exactly what it matches); a policy that does not compile is
// enforced fail-closed.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <vector>

#include "../../unit/authz/reference_matcher.h"
#include "authz/compiled_policy.h"
#include "authz/policy_index.h"

namespace {

using namespace ambit;  // NOLINT(google-build-using-namespace)

void Check(bool ok) {
  if (!ok) std::abort();
}

net::IpAddress Ip(const char* text) { return net::IpAddress::Parse(text).value(); }

std::vector<authz::Connection> Connections() {
  std::vector<authz::Connection> out;
  const char* ips[] = {"10.0.0.1", "10.0.1.1", "0.0.0.0", "255.255.255.255", "fd00::1", "::"};
  const std::uint16_t ports[] = {80, 8080, 0, 65535};
  int i = 0;
  for (const char* src : ips) {
    for (const char* dst : {"10.0.1.1", "fd00::2"}) {
      authz::Connection c;
      c.source_ip = Ip(src);
      c.destination_ip = Ip(dst);
      c.destination_port = ports[i++ % 4];
      if (i % 3 != 0) {
        c.peer = authz::Peer::FromIdentity(identity::SpiffeId("cluster.local", i % 2 ? "ns" : "shop", "sa"));
      }
      out.push_back(c);
    }
  }
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const std::vector<authz::Connection> kConns = Connections();
  istio::security::Authorization proto;
  if (!proto.ParseFromArray(data, static_cast<int>(size))) return 0;
  // Pin the key and scope so the index applies it to namespace "ns" workloads
  // that list it; keep the fuzzed action, rules and dry-run flag.
  proto.set_namespace_("ns");
  proto.set_name("p");
  if (!istio::security::Scope_IsValid(proto.scope())) proto.set_scope(istio::security::WORKLOAD_SELECTOR);

  auto compiled = authz::CompiledPolicy::Compile(proto);
  authz::PolicyMap map;
  map["ns/p"] = std::make_shared<const istio::security::Authorization>(proto);
  authz::PolicyIndex index(map);
  const std::vector<std::string> keys = {"ns/p"};
  Check(index.size() == 1 && index.Find("ns/p") != nullptr);
  Check(index.errors().size() == (compiled.ok() ? 0u : 1u));

  for (const authz::Connection& conn : kConns) {
    const authz::Decision d = index.Evaluate("ns", keys, conn);
    if (!compiled.ok()) {
      if (proto.dry_run()) {
        Check(d.allowed());
      } else if (proto.action() == istio::security::ALLOW) {
        Check(!d.allowed() && d.reason == authz::DecisionReason::kNoAllowMatched);
      } else {
        Check(!d.allowed() && d.policy == "ns/p");
      }
      continue;
    }
    const bool matches = authz::testing::RefPolicyMatches(proto, conn);
    Check(compiled->Matches(conn) == matches);
    if (proto.dry_run()) {
      Check(d.allowed() && d.reason == authz::DecisionReason::kNoAllowPolicies);
    } else if (proto.action() == istio::security::DENY) {
      Check(d.allowed() == !matches);
      if (matches) Check(d.policy == "ns/p");
    } else {
      Check(d.allowed() == matches);
    }
  }
  return 0;
}
