// FakeClock: a settable wall clock for certificate-timing tests. Thread-safe.
#pragma once

#include <mutex>

#include "proxy/clock.h"

namespace ambit::proxy::testing {

class FakeClock final : public Clock {
 public:
  explicit FakeClock(SystemTime start) : now_(start) {}
  SystemTime Now() const override {
    std::lock_guard lock(mu_);
    return now_;
  }
  void Advance(std::chrono::milliseconds d) {
    std::lock_guard lock(mu_);
    now_ += d;
  }
  void Set(SystemTime t) {
    std::lock_guard lock(mu_);
    now_ = t;
  }

 private:
  mutable std::mutex mu_;
  SystemTime now_;
};

}  // namespace ambit::proxy::testing
