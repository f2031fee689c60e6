// SecretManager: one workload certificate per local identity, shared by every
// pod of that identity, fetched through a CaClient and kept fresh.
//
// Policy (as ztunnel's, https://github.com/istio/ztunnel/blob/master/src/identity/manager.rs):
//  - A certificate is fetched when the first lease for an identity is taken
//    and refreshed at its half-life (RefreshTime: WorkloadCertificate::refresh_at,
//    or half the lifetime left on arrival when the CA backdated not_before).
//  - At most one fetch per identity is in flight (single-flight); at most
//    Options::max_concurrent_fetches fetches run at once overall.
//  - A failed fetch is retried after a per-identity backoff: initial_backoff,
//    doubling, capped at max_backoff; success resets it. While retrying, the
//    previous certificate stays in use until its not_after, then it is dropped.
//  - A renewal only swaps the Secret that *new* handshakes read; connections
//    already established keep the Secret (and TLS context) they were built with.
//  - When the last lease of an identity is released its certificate is forgotten.
//
// Threading: all public methods are thread-safe. Start() runs one scheduler
// thread plus fetch threads (CaClient::Fetch blocks). Tests instead supply
// Options::run_task and call RunDue() with a fake Clock. Waiter callbacks
// (CertLease::WhenAvailable) run on a fetch thread (or the run_task caller) and
// must only post work elsewhere. Leases must not outlive the manager.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "caclient/ca_client.h"
#include "caclient/workload_certificate.h"
#include "core/result.h"
#include "identity/spiffe_id.h"
#include "proxy/clock.h"

namespace ambit::tls {
class TlsContext;
}

namespace ambit::proxy {

// What the data path uses for one identity. Immutable once published.
struct Secret {
  caclient::WorkloadCertificate certificate;
  // TLS contexts built from |certificate| by the SecretBuilder (null when the
  // builder does not make them, as in unit tests).
  std::shared_ptr<const tls::TlsContext> client_context;
  std::shared_ptr<const tls::TlsContext> server_context;
};

// Turns a fetched certificate into a Secret (e.g. builds TLS contexts). An
// error counts as a failed fetch.
using SecretBuilder = std::function<Result<std::shared_ptr<const Secret>>(caclient::WorkloadCertificate)>;

// The default builder: a Secret with the certificate only.
Result<std::shared_ptr<const Secret>> CertificateOnlySecret(caclient::WorkloadCertificate cert);

enum class CertState {
  kInitializing,  // no certificate yet, first fetch pending or in flight
  kAvailable,     // a valid certificate is held
  kUnavailable,   // fetches failed and no valid certificate is held
};
const char* ToString(CertState state);

// A point-in-time view of one identity, for /config_dump.
struct CertStatus {
  explicit CertStatus(identity::SpiffeId id) : identity(std::move(id)) {}
  identity::SpiffeId identity;
  CertState state = CertState::kInitializing;
  std::size_t leases = 0;
  std::shared_ptr<const Secret> secret;  // may be null
  std::string last_error;                // of the last failed fetch ("" after a success)
  std::optional<SystemTime> next_fetch;  // when the next fetch is due (unset while one runs)
  bool fetch_in_flight = false;
  std::chrono::milliseconds backoff{0};  // current retry delay (0 after a success)
  std::uint64_t fetches_ok = 0;
  std::uint64_t fetches_failed = 0;
};

class SecretManager;

namespace internal {
struct CertEntry;
}

// Keeps one identity's certificate fetched and fresh while held. Move-only.
class CertLease {
 public:
  CertLease() = default;
  ~CertLease();
  CertLease(CertLease&& other) noexcept;
  CertLease& operator=(CertLease&& other) noexcept;
  CertLease(const CertLease&) = delete;
  CertLease& operator=(const CertLease&) = delete;

  bool valid() const { return entry_ != nullptr; }
  const identity::SpiffeId& identity() const;
  // The Secret new handshakes should use; null until the first fetch succeeds
  // or after the held certificate expired without renewal. Thread-safe.
  std::shared_ptr<const Secret> Current() const;
  // A function returning what Current() returns, usable after the lease is
  // gone (it then keeps answering the last Secret fetched, which is no longer
  // renewed). For components that outlive a pod briefly (open connections).
  std::function<std::shared_ptr<const Secret>()> Source() const;
  // If a Secret is available now, returns false and does not keep |callback|.
  // Otherwise keeps it and returns true: |callback| runs once, when the next
  // fetch for this identity completes (successfully or not), on the thread that
  // completed it; it must not block. The caller re-checks Current().
  bool WhenFetched(std::function<void()> callback) const;

 private:
  friend class SecretManager;
  CertLease(SecretManager* manager, std::shared_ptr<internal::CertEntry> entry)
      : manager_(manager), entry_(std::move(entry)) {}
  void Reset();

  SecretManager* manager_ = nullptr;
  std::shared_ptr<internal::CertEntry> entry_;
};

class SecretManager {
 public:
  using Task = std::function<void()>;
  struct Options {
    std::chrono::milliseconds initial_backoff{500};
    std::chrono::milliseconds max_backoff{150'000};
    std::size_t max_concurrent_fetches = 4;
    const Clock* clock = nullptr;  // RealClock() when null
    SecretBuilder build;           // CertificateOnlySecret when empty
    // Test seam: runs a fetch task. When set, Start() starts no threads and the
    // test drives the schedule with RunDue().
    std::function<void(Task)> run_task;
  };

  // |ca| must outlive the manager.
  SecretManager(caclient::CaClient& ca, Options options);
  ~SecretManager();
  SecretManager(const SecretManager&) = delete;
  SecretManager& operator=(const SecretManager&) = delete;

  // Starts the scheduler and fetch threads (no-op with Options::run_task).
  void Start();
  // Stops and joins the threads; fetches in flight finish first (each bounded
  // by the CaClient's timeout). Idempotent.
  void Stop();

  // Registers interest in |identity|: the first lease starts a fetch.
  CertLease Acquire(const identity::SpiffeId& identity);

  // Starts due fetches and drops expired certificates. Returns the next
  // instant something is due (nullopt: nothing scheduled). The scheduler
  // thread calls it; tests call it directly.
  std::optional<SystemTime> RunDue();

  // When a certificate that arrived at |now| is renewed: the later of its
  // refresh_at, now + (not_after - now) / 2, and now + |floor|.
  static SystemTime RefreshTime(const caclient::WorkloadCertificate& cert, SystemTime now,
                                std::chrono::milliseconds floor);

  // Every identity currently leased, ordered by identity.
  std::vector<CertStatus> Status() const;
  // Identities that currently have a valid certificate.
  std::size_t available_count() const;

 private:
  friend class CertLease;
  void Release(const std::shared_ptr<internal::CertEntry>& entry);
  void Fetch(std::shared_ptr<internal::CertEntry> entry);
  void SchedulerLoop();
  void FetchLoop();
  void Dispatch(Task task);

  caclient::CaClient& ca_;
  Options options_;
  const Clock& clock_;

  mutable std::mutex mu_;
  std::condition_variable wake_;        // scheduler: schedule changed or stopping
  std::condition_variable task_ready_;  // fetch threads: queue non-empty or stopping
  std::map<std::string, std::shared_ptr<internal::CertEntry>> entries_;  // by SPIFFE URI
  std::size_t in_flight_ = 0;
  std::deque<Task> queue_;
  bool stopping_ = false;
  std::thread scheduler_;
  std::vector<std::thread> fetchers_;
};

}  // namespace ambit::proxy
