// ConnectionTracker: the live connections of one pod proxy, so a pod removal
// or a process shutdown can drain them: stop taking new ones, let open ones
// finish for a grace period, then abort the rest; and so a policy change can
// have each inbound connection decided again (RecheckAll).
//
// A connection registers with the executor (event loop) it lives on and an
// abort function; AbortAll() posts each abort to its own loop, so aborts never
// race the connection's code. The abort runs only if the connection is still
// registered when the posted handler executes.
//
// A connection may also register a ConnectionView, so the admin's
// "connections" section can show it: the view is read only when asked, by a
// handler posted to the connection's own loop, so it costs the data path two
// pointer stores per connection and nothing per byte.
//
// Thread-safety: all methods are thread-safe. Register/unregister take a
// per-pod mutex once per connection (never per byte).
#pragma once

#include <asio/any_io_executor.hpp>

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <string>
#include <vector>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <utility>
#include <unordered_map>

namespace ambit::node {

// One open connection as /config_dump "connections" shows it.
struct ConnectionRow {
  std::string direction;    // outbound | inbound | inbound-hbone
  std::string source;       // ip:port
  std::string destination;  // ip:port (outbound HBONE: the CONNECT target)
  std::string identity;     // the peer's SPIFFE identity (proven or expected); "" if none
  std::chrono::milliseconds age{0};
  // Payload bytes between ztunnel and the app's socket, from the kernel's
  // TCP_INFO; nullopt when the connection has no app socket (HBONE sessions).
  std::optional<std::uint64_t> bytes_from_app;
  std::optional<std::uint64_t> bytes_to_app;
};

// How a connection describes itself: |describe|(|context|, row) is called on
// the connection's loop while it is registered. |context| lives in the
// connection's frame and outlives its token.
struct ConnectionView {
  void (*describe)(const void* context, ConnectionRow& row) = nullptr;
  const void* context = nullptr;
};

// Bytes the kernel counted on a TCP socket: {received from the peer, sent and
// acknowledged}. nullopt if TCP_INFO is unavailable (closed socket).
std::optional<std::pair<std::uint64_t, std::uint64_t>> TcpBytes(int fd);

class ConnectionTracker : public std::enable_shared_from_this<ConnectionTracker> {
 public:
  // Unregisters on destruction. Move-only. Destroy it on the connection's loop
  // before the objects its abort function touches.
  class Token {
   public:
    Token() = default;
    Token(std::weak_ptr<ConnectionTracker> tracker, std::uint64_t id)
        : tracker_(std::move(tracker)), id_(id) {}
    ~Token();
    Token(Token&& o) noexcept : tracker_(std::move(o.tracker_)), id_(std::exchange(o.id_, 0)) {}
    Token& operator=(Token&&) = delete;
    Token(const Token&) = delete;
    Token& operator=(const Token&) = delete;

   private:
    std::weak_ptr<ConnectionTracker> tracker_;
    std::uint64_t id_ = 0;
  };

  static std::shared_ptr<ConnectionTracker> Create() {
    return std::shared_ptr<ConnectionTracker>(new ConnectionTracker());
  }

  // nullopt once draining (the caller should refuse the connection).
  // |drain|, if given, is posted to |executor| when draining starts (e.g. send
  // an HTTP/2 GOAWAY so the peer moves new streams elsewhere). |recheck|, if
  // given, is posted by RecheckAll (e.g. decide the connection's
  // authorization again and close it if now denied). Any of the functions
  // may be empty. |view|, if given, must stay valid while the token lives.
  std::optional<Token> Register(asio::any_io_executor executor, std::function<void()> abort,
                                std::function<void()> drain = {},
                                std::function<void()> recheck = {}, ConnectionView view = {});

  // Rows of every live connection that registered a view, each read on its
  // own loop. Blocks the caller (never a loop thread that runs connections)
  // until all answered or |timeout| passed; late answers are dropped.
  std::vector<ConnectionRow> Describe(std::chrono::milliseconds timeout) const;

  // No new registrations from now on; posts every live connection's drain.
  void StartDraining();
  bool draining() const;
  // Posts every live connection's abort to its loop.
  void AbortAll();
  // Posts every live connection's recheck to its loop (works while draining
  // too: draining connections still carry traffic).
  void RecheckAll();
  std::size_t active() const;
  std::uint64_t total() const;
  // Blocks the caller (never a loop thread that runs connections) until no
  // connection is registered, woken by the last one's end; false if
  // |deadline| passed first.
  bool WaitIdle(std::chrono::steady_clock::time_point deadline) const;

 private:
  ConnectionTracker() = default;
  void Unregister(std::uint64_t id);

  struct Entry {
    asio::any_io_executor executor;
    std::function<void()> abort;
    std::function<void()> drain;
    std::function<void()> recheck;
    ConnectionView view;
  };
  // Posts |pick|(entry) of every live entry to its loop, if still live then.
  void PostToAll(std::function<void()> Entry::*pick);
  mutable std::mutex mu_;
  mutable std::condition_variable idle_;  // notified when live_ becomes empty
  std::unordered_map<std::uint64_t, Entry> live_;  // guarded by mu_
  std::uint64_t next_id_ = 1;                      // guarded by mu_
  bool draining_ = false;                          // guarded by mu_
};

}  // namespace ambit::node
