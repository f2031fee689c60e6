// Metadata: request headers sent with a gRPC call, e.g.
// {"authorization", "Bearer <token>"}. Names must be lower case and must not
// start with ':' or "grpc-" (reserved for the transport).
#pragma once

#include <string>
#include <utility>
#include <vector>

namespace ambit::rpc {

using Metadata = std::vector<std::pair<std::string, std::string>>;

}  // namespace ambit::rpc
