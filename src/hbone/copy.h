// Bidirectional byte copy between a TCP socket and an HBONE stream (or
// between two sockets, for passthrough), until both directions end.
//
// Half-close propagates: EOF from the socket becomes END_STREAM, END_STREAM
// from the peer becomes shutdown(SHUT_WR) on the socket, and each direction
// keeps flowing after the other has finished. Abort propagates: a socket
// error resets the stream; a stream reset closes the socket with RST.
// Reads grow with the traffic (1 KiB, 16 KiB after 128 KiB, 256 KiB after
// 10 MiB, as ztunnel's copy). Memory: an idle tunneled connection holds no
// buffer block in either direction (the socket is read only once readable,
// straight into the stream's queue, and drained queues give their blocks back).
// Backpressure: the socket is read only while the stream's send buffer has
// room, and stream bytes are consumed (window returned) only once written.
//
// Threading: the socket and stream must live on the calling coroutine's loop.
#pragma once

#include <asio/awaitable.hpp>
#include <asio/ip/tcp.hpp>

#include <cstdint>

#include "h2/stream.h"
#include "hbone/stats.h"

namespace ambit::hbone {

// Counters owned by the calling loop (hbone::Stats shard of this loop), updated
// as bytes move; any may be null.
struct CopyCounters {
  Counter* socket_to_peer = nullptr;  // bytes read from the socket
  Counter* peer_to_socket = nullptr;  // bytes written to the socket
  Counter* connections = nullptr;     // incremented once when the copy starts
};

// The counters of |shard| for a copy whose socket side is the downstream
// (outbound: app -> tunnel is downstream-to-upstream).
CopyCounters DownstreamCounters(StatsShard& shard);
// ... whose socket side is the upstream (inbound: the app socket).
CopyCounters UpstreamCounters(StatsShard& shard);

struct CopyResult {
  std::uint64_t socket_to_peer = 0;
  std::uint64_t peer_to_socket = 0;
  bool aborted = false;  // a reset or error ended it, not two clean EOFs
};

// Read size for the next socket read after |copied| bytes (adaptive buffers).
std::size_t AdaptiveReadSize(std::uint64_t copied);

// |already_sent|: socket bytes that went into the stream before the copy (an
// HBONE CONNECT's early data); counted in the result's socket_to_peer (and
// in the read sizes), not in |counters|.
asio::awaitable<CopyResult> CopyBidirectional(asio::ip::tcp::socket& socket, h2::Stream& stream,
                                              CopyCounters counters = {}, std::uint64_t already_sent = 0);
// Passthrough: |a| <-> |b|; counters as seen from |a| (a->b, b->a).
asio::awaitable<CopyResult> CopyBidirectional(asio::ip::tcp::socket& a, asio::ip::tcp::socket& b,
                                              CopyCounters counters = {});

// Closes |socket| with an RST (SO_LINGER 0): an abort, not an orderly FIN.
void AbortSocket(asio::ip::tcp::socket& socket);

}  // namespace ambit::hbone
