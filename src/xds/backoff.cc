#include "xds/backoff.h"

#include <algorithm>

namespace ambit::xds {

Backoff::Duration Backoff::Next(uint64_t random) {
  // Map |random| to [-1, 1].
  double unit = static_cast<double>(random % 1'000'001) / 500'000.0 - 1.0;
  double scaled = static_cast<double>(next_.count()) * (1.0 + jitter_ * unit);
  Duration delay = std::min(max_, Duration(static_cast<int64_t>(scaled)));
  next_ = std::min(max_, next_ * 2);
  return std::max(delay, Duration(1));
}

}  // namespace ambit::xds
