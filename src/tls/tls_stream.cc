#include "tls/tls_stream.h"

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <asio/redirect_error.hpp>
#include <asio/use_awaitable.hpp>

#include <algorithm>
#include <cstring>

#include "net/write_all.h"

namespace ambit::tls {
namespace {

constexpr std::size_t kRecordBytes = 16 * 1024;  // TLS max plaintext per record
// Large plaintext is passed to SSL_write in slices of this many bytes, so the
// output BIO is flushed at a useful granularity.
constexpr std::size_t kDirectSliceBytes = 64 * 1024;
// Pieces at least this large are not copied into the staging buffer.
constexpr std::size_t kDirectMinBytes = 4 * 1024;

int PeerCheckIndex() {
  static const int index = SSL_get_ex_new_index(0, nullptr, nullptr, nullptr, nullptr);
  return index;
}

std::string JoinIds(const std::vector<identity::SpiffeId>& ids) {
  std::string out;
  for (const auto& id : ids) {
    if (!out.empty()) out += ", ";
    out += id.ToString();
  }
  return out;
}

// Called by OpenSSL once per certificate of the peer's chain.
int VerifyPeer(int preverify_ok, X509_STORE_CTX* store) {
  SSL* ssl = static_cast<SSL*>(X509_STORE_CTX_get_ex_data(store, SSL_get_ex_data_X509_STORE_CTX_idx()));
  auto* check = static_cast<TlsStream::PeerCheck*>(SSL_get_ex_data(ssl, PeerCheckIndex()));
  const int depth = X509_STORE_CTX_get_error_depth(store);
  if (!preverify_ok) {
    if (check->failure.empty()) {
      check->failure = std::string("peer certificate chain: ") +
                       X509_verify_cert_error_string(X509_STORE_CTX_get_error(store)) +
                       " (depth " + std::to_string(depth) + ")";
    }
    return 0;
  }
  if (depth != 0) return 1;
  X509* leaf = X509_STORE_CTX_get_current_cert(store);
  auto id = SpiffeIdOfCert(leaf);
  if (!id.ok()) {
    check->failure = id.error().ToString();
    X509_STORE_CTX_set_error(store, X509_V_ERR_APPLICATION_VERIFICATION);
    return 0;
  }
  if (check->role == Role::kClient) {
    const auto& expected = check->policy->expected_identities;
    if (std::find(expected.begin(), expected.end(), *id) == expected.end()) {
      check->failure = "server identity " + id->ToString() + " is not one of the expected [" +
                       JoinIds(expected) + "]";
      X509_STORE_CTX_set_error(store, X509_V_ERR_APPLICATION_VERIFICATION);
      return 0;
    }
  } else if (!id->SameTrustDomain(check->policy->required_trust_domain)) {
    check->failure = "client identity " + id->ToString() + " is not in trust domain " +
                     check->policy->required_trust_domain;
    X509_STORE_CTX_set_error(store, X509_V_ERR_APPLICATION_VERIFICATION);
    return 0;
  }
  check->identity = std::move(id).value();
  return 1;
}

}  // namespace

Result<std::unique_ptr<TlsStream>> TlsStream::Create(asio::ip::tcp::socket socket,
                                                     std::shared_ptr<const TlsContext> context,
                                                     PeerPolicy policy, Options options) {
  if (context->role() == Role::kClient && policy.expected_identities.empty()) {
    return Error(ErrorCode::kInvalidArgument, "TLS client needs at least one expected server identity");
  }
  if (context->role() == Role::kServer && policy.required_trust_domain.empty()) {
    policy.required_trust_domain = context->local_identity().trust_domain();
  }
  auto stream = std::make_unique<TlsStream>(std::move(socket), std::move(context), std::move(policy),
                                            options);
  AMBIT_RETURN_IF_ERROR(stream->Init());
  return stream;
}

TlsStream::TlsStream(asio::ip::tcp::socket socket, std::shared_ptr<const TlsContext> context,
                     PeerPolicy policy, Options options)
    : socket_(std::move(socket)),
      context_(std::move(context)),
      policy_(std::move(policy)),
      options_(options),
      write_idle_(socket_.get_executor()) {}

Status TlsStream::Init() {
  ssl_ = SSL_new(context_->native());
  if (ssl_ == nullptr) return OpenSslError("SSL_new");
  BIO* internal = nullptr;
  // BIO pair: bytes written to one side are read from the other. The internal
  // side buffers what SSL writes (-> socket); ours buffers what the socket
  // delivered (-> SSL).
  if (BIO_new_bio_pair(&internal, options_.write_buffer_bytes, &network_bio_,
                       options_.read_buffer_bytes) != 1) {
    return OpenSslError("BIO_new_bio_pair");
  }
  SSL_set_bio(ssl_, internal, internal);
  check_.policy = &policy_;
  check_.role = context_->role();
  SSL_set_ex_data(ssl_, PeerCheckIndex(), &check_);
  int mode = SSL_VERIFY_PEER;
  if (context_->role() == Role::kServer) {
    mode |= SSL_VERIFY_FAIL_IF_NO_PEER_CERT;
    SSL_set_accept_state(ssl_);
  } else {
    SSL_set_connect_state(ssl_);
  }
  SSL_set_verify(ssl_, mode, VerifyPeer);
  staging_.reserve(kRecordBytes);
  return Ok();
}

TlsStream::~TlsStream() {
  if (ssl_ != nullptr) SSL_free(ssl_);  // frees the internal BIO
  if (network_bio_ != nullptr) BIO_free(network_bio_);
}

asio::awaitable<void> TlsStream::LockWrite() {
  // After Close() nothing waits: the socket is gone and every write fails fast.
  while (write_busy_ && !write_idle_.closed()) co_await write_idle_.Wait();
  write_busy_ = true;
}

void TlsStream::UnlockWrite() {
  write_busy_ = false;
  write_idle_.Notify();
}

asio::awaitable<Status> TlsStream::FlushOutput() {
  for (;;) {
    char* data = nullptr;
    const int n = BIO_nread0(network_bio_, &data);
    if (n <= 0) co_return Ok();
    // Straight from the BIO's buffer; usually one sendmsg without a trip
    // through the loop's queue (net::WriteAll).
    const asio::error_code ec =
        co_await net::WriteAll(socket_, asio::const_buffer(data, static_cast<std::size_t>(n)));
    if (ec) co_return Error(ErrorCode::kIo, "tls write to socket: " + ec.message());
    BIO_nread(network_bio_, &data, n);
  }
}

asio::awaitable<Status> TlsStream::FillInput(bool* eof) {
  *eof = false;
  char* space = nullptr;
  const int room = BIO_nwrite0(network_bio_, &space);
  if (room <= 0) co_return Error(ErrorCode::kInternal, "tls input buffer full while SSL wants input");
  asio::error_code ec;
  const std::size_t n = co_await socket_.async_read_some(
      asio::buffer(space, static_cast<std::size_t>(room)), asio::redirect_error(asio::use_awaitable, ec));
  if (ec == asio::error::eof) {
    *eof = true;
    co_return Ok();
  }
  if (ec) co_return Error(ErrorCode::kIo, "tls read from socket: " + ec.message());
  BIO_nwrite(network_bio_, &space, static_cast<int>(n));
  co_return Ok();
}

asio::awaitable<Status> TlsStream::Handshake() {
  const char* side = context_->role() == Role::kClient ? "TLS client handshake" : "TLS server handshake";
  co_await LockWrite();
  Status result = Ok();
  for (;;) {
    ERR_clear_error();
    const int rc = SSL_do_handshake(ssl_);
    Status flushed = co_await FlushOutput();  // whatever the handshake produced
    if (rc == 1) {
      result = std::move(flushed);
      break;
    }
    const int err = SSL_get_error(ssl_, rc);
    if (err == SSL_ERROR_WANT_READ) {
      if (!flushed.ok()) {
        result = std::move(flushed);
        break;
      }
      bool eof = false;
      Status st = co_await FillInput(&eof);
      if (!st.ok()) {
        result = std::move(st);
        break;
      }
      if (eof) {
        result = Error(ErrorCode::kUnavailable, "peer closed the connection during the handshake");
        if (!check_.failure.empty()) result = Error(ErrorCode::kUnauthenticated, check_.failure);
        break;
      }
      continue;
    }
    if (err == SSL_ERROR_WANT_WRITE) continue;
    if (!check_.failure.empty()) {
      ERR_clear_error();
      result = Error(ErrorCode::kUnauthenticated, check_.failure);
    } else {
      // Alerts from the peer (bad certificate, certificate required, ...)
      // mean it refused us.
      Error e = OpenSslError("handshake failed");
      result = Error(ErrorCode::kUnauthenticated, e.message());
    }
    break;
  }
  UnlockWrite();
  if (!result.ok()) co_return std::move(result).error().WithContext(side);
  const unsigned char* alpn = nullptr;
  unsigned int alpn_len = 0;
  SSL_get0_alpn_selected(ssl_, &alpn, &alpn_len);
  alpn_.assign(reinterpret_cast<const char*>(alpn), alpn_len);
  const std::vector<std::string>& wanted = context_->alpn();
  if (!wanted.empty() && std::find(wanted.begin(), wanted.end(), alpn_) == wanted.end()) {
    std::string list;
    for (const std::string& name : wanted) list += (list.empty() ? "" : ", ") + name;
    co_return Error(ErrorCode::kProtocol, "ALPN: the peer agreed to none of [" + list + "]")
        .WithContext(side);
  }
  if (!check_.identity) {
    co_return Error(ErrorCode::kUnauthenticated, "peer presented no certificate").WithContext(side);
  }
  peer_identity_ = check_.identity;
  co_return Ok();
}

asio::awaitable<Result<std::size_t>> TlsStream::ReadSome(net::MutableBytes out) {
  std::size_t total = 0;
  for (;;) {
    ERR_clear_error();
    const int rc = SSL_read(ssl_, out.data() + total, static_cast<int>(std::min<std::size_t>(
                                                          out.size() - total, 1 << 30)));
    if (rc > 0) {
      total += static_cast<std::size_t>(rc);
      if (total == out.size()) break;
      continue;  // drain whatever is already decrypted or buffered
    }
    const int err = SSL_get_error(ssl_, rc);
    // A KeyUpdate answer (or alert) may be waiting; send it unless the writer
    // is mid-write, in which case it flushes it.
    if (!write_busy_ && BIO_ctrl_pending(network_bio_) > 0) {
      co_await LockWrite();
      Status st = co_await FlushOutput();
      UnlockWrite();
      if (!st.ok()) co_return std::move(st).error();
    }
    if (err == SSL_ERROR_ZERO_RETURN) {
      read_eof_ = true;
      break;
    }
    if (err == SSL_ERROR_WANT_WRITE) {
      co_await LockWrite();
      Status st = co_await FlushOutput();
      UnlockWrite();
      if (!st.ok()) co_return std::move(st).error();
      continue;
    }
    if (err != SSL_ERROR_WANT_READ) {
      co_return OpenSslError("tls read");
    }
    if (total > 0 || read_eof_) break;  // return what we have before blocking
    bool eof = false;
    Status st = co_await FillInput(&eof);
    if (!st.ok()) co_return std::move(st).error();
    if (eof) {
      // TCP FIN without close_notify: treat as end of stream; the HTTP/2 layer
      // detects truncation of its own frames.
      read_eof_ = true;
      break;
    }
  }
  co_return total;
}

asio::awaitable<Status> TlsStream::EncryptAll(net::ConstBytes bytes) {
  while (!bytes.empty()) {
    ERR_clear_error();
    const int rc = SSL_write(ssl_, bytes.data(), static_cast<int>(std::min<std::size_t>(bytes.size(), 1 << 30)));
    if (rc > 0) {
      bytes = bytes.subspan(static_cast<std::size_t>(rc));
      continue;
    }
    const int err = SSL_get_error(ssl_, rc);
    if (err == SSL_ERROR_WANT_WRITE) {
      Status st = co_await FlushOutput();
      if (!st.ok()) co_return st;
      continue;
    }
    co_return OpenSslError("tls write");
  }
  co_return Ok();
}

asio::awaitable<Status> TlsStream::Write(std::span<const net::ConstBytes> pieces) {
  co_await LockWrite();
  Status result = Ok();
  for (net::ConstBytes piece : pieces) {
    while (!piece.empty() && result.ok()) {
      if (piece.size() >= kDirectMinBytes) {
        // Encrypted straight from the caller's memory (SSL_write cuts it into
        // records). Anything staged goes first, as a short record of its own:
        // cheaper than copying a record's worth of the large piece behind it
        // (an HTTP/2 DATA header before its payload).
        if (!staging_.empty()) {
          result = co_await EncryptAll(staging_);
          staging_.clear();
          if (!result.ok()) break;
        }
        const std::size_t n = std::min(piece.size(), kDirectSliceBytes);
        result = co_await EncryptAll(piece.first(n));
        piece = piece.subspan(n);
        continue;
      }
      const std::size_t take = std::min(kRecordBytes - staging_.size(), piece.size());
      staging_.insert(staging_.end(), piece.begin(), piece.begin() + static_cast<std::ptrdiff_t>(take));
      piece = piece.subspan(take);
      if (staging_.size() == kRecordBytes) {
        result = co_await EncryptAll(staging_);
        staging_.clear();
      }
    }
    if (!result.ok()) break;
  }
  if (result.ok() && !staging_.empty()) {
    result = co_await EncryptAll(staging_);
  }
  staging_.clear();
  if (result.ok()) result = co_await FlushOutput();
  UnlockWrite();
  co_return result;
}

asio::awaitable<void> TlsStream::ShutdownWrite() {
  co_await LockWrite();
  SSL_shutdown(ssl_);  // queues close_notify
  Status st = co_await FlushOutput();
  (void)st;  // best effort: the connection is ending either way
  asio::error_code ec;
  socket_.shutdown(asio::ip::tcp::socket::shutdown_send, ec);
  UnlockWrite();
}

void TlsStream::Close() {
  asio::error_code ec;
  socket_.close(ec);
  write_idle_.Close();
}

}  // namespace ambit::tls
