// e2e: installs the in-pod rule set into a scratch network namespace with each
// backend, proves that TCP is redirected to 15001 (and that ztunnel-marked
// sockets are not), and that removal leaves nothing behind. Root only; the
// namespace is private to this test and removed pass or fail.
#include <arpa/inet.h>
#include <fcntl.h>
#include <linux/netfilter_ipv4.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <random>
#include <thread>

#include "core/netns.h"
#include "scratch_netns.h"
#include "core/unique_fd.h"
#include "redirect/constants.h"
#include "redirect/netns_exec.h"
#include "redirect/rule_set.h"

namespace ambit::redirect {
namespace {

constexpr const char* kFarAddress = "10.254.77.9";  // on the namespace's eth0 subnet, no one there
constexpr uint16_t kFarPort = 8080;

// Creates a TCP socket inside |ns| (sockets keep the namespace they were made in).
UniqueFd SocketIn(const Netns& ns, uint32_t mark = 0) {
  UniqueFd fd;
  std::thread t([&] {
    auto guard = NetnsGuard::Enter(ns);
    if (!guard.ok()) return;
    fd.reset(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    if (mark != 0) ::setsockopt(fd.get(), SOL_SOCKET, SO_MARK, &mark, sizeof(mark));
  });
  t.join();
  return fd;
}

sockaddr_in Addr(const char* ip, uint16_t port) {
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  ::inet_pton(AF_INET, ip, &a.sin_addr);
  return a;
}

bool Readable(int fd, int timeout_ms) {
  pollfd p{fd, POLLIN, 0};
  return ::poll(&p, 1, timeout_ms) == 1;
}

// Proves capture: an unmarked connection to a far address lands on 15001 with
// SO_ORIGINAL_DST = that address; a connection with mark 0x539 does not.
void ExpectOutboundRedirection(const ScratchNetns& ns) {
  UniqueFd listener = SocketIn(ns.netns(), kInpodMark);  // ztunnel's listener carries the mark
  ASSERT_TRUE(listener.valid());
  int one = 1;
  ::setsockopt(listener.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  sockaddr_in any = Addr("0.0.0.0", kOutboundPort);
  ASSERT_EQ(::bind(listener.get(), reinterpret_cast<sockaddr*>(&any), sizeof(any)), 0) << strerror(errno);
  ASSERT_EQ(::listen(listener.get(), 16), 0);

  // The app: no mark, dials something that is not in the namespace.
  UniqueFd app = SocketIn(ns.netns());
  sockaddr_in far = Addr(kFarAddress, kFarPort);
  ASSERT_EQ(::connect(app.get(), reinterpret_cast<sockaddr*>(&far), sizeof(far)), 0)
      << "connect to " << kFarAddress << " was not redirected: " << strerror(errno);
  ASSERT_TRUE(Readable(listener.get(), 2000));
  UniqueFd accepted(::accept4(listener.get(), nullptr, nullptr, SOCK_CLOEXEC));
  ASSERT_TRUE(accepted.valid());
  sockaddr_in original{};
  socklen_t len = sizeof(original);
  ASSERT_EQ(::getsockopt(accepted.get(), SOL_IP, SO_ORIGINAL_DST, &original, &len), 0) << strerror(errno);
  char ip[INET_ADDRSTRLEN];
  ::inet_ntop(AF_INET, &original.sin_addr, ip, sizeof(ip));
  EXPECT_STREQ(ip, kFarAddress);
  EXPECT_EQ(ntohs(original.sin_port), kFarPort);
  // Bytes flow through the redirected connection.
  ASSERT_EQ(::write(app.get(), "ping", 4), 4);
  char buf[8] = {};
  ASSERT_TRUE(Readable(accepted.get(), 2000));
  EXPECT_EQ(::read(accepted.get(), buf, sizeof(buf)), 4);
  EXPECT_STREQ(buf, "ping");

  // ztunnel's own outbound socket (mark 0x539) must go where it was sent.
  UniqueFd ztunnel = SocketIn(ns.netns(), kInpodMark);
  ::fcntl(ztunnel.get(), F_SETFL, O_NONBLOCK);
  int rc = ::connect(ztunnel.get(), reinterpret_cast<sockaddr*>(&far), sizeof(far));
  EXPECT_TRUE(rc < 0 && errno == EINPROGRESS) << "marked connect completed at once: it was redirected";
  EXPECT_FALSE(Readable(listener.get(), 500)) << "a 0x539-marked connection reached the 15001 listener";
}

UniqueFd ListenIn(const Netns& ns, uint16_t port) {
  UniqueFd listener = SocketIn(ns, kInpodMark);
  int one = 1;
  ::setsockopt(listener.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  sockaddr_in any = Addr("0.0.0.0", port);
  EXPECT_EQ(::bind(listener.get(), reinterpret_cast<sockaddr*>(&any), sizeof(any)), 0) << strerror(errno);
  EXPECT_EQ(::listen(listener.get(), 16), 0);
  return listener;
}

// Moves the pod's spare veth end into |client| as 10.254.77.3/24, so the
// client reaches the pod at 10.254.77.2 from outside its namespace.
void ConnectClient(const ScratchNetns& pod, const ScratchNetns& client) {
  client.Sh("ip link del eth0");  // its own pair (and its peer0) goes
  pod.Sh("ip link set peer0 netns " + client.name());
  client.Sh("ip addr add 10.254.77.3/24 dev peer0 && ip link set peer0 up");
}

// Proves inbound capture: a connection from outside to pod:8080 lands on 15006
// with SO_ORIGINAL_DST pod:8080; one to pod:15008 reaches 15008 untouched.
void ExpectInboundRedirection(const ScratchNetns& pod, const ScratchNetns& client) {
  UniqueFd plaintext = ListenIn(pod.netns(), kInboundPlaintextPort);
  UniqueFd hbone = ListenIn(pod.netns(), kInboundHbonePort);

  UniqueFd app_conn = SocketIn(client.netns());
  sockaddr_in app = Addr("10.254.77.2", 8080);
  ASSERT_EQ(::connect(app_conn.get(), reinterpret_cast<sockaddr*>(&app), sizeof(app)), 0)
      << "inbound connect to pod:8080 was not redirected to 15006: " << strerror(errno);
  ASSERT_TRUE(Readable(plaintext.get(), 2000));
  UniqueFd accepted(::accept4(plaintext.get(), nullptr, nullptr, SOCK_CLOEXEC));
  ASSERT_TRUE(accepted.valid());
  sockaddr_in original{};
  socklen_t len = sizeof(original);
  ASSERT_EQ(::getsockopt(accepted.get(), SOL_IP, SO_ORIGINAL_DST, &original, &len), 0) << strerror(errno);
  char ip[INET_ADDRSTRLEN];
  ::inet_ntop(AF_INET, &original.sin_addr, ip, sizeof(ip));
  EXPECT_STREQ(ip, "10.254.77.2");
  EXPECT_EQ(ntohs(original.sin_port), 8080);

  UniqueFd hbone_conn = SocketIn(client.netns());
  sockaddr_in to_hbone = Addr("10.254.77.2", kInboundHbonePort);
  ASSERT_EQ(::connect(hbone_conn.get(), reinterpret_cast<sockaddr*>(&to_hbone), sizeof(to_hbone)), 0)
      << strerror(errno);
  EXPECT_TRUE(Readable(hbone.get(), 2000)) << "connection to 15008 did not reach the 15008 listener";
  EXPECT_FALSE(Readable(plaintext.get(), 200)) << "connection to 15008 was redirected to 15006";
}

// With a listener on 15001 ready to catch it, an app connection must not land there.
void ExpectNoRedirection(const ScratchNetns& ns) {
  UniqueFd listener = ListenIn(ns.netns(), kOutboundPort);
  UniqueFd app = SocketIn(ns.netns());
  ::fcntl(app.get(), F_SETFL, O_NONBLOCK);
  sockaddr_in far = Addr(kFarAddress, kFarPort);
  int rc = ::connect(app.get(), reinterpret_cast<sockaddr*>(&far), sizeof(far));
  EXPECT_NE(rc, 0) << "after removal the connect completes at once: still redirected";
  EXPECT_FALSE(Readable(listener.get(), 300)) << "after removal a connection still reached 15001";
}

void ExpectNoPolicyRouting(const ScratchNetns& ns) {
  EXPECT_EQ(ns.Sh("ip rule show pref 32764"), "");
  EXPECT_EQ(ns.Sh("ip route show table 100 2>/dev/null || true"), "");
}

class RedirectE2e : public ::testing::Test {
 protected:
  void SetUp() override {
    if (::geteuid() != 0) GTEST_SKIP() << "SKIPPED LOUDLY: e2e needs root to create network namespaces";
    ASSERT_TRUE(ns_.ok()) << "could not create a scratch network namespace";
  }
  ScratchNetns ns_;
};

TEST_F(RedirectE2e, NftablesInstallRedirectReconcileRemove) {
  RedirectOptions options;  // nftables, DNS capture on
  auto set = RuleSet::Install(ns_.path(), options);
  ASSERT_TRUE(set.ok()) << set.error().ToString();

  const std::string ruleset = ns_.Sh("nft list ruleset");
  for (const char* want : {"table inet istio-ambient-nat", "table inet istio-ambient-mangle",
                           "table inet istio-ambient-raw", "redirect to :15001", "redirect to :15006",
                           "tcp dport != 15008", "ct zone set 1"}) {
    EXPECT_NE(ruleset.find(want), std::string::npos) << want << " missing from:\n" << ruleset;
  }
  EXPECT_NE(ns_.Sh("ip rule show").find("32764:\tfrom all fwmark 0x111/0xfff lookup 100"), std::string::npos);
  EXPECT_NE(ns_.Sh("ip route show table 100").find("local default dev lo"), std::string::npos);

  // Freshly installed: nothing to do. Tampered: repaired, then stable again.
  auto again = set->Reconcile();
  ASSERT_TRUE(again.ok()) << again.error().ToString();
  EXPECT_EQ(*again, ReconcileOutcome::kUnchanged);
  ns_.Sh("nft flush chain inet istio-ambient-nat istio-output && ip rule del pref 32764");
  auto repaired = set->Reconcile();
  ASSERT_TRUE(repaired.ok()) << repaired.error().ToString();
  EXPECT_EQ(*repaired, ReconcileOutcome::kRepaired);
  EXPECT_EQ(*set->Reconcile(), ReconcileOutcome::kUnchanged);
  // A second Install over existing rules adopts them without duplicating anything.
  {
    auto second = RuleSet::Install(ns_.path(), options);
    ASSERT_TRUE(second.ok()) << second.error().ToString();
    EXPECT_EQ(ns_.Sh("nft list ruleset"), ruleset);
    ASSERT_TRUE(second->Remove().ok());
  }
  ASSERT_TRUE(set->Reconcile().ok());

  ExpectOutboundRedirection(ns_);
  {
    ScratchNetns client("10.254.78.2/24");
    ASSERT_TRUE(client.ok());
    ConnectClient(ns_, client);
    ExpectInboundRedirection(ns_, client);
  }

  ASSERT_TRUE(set->Remove().ok());
  EXPECT_EQ(ns_.Sh("nft list ruleset"), "");
  ExpectNoPolicyRouting(ns_);
  ExpectNoRedirection(ns_);
  EXPECT_TRUE(set->Remove().ok());  // idempotent
}

TEST_F(RedirectE2e, IptablesInstallRedirectReconcileRemove) {
  RedirectOptions options;
  options.backend = Backend::kIptables;
  auto set = RuleSet::Install(ns_.path(), options);
  ASSERT_TRUE(set.ok()) << set.error().ToString();

  const std::string saved = ns_.Sh("iptables-save");
  for (const char* want : {":ISTIO_PRERT", ":ISTIO_OUTPUT", "-A PREROUTING -j ISTIO_PRERT",
                           "--to-ports 15001", "! --dport 15008", "-j CT --zone 1",
                           "-j CONNMARK --set-xmark 0x111/0xfff"}) {
    EXPECT_NE(saved.find(want), std::string::npos) << want << " missing from:\n" << saved;
  }
  EXPECT_NE(ns_.Sh("ip rule show").find("fwmark 0x111/0xfff lookup 100"), std::string::npos);

  auto again = set->Reconcile();
  ASSERT_TRUE(again.ok()) << again.error().ToString();
  EXPECT_EQ(*again, ReconcileOutcome::kUnchanged);
  ns_.Sh("iptables -t nat -F ISTIO_OUTPUT && iptables -t mangle -A PREROUTING -j ISTIO_PRERT");
  auto repaired = set->Reconcile();
  ASSERT_TRUE(repaired.ok()) << repaired.error().ToString();
  EXPECT_EQ(*repaired, ReconcileOutcome::kRepaired);
  EXPECT_EQ(*set->Reconcile(), ReconcileOutcome::kUnchanged);

  ExpectOutboundRedirection(ns_);
  {
    ScratchNetns client("10.254.78.2/24");
    ASSERT_TRUE(client.ok());
    ConnectClient(ns_, client);
    ExpectInboundRedirection(ns_, client);
  }

  ASSERT_TRUE(set->Remove().ok());
  EXPECT_EQ(ns_.Sh("iptables-save").find("ISTIO"), std::string::npos);
  ExpectNoPolicyRouting(ns_);
  ExpectNoRedirection(ns_);
}

// IPv6 rules are checked by installing them and asking Reconcile: an exact
// match proves the generated text is what nft / ip6tables-save print.
TEST_F(RedirectE2e, Ipv6RuleSetsInstallExactlyAndRemoveCleanly) {
  if (::access("/proc/sys/net/ipv6", F_OK) != 0) GTEST_SKIP() << "SKIPPED LOUDLY: kernel without IPv6";
  for (Backend backend : {Backend::kNftables, Backend::kIptables}) {
    SCOPED_TRACE(std::string(ToString(backend)));
    RedirectOptions options;
    options.backend = backend;
    options.ipv6 = true;
    auto set = RuleSet::Install(ns_.path(), options);
    ASSERT_TRUE(set.ok()) << set.error().ToString();
    EXPECT_NE(ns_.Sh("ip -6 rule show").find("fwmark 0x111/0xfff lookup 100"), std::string::npos);
    auto again = set->Reconcile();
    ASSERT_TRUE(again.ok()) << again.error().ToString();
    EXPECT_EQ(*again, ReconcileOutcome::kUnchanged);
    ASSERT_TRUE(set->Remove().ok());
    EXPECT_EQ(ns_.Sh("ip -6 rule show pref 32764"), "");
    EXPECT_EQ(ns_.Sh("ip6tables-save").find("ISTIO"), std::string::npos);
    EXPECT_EQ(ns_.Sh("nft list ruleset").find("istio-ambient"), std::string::npos);
  }
}

TEST_F(RedirectE2e, DestructorRemovesEverything) {
  {
    auto set = RuleSet::Install(ns_.path(), {});
    ASSERT_TRUE(set.ok()) << set.error().ToString();
    auto state = InspectRedirection(ns_.netns(), {});
    ASSERT_TRUE(state.ok()) << state.error().ToString();
    EXPECT_TRUE(state->rules_current && state->routes_current);
  }
  EXPECT_EQ(ns_.Sh("nft list ruleset"), "");
  ExpectNoPolicyRouting(ns_);
  auto state = InspectRedirection(ns_.netns(), {});
  ASSERT_TRUE(state.ok());
  EXPECT_FALSE(state->rules_present || state->routes_present);
}

TEST_F(RedirectE2e, ErrorsNameTheNamespace) {
  auto missing = RuleSet::Install("/run/netns/ambit-e2e-does-not-exist", {});
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.error().ToString().find("/run/netns/ambit-e2e-does-not-exist"), std::string::npos);
}

}  // namespace
}  // namespace ambit::redirect
