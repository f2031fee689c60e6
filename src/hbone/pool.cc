#include "hbone/pool.h"


#include <algorithm>

#include "core/check.h"
#include "core/co_try.h"
#include "core/log.h"
#include "net/connect.h"
#include "net/event.h"
#include "net/with_timeout.h"
#include "tls/tls_stream.h"

namespace ambit::hbone {

struct Pool::Dial {
  explicit Dial(const asio::any_io_executor& ex) : done(ex) {}
  net::Event done;  // set when the dial finishes (wakes all waiters)
  std::optional<Error> error;
};

std::string PoolKey::ToString() const {
  std::string out = source_identity.ToString() + "@" + source_ip.ToString() + " -> " +
                    destination.ToString() + " [";
  for (std::size_t i = 0; i < expected_identities.size(); ++i) {
    if (i) out += ", ";
    out += expected_identities[i].ToString();
  }
  return out + "]";
}

std::size_t PoolKeyHash::operator()(const PoolKey& k) const {
  std::size_t h = std::hash<net::SocketAddress>()(k.destination);
  auto mix = [&h](std::size_t v) { h ^= v + 0x9e3779b97f4a7c15ull + (h << 6) + (h >> 2); };
  mix(std::hash<net::IpAddress>()(k.source_ip));
  mix(std::hash<std::string>()(k.source_identity.ns()));
  mix(std::hash<std::string>()(k.source_identity.service_account()));
  for (const auto& id : k.expected_identities) mix(std::hash<std::string>()(id.service_account()));
  return h;
}

Pool::Pool(asio::any_io_executor loop, Options options, Stats* stats)
    : loop_(std::move(loop)), options_(std::move(options)), stats_(stats), sweep_timer_(loop_) {
  ScheduleSweep();
}

Pool::~Pool() { Shutdown(); }

void Pool::ScheduleSweep() {
  if (shut_down_) return;
  const auto period = std::clamp(options_.idle_timeout / 2, std::chrono::milliseconds(10),
                                 std::chrono::milliseconds(30'000));
  sweep_timer_.expires_after(period);
  sweep_timer_.async_wait([this, alive = std::weak_ptr<bool>(alive_)](asio::error_code ec) {
    if (ec || alive.expired()) return;  // cancelled or destroyed
    Sweep();
    ScheduleSweep();
  });
}

void Pool::Sweep() {
  const auto now = std::chrono::steady_clock::now();
  for (auto it = entries_.begin(); it != entries_.end();) {
    auto& conns = it->second.conns;
    for (auto& c : conns) {
      if (!c->session->closed() && c->session->active_streams() == 0 && c->reserved == 0 &&
          now - c->session->last_active() >= options_.idle_timeout) {
        c->session->Shutdown();
      }
    }
    std::erase_if(conns, [](const auto& c) { return c->session->closed() || !c->session->accepting_new_streams(); });
    if (conns.empty() && !it->second.dialing) {
      it = entries_.erase(it);
    } else {
      ++it;
    }
  }
}

void Pool::Shutdown() {
  if (shut_down_) return;
  shut_down_ = true;
  sweep_timer_.cancel();
  for (auto& [key, entry] : entries_) {
    for (auto& c : entry.conns) c->session->Shutdown();
  }
  entries_.clear();
}

std::size_t Pool::connection_count() const {
  std::size_t n = 0;
  for (const auto& [key, entry] : entries_) {
    for (const auto& c : entry.conns) n += c->session->closed() ? 0 : 1;
  }
  return n;
}

std::shared_ptr<Pool::Conn> Pool::FindWithCapacity(Entry& entry) {
  std::erase_if(entry.conns, [](const auto& c) { return c->session->closed(); });
  for (auto& c : entry.conns) {
    if (!c->session->accepting_new_streams()) continue;
    const std::size_t limit = std::min<std::size_t>(options_.max_streams_per_connection,
                                                    c->session->peer_max_concurrent_streams());
    if (c->session->active_streams() + c->reserved < limit) return c;
  }
  return nullptr;
}

std::shared_ptr<h2::Session> Pool::FindReady(const PoolKey& key) {
  auto it = entries_.find(key);
  if (it == entries_.end()) return nullptr;
  auto conn = FindWithCapacity(it->second);
  return conn != nullptr ? conn->session : nullptr;
}

asio::awaitable<Result<std::shared_ptr<Pool::Conn>>> Pool::Acquire(const PoolKey& key,
                                                                   const DialParams& dial) {
  for (;;) {
    if (shut_down_) co_return Error(ErrorCode::kUnavailable, "connection pool is shut down");
    Entry& entry = entries_[key];
    if (auto conn = FindWithCapacity(entry)) {
      ++conn->reserved;
      co_return conn;
    }
    if (auto pending = entry.dialing) {
      // Single flight: wait for the dial in progress, then look again.
      const bool finished = co_await pending->done.Wait();
      if (!finished) co_return Error(ErrorCode::kUnavailable, "cancelled while waiting for a connection");
      if (pending->error) co_return *pending->error;
      continue;
    }
    auto pending = std::make_shared<Dial>(loop_);
    entry.dialing = pending;
    auto session = co_await DialNew(key, dial);
    if (shut_down_) {
      if (session.ok()) (*session)->Shutdown();
      pending->error = Error(ErrorCode::kUnavailable, "connection pool is shut down");
      pending->done.Set();
      co_return *pending->error;
    }
    Entry& after = entries_[key];  // the map may have changed while we waited
    after.dialing.reset();
    if (session.ok()) {
      auto conn = std::make_shared<Conn>();
      conn->session = std::move(*session);
      after.conns.push_back(conn);
    } else {
      pending->error = session.error();
    }
    pending->done.Set();
    if (!session.ok()) co_return std::move(session).error();
  }
}

asio::awaitable<Result<std::shared_ptr<h2::Session>>> Pool::DialNew(const PoolKey& key,
                                                                    const DialParams& dial) {
  const std::string where = "HBONE connection " + key.ToString();
  net::ConnectOptions connect_options;
  connect_options.timeout = options_.connect_timeout;
  auto socket = co_await net::Connect(*dial.sockets, key.destination, connect_options);
  if (!socket.ok()) {
    stats_->Local().tls_connect_failures.Inc();
    Error e = std::move(socket).error();
    if (e.code() == ErrorCode::kTimeout) {
      e.WithContext("(a NetworkPolicy may be blocking port " + std::to_string(key.destination.port()) + ")");
    }
    co_return std::move(e).WithContext(where);
  }
  tls::PeerPolicy policy;
  policy.expected_identities = key.expected_identities;
  AMBIT_CO_TRY_CONTEXT(auto stream, tls::TlsStream::Create(std::move(*socket), dial.tls, std::move(policy)),
                       where);
  // The handshake gets its own deadline.
  asio::awaitable<Status> handshake = stream->Handshake();
  Status hs = co_await net::WithTimeout(std::move(handshake), options_.handshake_timeout);
  if (!hs.ok()) {
    stats_->Local().tls_connect_failures.Inc();
    Error e = std::move(hs).error();
    if (e.code() == ErrorCode::kTimeout) e.WithContext("TLS handshake");
    co_return std::move(e).WithContext(where);
  }
  AMBIT_CO_TRY_CONTEXT(auto session, h2::Session::Create(h2::Role::kClient, std::move(stream), options_.h2),
                       where);
  session->Start();
  stats_->Local().tls_connections_opened.Inc();
  AMBIT_LOG_DEBUG("opened {}", where);
  co_return std::move(session);
}

asio::awaitable<Result<std::shared_ptr<h2::Stream>>> Pool::Submit(const PoolKey& key,
                                                                  const DialParams& dial,
                                                                  const h2::Headers& headers) {
  for (int attempt = 1;; ++attempt) {
    auto conn = co_await Acquire(key, dial);
    if (!conn.ok()) {
      stats_->Local().stream_failures.Inc();
      co_return std::move(conn).error();
    }
    // The reservation covers only the gap until the stream is submitted; from
    // then on the session counts it.
    auto submitted = (*conn)->session->SubmitRequest(headers);
    --(*conn)->reserved;
    if (submitted.ok()) co_return std::move(*submitted);
    // The connection started closing meanwhile: another one will be picked.
    if (attempt == kConnectAttempts) {
      stats_->Local().stream_failures.Inc();
      co_return std::move(submitted).error().WithContext("CONNECT via " + key.ToString());
    }
  }
}

bool RefusedUnprocessed(const h2::Stream& stream) {
  return stream.reset() && stream.peer_headers().empty() &&
         stream.reset_code() == static_cast<std::uint32_t>(h2::ErrorCodeH2::kRefusedStream);
}

asio::awaitable<Status> Pool::AwaitConnected(const PoolKey& key, const std::shared_ptr<h2::Stream>& stream,
                                             bool final_attempt) {
  auto answered = co_await stream->session().AwaitResponse(stream);
  if (!answered.ok()) {
    if (final_attempt || !RefusedUnprocessed(*stream)) stats_->Local().stream_failures.Inc();
    co_return std::move(answered).error().WithContext("CONNECT via " + key.ToString());
  }
  const std::string_view status = stream->PeerHeader(":status");
  if (status != "200") {
    stream->Reset(h2::ErrorCodeH2::kCancel);
    stats_->Local().stream_failures.Inc();
    const ErrorCode code = status == "400"   ? ErrorCode::kInvalidArgument
                           : status == "401" ? ErrorCode::kPermissionDenied
                                             : ErrorCode::kUnavailable;
    co_return Error(code, "CONNECT answered " + std::string(status))
        .WithContext("CONNECT via " + key.ToString());
  }
  stats_->Local().streams_opened.Inc();
  // One stream per connection: no reuse; GOAWAY now (after the request went
  // out, so the stream stays) and the connection closes when the stream ends.
  if (options_.max_streams_per_connection <= 1) stream->session().Shutdown();
  co_return Ok();
}

asio::awaitable<Result<std::shared_ptr<h2::Stream>>> Pool::Connect(PoolKey key, DialParams dial,
                                                                   h2::Headers headers,
                                                                   SubmittedHook on_submitted) {
  // A stream the server refused unprocessed (REFUSED_STREAM, e.g. it was
  // draining and its GOAWAY crossed our request) is safe to retry; the retry
  // lands on another connection because the refusing one no longer accepts.
  for (int attempt = 1;; ++attempt) {
    auto stream = co_await Submit(key, dial, headers);
    if (!stream.ok()) co_return std::move(stream).error();
    if (on_submitted) on_submitted(*stream);
    const bool final_attempt = attempt == kConnectAttempts;
    Status answered = co_await AwaitConnected(key, *stream, final_attempt);
    if (answered.ok()) co_return std::move(*stream);
    if (final_attempt || !RefusedUnprocessed(**stream)) co_return std::move(answered).error();
    AMBIT_LOG_DEBUG("CONNECT via {} refused unprocessed; retrying", key.ToString());
  }
}

PoolSet::PoolSet(net::WorkerPool& workers, const Pool::Options& options, Stats* stats) {
  for (std::size_t i = 0; i < workers.size(); ++i) {
    pools_.push_back(std::make_unique<Pool>(workers.loop(i).get_executor(), options, stats));
  }
}

Pool& PoolSet::Local() {
  const int index = net::WorkerPool::CurrentIndex();
  AMBIT_CHECK(index >= 0 && static_cast<std::size_t>(index) < pools_.size(),
              "PoolSet::Local() called off the worker pool");
  return *pools_[static_cast<std::size_t>(index)];
}

}  // namespace ambit::hbone
