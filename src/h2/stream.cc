#include "h2/stream.h"

#include <algorithm>

#include "h2/session.h"

namespace ambit::h2 {

Stream::Stream(std::shared_ptr<Session> session, std::int32_t id)
    : session_(std::move(session)),
      id_(id),
      readable_(session_->executor()),
      writable_(session_->executor()) {}

std::string_view Stream::PeerHeader(std::string_view name) const {
  for (const auto& h : peer_headers_) {
    if (h.name == name) return h.value;
  }
  return {};
}

asio::awaitable<void> Stream::WaitReadable() {
  while (recv_.empty() && !recv_eof_ && !reset_ && !closed_) co_await readable_.Wait();
}

void Stream::Consume(std::size_t n) {
  if (n == 0) return;
  recv_.Consume(n);
  session_->StreamConsumed(*this, n);
}

asio::awaitable<void> Stream::WaitWritable() {
  const std::size_t bound = session_->settings().stream_send_buffer;
  while (send_.size() >= bound && !reset_ && !closed_) co_await writable_.Wait();
}

std::span<std::uint8_t> Stream::Prepare(std::size_t max) {
  const std::size_t bound = session_->settings().stream_send_buffer;
  const std::size_t room = send_.size() < bound ? bound - send_.size() : 1;
  return send_.Prepare(std::min(max, room));
}

void Stream::Commit(std::size_t n) {
  if (reset_ || send_eof_ || n == 0) {
    send_.Commit(0);  // releases the block an unused Prepare() may have taken
    return;
  }
  send_.Commit(n);
  session_->StreamDataReady(*this);
}

asio::awaitable<void> Stream::CommitAndFlush(std::size_t n) {
  if (reset_ || send_eof_ || n == 0) {
    send_.Commit(0);
    co_return;
  }
  send_.Commit(n);
  session_->StreamDataReady(*this, /*wake_writer=*/false);
  co_await session_->Flush();
}

void Stream::Write(std::span<const std::uint8_t> bytes) {
  if (reset_ || send_eof_ || bytes.empty()) return;
  send_.Append(bytes);
  session_->StreamDataReady(*this);
}

void Stream::CloseSend() {
  if (send_eof_ || reset_) return;
  send_eof_ = true;
  session_->StreamDataReady(*this);
}

void Stream::CloseSend(Headers trailers) {
  if (send_eof_ || reset_) return;
  send_trailers_ = std::move(trailers);
  has_send_trailers_ = true;
  send_eof_ = true;
  session_->StreamDataReady(*this);
}

void Stream::Reset(ErrorCodeH2 code) {
  if (reset_ || closed_) return;
  reset_ = true;
  reset_code_ = static_cast<std::uint32_t>(code);
  session_->StreamReset(*this, code);
  Wake();
}

void Stream::Wake() {
  readable_.Notify();
  writable_.Notify();
}

}  // namespace ambit::h2
