// Fuzzes the response side of ambit::rpc::ClientCall: the input is
// everything a server sends on the connection (HTTP/2 frames as parsed by
// nghttp2, gRPC length prefixes, headers and trailers), fed through a socket
// pair; the client reads until the call ends.
//
// Properties checked (abort on violation): no crash or sanitizer report; the
// call ends (the peer closes); every message returned came from the input
// (total bytes bounded by it); an error is one of the documented codes.
#include <sys/socket.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "rpc/call.h"

namespace {

void Check(bool ok) {
  if (!ok) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size > 64 * 1024) return 0;  // stays within one socket buffer
  int fds[2];
  Check(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, fds) == 0);
  ambit::UniqueFd client(fds[0]);
  ambit::UniqueFd server(fds[1]);
  int buffer = 256 * 1024;
  ::setsockopt(server.get(), SOL_SOCKET, SO_SNDBUF, &buffer, sizeof(buffer));
  std::size_t written = 0;
  while (written < size) {
    ssize_t n = ::send(server.get(), data + written, size - written, MSG_NOSIGNAL);
    Check(n > 0);
    written += static_cast<std::size_t>(n);
  }
  ::shutdown(server.get(), SHUT_WR);

  ambit::rpc::CallOptions options;
  options.max_receive_message_bytes = 16 * 1024;
  options.timeout = std::chrono::milliseconds(2'000);
  auto call = ambit::rpc::ClientCall::Start(std::move(client), "fuzz", "localhost", "/fuzz.S/M",
                                            {{"authorization", "Bearer x"}}, options);
  Check(call.ok());
  (void)(*call)->Write("request");
  (void)(*call)->WritesDone();
  std::size_t total = 0;
  for (int i = 0; i < 100'000; ++i) {
    std::string message;
    ambit::Result<bool> got = (*call)->Read(&message);
    if (!got.ok()) {
      auto code = got.error().code();
      Check(code == ambit::ErrorCode::kUnavailable || code == ambit::ErrorCode::kProtocol ||
            code == ambit::ErrorCode::kInvalidArgument || code == ambit::ErrorCode::kTimeout ||
            code == ambit::ErrorCode::kUnauthenticated || code == ambit::ErrorCode::kPermissionDenied ||
            code == ambit::ErrorCode::kNotFound || code == ambit::ErrorCode::kAlreadyExists ||
            code == ambit::ErrorCode::kInternal);
      // An error repeats.
      Check(!(*call)->Read(&message).ok());
      break;
    }
    if (!*got) break;
    total += message.size() + 5;
    Check(total <= size);
  }
  return 0;
}
