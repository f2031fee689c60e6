// Bidirectional byte copy between two HTTP/2 streams (the waypoint's
// downstream HBONE stream and the upstream one it opened), until both
// directions end.
//
// Half-close propagates (END_STREAM on one side becomes END_STREAM on the
// other once every byte is through); a reset of either stream resets the
// other. Backpressure: bytes received on one stream are consumed (window
// returned to that peer) only once they are queued on the other and that
// queue is below its bound (WaitWritable), so neither peer can run further
// ahead than its stream window plus one send buffer.
//
// Threading: both streams must live on the calling coroutine's loop.
#pragma once

#include <asio/awaitable.hpp>

#include "h2/stream.h"
#include "hbone/copy.h"
#include "hbone/stats.h"

namespace ambit::waypoint {

// socket_to_peer = downstream -> upstream bytes; peer_to_socket = upstream ->
// downstream bytes (hbone::CopyResult's fields, seen from |downstream|).
asio::awaitable<hbone::CopyResult> CopyStreams(h2::Stream& downstream, h2::Stream& upstream,
                                               hbone::CopyCounters counters = {});

}  // namespace ambit::waypoint
