// Fuzzes ParseManifests (untrusted YAML from `ambitctl apply -f`) and checks
// two invariants: every diagnostic renders as one line, and every accepted
// resource re-parses from its JSON to an equal resource.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "config/parse.h"
#include "config/serialize.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  ambit::config::ParseResult result = ambit::config::ParseManifests(text, "fuzz.yaml");
  // Every diagnostic is one line, whatever the input holds.
  for (const auto& d : result.diagnostics) {
    if (d.ToString().find_first_of("\n\r") != std::string::npos) abort();
  }
  for (const auto& resource : result.resources) {
    std::string json = ambit::config::ToJsonString(resource);
    ambit::config::ParseResult again = ambit::config::ParseManifests(json, "again.json");
    if (!again.ok() || again.resources.size() != 1 || !(again.resources[0] == resource)) abort();
  }
  return 0;
}
