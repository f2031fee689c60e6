// Printing lists as aligned text tables, JSON or YAML. Pure formatting.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace ambit::ctl {

// Columns padded to the widest cell, separated by three spaces, header first.
std::string FormatTable(const std::vector<std::string>& header,
                        const std::vector<std::vector<std::string>>& rows);

// |value| as block YAML that Ambit's (and Kubernetes') YAML reader reads back
// to the same JSON: strings that would read as another type are quoted,
// multi-line strings are literal blocks.
std::string ToYaml(const nlohmann::json& value);

}  // namespace ambit::ctl
