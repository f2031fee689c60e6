#include "rpc/target.h"

#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <filesystem>

namespace ambit::rpc {
namespace {

TEST(TargetTest, ParsesUnixAndTcp) {
  auto unix_target = Target::Parse("unix:/var/lib/ambit/c/ambitd.sock");
  ASSERT_TRUE(unix_target.ok());
  EXPECT_EQ(unix_target->kind, Target::Kind::kUnix);
  EXPECT_EQ(unix_target->path, "/var/lib/ambit/c/ambitd.sock");
  EXPECT_EQ(unix_target->Authority(), "localhost");
  EXPECT_EQ(Target::Parse("unix:///run/x.sock")->path, "/run/x.sock");

  auto tcp = Target::Parse("10.0.0.1:15012");
  ASSERT_TRUE(tcp.ok());
  EXPECT_EQ(tcp->kind, Target::Kind::kTcp);
  EXPECT_EQ(tcp->host, "10.0.0.1");
  EXPECT_EQ(tcp->port, 15012);
  EXPECT_EQ(tcp->ToString(), "10.0.0.1:15012");

  auto v6 = Target::Parse("[::1]:15012");
  ASSERT_TRUE(v6.ok());
  EXPECT_EQ(v6->host, "::1");
  EXPECT_EQ(v6->Authority(), "[::1]:15012");
}

TEST(TargetTest, RejectsMalformed) {
  for (const char* bad : {"unix:", "localhost", "host:", "host:0", "host:65536", "host:12a", ":80",
                          "::1:80", "[::1]80", "[::1]:"}) {
    auto t = Target::Parse(bad);
    ASSERT_FALSE(t.ok()) << bad;
    EXPECT_EQ(t.error().code(), ErrorCode::kInvalidArgument) << bad;
    EXPECT_NE(t.error().message().find(bad), std::string::npos) << t.error().message();
  }
}

TEST(TargetTest, ConnectRefusedNamesTheTarget) {
  std::string path = "/tmp/ambit-rpc-target-" + std::to_string(::getpid()) + ".sock";
  // A socket file with no listener: connect is refused.
  int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::snprintf(addr.sun_path, sizeof(addr.sun_path), "%s", path.c_str());
  ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  ::close(fd);
  auto connected = Connect(*Target::Parse("unix:" + path),
                           std::chrono::steady_clock::now() + std::chrono::seconds(2));
  std::filesystem::remove(path);
  ASSERT_FALSE(connected.ok());
  EXPECT_EQ(connected.error().code(), ErrorCode::kUnavailable);
  EXPECT_EQ(connected.error().ToString(), "connecting to unix:" + path + ": Connection refused");
}

}  // namespace
}  // namespace ambit::rpc
