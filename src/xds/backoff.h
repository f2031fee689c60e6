// Exponential backoff with jitter for reconnecting to the control plane
// (ztunnel: 10 ms up to 15 s).
//
// Pure value type; thread-compatible. The caller supplies randomness, so the
// schedule is testable.
#pragma once

#include <chrono>
#include <cstdint>

namespace ambit::xds {

class Backoff {
 public:
  using Duration = std::chrono::milliseconds;

  // Delays grow from |initial| by x2 up to |max|, each scaled by a random
  // factor in [1 - jitter, 1 + jitter] and capped at |max|.
  Backoff(Duration initial, Duration max, double jitter = 0.2)
      : initial_(initial), max_(max), jitter_(jitter), next_(initial) {}

  // The delay before the next attempt; |random| is any uniformly random value.
  Duration Next(uint64_t random);
  // Call after a successful attempt: the next delay starts from |initial| again.
  void Reset() { next_ = initial_; }

 private:
  Duration initial_;
  Duration max_;
  double jitter_;
  Duration next_;
};

}  // namespace ambit::xds
