// Fuzzes ParseMeshConfig and the `ambit` extension parser (untrusted YAML from
// the mesh ConfigMap or `cluster up --mesh-config`). Invariants: every problem
// is one line with a field path, and a valid result's selectors and root
// namespace are usable (the namespace-scope functions run on them).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "config/mesh_config.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  ambit::config::MeshConfigResult result = ambit::config::ParseMeshConfig(text);
  ambit::config::ParseAmbitMeshExtensions(text, &result);
  for (const auto& e : result.errors) {
    if (e.message.empty() || e.message.find_first_of("\n\r") != std::string::npos ||
        e.path.find_first_of("\n\r") != std::string::npos) {
      abort();
    }
  }
  if (result.ok()) {
    const ambit::config::Labels labels = {{"team", "a"}, {"istio.io/rev", "canary"}};
    (void)ambit::config::ScopeOfNamespace(result.config.discovery_selectors, "default", labels);
    if (result.config.root_namespace.empty()) abort();
  }
  return 0;
}
