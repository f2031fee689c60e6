// Which Service an inbound connection was for, for the destination_service*
// labels of the receiving ztunnel (reporter="destination"). The receiving
// side sees only the pod address the connection targets, so, like Istio's
// ztunnel (guess_inbound_service,
// https://github.com/istio/ztunnel/blob/master/src/proxy.rs), it guesses from
// the Services the destination workload is an endpoint of:
//   1. the one whose hostname the client named (the HBONE CONNECT's
//      `forwarded: ...;host=<service hostname>`, set by the client's ztunnel
//      or a waypoint when it routed by a Service); only the workload's own
//      Services are looked at, so a bogus name gives nothing;
//   2. else the first (by key) with a port that targets |port| on this
//      workload: the workload's resolved target port, or the Service's
//      numeric targetPort when the workload gives none;
//   3. else none (the labels stay "unknown").
//
// Pure; thread-compatible.
#pragma once

#include <cstdint>
#include <string_view>

#include "state/workload_state.h"

namespace ambit::node {

const state::Service* GuessInboundService(const state::WorkloadState& state,
                                          const state::Workload& destination, std::uint16_t port,
                                          std::string_view forwarded_host);

}  // namespace ambit::node
