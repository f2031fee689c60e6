#include "proxy/secret_manager.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <deque>
#include <map>
#include <mutex>
#include <thread>

#include "fake_clock.h"

namespace ambit::proxy {
namespace {

using namespace std::chrono_literals;
using identity::SpiffeId;
using testing::FakeClock;

const SystemTime kStart = SystemTime(std::chrono::hours(24 * 365 * 50));

// A CaClient whose answers the test scripts; counts calls per identity.
class FakeCa final : public caclient::CaClient {
 public:
  explicit FakeCa(const Clock& clock) : clock_(clock) {}

  Result<caclient::WorkloadCertificate> Fetch(const SpiffeId& id) override {
    std::lock_guard lock(mu_);
    ++calls_[id.ToString()];
    ++serial_;
    if (fail_) return Error(ErrorCode::kUnavailable, "CA is down");
    caclient::WorkloadCertificate cert{id, "", "", {}, {}, {}, {}, {}};
    cert.leaf_pem = "leaf-" + std::to_string(serial_);
    cert.not_before = clock_.Now();
    cert.not_after = cert.not_before + lifetime_;
    cert.refresh_at = cert.not_before + lifetime_ / 2;
    return cert;
  }

  int calls(const SpiffeId& id) {
    std::lock_guard lock(mu_);
    return calls_[id.ToString()];
  }
  void set_fail(bool fail) {
    std::lock_guard lock(mu_);
    fail_ = fail;
  }

 private:
  const Clock& clock_;
  std::mutex mu_;
  std::map<std::string, int> calls_;
  int serial_ = 0;
  bool fail_ = false;
  std::chrono::hours lifetime_{24};
};

// Holds dispatched fetch tasks until the test runs them.
struct ManualRunner {
  std::deque<SecretManager::Task> tasks;
  void RunAll() {
    while (!tasks.empty()) {
      auto t = std::move(tasks.front());
      tasks.pop_front();
      t();
    }
  }
};

class SecretManagerTest : public ::testing::Test {
 protected:
  SecretManager::Options Opts() {
    SecretManager::Options o;
    o.clock = &clock_;
    o.run_task = [this](SecretManager::Task t) { runner_.tasks.push_back(std::move(t)); };
    return o;
  }
  const CertStatus* Find(const std::vector<CertStatus>& all, const SpiffeId& id) {
    for (const auto& s : all) {
      if (s.identity == id) return &s;
    }
    return nullptr;
  }

  FakeClock clock_{kStart};
  FakeCa ca_{clock_};
  ManualRunner runner_;
  SpiffeId a_{"cluster.local", "default", "a"};
  SpiffeId b_{"cluster.local", "default", "b"};
};

TEST_F(SecretManagerTest, OneFetchSharedByEveryPodOfAnIdentity) {
  SecretManager mgr(ca_, Opts());
  CertLease pod1 = mgr.Acquire(a_);
  CertLease pod2 = mgr.Acquire(a_);
  EXPECT_EQ(pod1.Current(), nullptr);
  mgr.RunDue();
  ASSERT_EQ(runner_.tasks.size(), 1u);
  runner_.RunAll();
  EXPECT_EQ(ca_.calls(a_), 1);
  ASSERT_NE(pod1.Current(), nullptr);
  EXPECT_EQ(pod1.Current(), pod2.Current());
  EXPECT_EQ(pod1.Current()->certificate.identity, a_);

  auto status = mgr.Status();
  ASSERT_EQ(status.size(), 1u);
  EXPECT_EQ(status[0].leases, 2u);
  EXPECT_EQ(status[0].state, CertState::kAvailable);

  CertLease other = mgr.Acquire(b_);
  mgr.RunDue();
  runner_.RunAll();
  EXPECT_EQ(ca_.calls(b_), 1);
  EXPECT_EQ(ca_.calls(a_), 1);
  EXPECT_NE(other.Current(), pod1.Current());
}

TEST_F(SecretManagerTest, RenewsAtHalfLifeWithoutTouchingHeldSecrets) {
  SecretManager mgr(ca_, Opts());
  CertLease lease = mgr.Acquire(a_);
  mgr.RunDue();
  runner_.RunAll();
  std::shared_ptr<const Secret> held = lease.Current();  // an open connection's secret
  ASSERT_NE(held, nullptr);
  const std::string held_leaf = held->certificate.leaf_pem;

  clock_.Advance(12h - 1s);
  auto next = mgr.RunDue();
  EXPECT_TRUE(runner_.tasks.empty()) << "refreshed before the half-life";
  ASSERT_TRUE(next.has_value());
  EXPECT_EQ(*next, kStart + 12h);

  clock_.Advance(1s);
  mgr.RunDue();
  ASSERT_EQ(runner_.tasks.size(), 1u);
  runner_.RunAll();
  EXPECT_EQ(ca_.calls(a_), 2);
  ASSERT_NE(lease.Current(), nullptr);
  EXPECT_NE(lease.Current(), held);
  EXPECT_NE(lease.Current()->certificate.leaf_pem, held_leaf);
  // The old secret is untouched and still usable by whoever holds it.
  EXPECT_EQ(held->certificate.leaf_pem, held_leaf);
  EXPECT_EQ(mgr.Status()[0].next_fetch, kStart + 12h + 12h);
}

TEST(SecretManagerRefreshTime, HalfOfWhatIsLeftWhenTheCaBackdatedNotBefore) {
  caclient::WorkloadCertificate cert{SpiffeId("cluster.local", "ns", "sa"), "", "", {}, {}, {}, {}, {}};
  // A 20 s certificate backdated by the CA's one-minute skew allowance: its
  // half-life (not_before + 40 s) passed before it arrived.
  cert.not_before = kStart - 60s;
  cert.not_after = kStart + 20s;
  cert.refresh_at = cert.not_before + (cert.not_after - cert.not_before) / 2;
  EXPECT_EQ(SecretManager::RefreshTime(cert, kStart, 500ms), kStart + 10s);
  // A 24 h certificate: the usual half-life, give or take the backdating.
  cert.not_after = kStart + 24h;
  cert.refresh_at = cert.not_before + (cert.not_after - cert.not_before) / 2;
  EXPECT_EQ(SecretManager::RefreshTime(cert, kStart, 500ms), kStart + 12h);
  // Not backdated: exactly refresh_at.
  cert.not_before = kStart;
  cert.refresh_at = kStart + 12h;
  EXPECT_EQ(SecretManager::RefreshTime(cert, kStart, 500ms), kStart + 12h);
  // Already expired (bad CA clock): the floor, no hot loop.
  cert.not_before = kStart - 2h;
  cert.not_after = kStart - 1h;
  cert.refresh_at = kStart - 90min;
  EXPECT_EQ(SecretManager::RefreshTime(cert, kStart, 500ms), kStart + 500ms);
}

TEST_F(SecretManagerTest, BacksOffExponentiallyToTheCapAndKeepsTheValidCert) {
  SecretManager mgr(ca_, Opts());
  CertLease lease = mgr.Acquire(a_);
  mgr.RunDue();
  runner_.RunAll();
  auto original = lease.Current();
  ASSERT_NE(original, nullptr);

  ca_.set_fail(true);
  clock_.Advance(12h);
  std::vector<std::chrono::milliseconds> delays;
  for (int i = 0; i < 12; ++i) {
    mgr.RunDue();
    ASSERT_EQ(runner_.tasks.size(), 1u) << "attempt " << i;
    runner_.RunAll();
    auto st = mgr.Status()[0];
    delays.push_back(st.backoff);
    ASSERT_TRUE(st.next_fetch.has_value());
    EXPECT_EQ(*st.next_fetch, clock_.Now() + st.backoff);
    EXPECT_EQ(st.state, CertState::kAvailable) << "old certificate dropped while still valid";
    EXPECT_EQ(lease.Current(), original);
    EXPECT_NE(st.last_error.find("CA is down"), std::string::npos);
    // Nothing happens before the backoff elapses.
    clock_.Advance(st.backoff - 1ms);
    mgr.RunDue();
    EXPECT_TRUE(runner_.tasks.empty());
    clock_.Advance(1ms);
  }
  const std::vector<std::chrono::milliseconds> expected = {
      500ms, 1s, 2s, 4s, 8s, 16s, 32s, 64s, 128s, 150s, 150s, 150s};
  EXPECT_EQ(delays, expected);

  // Success resets the backoff and schedules the next half-life.
  ca_.set_fail(false);
  mgr.RunDue();
  runner_.RunAll();
  auto st = mgr.Status()[0];
  EXPECT_EQ(st.backoff, 0ms);
  EXPECT_TRUE(st.last_error.empty());
  EXPECT_EQ(*st.next_fetch, clock_.Now() + 12h);
  EXPECT_NE(lease.Current(), original);
}

TEST_F(SecretManagerTest, DropsTheCertificateOnceExpiredWhileRenewalFails) {
  SecretManager mgr(ca_, Opts());
  CertLease lease = mgr.Acquire(a_);
  mgr.RunDue();
  runner_.RunAll();
  ca_.set_fail(true);
  clock_.Advance(24h - 1s);
  mgr.RunDue();
  runner_.RunAll();
  EXPECT_NE(lease.Current(), nullptr);
  clock_.Advance(1s);
  mgr.RunDue();
  runner_.RunAll();
  EXPECT_EQ(lease.Current(), nullptr);
  EXPECT_EQ(mgr.Status()[0].state, CertState::kUnavailable);
  EXPECT_EQ(mgr.available_count(), 0u);
}

TEST_F(SecretManagerTest, FirstFetchFailureIsUnavailableThenRetried) {
  SecretManager mgr(ca_, Opts());
  ca_.set_fail(true);
  CertLease lease = mgr.Acquire(a_);
  mgr.RunDue();
  runner_.RunAll();
  EXPECT_EQ(mgr.Status()[0].state, CertState::kUnavailable);
  ca_.set_fail(false);
  clock_.Advance(500ms);
  mgr.RunDue();
  runner_.RunAll();
  EXPECT_EQ(mgr.Status()[0].state, CertState::kAvailable);
  EXPECT_EQ(ca_.calls(a_), 2);
}

TEST_F(SecretManagerTest, SingleFlightPerIdentityAndGlobalCap) {
  auto opts = Opts();
  opts.max_concurrent_fetches = 2;
  SecretManager mgr(ca_, opts);
  SpiffeId c("cluster.local", "other", "c");
  CertLease la = mgr.Acquire(a_);
  CertLease lb = mgr.Acquire(b_);
  CertLease lc = mgr.Acquire(c);
  mgr.RunDue();
  EXPECT_EQ(runner_.tasks.size(), 2u);
  // A second pass while both are in flight starts nothing new.
  mgr.RunDue();
  mgr.RunDue();
  EXPECT_EQ(runner_.tasks.size(), 2u);
  // Complete one; the third identity gets its turn.
  auto t = std::move(runner_.tasks.front());
  runner_.tasks.pop_front();
  t();
  mgr.RunDue();
  EXPECT_EQ(runner_.tasks.size(), 2u);
  runner_.RunAll();
  EXPECT_EQ(ca_.calls(a_) + ca_.calls(b_) + ca_.calls(c), 3);
  EXPECT_EQ(mgr.available_count(), 3u);
}

TEST_F(SecretManagerTest, LastReleaseForgetsTheIdentity) {
  SecretManager mgr(ca_, Opts());
  {
    CertLease l1 = mgr.Acquire(a_);
    CertLease l2 = std::move(l1);
    EXPECT_FALSE(l1.valid());
    mgr.RunDue();
    EXPECT_EQ(runner_.tasks.size(), 1u);
  }
  EXPECT_TRUE(mgr.Status().empty());
  // The fetch that was in flight completes harmlessly and schedules nothing.
  runner_.RunAll();
  EXPECT_FALSE(mgr.RunDue().has_value());
  EXPECT_TRUE(runner_.tasks.empty());
  // A new lease starts afresh.
  CertLease again = mgr.Acquire(a_);
  mgr.RunDue();
  runner_.RunAll();
  EXPECT_EQ(ca_.calls(a_), 2);
}

TEST_F(SecretManagerTest, WaitersRunWhenTheFetchCompletes) {
  SecretManager mgr(ca_, Opts());
  CertLease lease = mgr.Acquire(a_);
  int woken = 0;
  EXPECT_TRUE(lease.WhenFetched([&] { ++woken; }));
  mgr.RunDue();
  EXPECT_EQ(woken, 0);
  runner_.RunAll();
  EXPECT_EQ(woken, 1);
  EXPECT_FALSE(lease.WhenFetched([&] { ++woken; })) << "already available";
  EXPECT_EQ(woken, 1);
}

TEST_F(SecretManagerTest, BuilderFailureCountsAsFetchFailure) {
  auto opts = Opts();
  opts.build = [](caclient::WorkloadCertificate) -> Result<std::shared_ptr<const Secret>> {
    return Error(ErrorCode::kCrypto, "bad key");
  };
  SecretManager mgr(ca_, opts);
  CertLease lease = mgr.Acquire(a_);
  mgr.RunDue();
  runner_.RunAll();
  EXPECT_EQ(lease.Current(), nullptr);
  EXPECT_EQ(mgr.Status()[0].fetches_failed, 1u);
  EXPECT_NE(mgr.Status()[0].last_error.find("bad key"), std::string::npos);
}

TEST(SecretManagerThreads, FetchesInTheBackground) {
  FakeCa ca(RealClock());
  SecretManager mgr(ca, SecretManager::Options{});
  mgr.Start();
  CertLease lease = mgr.Acquire(SpiffeId("cluster.local", "ns", "sa"));
  auto deadline = std::chrono::steady_clock::now() + 10s;
  while (lease.Current() == nullptr && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(5ms);
  }
  EXPECT_NE(lease.Current(), nullptr);
  lease = CertLease();
  mgr.Stop();
}

}  // namespace
}  // namespace ambit::proxy
