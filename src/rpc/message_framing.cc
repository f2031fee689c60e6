#include "rpc/message_framing.h"

#include <algorithm>

namespace ambit::rpc {

void AppendFramedMessage(std::string& out, std::string_view message) {
  const auto length = static_cast<std::uint32_t>(message.size());
  out.push_back('\0');
  out.push_back(static_cast<char>(length >> 24));
  out.push_back(static_cast<char>(length >> 16));
  out.push_back(static_cast<char>(length >> 8));
  out.push_back(static_cast<char>(length));
  out.append(message);
}

Status MessageDeframer::Append(const std::uint8_t* data, std::size_t length) {
  if (failed_) return Error(ErrorCode::kProtocol, "gRPC message stream already failed");
  while (length > 0) {
    if (prefix_filled_ < kMessagePrefixBytes) {
      std::size_t n = std::min(length, kMessagePrefixBytes - prefix_filled_);
      std::copy(data, data + n, prefix_ + prefix_filled_);
      prefix_filled_ += n;
      data += n;
      length -= n;
      if (prefix_filled_ < kMessagePrefixBytes) break;
      if (prefix_[0] != 0) {
        failed_ = true;
        return Error(ErrorCode::kProtocol,
                     prefix_[0] == 1 ? "compressed gRPC message, but no compression was offered"
                                     : "gRPC message prefix has invalid flag " +
                                           std::to_string(prefix_[0]));
      }
      body_length_ = (std::size_t{prefix_[1]} << 24) | (std::size_t{prefix_[2]} << 16) |
                     (std::size_t{prefix_[3]} << 8) | std::size_t{prefix_[4]};
      if (body_length_ > max_message_bytes_) {
        failed_ = true;
        return Error(ErrorCode::kInvalidArgument,
                     "gRPC message of " + std::to_string(body_length_) + " bytes exceeds the limit of " +
                         std::to_string(max_message_bytes_));
      }
      current_.clear();
      current_.reserve(body_length_);
    }
    // (A zero-length message completes here as soon as its prefix is read.)
    std::size_t n = std::min(length, body_length_ - current_.size());
    current_.append(reinterpret_cast<const char*>(data), n);
    data += n;
    length -= n;
    if (current_.size() == body_length_) {
      complete_.push_back(std::move(current_));
      current_ = std::string();
      prefix_filled_ = 0;
    }
  }
  return Ok();
}

std::string MessageDeframer::Pop() {
  std::string message = std::move(complete_.front());
  complete_.pop_front();
  return message;
}

}  // namespace ambit::rpc
