// Printing lists as aligned text tables or JSON. Pure formatting.
#pragma once

#include <string>
#include <vector>

namespace ambit::ctl {

// Columns padded to the widest cell, separated by three spaces, header first.
std::string FormatTable(const std::vector<std::string>& header,
                        const std::vector<std::vector<std::string>>& rows);

}  // namespace ambit::ctl
