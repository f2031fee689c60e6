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
#include <string>
#include <thread>
#include <vector>

#include "core/netns.h"
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

}  // namespace
}  // namespace ambit::node
