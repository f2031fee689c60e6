// WriteAll: sends every byte of a buffer sequence on a TCP socket from a
// coroutine, trying the kernel directly first.
//
// asio's async_write completes an immediately successful send by posting the
// completion to the loop's queue; the loop then polls epoll (epoll_wait with
// timeout 0) before it resumes the coroutine. Most writes on the data path fit
// the socket buffer, so WriteAll first makes one non-blocking sendmsg itself
// and returns without suspending when the kernel took everything; only the
// rest (socket buffer full) goes through async_write, which waits for
// EPOLLOUT. Byte order and completeness are the same as async_write's.
//
// Puts the socket in non-blocking mode (asio's user flag) if it is not:
// synchronous asio calls on it then fail with would_block instead of waiting.
// Threading: the socket's loop; at most one WriteAll (or async_write) per
// socket at a time.
#pragma once

#include <asio/awaitable.hpp>
#include <asio/buffer.hpp>
#include <asio/ip/tcp.hpp>

#include <span>

namespace ambit::net {

// Returns the error of the first failed send (the socket state is then
// unspecified), or success once every byte was handed to the kernel.
// |buffers| may be modified (consumed) by the call.
asio::awaitable<asio::error_code> WriteAll(asio::ip::tcp::socket& socket,
                                           std::span<asio::const_buffer> buffers);

asio::awaitable<asio::error_code> WriteAll(asio::ip::tcp::socket& socket, asio::const_buffer buffer);

}  // namespace ambit::net
