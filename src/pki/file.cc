#include "pki/file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdio>

#include "core/unique_fd.h"

namespace ambit::pki {

Result<std::string> ReadFileToString(const std::string& path, std::size_t max_bytes) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) {
    int err = errno;
    Error e = ErrnoError("opening " + path, err);
    if (err == ENOENT) return Error(ErrorCode::kNotFound, e.message());
    return e;
  }
  std::string out;
  char buf[8192];
  while (true) {
    ssize_t n = ::read(fd.get(), buf, sizeof(buf));
    if (n < 0) {
      if (errno == EINTR) continue;
      return ErrnoError("reading " + path, errno);
    }
    if (n == 0) break;
    out.append(buf, static_cast<std::size_t>(n));
    if (out.size() > max_bytes) {
      return Error(ErrorCode::kInvalidArgument,
                   path + " is larger than " + std::to_string(max_bytes) + " bytes");
    }
  }
  return out;
}

Status WriteFileAtomically(const std::string& path, std::string_view content, mode_t mode) {
  static std::atomic<unsigned> counter{0};
  std::string tmp = path + ".tmp." + std::to_string(::getpid()) + "." +
                    std::to_string(counter.fetch_add(1, std::memory_order_relaxed));
  UniqueFd fd(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode));
  if (!fd.valid()) return ErrnoError("creating " + tmp, errno);
  // open() applies the umask; set the exact mode requested.
  if (::fchmod(fd.get(), mode) != 0) {
    Error e = ErrnoError("chmod " + tmp, errno);
    ::unlink(tmp.c_str());
    return e;
  }
  std::size_t done = 0;
  while (done < content.size()) {
    ssize_t n = ::write(fd.get(), content.data() + done, content.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      Error e = ErrnoError("writing " + tmp, errno);
      ::unlink(tmp.c_str());
      return e;
    }
    done += static_cast<std::size_t>(n);
  }
  if (::fsync(fd.get()) != 0) {
    Error e = ErrnoError("fsync " + tmp, errno);
    ::unlink(tmp.c_str());
    return e;
  }
  fd.reset();
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    Error e = ErrnoError("renaming " + tmp + " to " + path, errno);
    ::unlink(tmp.c_str());
    return e;
  }
  return Ok();
}

}  // namespace ambit::pki
