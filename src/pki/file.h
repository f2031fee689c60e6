// Small whole-file helpers for PEM material. Errors name the file.
//
// Thread-compatible (no shared state).
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <string>
#include <string_view>

#include "core/result.h"

namespace ambit::pki {

// Files of PEM material larger than this are refused (a chain is a few KiB).
inline constexpr std::size_t kMaxPemFileBytes = 1 << 20;

// Reads the whole file. Fails with kNotFound if it does not exist, kIo on other
// errors, kInvalidArgument if it is larger than |max_bytes|.
Result<std::string> ReadFileToString(const std::string& path,
                                     std::size_t max_bytes = kMaxPemFileBytes);

// Writes |content| to |path| atomically (temp file in the same directory, fsync,
// rename) with permission bits |mode| (e.g. 0600 for private keys; the umask
// does not apply). An existing file is replaced.
Status WriteFileAtomically(const std::string& path, std::string_view content, mode_t mode);

}  // namespace ambit::pki
