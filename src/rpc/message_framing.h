// gRPC message framing: every message on a call's DATA is a 5-byte prefix
// (1 byte compressed flag, 4 bytes big-endian length) followed by the message.
// We never compress and refuse compressed messages (no grpc-encoding is
// offered, so a server must not send them).
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <string>
#include <string_view>

#include "core/result.h"

namespace ambit::rpc {

inline constexpr std::size_t kMessagePrefixBytes = 5;

// Appends |message| with its prefix (compressed flag 0) to |out|.
void AppendFramedMessage(std::string& out, std::string_view message);

// Reassembles messages from DATA bytes arriving in arbitrary pieces.
// Not thread-safe. After an error the deframer stays failed.
class MessageDeframer {
 public:
  // |max_message_bytes|: a message announcing a larger length fails the call
  // before its bytes are buffered.
  explicit MessageDeframer(std::size_t max_message_bytes) : max_message_bytes_(max_message_bytes) {}

  // Consumes |data|. Errors: kProtocol (compressed flag set, or a flag other
  // than 0/1), kInvalidArgument (message over the size limit).
  Status Append(const std::uint8_t* data, std::size_t length);

  bool HasMessage() const { return !complete_.empty(); }
  // The oldest complete message. Requires HasMessage().
  std::string Pop();
  // True when a message has started but not completed (a stream ending now
  // is truncated).
  bool InsideMessage() const { return prefix_filled_ > 0; }
  std::size_t queued_messages() const { return complete_.size(); }

 private:
  std::size_t max_message_bytes_;
  std::uint8_t prefix_[kMessagePrefixBytes] = {};
  std::size_t prefix_filled_ = 0;  // 0..5; 5 = reading the body into current_
  std::size_t body_length_ = 0;
  std::string current_;
  std::deque<std::string> complete_;
  bool failed_ = false;
};

}  // namespace ambit::rpc
