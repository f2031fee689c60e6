// Whether something listens on a TCP port in a network namespace, asked of the
// kernel's socket-diagnostics netlink interface (NETLINK_SOCK_DIAG).
//
// Why not /proc/<pid>/net/tcp: reading that file walks the whole machine's
// established and time-wait hash table (one table for every namespace), about a
// millisecond of kernel time per read on a machine with 24 GiB and far more
// after a benchmark leaves tens of thousands of time-wait sockets. A dump
// restricted to the LISTEN state walks only the listening hash.
//
// Thread-safety: safe from any thread; the calling thread enters |netns| for the
// duration of one socket() call (core/netns.h, NetnsGuard).
#pragma once

#include <cstdint>

#include "core/netns.h"
#include "core/result.h"

namespace ambit::net {

// True when a TCP socket in |netns| is in LISTEN state on |port|, over IPv4 or
// IPv6 (any local address). Errors name the namespace and the failing step.
Result<bool> TcpPortListening(const Netns& netns, std::uint16_t port);

}  // namespace ambit::net
