// Golden-file comparison for generated rule text. Set AMBIT_UPDATE_GOLDEN=1 to
// rewrite the files from the current output (then review the diff).
#pragma once

#include <string>

namespace ambit::redirect::testing {

// Returns "" when |actual| equals testdata/<name>, else a message with both.
std::string CompareWithGolden(const std::string& name, const std::string& actual);

}  // namespace ambit::redirect::testing
