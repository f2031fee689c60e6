// Numbers shared by the in-pod redirection rules, ztunnel and the node agent.
// Values follow Istio's in-pod REDIRECT mode
// (https://istio.io/latest/docs/ambient/architecture/traffic-redirection/) so that a
// pod set up by Ambit looks the same as one set up by istio-cni.
#pragma once

#include <cstdint>

namespace ambit::redirect {

// Mark ztunnel puts on every socket it creates in a pod netns (SO_MARK 1337).
inline constexpr uint32_t kInpodMark = 0x539;
inline constexpr uint32_t kInpodMask = 0xfff;
// Connmark given to connections ztunnel made; replies are routed back locally.
inline constexpr uint32_t kConnMark = 0x111;
inline constexpr uint32_t kConnMask = 0xfff;

inline constexpr uint16_t kOutboundPort = 15001;          // outbound capture
inline constexpr uint16_t kInboundPlaintextPort = 15006;  // inbound capture
inline constexpr uint16_t kInboundHbonePort = 15008;      // HBONE, never redirected
inline constexpr uint16_t kDnsPort = 15053;               // DNS proxy (optional capture)

// Policy routing for connmarked replies: `ip rule fwmark 0x111/0xfff pref 32764
// lookup 100` plus `local default dev lo table 100`.
inline constexpr int kRouteTable = 100;
inline constexpr int kRulePriority = 32764;

// Source address the node SNATs kubelet health probes to; accepted unredirected.
inline constexpr const char* kProbeSourceV4 = "169.254.7.127";
inline constexpr const char* kProbeSourceV6 = "fd16:9254:7127:1337:ffff:ffff:ffff:ffff";

}  // namespace ambit::redirect
