#include "proxy/clock.h"

namespace ambit::proxy {
namespace {

class SystemClockImpl final : public Clock {
 public:
  SystemTime Now() const override { return std::chrono::system_clock::now(); }
};

}  // namespace

const Clock& RealClock() {
  static const SystemClockImpl* const clock = new SystemClockImpl();
  return *clock;
}

}  // namespace ambit::proxy
