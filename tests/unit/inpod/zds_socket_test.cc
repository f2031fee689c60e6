// ZdsServer and ZdsClient over a real unix SOCK_SEQPACKET socket in one
// process: snapshot semantics, acks and error acks, reconnects, fd passing.
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <thread>

#include "fake_handler.h"
#include "inpod/seqpacket.h"
#include "inpod/zds_client.h"
#include "inpod/zds_server.h"

namespace ambit::inpod {
namespace {

using namespace std::chrono_literals;
using testing::FakeHandler;

std::string SocketPath() {
  static int counter = 0;
  return "/tmp/ambit-zds-test-" + std::to_string(::getpid()) + "-" + std::to_string(counter++) + ".sock";
}

UniqueFd OwnNetns() { return UniqueFd(::open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC)); }

ino_t OwnNetnsInode() {
  struct stat st {};
  ::stat("/proc/self/ns/net", &st);
  return st.st_ino;
}

size_t OpenFdCount() {
  size_t n = 0;
  DIR* d = ::opendir("/proc/self/fd");
  while (::readdir(d) != nullptr) ++n;
  ::closedir(d);
  return n;
}

template <typename Pred>
bool Eventually(Pred pred, std::chrono::milliseconds timeout = 5s) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (pred()) return true;
    std::this_thread::sleep_for(5ms);
  }
  return pred();
}

ZdsClientOptions ClientOptions(const std::string& path) {
  ZdsClientOptions o;
  o.socket_path = path;
  o.max_backoff = 50ms;
  return o;
}

TEST(Zds, SnapshotThenLiveAddDelWithRealNetnsFd) {
  const std::string path = SocketPath();
  auto server = ZdsServer::Start({path});
  ASSERT_TRUE(server.ok()) << server.error().ToString();
  // Pods enrolled before any ztunnel is there: queued for the snapshot.
  Status early = (*server)->AddPod("pod-a", {"a", "default", "sa-a"}, OwnNetns());
  ASSERT_FALSE(early.ok());
  EXPECT_EQ(early.error().code(), ErrorCode::kUnavailable);
  (void)(*server)->AddPod("pod-b", {"b", "default", "sa-b"}, OwnNetns());

  FakeHandler handler;
  ZdsClient client(ClientOptions(path), handler);
  EXPECT_FALSE(client.ready());
  client.Start();
  ASSERT_TRUE(Eventually([&] { return client.ready(); }));
  ASSERT_TRUE((*server)->WaitForReadyConnection(5s));
  EXPECT_EQ(handler.events(), (std::vector<std::string>{"add pod-a", "add pod-b"}));
  // The fd that arrived is the same namespace that was sent.
  EXPECT_EQ(handler.inodes().at("pod-a"), OwnNetnsInode());
  EXPECT_EQ(handler.info("pod-b"), (WorkloadInfo{"b", "default", "sa-b"}));

  // Live changes are acked synchronously.
  Status added = (*server)->AddPod("pod-c", {"c", "shop", "web"}, OwnNetns());
  ASSERT_TRUE(added.ok()) << added.error().ToString();
  EXPECT_EQ(handler.inodes().at("pod-c"), OwnNetnsInode());
  ASSERT_TRUE((*server)->DelPod("pod-a").ok());
  EXPECT_EQ(handler.events().back(), "del pod-a");
  EXPECT_EQ(client.Workloads(), (std::vector<std::string>{"pod-b", "pod-c"}));
  EXPECT_EQ((*server)->PodUids(), (std::vector<std::string>{"pod-b", "pod-c"}));
}

TEST(Zds, HandlerErrorIsReturnedToTheAgent) {
  const std::string path = SocketPath();
  auto server = ZdsServer::Start({path});
  ASSERT_TRUE(server.ok());
  FakeHandler handler;
  handler.FailFor("pod-bad");
  ZdsClient client(ClientOptions(path), handler);
  client.Start();
  ASSERT_TRUE((*server)->WaitForReadyConnection(5s));
  Status added = (*server)->AddPod("pod-bad", {}, OwnNetns());
  ASSERT_FALSE(added.ok());
  EXPECT_EQ(added.error().code(), ErrorCode::kProtocol);
  EXPECT_NE(added.error().ToString().find("refusing pod-bad"), std::string::npos) << added.error().ToString();
  // The connection survives an error ack.
  EXPECT_TRUE((*server)->AddPod("pod-ok", {}, OwnNetns()).ok());
}

TEST(Zds, ReconnectGetsSnapshotAndDropsPodsThatAreGone) {
  const std::string path = SocketPath();
  auto server = ZdsServer::Start({path});
  ASSERT_TRUE(server.ok());
  FakeHandler handler;
  ZdsClient client(ClientOptions(path), handler);
  client.Start();
  ASSERT_TRUE((*server)->WaitForReadyConnection(5s));
  ASSERT_TRUE((*server)->AddPod("stays", {}, OwnNetns()).ok());
  ASSERT_TRUE((*server)->AddPod("goes", {}, OwnNetns()).ok());
  ASSERT_TRUE((*server)->AddPod("keep-only", {}, OwnNetns()).ok());

  client.Stop();  // ztunnel restarts; meanwhile a pod goes away
  ASSERT_TRUE(Eventually([&] { return (*server)->ReadyConnections() == 0; }));
  ASSERT_TRUE((*server)->DelPod("goes").ok());
  // The agent lost this pod's netns (e.g. it restarted) but knows it exists.
  (void)(*server)->AddPod("keep-only", {}, UniqueFd());
  EXPECT_FALSE(client.ready());

  client.Start();
  ASSERT_TRUE(Eventually([&] { return client.ready(); }));
  EXPECT_EQ(client.connections(), 2u);
  EXPECT_TRUE(handler.WaitFor("del goes"));
  EXPECT_EQ(client.Workloads(), (std::vector<std::string>{"keep-only", "stays"}));
  auto events = handler.events();
  // Second snapshot: add stays, (keep keep-only), then the drop.
  ASSERT_GE(events.size(), 5u);
  EXPECT_EQ(std::vector<std::string>(events.end() - 2, events.end()),
            (std::vector<std::string>{"add stays", "del goes"}));
}

TEST(Zds, ServerRestartIsFollowedByReconnect) {
  const std::string path = SocketPath();
  FakeHandler handler;
  ZdsClient client(ClientOptions(path), handler);
  client.Start();  // nobody listening yet: backs off and retries
  std::this_thread::sleep_for(50ms);
  EXPECT_FALSE(client.ready());
  {
    auto server = ZdsServer::Start({path});
    ASSERT_TRUE(server.ok());
    ASSERT_TRUE((*server)->WaitForReadyConnection(5s));
    ASSERT_TRUE((*server)->AddPod("p1", {}, OwnNetns()).ok());
  }
  ASSERT_TRUE(Eventually([&] { return !client.ready(); }));
  auto server = ZdsServer::Start({path});
  ASSERT_TRUE(server.ok());
  ASSERT_TRUE((*server)->WaitForReadyConnection(5s));
  ASSERT_TRUE(Eventually([&] { return client.ready(); }));
  // The new agent has no pods: its (empty) snapshot drops p1.
  EXPECT_TRUE(handler.WaitFor("del p1"));
  EXPECT_TRUE(client.Workloads().empty());
}

// A hand-written agent sends junk; the client answers with error acks and
// stays connected.
TEST(Zds, ClientAnswersBadMessagesWithErrorAcks) {
  const std::string path = SocketPath();
  auto listener = ListenSeqpacket(path);
  ASSERT_TRUE(listener.ok());
  FakeHandler handler;
  ZdsClient client(ClientOptions(path), handler);
  client.Start();
  auto conn = AcceptSeqpacket(listener->get(), 5s);
  ASSERT_TRUE(conn.ok()) << conn.error().ToString();
  auto hello = ReceiveDatagram(conn->get(), 5s);
  ASSERT_TRUE(hello.ok());
  EXPECT_TRUE(DecodeHello(std::move(*hello)).ok());

  auto exchange = [&](std::string bytes, int fd) -> std::string {
    EXPECT_TRUE(SendDatagram(conn->get(), bytes, fd, 5s).ok());
    auto ack = ReceiveDatagram(conn->get(), 5s);
    EXPECT_TRUE(ack.ok());
    if (!ack.ok()) return "<no ack>";
    auto text = DecodeAck(std::move(*ack));
    EXPECT_TRUE(text.ok());
    return text.ok() ? *text : "<bad ack>";
  };
  UniqueFd ns = OwnNetns();
  const size_t fds_before = OpenFdCount();
  EXPECT_NE(exchange("\xff\x01garbage", -1), "");
  EXPECT_NE(exchange(EncodeWorkloadRequest(ZdsAdd{"no-fd", {}, UniqueFd()}), -1), "");
  EXPECT_NE(exchange(EncodeWorkloadRequest(ZdsDel{"with-fd"}), ns.get()), "");  // fd where none belongs
  EXPECT_EQ(exchange(EncodeWorkloadRequest(ZdsAdd{"good", {}, UniqueFd()}), ns.get()), "");
  EXPECT_EQ(exchange(EncodeWorkloadRequest(ZdsSnapshotSent{}), -1), "");
  EXPECT_TRUE(Eventually([&] { return client.ready(); }));
  EXPECT_EQ(handler.events(), (std::vector<std::string>{"add good"}));
  // Every fd the client received was closed (the handler owns none after use).
  EXPECT_TRUE(Eventually([&] { return OpenFdCount() == fds_before; })) << OpenFdCount() << " vs " << fds_before;
  client.Stop();
  ::unlink(path.c_str());
}

// A hand-written ztunnel that says hello and then never acks: the server gives
// up after its deadline and drops the connection.
TEST(Zds, ServerDropsAConnectionThatDoesNotAck) {
  const std::string path = SocketPath();
  ZdsServerOptions options{path};
  options.io_timeout = 200ms;
  auto server = ZdsServer::Start(options);
  ASSERT_TRUE(server.ok());
  auto conn = ConnectSeqpacket(path);
  ASSERT_TRUE(conn.ok());
  ASSERT_TRUE(SendDatagram(conn->get(), EncodeHello(), -1, 1s).ok());
  auto snapshot_sent = ReceiveDatagram(conn->get(), 2s);
  ASSERT_TRUE(snapshot_sent.ok());
  auto request = DecodeWorkloadRequest(std::move(*snapshot_sent));
  ASSERT_TRUE(request.ok());
  EXPECT_TRUE(std::holds_alternative<ZdsSnapshotSent>(*request));
  // No ack: the server's deadline passes, and it hangs up.
  auto next = ReceiveDatagram(conn->get(), 3s);
  ASSERT_FALSE(next.ok());
  EXPECT_EQ(next.error().code(), ErrorCode::kUnavailable);
  EXPECT_EQ((*server)->ReadyConnections(), 0u);
}

TEST(Zds, ServerRejectsABadHello) {
  const std::string path = SocketPath();
  auto server = ZdsServer::Start({path});
  ASSERT_TRUE(server.ok());
  auto conn = ConnectSeqpacket(path);
  ASSERT_TRUE(conn.ok());
  ASSERT_TRUE(SendDatagram(conn->get(), std::string("\x08\x07", 2), -1, 1s).ok());  // version 7
  auto next = ReceiveDatagram(conn->get(), 3s);
  ASSERT_FALSE(next.ok());
  EXPECT_EQ(next.error().code(), ErrorCode::kUnavailable);
}

TEST(Zds, FdsReceivedAreNotLeaked) {
  const std::string path = SocketPath();
  const size_t before = OpenFdCount();
  {
    auto server = ZdsServer::Start({path});
    ASSERT_TRUE(server.ok());
    FakeHandler handler;
    ZdsClient client(ClientOptions(path), handler);
    client.Start();
    ASSERT_TRUE((*server)->WaitForReadyConnection(5s));
    for (int i = 0; i < 20; ++i) ASSERT_TRUE((*server)->AddPod("p" + std::to_string(i), {}, OwnNetns()).ok());
    for (int i = 0; i < 20; ++i) ASSERT_TRUE((*server)->DelPod("p" + std::to_string(i)).ok());
  }
  EXPECT_EQ(OpenFdCount(), before);
  struct stat st {};
  EXPECT_NE(::stat(path.c_str(), &st), 0) << "socket file left behind";
}

}  // namespace
}  // namespace ambit::inpod
