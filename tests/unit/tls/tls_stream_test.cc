#include "tls/tls_stream.h"

#include <openssl/ssl.h>
#include <sys/socket.h>

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/io_context.hpp>
#include <asio/redirect_error.hpp>
#include <asio/use_awaitable.hpp>

#include <gtest/gtest.h>

#include <thread>

#include "net/connect.h"
#include "support/test_mesh.h"

namespace ambit::tls {
namespace {

using asio::ip::tcp;
using testing::TestMesh;

struct Outcome {
  Status client = Error(ErrorCode::kInternal, "not run");
  Status server = Error(ErrorCode::kInternal, "not run");
  std::optional<identity::SpiffeId> client_saw;
  std::optional<identity::SpiffeId> server_saw;
  std::string client_alpn;
  std::string server_alpn;
  std::string echoed;
};

// Handshakes a client and a server over loopback, then (if both succeed) the
// client sends |payload| in pieces, half-closes, and reads the echo to EOF.
Outcome RunPair(std::shared_ptr<const TlsContext> client_ctx, PeerPolicy client_policy,
                std::shared_ptr<const TlsContext> server_ctx, const std::string& payload = "") {
  asio::io_context io;
  tcp::acceptor acceptor(io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
  const auto port = acceptor.local_endpoint().port();
  Outcome out;
  asio::co_spawn(io, [&]() -> asio::awaitable<void> {
    asio::error_code ec;
    tcp::socket s = co_await acceptor.async_accept(asio::redirect_error(asio::use_awaitable, ec));
    auto stream = TlsStream::Create(std::move(s), server_ctx, PeerPolicy{}).value();
    out.server = co_await stream->Handshake();
    if (!out.server.ok()) co_return;
    out.server_saw = stream->peer_identity();
    out.server_alpn = stream->alpn();
    std::vector<std::uint8_t> buf(100000);
    for (;;) {
      auto n = co_await stream->ReadSome(buf);
      if (!n.ok() || *n == 0) break;
      net::ConstBytes piece(buf.data(), *n);
      if (!(co_await stream->Write(std::span(&piece, 1))).ok()) break;
    }
    co_await stream->ShutdownWrite();
  }, asio::detached);
  asio::co_spawn(io, [&]() -> asio::awaitable<void> {
    net::DefaultSocketFactory factory;
    auto s = co_await net::Connect(factory, net::SocketAddress(net::IpAddress::Loopback4(), port), {});
    auto stream = TlsStream::Create(std::move(*s), client_ctx, client_policy).value();
    out.client = co_await stream->Handshake();
    if (!out.client.ok()) co_return;
    out.client_saw = stream->peer_identity();
    out.client_alpn = stream->alpn();
    // Mixed piece sizes: tiny ones get coalesced, big ones (4 KiB and up)
    // go direct, each after whatever was staged before it.
    const auto* p = reinterpret_cast<const std::uint8_t*>(payload.data());
    std::vector<net::ConstBytes> pieces;
    std::size_t off = 0;
    for (std::size_t size : {std::size_t{9}, std::size_t{1}, std::size_t{70000}, std::size_t{3}, std::size_t{5000},
                             std::size_t{4095}, std::size_t{4096}, std::size_t{17}, std::size_t{16384}}) {
      const std::size_t n = std::min(size, payload.size() - off);
      pieces.emplace_back(p + off, n);
      off += n;
    }
    pieces.emplace_back(p + off, payload.size() - off);
    Status w = co_await stream->Write(pieces);
    if (!w.ok()) {
      out.client = w;
      co_return;
    }
    co_await stream->ShutdownWrite();
    std::vector<std::uint8_t> buf(65536);
    for (;;) {
      auto n = co_await stream->ReadSome(buf);
      if (!n.ok()) {
        out.client = std::move(n).error();
        break;
      }
      if (*n == 0) break;
      out.echoed.append(reinterpret_cast<char*>(buf.data()), *n);
    }
  }, asio::detached);
  io.run();
  return out;
}

class TlsStreamTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto mesh = TestMesh::Create("cluster.local");
    ASSERT_TRUE(mesh.ok()) << mesh.error().ToString();
    mesh_ = std::make_unique<TestMesh>(std::move(*mesh));
    client_ = Ctx(true, *mesh_->Issue("default", "client"));
    server_ = Ctx(false, *mesh_->Issue("default", "server"));
  }
  static std::shared_ptr<const TlsContext> Ctx(bool client, const WorkloadCredential& cred,
                                               ContextOptions options = {}) {
    auto ctx = client ? TlsContext::Client(cred, std::move(options))
                      : TlsContext::Server(cred, std::move(options));
    EXPECT_TRUE(ctx.ok()) << ctx.error().ToString();
    return *ctx;
  }
  PeerPolicy Expect(const std::string& sa) { return PeerPolicy{{mesh_->Id("default", sa)}, ""}; }

  std::unique_ptr<TestMesh> mesh_;
  std::shared_ptr<const TlsContext> client_;
  std::shared_ptr<const TlsContext> server_;
};

TEST_F(TlsStreamTest, MutualHandshakeExchangesIdentitiesAndBytes) {
  std::string payload(1 << 20, '\0');
  for (std::size_t i = 0; i < payload.size(); ++i) payload[i] = static_cast<char>(i * 131 + (i >> 9));
  Outcome out = RunPair(client_, Expect("server"), server_, payload);
  ASSERT_TRUE(out.client.ok()) << out.client.error().ToString();
  ASSERT_TRUE(out.server.ok()) << out.server.error().ToString();
  EXPECT_EQ(out.client_saw, mesh_->Id("default", "server"));
  EXPECT_EQ(out.server_saw, mesh_->Id("default", "client"));
  EXPECT_EQ(out.echoed.size(), payload.size());
  EXPECT_TRUE(out.echoed == payload);
}

TEST_F(TlsStreamTest, HboneContextsAgreeOnH2) {
  Outcome out = RunPair(client_, Expect("server"), server_, "x");
  ASSERT_TRUE(out.client.ok()) << out.client.error().ToString();
  EXPECT_EQ(out.client_alpn, "h2");
  EXPECT_EQ(out.server_alpn, "h2");
}

TEST_F(TlsStreamTest, AlpnServerPicksItsFirstProtocolTheClientOffers) {
  auto server = Ctx(false, *mesh_->Issue("default", "server"), {{"h2", "http/1.1"}});
  auto h1_only = Ctx(true, *mesh_->Issue("default", "client"), {{"http/1.1"}});
  Outcome out = RunPair(h1_only, Expect("server"), server, "hello");
  ASSERT_TRUE(out.client.ok()) << out.client.error().ToString();
  ASSERT_TRUE(out.server.ok()) << out.server.error().ToString();
  EXPECT_EQ(out.client_alpn, "http/1.1");
  EXPECT_EQ(out.server_alpn, "http/1.1");
  EXPECT_EQ(out.echoed, "hello");

  // The client prefers http/1.1, the server h2: the server's order decides.
  auto both = Ctx(true, *mesh_->Issue("default", "client"), {{"http/1.1", "h2"}});
  Outcome out2 = RunPair(both, Expect("server"), server, "x");
  ASSERT_TRUE(out2.client.ok()) << out2.client.error().ToString();
  EXPECT_EQ(out2.client_alpn, "h2");
  EXPECT_EQ(out2.server_alpn, "h2");
}

TEST_F(TlsStreamTest, AlpnWithNoCommonProtocolFailsBothSides) {
  // HBONE's server takes only h2; an HTTP/1.1-only client is refused.
  auto h1_only = Ctx(true, *mesh_->Issue("default", "client"), {{"http/1.1"}});
  Outcome out = RunPair(h1_only, Expect("server"), server_, "x");
  EXPECT_FALSE(out.client.ok());
  EXPECT_FALSE(out.server.ok());
  // A client that offers nothing while the server requires h2 fails on the server.
  auto none = Ctx(true, *mesh_->Issue("default", "client"), {{}});
  Outcome out2 = RunPair(none, Expect("server"), server_, "x");
  EXPECT_FALSE(out2.server.ok());
  EXPECT_EQ(out2.server.error().code(), ErrorCode::kProtocol) << out2.server.error().ToString();
}

TEST_F(TlsStreamTest, AlpnNamesAreValidated) {
  auto cred = mesh_->Issue("default", "client");
  ASSERT_TRUE(cred.ok());
  auto empty_name = TlsContext::Client(*cred, {{"h2", ""}});
  ASSERT_FALSE(empty_name.ok());
  EXPECT_NE(empty_name.error().ToString().find("ALPN"), std::string::npos);
  auto too_long = TlsContext::Server(*cred, {{std::string(256, 'a')}});
  EXPECT_FALSE(too_long.ok());
}

TEST_F(TlsStreamTest, ClientRefusesServerWithUnexpectedIdentity) {
  Outcome out = RunPair(client_, Expect("someone-else"), server_);
  ASSERT_FALSE(out.client.ok());
  EXPECT_EQ(out.client.error().code(), ErrorCode::kUnauthenticated);
  EXPECT_NE(out.client.error().ToString().find("not one of the expected"), std::string::npos)
      << out.client.error().ToString();
  EXPECT_FALSE(out.server.ok());
}

TEST_F(TlsStreamTest, ServerRefusesClientFromAnotherTrustDomain) {
  auto foreign = mesh_->Issue(identity::SpiffeId("evil.example", "default", "client"));
  ASSERT_TRUE(foreign.ok());
  Outcome out = RunPair(Ctx(true, *foreign), Expect("server"), server_, "x");
  ASSERT_FALSE(out.server.ok());
  EXPECT_NE(out.server.error().ToString().find("not in trust domain cluster.local"), std::string::npos)
      << out.server.error().ToString();
  // TLS 1.3: the client learns of the refusal on its first read.
  EXPECT_FALSE(out.client.ok());
}

TEST_F(TlsStreamTest, CertificatesFromAnotherRootAreRejectedBothWays) {
  auto other = TestMesh::Create("cluster.local");
  ASSERT_TRUE(other.ok());
  // A client signed by an unknown root (that itself trusts our root).
  auto stranger = other->Issue("default", "client");
  stranger->roots = std::move(mesh_->Issue("default", "x")->roots);
  Outcome out = RunPair(Ctx(true, *stranger), Expect("server"), server_, "x");
  EXPECT_FALSE(out.client.ok());
  ASSERT_FALSE(out.server.ok());
  EXPECT_NE(out.server.error().ToString().find("peer certificate chain"), std::string::npos)
      << out.server.error().ToString();
  Outcome out2 = RunPair(client_, Expect("server"), Ctx(false, *other->Issue("default", "server")));
  ASSERT_FALSE(out2.client.ok());
  EXPECT_NE(out2.client.error().ToString().find("peer certificate chain"), std::string::npos)
      << out2.client.error().ToString();
}

TEST_F(TlsStreamTest, ServerRequiresAClientCertificate) {
  asio::io_context io;
  tcp::acceptor acceptor(io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
  const auto port = acceptor.local_endpoint().port();
  Status server = Error(ErrorCode::kInternal, "not run");
  asio::co_spawn(io, [&]() -> asio::awaitable<void> {
    tcp::socket s = co_await acceptor.async_accept(asio::use_awaitable);
    auto stream = TlsStream::Create(std::move(s), server_, PeerPolicy{}).value();
    server = co_await stream->Handshake();
  }, asio::detached);
  // A plain OpenSSL client with no certificate, on its own thread (blocking).
  std::thread client([port] {
    SSL_CTX* ctx = SSL_CTX_new(TLS_client_method());
    static const unsigned char alpn[] = {2, 'h', '2'};
    SSL_CTX_set_alpn_protos(ctx, alpn, sizeof(alpn));
    int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_storage ss;
    socklen_t len = net::SocketAddress(net::IpAddress::Loopback4(), port).ToSockaddr(&ss);
    if (::connect(fd, reinterpret_cast<sockaddr*>(&ss), len) == 0) {
      SSL* ssl = SSL_new(ctx);
      SSL_set_fd(ssl, fd);
      if (SSL_connect(ssl) == 1) {
        char b;
        SSL_read(ssl, &b, 1);  // fails with the server's alert
      }
      SSL_free(ssl);
    }
    ::close(fd);
    SSL_CTX_free(ctx);
  });
  io.run();
  client.join();
  ASSERT_FALSE(server.ok());
  EXPECT_EQ(server.error().code(), ErrorCode::kUnauthenticated);
  EXPECT_NE(server.error().ToString().find("certificate"), std::string::npos) << server.error().ToString();
}

TEST(TlsContext, ClientStreamNeedsExpectedIdentities) {
  auto mesh = TestMesh::Create("cluster.local");
  auto ctx = TlsContext::Client(*mesh->Issue("a", "b"));
  ASSERT_TRUE(ctx.ok());
  EXPECT_EQ((*ctx)->local_identity(), mesh->Id("a", "b"));
  asio::io_context io;
  auto stream = TlsStream::Create(tcp::socket(io), *ctx, PeerPolicy{});
  EXPECT_FALSE(stream.ok());
}

}  // namespace
}  // namespace ambit::tls
