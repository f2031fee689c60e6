// Fuzzes the operator-facing duration parser (core/duration.h: `cluster up
// --workload-cert-ttl`, ztunnel --secret-ttl, cluster.json ca.workloadCertTtl).
// Properties (abort on violation): no crash or overflow; an accepted value is
// non-negative and reads back the same from its canonical form; the TTL
// check accepts exactly the values within its bounds.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "core/duration.h"

namespace {
void Check(bool ok) {
  if (!ok) std::abort();
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto parsed = ambit::ParseDurationSeconds(text);
  auto ttl = ambit::ParseWorkloadCertTtl(text, "--workload-cert-ttl");
  if (!parsed.ok()) {
    Check(!ttl.ok());
    Check(!parsed.error().ToString().empty());
    return 0;
  }
  Check(parsed->count() >= 0);
  auto again = ambit::ParseDurationSeconds(ambit::FormatDurationSeconds(*parsed));
  Check(again.ok() && *again == *parsed);
  const bool in_bounds =
      *parsed >= ambit::kMinWorkloadCertTtl && *parsed <= ambit::kMaxWorkloadCertTtl;
  Check(ttl.ok() == in_bounds);
  return 0;
}
