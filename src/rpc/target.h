// Target: where an RPC channel connects — "unix:/path/to/socket" (also
// "unix:///path") or "host:port" / "[v6]:port" (TCP; host is an IP literal or
// a name resolved at connect time).
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

#include "core/result.h"
#include "core/unique_fd.h"

namespace ambit::rpc {

struct Target {
  enum class Kind { kUnix, kTcp };
  Kind kind = Kind::kUnix;
  std::string path;  // kUnix
  std::string host;  // kTcp, without brackets
  std::uint16_t port = 0;

  // Errors: kInvalidArgument naming the text and what is wrong.
  static Result<Target> Parse(std::string_view text);

  // The text form ("unix:/p", "host:port", "[::1]:port").
  std::string ToString() const;
  // The :authority to send: "localhost" for a unix socket (as gRPC does),
  // host:port for TCP.
  std::string Authority() const;
};

// Connects a non-blocking stream socket to |target|, waiting at most until
// |deadline|. Errors: kUnavailable ("connecting to <target>: Connection
// refused", name resolution failures), kTimeout.
Result<UniqueFd> Connect(const Target& target, std::chrono::steady_clock::time_point deadline);

}  // namespace ambit::rpc
