// Lints Prometheus exposition text with `promtool check metrics` (the Debian
// prometheus package), for tests.
#pragma once

#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <optional>
#include <string>

namespace ambit::metrics::testing {

// promtool's output for |text| plus its exit status ("exit N"), or nullopt
// when promtool is not installed at |promtool|.
inline std::optional<std::string> PromtoolCheck(const std::string& promtool,
                                                const std::string& text) {
  if (::access(promtool.c_str(), X_OK) != 0) return std::nullopt;
  char path[] = "/tmp/ambit-promtool-XXXXXX";
  const int fd = ::mkstemp(path);
  if (fd < 0) return std::string("mkstemp failed");
  const bool written = ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size());
  ::close(fd);
  if (!written) return std::string("write failed");
  const std::string cmd = promtool + " check metrics < " + path + " 2>&1";
  std::string out;
  if (FILE* p = ::popen(cmd.c_str(), "r")) {
    char buf[512];
    for (std::size_t n; (n = std::fread(buf, 1, sizeof buf, p)) > 0;) out.append(buf, n);
    const int status = ::pclose(p);
    out += "exit " + std::to_string(WIFEXITED(status) ? WEXITSTATUS(status) : -1);
  }
  ::unlink(path);
  return out;
}

}  // namespace ambit::metrics::testing
