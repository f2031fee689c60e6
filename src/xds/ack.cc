#include "xds/ack.h"

namespace ambit::xds {

namespace {
constexpr int kInvalidArgument = 3;  // google.rpc.Code INVALID_ARGUMENT
}

envoy::service::discovery::v3::DeltaDiscoveryRequest AnswerFor(
    const envoy::service::discovery::v3::DeltaDiscoveryResponse& response, const Status& applied) {
  envoy::service::discovery::v3::DeltaDiscoveryRequest answer;
  answer.set_type_url(response.type_url());
  answer.set_response_nonce(response.nonce());
  if (!applied.ok()) {
    answer.mutable_error_detail()->set_code(kInvalidArgument);
    answer.mutable_error_detail()->set_message(applied.error().ToString());
  }
  return answer;
}

}  // namespace ambit::xds
