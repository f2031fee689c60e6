// PolicyIndex: every Authorization resource ztunnel knows, compiled and
// indexed so that a destination workload's applicable policies are found
// without scanning all of them, and the decision for a connection to that
// workload (reference/ztunnel.md §6, ztunnel's assert_rbac):
//
//   applicable = GLOBAL-scope policies
//              + NAMESPACE-scope policies of the workload's namespace
//              + the policies the workload lists by key (selector-scoped;
//                a key not in the index is skipped, as in ztunnel)
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
// Policies that fail to compile are kept fail-closed (see
// CompiledPolicy::FailClosed) and listed in errors().
//
// Immutable after construction: Evaluate() is safe from any number of threads
// at once and does not allocate. Build a new index per state snapshot; pass the
// previous one to reuse the compiled form of unchanged policies (same
// shared_ptr), so an update costs O(changed + total pointers), not a recompile.
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

class PolicyIndex {
 public:
  // No policies: every connection is allowed.
  PolicyIndex() = default;
  explicit PolicyIndex(const PolicyMap& policies, const PolicyIndex* previous = nullptr);

  PolicyIndex(const PolicyIndex&) = delete;
  PolicyIndex& operator=(const PolicyIndex&) = delete;
  PolicyIndex(PolicyIndex&&) = default;
  PolicyIndex& operator=(PolicyIndex&&) = default;

  // The decision for |conn| to a workload in |workload_namespace| listing
  // |workload_policies| (Workload::authorization_policies).
  Decision Evaluate(std::string_view workload_namespace,
                    std::span<const std::string> workload_policies, const Connection& conn) const;
  // Same, for a connection prepared by the caller (no string copied: the
  // data path's form).
  Decision Evaluate(std::string_view workload_namespace,
                    std::span<const std::string> workload_policies,
                    const PreparedConnection& conn) const;
  // The same evaluation order over |policies| alone (no global or namespace
  // policies join in): e.g. a waypoint enforcing only the policies that
  // target it, as its workload lists them.
  Decision EvaluateListed(std::span<const std::string> policies,
                          const PreparedConnection& conn) const;

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
  // Enforced policies applying to every workload of one namespace (global
  // ones included), by action, ordered by key.
  struct Bucket {
    std::vector<const CompiledPolicy*> deny;
    std::vector<const CompiledPolicy*> allow;
  };
  struct StringHash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const { return std::hash<std::string_view>()(s); }
  };

  const Bucket& BucketFor(std::string_view ns) const;
  Decision Evaluate(const Bucket& bucket, std::span<const std::string> workload_policies,
                    const PreparedConnection& conn) const;

  std::unordered_map<std::string, Entry, StringHash, std::equal_to<>> by_key_;
  std::unordered_map<std::string, Bucket, StringHash, std::equal_to<>> by_namespace_;
  Bucket global_;  // for namespaces without namespace-scoped policies
  static const Bucket kEmpty;
  std::vector<std::pair<std::string, Error>> errors_;
};

}  // namespace ambit::authz
