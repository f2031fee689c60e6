#include "authz/string_pattern.h"

#include <string>

namespace ambit::authz {

istio::security::StringMatch StringMatchFromPattern(std::string_view pattern) {
  istio::security::StringMatch out;
  if (pattern == "*") {
    out.mutable_presence();
  } else if (pattern.starts_with('*')) {
    out.set_suffix(std::string(pattern.substr(1)));
  } else if (pattern.ends_with('*')) {
    out.set_prefix(std::string(pattern.substr(0, pattern.size() - 1)));
  } else {
    out.set_exact(std::string(pattern));
  }
  return out;
}

}  // namespace ambit::authz
