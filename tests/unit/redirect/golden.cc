#include "golden.h"

#include <cstdlib>
#include <fstream>
#include <sstream>

namespace ambit::redirect::testing {

std::string CompareWithGolden(const std::string& name, const std::string& actual) {
  const std::string path = std::string(AMBIT_REDIRECT_TESTDATA) + "/" + name;
  const char* update = std::getenv("AMBIT_UPDATE_GOLDEN");
  if (update != nullptr && std::string(update) == "1") {
    std::ofstream(path, std::ios::binary) << actual;
    return "";
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) return "missing golden file " + path + " (run with AMBIT_UPDATE_GOLDEN=1 to create it)";
  std::stringstream expected;
  expected << in.rdbuf();
  if (expected.str() == actual) return "";
  return "output differs from " + path + "\n--- expected ---\n" + expected.str() + "--- actual ---\n" + actual;
}

}  // namespace ambit::redirect::testing
