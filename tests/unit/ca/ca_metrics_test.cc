#include "ca/ca_metrics.h"

#include <gtest/gtest.h>

#include <chrono>
#include <string>

#include "ca_test_util.h"
#include "pki/cert.h"
#include "support/temp_dir.h"

namespace ambit::ca {
namespace {

using testing::Must;

bool Has(const std::string& text, const std::string& line) {
  return text.find("\n" + line + "\n") != std::string::npos;
}

TEST(CaMetrics, CountsEachOutcomeUnderIstiodsNames) {
  ambit::testing::TempDir tmp;
  auto ca = Must(CertificateAuthority::LoadOrCreateSelfSigned(tmp.path(), {}));
  metrics::Registry registry;
  CaMetrics m(registry, *ca);

  m.Record(Ok());
  m.Record(Ok());
  m.Record(Error(ErrorCode::kUnauthenticated, "no credential"));
  m.Record(Error(ErrorCode::kPermissionDenied, "not on this node"));
  m.Record(Error(ErrorCode::kInvalidArgument, "bad CSR"));
  m.Record(Error(ErrorCode::kInternal, "signing failed"));

  const std::string text = registry.Render();
  EXPECT_TRUE(Has(text, "citadel_server_csr_count 6")) << text;
  EXPECT_TRUE(Has(text, "citadel_server_success_cert_issuance_count 2")) << text;
  EXPECT_TRUE(Has(text, "citadel_server_authentication_failure_count 2")) << text;
  EXPECT_TRUE(Has(text, "citadel_server_csr_parsing_err_count 1")) << text;
  EXPECT_TRUE(Has(text, "citadel_server_csr_sign_err_count 1")) << text;
}

TEST(CaMetrics, ExpiryGaugesAreTheCertificatesNotAfter) {
  ambit::testing::TempDir tmp;
  auto ca = Must(CertificateAuthority::LoadOrCreateSelfSigned(tmp.path(), {}));
  metrics::Registry registry;
  CaMetrics m(registry, *ca);

  const auto not_after = Must(pki::CertNotAfter(ca->signing_cert()));
  const std::string seconds = std::to_string(
      std::chrono::duration_cast<std::chrono::seconds>(not_after.time_since_epoch()).count());
  const std::string text = registry.Render();
  // Self-signed: the signing certificate is the only root.
  EXPECT_TRUE(Has(text, "citadel_server_root_cert_expiry_timestamp " + seconds)) << text;
  EXPECT_TRUE(Has(text, "citadel_server_cert_chain_expiry_timestamp " + seconds)) << text;
  EXPECT_NE(text.find("# TYPE citadel_server_root_cert_expiry_timestamp gauge"), std::string::npos);
}

}  // namespace
}  // namespace ambit::ca
