// `ambitctl get nodes|pods|services`: lists from ambitd as a table or JSON.
#pragma once

#include <string>

#include "core/result.h"

namespace ambit::ctl {

struct GetOptions {
  std::string cluster;
  std::string what;    // nodes | pods | services (singular and short forms accepted)
  std::string ns;      // empty = all namespaces
  std::string output;  // "" (table) | json
};

// Returns the text to print.
Result<std::string> Get(const GetOptions& options);

}  // namespace ambit::ctl
