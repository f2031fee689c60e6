#include "control/store.h"

#include <sys/stat.h>

#include <nlohmann/json.hpp>

#include "cluster/process.h"
#include "config/parse.h"
#include "config/serialize.h"

namespace ambit::control {

using nlohmann::json;

std::vector<const config::Pod*> StoreState::Pods() const {
  std::vector<const config::Pod*> out;
  for (const auto& [key, r] : resources) {
    if (const auto* p = std::get_if<config::Pod>(&r)) out.push_back(p);
  }
  return out;
}

std::vector<const config::Service*> StoreState::Services() const {
  std::vector<const config::Service*> out;
  for (const auto& [key, r] : resources) {
    if (const auto* s = std::get_if<config::Service>(&r)) out.push_back(s);
  }
  return out;
}

std::vector<const config::ServiceEntry*> StoreState::ServiceEntries() const {
  std::vector<const config::ServiceEntry*> out;
  for (const auto& [key, r] : resources) {
    if (const auto* s = std::get_if<config::ServiceEntry>(&r)) out.push_back(s);
  }
  return out;
}

bool StoreState::HasNamespace(const std::string& ns) const {
  return ns == "default" || resources.count(config::ResourceKey{"Namespace", "", ns}) > 0;
}

Store::Store(std::string path, StoreState initial)
    : path_(std::move(path)), state_(std::make_shared<const StoreState>(std::move(initial))) {}

Result<std::unique_ptr<Store>> Store::Open(std::string path) {
  struct stat st {};
  StoreState initial;
  if (::stat(path.c_str(), &st) == 0) {
    AMBIT_ASSIGN_OR_RETURN(std::string text, cluster::ReadFile(path));
    AMBIT_ASSIGN_OR_RETURN(initial, Deserialize(text, path));
  }
  return std::unique_ptr<Store>(new Store(std::move(path), std::move(initial)));
}

std::shared_ptr<const StoreState> Store::Snapshot() const {
  std::lock_guard lock(mu_);
  return state_;
}

Status Store::Commit(StoreState next) {
  std::lock_guard lock(mu_);
  next.generation = state_->generation + 1;
  AMBIT_RETURN_IF_ERROR(cluster::WriteFileAtomic(path_, Serialize(next)));
  state_ = std::make_shared<const StoreState>(std::move(next));
  return Ok();
}

std::string Store::Serialize(const StoreState& state) {
  json resources = json::array();
  for (const auto& [key, r] : state.resources) resources.push_back(config::ToJson(r));
  json doc = {{"version", 1}, {"generation", state.generation}, {"resources", resources}};
  if (!state.service_entry_addresses.empty()) doc["serviceEntryAddresses"] = state.service_entry_addresses;
  return doc.dump(1) + "\n";
}

Result<StoreState> Store::Deserialize(const std::string& text, const std::string& where) {
  json doc = json::parse(text, nullptr, false);
  if (doc.is_discarded() || !doc.is_object() || !doc.contains("resources") ||
      !doc["resources"].is_array()) {
    return Error(ErrorCode::kInvalidArgument, where + ": not a store file");
  }
  StoreState state;
  state.generation = doc.value("generation", 0ULL);
  if (doc.contains("serviceEntryAddresses")) {
    try {
      doc["serviceEntryAddresses"].get_to(state.service_entry_addresses);
    } catch (const json::exception& e) {
      return Error(ErrorCode::kInvalidArgument, where + ": serviceEntryAddresses: " + e.what());
    }
  }
  int index = 0;
  for (const auto& obj : doc["resources"]) {
    ++index;
    config::ParseResult parsed = config::ParseJsonObject(obj, where, index);
    if (!parsed.ok() || parsed.resources.size() != 1) {
      return Error(ErrorCode::kInvalidArgument,
                   "corrupt store: " + config::FormatDiagnostics(parsed.diagnostics));
    }
    config::Resource& r = parsed.resources.front();
    state.resources.emplace(config::KeyOf(r), std::move(r));
  }
  return state;
}

}  // namespace ambit::control
