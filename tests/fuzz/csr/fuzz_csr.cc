// Fuzzes the CA's CSR trust boundary: pki::ParseCsr and the full
// CertificateAuthority::Sign validation path with arbitrary bytes.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <string_view>

#include <unistd.h>

#include "ca/certificate_authority.h"
#include "pki/csr.h"

namespace {

std::unique_ptr<ambit::ca::CertificateAuthority> g_ca;

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
  std::string_view input(reinterpret_cast<const char*>(data), size);
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
  if (signed_chain.ok() && (!parsed.ok() || signed_chain->size() != 2)) std::abort();
  return 0;
}
