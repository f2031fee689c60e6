// A pod's listeners hand each accepted connection to the PodTraffic object
// that was attached to that very pod: with two handlers (two PodTraffic
// types), each pod's connections reach its own handler's state, on the right
// method per listener.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "core/netns.h"
#include "net/tcp_listeners.h"
#include "net/worker_pool.h"
#include "node/pod.h"

namespace ambit::node {
namespace {

// What the traffic objects saw: "<handler>/<pod name>/<listener>".
class Journal {
 public:
  void Add(std::string entry) {
    std::lock_guard lock(mu_);
    entries_.push_back(std::move(entry));
    changed_.notify_all();
  }
  std::vector<std::string> WaitFor(std::size_t n) {
    std::unique_lock lock(mu_);
    changed_.wait_for(lock, std::chrono::seconds(5), [&] { return entries_.size() >= n; });
    return entries_;
  }

 private:
  std::mutex mu_;
  std::condition_variable changed_;
  std::vector<std::string> entries_;
};

class RecordingTraffic final : public PodTraffic {
 public:
  RecordingTraffic(std::string handler, std::string pod, Journal& journal)
      : prefix_(std::move(handler) + "/" + std::move(pod) + "/"), journal_(journal) {}
  void OnOutbound(std::shared_ptr<Pod> pod, asio::ip::tcp::socket) override {
    Record("outbound", *pod);
  }
  void OnInboundPlaintext(std::shared_ptr<Pod> pod, asio::ip::tcp::socket) override {
    Record("plaintext", *pod);
  }
  void OnHbone(std::shared_ptr<Pod> pod, asio::ip::tcp::socket) override { Record("hbone", *pod); }

 private:
  void Record(const char* listener, const Pod& pod) {
    // The pod passed in is the one this object was attached to.
    journal_.Add(
        prefix_ + listener +
        (prefix_.find("/" + pod.spec().name + "/") == std::string::npos ? " (wrong pod)" : ""));
  }
  std::string prefix_;
  Journal& journal_;
};

class RecordingHandler final : public PodTrafficHandler {
 public:
  RecordingHandler(std::string name, Journal& journal)
      : name_(std::move(name)), journal_(journal) {}
  Result<std::unique_ptr<PodTraffic>> Attach(const Pod& pod) override {
    return std::unique_ptr<PodTraffic>(
        std::make_unique<RecordingTraffic>(name_, pod.spec().name, journal_));
  }

 private:
  std::string name_;
  Journal& journal_;
};

void Connect(const net::SocketAddress& listening) {
  net::SocketAddress to(net::IpAddress::Loopback4(), listening.port());
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_storage ss{};
  socklen_t len = to.ToSockaddr(&ss);
  ASSERT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&ss), len), 0) << to.ToString();
  ::close(fd);
}

TEST(PodTrafficTest, EachPodsConnectionsReachTheTrafficAttachedToIt) {
  // Pod sockets are made by entering the pod's namespace (here: our own) and
  // marked: CAP_SYS_ADMIN and CAP_NET_ADMIN.
  if (::geteuid() != 0) GTEST_SKIP() << "needs root (setns, SO_MARK)";
  auto here = Netns::Current();
  ASSERT_TRUE(here.ok());
  auto shared = std::make_shared<const Netns>(std::move(here).value());

  Journal journal;
  RecordingHandler a("A", journal);
  RecordingHandler b("B", journal);
  net::WorkerPool workers(2);
  workers.Start();
  PodPorts ports{
      .outbound = 0, .inbound_plaintext = 0, .hbone = 0, .bind = net::IpAddress::Loopback4()};
  auto start = [&](const std::string& name, PodTrafficHandler& handler) {
    PodSpec spec;
    spec.ns = "mesh";
    spec.name = name;
    spec.uid = "uid-" + name;
    return Pod::Start(spec, identity::SpiffeId("cluster.local", "mesh", "default"), shared,
                      /*mark=*/0, proxy::CertLease(), ports, workers, handler);
  };
  auto one = start("one", a);
  ASSERT_TRUE(one.ok()) << one.error().ToString();
  auto two = start("two", b);
  ASSERT_TRUE(two.ok()) << two.error().ToString();

  // Listen addresses are in the order outbound, plaintext, HBONE.
  const auto one_addrs = (*one)->listen_addresses();
  const auto two_addrs = (*two)->listen_addresses();
  ASSERT_EQ(one_addrs.size(), 3u);
  ASSERT_EQ(two_addrs.size(), 3u);
  Connect(one_addrs[0]);
  Connect(two_addrs[2]);
  Connect(two_addrs[1]);
  Connect(one_addrs[2]);

  auto seen = journal.WaitFor(4);
  std::sort(seen.begin(), seen.end());
  EXPECT_EQ(seen, (std::vector<std::string>{"A/one/hbone", "A/one/outbound", "B/two/hbone",
                                            "B/two/plaintext"}));
  (*one)->StopAccepting();
  (*two)->StopAccepting();
  workers.Stop();
}

// Records the loop each connection was served on, per listener.
class LoopTraffic final : public PodTraffic {
 public:
  void OnOutbound(std::shared_ptr<Pod>, asio::ip::tcp::socket) override { Record(0); }
  void OnInboundPlaintext(std::shared_ptr<Pod>, asio::ip::tcp::socket) override { Record(1); }
  void OnHbone(std::shared_ptr<Pod>, asio::ip::tcp::socket) override { Record(2); }
  std::vector<std::vector<int>> Wait(std::size_t n) {
    std::unique_lock lock(mu_);
    changed_.wait_for(lock, std::chrono::seconds(5), [&] { return total_ >= n; });
    return loops_;
  }

 private:
  void Record(int listener) {
    std::lock_guard lock(mu_);
    loops_[listener].push_back(net::WorkerPool::CurrentIndex());
    ++total_;
    changed_.notify_all();
  }
  std::mutex mu_;
  std::condition_variable changed_;
  std::vector<std::vector<int>> loops_{3};
  std::size_t total_ = 0;
};

class LoopHandler final : public PodTrafficHandler {
 public:
  Result<std::unique_ptr<PodTraffic>> Attach(const Pod&) override {
    auto t = std::make_unique<LoopTraffic>();
    traffic = t.get();
    return std::unique_ptr<PodTraffic>(std::move(t));
  }
  LoopTraffic* traffic = nullptr;
};

TEST(PodTrafficTest, EveryWorkerAcceptsOnItsOwnListenersAndStoppingClosesThemAll) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root (setns, SO_MARK)";
  auto here = Netns::Current();
  ASSERT_TRUE(here.ok());
  auto shared = std::make_shared<const Netns>(std::move(here).value());
  LoopHandler handler;
  net::WorkerPool workers(2);
  workers.Start();
  PodPorts ports{
      .outbound = 0, .inbound_plaintext = 0, .hbone = 0, .bind = net::IpAddress::Loopback4()};
  PodSpec spec{.uid = "uid-loops", .name = "loops", .ns = "mesh", .service_account = ""};
  auto pod = Pod::Start(spec, identity::SpiffeId("cluster.local", "mesh", "default"), shared,
                        /*mark=*/0, proxy::CertLease(), ports, workers, handler);
  ASSERT_TRUE(pod.ok()) << pod.error().ToString();
  // Three ports, each with one listening socket per worker loop.
  EXPECT_EQ((*pod)->listening_sockets(), 6u);
  const auto addrs = (*pod)->listen_addresses();
  ASSERT_EQ(addrs.size(), 3u);
  // The kernel spreads the connections over the per-worker sockets (a hash
  // of the 4-tuple): 24 to the outbound and plaintext ports each reach both loops.
  constexpr std::size_t kEach = 24;
  for (std::size_t i = 0; i < kEach; ++i) {
    Connect(addrs[0]);
    Connect(addrs[1]);
  }
  auto loops = handler.traffic->Wait(2 * kEach);
  EXPECT_EQ(std::set<int>(loops[0].begin(), loops[0].end()), (std::set<int>{0, 1}));
  EXPECT_EQ(std::set<int>(loops[1].begin(), loops[1].end()), (std::set<int>{0, 1}));

  (*pod)->StopAccepting();
  // No socket of any group is left listening in the namespace.
  for (const auto& addr : addrs) {
    bool listening = true;
    for (int i = 0; i < 500 && listening; ++i) {
      auto r = net::TcpPortListening(*shared, addr.port());
      ASSERT_TRUE(r.ok()) << r.error().ToString();
      listening = *r;
      if (listening) std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
    EXPECT_FALSE(listening) << addr.ToString();
  }
  workers.Stop();
}

}  // namespace
}  // namespace ambit::node
