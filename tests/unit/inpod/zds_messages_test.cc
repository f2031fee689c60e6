#include "inpod/zds_messages.h"

#include <fcntl.h>
#include <gtest/gtest.h>

namespace ambit::inpod {
namespace {

UniqueFd DevNull() { return UniqueFd(::open("/dev/null", O_RDONLY | O_CLOEXEC)); }
bool IsOpen(int fd) { return ::fcntl(fd, F_GETFD) != -1; }

ReceivedDatagram Datagram(std::string bytes, int fds = 0) {
  ReceivedDatagram d;
  d.bytes = std::move(bytes);
  for (int i = 0; i < fds; ++i) d.fds.push_back(DevNull());
  return d;
}

TEST(ZdsMessages, AddRoundTripsWithItsFd) {
  ZdsRequest add = ZdsAdd{"uid-1", {"web-0", "shop", "web"}, UniqueFd()};
  auto d = Datagram(EncodeWorkloadRequest(add), 1);
  const int fd = d.fds[0].get();
  auto decoded = DecodeWorkloadRequest(std::move(d));
  ASSERT_TRUE(decoded.ok()) << decoded.error().ToString();
  auto* got = std::get_if<ZdsAdd>(&*decoded);
  ASSERT_NE(got, nullptr);
  EXPECT_EQ(got->uid, "uid-1");
  EXPECT_EQ(got->info, (WorkloadInfo{"web-0", "shop", "web"}));
  EXPECT_EQ(got->netns.get(), fd);
  EXPECT_EQ(Describe(*decoded), "add uid-1");
}

TEST(ZdsMessages, OtherRequestsRoundTrip) {
  std::vector<ZdsRequest> requests;
  requests.emplace_back(ZdsKeep{"k"});
  requests.emplace_back(ZdsDel{"d"});
  requests.emplace_back(ZdsSnapshotSent{});
  for (const ZdsRequest& r : requests) {
    const std::string name = Describe(r);
    auto decoded = DecodeWorkloadRequest(Datagram(EncodeWorkloadRequest(r)));
    ASSERT_TRUE(decoded.ok()) << name << ": " << decoded.error().ToString();
    EXPECT_EQ(Describe(*decoded), name);
  }
}

// Field numbers on the wire, independent of the generated code: add=1{uid=1,
// workload_info=2{name=1,namespace=2,service_account=3}}, del=2{uid=2},
// snapshot_sent=3, keep=5{uid=1}; ack=1{error=1}; hello{version=1}.
TEST(ZdsMessages, WireBytesMatchIstioFieldNumbers) {
  EXPECT_EQ(EncodeWorkloadRequest(ZdsDel{"ab"}), std::string("\x12\x04\x12\x02" "ab", 6));
  EXPECT_EQ(EncodeWorkloadRequest(ZdsKeep{"ab"}), std::string("\x2a\x04\x0a\x02" "ab", 6));
  EXPECT_EQ(EncodeWorkloadRequest(ZdsSnapshotSent{}), std::string("\x1a\x00", 2));
  EXPECT_EQ(EncodeWorkloadRequest(ZdsAdd{"u", {"n", "s", "a"}, UniqueFd()}),
            std::string("\x0a\x0e\x0a\x01u\x12\x09\x0a\x01n\x12\x01s\x1a\x01" "a", 16));
  EXPECT_EQ(EncodeHello(), std::string("\x08\x01", 2));
  EXPECT_EQ(EncodeAck("x"), std::string("\x0a\x03\x0a\x01x", 5));
  EXPECT_EQ(EncodeAck(""), std::string("\x0a\x00", 2));
}

TEST(ZdsMessages, AddWithoutFdIsRejected) {
  auto decoded = DecodeWorkloadRequest(Datagram(EncodeWorkloadRequest(ZdsAdd{"u", {}, UniqueFd()})));
  ASSERT_FALSE(decoded.ok());
  EXPECT_EQ(decoded.error().code(), ErrorCode::kProtocol);
  EXPECT_NE(decoded.error().message().find("netns fd"), std::string::npos);
}

TEST(ZdsMessages, ExtraFdsAreRejectedAndClosed) {
  auto d = Datagram(EncodeWorkloadRequest(ZdsAdd{"u", {}, UniqueFd()}), 2);
  std::vector<int> fds{d.fds[0].get(), d.fds[1].get()};
  EXPECT_FALSE(DecodeWorkloadRequest(std::move(d)).ok());
  for (int fd : fds) EXPECT_FALSE(IsOpen(fd));

  auto del = Datagram(EncodeWorkloadRequest(ZdsDel{"u"}), 1);
  int del_fd = del.fds[0].get();
  EXPECT_FALSE(DecodeWorkloadRequest(std::move(del)).ok());
  EXPECT_FALSE(IsOpen(del_fd));
}

TEST(ZdsMessages, MalformedInputIsAnErrorNotACrash) {
  EXPECT_FALSE(DecodeWorkloadRequest(Datagram("")).ok());             // no payload
  EXPECT_FALSE(DecodeWorkloadRequest(Datagram("\xff\xff\xff")).ok());  // not protobuf
  EXPECT_FALSE(DecodeWorkloadRequest(Datagram(std::string("\x22\x00", 2))).ok());  // unknown field 4
  EXPECT_FALSE(DecodeWorkloadRequest(Datagram(EncodeWorkloadRequest(ZdsDel{""}))).ok());  // empty uid
  auto truncated = Datagram(EncodeWorkloadRequest(ZdsDel{"u"}));
  truncated.truncated = true;
  EXPECT_FALSE(DecodeWorkloadRequest(std::move(truncated)).ok());
  auto ctrunc = Datagram(EncodeWorkloadRequest(ZdsAdd{"u", {}, UniqueFd()}), 1);
  ctrunc.control_truncated = true;
  int fd = ctrunc.fds[0].get();
  EXPECT_FALSE(DecodeWorkloadRequest(std::move(ctrunc)).ok());
  EXPECT_FALSE(IsOpen(fd));
}

TEST(ZdsMessages, HelloAndAck) {
  EXPECT_TRUE(DecodeHello(Datagram(EncodeHello())).ok());
  EXPECT_FALSE(DecodeHello(Datagram("")).ok());  // version NOT_USED
  EXPECT_FALSE(DecodeHello(Datagram(std::string("\x08\x02", 2))).ok());
  EXPECT_FALSE(DecodeHello(Datagram(EncodeHello(), 1)).ok());
  auto ok = DecodeAck(Datagram(EncodeAck("")));
  ASSERT_TRUE(ok.ok());
  EXPECT_EQ(*ok, "");
  auto err = DecodeAck(Datagram(EncodeAck("no such pod")));
  ASSERT_TRUE(err.ok());
  EXPECT_EQ(*err, "no such pod");
  EXPECT_FALSE(DecodeAck(Datagram("")).ok());  // no ack payload
  EXPECT_FALSE(DecodeAck(Datagram(EncodeAck(""), 1)).ok());
}

}  // namespace
}  // namespace ambit::inpod
