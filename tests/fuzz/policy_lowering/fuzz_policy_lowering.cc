// Fuzzes the policy lowering (model/authorization.h) from untrusted YAML, the
// way ambitd gets it: `ambitctl apply -f` -> ParseManifests -> the ambient
// model. Checks, besides not crashing:
//  - every published Authorization compiles (authz::CompiledPolicy::Compile,
//    what the node proxies run) and is named "<namespace>/<name>";
//  - every key a workload lists is published;
//  - every warning is one line;
//  - the lowering is deterministic (a second pass gives equal resources).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <deque>
#include <string>
#include <string_view>

#include <google/protobuf/util/message_differencer.h>

#include "authz/compiled_policy.h"
#include "config/parse.h"
#include "model/ambient_model.h"

namespace {

using namespace ambit;

model::AmbientInput InputOf(const std::deque<config::Resource>& resources) {
  model::AmbientInput in;
  int ip = 1;
  for (const config::Resource& r : resources) {
    if (const auto* ns = std::get_if<config::Namespace>(&r)) in.namespaces.push_back(ns);
    if (const auto* pod = std::get_if<config::Pod>(&r)) {
      in.pods.push_back({pod, model::PodRuntime{"10.1." + std::to_string(ip / 250) + "." +
                                                    std::to_string(ip % 250 + 1),
                                                "", model::PodPhase::kRunning, true}});
      ++ip;
    }
    if (const auto* svc = std::get_if<config::Service>(&r)) in.services.push_back({svc, ""});
    if (const auto* gw = std::get_if<config::Gateway>(&r)) in.gateways.push_back(gw);
    if (const auto* ap = std::get_if<config::AuthorizationPolicy>(&r)) {
      in.authorization_policies.push_back(ap);
    }
    if (const auto* pa = std::get_if<config::PeerAuthentication>(&r)) {
      in.peer_authentications.push_back(pa);
    }
  }
  // Pods of namespaces the input does not declare still count (ambitd adds
  // "default" itself).
  static const config::Namespace kDefault = [] {
    config::Namespace ns;
    ns.metadata.name = "default";
    return ns;
  }();
  in.namespaces.push_back(&kDefault);
  return in;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  config::ParseResult parsed = config::ParseManifests(text, "fuzz.yaml");
  std::deque<config::Resource> resources(parsed.resources.begin(), parsed.resources.end());
  const model::AmbientInput input = InputOf(resources);
  const model::AmbientModel m = model::BuildAmbientModel(input);

  for (const auto& [key, policy] : m.authorization.resources) {
    if (key != policy.namespace_() + "/" + policy.name()) abort();
    if (!authz::CompiledPolicy::Compile(policy).ok()) abort();
  }
  for (const auto& w : m.authorization.warnings) {
    if (w.ToString().find_first_of("\n\r") != std::string::npos) abort();
  }
  for (const auto& [name, address] : m.addresses.resources) {
    if (!address.has_workload()) continue;
    const auto& w = address.workload();
    for (const std::string& key : w.authorization_policies()) {
      if (!m.authorization.resources.contains(key)) abort();
    }
  }
  const model::AmbientModel again = model::BuildAmbientModel(input);
  if (again.authorization.resources.size() != m.authorization.resources.size()) abort();
  for (const auto& [key, policy] : m.authorization.resources) {
    auto it = again.authorization.resources.find(key);
    if (it == again.authorization.resources.end() ||
        !google::protobuf::util::MessageDifferencer::Equals(it->second, policy)) {
      abort();
    }
  }
  return 0;
}
