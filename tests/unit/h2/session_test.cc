#include "h2/session.h"

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/io_context.hpp>
#include <asio/redirect_error.hpp>
#include <asio/steady_timer.hpp>
#include <asio/use_awaitable.hpp>

#include <gtest/gtest.h>

#include <cstring>
#include <functional>

namespace ambit::h2 {
namespace {

using asio::ip::tcp;

std::string Pattern(std::size_t n, int seed) {
  std::string s(n, '\0');
  for (std::size_t i = 0; i < n; ++i) s[i] = static_cast<char>((i * 7 + seed + (i >> 13)) & 0xff);
  return s;
}

asio::awaitable<void> Sleep(std::chrono::milliseconds d) {
  asio::steady_timer t(co_await asio::this_coro::executor, d);
  asio::error_code ec;
  co_await t.async_wait(asio::redirect_error(asio::use_awaitable, ec));
}

// Writes |data| into |stream| respecting backpressure.
asio::awaitable<void> SendAll(std::shared_ptr<Stream> stream, std::string data, bool close) {
  std::size_t off = 0;
  while (off < data.size() && !stream->reset()) {
    co_await stream->WaitWritable();
    if (stream->reset()) break;
    auto space = stream->Prepare(data.size() - off);
    std::memcpy(space.data(), data.data() + off, space.size());
    stream->Commit(space.size());
    off += space.size();
  }
  if (close) stream->CloseSend();
}

// Reads until the peer finishes (or reset); returns the bytes.
asio::awaitable<std::string> RecvAll(std::shared_ptr<Stream> stream) {
  std::string out;
  std::array<std::span<const std::uint8_t>, 16> views;
  for (;;) {
    co_await stream->WaitReadable();
    const std::size_t n = stream->Gather(views, 1 << 20);
    std::size_t total = 0;
    for (std::size_t i = 0; i < n; ++i) {
      out.append(reinterpret_cast<const char*>(views[i].data()), views[i].size());
      total += views[i].size();
    }
    stream->Consume(total);
    if (stream->reset() || stream->read_finished()) break;
  }
  co_return out;
}

// Echo handler: 200, then every byte back; END_STREAM after the peer's.
void EchoHandler(std::shared_ptr<Stream> stream) {
  asio::co_spawn(stream->session().executor(), [stream]() -> asio::awaitable<void> {
    (void)stream->session().Respond(*stream, 200, {}, false);
    std::array<std::span<const std::uint8_t>, 16> views;
    for (;;) {
      co_await stream->WaitReadable();
      co_await stream->WaitWritable();
      const std::size_t n = stream->Gather(views, 256 * 1024);
      std::size_t total = 0;
      for (std::size_t i = 0; i < n; ++i) {
        stream->Write(views[i]);
        total += views[i].size();
      }
      stream->Consume(total);
      if (stream->reset()) co_return;
      if (stream->read_finished()) {
        stream->CloseSend();
        co_return;
      }
    }
  }, asio::detached);
}

class SessionTest : public ::testing::Test {
 protected:
  // Runs |body| with a connected client session; the server runs |handler|.
  void Run(Session::RequestHandler handler,
           std::function<asio::awaitable<void>(std::shared_ptr<Session>)> body, Settings settings = {}) {
    tcp::acceptor acceptor(io_, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
    std::shared_ptr<Session> server;
    bool done = false;
    asio::co_spawn(io_, [&]() -> asio::awaitable<void> {
      tcp::socket s = co_await acceptor.async_accept(asio::use_awaitable);
      server = Session::Create(Role::kServer, std::make_unique<net::TcpByteStream>(std::move(s)), settings,
                               handler).value();
      server->Start();
    }, asio::detached);
    asio::co_spawn(io_, [&]() -> asio::awaitable<void> {
      tcp::socket s(io_);
      co_await s.async_connect(acceptor.local_endpoint(), asio::use_awaitable);
      auto client = Session::Create(Role::kClient, std::make_unique<net::TcpByteStream>(std::move(s)),
                                    settings).value();
      client->Start();
      co_await body(client);
      client->Terminate("test over");
      if (server) server->Terminate("test over");
      done = true;
    }, asio::detached);
    io_.run_for(std::chrono::seconds(60));
    EXPECT_TRUE(done) << "test body did not finish";
  }

  static Headers Connect() { return {{":method", "CONNECT"}, {":authority", "10.0.0.1:80"}}; }

  asio::io_context io_;
};

TEST_F(SessionTest, EchoesManyMegabytesByteExact) {
  const std::string payload = Pattern(9 * 1024 * 1024 + 17, 3);
  std::string echoed;
  Run(EchoHandler, [&](std::shared_ptr<Session> client) -> asio::awaitable<void> {
    auto stream = co_await client->OpenStream(Connect());
    EXPECT_TRUE(stream.ok());
    if (!stream.ok()) co_return;
    EXPECT_EQ((*stream)->PeerHeader(":status"), "200");
    asio::co_spawn(client->executor(), SendAll(*stream, payload, true), asio::detached);
    echoed = co_await RecvAll(*stream);
    EXPECT_FALSE((*stream)->reset());
  });
  EXPECT_EQ(echoed.size(), payload.size());
  EXPECT_TRUE(echoed == payload);
}

TEST_F(SessionTest, HalfCloseLetsTheServerAnswerAfterTheRequestEnds) {
  std::string reply;
  auto handler = [](std::shared_ptr<Stream> stream) {
    asio::co_spawn(stream->session().executor(), [stream]() -> asio::awaitable<void> {
      (void)stream->session().Respond(*stream, 200, {}, false);
      std::string got = co_await RecvAll(stream);  // until the client's END_STREAM
      co_await SendAll(stream, "got " + std::to_string(got.size()), true);
    }, asio::detached);
  };
  Run(handler, [&](std::shared_ptr<Session> client) -> asio::awaitable<void> {
    auto stream = (co_await client->OpenStream(Connect())).value();
    co_await SendAll(stream, "hello", true);
    reply = co_await RecvAll(stream);
    EXPECT_FALSE(stream->reset());
    EXPECT_TRUE(stream->read_finished());
  });
  EXPECT_EQ(reply, "got 5");
}

TEST_F(SessionTest, ResetPropagatesBothWays) {
  std::shared_ptr<Stream> server_stream;
  auto handler = [&](std::shared_ptr<Stream> stream) {
    server_stream = stream;
    (void)stream->session().Respond(*stream, 200, {}, false);
  };
  Run(handler, [&](std::shared_ptr<Session> client) -> asio::awaitable<void> {
    // Client resets: the server's stream sees it.
    auto a = (co_await client->OpenStream(Connect())).value();
    a->Reset(ErrorCodeH2::kCancel);
    for (int i = 0; i < 100 && !server_stream->reset(); ++i) co_await Sleep(std::chrono::milliseconds(5));
    EXPECT_TRUE(server_stream->reset());
    EXPECT_EQ(server_stream->reset_code(), static_cast<std::uint32_t>(ErrorCodeH2::kCancel));
    // Server resets: a waiting client reader wakes up with reset().
    auto b = (co_await client->OpenStream(Connect())).value();
    server_stream->Reset(ErrorCodeH2::kConnectError);
    co_await b->WaitReadable();
    EXPECT_TRUE(b->reset());
    EXPECT_EQ(b->reset_code(), static_cast<std::uint32_t>(ErrorCodeH2::kConnectError));
  });
}

TEST_F(SessionTest, ErrorStatusEndsTheStream) {
  auto handler = [](std::shared_ptr<Stream> stream) {
    (void)stream->session().Respond(*stream, 503, {{"x-why", "no"}}, true);
  };
  Run(handler, [&](std::shared_ptr<Session> client) -> asio::awaitable<void> {
    auto s = (co_await client->OpenStream(Connect())).value();
    EXPECT_EQ(s->PeerHeader(":status"), "503");
    EXPECT_EQ(s->PeerHeader("x-why"), "no");
    co_await s->WaitReadable();
    EXPECT_TRUE(s->read_finished());
  });
}

TEST_F(SessionTest, SlowReaderBoundsBuffersOnBothSides) {
  std::shared_ptr<Stream> server_stream;
  auto handler = [&](std::shared_ptr<Stream> stream) {
    server_stream = stream;
    (void)stream->session().Respond(*stream, 200, {}, false);
  };
  Settings settings;
  // Outlives the body: the detached sender finishes after the body returns.
  bool sender_done = false;
  Run(handler, [&](std::shared_ptr<Session> client) -> asio::awaitable<void> {
    auto s = (co_await client->OpenStream(Connect())).value();
    // Offer 32 MiB while the server consumes nothing.
    asio::co_spawn(client->executor(), [&, s]() -> asio::awaitable<void> {
      co_await SendAll(s, Pattern(32 * 1024 * 1024, 1), false);
      sender_done = true;
    }, asio::detached);
    co_await Sleep(std::chrono::milliseconds(300));
    EXPECT_FALSE(sender_done);
    // The server holds at most one stream window; the client at most its send buffer.
    EXPECT_LE(server_stream->readable_bytes(), settings.stream_window);
    EXPECT_GT(server_stream->readable_bytes(), 0u);
    EXPECT_LE(s->pending_send_bytes(), settings.stream_send_buffer + ChunkQueue::kBlockBytes);
    s->Reset();
  }, settings);
}

TEST_F(SessionTest, ManyConcurrentStreamsShareOneConnection) {
  constexpr int kStreams = 60;
  int ok = 0;
  Run(EchoHandler, [&](std::shared_ptr<Session> client) -> asio::awaitable<void> {
    int finished = 0;
    for (int i = 0; i < kStreams; ++i) {
      asio::co_spawn(client->executor(), [&, client, i]() -> asio::awaitable<void> {
        auto s = co_await client->OpenStream(Connect());
        if (s.ok()) {
          const std::string data = Pattern(100000 + i, i);
          asio::co_spawn(client->executor(), SendAll(*s, data, true), asio::detached);
          if (co_await RecvAll(*s) == data) ++ok;
        }
        ++finished;
      }, asio::detached);
    }
    while (finished < kStreams) co_await Sleep(std::chrono::milliseconds(5));
    EXPECT_EQ(client->active_streams(), 0u);
  });
  EXPECT_EQ(ok, kStreams);
}

TEST_F(SessionTest, GracefulShutdownFinishesOpenStreamsAndRefusesNewOnes) {
  std::shared_ptr<Stream> server_stream;
  auto handler = [&](std::shared_ptr<Stream> stream) {
    server_stream = stream;
    (void)stream->session().Respond(*stream, 200, {}, false);
  };
  std::string reply;
  bool closed = false;
  Run(handler, [&](std::shared_ptr<Session> client) -> asio::awaitable<void> {
    client->set_on_close([&closed] { closed = true; });
    auto open = (co_await client->OpenStream(Connect())).value();
    server_stream->session().Shutdown();  // GOAWAY while |open| is active
    for (int i = 0; i < 100 && client->accepting_new_streams(); ++i) co_await Sleep(std::chrono::milliseconds(5));
    EXPECT_FALSE(client->accepting_new_streams());
    EXPECT_FALSE((co_await client->OpenStream(Connect())).ok());
    // The open stream still carries data both ways.
    co_await SendAll(server_stream, "still here", true);
    co_await SendAll(open, "bye", true);
    reply = co_await RecvAll(open);
    for (int i = 0; i < 100 && !closed; ++i) co_await Sleep(std::chrono::milliseconds(5));
    EXPECT_TRUE(closed) << "the drained connection should close";
  });
  EXPECT_EQ(reply, "still here");
}

TEST_F(SessionTest, TrailersTravelBothWaysAfterTheBody) {
  Headers server_saw_trailers;
  std::string server_saw_body;
  auto handler = [&](std::shared_ptr<Stream> stream) {
    asio::co_spawn(stream->session().executor(), [&, stream]() -> asio::awaitable<void> {
      const Headers response = {{"content-type", "application/grpc"}};
      (void)stream->session().Respond(*stream, 200, response, false);
      server_saw_body = co_await RecvAll(stream);
      server_saw_trailers = stream->peer_trailers();
      co_await SendAll(stream, "reply", false);
      // Named: GCC 12 cannot keep an initializer list across a coroutine's suspension.
      Headers trailers = {{"grpc-status", "0"}, {"grpc-message", "ok"}};
      stream->CloseSend(std::move(trailers));
    }, asio::detached);
  };
  Headers client_saw_trailers;
  std::string reply;
  Run(handler, [&](std::shared_ptr<Session> client) -> asio::awaitable<void> {
    const Headers request = {{":method", "POST"},
                             {":scheme", "http"},
                             {":authority", "svc"},
                             {":path", "/pkg.Svc/Call"},
                             {"te", "trailers"}};
    auto stream = (co_await client->OpenStream(request)).value();
    EXPECT_EQ(stream->PeerHeader("content-type"), "application/grpc");
    co_await SendAll(stream, "request", false);
    Headers trailers = {{"x-client-trailer", "done"}};
    stream->CloseSend(std::move(trailers));
    reply = co_await RecvAll(stream);
    EXPECT_TRUE(stream->read_finished());
    EXPECT_FALSE(stream->reset());
    client_saw_trailers = stream->peer_trailers();
    EXPECT_TRUE(stream->peer_headers().size() >= 2);
    for (const Header& h : stream->peer_headers()) EXPECT_NE(h.name, "grpc-status") << "trailer among headers";
  });
  EXPECT_EQ(server_saw_body, "request");
  ASSERT_EQ(server_saw_trailers.size(), 1u);
  EXPECT_EQ(server_saw_trailers[0].name, "x-client-trailer");
  EXPECT_EQ(server_saw_trailers[0].value, "done");
  EXPECT_EQ(reply, "reply");
  ASSERT_EQ(client_saw_trailers.size(), 2u);
  EXPECT_EQ(FindField(client_saw_trailers, "grpc-status"), "0");
  EXPECT_EQ(FindField(client_saw_trailers, "grpc-message"), "ok");
}

TEST_F(SessionTest, TrailersWithoutABodyAndARequestWithoutOne) {
  // A GET ends with its HEADERS (END_STREAM); the answer is headers then
  // trailers only (gRPC's trailers-only error shape, here after an empty body).
  bool request_ended = false;
  auto handler = [&](std::shared_ptr<Stream> stream) {
    asio::co_spawn(stream->session().executor(), [&, stream]() -> asio::awaitable<void> {
      co_await stream->WaitReadable();
      request_ended = stream->read_finished();
      (void)stream->session().Respond(*stream, 200, {}, false);
      Headers trailers = {{"grpc-status", "14"}};
      stream->CloseSend(std::move(trailers));
    }, asio::detached);
  };
  Run(handler, [&](std::shared_ptr<Session> client) -> asio::awaitable<void> {
    const Headers get = {{":method", "GET"}, {":scheme", "http"}, {":authority", "svc"}, {":path", "/"}};
    auto stream = (co_await client->OpenStream(get, /*end_stream=*/true)).value();
    std::string body = co_await RecvAll(stream);
    EXPECT_EQ(body, "");
    EXPECT_TRUE(stream->read_finished());
    EXPECT_EQ(FindField(stream->peer_trailers(), "grpc-status"), "14");
  });
  EXPECT_TRUE(request_ended);
}

TEST_F(SessionTest, ResetAndGoawayReasonsReachTheCaller) {
  std::shared_ptr<Stream> server_stream;
  auto handler = [&](std::shared_ptr<Stream> stream) {
    server_stream = stream;
    (void)stream->session().Respond(*stream, 200, {}, false);
  };
  Run(handler, [&](std::shared_ptr<Session> client) -> asio::awaitable<void> {
    auto a = (co_await client->OpenStream(Connect())).value();
    server_stream->Reset(ErrorCodeH2::kRefusedStream);
    co_await a->WaitReadable();
    EXPECT_TRUE(a->reset());
    EXPECT_TRUE(a->reset_by_peer());
    EXPECT_EQ(ErrorCodeName(a->reset_code()), "REFUSED_STREAM");
    EXPECT_FALSE(server_stream->reset_by_peer());  // it reset the stream itself

    auto b = (co_await client->OpenStream(Connect())).value();
    b->Reset(ErrorCodeH2::kCancel);
    EXPECT_TRUE(b->reset());
    EXPECT_FALSE(b->reset_by_peer());

    EXPECT_FALSE(client->peer_goaway().has_value());
    server_stream->session().Shutdown();
    for (int i = 0; i < 200 && !client->peer_goaway(); ++i) co_await Sleep(std::chrono::milliseconds(5));
    EXPECT_TRUE(client->peer_goaway().has_value());
    if (!client->peer_goaway()) co_return;
    EXPECT_EQ(ErrorCodeName(client->peer_goaway()->error_code), "NO_ERROR");
    EXPECT_GE(client->peer_goaway()->last_stream_id, b->id());
  });
  EXPECT_EQ(ErrorCodeName(0xb), "ENHANCE_YOUR_CALM");
  EXPECT_EQ(ErrorCodeName(0x42), "0x42");
}

// A sink that takes some of what it is offered (a partial send), refuses
// every third offer (EAGAIN), and checks that it is offered bytes only while
// nothing is queued; the queue reader and the sink append to one string.
class PickySink final : public DataSink {
 public:
  PickySink(Stream& stream, std::string& out) : stream_(stream), out_(out) {}
  std::size_t TryDeliver(std::span<const std::uint8_t> bytes) override {
    ++offers;
    if (stream_.readable_bytes() != 0) offered_while_queued = true;
    if (offers % 3 == 0) return 0;
    const std::size_t n = std::min(bytes.size(), static_cast<std::size_t>(700 + (offers * 977) % 9000));
    out_.append(reinterpret_cast<const char*>(bytes.data()), n);
    taken += n;
    return n;
  }
  int offers = 0;
  std::size_t taken = 0;
  bool offered_while_queued = false;

 private:
  Stream& stream_;
  std::string& out_;
};

TEST_F(SessionTest, DataSinkTakesBytesInOrderAndReturnsTheirWindow) {
  // More than the 4 MiB stream window: the sender stalls unless the bytes the
  // sink took give their window back.
  const std::string payload = Pattern(6 * 1024 * 1024 + 5, 9);
  std::string received;
  std::unique_ptr<PickySink> sink;
  bool server_done = false;
  auto handler = [&](std::shared_ptr<Stream> stream) {
    sink = std::make_unique<PickySink>(*stream, received);
    stream->SetDataSink(sink.get());
    asio::co_spawn(stream->session().executor(), [&, stream]() -> asio::awaitable<void> {
      (void)stream->session().Respond(*stream, 200, {}, false);
      std::array<std::span<const std::uint8_t>, 16> views;
      for (;;) {
        co_await stream->WaitReadable();
        co_await Sleep(std::chrono::milliseconds(1));  // let the queue grow at times
        const std::size_t n = stream->Gather(views, 1 << 20);
        std::size_t total = 0;
        for (std::size_t i = 0; i < n; ++i) {
          received.append(reinterpret_cast<const char*>(views[i].data()), views[i].size());
          total += views[i].size();
        }
        stream->Consume(total);
        if (stream->reset() || stream->read_finished()) break;
      }
      stream->SetDataSink(nullptr);
      stream->CloseSend();
      server_done = true;
    }, asio::detached);
  };
  Run(handler, [&](std::shared_ptr<Session> client) -> asio::awaitable<void> {
    auto stream = co_await client->OpenStream(Connect());
    EXPECT_TRUE(stream.ok());
    if (!stream.ok()) co_return;
    co_await SendAll(*stream, payload, true);
    std::string rest = co_await RecvAll(*stream);
    EXPECT_TRUE(rest.empty());
    EXPECT_FALSE((*stream)->reset());
  });
  EXPECT_TRUE(server_done);
  ASSERT_TRUE(sink != nullptr);
  EXPECT_FALSE(sink->offered_while_queued);
  EXPECT_GT(sink->taken, 0u);
  EXPECT_LT(sink->taken, payload.size());  // some went through the queue
  EXPECT_EQ(received.size(), payload.size());
  EXPECT_TRUE(received == payload);
}

TEST_F(SessionTest, UnansweredPingsTearTheConnectionDown) {
  // A peer that accepts TCP and never speaks HTTP/2.
  tcp::acceptor silent(io_, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
  tcp::socket held(io_);
  silent.async_accept(held, [](asio::error_code) {});
  Settings settings;
  settings.ping_interval = std::chrono::milliseconds(20);
  settings.ping_timeout = std::chrono::milliseconds(50);
  std::string reason;
  asio::co_spawn(io_, [&]() -> asio::awaitable<void> {
    tcp::socket s(io_);
    co_await s.async_connect(silent.local_endpoint(), asio::use_awaitable);
    auto client = Session::Create(Role::kClient, std::make_unique<net::TcpByteStream>(std::move(s)), settings).value();
    client->set_on_close([&reason, c = client.get()] { reason = c->close_reason(); });
    client->Start();
  }, asio::detached);
  io_.run_for(std::chrono::seconds(5));
  EXPECT_NE(reason.find("no PING answer"), std::string::npos) << reason;
}

}  // namespace
}  // namespace ambit::h2
