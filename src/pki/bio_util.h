// Internal to src/pki: memory BIO helpers.
#pragma once

#include <string>
#include <string_view>

#include "core/result.h"
#include "pki/openssl_ptr.h"

namespace ambit::pki::internal {

// A read-only memory BIO over |data| (which must outlive the BIO).
Result<UniqueBio> BioFromView(std::string_view data);
// Everything written to a memory BIO.
std::string BioToString(BIO* bio);

}  // namespace ambit::pki::internal
