// The client's answer to one DeltaDiscoveryResponse: an ACK (same type_url,
// response_nonce) or, when applying failed, a NACK carrying error_detail
// {code INVALID_ARGUMENT, message}. Pure function; thread-safe.
#pragma once

#include "core/result.h"
#include "envoy/service/discovery/v3/discovery.pb.h"

namespace ambit::xds {

envoy::service::discovery::v3::DeltaDiscoveryRequest AnswerFor(
    const envoy::service::discovery::v3::DeltaDiscoveryResponse& response, const Status& applied);

}  // namespace ambit::xds
