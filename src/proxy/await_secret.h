// AwaitSecret: a coroutine's wait for an identity's certificate (right after a
// pod is added or a proxy starts it may still be on its way from the CA).
#pragma once

#include <asio/awaitable.hpp>

#include <chrono>
#include <memory>

#include "proxy/secret_manager.h"

namespace ambit::proxy {

// Returns |lease|'s Secret, waiting on the calling loop (woken by the
// SecretManager when a fetch completes, never polling) for at most |timeout|;
// null if there is none by then. The loop must be single-threaded
// (net::WaitUntil).
asio::awaitable<std::shared_ptr<const Secret>> AwaitSecret(const CertLease& lease,
                                                           std::chrono::milliseconds timeout);

}  // namespace ambit::proxy
