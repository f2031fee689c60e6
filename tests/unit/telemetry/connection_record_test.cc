#include "telemetry/connection_record.h"

#include <gtest/gtest.h>

#include <string>

#include "log_capture.h"
#include "promtool.h"
#include "telemetry/tcp_metrics.h"

namespace ambit::telemetry {
namespace {

TcpLabels Labels() {
  TcpLabels l;
  l.reporter = "destination";
  l.source_workload = "client";
  l.source_workload_namespace = "mesh";
  l.source_principal = "spiffe://cluster.local/ns/mesh/sa/client";
  l.destination_service = "web.mesh.svc.cluster.local";
  l.destination_workload = "web";
  l.destination_workload_namespace = "mesh";
  l.destination_principal = "spiffe://cluster.local/ns/mesh/sa/web";
  l.connection_security_policy = "mutual_tls";
  return l;
}

ConnectionEnds Ends() {
  return {"inbound", *net::SocketAddress::Parse("10.0.0.1:40000"),
          *net::SocketAddress::Parse("10.0.0.2:15008"), "10.0.0.2:8080"};
}

// The value of the sample line that starts with |prefix| and contains
// |part| (-1 when there is none).
long Sample(const std::string& text, const std::string& prefix, const std::string& part) {
  std::size_t at = 0;
  long found = -1;
  while ((at = text.find(prefix, at)) != std::string::npos) {
    const std::string line = text.substr(at, text.find('\n', at) - at);
    at += line.size();
    if (line.find(part) == std::string::npos) continue;
    if (found != -1) return -2;  // more than one matching series
    found = std::stol(line.substr(line.rfind(' ') + 1));
  }
  return found;
}

class ConnectionRecordTest : public ::testing::Test {
 protected:
  metrics::Registry registry_{2};
  TcpMetrics metrics_{registry_};
  testing::LogCapture log_;
};

TEST_F(ConnectionRecordTest, OpenAndCloseLandOnOneSeriesWithOneLine) {
  const ConnectionRecord record(&metrics_, Labels(), Ends());
  record.Opened();
  record.Closed(/*sent=*/300, /*received=*/120, /*aborted=*/false);
  const std::string text = metrics_.RenderPrometheus();
  const std::string mine = "source_workload=\"client\"";
  EXPECT_EQ(Sample(text, "istio_tcp_connections_opened_total{", mine), 1) << text;
  EXPECT_EQ(Sample(text, "istio_tcp_connections_closed_total{", mine), 1);
  EXPECT_EQ(Sample(text, "istio_tcp_connections_failed_total{", mine), 0);
  EXPECT_EQ(Sample(text, "istio_tcp_sent_bytes_total{", mine), 300);
  EXPECT_EQ(Sample(text, "istio_tcp_received_bytes_total{", mine), 120);
  EXPECT_NE(text.find("response_flags=\"-\""), std::string::npos);
  EXPECT_NE(text.find("source_app=\"unknown\""), std::string::npos);
  const std::string log = log_.text();
  EXPECT_NE(log.find("info access: connection complete src.addr=10.0.0.1:40000 src.workload=client "
                     "src.namespace=mesh src.identity=spiffe://cluster.local/ns/mesh/sa/client "
                     "dst.addr=10.0.0.2:15008 dst.hbone_addr=10.0.0.2:8080 "
                     "dst.service=web.mesh.svc.cluster.local dst.workload=web dst.namespace=mesh "
                     "dst.identity=spiffe://cluster.local/ns/mesh/sa/web direction=inbound "
                     "bytes_sent=300 bytes_recv=120 duration="),
            std::string::npos)
      << log;
}

TEST_F(ConnectionRecordTest, TheSeriesIsFixedWhenTheRecordIsMade) {
  TcpLabels labels = Labels();
  const ConnectionRecord record(&metrics_, labels, Ends());
  record.Opened();
  labels.destination_workload = "moved";  // what a later snapshot would say
  record.Closed(1, 2, false);
  EXPECT_EQ(record.labels().destination_workload, "web");
  const std::string text = metrics_.RenderPrometheus();
  EXPECT_EQ(text.find("moved"), std::string::npos);
  EXPECT_EQ(Sample(text, "istio_tcp_connections_closed_total{", "destination_workload=\"web\""), 1);
}

TEST_F(ConnectionRecordTest, RecordsOfOneLabelSetShareTheirSeries) {
  const ConnectionRecord a(&metrics_, Labels(), Ends());
  const ConnectionRecord b(&metrics_, Labels(), Ends());
  EXPECT_EQ(&a.labels(), &b.labels());
  a.Opened();
  b.Opened();
  EXPECT_EQ(Sample(metrics_.RenderPrometheus(), "istio_tcp_connections_opened_total{", "client"),
            2);
}

TEST_F(ConnectionRecordTest, RevokedKeepsBytesAndCountsCloseAsDenied) {
  const ConnectionRecord record(&metrics_, Labels(), Ends());
  record.Opened();
  record.Revoked(10, 20, "connection closed due to policy change: explicitly denied by: mesh/deny");
  const std::string text = metrics_.RenderPrometheus();
  EXPECT_EQ(Sample(text, "istio_tcp_sent_bytes_total{", "response_flags=\"-\""), 10);
  EXPECT_EQ(Sample(text, "istio_tcp_connections_closed_total{", "response_flags=\"-\""), 0);
  EXPECT_EQ(Sample(text, "istio_tcp_connections_closed_total{", "response_flags=\"DENY\""), 1);
  EXPECT_EQ(Sample(text, "istio_tcp_connections_failed_total{", "response_flags=\"DENY\""), 1);
  EXPECT_NE(log_.text().find("warning access: connection complete"), std::string::npos);
  EXPECT_NE(log_.text().find(" error=\"connection closed due to policy change: explicitly denied "
                             "by: mesh/deny\""),
            std::string::npos)
      << log_.text();
}

TEST_F(ConnectionRecordTest, RefusedMakesOnlyTheFlaggedSeries) {
  ConnectionRecord::Refuse(&metrics_, Labels(), Ends(), "DENY",
                           "connection closed due to policy rejection: allow policies exist, but "
                           "none allowed");
  ConnectionRecord::Refuse(&metrics_, Labels(), Ends(), "CONNECT", "");
  const std::string text = metrics_.RenderPrometheus();
  EXPECT_EQ(text.find("response_flags=\"-\""), std::string::npos) << text;
  EXPECT_EQ(Sample(text, "istio_tcp_connections_failed_total{", "response_flags=\"DENY\""), 1);
  EXPECT_EQ(Sample(text, "istio_tcp_connections_failed_total{", "response_flags=\"CONNECT\""), 1);
  const std::string log = log_.text();
  EXPECT_NE(log.find("warning access: connection failed src.addr=10.0.0.1:40000"),
            std::string::npos)
      << log;
  EXPECT_EQ(log.find("access: connection failed", log.find("connection failed") + 1),
            std::string::npos)
      << "a refusal with no error writes no line";
}

TEST_F(ConnectionRecordTest, FailedAndAbortedCountOnTheirOwnSeries) {
  const ConnectionRecord failed(&metrics_, Labels(), Ends());
  failed.Failed();
  const ConnectionRecord aborted(&metrics_, Labels(), Ends());
  aborted.Opened();
  aborted.Closed(0, 5, /*aborted=*/true);
  const std::string text = metrics_.RenderPrometheus();
  EXPECT_EQ(Sample(text, "istio_tcp_connections_failed_total{", "client"), 1);
  EXPECT_EQ(Sample(text, "istio_tcp_connections_closed_total{", "client"), 1);
  EXPECT_NE(log_.text().find(" error=aborted"), std::string::npos);
}

TEST_F(ConnectionRecordTest, WithoutMetricsItStillLogs) {
  const ConnectionRecord record(nullptr, Labels(), Ends());
  record.Opened();
  record.Closed(1, 1, false);
  record.Failed("DENY");
  EXPECT_NE(log_.text().find("access: connection complete"), std::string::npos);
}

TEST_F(ConnectionRecordTest, IstioTcpExpositionPassesPromtool) {
  TcpLabels odd = Labels();
  odd.source_workload = "we\"ird\\name";
  const ConnectionRecord a(&metrics_, Labels(), Ends());
  const ConnectionRecord b(&metrics_, odd, Ends());
  a.Opened();
  b.Revoked(1, 2, "x");
  const std::string text = metrics_.RenderPrometheus();
  EXPECT_NE(text.find("# HELP istio_tcp_connections_opened_total The total number of TCP "
                      "connections opened.\n# TYPE istio_tcp_connections_opened_total counter\n"),
            std::string::npos);
  EXPECT_NE(text.find("source_workload=\"we\\\"ird\\\\name\""), std::string::npos) << text;
  const auto result = metrics::testing::PromtoolCheck(AMBIT_PROMTOOL, text);
  if (!result) GTEST_SKIP() << AMBIT_PROMTOOL << " not installed";
  EXPECT_EQ(*result, "exit 0") << text;
}

}  // namespace
}  // namespace ambit::telemetry
