#include "redirect/options.h"

#include <string>

namespace ambit::redirect {

std::string_view ToString(Backend backend) {
  switch (backend) {
    case Backend::kNftables:
      return "nftables";
    case Backend::kIptables:
      return "iptables";
  }
  return "unknown";
}

Result<Backend> ParseBackend(std::string_view text) {
  if (text == "nftables" || text == "nft") return Backend::kNftables;
  if (text == "iptables") return Backend::kIptables;
  return Error(ErrorCode::kInvalidArgument,
               "unknown redirection backend \"" + std::string(text) +
                   "\" (expected \"nftables\" or \"iptables\")");
}

}  // namespace ambit::redirect
