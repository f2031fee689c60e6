#include "h2/stream_byte_stream.h"

#include <array>
#include <cstring>

#include "h2/session.h"

namespace ambit::h2 {

StreamByteStream::StreamByteStream(std::shared_ptr<Stream> stream) : stream_(std::move(stream)) {}

StreamByteStream::~StreamByteStream() {
  if (stream_ && !send_closed_ && !stream_->closed()) stream_->Reset(ErrorCodeH2::kCancel);
}

Error StreamByteStream::ResetError() const {
  std::string why = stream_->reset_by_peer() ? "HTTP/2 stream reset by the peer ("
                                             : "HTTP/2 stream reset (";
  why += ErrorCodeName(stream_->reset_code());
  why += ")";
  return Error(ErrorCode::kUnavailable, std::move(why));
}

asio::awaitable<Result<std::size_t>> StreamByteStream::ReadSome(net::MutableBytes out) {
  if (out.empty()) co_return std::size_t{0};
  for (;;) {
    if (stream_->reset()) co_return ResetError();
    if (stream_->readable_bytes() > 0) {
      std::array<std::span<const std::uint8_t>, 8> views;
      const std::size_t count = stream_->Gather(views, out.size());
      std::size_t copied = 0;
      for (std::size_t i = 0; i < count; ++i) {
        std::memcpy(out.data() + copied, views[i].data(), views[i].size());
        copied += views[i].size();
      }
      stream_->Consume(copied);
      co_return copied;
    }
    if (stream_->read_finished()) co_return std::size_t{0};
    if (stream_->closed()) co_return ResetError();
    co_await stream_->WaitReadable();
  }
}

asio::awaitable<Status> StreamByteStream::Write(std::span<const net::ConstBytes> pieces) {
  if (send_closed_) {
    co_return Error(ErrorCode::kInvalidArgument, "write after ShutdownWrite on an HTTP/2 stream");
  }
  for (const net::ConstBytes& piece : pieces) {
    std::size_t offset = 0;
    while (offset < piece.size()) {
      co_await stream_->WaitWritable();
      if (stream_->reset() || stream_->closed()) co_return ResetError();
      const std::span<std::uint8_t> space = stream_->Prepare(piece.size() - offset);
      std::memcpy(space.data(), piece.data() + offset, space.size());
      stream_->Commit(space.size());
      offset += space.size();
    }
  }
  co_return Ok();
}

asio::awaitable<void> StreamByteStream::ShutdownWrite() {
  if (!send_closed_) {
    send_closed_ = true;
    stream_->CloseSend();
  }
  co_return;
}

void StreamByteStream::Close() {
  send_closed_ = true;
  if (!stream_->closed()) stream_->Reset(ErrorCodeH2::kCancel);
}

asio::any_io_executor StreamByteStream::get_executor() { return stream_->session().executor(); }

}  // namespace ambit::h2
