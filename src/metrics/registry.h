// Registry: metric families (counters, gauges, histograms) rendered in the
// Prometheus text exposition format 0.0.4
// (https://prometheus.io/docs/instrumenting/exposition_formats/).
//
// Data-path cost: every series keeps one value per *cell*; a cell is meant to
// be written by one event loop (per-worker cells, summed at scrape time), so
// loops never share a cache line. A caller resolves a handle (Counter, Gauge,
// Histogram) once, e.g. per connection, with Family::Get: that takes the
// registry's lock and hashes the rendered label text once. The handle then
// updates its cell with one relaxed atomic add: no lock, no lookup, no
// string. Which cell a handle writes is chosen when it is resolved: the
// registry's CellOfThread (e.g. "worker loop index + 1, 0 off the loops"), or
// an explicit cell. Handles stay valid as long as the registry (series are
// never removed: Prometheus counters do not go away).
//
// Exposition: families in registration order, each with its # HELP and
// # TYPE lines, series sorted by their label text; label values escaped
// (backslash, double quote, newline), HELP text escaped (backslash, newline).
// Counters keep the family name as given (Istio's names end in _total).
// Histograms render cumulative _bucket{le="..."} series ending with
// le="+Inf", then _sum and _count.
//
// Names are fixed by the program: an invalid metric or label name, a
// duplicate family or a label count that does not match the family is a
// programming error and throws std::invalid_argument.
//
// Thread-safety: every method is thread-safe. Handles may be used from any
// thread (atomic adds); they are cheapest on the loop that owns their cell.
#pragma once

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <unordered_map>
#include <vector>

namespace ambit::metrics {

// Envoy's default histogram buckets (milliseconds), from
// HistogramSettingsImpl::defaultBuckets in
// https://github.com/envoyproxy/envoy/blob/main/source/common/stats/histogram_impl.cc
inline constexpr std::array<double, 19> kEnvoyDefaultBuckets = {
    0.5,  1,    5,     10,    25,    50,     100,    250,     500,    1000,
    2500, 5000, 10000, 30000, 60000, 300000, 600000, 1800000, 3600000};

enum class MetricType { kCounter, kGauge, kHistogram };

// The calling thread's cell, in [0, cells); out-of-range values wrap.
using CellOfThread = std::size_t (*)();

// One series' label values rendered once (`a="x",b="y"`, escaped) with its
// hash, so resolving the same labels in several families (e.g. Istio's five
// istio_tcp_* counters) renders and hashes them once.
class LabelKey {
 public:
  LabelKey() = default;  // no labels
  // |names| and |values| have the same length; names must be valid label names.
  LabelKey(std::span<const std::string_view> names, std::span<const std::string_view> values);

  const std::string& text() const { return text_; }
  std::size_t size() const { return size_; }
  std::size_t hash() const { return hash_; }

 private:
  std::string text_;
  std::size_t size_ = 0;
  std::size_t hash_ = 0;
};

class Registry;
template <typename Handle>
class Family;

// A counter series on one cell. Default-constructed: detached (no-op).
class Counter {
 public:
  Counter() = default;
  void Inc(std::uint64_t n = 1) const {
    if (cell_ != nullptr) cell_->fetch_add(n, std::memory_order_relaxed);
  }
  bool attached() const { return cell_ != nullptr; }

 private:
  template <typename>
  friend class Family;
  explicit Counter(std::atomic<std::uint64_t>* cell) : cell_(cell) {}
  std::atomic<std::uint64_t>* cell_ = nullptr;
};

// A gauge series on one cell: cells hold signed deltas, summed at scrape.
class Gauge {
 public:
  Gauge() = default;
  void Add(std::int64_t n) const {
    if (cell_ != nullptr) {
      cell_->fetch_add(static_cast<std::uint64_t>(n), std::memory_order_relaxed);
    }
  }
  void Inc() const { Add(1); }
  void Dec() const { Add(-1); }
  bool attached() const { return cell_ != nullptr; }

 private:
  template <typename>
  friend class Family;
  explicit Gauge(std::atomic<std::uint64_t>* cell) : cell_(cell) {}
  std::atomic<std::uint64_t>* cell_ = nullptr;
};

// A histogram series on one cell: one count per bucket (the last for values
// above every bound) and the sum of observed values.
class Histogram {
 public:
  Histogram() = default;
  void Observe(double value) const;
  bool attached() const { return cells_ != nullptr; }

 private:
  template <typename>
  friend class Family;
  Histogram(std::atomic<std::uint64_t>* cells, const std::vector<double>* bounds)
      : cells_(cells), bounds_(bounds) {}
  std::atomic<std::uint64_t>* cells_ = nullptr;  // bounds+1 buckets, then the sum's bits
  const std::vector<double>* bounds_ = nullptr;
};

// A family: one name, help text, type and label names; its series are
// created on first Get.
template <typename Handle>
class Family {
 public:
  // The series for |key| on the calling thread's cell (created on first use).
  Handle Get(const LabelKey& key);
  // ... on |cell| (< cells(); tests and benchmarks).
  Handle Get(const LabelKey& key, std::size_t cell);
  // Convenience: renders |values| with the family's label names.
  Handle Get(std::span<const std::string_view> values);
  LabelKey Key(std::span<const std::string_view> values) const;
  // The series' value summed over cells (histograms: the count); 0 if it
  // does not exist. For counters read back (dumps, tests).
  std::int64_t Value(const LabelKey& key) const;

 private:
  friend class Registry;
  Family(Registry* registry, std::size_t index) : registry_(registry), index_(index) {}
  Registry* registry_;
  std::size_t index_;
};

using CounterFamily = Family<Counter>;
using GaugeFamily = Family<Gauge>;
using HistogramFamily = Family<Histogram>;

class Registry {
 public:
  // |cells| >= 1 (0 is taken as 1); |cell_of_thread| null = always cell 0.
  explicit Registry(std::size_t cells = 1, CellOfThread cell_of_thread = nullptr);
  ~Registry();
  Registry(const Registry&) = delete;
  Registry& operator=(const Registry&) = delete;

  // The returned family lives as long as the registry.
  CounterFamily& AddCounter(std::string name, std::string help,
                            std::vector<std::string> label_names = {});
  GaugeFamily& AddGauge(std::string name, std::string help,
                        std::vector<std::string> label_names = {});
  // |bounds|: strictly increasing finite upper bounds (le); +Inf is implied.
  HistogramFamily& AddHistogram(std::string name, std::string help,
                                std::vector<std::string> label_names = {},
                                std::vector<double> bounds = {kEnvoyDefaultBuckets.begin(),
                                                              kEnvoyDefaultBuckets.end()});
  // A family with one unlabelled series whose value |read| returns at scrape
  // time (a value kept elsewhere, e.g. a live-connection count). |read| is
  // called under the registry's lock: it must not call back into it.
  void AddCallback(std::string name, std::string help, MetricType type,
                   std::function<double()> read);

  // Every family in the text exposition format.
  std::string Render() const;

  std::size_t cells() const { return cells_; }
  std::size_t CurrentCell() const;

  // The exposition's Content-Type.
  static constexpr std::string_view kContentType = "text/plain; version=0.0.4; charset=utf-8";

 private:
  template <typename Handle>
  friend class Family;
  struct FamilyData;
  struct Arena;

  std::size_t AddFamily(std::string name, std::string help, MetricType type,
                        std::vector<std::string> label_names, std::vector<double> bounds,
                        std::function<double()> read);
  // The first of the series' slots on |cell|, creating the series.
  std::atomic<std::uint64_t>* Resolve(std::size_t family, const LabelKey& key, std::size_t cell);
  std::int64_t Sum(std::size_t family, const LabelKey& key) const;
  LabelKey KeyOf(std::size_t family, std::span<const std::string_view> values) const;
  const std::vector<double>* BoundsOf(std::size_t family) const;
  std::uint64_t Load(std::size_t slot, std::size_t cell) const;  // under mu_

  const std::size_t cells_;
  const CellOfThread cell_of_thread_;
  mutable std::mutex mu_;
  std::vector<std::unique_ptr<FamilyData>> families_;  // guarded by mu_ (entries stable)
  std::vector<std::unique_ptr<Arena>> arenas_;         // one per cell; chunks guarded by mu_
  std::size_t next_slot_ = 0;                          // guarded by mu_
};

// Escapes a label value for the exposition: \ -> \\, " -> \", newline -> \n.
std::string EscapeLabelValue(std::string_view value);
// Formats a sample value or bound: integers without a fraction, +Inf, -Inf,
// NaN, otherwise the shortest text that reads back exactly.
std::string FormatValue(double value);
bool IsValidMetricName(std::string_view name);
bool IsValidLabelName(std::string_view name);

template <typename Handle>
Handle Family<Handle>::Get(const LabelKey& key) {
  return Get(key, registry_->CurrentCell());
}

template <typename Handle>
Handle Family<Handle>::Get(const LabelKey& key, std::size_t cell) {
  std::atomic<std::uint64_t>* slots = registry_->Resolve(index_, key, cell);
  if constexpr (std::is_same_v<Handle, Histogram>) {
    return Histogram(slots, registry_->BoundsOf(index_));
  } else {
    return Handle(slots);
  }
}

template <typename Handle>
Handle Family<Handle>::Get(std::span<const std::string_view> values) {
  return Get(Key(values));
}

template <typename Handle>
LabelKey Family<Handle>::Key(std::span<const std::string_view> values) const {
  return registry_->KeyOf(index_, values);
}

template <typename Handle>
std::int64_t Family<Handle>::Value(const LabelKey& key) const {
  return registry_->Sum(index_, key);
}

}  // namespace ambit::metrics
