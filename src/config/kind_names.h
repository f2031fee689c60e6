// The names a kind answers to on the command line, as kubectl spells them:
// plural, singular, the short names the Kubernetes, Istio and Gateway API
// definitions declare (po, svc, vs, dr, se, ap, pa, ra, gtw, ...) and
// "<plural>.<group>". Pure data; thread-safe.
#pragma once

#include <string_view>
#include <vector>

namespace ambit::config {

struct KindName {
  std::string_view kind;      // "VirtualService"
  std::string_view group;     // "networking.istio.io"; "" for the core group
  std::string_view plural;    // "virtualservices"
  std::string_view singular;  // "virtualservice"
  std::vector<std::string_view> short_names;
};

// Every stored kind, in the order of docs/config.md's kind table.
const std::vector<KindName>& KindNames();
// The kind |name| means (case-insensitive), or nullptr.
const KindName* FindKindName(std::string_view name);

}  // namespace ambit::config
