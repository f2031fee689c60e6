#include <gtest/gtest.h>
#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>

#include <memory>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>

#include "core/structured_log.h"

namespace ambit {
namespace {

std::string Log(bool json, const std::string& message) {
  std::ostringstream out;
  auto sink = std::make_shared<spdlog::sinks::ostream_sink_mt>(out);
  sink->set_formatter(MakeLogFormatter(json));
  spdlog::logger logger("prog", sink);
  logger.info("{}", message);
  return out.str();
}

TEST(LogFormatTest, JsonEscapesTheMessage) {
  const std::string line = Log(true, "error=\"denied\" path=C:\\x\nnext");
  const auto j = nlohmann::json::parse(line);
  EXPECT_EQ(j["msg"], "error=\"denied\" path=C:\\x\nnext");
  EXPECT_EQ(j["level"], "info");
  EXPECT_EQ(j["program"], "prog");
  EXPECT_TRUE(j.contains("time"));
}

TEST(LogFormatTest, JsonMergesAStructuredRecord) {
  const std::string line =
      Log(true, std::string(kStructuredLogMarker) + R"({"scope":"access","bytes_sent":3})");
  const auto j = nlohmann::json::parse(line);
  EXPECT_EQ(j["scope"], "access");
  EXPECT_EQ(j["bytes_sent"], 3);
  EXPECT_EQ(j["program"], "prog");
  EXPECT_FALSE(j.contains("msg"));
}

TEST(LogFormatTest, TextWritesTheMessageAndARecordWithoutItsMarker) {
  EXPECT_TRUE(Log(false, "hello \"x\"").ends_with(" info prog: hello \"x\"\n"));
  const std::string record = Log(false, std::string(kStructuredLogMarker) + R"({"a":1})");
  EXPECT_TRUE(record.ends_with(" info prog: {\"a\":1}\n")) << record;
}

}  // namespace
}  // namespace ambit
