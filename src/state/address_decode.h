// Decoding istio.workload.Address / istio.security.Authorization resources
// into the validated structs of workload.h.
//
// Pure functions; thread-safe. A resource that ztunnel could not act on
// correctly (bad address length, port out of range, a name that does not match
// its content, an unsupported tunnel protocol) is an InvalidArgument naming the
// resource and the field, so the xDS client can NACK it.
#pragma once

#include <memory>
#include <string_view>
#include <variant>

#include "core/result.h"
#include "state/workload.h"

namespace istio::workload {
class Address;
}
namespace istio::security {
class Authorization;
}

namespace ambit::state {

using DecodedAddress = std::variant<std::shared_ptr<const Workload>, std::shared_ptr<const Service>>;

// |resource_name| is the xDS name the resource arrived under: the uid of a
// workload (an empty uid takes the name) or "namespace/hostname" of a service.
Result<DecodedAddress> DecodeAddress(std::string_view resource_name,
                                     const istio::workload::Address& address);

// |resource_name| must be "namespace/name" of the policy.
Result<std::shared_ptr<const istio::security::Authorization>> DecodeAuthorization(
    std::string_view resource_name, const istio::security::Authorization& policy);

}  // namespace ambit::state
