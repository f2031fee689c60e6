#include <gtest/gtest.h>

#include <asio/executor_work_guard.hpp>
#include <asio/io_context.hpp>

#include <nlohmann/json.hpp>
#include <sys/socket.h>
#include <thread>

#include "core/unique_fd.h"
#include "node/pod_dump.h"
#include "node/connection_tracker.h"

namespace ambit::node {
namespace {

struct FakeConnection {
  std::string source;
  std::thread::id described_on;
  static void Describe(const void* context, ConnectionRow& row) {
    auto* c = const_cast<FakeConnection*>(static_cast<const FakeConnection*>(context));
    c->described_on = std::this_thread::get_id();
    row.direction = "outbound";
    row.source = c->source;
    row.destination = "10.244.2.2:80";
    row.identity = "spiffe://cluster.local/ns/mesh/sa/web";
    row.age = std::chrono::milliseconds(1500);
    row.bytes_from_app = 10;
    row.bytes_to_app = 20;
  }
};

// A loop on its own thread (the connections' loop in the tests below).
class LoopThread {
 public:
  LoopThread() : work_(asio::make_work_guard(io_)), thread_([this] { io_.run(); }) {}
  ~LoopThread() {
    work_.reset();
    io_.stop();
    thread_.join();
  }
  asio::any_io_executor executor() { return io_.get_executor(); }
  std::thread::id id() const { return thread_.get_id(); }

 private:
  asio::io_context io_;
  asio::executor_work_guard<asio::io_context::executor_type> work_;
  std::thread thread_;
};

TEST(ConnectionsDumpTest, DescribesLiveConnectionsOnTheirLoop) {
  LoopThread loop;
  auto tracker = ConnectionTracker::Create();
  FakeConnection a{"10.244.1.2:40000", {}};
  FakeConnection b{"10.244.1.2:40001", {}};
  auto ta = tracker->Register(loop.executor(), [] {}, {}, {}, ConnectionView{&FakeConnection::Describe, &a});
  auto tb = tracker->Register(loop.executor(), [] {}, {}, {}, ConnectionView{&FakeConnection::Describe, &b});
  auto untracked = tracker->Register(loop.executor(), [] {});  // no view: not listed
  auto rows = tracker->Describe(std::chrono::seconds(2));
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(a.described_on, loop.id()) << "views are read on the connection's loop";
  tb.reset();  // finished
  rows = tracker->Describe(std::chrono::seconds(2));
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].source, "10.244.1.2:40000");

  PodManager::PodConnections pod{{}, rows};
  pod.spec.ns = "mesh";
  pod.spec.name = "client";
  nlohmann::json out;
  DumpConnections({pod}, out);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0]["pod"], "mesh/client");
  EXPECT_EQ(out[0]["direction"], "outbound");
  EXPECT_EQ(out[0]["identity"], "spiffe://cluster.local/ns/mesh/sa/web");
  EXPECT_EQ(out[0]["ageSeconds"], 1.5);
  EXPECT_EQ(out[0]["bytesFromApp"], 10);
  EXPECT_EQ(out[0]["bytesToApp"], 20);
}

TEST(ConnectionsDumpTest, NoBytesWithoutAnAppSocket) {
  ConnectionRow row;
  row.direction = "inbound-hbone";
  PodManager::PodConnections pod{{}, {row}};
  nlohmann::json out;
  DumpConnections({pod}, out);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_FALSE(out[0].contains("bytesFromApp"));
  EXPECT_FALSE(out[0].contains("bytesToApp"));
}

TEST(ConnectionsDumpTest, TcpBytesOfASocket) {
  EXPECT_FALSE(TcpBytes(-1).has_value());
  UniqueFd udp(::socket(AF_INET, SOCK_DGRAM, 0));
  EXPECT_FALSE(TcpBytes(udp.get()).has_value()) << "not a TCP socket";
  UniqueFd tcp(::socket(AF_INET, SOCK_STREAM, 0));
  auto bytes = TcpBytes(tcp.get());
  ASSERT_TRUE(bytes.has_value());
  EXPECT_EQ(bytes->first, 0u);
  EXPECT_EQ(bytes->second, 0u);
}

}  // namespace
}  // namespace ambit::node
