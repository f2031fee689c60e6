#include "rpc/message_framing.h"

#include <gtest/gtest.h>

#include <string>

namespace ambit::rpc {
namespace {

const std::uint8_t* Bytes(const std::string& s) { return reinterpret_cast<const std::uint8_t*>(s.data()); }

TEST(MessageFramingTest, FramesWithPrefix) {
  std::string out;
  AppendFramedMessage(out, "abc");
  EXPECT_EQ(out, std::string("\0\0\0\0\3abc", 8));
}

TEST(MessageFramingTest, ReassemblesMessagesSplitAnywhere) {
  std::string wire;
  AppendFramedMessage(wire, "first");
  AppendFramedMessage(wire, "");
  AppendFramedMessage(wire, std::string(70'000, 'x'));
  for (std::size_t step : {1u, 3u, 5u, 7u, 4096u, 100'000u}) {
    MessageDeframer deframer(1 << 20);
    for (std::size_t i = 0; i < wire.size(); i += step) {
      ASSERT_TRUE(deframer.Append(Bytes(wire) + i, std::min(step, wire.size() - i)).ok());
    }
    ASSERT_EQ(deframer.queued_messages(), 3u) << step;
    EXPECT_EQ(deframer.Pop(), "first");
    EXPECT_EQ(deframer.Pop(), "");
    EXPECT_EQ(deframer.Pop(), std::string(70'000, 'x'));
    EXPECT_FALSE(deframer.InsideMessage());
  }
}

TEST(MessageFramingTest, ReportsTruncation) {
  std::string wire;
  AppendFramedMessage(wire, "hello");
  MessageDeframer deframer(100);
  ASSERT_TRUE(deframer.Append(Bytes(wire), 7).ok());
  EXPECT_FALSE(deframer.HasMessage());
  EXPECT_TRUE(deframer.InsideMessage());
}

TEST(MessageFramingTest, RejectsOversizedBeforeBuffering) {
  std::string wire("\0\x01\0\0\0", 5);  // 16 MiB announced
  MessageDeframer deframer(1 << 20);
  Status status = deframer.Append(Bytes(wire), wire.size());
  ASSERT_FALSE(status.ok());
  EXPECT_EQ(status.error().code(), ErrorCode::kInvalidArgument);
  EXPECT_NE(status.error().message().find("16777216 bytes exceeds the limit of 1048576"), std::string::npos);
  // Stays failed.
  EXPECT_FALSE(deframer.Append(Bytes(wire), 1).ok());
}

TEST(MessageFramingTest, RejectsCompressedAndBadFlags) {
  for (char flag : {'\1', '\7'}) {
    std::string wire = std::string(1, flag) + std::string("\0\0\0\1x", 5);
    MessageDeframer deframer(100);
    Status status = deframer.Append(Bytes(wire), wire.size());
    ASSERT_FALSE(status.ok());
    EXPECT_EQ(status.error().code(), ErrorCode::kProtocol);
  }
}

}  // namespace
}  // namespace ambit::rpc
