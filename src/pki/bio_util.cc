#include "pki/bio_util.h"

#include <openssl/bio.h>

#include <climits>

namespace ambit::pki::internal {

Result<UniqueBio> BioFromView(std::string_view data) {
  if (data.size() > static_cast<std::size_t>(INT_MAX)) {
    return Error(ErrorCode::kInvalidArgument, "input too large");
  }
  UniqueBio bio(BIO_new_mem_buf(data.data(), static_cast<int>(data.size())));
  if (!bio) return OpenSslError("allocating BIO");
  return bio;
}

std::string BioToString(BIO* bio) {
  char* data = nullptr;
  long len = BIO_get_mem_data(bio, &data);
  if (len <= 0 || data == nullptr) return {};
  return std::string(data, static_cast<std::size_t>(len));
}

}  // namespace ambit::pki::internal
