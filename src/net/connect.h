// Connect: an outgoing TCP connection through a SocketFactory, with a timeout
// and optionally a spoofed source address.
#pragma once

#include <asio/awaitable.hpp>
#include <asio/ip/tcp.hpp>

#include <chrono>
#include <optional>

#include "core/result.h"
#include "net/socket_address.h"
#include "net/socket_factory.h"
#include "net/socket_options.h"

namespace ambit::net {

struct ConnectOptions {
  // Bind to this source IP (port 0) before connecting, with IP_TRANSPARENT and
  // freebind, so the upstream sees the original client's address. Needs
  // CAP_NET_ADMIN and policy routing for the replies (docs/redirection.md).
  std::optional<IpAddress> source;
  std::chrono::milliseconds timeout{10'000};  // ztunnel's CONNECTION_TIMEOUT
  KeepaliveConfig keepalive;
};

// Connects to |destination| on the calling coroutine's executor. Errors:
// kTimeout after |options.timeout|, kUnavailable for refused/unreachable, kIo
// for local failures (socket creation, bind).
asio::awaitable<Result<asio::ip::tcp::socket>> Connect(const SocketFactory& factory,
                                                       SocketAddress destination,
                                                       ConnectOptions options);

}  // namespace ambit::net
