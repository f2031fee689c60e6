#include <gtest/gtest.h>

#include <asio/io_context.hpp>

#include <atomic>

#include "node/connection_tracker.h"

namespace ambit::node {
namespace {

TEST(ConnectionTrackerTest, RegistersUntilDrainingAndAbortsOnTheirLoop) {
  asio::io_context loop;
  auto tracker = ConnectionTracker::Create();
  int aborted = 0;
  {
    auto t1 = tracker->Register(loop.get_executor(), [&] { ++aborted; });
    ASSERT_TRUE(t1.has_value());
    auto t2 = tracker->Register(loop.get_executor(), [&] { ++aborted; });
    EXPECT_EQ(tracker->active(), 2u);
    tracker->StartDraining();
    EXPECT_FALSE(tracker->Register(loop.get_executor(), [] {}).has_value());
    tracker->AbortAll();
    EXPECT_EQ(aborted, 0) << "aborts run on the connection's loop, not the caller";
    loop.run();
    EXPECT_EQ(aborted, 2);
  }
  EXPECT_EQ(tracker->active(), 0u);
  EXPECT_EQ(tracker->total(), 2u);
}

TEST(ConnectionTrackerTest, DrainingPostsDrainCallbacksOnce) {
  asio::io_context loop;
  auto tracker = ConnectionTracker::Create();
  int drained = 0;
  auto with = tracker->Register(loop.get_executor(), [] {}, [&] { ++drained; });
  auto without = tracker->Register(loop.get_executor(), [] {});
  tracker->StartDraining();
  tracker->StartDraining();
  EXPECT_EQ(drained, 0);
  loop.run();
  EXPECT_EQ(drained, 1);
  EXPECT_EQ(tracker->active(), 2u) << "draining does not end connections";
}

TEST(ConnectionTrackerTest, AbortSkipsConnectionsThatFinishedMeanwhile) {
  asio::io_context loop;
  auto tracker = ConnectionTracker::Create();
  int aborted = 0;
  auto token = tracker->Register(loop.get_executor(), [&] { ++aborted; });
  tracker->AbortAll();
  token.reset();  // the connection ends before the posted abort runs
  loop.run();
  EXPECT_EQ(aborted, 0);
}

}  // namespace
}  // namespace ambit::node
