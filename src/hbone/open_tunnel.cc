#include "hbone/open_tunnel.h"

#include <algorithm>
#include <string>
#include <vector>

#include "h2/session.h"

namespace ambit::hbone {
namespace {

using asio::ip::tcp;

constexpr std::size_t kEarlyReadBytes = 16 * 1024;

// Moves app bytes into the pending stream while its answer is awaited, and
// keeps a copy of them for a resend. Reads only what is already there
// (non-blocking) and otherwise waits for readability with a callback, so the
// open path needs no second coroutine. Shared with that pending wait, whose
// handler may run after OpenTunnel has returned: after Stop() it touches
// nothing but this object.
class EarlyPump : public std::enable_shared_from_this<EarlyPump> {
 public:
  EarlyPump(tcp::socket& app, std::size_t limit) : app_(app), limit_(limit) {}

  // Starts on |stream|: moves what the app wrote so far, then follows.
  void Start(std::shared_ptr<h2::Stream> stream) {
    stream_ = std::move(stream);
    if (!app_.non_blocking()) {
      asio::error_code ec;
      app_.non_blocking(true, ec);
      if (ec) {
        Fail(ec);
        return;
      }
    }
    Drain();
    Arm();
  }
  // Moves to |stream| (a resend after REFUSED_STREAM): everything so far first.
  void Restart(std::shared_ptr<h2::Stream> stream) {
    stream_ = std::move(stream);
    if (failed_) {  // the app side already failed: this attempt ends at once
      stream_->Reset(h2::ErrorCodeH2::kCancel);
      return;
    }
    if (!replay_.empty()) stream_->Write(replay_);
    if (eof_) stream_->CloseSend();
    Drain();
    Arm();
  }
  // The answer is in: no more reads here (the copy takes over the socket).
  void Stop() {
    if (stopped_) return;
    stopped_ = true;
    stream_.reset();
    if (waiting_) {
      asio::error_code ignored;
      app_.cancel(ignored);
    }
  }

  std::uint64_t bytes() const { return replay_.size(); }
  bool failed() const { return failed_; }
  const std::string& failure() const { return failure_; }

 private:
  void Drain() {
    while (!eof_ && !failed_ && replay_.size() < limit_) {
      auto space = stream_->Prepare(std::min(kEarlyReadBytes, limit_ - replay_.size()));
      asio::error_code ec;
      const std::size_t n = app_.read_some(asio::buffer(space.data(), space.size()), ec);
      if (ec == asio::error::interrupted) {
        stream_->Commit(0);
        continue;
      }
      if (ec == asio::error::would_block || ec == asio::error::try_again) {
        stream_->Commit(0);
        return;
      }
      if (ec == asio::error::eof) {
        stream_->Commit(0);
        eof_ = true;
        stream_->CloseSend();
        return;
      }
      if (ec) {
        stream_->Commit(0);
        Fail(ec);
        return;
      }
      replay_.insert(replay_.end(), space.data(), space.data() + n);
      stream_->Commit(n);  // a reset stream drops it; the copy above is resent
      if (n < space.size()) return;  // a short read: nothing more there for now
    }
  }

  // Waits for the app's first bytes only: once some came (typically the
  // whole first request in one write), the rest waits for the copy after the
  // answer. That saves a readiness wait (an epoll_ctl) and its cancel per
  // connection.
  void Arm() {
    if (stopped_ || eof_ || failed_ || waiting_ || !replay_.empty()) return;
    waiting_ = true;
    app_.async_wait(tcp::socket::wait_read, [self = shared_from_this()](const asio::error_code& ec) {
      self->waiting_ = false;
      if (self->stopped_ || ec) return;  // answered meanwhile, or the socket was closed
      self->Drain();
      self->Arm();
    });
  }

  void Fail(const asio::error_code& ec) {
    failed_ = true;
    failure_ = ec.message();
    stream_->Reset(h2::ErrorCodeH2::kCancel);
  }

  tcp::socket& app_;
  const std::size_t limit_;
  std::shared_ptr<h2::Stream> stream_;
  std::vector<std::uint8_t> replay_;
  bool eof_ = false;
  bool failed_ = false;
  bool waiting_ = false;
  bool stopped_ = false;
  std::string failure_;
};

// Stops the pump however OpenTunnel ends.
struct StopOnExit {
  std::shared_ptr<EarlyPump>& pump;
  ~StopOnExit() {
    if (pump) pump->Stop();
  }
};

}  // namespace

asio::awaitable<Result<OpenedTunnel>> OpenTunnel(Pool& pool, PoolKey key, DialParams dial,
                                                 h2::Headers headers, tcp::socket& app,
                                                 std::size_t early_limit) {
  std::shared_ptr<EarlyPump> pump;
  StopOnExit stop{pump};
  // Runs right after each attempt's HEADERS are queued: the app's bytes join
  // them in the session's next write; a resend replays what was sent before.
  auto submitted = [&](const std::shared_ptr<h2::Stream>& stream) {
    if (pump == nullptr) {
      const std::size_t limit = std::min(early_limit, stream->session().settings().stream_send_buffer);
      pump = std::make_shared<EarlyPump>(app, limit);
      pump->Start(stream);
    } else {
      pump->Restart(stream);
    }
  };
  auto stream = co_await pool.Connect(std::move(key), std::move(dial), std::move(headers), submitted);
  if (stream.ok()) {
    pump->Stop();
    co_return OpenedTunnel{std::move(*stream), pump->bytes()};
  }
  if (pump != nullptr && pump->failed()) {
    co_return Error(ErrorCode::kIo, "app connection failed while the CONNECT was pending: " +
                                        pump->failure());
  }
  co_return std::move(stream).error();
}

}  // namespace ambit::hbone
