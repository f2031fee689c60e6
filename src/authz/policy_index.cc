#include "authz/policy_index.h"

#include "istio/security/authorization.pb.h"

namespace ambit::authz {

std::string_view ToString(DecisionReason reason) {
  switch (reason) {
    case DecisionReason::kNoAllowPolicies: return "no ALLOW policy applies";
    case DecisionReason::kAllowMatched: return "an ALLOW policy matched";
    case DecisionReason::kDenyMatched: return "a DENY policy matched";
    case DecisionReason::kNoAllowMatched: return "no ALLOW policy matched";
  }
  return "unknown";
}

std::string DenialReason(const Decision& decision) {
  if (decision.allowed()) return {};
  if (decision.reason == DecisionReason::kDenyMatched) {
    return "explicitly denied by: " + std::string(decision.policy);
  }
  return "allow policies exist, but none allowed";
}

void PolicySet::Add(const CompiledPolicy* policy) {
  Entry e;
  e.policy = policy;
  e.gated = policy->gated();
  e.first_key = static_cast<std::uint32_t>(keys_.size());
  e.key_count = static_cast<std::uint16_t>(policy->gate_keys().size());
  keys_.insert(keys_.end(), policy->gate_keys().begin(), policy->gate_keys().end());
  (policy->action() == Action::kDeny ? deny_ : allow_).push_back(e);
}

const CompiledPolicy* PolicySet::FirstMatch(const std::vector<Entry>& list,
                                            const PreparedConnection& c) const {
  for (const Entry& e : list) {
    if (e.gated &&
        !CompiledPolicy::GateAdmits(std::span(keys_.data() + e.first_key, e.key_count), c)) {
      continue;
    }
    if (e.policy->MatchesPastGate(c)) return e.policy;
  }
  return nullptr;
}

PolicyIndex::PolicyIndex(const PolicyMap& policies, const PolicyIndex* previous) {
  by_key_.reserve(policies.size());
  std::vector<const CompiledPolicy*> in_key_order;
  in_key_order.reserve(policies.size());
  for (const auto& [key, proto] : policies) {
    if (proto == nullptr) continue;
    Entry entry{proto, nullptr};
    if (previous != nullptr) {
      auto it = previous->by_key_.find(key);
      if (it != previous->by_key_.end() && it->second.source == proto) {
        entry.compiled = it->second.compiled;
        for (const auto& [bad_key, error] : previous->errors_) {
          if (bad_key == key) errors_.emplace_back(key, error);
        }
      }
    }
    if (entry.compiled == nullptr) {
      auto compiled = CompiledPolicy::Compile(*proto);
      if (compiled.ok()) {
        entry.compiled = std::make_shared<const CompiledPolicy>(std::move(compiled).value());
      } else {
        errors_.emplace_back(key, compiled.error());
        entry.compiled = std::make_shared<const CompiledPolicy>(CompiledPolicy::FailClosed(*proto));
      }
    }
    in_key_order.push_back(entry.compiled.get());
    by_key_.emplace(key, std::move(entry));
  }

  // Buckets, in key order: global first into every bucket, then each
  // namespace's own.
  auto add = [](PolicySet& b, const CompiledPolicy* p) { b.Add(p); };
  for (const CompiledPolicy* p : in_key_order) {
    if (!p->dry_run() && p->scope() == Scope::kGlobal) add(global_, p);
  }
  for (const CompiledPolicy* p : in_key_order) {
    if (p->dry_run() || p->scope() != Scope::kNamespace) continue;
    auto [bucket, inserted] = by_namespace_.try_emplace(p->ns());
    if (inserted) bucket->second = global_;
    add(bucket->second, p);
  }
}

const CompiledPolicy* PolicyIndex::Find(std::string_view key) const {
  auto it = by_key_.find(key);
  return it == by_key_.end() ? nullptr : it->second.compiled.get();
}

const PolicySet& PolicyIndex::ScopedPolicies(std::string_view ns) const {
  auto it = by_namespace_.find(ns);
  return it == by_namespace_.end() ? global_ : it->second;
}

PolicySet PolicyIndex::ListedPolicies(std::span<const std::string> keys) const {
  PolicySet out;
  for (const std::string& key : keys) {
    const CompiledPolicy* p = Find(key);
    if (p == nullptr || p->dry_run()) continue;
    out.Add(p);
  }
  return out;
}

const PolicySet PolicyIndex::kEmpty{};

Decision PolicyIndex::Evaluate(std::string_view workload_namespace,
                               std::span<const std::string> workload_policies,
                               const Connection& conn) const {
  return Evaluate(ScopedPolicies(workload_namespace), ListedPolicies(workload_policies),
                  PreparedConnection::Prepare(conn));
}

Decision PolicyIndex::Evaluate(std::string_view workload_namespace,
                               std::span<const std::string> workload_policies,
                               const PreparedConnection& conn) const {
  return Evaluate(ScopedPolicies(workload_namespace), ListedPolicies(workload_policies), conn);
}

Decision PolicyIndex::EvaluateListed(std::span<const std::string> policies,
                                     const PreparedConnection& conn) const {
  return Evaluate(kEmpty, ListedPolicies(policies), conn);
}

Decision PolicyIndex::Evaluate(const PolicySet& scoped, const PolicySet& listed,
                               const PreparedConnection& c) {
  // 1. DENY: scoped, then listed.
  const CompiledPolicy* p = scoped.FirstDenyMatch(c);
  if (p == nullptr) p = listed.FirstDenyMatch(c);
  if (p != nullptr) return {Verdict::kDeny, DecisionReason::kDenyMatched, p->key()};
  // 2. No ALLOW policy applies.
  if (!scoped.has_allow() && !listed.has_allow()) {
    return {Verdict::kAllow, DecisionReason::kNoAllowPolicies, {}};
  }
  // 3. ALLOW.
  p = scoped.FirstAllowMatch(c);
  if (p == nullptr) p = listed.FirstAllowMatch(c);
  if (p != nullptr) return {Verdict::kAllow, DecisionReason::kAllowMatched, p->key()};
  // 4.
  return {Verdict::kDeny, DecisionReason::kNoAllowMatched, {}};
}

}  // namespace ambit::authz
