#include "metrics/registry.h"

#include <gtest/gtest.h>
#include <sys/wait.h>

#include <array>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "promtool.h"

namespace ambit::metrics {
namespace {

using Values = std::vector<std::string_view>;

TEST(RegistryTest, CounterExpositionWithHelpTypeAndSortedSeries) {
  Registry r;
  CounterFamily& c = r.AddCounter("requests_total", "Requests served.", {"code", "method"});
  c.Get(Values{"200", "GET"}).Inc(3);
  c.Get(Values{"404", "GET"}).Inc();
  c.Get(Values{"200", "GET"}).Inc();
  EXPECT_EQ(r.Render(),
            "# HELP requests_total Requests served.\n"
            "# TYPE requests_total counter\n"
            "requests_total{code=\"200\",method=\"GET\"} 4\n"
            "requests_total{code=\"404\",method=\"GET\"} 1\n");
}

TEST(RegistryTest, FamiliesInRegistrationOrderAndUnlabelledSeries) {
  Registry r;
  r.AddGauge("zeta", "Last registered first.").Get(Values{}).Add(-2);
  r.AddCounter("alpha_total", "Second.").Get(Values{}).Inc(7);
  EXPECT_EQ(r.Render(),
            "# HELP zeta Last registered first.\n"
            "# TYPE zeta gauge\n"
            "zeta -2\n"
            "# HELP alpha_total Second.\n"
            "# TYPE alpha_total counter\n"
            "alpha_total 7\n");
}

TEST(RegistryTest, EscapesLabelValuesAndHelp) {
  Registry r;
  CounterFamily& c = r.AddCounter("x_total", "Back\\slash and\nnewline.", {"v"});
  c.Get(Values{"a\"b\\c\nd"}).Inc();
  EXPECT_EQ(r.Render(),
            "# HELP x_total Back\\\\slash and\\nnewline.\n"
            "# TYPE x_total counter\n"
            "x_total{v=\"a\\\"b\\\\c\\nd\"} 1\n");
  EXPECT_EQ(EscapeLabelValue("plain"), "plain");
}

TEST(RegistryTest, HistogramWithEnvoyBucketsIsCumulative) {
  Registry r;
  HistogramFamily& h = r.AddHistogram("latency", "Latency in ms.", {"op"});
  Histogram get = h.Get(Values{"get"});
  get.Observe(0.5);      // le 0.5 (bounds are inclusive)
  get.Observe(3);        // le 5
  get.Observe(3);        // le 5
  get.Observe(7200000);  // above every bound: +Inf only
  const std::string text = r.Render();
  EXPECT_NE(text.find("# TYPE latency histogram\n"), std::string::npos);
  EXPECT_NE(text.find("latency_bucket{op=\"get\",le=\"0.5\"} 1\n"), std::string::npos) << text;
  EXPECT_NE(text.find("latency_bucket{op=\"get\",le=\"1\"} 1\n"), std::string::npos);
  EXPECT_NE(text.find("latency_bucket{op=\"get\",le=\"5\"} 3\n"), std::string::npos);
  EXPECT_NE(text.find("latency_bucket{op=\"get\",le=\"3600000\"} 3\n"), std::string::npos);
  EXPECT_NE(text.find("latency_bucket{op=\"get\",le=\"+Inf\"} 4\n"), std::string::npos);
  EXPECT_NE(text.find("latency_sum{op=\"get\"} 7200006.5\n"), std::string::npos) << text;
  EXPECT_NE(text.find("latency_count{op=\"get\"} 4\n"), std::string::npos);
  // Every one of Envoy's 19 bounds, in order, then +Inf.
  std::size_t at = 0;
  for (double bound : kEnvoyDefaultBuckets) {
    const std::string le = "le=\"" + FormatValue(bound) + "\"";
    at = text.find(le, at);
    ASSERT_NE(at, std::string::npos) << le;
  }
  EXPECT_NE(text.find("le=\"+Inf\"", at), std::string::npos);
  EXPECT_EQ(h.Value(h.Key(Values{"get"})), 4);
}

TEST(RegistryTest, CellsAreSummedAtScrape) {
  Registry r(3);
  CounterFamily& c = r.AddCounter("bytes_total", "Bytes.", {"dir"});
  const LabelKey key = c.Key(Values{"in"});
  for (std::size_t cell = 0; cell < 3; ++cell) c.Get(key, cell).Inc(10 * (cell + 1));
  GaugeFamily& g = r.AddGauge("active", "Active.");
  g.Get(LabelKey(), 1).Add(5);
  g.Get(LabelKey(), 2).Add(-2);
  EXPECT_EQ(c.Value(key), 60);
  EXPECT_EQ(g.Value(LabelKey()), 3);
  EXPECT_NE(r.Render().find("bytes_total{dir=\"in\"} 60\n"), std::string::npos);
  EXPECT_NE(r.Render().find("active 3\n"), std::string::npos);
}

std::size_t g_cell = 0;
std::size_t TestCell() { return g_cell; }

TEST(RegistryTest, HandlesWriteTheCellOfTheThreadThatResolvedThem) {
  Registry r(2, &TestCell);
  CounterFamily& c = r.AddCounter("c_total", "C.");
  g_cell = 1;
  EXPECT_EQ(r.CurrentCell(), 1u);
  Counter on1 = c.Get(LabelKey());
  g_cell = 5;  // out of range: wraps
  EXPECT_EQ(r.CurrentCell(), 1u);
  g_cell = 0;
  on1.Inc(2);
  c.Get(LabelKey()).Inc(1);
  EXPECT_EQ(c.Value(LabelKey()), 3);
}

TEST(RegistryTest, ConcurrentWritersOnTheirOwnCellsLoseNothing) {
  constexpr std::size_t kThreads = 4;
  constexpr std::uint64_t kPerThread = 100000;
  Registry r(kThreads);
  CounterFamily& c = r.AddCounter("n_total", "N.");
  HistogramFamily& h = r.AddHistogram("h", "H.", {}, {1, 2});
  std::vector<std::thread> threads;
  for (std::size_t t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      Counter mine = c.Get(LabelKey(), t);
      Histogram hist = h.Get(LabelKey(), t);
      for (std::uint64_t i = 0; i < kPerThread; ++i) {
        mine.Inc();
        hist.Observe(1.5);
      }
    });
  }
  // A scrape while they write sees a consistent text.
  EXPECT_NE(r.Render().find("# TYPE n_total counter"), std::string::npos);
  for (auto& t : threads) t.join();
  EXPECT_EQ(c.Value(LabelKey()), static_cast<std::int64_t>(kThreads * kPerThread));
  EXPECT_NE(r.Render().find("h_sum 600000\n"), std::string::npos) << r.Render();
}

TEST(RegistryTest, ManySeriesKeepTheirHandlesAcrossArenaGrowth) {
  Registry r(2);
  HistogramFamily& h = r.AddHistogram("wide", "Wide.", {"i"});
  std::vector<Histogram> handles;
  std::vector<std::string> names;
  for (int i = 0; i < 300; ++i) names.push_back(std::to_string(i));  // 300 x 21 slots: 7 chunks
  for (const auto& n : names) handles.push_back(h.Get(h.Key(Values{n}), 1));
  for (auto& handle : handles) handle.Observe(1);
  for (const auto& n : names) EXPECT_EQ(h.Value(h.Key(Values{n})), 1) << n;
}

TEST(RegistryTest, CallbackFamiliesAreReadAtScrape) {
  Registry r;
  double live = 2;
  r.AddCallback("live_connections", "Open now.", MetricType::kGauge, [&] { return live; });
  EXPECT_NE(r.Render().find("live_connections 2\n"), std::string::npos);
  live = 3.25;
  EXPECT_NE(r.Render().find("live_connections 3.25\n"), std::string::npos);
}

TEST(RegistryTest, DetachedHandlesDoNothing) {
  Counter c;
  Gauge g;
  Histogram h;
  c.Inc();
  g.Add(3);
  h.Observe(1);
  EXPECT_FALSE(c.attached() || g.attached() || h.attached());
}

TEST(RegistryTest, RejectsInvalidNamesDuplicatesAndLabelCounts) {
  Registry r;
  EXPECT_THROW(r.AddCounter("9starts_with_digit", "x"), std::invalid_argument);
  EXPECT_THROW(r.AddCounter("has-dash", "x"), std::invalid_argument);
  EXPECT_THROW(r.AddCounter("ok_total", "x", {"__reserved"}), std::invalid_argument);
  EXPECT_THROW(r.AddHistogram("h", "x", {"le"}), std::invalid_argument);
  EXPECT_THROW(r.AddHistogram("h2", "x", {}, {5, 1}), std::invalid_argument);
  CounterFamily& c = r.AddCounter("ok_total", "x", {"a"});
  EXPECT_THROW(r.AddGauge("ok_total", "again"), std::invalid_argument);
  EXPECT_THROW(c.Get(Values{"1", "2"}), std::invalid_argument);
  EXPECT_THROW(c.Get(LabelKey()), std::invalid_argument);
  EXPECT_TRUE(IsValidMetricName("ns:sub_name_total"));
  EXPECT_FALSE(IsValidLabelName("a:b"));
}

TEST(RegistryTest, FormatsValues) {
  EXPECT_EQ(FormatValue(0.5), "0.5");
  EXPECT_EQ(FormatValue(3600000), "3600000");
  EXPECT_EQ(FormatValue(-2), "-2");
  EXPECT_EQ(FormatValue(1e300), "1e+300");
  EXPECT_EQ(FormatValue(1.0 / 0.0), "+Inf");
  EXPECT_EQ(FormatValue(-1.0 / 0.0), "-Inf");
  EXPECT_EQ(FormatValue(0.0 / 0.0), "NaN");
}

// The rendered text of every kind passes `promtool check metrics` (syntax
// and Prometheus' lint rules).
TEST(RegistryTest, PromtoolAcceptsTheExposition) {
  Registry r(2);
  r.AddCounter("ambit_test_requests_total", "Requests \"quoted\" with a \\ and\na newline.",
               {"code", "path"})
      .Get(Values{"200", "/a\"b\\c\nd"})
      .Inc(2);
  r.AddGauge("ambit_test_active", "Active.", {"loop"}).Get(Values{"1"}).Add(4);
  HistogramFamily& h = r.AddHistogram("ambit_test_latency", "Latency (ms).", {"op"});
  h.Get(Values{"get"}).Observe(12.5);
  h.Get(h.Key(Values{"put"}), 1).Observe(0.25);
  r.AddCallback("ambit_test_live", "Live.", MetricType::kGauge, [] { return 1.5; });
  const std::string text = r.Render();
  const auto result = testing::PromtoolCheck(AMBIT_PROMTOOL, text);
  if (!result) GTEST_SKIP() << AMBIT_PROMTOOL << " not installed (Debian package prometheus)";
  EXPECT_EQ(*result, "exit 0") << text;
  // And it would catch a broken text.
  const auto broken = testing::PromtoolCheck(AMBIT_PROMTOOL, "ambit_bad{x=\"1} 1\n");
  EXPECT_NE(*broken, "exit 0");
}

}  // namespace
}  // namespace ambit::metrics
