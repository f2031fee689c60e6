// Decision: the outcome of L4 authorization for one connection, with the
// policy that decided it (for logs, metrics and the 401 answer).
//
// Value type; |policy| borrows from the PolicyIndex that produced it and is
// valid while that index lives.
#pragma once

#include <string>
#include <string_view>

namespace ambit::authz {

enum class Verdict { kAllow, kDeny };

enum class DecisionReason {
  kNoAllowPolicies,  // allow: no DENY matched and no ALLOW policy applies
  kAllowMatched,     // allow: |policy| is the first ALLOW policy that matched
  kDenyMatched,      // deny: |policy| is the first DENY policy that matched
  kNoAllowMatched,   // deny: ALLOW policies apply but none matched (|policy| empty)
};

struct Decision {
  Verdict verdict = Verdict::kDeny;
  DecisionReason reason = DecisionReason::kNoAllowMatched;
  std::string_view policy;  // "namespace/name" of the deciding policy, or empty

  bool allowed() const { return verdict == Verdict::kAllow; }
};

std::string_view ToString(DecisionReason reason);

// Why a denied connection was denied, in ztunnel's words
// (AuthorizationRejectionError): "explicitly denied by: <namespace>/<name>"
// or "allow policies exist, but none allowed". Empty when allowed.
std::string DenialReason(const Decision& decision);

}  // namespace ambit::authz
