#include "redirect/rule_set.h"

#include <fmt/format.h>

#include <vector>

#include "core/log.h"
#include "redirect/iptables_rules.h"
#include "redirect/netns_exec.h"
#include "redirect/nftables_rules.h"
#include "redirect/policy_routes.h"

namespace ambit::redirect {
namespace {

std::vector<IpFamily> Families(const RedirectOptions& options) {
  if (options.ipv6) return {IpFamily::kV4, IpFamily::kV6};
  return {IpFamily::kV4};
}

std::vector<std::string> PrependIp(const IpArgs& args) {
  std::vector<std::string> argv{"ip"};
  argv.insert(argv.end(), args.begin(), args.end());
  return argv;
}

std::string Trim(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ' || s.back() == '\r')) s.pop_back();
  return s;
}

// Runs commands inside one netns; errors name the namespace, the command and
// what it printed.
class NetnsRunner {
 public:
  explicit NetnsRunner(const Netns& netns) : netns_(netns) {}

  Result<CommandOutput> Run(const std::vector<std::string>& argv, std::string_view input = {}) const {
    auto out = RunInNetns(netns_.fd(), argv, input);
    if (!out.ok()) return std::move(out).error().WithContext("pod netns " + netns_.path());
    return out;
  }

  // Like Run, but a non-zero exit is an error carrying stderr (and the script).
  Result<std::string> RunOk(const std::vector<std::string>& argv, std::string_view input = {}) const {
    AMBIT_ASSIGN_OR_RETURN(CommandOutput out, Run(argv, input));
    if (out.exit_code != 0) return Failed(argv, out);
    return std::move(out.out);
  }

  Error Failed(const std::vector<std::string>& argv, const CommandOutput& out) const {
    std::string output = Trim(out.err.empty() ? out.out : out.err);
    return Error(ErrorCode::kIo, fmt::format("pod netns {}: `{}` exited with status {}: {}", netns_.path(),
                                             CommandLine(argv), out.exit_code,
                                             output.empty() ? "(no output)" : output));
  }

 private:
  const Netns& netns_;
};

std::string SaveTool(IpFamily f) { return f == IpFamily::kV6 ? "ip6tables-save" : "iptables-save"; }
std::string RestoreTool(IpFamily f) { return f == IpFamily::kV6 ? "ip6tables-restore" : "iptables-restore"; }

Result<IptablesState> SaveIptables(const NetnsRunner& run, IpFamily family) {
  AMBIT_ASSIGN_OR_RETURN(std::string text, run.RunOk({SaveTool(family)}));
  return ParseIptablesSave(text);
}

Status RestoreIptables(const NetnsRunner& run, IpFamily family, const std::string& script) {
  if (script.empty()) return Ok();
  auto out = run.RunOk({RestoreTool(family), "--noflush"}, script);
  if (!out.ok()) return std::move(out).error().WithContext("applying script:\n" + script);
  return Ok();
}

struct RulesState {
  bool present = false;
  bool current = false;
};

Result<RulesState> InspectRules(const NetnsRunner& run, const RedirectOptions& options) {
  RulesState state{false, true};
  if (options.backend == Backend::kNftables) {
    const auto wanted = NftablesTables(options);
    for (std::string_view name : kNftTableNames) {
      std::vector<std::string> argv{"nft", "-s", "list", "table", "inet", std::string(name)};
      AMBIT_ASSIGN_OR_RETURN(CommandOutput out, run.Run(argv));
      const bool exists = out.exit_code == 0;
      if (!exists && out.err.find("No such file or directory") == std::string::npos) return run.Failed(argv, out);
      const NftTable* want = nullptr;
      for (const auto& t : wanted) {
        if (t.name == name) want = &t;
      }
      state.present = state.present || exists;
      if (want == nullptr ? exists : (!exists || !SameNftListing(out.out, want->listing))) state.current = false;
    }
    return state;
  }
  for (IpFamily family : Families(options)) {
    AMBIT_ASSIGN_OR_RETURN(IptablesState saved, SaveIptables(run, family));
    state.present = state.present || !OwnedIptablesRules(saved).empty();
    if (!IptablesUpToDate(IptablesRules(options, family), saved)) state.current = false;
  }
  return state;
}

Status ApplyRules(const NetnsRunner& run, const RedirectOptions& options) {
  if (options.backend == Backend::kNftables) {
    const std::string script = NftablesInstallScript(options);
    auto out = run.RunOk({"nft", "-f", "-"}, script);
    if (!out.ok()) return std::move(out).error();
    return Ok();
  }
  for (IpFamily family : Families(options)) {
    AMBIT_ASSIGN_OR_RETURN(IptablesState saved, SaveIptables(run, family));
    AMBIT_RETURN_IF_ERROR(RestoreIptables(run, family, IptablesRestoreScript(IptablesRules(options, family), saved)));
  }
  return Ok();
}

Status RemoveRules(const NetnsRunner& run, const RedirectOptions& options) {
  if (options.backend == Backend::kNftables) {
    auto out = run.RunOk({"nft", "-f", "-"}, NftablesRemoveScript());
    if (!out.ok()) return std::move(out).error();
    return Ok();
  }
  // Only families whose tools exist in use: v6 cleanup runs when v6 was asked for.
  for (IpFamily family : Families(options)) {
    AMBIT_ASSIGN_OR_RETURN(IptablesState saved, SaveIptables(run, family));
    AMBIT_RETURN_IF_ERROR(RestoreIptables(run, family, IptablesRestoreScript({}, saved)));
  }
  return Ok();
}

struct RoutesState {
  bool rule = false;
  bool route = false;
};

Result<RoutesState> InspectRoutes(const NetnsRunner& run, IpFamily family) {
  RoutesState state;
  AMBIT_ASSIGN_OR_RETURN(std::string rules, run.RunOk(PrependIp(PolicyRuleQuery(family))));
  AMBIT_ASSIGN_OR_RETURN(state.rule, HasPolicyRule(rules));
  auto argv = PrependIp(PolicyRouteQuery(family));
  AMBIT_ASSIGN_OR_RETURN(CommandOutput routes, run.Run(argv));
  if (routes.exit_code != 0) {
    // A table that never had a route does not exist yet.
    if (routes.err.find("does not exist") == std::string::npos) return run.Failed(argv, routes);
    return state;
  }
  AMBIT_ASSIGN_OR_RETURN(state.route, HasPolicyRoute(routes.out));
  return state;
}

Status AddMissingRoutes(const NetnsRunner& run, const RedirectOptions& options) {
  for (IpFamily family : Families(options)) {
    AMBIT_ASSIGN_OR_RETURN(RoutesState state, InspectRoutes(run, family));
    const auto commands = PolicyRouteAddCommands(family);  // [0] rule, [1] route
    if (!state.rule) AMBIT_RETURN_IF_ERROR(run.RunOk(PrependIp(commands[0])));
    if (!state.route) AMBIT_RETURN_IF_ERROR(run.RunOk(PrependIp(commands[1])));
  }
  return Ok();
}

Status RemoveRoutes(const NetnsRunner& run, const RedirectOptions& options) {
  for (IpFamily family : Families(options)) {
    // A rule may have been added more than once by someone else; bounded loop.
    for (int i = 0; i < 8; ++i) {
      AMBIT_ASSIGN_OR_RETURN(RoutesState state, InspectRoutes(run, family));
      if (!state.rule && !state.route) break;
      if (state.rule) AMBIT_RETURN_IF_ERROR(run.RunOk(PrependIp(PolicyRuleDelete(family))));
      if (state.route) AMBIT_RETURN_IF_ERROR(run.RunOk(PrependIp(PolicyRouteDelete(family))));
    }
  }
  return Ok();
}

Result<RedirectionState> Inspect(const NetnsRunner& run, const RedirectOptions& options) {
  RedirectionState state;
  AMBIT_ASSIGN_OR_RETURN(RulesState rules, InspectRules(run, options));
  state.rules_present = rules.present;
  state.rules_current = rules.current;
  state.routes_current = true;
  for (IpFamily family : Families(options)) {
    AMBIT_ASSIGN_OR_RETURN(RoutesState routes, InspectRoutes(run, family));
    state.routes_present = state.routes_present || routes.rule || routes.route;
    state.routes_current = state.routes_current && routes.rule && routes.route;
  }
  return state;
}

// Brings the netns to the wanted state; reports whether anything changed.
Result<bool> Converge(const NetnsRunner& run, const RedirectOptions& options) {
  AMBIT_ASSIGN_OR_RETURN(RedirectionState state, Inspect(run, options));
  if (!state.rules_current) AMBIT_RETURN_IF_ERROR(ApplyRules(run, options));
  if (!state.routes_current) AMBIT_RETURN_IF_ERROR(AddMissingRoutes(run, options));
  return !state.rules_current || !state.routes_current;
}

}  // namespace

Result<RedirectionState> InspectRedirection(const Netns& netns, const RedirectOptions& options) {
  return Inspect(NetnsRunner(netns), options);
}

Status RemoveRedirection(const Netns& netns, const RedirectOptions& options) {
  NetnsRunner run(netns);
  Status rules = RemoveRules(run, options);
  Status routes = RemoveRoutes(run, options);  // attempted even if the rules failed
  if (!rules.ok()) return rules;
  return routes;
}

Result<RuleSet> RuleSet::Install(Netns netns, const RedirectOptions& options) {
  RuleSet set(std::move(netns), options);
  NetnsRunner run(set.netns_);
  auto changed = Converge(run, options);
  if (!changed.ok()) {
    Status cleanup = RemoveRedirection(set.netns_, options);
    Error error = std::move(changed).error();
    if (!cleanup.ok()) error.WithContext("(cleanup after the failure also failed: " + cleanup.error().ToString() + ")");
    return std::move(error).WithContext(fmt::format("installing {} redirection", ToString(options.backend)));
  }
  set.installed_ = true;
  return set;
}

Result<RuleSet> RuleSet::Install(const std::string& netns_path, const RedirectOptions& options) {
  AMBIT_ASSIGN_OR_RETURN(Netns netns, Netns::Open(netns_path));
  return Install(std::move(netns), options);
}

Result<ReconcileOutcome> RuleSet::Reconcile() {
  if (!installed_) return Error(ErrorCode::kInvalidArgument, "reconcile of a removed rule set in " + netns_.path());
  AMBIT_ASSIGN_OR_RETURN(bool changed, Converge(NetnsRunner(netns_), options_));
  return changed ? ReconcileOutcome::kRepaired : ReconcileOutcome::kUnchanged;
}

Status RuleSet::Remove() {
  if (!installed_) return Ok();
  AMBIT_RETURN_IF_ERROR(RemoveRedirection(netns_, options_));
  installed_ = false;
  return Ok();
}

RuleSet::~RuleSet() {
  Status removed = Remove();
  if (!removed.ok()) AMBIT_LOG_ERROR("removing redirection rules: {}", removed.error().ToString());
}

RuleSet::RuleSet(RuleSet&& other) noexcept
    : netns_(std::move(other.netns_)), options_(other.options_), installed_(std::exchange(other.installed_, false)) {}

RuleSet& RuleSet::operator=(RuleSet&& other) noexcept {
  if (this != &other) {
    Status removed = Remove();
    if (!removed.ok()) AMBIT_LOG_ERROR("removing redirection rules: {}", removed.error().ToString());
    netns_ = std::move(other.netns_);
    options_ = other.options_;
    installed_ = std::exchange(other.installed_, false);
  }
  return *this;
}

}  // namespace ambit::redirect
