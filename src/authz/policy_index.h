// PolicyIndex: every Authorization resource ztunnel knows, compiled and
// indexed so that a destination workload's applicable policies are found
// without scanning all of them, and the decision for a connection to that
// workload (ztunnel's assert_rbac,
// https://github.com/istio/ztunnel/blob/master/src/state.rs; semantics:
// https://istio.io/latest/docs/reference/config/security/authorization-policy/):
//
//   applicable = GLOBAL-scope policies
//              + NAMESPACE-scope policies of the workload's namespace
//                (together: ScopedPolicies(namespace))
//              + the policies the workload lists by key (selector-scoped;
//                a key not in the index is skipped, as in ztunnel:
//                ListedPolicies(keys))
//   1. any applicable DENY policy matches          -> deny  (that policy)
//   2. no applicable ALLOW policy                  -> allow
//   3. any applicable ALLOW policy matches         -> allow (that policy)
//   4. otherwise                                   -> deny
// Dry-run policies never take part. Within each step global policies are
// tried first, then the namespace's, each in key order, then the workload's
// own keys in the order listed; the order only decides which policy is named,
// never the verdict.
// |policies| keys must be "namespace/name" of their resource (the xDS layer
// checks this); decisions name policies by that key.
//
// The data path resolves a workload's policies once per state snapshot
// (state::WorkloadState keeps a ScopedPolicies / ListedPolicies pair per
// workload) and calls the static Evaluate(scoped, listed, conn): no lookup by
// name, no hashing, no allocation per connection. The forms taking a
// namespace and keys resolve them on every call (a hash lookup per key and
// an allocation): for tests, tools and rare paths.
//
// Policies that fail to compile are kept fail-closed (see
// CompiledPolicy::FailClosed) and listed in errors().
//
// Immutable after construction: every const member is safe from any number
// of threads at once. Build a new index per state snapshot; pass the previous
// one to reuse the compiled form of unchanged policies (same shared_ptr), so
// an update costs O(changed + total pointers), not a recompile.
#pragma once

#include <map>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "authz/compiled_policy.h"
#include "authz/connection.h"
#include "authz/decision.h"
#include "core/result.h"

namespace ambit::authz {

// Key ("namespace/name", the xDS resource name) -> resource; the same shape
// as state::WorkloadState::Contents::policies.
using PolicyMap =
    std::map<std::string, std::shared_ptr<const istio::security::Authorization>, std::less<>>;

// Enforced (not dry-run) policies of one scope, by action, in evaluation
// order. Each policy's gate keys (CompiledPolicy::GateKey) are copied next
// to its pointer, so that turning away the policies a connection's peer
// cannot match reads two contiguous arrays rather than every policy object.
// Borrows the compiled policies from the PolicyIndex that made it.
class PolicySet {
 public:
  // Appends |policy| (not dry-run) to the DENY or ALLOW list.
  void Add(const CompiledPolicy* policy);

  bool empty() const { return deny_.empty() && allow_.empty(); }
  bool has_allow() const { return !allow_.empty(); }
  std::size_t size() const { return deny_.size() + allow_.size(); }

  // The first DENY (ALLOW) policy, in order, that matches |c|; null if none.
  const CompiledPolicy* FirstDenyMatch(const PreparedConnection& c) const {
    return FirstMatch(deny_, c);
  }
  const CompiledPolicy* FirstAllowMatch(const PreparedConnection& c) const {
    return FirstMatch(allow_, c);
  }

 private:
  struct Entry {
    const CompiledPolicy* policy = nullptr;
    std::uint32_t first_key = 0;  // its gate: keys_[first_key, first_key + key_count)
    std::uint16_t key_count = 0;
    bool gated = false;
  };
  const CompiledPolicy* FirstMatch(const std::vector<Entry>& list,
                                   const PreparedConnection& c) const;

  std::vector<Entry> deny_;
  std::vector<Entry> allow_;
  std::vector<CompiledPolicy::GateKey> keys_;
};

class PolicyIndex {
 public:
  // No policies: every connection is allowed.
  PolicyIndex() = default;
  explicit PolicyIndex(const PolicyMap& policies, const PolicyIndex* previous = nullptr);

  PolicyIndex(const PolicyIndex&) = delete;
  PolicyIndex& operator=(const PolicyIndex&) = delete;
  PolicyIndex(PolicyIndex&&) = default;
  PolicyIndex& operator=(PolicyIndex&&) = default;

  // The policies applying to every workload of namespace |ns|: the global
  // ones, then the namespace's, each in key order. Valid while this lives.
  // One hash lookup of |ns|.
  const PolicySet& ScopedPolicies(std::string_view ns) const;
  // The enforced policies among |keys|, in the order listed (unknown keys
  // skipped). A hash lookup per key and an allocation: resolve once per
  // snapshot, not per connection.
  PolicySet ListedPolicies(std::span<const std::string> keys) const;

  // The decision for |conn| to a workload whose scoped and listed policies
  // are |scoped| and |listed| (see the file comment). The data path's form:
  // walks the two sets only; no lookup, no allocation.
  static Decision Evaluate(const PolicySet& scoped, const PolicySet& listed,
                           const PreparedConnection& conn);

  // The decision for |conn| to a workload in |workload_namespace| listing
  // |workload_policies| (Workload::authorization_policies), resolved on
  // this call.
  Decision Evaluate(std::string_view workload_namespace,
                    std::span<const std::string> workload_policies, const Connection& conn) const;
  Decision Evaluate(std::string_view workload_namespace,
                    std::span<const std::string> workload_policies,
                    const PreparedConnection& conn) const;
  // The same evaluation order over |policies| alone (no global or namespace
  // policies join in): e.g. a waypoint enforcing only the policies that
  // target it, as its workload lists them. Resolved on this call.
  Decision EvaluateListed(std::span<const std::string> policies,
                          const PreparedConnection& conn) const;

  // No policies at all (every set is empty).
  static const PolicySet& EmptySet() { return kEmpty; }

  // The compiled policy stored under |key|, or null.
  const CompiledPolicy* Find(std::string_view key) const;

  std::size_t size() const { return by_key_.size(); }
  // Policies that did not compile (enforced fail-closed), with why.
  const std::vector<std::pair<std::string, Error>>& errors() const { return errors_; }

 private:
  struct Entry {
    std::shared_ptr<const istio::security::Authorization> source;  // identity for reuse
    std::shared_ptr<const CompiledPolicy> compiled;
  };
  struct StringHash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const { return std::hash<std::string_view>()(s); }
  };

  std::unordered_map<std::string, Entry, StringHash, std::equal_to<>> by_key_;
  // Per namespace with namespace-scoped policies: ScopedPolicies().
  std::unordered_map<std::string, PolicySet, StringHash, std::equal_to<>> by_namespace_;
  PolicySet global_;  // for namespaces without namespace-scoped policies
  static const PolicySet kEmpty;
  std::vector<std::pair<std::string, Error>> errors_;
};

}  // namespace ambit::authz
