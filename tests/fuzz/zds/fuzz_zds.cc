// Fuzzes ZDS datagram decoding (both directions). Input layout: byte 0 picks
// how many fds "arrived" (low 2 bits) and the truncation flags (bits 2, 3);
// the rest is the datagram payload. Checks that decoding never crashes and that
// every received fd is closed once the decoded value is gone.
#include <fcntl.h>
#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <string>
#include <vector>

#include "inpod/zds_messages.h"

namespace {

ambit::inpod::ReceivedDatagram Make(const uint8_t* data, size_t size, std::vector<int>& opened) {
  ambit::inpod::ReceivedDatagram d;
  const uint8_t control = data[0];
  for (int i = 0; i < (control & 3); ++i) {
    int fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (fd < 0) std::abort();
    opened.push_back(fd);
    d.fds.emplace_back(fd);
  }
  d.truncated = (control & 4) != 0;
  d.control_truncated = (control & 8) != 0;
  d.bytes.assign(reinterpret_cast<const char*>(data + 1), size - 1);
  return d;
}

void ExpectClosed(const std::vector<int>& fds) {
  for (int fd : fds) {
    if (::fcntl(fd, F_GETFD) != -1) std::abort();  // leaked a received fd
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  {
    std::vector<int> opened;
    {
      auto request = ambit::inpod::DecodeWorkloadRequest(Make(data, size, opened));
      if (request.ok()) {
        // A decoded request re-encodes (fd aside) to something that decodes the same way.
        const std::string again = ambit::inpod::EncodeWorkloadRequest(*request);
        ambit::inpod::ReceivedDatagram d;
        d.bytes = again;
        if (std::holds_alternative<ambit::inpod::ZdsAdd>(*request)) {
          d.fds.emplace_back(::open("/dev/null", O_RDONLY | O_CLOEXEC));
        }
        auto round = ambit::inpod::DecodeWorkloadRequest(std::move(d));
        if (!round.ok() || ambit::inpod::Describe(*round) != ambit::inpod::Describe(*request)) std::abort();
      }
    }
    ExpectClosed(opened);
  }
  {
    std::vector<int> opened;
    (void)ambit::inpod::DecodeAck(Make(data, size, opened));
    ExpectClosed(opened);
  }
  {
    std::vector<int> opened;
    (void)ambit::inpod::DecodeHello(Make(data, size, opened));
    ExpectClosed(opened);
  }
  return 0;
}
