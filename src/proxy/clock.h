// Clock: the wall clock, as a seam so certificate timing can be tested.
//
// Certificate validity and refresh times are wall-clock instants (they come
// from X.509 notBefore/notAfter), so the certificate manager schedules against
// this clock. Implementations must be thread-safe.
#pragma once

#include <chrono>

namespace ambit::proxy {

using SystemTime = std::chrono::system_clock::time_point;

class Clock {
 public:
  virtual ~Clock() = default;
  virtual SystemTime Now() const = 0;
};

// The process-wide real clock (std::chrono::system_clock). Never destroyed.
const Clock& RealClock();

}  // namespace ambit::proxy
