#include "ca/node_credential.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <sys/stat.h>

#include <cctype>
#include <cerrno>
#include <cstdint>
#include <ctime>
#include <nlohmann/json.hpp>

#include "core/check.h"
#include "core/duration.h"
#include "pki/file.h"

namespace ambit::ca {
namespace {

constexpr std::string_view kVersion = "v1";
constexpr std::size_t kSecretBytes = 32;
constexpr std::size_t kMaxTokenBytes = 4096;
// Later expiries would overflow system_clock's nanosecond representation.
constexpr std::int64_t kMaxExpiry = 9'000'000'000;

std::string Base64UrlEncode(std::string_view in) {
  std::string out(4 * ((in.size() + 2) / 3) + 1, '\0');
  int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                          reinterpret_cast<const unsigned char*>(in.data()), static_cast<int>(in.size()));
  out.resize(static_cast<std::size_t>(n));
  while (!out.empty() && out.back() == '=') out.pop_back();
  for (char& c : out) {
    if (c == '+') c = '-';
    if (c == '/') c = '_';
  }
  return out;
}

// Strict base64url without padding; returns false on any other character.
bool Base64UrlDecode(std::string_view in, std::string* out) {
  if (in.empty() || in.size() % 4 == 1) return false;
  std::string std_b64(in);
  for (char& c : std_b64) {
    if (c == '-') c = '+';
    else if (c == '_') c = '/';
    else if (!(std::isalnum(static_cast<unsigned char>(c)))) return false;
  }
  std::size_t pad = (4 - std_b64.size() % 4) % 4;
  std_b64.append(pad, '=');
  std::string buf(std_b64.size() / 4 * 3, '\0');
  int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(buf.data()),
                          reinterpret_cast<const unsigned char*>(std_b64.data()),
                          static_cast<int>(std_b64.size()));
  if (n < 0 || static_cast<std::size_t>(n) < pad) return false;
  buf.resize(static_cast<std::size_t>(n) - pad);  // EVP_DecodeBlock counts padding as zero bytes
  *out = std::move(buf);
  return true;
}

std::string Mac(std::string_view secret, std::string_view data) {
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  AMBIT_CHECK(HMAC(EVP_sha256(), secret.data(), static_cast<int>(secret.size()),
                   reinterpret_cast<const unsigned char*>(data.data()), data.size(), mac,
                   &len) != nullptr,
              "HMAC-SHA256 failed");
  return std::string(reinterpret_cast<char*>(mac), len);
}

Error Refused(std::string why) {
  return Error(ErrorCode::kUnauthenticated, "node credential refused: " + std::move(why));
}

}  // namespace

bool ValidNodeName(std::string_view node) {
  if (node.empty() || node.size() > 253) return false;
  for (char c : node) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.')) return false;
  }
  return true;
}

Result<std::string> LoadOrCreateNodeCredentialSecret(const std::string& ca_dir) {
  std::string path = ca_dir + "/" + std::string(kNodeCredentialKeyFile);
  Result<std::string> existing = pki::ReadFileToString(path, 1024);
  if (existing.ok()) {
    std::string hex = *existing;
    while (!hex.empty() && (hex.back() == '\n' || hex.back() == '\r')) hex.pop_back();
    long len = 0;
    unsigned char* raw = OPENSSL_hexstr2buf(hex.c_str(), &len);
    if (raw == nullptr || static_cast<std::size_t>(len) < 16) {
      OPENSSL_free(raw);
      return Error(ErrorCode::kInvalidArgument,
                   path + ": expected at least 16 bytes of hex-encoded secret");
    }
    std::string secret(reinterpret_cast<char*>(raw), static_cast<std::size_t>(len));
    OPENSSL_clear_free(raw, static_cast<std::size_t>(len));
    return secret;
  }
  if (existing.error().code() != ErrorCode::kNotFound) return std::move(existing).error();
  if (::mkdir(ca_dir.c_str(), 0700) != 0 && errno != EEXIST) {
    return ErrnoError("creating CA directory " + ca_dir, errno);
  }
  std::string secret(kSecretBytes, '\0');
  if (RAND_bytes(reinterpret_cast<unsigned char*>(secret.data()), static_cast<int>(kSecretBytes)) != 1) {
    return OpenSslError("generating node credential secret");
  }
  char* hex = OPENSSL_buf2hexstr(reinterpret_cast<const unsigned char*>(secret.data()),
                                 static_cast<long>(secret.size()));
  if (hex == nullptr) return OpenSslError("encoding node credential secret");
  std::string text(hex);
  OPENSSL_free(hex);
  std::erase(text, ':');  // OPENSSL_buf2hexstr separates bytes with ':'
  text += "\n";
  AMBIT_RETURN_IF_ERROR(pki::WriteFileAtomically(path, text, 0600));
  return secret;
}

NodeCredentialIssuer::NodeCredentialIssuer(std::string cluster, std::string secret)
    : cluster_(std::move(cluster)), secret_(std::move(secret)) {
  AMBIT_CHECK(secret_.size() >= 16, "node credential secret shorter than 16 bytes");
}

Result<std::string> NodeCredentialIssuer::Issue(std::string_view node, TimePoint expiry) const {
  if (!ValidNodeName(node)) {
    return Error(ErrorCode::kInvalidArgument,
                 "invalid node name '" + std::string(node) + "' (want 1-253 chars of [a-z0-9.-])");
  }
  nlohmann::json claims = {
      {"cluster", cluster_},
      {"node", std::string(node)},
      {"exp", std::chrono::duration_cast<std::chrono::seconds>(expiry.time_since_epoch()).count()}};
  std::string signed_part = std::string(kVersion) + "." + Base64UrlEncode(claims.dump());
  return signed_part + "." + Base64UrlEncode(Mac(secret_, signed_part));
}

Result<std::string> NodeCredentialIssuer::Issue(std::string_view node,
                                                std::chrono::seconds lifetime) const {
  return Issue(node, std::chrono::system_clock::now() + lifetime);
}

NodeCredentialVerifier::NodeCredentialVerifier(std::string cluster, std::string secret)
    : cluster_(std::move(cluster)), secret_(std::move(secret)) {
  AMBIT_CHECK(secret_.size() >= 16, "node credential secret shorter than 16 bytes");
}

Result<NodeCredential> NodeCredentialVerifier::Verify(std::string_view token, TimePoint now) const {
  if (token.empty()) return Refused("no token given (expected 'authorization: Bearer <node credential>')");
  if (token.size() > kMaxTokenBytes) return Refused("malformed: token longer than 4096 bytes");
  auto dot1 = token.find('.');
  auto dot2 = dot1 == std::string_view::npos ? dot1 : token.find('.', dot1 + 1);
  if (dot2 == std::string_view::npos || token.find('.', dot2 + 1) != std::string_view::npos) {
    return Refused("malformed: expected three '.'-separated parts (v1.<claims>.<mac>)");
  }
  if (token.substr(0, dot1) != kVersion) {
    return Refused("malformed: unknown token version '" + std::string(token.substr(0, dot1)) + "'");
  }
  std::string payload, mac;
  if (!Base64UrlDecode(token.substr(dot1 + 1, dot2 - dot1 - 1), &payload)) {
    return Refused("malformed: claims are not base64url");
  }
  if (!Base64UrlDecode(token.substr(dot2 + 1), &mac)) {
    return Refused("malformed: signature is not base64url");
  }
  nlohmann::json claims = nlohmann::json::parse(payload, nullptr, /*allow_exceptions=*/false);
  if (!claims.is_object() || !claims.contains("cluster") || !claims["cluster"].is_string() ||
      !claims.contains("node") || !claims["node"].is_string() || !claims.contains("exp") ||
      !claims["exp"].is_number_integer()) {
    return Refused("malformed: claims must be a JSON object with string cluster, string node and integer exp");
  }
  std::int64_t exp = claims["exp"].get<std::int64_t>();
  if (exp < 0 || exp > kMaxExpiry) return Refused("malformed: exp out of range");
  NodeCredential cred;
  cred.cluster = claims["cluster"].get<std::string>();
  cred.node = claims["node"].get<std::string>();
  cred.expiry = TimePoint(std::chrono::seconds(exp));

  std::string expected = Mac(secret_, token.substr(0, dot2));
  if (mac.size() != expected.size() || CRYPTO_memcmp(mac.data(), expected.data(), mac.size()) != 0) {
    if (cred.cluster != cluster_) {
      return Refused("issued by another cluster ('" + cred.cluster + "'; this is cluster '" +
                     cluster_ + "'): signature does not verify");
    }
    return Refused("signature does not verify with cluster '" + cluster_ +
                   "' secret (issued by another cluster or tampered with)");
  }
  if (cred.cluster != cluster_) {
    return Refused("issued for cluster '" + cred.cluster + "', this is cluster '" + cluster_ + "'");
  }
  if (!ValidNodeName(cred.node)) return Refused("malformed: invalid node name '" + cred.node + "'");
  if (now >= cred.expiry) {
    return Refused("credential of node '" + cred.node + "' expired at " + FormatUtcTimestamp(cred.expiry) +
                   " (now " + FormatUtcTimestamp(now) + ")");
  }
  return cred;
}

}  // namespace ambit::ca
