// Blocking unix SOCK_SEQPACKET I/O with deadlines and fd passing (SCM_RIGHTS).
//
// Every call takes a timeout; a negative timeout waits forever (until the
// socket is shut down). Thread-safety: plain syscalls on the given fd; callers
// serialise per direction.
#pragma once

#include <chrono>
#include <string>
#include <string_view>

#include "core/result.h"
#include "core/unique_fd.h"
#include "inpod/zds_messages.h"

namespace ambit::inpod {

using Timeout = std::chrono::milliseconds;
inline constexpr Timeout kForever{-1};

// Binds and listens on |path| (a stale socket file is replaced).
Result<UniqueFd> ListenSeqpacket(const std::string& path, int backlog = 16);
// Accepts one connection (kTimeout when none arrives in time).
Result<UniqueFd> AcceptSeqpacket(int listener, Timeout timeout);
// Connects to the listener at |path| (kUnavailable when nobody listens).
Result<UniqueFd> ConnectSeqpacket(const std::string& path);

// Sends one datagram, with |pass_fd| as SCM_RIGHTS when it is >= 0.
Status SendDatagram(int fd, std::string_view bytes, int pass_fd, Timeout timeout);
// Receives one datagram of at most |max_bytes| bytes with up to 4 fds
// (received fds are close-on-exec and owned by the result; a longer datagram is
// flagged truncated). The peer closing the connection is kUnavailable; no
// datagram in time is kTimeout.
Result<ReceivedDatagram> ReceiveDatagram(int fd, Timeout timeout, size_t max_bytes = kMaxZdsDatagram);

}  // namespace ambit::inpod
