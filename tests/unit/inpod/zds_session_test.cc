#include "inpod/zds_session.h"

#include <fcntl.h>
#include <gtest/gtest.h>

#include "fake_handler.h"

namespace ambit::inpod {
namespace {

using testing::FakeHandler;

ZdsRequest Add(const std::string& uid) {
  return ZdsAdd{uid, {uid, "ns", "sa"}, UniqueFd(::open("/dev/null", O_RDONLY | O_CLOEXEC))};
}

TEST(ZdsSession, SnapshotDropsWorkloadsNotInIt) {
  FakeHandler handler;
  std::set<std::string> known{"gone", "kept", "readded"};
  ZdsSession session(handler, known);
  EXPECT_EQ(session.Handle(Add("readded")), "");
  EXPECT_EQ(session.Handle(ZdsKeep{"kept"}), "");
  EXPECT_EQ(session.Handle(Add("new")), "");
  EXPECT_FALSE(session.reconciled());
  EXPECT_EQ(session.Handle(ZdsSnapshotSent{}), "");
  EXPECT_TRUE(session.reconciled());
  EXPECT_EQ(known, (std::set<std::string>{"kept", "new", "readded"}));
  EXPECT_EQ(handler.events(), (std::vector<std::string>{"add readded", "add new", "del gone"}));
}

TEST(ZdsSession, AfterSnapshotAddAndDelApply) {
  FakeHandler handler;
  std::set<std::string> known;
  ZdsSession session(handler, known);
  EXPECT_EQ(session.Handle(ZdsSnapshotSent{}), "");
  EXPECT_EQ(session.Handle(Add("a")), "");
  EXPECT_EQ(session.Handle(ZdsDel{"a"}), "");
  EXPECT_EQ(session.Handle(ZdsDel{"never-seen"}), "");
  EXPECT_TRUE(known.empty());
  // Keep only makes sense inside a snapshot; a second SnapshotSent is wrong.
  EXPECT_NE(session.Handle(ZdsKeep{"a"}), "");
  EXPECT_NE(session.Handle(ZdsSnapshotSent{}), "");
}

TEST(ZdsSession, HandlerErrorsBecomeErrorAcks) {
  FakeHandler handler;
  handler.FailFor("bad");
  std::set<std::string> known{"bad"};
  ZdsSession session(handler, known);
  const std::string ack = session.Handle(Add("bad"));
  EXPECT_NE(ack.find("refusing bad"), std::string::npos) << ack;
  // Still present on the agent: the snapshot must not delete it.
  EXPECT_EQ(session.Handle(ZdsSnapshotSent{}), "");
  EXPECT_EQ(known.count("bad"), 1u);
  EXPECT_EQ(ZdsSession::HandleUndecodable(Error(ErrorCode::kProtocol, "junk")), "bad request: junk");
}

}  // namespace
}  // namespace ambit::inpod
