// `ambitctl apply -f` and `ambitctl delete -f`: send manifests to ambitd.
#pragma once

#include <string>
#include <vector>

#include "core/result.h"

namespace ambit::ctl {

struct ManifestOptions {
  std::string cluster;
  std::vector<std::string> files;  // files, directories (*.yaml|*.yml|*.json) or "-" (stdin)
  bool wait = false;               // apply: until every pod is ready
  int timeout_seconds = 120;
  bool ignore_not_found = false;  // delete
};

// Both return the text to print (one line per resource).
Result<std::string> Apply(const ManifestOptions& options);
Result<std::string> Delete(const ManifestOptions& options);

}  // namespace ambit::ctl
