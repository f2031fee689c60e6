// RuleSet: the in-pod redirection rules and policy routes of one pod netns, as
// an owned resource. Install() applies them in one transaction per tool
// (`nft -f -`, or `iptables-restore --noflush` per family) from a forked child
// that entered the pod netns; Remove() or the destructor takes them all away.
//
// Thread-safety: a RuleSet is not synchronised; use one from one thread at a
// time. Different RuleSets may be used concurrently. No call changes the
// calling thread's network namespace.
//
// Failure: every error names the pod netns and the failing command with its
// output. A failed Install leaves nothing behind (it removes what it added).
#pragma once

#include <string>

#include "core/netns.h"
#include "core/result.h"
#include "redirect/options.h"

namespace ambit::redirect {

enum class ReconcileOutcome {
  kUnchanged,  // everything was already exactly as wanted
  kRepaired,   // something was missing or had drifted and was reapplied
};

// What is present in a netns, for either backend.
struct RedirectionState {
  bool rules_present = false;   // any of our tables (nft) or chains/jumps (iptables)
  bool rules_current = false;   // the rules are exactly the wanted ones
  bool routes_present = false;  // any of our policy rules/routes
  bool routes_current = false;  // all wanted policy rules/routes are there
};

class RuleSet {
 public:
  // Installs (or repairs, if something of ours is there already) the rule set
  // and policy routes into |netns|.
  static Result<RuleSet> Install(Netns netns, const RedirectOptions& options);
  static Result<RuleSet> Install(const std::string& netns_path, const RedirectOptions& options);

  // Makes the netns match again (idempotent): inspects, and reapplies only when
  // something is missing or different.
  Result<ReconcileOutcome> Reconcile();

  // Removes everything this rule set installed. Idempotent; after a success the
  // destructor does nothing. On error the RuleSet still owns the rules.
  Status Remove();

  // Gives up ownership without removing anything: the rules stay in the netns
  // (for a node agent that stops while its pods keep running; a successor's
  // Install adopts them). Afterwards the destructor does nothing.
  void Abandon() { installed_ = false; }

  // Calls Remove(); a failure is logged (a destructor cannot report it).
  ~RuleSet();
  RuleSet(RuleSet&& other) noexcept;
  RuleSet& operator=(RuleSet&& other) noexcept;
  RuleSet(const RuleSet&) = delete;
  RuleSet& operator=(const RuleSet&) = delete;

  const Netns& netns() const { return netns_; }
  const RedirectOptions& options() const { return options_; }
  bool installed() const { return installed_; }

 private:
  RuleSet(Netns netns, RedirectOptions options) : netns_(std::move(netns)), options_(options) {}

  Netns netns_;
  RedirectOptions options_;
  bool installed_ = false;
};

// Free functions for namespaces without a RuleSet object (e.g. after the node
// agent restarted): inspect, and remove everything of |backend| plus routes.
Result<RedirectionState> InspectRedirection(const Netns& netns, const RedirectOptions& options);
Status RemoveRedirection(const Netns& netns, const RedirectOptions& options);

}  // namespace ambit::redirect
