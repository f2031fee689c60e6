// Fuzzes the CA's CSR trust boundary: pki::ParseCsr and the full
// CertificateAuthority::Sign validation path with arbitrary bytes. Each input
// is tried as given (PEM text) and, wrapped in a CERTIFICATE REQUEST PEM
// block, as raw DER, so mutations reach the ASN.1 and extension decoding.
#include <openssl/evp.h>
#include <unistd.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <string_view>

#include "ca/certificate_authority.h"
#include "pki/csr.h"

namespace {

std::unique_ptr<ambit::ca::CertificateAuthority> g_ca;

std::string WrapDerAsPem(const uint8_t* data, size_t size) {
  std::string out = "-----BEGIN CERTIFICATE REQUEST-----\n";
  for (size_t off = 0; off < size; off += 48) {  // 48 bytes -> one 64-char line
    size_t n = size - off < 48 ? size - off : 48;
    unsigned char line[65];
    int len = EVP_EncodeBlock(line, data + off, static_cast<int>(n));
    out.append(reinterpret_cast<char*>(line), static_cast<size_t>(len));
    out += "\n";
  }
  out += "-----END CERTIFICATE REQUEST-----\n";
  return out;
}

void Check(std::string_view input) {
  auto parsed = ambit::pki::ParseCsr(input);
  if (parsed.ok()) {
    // Invariants of a successful parse.
    if (!parsed->req || !parsed->public_key) std::abort();
    for (const auto& uri : parsed->uri_sans) {
      if (uri.empty()) std::abort();
    }
  }
  static const ambit::identity::SpiffeId kId("cluster.local", "default", "web");
  auto signed_chain = g_ca->Sign(input, kId, std::chrono::seconds(0));
  // Signing implies the CSR parsed; a self-signed CA returns leaf + root.
  if (signed_chain.ok() && (!parsed.ok() || signed_chain->size() != 2)) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  char tmpl[] = "/tmp/ambit-fuzz-csr-XXXXXX";
  if (::mkdtemp(tmpl) == nullptr) std::abort();
  auto ca = ambit::ca::CertificateAuthority::LoadOrCreateSelfSigned(tmpl, {});
  if (!ca.ok()) std::abort();
  g_ca = std::move(ca).value();
  // The CA keeps its material in memory; the directory is not needed any more.
  std::string dir(tmpl);
  std::remove((dir + "/root-cert.pem").c_str());
  std::remove((dir + "/root-key.pem").c_str());
  ::rmdir(tmpl);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  Check(std::string_view(reinterpret_cast<const char*>(data), size));
  if (size <= ambit::pki::kMaxCsrPemBytes / 2) Check(WrapDerAsPem(data, size));
  return 0;
}
