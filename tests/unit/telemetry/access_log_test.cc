#include "telemetry/access_log.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "log_capture.h"

namespace ambit::telemetry {
namespace {

AccessLogEntry Complete() {
  AccessLogEntry e;
  e.event = "connection complete";
  e.src_addr = "10.10.1.5:41022";
  e.src_workload = "sleep";
  e.src_namespace = "shop";
  e.src_identity = "spiffe://cluster.local/ns/shop/sa/sleep";
  e.dst_addr = "10.10.2.7:15008";
  e.dst_hbone_addr = "10.10.2.7:8080";
  e.dst_service = "web.shop.svc.cluster.local";
  e.dst_workload = "web";
  e.dst_namespace = "shop";
  e.dst_identity = "spiffe://cluster.local/ns/shop/sa/web";
  e.direction = "outbound";
  e.bytes_sent = 430;
  e.bytes_recv = 120;
  e.duration_ms = 12;
  return e;
}

TEST(AccessLogTest, TextHasZtunnelsFieldsInOrder) {
  EXPECT_EQ(FormatAccessText(Complete()),
            "access: connection complete src.addr=10.10.1.5:41022 src.workload=sleep "
            "src.namespace=shop src.identity=spiffe://cluster.local/ns/shop/sa/sleep "
            "dst.addr=10.10.2.7:15008 dst.hbone_addr=10.10.2.7:8080 "
            "dst.service=web.shop.svc.cluster.local dst.workload=web dst.namespace=shop "
            "dst.identity=spiffe://cluster.local/ns/shop/sa/web direction=outbound "
            "bytes_sent=430 bytes_recv=120 duration=12ms");
}

TEST(AccessLogTest, TextLeavesOutUnknownOptionalFieldsAndQuotesErrors) {
  AccessLogEntry e;
  e.event = "connection failed";
  e.src_addr = "[fd00::1]:5000";
  e.dst_addr = "10.0.0.2:80";
  e.direction = "inbound";
  e.error = "connection closed due to policy rejection: explicitly denied by: shop/\"x\"";
  EXPECT_EQ(FormatAccessText(e),
            "access: connection failed src.addr=[fd00::1]:5000 src.workload= src.namespace= "
            "src.identity= dst.addr=10.0.0.2:80 dst.service= dst.workload= dst.namespace= "
            "dst.identity= direction=inbound error=\"connection closed due to policy rejection: "
            "explicitly denied by: shop/\\\"x\\\"\"");
  AccessLogEntry aborted = Complete();
  aborted.error = "aborted";
  aborted.via = "hbone";
  aborted.direction = "waypoint";
  const std::string text = FormatAccessText(aborted);
  EXPECT_NE(text.find(" direction=waypoint via=hbone bytes_sent="), std::string::npos) << text;
  EXPECT_TRUE(text.ends_with(" duration=12ms error=aborted")) << text;
}

TEST(AccessLogTest, JsonHasTheSameFields) {
  AccessLogEntry e = Complete();
  e.error = "a \"quoted\" reason";
  const auto j = nlohmann::json::parse(FormatAccessJson(e));
  EXPECT_EQ(j["scope"], "access");
  EXPECT_EQ(j["message"], "connection complete");
  EXPECT_EQ(j["src.addr"], "10.10.1.5:41022");
  EXPECT_EQ(j["src.identity"], "spiffe://cluster.local/ns/shop/sa/sleep");
  EXPECT_EQ(j["dst.hbone_addr"], "10.10.2.7:8080");
  EXPECT_EQ(j["dst.service"], "web.shop.svc.cluster.local");
  EXPECT_EQ(j["direction"], "outbound");
  EXPECT_EQ(j["bytes_sent"], 430);
  EXPECT_EQ(j["bytes_recv"], 120);
  EXPECT_EQ(j["duration_ms"], 12);
  EXPECT_EQ(j["error"], "a \"quoted\" reason");
  EXPECT_FALSE(j.contains("via"));
  // Bytes that are not UTF-8 (a peer-chosen name) do not break the line.
  AccessLogEntry odd = Complete();
  odd.src_workload = "\xff\xfe";
  nlohmann::json parsed;
  EXPECT_NO_THROW(parsed = nlohmann::json::parse(FormatAccessJson(odd)));
  EXPECT_TRUE(parsed.is_object());
}

TEST(AccessLogTest, WritesInTheSelectedFormatAndLevel) {
  testing::LogCapture capture;
  WriteAccessLog(Complete(), /*warn=*/false);
  SetAccessLogFormat(AccessLogFormat::kJson);
  AccessLogEntry failed = Complete();
  failed.event = "connection failed";
  WriteAccessLog(failed, /*warn=*/true);
  SetAccessLogFormat(AccessLogFormat::kText);
  const std::string text = capture.text();
  EXPECT_NE(text.find("info access: connection complete src.addr=10.10.1.5:41022 "),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("warning \x1e{\"scope\":\"access\",\"message\":\"connection failed\""),
            std::string::npos)
      << text;
}

}  // namespace
}  // namespace ambit::telemetry
