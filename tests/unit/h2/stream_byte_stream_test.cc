#include "h2/stream_byte_stream.h"

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/io_context.hpp>
#include <asio/use_awaitable.hpp>

#include <gtest/gtest.h>

#include <functional>
#include <string>

#include "h2/session.h"

namespace ambit::h2 {
namespace {

using asio::ip::tcp;

std::string Pattern(std::size_t n) {
  std::string s(n, '\0');
  for (std::size_t i = 0; i < n; ++i) s[i] = static_cast<char>((i * 13 + (i >> 11)) & 0xff);
  return s;
}

// Reads |stream| to EOF (or error) through the ByteStream interface.
asio::awaitable<Result<std::string>> ReadToEnd(net::ByteStream& stream) {
  std::string out;
  std::vector<std::uint8_t> buf(50000);  // not a multiple of any frame size
  for (;;) {
    auto n = co_await stream.ReadSome(buf);
    if (!n.ok()) co_return std::move(n).error();
    if (*n == 0) co_return out;
    out.append(reinterpret_cast<const char*>(buf.data()), *n);
  }
}

asio::awaitable<Status> WriteString(net::ByteStream& stream, std::string data) {
  const net::ConstBytes piece(reinterpret_cast<const std::uint8_t*>(data.data()), data.size());
  const std::span<const net::ConstBytes> pieces(&piece, 1);
  Status status = co_await stream.Write(pieces);
  co_return status;
}

Headers Connect() { return {{":method", "CONNECT"}, {":authority", "10.0.0.1:80"}}; }

class StreamByteStreamTest : public ::testing::Test {
 protected:
  // An outer HTTP/2 connection over loopback TCP: the server calls |on_tunnel|
  // with each stream (after answering 200); |body| runs with the client session.
  void Run(std::function<void(std::shared_ptr<Stream>)> on_tunnel,
           std::function<asio::awaitable<void>(std::shared_ptr<Session>)> body) {
    tcp::acceptor acceptor(io_, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
    bool done = false;
    asio::co_spawn(io_, [&]() -> asio::awaitable<void> {
      tcp::socket s = co_await acceptor.async_accept(asio::use_awaitable);
      auto handler = [on_tunnel](std::shared_ptr<Stream> stream) {
        (void)stream->session().Respond(*stream, 200, {}, false);
        on_tunnel(std::move(stream));
      };
      server_ = Session::Create(Role::kServer, std::make_unique<net::TcpByteStream>(std::move(s)), {},
                                handler)
                    .value();
      server_->Start();
    }, asio::detached);
    asio::co_spawn(io_, [&]() -> asio::awaitable<void> {
      tcp::socket s(io_);
      co_await s.async_connect(acceptor.local_endpoint(), asio::use_awaitable);
      auto client =
          Session::Create(Role::kClient, std::make_unique<net::TcpByteStream>(std::move(s)), {}).value();
      client->Start();
      co_await body(client);
      for (auto& inner : inner_) inner->Terminate("test over");
      client->Terminate("test over");
      if (server_) server_->Terminate("test over");
      done = true;
    }, asio::detached);
    io_.run_for(std::chrono::seconds(60));
    EXPECT_TRUE(done) << "test body did not finish";
  }

  asio::io_context io_;
  std::shared_ptr<Session> server_;
  std::vector<std::shared_ptr<Session>> inner_;
};

// The use it exists for: an HTTP/2 session (h2c) inside an HTTP/2 stream, as
// a waypoint sees HTTP/2 tunneled in HBONE. Megabytes cross both layers'
// flow control byte-exact.
TEST_F(StreamByteStreamTest, HttpTwoRunsInsideAStream) {
  const std::string payload = Pattern(3 * 1024 * 1024 + 5);
  std::string echoed;
  std::string inner_path;
  auto on_tunnel = [&](std::shared_ptr<Stream> tunnel) {
    auto echo = [&](std::shared_ptr<Stream> request) {
      inner_path = std::string(request->PeerHeader(":path"));
      (void)request->session().Respond(*request, 200, {}, false);
      asio::co_spawn(request->session().executor(), [request]() -> asio::awaitable<void> {
        StreamByteStream bytes(request);
        auto got = co_await ReadToEnd(bytes);
        if (!got.ok()) co_return;
        (void)co_await WriteString(bytes, *got);
        co_await bytes.ShutdownWrite();
      }, asio::detached);
    };
    auto inner = Session::Create(Role::kServer, std::make_unique<StreamByteStream>(tunnel), {}, echo);
    ASSERT_TRUE(inner.ok()) << inner.error().ToString();
    (*inner)->Start();
    inner_.push_back(*inner);
  };
  Run(on_tunnel, [&](std::shared_ptr<Session> client) -> asio::awaitable<void> {
    auto tunnel = co_await client->OpenStream(Connect());
    EXPECT_TRUE(tunnel.ok());
    if (!tunnel.ok()) co_return;
    auto inner = Session::Create(Role::kClient, std::make_unique<StreamByteStream>(*tunnel), {});
    EXPECT_TRUE(inner.ok());
    if (!inner.ok()) co_return;
    (*inner)->Start();
    inner_.push_back(*inner);
    const Headers request = {{":method", "POST"}, {":scheme", "http"}, {":authority", "reviews:9080"},
                             {":path", "/reviews/1"}};
    auto stream = co_await (*inner)->OpenStream(request);
    EXPECT_TRUE(stream.ok());
    if (!stream.ok()) co_return;
    EXPECT_EQ((*stream)->PeerHeader(":status"), "200");
    StreamByteStream bytes(*stream);
    EXPECT_EQ(bytes.get_executor(), client->executor());
    Status sent = co_await WriteString(bytes, payload);
    EXPECT_TRUE(sent.ok()) << (sent.ok() ? "" : sent.error().ToString());
    co_await bytes.ShutdownWrite();
    auto got = co_await ReadToEnd(bytes);
    EXPECT_TRUE(got.ok()) << got.error().ToString();
    if (got.ok()) echoed = std::move(*got);
  });
  EXPECT_EQ(inner_path, "/reviews/1");
  EXPECT_EQ(echoed.size(), payload.size());
  EXPECT_TRUE(echoed == payload);
}

TEST_F(StreamByteStreamTest, HalfCloseIsEndOfStreamAndWritesAfterItFail) {
  std::string server_got;
  auto on_tunnel = [&](std::shared_ptr<Stream> tunnel) {
    asio::co_spawn(tunnel->session().executor(), [&, tunnel]() -> asio::awaitable<void> {
      StreamByteStream bytes(tunnel);
      auto got = co_await ReadToEnd(bytes);  // ends at the client's END_STREAM
      if (got.ok()) server_got = *got;
      std::string reply = "after your end: " + std::to_string(server_got.size());
      (void)co_await WriteString(bytes, std::move(reply));
      co_await bytes.ShutdownWrite();
    }, asio::detached);
  };
  Run(on_tunnel, [&](std::shared_ptr<Session> client) -> asio::awaitable<void> {
    auto tunnel = (co_await client->OpenStream(Connect())).value();
    StreamByteStream bytes(tunnel);
    std::string hello = "hello";
    Status first = co_await WriteString(bytes, hello);
    EXPECT_TRUE(first.ok());
    co_await bytes.ShutdownWrite();
    std::string too_late = "too late";
    Status late = co_await WriteString(bytes, too_late);
    EXPECT_FALSE(late.ok());
    auto reply = co_await ReadToEnd(bytes);
    EXPECT_TRUE(reply.ok());
    if (reply.ok()) {
      EXPECT_EQ(*reply, "after your end: 5");
    }
    EXPECT_FALSE(tunnel->reset());
  });
  EXPECT_EQ(server_got, "hello");
}

TEST_F(StreamByteStreamTest, AResetFailsReadsWithItsReason) {
  // The server resets once the client's first bytes arrive (after the 200).
  auto on_tunnel = [](std::shared_ptr<Stream> tunnel) {
    asio::co_spawn(tunnel->session().executor(), [tunnel]() -> asio::awaitable<void> {
      co_await tunnel->WaitReadable();
      tunnel->Reset(ErrorCodeH2::kConnectError);
    }, asio::detached);
  };
  Run(on_tunnel, [&](std::shared_ptr<Session> client) -> asio::awaitable<void> {
    auto tunnel = (co_await client->OpenStream(Connect())).value();
    StreamByteStream bytes(tunnel);
    std::string x = "x";
    Status sent = co_await WriteString(bytes, x);
    EXPECT_TRUE(sent.ok());
    std::vector<std::uint8_t> buf(100);
    auto n = co_await bytes.ReadSome(buf);
    EXPECT_FALSE(n.ok());
    if (!n.ok()) {
      EXPECT_EQ(n.error().code(), ErrorCode::kUnavailable);
      EXPECT_NE(n.error().ToString().find("CONNECT_ERROR"), std::string::npos) << n.error().ToString();
      EXPECT_NE(n.error().ToString().find("by the peer"), std::string::npos) << n.error().ToString();
    }
  });
}

TEST_F(StreamByteStreamTest, CloseAndDestructionResetTheStream) {
  std::shared_ptr<Stream> seen;
  auto on_tunnel = [&](std::shared_ptr<Stream> tunnel) { seen = tunnel; };
  Run(on_tunnel, [&](std::shared_ptr<Session> client) -> asio::awaitable<void> {
    auto tunnel = (co_await client->OpenStream(Connect())).value();
    {
      StreamByteStream bytes(tunnel);
    }  // dropped while open: aborts like closing a socket
    EXPECT_TRUE(tunnel->reset());
    if (seen) co_await seen->WaitReadable();
    EXPECT_TRUE(seen && seen->reset());
    if (seen) {
      EXPECT_EQ(seen->reset_code(), static_cast<std::uint32_t>(ErrorCodeH2::kCancel));
    }
  });
}

}  // namespace
}  // namespace ambit::h2
