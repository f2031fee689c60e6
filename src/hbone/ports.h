// ztunnel's well-known ports (docs/ztunnel.md;
// https://istio.io/latest/docs/ops/deployment/application-requirements/).
#pragma once

#include <array>
#include <cstdint>

namespace ambit::hbone {

inline constexpr std::uint16_t kOutboundPort = 15001;
inline constexpr std::uint16_t kInboundPlaintextPort = 15006;
inline constexpr std::uint16_t kHbonePort = 15008;
// Destinations that would loop back into ztunnel itself ("SelfCall").
inline constexpr std::array<std::uint16_t, 3> kIllegalDestinationPorts = {
    kOutboundPort, kInboundPlaintextPort, kHbonePort};

}  // namespace ambit::hbone
