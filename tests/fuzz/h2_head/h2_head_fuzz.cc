// Feeds arbitrary header lists to ParseRequestHead and ParseResponseHead.
// Input: "name\0value\0" pairs. Checks that neither crashes, and that what
// parses survives a round trip through ToHeaders unchanged.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "h2/headers.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace ambit::h2;
  Headers headers;
  std::string cur[2];
  int field = 0;
  for (std::size_t i = 0; i < size; ++i) {
    if (data[i] == 0) {
      if (++field == 2) {
        headers.push_back({std::move(cur[0]), std::move(cur[1])});
        cur[0].clear();
        cur[1].clear();
        field = 0;
      }
      continue;
    }
    cur[field].push_back(static_cast<char>(data[i]));
  }
  if (auto request = ParseRequestHead(headers); request.ok()) {
    auto again = ParseRequestHead(ToHeaders(*request));
    if (!again.ok() || !(*again == *request)) std::abort();
  }
  if (auto response = ParseResponseHead(headers); response.ok()) {
    auto again = ParseResponseHead(ToHeaders(*response));
    if (!again.ok() || !(*again == *response)) std::abort();
  }
  return 0;
}
