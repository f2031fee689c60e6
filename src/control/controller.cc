#include "control/controller.h"

#include "config/parse.h"
#include "core/log.h"

namespace ambit::control {

Controller::Controller(Store* store, Reconciler* reconciler, PlanContext context)
    : store_(store), reconciler_(reconciler), context_(std::move(context)) {}

Result<Manifests> Controller::Parse(const std::vector<ManifestText>& manifests,
                                    std::vector<std::string>* warnings) const {
  Manifests out;
  std::vector<config::Diagnostic> errors;
  for (const auto& m : manifests) {
    config::ParseResult parsed = config::ParseManifests(m.content, m.source);
    for (auto& d : parsed.diagnostics) {
      if (d.severity == config::Severity::kError)
        errors.push_back(std::move(d));
      else
        warnings->push_back(d.ToString());
    }
    for (size_t i = 0; i < parsed.resources.size(); ++i) {
      out.resources.push_back(std::move(parsed.resources[i]));
      out.origins.push_back(parsed.origins[i]);
    }
  }
  if (!errors.empty()) return Error(ErrorCode::kInvalidArgument, config::FormatDiagnostics(errors));
  if (out.resources.empty()) {
    return Error(ErrorCode::kInvalidArgument, "no resources found in the input");
  }
  return out;
}

Result<Outcome> Controller::Apply(const std::vector<ManifestText>& manifests) {
  Outcome outcome;
  AMBIT_ASSIGN_OR_RETURN(Manifests input, Parse(manifests, &outcome.warnings));
  std::lock_guard lock(mu_);
  auto current = store_->Snapshot();
  AMBIT_ASSIGN_OR_RETURN(outcome.plan, PlanApply(*current, input, context_));
  AMBIT_RETURN_IF_ERROR(store_->Commit(outcome.plan.next));
  reconciler_->Kick();
  return outcome;
}

Result<Outcome> Controller::Delete(const std::vector<ManifestText>& manifests,
                                   bool ignore_not_found) {
  Outcome outcome;
  AMBIT_ASSIGN_OR_RETURN(Manifests input, Parse(manifests, &outcome.warnings));
  std::lock_guard lock(mu_);
  auto current = store_->Snapshot();
  AMBIT_ASSIGN_OR_RETURN(outcome.plan, PlanDelete(*current, input, ignore_not_found));
  AMBIT_RETURN_IF_ERROR(store_->Commit(outcome.plan.next));
  reconciler_->Kick();
  return outcome;
}

}  // namespace ambit::control
