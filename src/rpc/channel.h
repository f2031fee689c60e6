// Channel: a gRPC client for one target (rpc/target.h) without the gRPC
// library: every call opens its own HTTP/2 cleartext connection (ClientCall),
// so calls on different threads never share state. The node proxies make one
// long-lived xDS stream and a certificate call every few hours; a fresh
// connection per call costs one connect on a local socket and keeps nothing
// resident between calls.
//
// Threading: all methods are const and thread-safe.
#pragma once

#include <chrono>
#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "core/result.h"
#include "rpc/call.h"
#include "rpc/metadata.h"
#include "rpc/target.h"

namespace ambit::rpc {

struct ChannelOptions {
  std::chrono::milliseconds connect_timeout{5'000};
  // Largest response message accepted (a full xDS sync of a large mesh is one message).
  std::size_t max_receive_message_bytes = 4 * 1024 * 1024;
  std::uint32_t stream_window = 1024 * 1024;
  std::uint32_t connection_window = 4 * 1024 * 1024;
};

class Channel {
 public:
  // Errors: kInvalidArgument for an unparsable target.
  static Result<std::shared_ptr<Channel>> Create(std::string_view target, ChannelOptions options = {});

  Channel(Target target, ChannelOptions options) : target_(std::move(target)), options_(options) {}

  // Connects and starts a call to |method| ("/pkg.Service/Method").
  // |timeout| none = no deadline (streams). Errors: those of Connect().
  Result<std::unique_ptr<ClientCall>> StartCall(std::string_view method, const Metadata& metadata,
                                                std::optional<std::chrono::milliseconds> timeout) const;

  // A unary call: sends |request|, returns the single response message.
  // |timeout| covers connecting too. Errors: as ClientCall::Read, plus
  // kProtocol when the server answers OK with no message or several.
  Result<std::string> UnaryCall(std::string_view method, std::string_view request,
                                const Metadata& metadata, std::chrono::milliseconds timeout) const;

  const Target& target() const { return target_; }
  const ChannelOptions& options() const { return options_; }

 private:
  Target target_;
  ChannelOptions options_;
};

}  // namespace ambit::rpc
