#include "proxy/secret_manager.h"

#include <algorithm>
#include <utility>

#include "core/log.h"

namespace ambit::proxy {

namespace internal {

// One leased identity. Scheduling fields are guarded by SecretManager::mu_;
// the published Secret and the waiters by |mu| (so the data path never touches
// the manager's lock).
struct CertEntry {
  explicit CertEntry(identity::SpiffeId id) : identity(std::move(id)) {}

  const identity::SpiffeId identity;

  // Guarded by SecretManager::mu_.
  std::size_t leases = 0;
  bool removed = false;
  bool in_flight = false;
  std::optional<SystemTime> next_fetch;
  std::chrono::milliseconds backoff{0};
  std::string last_error;
  std::uint64_t fetches_ok = 0;
  std::uint64_t fetches_failed = 0;

  mutable std::mutex mu;
  std::shared_ptr<const Secret> secret;            // guarded by mu
  std::vector<std::function<void()>> waiters;      // guarded by mu

  std::shared_ptr<const Secret> Current() const {
    std::lock_guard lock(mu);
    return secret;
  }
};

}  // namespace internal

using internal::CertEntry;

Result<std::shared_ptr<const Secret>> CertificateOnlySecret(caclient::WorkloadCertificate cert) {
  return std::shared_ptr<const Secret>(
      std::make_shared<Secret>(Secret{std::move(cert), nullptr, nullptr}));
}

const char* ToString(CertState state) {
  switch (state) {
    case CertState::kInitializing: return "Initializing";
    case CertState::kAvailable: return "Available";
    case CertState::kUnavailable: return "Unavailable";
  }
  return "Unknown";
}

// ---- CertLease ----------------------------------------------------------------

CertLease::~CertLease() { Reset(); }

CertLease::CertLease(CertLease&& other) noexcept
    : manager_(std::exchange(other.manager_, nullptr)), entry_(std::move(other.entry_)) {}

CertLease& CertLease::operator=(CertLease&& other) noexcept {
  if (this != &other) {
    Reset();
    manager_ = std::exchange(other.manager_, nullptr);
    entry_ = std::move(other.entry_);
  }
  return *this;
}

void CertLease::Reset() {
  if (entry_ != nullptr) manager_->Release(entry_);
  entry_.reset();
  manager_ = nullptr;
}

const identity::SpiffeId& CertLease::identity() const { return entry_->identity; }

std::shared_ptr<const Secret> CertLease::Current() const { return entry_->Current(); }

std::function<std::shared_ptr<const Secret>()> CertLease::Source() const {
  return [entry = entry_] { return entry->Current(); };
}

bool CertLease::WhenFetched(std::function<void()> callback) const {
  std::lock_guard lock(entry_->mu);
  if (entry_->secret != nullptr) return false;
  entry_->waiters.push_back(std::move(callback));
  return true;
}

// ---- SecretManager ------------------------------------------------------------

SecretManager::SecretManager(caclient::CaClient& ca, Options options)
    : ca_(ca),
      options_(std::move(options)),
      clock_(options_.clock != nullptr ? *options_.clock : RealClock()) {
  if (!options_.build) options_.build = CertificateOnlySecret;
  if (options_.max_concurrent_fetches == 0) options_.max_concurrent_fetches = 1;
}

SecretManager::~SecretManager() { Stop(); }

void SecretManager::Start() {
  if (options_.run_task) return;
  std::lock_guard lock(mu_);
  if (scheduler_.joinable() || stopping_) return;
  scheduler_ = std::thread([this] { SchedulerLoop(); });
  for (std::size_t i = 0; i < options_.max_concurrent_fetches; ++i) {
    fetchers_.emplace_back([this] { FetchLoop(); });
  }
}

void SecretManager::Stop() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  wake_.notify_all();
  task_ready_.notify_all();
  if (scheduler_.joinable()) scheduler_.join();
  for (auto& t : fetchers_) {
    if (t.joinable()) t.join();
  }
  fetchers_.clear();
  std::lock_guard lock(mu_);
  queue_.clear();
}

CertLease SecretManager::Acquire(const identity::SpiffeId& identity) {
  std::shared_ptr<CertEntry> entry;
  bool created = false;
  {
    std::lock_guard lock(mu_);
    auto& slot = entries_[identity.ToString()];
    if (slot == nullptr) {
      slot = std::make_shared<CertEntry>(identity);
      slot->next_fetch = clock_.Now();
      created = true;
    }
    ++slot->leases;
    entry = slot;
  }
  if (created) {
    AMBIT_LOG_DEBUG("certificate for {} requested", identity.ToString());
    wake_.notify_all();
  }
  return CertLease(this, std::move(entry));
}

void SecretManager::Release(const std::shared_ptr<CertEntry>& entry) {
  std::lock_guard lock(mu_);
  if (--entry->leases > 0) return;
  entry->removed = true;
  auto it = entries_.find(entry->identity.ToString());
  if (it != entries_.end() && it->second == entry) entries_.erase(it);
  AMBIT_LOG_DEBUG("certificate for {} released", entry->identity.ToString());
}

std::optional<SystemTime> SecretManager::RunDue() {
  std::vector<std::shared_ptr<CertEntry>> to_fetch;
  std::optional<SystemTime> next;
  const SystemTime now = clock_.Now();
  {
    std::lock_guard lock(mu_);
    auto consider = [&next](SystemTime t) {
      if (!next || t < *next) next = t;
    };
    for (auto& [key, entry] : entries_) {
      // Drop a certificate that expired while renewal kept failing.
      {
        std::lock_guard entry_lock(entry->mu);
        if (entry->secret != nullptr) {
          if (entry->secret->certificate.not_after <= now) {
            AMBIT_LOG_WARN("certificate for {} expired (renewal failing: {})", key,
                           entry->last_error);
            entry->secret.reset();
          } else {
            consider(entry->secret->certificate.not_after);
          }
        }
      }
      if (entry->in_flight || !entry->next_fetch) continue;
      if (*entry->next_fetch <= now && in_flight_ < options_.max_concurrent_fetches) {
        entry->in_flight = true;
        entry->next_fetch.reset();
        ++in_flight_;
        to_fetch.push_back(entry);
      } else if (*entry->next_fetch > now) {
        consider(*entry->next_fetch);
      }
      // Due but over the concurrency cap: picked up when a fetch completes.
    }
  }
  for (auto& entry : to_fetch) {
    Dispatch([this, entry] { Fetch(entry); });
  }
  return next;
}

SystemTime SecretManager::RefreshTime(const caclient::WorkloadCertificate& cert, SystemTime now,
                                      std::chrono::milliseconds floor) {
  // The CA backdates not_before for clock skew (a minute here, two in Istio),
  // which would put the half-life of a short-lived certificate (tens of
  // seconds) at or before the moment it arrived; half of what remains keeps
  // renewal at half-life as seen from here. Never sooner than |floor|, even
  // for a certificate already past it (no hot loop on a bad CA clock).
  const SystemTime half_remaining =
      now + std::chrono::duration_cast<SystemTime::duration>((cert.not_after - now) / 2);
  return std::max({cert.refresh_at, half_remaining, now + floor});
}

void SecretManager::Dispatch(Task task) {
  if (options_.run_task) {
    options_.run_task(std::move(task));
    return;
  }
  {
    std::lock_guard lock(mu_);
    queue_.push_back(std::move(task));
  }
  task_ready_.notify_one();
}

void SecretManager::Fetch(std::shared_ptr<CertEntry> entry) {
  Result<std::shared_ptr<const Secret>> result = Error(ErrorCode::kInternal, "not fetched");
  {
    Result<caclient::WorkloadCertificate> cert = ca_.Fetch(entry->identity);
    if (cert.ok()) {
      result = options_.build(std::move(cert).value());
    } else {
      result = std::move(cert).error();
    }
  }
  const SystemTime now = clock_.Now();
  std::vector<std::function<void()>> waiters;
  {
    std::lock_guard lock(mu_);
    --in_flight_;
    entry->in_flight = false;
    if (result.ok()) {
      std::shared_ptr<const Secret> secret = std::move(result).value();
      const auto& cert = secret->certificate;
      entry->next_fetch = RefreshTime(cert, now, options_.initial_backoff);
      entry->backoff = std::chrono::milliseconds(0);
      entry->last_error.clear();
      ++entry->fetches_ok;
      AMBIT_LOG_INFO("certificate for {} fetched, refresh in {}s", entry->identity.ToString(),
                     std::chrono::duration_cast<std::chrono::seconds>(*entry->next_fetch - now)
                         .count());
      std::lock_guard entry_lock(entry->mu);
      entry->secret = std::move(secret);
      waiters.swap(entry->waiters);
    } else {
      entry->backoff = entry->backoff.count() == 0
                           ? options_.initial_backoff
                           : std::min(entry->backoff * 2, options_.max_backoff);
      entry->next_fetch = now + entry->backoff;
      entry->last_error = result.error().ToString();
      ++entry->fetches_failed;
      AMBIT_LOG_WARN("certificate fetch for {} failed (retry in {}ms): {}",
                     entry->identity.ToString(), entry->backoff.count(), entry->last_error);
      std::lock_guard entry_lock(entry->mu);
      waiters.swap(entry->waiters);
    }
    if (entry->removed) entry->next_fetch.reset();
  }
  wake_.notify_all();
  for (auto& waiter : waiters) waiter();
}

void SecretManager::SchedulerLoop() {
  while (true) {
    std::optional<SystemTime> next = RunDue();
    std::unique_lock lock(mu_);
    if (stopping_) return;
    // Wake at the next deadline, but at least once a second so a wall-clock
    // step cannot strand a refresh.
    auto wait = std::chrono::milliseconds(1000);
    if (next) {
      auto until = std::chrono::duration_cast<std::chrono::milliseconds>(*next - clock_.Now());
      wait = std::clamp(until, std::chrono::milliseconds(0), wait);
    }
    wake_.wait_for(lock, wait);
    if (stopping_) return;
  }
}

void SecretManager::FetchLoop() {
  while (true) {
    Task task;
    {
      std::unique_lock lock(mu_);
      task_ready_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
      if (stopping_) return;  // queued fetches are dropped
      task = std::move(queue_.front());
      queue_.pop_front();
    }
    task();
  }
}

std::vector<CertStatus> SecretManager::Status() const {
  std::vector<CertStatus> out;
  std::lock_guard lock(mu_);
  out.reserve(entries_.size());
  for (const auto& [key, entry] : entries_) {
    CertStatus status(entry->identity);
    status.leases = entry->leases;
    status.secret = entry->Current();
    status.last_error = entry->last_error;
    status.next_fetch = entry->next_fetch;
    status.fetch_in_flight = entry->in_flight;
    status.backoff = entry->backoff;
    status.fetches_ok = entry->fetches_ok;
    status.fetches_failed = entry->fetches_failed;
    if (status.secret != nullptr) {
      status.state = CertState::kAvailable;
    } else if (entry->fetches_failed > 0) {
      status.state = CertState::kUnavailable;
    } else {
      status.state = CertState::kInitializing;
    }
    out.push_back(std::move(status));
  }
  return out;
}

std::size_t SecretManager::available_count() const {
  std::lock_guard lock(mu_);
  std::size_t n = 0;
  for (const auto& [key, entry] : entries_) {
    if (entry->Current() != nullptr) ++n;
  }
  return n;
}

}  // namespace ambit::proxy
