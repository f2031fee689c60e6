// HTTP/2 header fields as plain values (no nghttp2, no Asio), so pure code
// such as CONNECT validation can use them.
#pragma once

#include <string>
#include <vector>

namespace ambit::h2 {

struct Header {
  std::string name;   // lower case; pseudo-headers start with ':'
  std::string value;
};
using Headers = std::vector<Header>;

}  // namespace ambit::h2
