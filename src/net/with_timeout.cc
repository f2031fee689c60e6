#include "net/with_timeout.h"

namespace ambit::net {

std::string TimedOutMessage(std::chrono::steady_clock::duration timeout) {
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(timeout).count();
  return "timed out after " + std::to_string(ms) + " ms";
}

}  // namespace ambit::net
