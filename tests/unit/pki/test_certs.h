// Test helpers for src/pki tests: a tiny root -> intermediate -> leaf hierarchy.
#pragma once

#include <gtest/gtest.h>
#include <openssl/x509.h>

#include <chrono>
#include <string>

#include "pki/cert_builder.h"
#include "pki/key.h"

namespace ambit::pki::testing {

template <typename T>
T Must(Result<T> r) {
  EXPECT_TRUE(r.ok()) << (r.ok() ? "" : r.error().ToString());
  if (!r.ok()) std::abort();
  return std::move(r).value();
}

struct Issued {
  UniqueEvpPkey key;
  UniqueX509 cert;
};

inline Issued MakeCa(const std::string& cn, const Issued* parent,
                     std::chrono::hours lifetime = std::chrono::hours(24 * 365)) {
  Issued out;
  out.key = Must(GenerateEcP256Key());
  CertSpec spec;
  spec.subject_org = "ambit-test";
  spec.subject_cn = cn;
  spec.public_key = out.key.get();
  spec.issuer_cert = parent ? parent->cert.get() : nullptr;
  spec.signing_key = parent ? parent->key.get() : out.key.get();
  spec.not_before = std::chrono::system_clock::now() - std::chrono::minutes(1);
  spec.not_after = spec.not_before + lifetime;
  spec.is_ca = true;
  out.cert = Must(IssueCert(spec));
  return out;
}

inline Issued MakeLeaf(const std::string& uri, const Issued& issuer,
                       std::chrono::hours lifetime = std::chrono::hours(24)) {
  Issued out;
  out.key = Must(GenerateEcP256Key());
  CertSpec spec;
  spec.public_key = out.key.get();
  spec.issuer_cert = issuer.cert.get();
  spec.signing_key = issuer.key.get();
  spec.not_before = std::chrono::system_clock::now() - std::chrono::minutes(1);
  spec.not_after = spec.not_before + lifetime;
  spec.uri_sans = {uri};
  spec.server_auth = true;
  spec.client_auth = true;
  out.cert = Must(IssueCert(spec));
  return out;
}

}  // namespace ambit::pki::testing
