// TcpMetrics' Prometheus text and label rendering (what /metrics serves
// through proxy::Admin).
#include "node/tcp_metrics.h"

#include <gtest/gtest.h>

#include <string>

namespace ambit::node {
namespace {

TEST(TcpMetricsTest, PrometheusText) {
  TcpMetrics metrics;
  TcpLabels labels;
  labels.reporter = "source";
  labels.source_workload = "client";
  labels.destination_workload = "server";
  labels.connection_security_policy = "mutual_tls";
  auto series = metrics.Get(labels);
  series->Opened();
  series->AddSent(100);
  series->AddReceived(250);
  series->Closed();
  const std::string body = metrics.RenderPrometheus();
  EXPECT_NE(body.find("# TYPE istio_tcp_connections_opened_total counter"), std::string::npos);
  EXPECT_NE(body.find("istio_tcp_connections_opened_total{reporter=\"source\",source_workload="
                      "\"client\""),
            std::string::npos);
  EXPECT_NE(body.find("destination_workload=\"server\""), std::string::npos);
  EXPECT_NE(body.find("source_principal=\"unknown\""), std::string::npos);
  EXPECT_NE(body.find("connection_security_policy=\"mutual_tls\"} 1\n"), std::string::npos);
  EXPECT_NE(body.find("istio_tcp_sent_bytes_total{"), std::string::npos);
  EXPECT_NE(body.find("} 250\n"), std::string::npos);
}

TEST(TcpLabelsTest, EscapesValues) {
  TcpLabels l;
  l.source_workload = "a\"b\\c\nd";
  std::string r = l.Render();
  EXPECT_NE(r.find("source_workload=\"a\\\"b\\\\c\\nd\""), std::string::npos) << r;
  EXPECT_NE(r.find("request_protocol=\"tcp\""), std::string::npos);
  EXPECT_NE(r.find("response_flags=\"-\""), std::string::npos);
}

}  // namespace
}  // namespace ambit::node
