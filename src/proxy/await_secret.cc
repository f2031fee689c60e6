#include "proxy/await_secret.h"

#include <functional>

#include "net/wait_until.h"

namespace ambit::proxy {

asio::awaitable<std::shared_ptr<const Secret>> AwaitSecret(const CertLease& lease,
                                                           std::chrono::milliseconds timeout) {
  // Named, not temporaries in the co_await expression (GCC 12 mishandles those).
  const std::function<bool()> ready = [&lease] { return lease.Current() != nullptr; };
  const net::WakeSubscriber subscribe = [&lease](std::function<void()> wake) {
    return lease.WhenFetched(std::move(wake));
  };
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  co_await net::WaitUntil(ready, subscribe, deadline);
  co_return lease.Current();
}

}  // namespace ambit::proxy
