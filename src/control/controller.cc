#include "control/controller.h"

#include <map>
#include <set>

#include "config/mesh_config.h"
#include "config/parse.h"
#include "config/support.h"
#include "control/mesh_scope.h"
#include "control/model_input.h"
#include "core/log.h"
#include "model/authorization.h"
#include "model/route_tables.h"

namespace ambit::control {

Controller::Controller(Store* store, Reconciler* reconciler, PlanContext context,
                       config::AnalysisContext analysis, MeshScope* scope)
    : store_(store),
      reconciler_(reconciler),
      context_(std::move(context)),
      analysis_(std::move(analysis)),
      scope_(scope) {}

namespace {

// One warning per unenforced kind/field the input uses.
void AddSupportWarnings(const Manifests& input, std::vector<std::string>* warnings) {
  for (size_t i = 0; i < input.resources.size(); ++i) {
    const config::Resource& r = input.resources[i];
    for (auto& w : config::CheckSupport(r)) {
      config::Diagnostic d;
      d.severity = config::Severity::kWarning;
      d.file = input.origins[i].file;
      d.line = input.origins[i].line;
      d.document = input.origins[i].document;
      d.kind = std::string(config::KindOf(r));
      d.ns = config::MetaOf(r).ns;
      d.name = config::MetaOf(r).name;
      d.path = std::move(w.path);
      d.message = std::move(w.message);
      warnings->push_back(d.ToString());
    }
  }
}

// The analyzers' findings about what this apply touched.
void AddAnalysis(const Manifests& input, const StoreState& next, const config::AnalysisContext& ctx,
                 std::vector<std::string>* warnings) {
  std::set<config::ResourceKey> applied;
  bool mesh_config = false;
  for (const config::Resource& r : input.resources) {
    applied.insert(config::KeyOf(r));
    const auto* cm = std::get_if<config::ConfigMap>(&r);
    mesh_config = mesh_config || (cm && cm->metadata.ns == config::kIstioSystemNamespace &&
                                  cm->metadata.name == config::MeshConfigMapName(ctx.revision));
  }
  for (const auto& m : config::Analyze(next.resources, ctx)) {
    if (m.level == "Info") continue;  // `ambitctl analyze` shows those
    if (applied.contains(m.resource) || (mesh_config && m.code.rfind("AMB", 0) == 0)) {
      warnings->push_back(m.ToString());
    }
  }
}

}  // namespace

std::vector<std::string> PolicyWarningsFor(const StoreState& next, const Manifests& input,
                                           const model::MeshSettings& mesh) {
  std::vector<std::string> out;
  std::map<config::ResourceKey, size_t> applied;  // policy -> its index in |input|
  for (size_t i = 0; i < input.resources.size(); ++i) {
    const config::Resource& r = input.resources[i];
    if (std::holds_alternative<config::AuthorizationPolicy>(r) ||
        std::holds_alternative<config::PeerAuthentication>(r)) {
      applied.emplace(config::KeyOf(r), i);
    }
  }
  if (applied.empty()) return out;
  const model::PolicyModel policies(BuildModelInput(next, nullptr, mesh));
  for (const model::PolicyWarning& w : policies.warnings()) {
    auto it = applied.find(w.object);
    if (it == applied.end()) continue;
    config::Diagnostic d;
    d.severity = config::Severity::kWarning;
    if (it->second < input.origins.size()) {
      d.file = input.origins[it->second].file;
      d.line = input.origins[it->second].line;
      d.document = input.origins[it->second].document;
    }
    d.kind = w.object.kind;
    d.ns = w.object.ns;
    d.name = w.object.name;
    d.message = w.message;
    out.push_back(d.ToString());
  }
  return out;
}

std::vector<std::string> RouteWarningsFor(const StoreState& next, const Manifests& input,
                                          const model::MeshSettings& mesh) {
  std::vector<std::string> out;
  std::map<config::ResourceKey, size_t> applied;  // route kinds -> index in |input|
  for (size_t i = 0; i < input.resources.size(); ++i) {
    const config::Resource& r = input.resources[i];
    if (std::holds_alternative<config::HttpRoute>(r) ||
        std::holds_alternative<config::GrpcRoute>(r) ||
        std::holds_alternative<config::VirtualService>(r) ||
        std::holds_alternative<config::DestinationRule>(r)) {
      applied.emplace(config::KeyOf(r), i);
    }
  }
  if (applied.empty()) return out;
  const model::RouteTableModel routes =
      model::BuildRouteTables(BuildModelInput(next, nullptr, mesh));
  std::set<std::string> seen;
  for (config::Diagnostic d : routes.diagnostics) {
    auto it = applied.find(config::ResourceKey{d.kind, d.ns, d.name});
    if (it == applied.end()) continue;
    if (it->second < input.origins.size()) {
      d.file = input.origins[it->second].file;
      d.line = input.origins[it->second].line;
      d.document = input.origins[it->second].document;
    }
    std::string line = d.ToString();
    if (seen.insert(line).second) out.push_back(std::move(line));
  }
  return out;
}

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
  AddSupportWarnings(input, &outcome.warnings);
  AddAnalysis(input, outcome.plan.next, analysis_, &outcome.warnings);
  const model::MeshSettings mesh =
      scope_ != nullptr ? *scope_->For(*store_->Snapshot()) : model::MeshSettings{};
  for (std::string& w : PolicyWarningsFor(outcome.plan.next, input, mesh)) {
    outcome.warnings.push_back(std::move(w));
  }
  for (std::string& w : RouteWarningsFor(outcome.plan.next, input, mesh)) {
    outcome.warnings.push_back(std::move(w));
  }
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
