// TlsStream: a TLS connection over a TCP socket, as a net::ByteStream.
//
// OpenSSL runs against an in-memory BIO pair; this class moves ciphertext
// between the pair and the socket itself. That gives few records and few
// system calls (small pieces of one Write are coalesced into one record;
// pieces of 4 KiB or more go straight to SSL_write without a copy), socket
// writes of up to |write_buffer_bytes| straight from the BIO's buffer (one
// non-blocking sendmsg when the kernel takes it, see net::WriteAll), and
// reads that fill the BIO directly with no intermediate copy.
//
// Threading: bound to the loop of its socket. One reader and one writer
// coroutine may run concurrently after Handshake(); socket writes are
// serialized internally (the reader may need to flush a TLS 1.3 KeyUpdate).
// Failure: every method returns an Error naming the TLS or socket cause; a
// failed handshake carries the peer-verification reason when that was it.
#pragma once

#include <openssl/types.h>

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "identity/spiffe_id.h"
#include "net/byte_stream.h"
#include "net/signal.h"
#include "tls/context.h"

namespace ambit::tls {

class TlsStream final : public net::ByteStream {
 public:
  struct Options {
    std::size_t read_buffer_bytes = 64 * 1024;    // ciphertext from the socket
    std::size_t write_buffer_bytes = 256 * 1024;  // ciphertext to the socket
  };

  // Wraps |socket| (not yet handshaken). |policy| is what the peer must prove.
  static Result<std::unique_ptr<TlsStream>> Create(asio::ip::tcp::socket socket,
                                                   std::shared_ptr<const TlsContext> context,
                                                   PeerPolicy policy, Options options);
  static Result<std::unique_ptr<TlsStream>> Create(asio::ip::tcp::socket socket,
                                                   std::shared_ptr<const TlsContext> context,
                                                   PeerPolicy policy) {
    return Create(std::move(socket), std::move(context), std::move(policy), Options{});
  }
  ~TlsStream() override;

  // Runs the handshake to completion. Fails with kUnauthenticated when the
  // peer's certificate or identity is not acceptable, kProtocol when the
  // context has ALPN protocols and none of them was agreed, kIo/kCrypto
  // otherwise.
  asio::awaitable<Status> Handshake();
  // The peer's SPIFFE identity (set by a successful handshake).
  const std::optional<identity::SpiffeId>& peer_identity() const { return peer_identity_; }
  // The ALPN protocol agreed by the handshake ("" when none).
  const std::string& alpn() const { return alpn_; }

  asio::awaitable<Result<std::size_t>> ReadSome(net::MutableBytes out) override;
  asio::awaitable<Status> Write(std::span<const net::ConstBytes> pieces) override;
  asio::awaitable<void> ShutdownWrite() override;
  void Close() override;
  asio::any_io_executor get_executor() override { return socket_.get_executor(); }
  asio::ip::tcp::socket& socket() { return socket_; }

  // Internal: state reached from OpenSSL's verify callback.
  struct PeerCheck {
    const PeerPolicy* policy = nullptr;
    Role role = Role::kClient;
    std::string failure;
    std::optional<identity::SpiffeId> identity;
  };

  TlsStream(asio::ip::tcp::socket socket, std::shared_ptr<const TlsContext> context,
            PeerPolicy policy, Options options);

 private:
  Status Init();
  // Ciphertext socket I/O. FlushOutput writes everything pending in the BIO.
  asio::awaitable<Status> FlushOutput();
  asio::awaitable<Status> FillInput(bool* eof);
  asio::awaitable<Status> EncryptAll(net::ConstBytes bytes);
  asio::awaitable<void> LockWrite();
  void UnlockWrite();

  asio::ip::tcp::socket socket_;
  std::shared_ptr<const TlsContext> context_;
  PeerPolicy policy_;
  Options options_;
  SSL* ssl_ = nullptr;
  BIO* network_bio_ = nullptr;  // our side of the pair; SSL owns the other side
  PeerCheck check_;
  std::optional<identity::SpiffeId> peer_identity_;
  std::string alpn_;
  std::vector<std::uint8_t> staging_;  // plaintext coalescing buffer (one record)
  bool write_busy_ = false;
  net::Signal write_idle_;
  bool read_eof_ = false;
};

}  // namespace ambit::tls
