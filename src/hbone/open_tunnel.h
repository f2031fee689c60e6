// OpenTunnel: the outbound side of one app connection's HBONE CONNECT, with
// early data.
//
// The CONNECT HEADERS are queued on a pooled connection (Pool::Submit) and,
// without waiting for the answer, whatever the app has already written is
// moved into the stream: it goes out right behind the HEADERS (usually in the
// same TLS write), so the app's first request does not wait one round trip
// across both ztunnels for the 200. If the app has written nothing yet, its
// first bytes follow as soon as they arrive; what it writes after those waits
// for the answer (at most |early_limit| bytes go early in all). The answer
// is awaited concurrently (Pool::AwaitConnected):
//  - 200: returns the stream; the caller copies from here on (the app socket
//    has no wait pending on it any more) and counts |early_bytes| as copied
//    from the app;
//  - anything else (an error status, a reset, a dial failure): an error; the
//    stream was reset, so the server drops the early data it buffered (it
//    never connects upstream for a refused CONNECT), and nothing was written
//    to the app. The caller closes the app connection.
//  - refused unprocessed (REFUSED_STREAM, a GOAWAY crossed the request): sent
//    again on another connection, early data included (a copy is kept until
//    the answer), up to Pool::kConnectAttempts times.
// An app that ends its sending side early (FIN) ends the stream's sending side
// too (END_STREAM after the early data); an app read error is an error (the
// stream is reset).
//
// Flow control: early data is bounded by |early_limit| (at most the stream's
// send buffer), and the server buffers what arrives before its upstream
// connect within the stream window, so neither side holds more than that.
//
// Threading: runs on the loop of |app| and |pool|. |app| must stay open until
// the coroutine completes (closing it early ends the early data, not the open).
#pragma once

#include <asio/awaitable.hpp>
#include <asio/ip/tcp.hpp>

#include <cstddef>
#include <cstdint>
#include <memory>

#include "core/result.h"
#include "h2/headers.h"
#include "h2/stream.h"
#include "hbone/pool.h"

namespace ambit::hbone {

inline constexpr std::size_t kEarlyDataLimit = 64 * 1024;

struct OpenedTunnel {
  std::shared_ptr<h2::Stream> stream;
  std::uint64_t early_bytes = 0;  // app bytes already moved into the stream
};

asio::awaitable<Result<OpenedTunnel>> OpenTunnel(Pool& pool, PoolKey key, DialParams dial,
                                                 h2::Headers headers, asio::ip::tcp::socket& app,
                                                 std::size_t early_limit = kEarlyDataLimit);

}  // namespace ambit::hbone
