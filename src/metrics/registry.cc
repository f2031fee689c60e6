#include "metrics/registry.h"

#include <algorithm>
#include <bit>
#include <charconv>
#include <cmath>
#include <stdexcept>
#include <utility>

namespace ambit::metrics {
namespace {

// Slots per arena chunk; a series' slots never straddle two chunks.
constexpr std::size_t kChunkSlots = 1024;

std::string_view TypeName(MetricType type) {
  switch (type) {
    case MetricType::kCounter:
      return "counter";
    case MetricType::kGauge:
      return "gauge";
    case MetricType::kHistogram:
      return "histogram";
  }
  return "untyped";
}

std::string EscapeHelp(std::string_view help) {
  std::string out;
  out.reserve(help.size());
  for (char c : help) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

// The sample line "name{labels} value"; |extra| is appended inside the braces.
void AppendSample(std::string& out, std::string_view name, std::string_view suffix,
                  std::string_view labels, std::string_view extra, std::string_view value) {
  out += name;
  out += suffix;
  if (!labels.empty() || !extra.empty()) {
    out += '{';
    out += labels;
    if (!labels.empty() && !extra.empty()) out += ',';
    out += extra;
    out += '}';
  }
  out += ' ';
  out += value;
  out += '\n';
}

}  // namespace

bool IsValidMetricName(std::string_view name) {
  if (name.empty()) return false;
  for (std::size_t i = 0; i < name.size(); ++i) {
    const char c = name[i];
    const bool alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':';
    if (!alpha && !(i > 0 && c >= '0' && c <= '9')) return false;
  }
  return true;
}

bool IsValidLabelName(std::string_view name) {
  if (name.empty() || name.starts_with("__")) return false;  // __ is reserved
  for (std::size_t i = 0; i < name.size(); ++i) {
    const char c = name[i];
    const bool alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
    if (!alpha && !(i > 0 && c >= '0' && c <= '9')) return false;
  }
  return true;
}

namespace {
// Appends |value| escaped for the exposition (see EscapeLabelValue) to |out|.
void AppendEscapedLabelValue(std::string_view value, std::string& out) {
  std::size_t plain = 0;  // start of the run of characters needing no escape
  for (std::size_t i = 0; i < value.size(); ++i) {
    const char c = value[i];
    if (c != '\\' && c != '"' && c != '\n') continue;
    out.append(value.substr(plain, i - plain));
    out += c == '\n' ? std::string_view("\\n") : c == '"' ? std::string_view("\\\"") : std::string_view("\\\\");
    plain = i + 1;
  }
  out.append(value.substr(plain));
}
}  // namespace

std::string EscapeLabelValue(std::string_view value) {
  std::string out;
  out.reserve(value.size());
  AppendEscapedLabelValue(value, out);
  return out;
}

std::string FormatValue(double value) {
  if (std::isnan(value)) return "NaN";
  if (std::isinf(value)) return value > 0 ? "+Inf" : "-Inf";
  if (value == std::trunc(value) && std::fabs(value) < 1e15) {
    return std::to_string(static_cast<long long>(value));
  }
  char buf[64];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, value);
  return ec == std::errc() ? std::string(buf, end) : std::to_string(value);
}

LabelKey::LabelKey(std::span<const std::string_view> names,
                   std::span<const std::string_view> values) {
  if (names.size() != values.size()) {
    throw std::invalid_argument("metrics: " + std::to_string(values.size()) + " label values for " +
                                std::to_string(names.size()) + " names");
  }
  // Built once per lookup (ztunnel: once per connection), so in one
  // allocation: the escapes are appended in place, not through a temporary.
  std::size_t length = 0;
  for (std::size_t i = 0; i < names.size(); ++i) length += names[i].size() + values[i].size() + 4;
  text_.reserve(length);
  for (std::size_t i = 0; i < names.size(); ++i) {
    if (i > 0) text_ += ',';
    text_ += names[i];
    text_ += "=\"";
    AppendEscapedLabelValue(values[i], text_);
    text_ += '"';
  }
  size_ = names.size();
  hash_ = std::hash<std::string>{}(text_);
}

void Histogram::Observe(double value) const {
  if (cells_ == nullptr) return;
  const std::vector<double>& bounds = *bounds_;
  std::size_t i = 0;
  while (i < bounds.size() && !(value <= bounds[i])) ++i;
  cells_[i].fetch_add(1, std::memory_order_relaxed);
  std::atomic<std::uint64_t>& sum = cells_[bounds.size() + 1];
  std::uint64_t old = sum.load(std::memory_order_relaxed);
  while (!sum.compare_exchange_weak(
      old, std::bit_cast<std::uint64_t>(std::bit_cast<double>(old) + value),
      std::memory_order_relaxed)) {
  }
}

struct Registry::Arena {
  std::vector<std::unique_ptr<std::atomic<std::uint64_t>[]>> chunks;
};

struct Registry::FamilyData {
  struct KeyHash {
    std::size_t operator()(const LabelKey& k) const { return k.hash(); }
  };
  struct KeyEq {
    bool operator()(const LabelKey& a, const LabelKey& b) const { return a.text() == b.text(); }
  };

  std::string name;
  std::string help;
  MetricType type;
  std::vector<std::string> label_names;
  std::vector<double> bounds;    // histograms
  std::function<double()> read;  // callback families
  std::size_t slots_per_series = 1;
  std::unordered_map<LabelKey, std::size_t, KeyHash, KeyEq> series;  // key -> first slot
  std::unique_ptr<CounterFamily> counter;
  std::unique_ptr<GaugeFamily> gauge;
  std::unique_ptr<HistogramFamily> histogram;
};

Registry::Registry(std::size_t cells, CellOfThread cell_of_thread)
    : cells_(std::max<std::size_t>(cells, 1)), cell_of_thread_(cell_of_thread) {
  for (std::size_t i = 0; i < cells_; ++i) arenas_.push_back(std::make_unique<Arena>());
}

Registry::~Registry() = default;

std::size_t Registry::CurrentCell() const {
  return cell_of_thread_ == nullptr ? 0 : cell_of_thread_() % cells_;
}

std::size_t Registry::AddFamily(std::string name, std::string help, MetricType type,
                                std::vector<std::string> label_names, std::vector<double> bounds,
                                std::function<double()> read) {
  if (!IsValidMetricName(name)) throw std::invalid_argument("metrics: invalid name '" + name + "'");
  for (const std::string& label : label_names) {
    if (!IsValidLabelName(label) || (type == MetricType::kHistogram && label == "le")) {
      throw std::invalid_argument("metrics: " + name + ": invalid label name '" + label + "'");
    }
  }
  if (type == MetricType::kHistogram) {
    for (std::size_t i = 0; i < bounds.size(); ++i) {
      if (!std::isfinite(bounds[i]) || (i > 0 && !(bounds[i - 1] < bounds[i]))) {
        throw std::invalid_argument("metrics: " + name +
                                    ": bucket bounds must be finite and strictly increasing");
      }
    }
    if (bounds.size() + 2 > kChunkSlots) {
      throw std::invalid_argument("metrics: " + name + ": too many buckets");
    }
  }
  std::lock_guard lock(mu_);
  for (const auto& f : families_) {
    if (f->name == name) throw std::invalid_argument("metrics: duplicate family '" + name + "'");
  }
  auto data = std::make_unique<FamilyData>();
  data->name = std::move(name);
  data->help = std::move(help);
  data->type = type;
  data->label_names = std::move(label_names);
  data->bounds = std::move(bounds);
  data->read = std::move(read);
  data->slots_per_series = type == MetricType::kHistogram ? data->bounds.size() + 2 : 1;
  const std::size_t index = families_.size();
  switch (type) {
    case MetricType::kCounter:
      data->counter.reset(new CounterFamily(this, index));
      break;
    case MetricType::kGauge:
      data->gauge.reset(new GaugeFamily(this, index));
      break;
    case MetricType::kHistogram:
      data->histogram.reset(new HistogramFamily(this, index));
      break;
  }
  families_.push_back(std::move(data));
  return index;
}

CounterFamily& Registry::AddCounter(std::string name, std::string help,
                                    std::vector<std::string> label_names) {
  const std::size_t i = AddFamily(std::move(name), std::move(help), MetricType::kCounter,
                                  std::move(label_names), {}, {});
  std::lock_guard lock(mu_);
  return *families_[i]->counter;
}

GaugeFamily& Registry::AddGauge(std::string name, std::string help,
                                std::vector<std::string> label_names) {
  const std::size_t i = AddFamily(std::move(name), std::move(help), MetricType::kGauge,
                                  std::move(label_names), {}, {});
  std::lock_guard lock(mu_);
  return *families_[i]->gauge;
}

HistogramFamily& Registry::AddHistogram(std::string name, std::string help,
                                        std::vector<std::string> label_names,
                                        std::vector<double> bounds) {
  const std::size_t i = AddFamily(std::move(name), std::move(help), MetricType::kHistogram,
                                  std::move(label_names), std::move(bounds), {});
  std::lock_guard lock(mu_);
  return *families_[i]->histogram;
}

void Registry::AddCallback(std::string name, std::string help, MetricType type,
                           std::function<double()> read) {
  if (type == MetricType::kHistogram || !read) {
    throw std::invalid_argument("metrics: " + name + ": a callback is a counter or a gauge");
  }
  AddFamily(std::move(name), std::move(help), type, {}, {}, std::move(read));
}

LabelKey Registry::KeyOf(std::size_t family, std::span<const std::string_view> values) const {
  std::vector<std::string_view> names;
  {
    std::lock_guard lock(mu_);
    const FamilyData& f = *families_[family];
    names.assign(f.label_names.begin(), f.label_names.end());
  }
  return LabelKey(names, values);
}

const std::vector<double>* Registry::BoundsOf(std::size_t family) const {
  std::lock_guard lock(mu_);
  return &families_[family]->bounds;
}

std::atomic<std::uint64_t>* Registry::Resolve(std::size_t family, const LabelKey& key,
                                              std::size_t cell) {
  std::lock_guard lock(mu_);
  FamilyData& f = *families_[family];
  if (key.size() != f.label_names.size()) {
    throw std::invalid_argument("metrics: " + f.name + " has " +
                                std::to_string(f.label_names.size()) + " labels, got " +
                                std::to_string(key.size()));
  }
  auto it = f.series.find(key);
  if (it == f.series.end()) {
    std::size_t slot = next_slot_;
    if (slot % kChunkSlots + f.slots_per_series > kChunkSlots) {
      slot += kChunkSlots - slot % kChunkSlots;  // keep the series in one chunk
    }
    next_slot_ = slot + f.slots_per_series;
    const std::size_t chunks = (next_slot_ + kChunkSlots - 1) / kChunkSlots;
    for (auto& arena : arenas_) {
      while (arena->chunks.size() < chunks) {
        arena->chunks.emplace_back(new std::atomic<std::uint64_t>[kChunkSlots]());
      }
    }
    it = f.series.emplace(key, slot).first;
  }
  const std::size_t slot = it->second;
  return &arenas_[cell % cells_]->chunks[slot / kChunkSlots][slot % kChunkSlots];
}

std::uint64_t Registry::Load(std::size_t slot, std::size_t cell) const {
  return arenas_[cell]->chunks[slot / kChunkSlots][slot % kChunkSlots].load(
      std::memory_order_relaxed);
}

std::int64_t Registry::Sum(std::size_t family, const LabelKey& key) const {
  std::lock_guard lock(mu_);
  const FamilyData& f = *families_[family];
  auto it = f.series.find(key);
  if (it == f.series.end()) return 0;
  const std::size_t buckets = f.type == MetricType::kHistogram ? f.bounds.size() + 1 : 1;
  std::uint64_t total = 0;
  for (std::size_t cell = 0; cell < cells_; ++cell) {
    for (std::size_t b = 0; b < buckets; ++b) total += Load(it->second + b, cell);
  }
  return static_cast<std::int64_t>(total);
}

std::string Registry::Render() const {
  std::string out;
  std::lock_guard lock(mu_);
  for (const auto& fp : families_) {
    const FamilyData& f = *fp;
    out += "# HELP ";
    out += f.name;
    out += ' ';
    out += EscapeHelp(f.help);
    out += "\n# TYPE ";
    out += f.name;
    out += ' ';
    out += TypeName(f.type);
    out += '\n';
    if (f.read) {
      AppendSample(out, f.name, "", "", "", FormatValue(f.read()));
      continue;
    }
    std::vector<std::pair<std::string_view, std::size_t>> series;
    series.reserve(f.series.size());
    for (const auto& [key, slot] : f.series) series.emplace_back(key.text(), slot);
    std::sort(series.begin(), series.end());
    for (const auto& [labels, slot] : series) {
      if (f.type != MetricType::kHistogram) {
        std::uint64_t total = 0;
        for (std::size_t cell = 0; cell < cells_; ++cell) total += Load(slot, cell);
        const std::string value = f.type == MetricType::kGauge
                                      ? std::to_string(static_cast<std::int64_t>(total))
                                      : std::to_string(total);
        AppendSample(out, f.name, "", labels, "", value);
        continue;
      }
      std::uint64_t cumulative = 0;
      double sum = 0;
      for (std::size_t b = 0; b <= f.bounds.size(); ++b) {
        for (std::size_t cell = 0; cell < cells_; ++cell) cumulative += Load(slot + b, cell);
        const std::string le =
            "le=\"" + (b < f.bounds.size() ? FormatValue(f.bounds[b]) : std::string("+Inf")) + "\"";
        AppendSample(out, f.name, "_bucket", labels, le, std::to_string(cumulative));
      }
      for (std::size_t cell = 0; cell < cells_; ++cell) {
        sum += std::bit_cast<double>(Load(slot + f.bounds.size() + 1, cell));
      }
      AppendSample(out, f.name, "_sum", labels, "", FormatValue(sum));
      AppendSample(out, f.name, "_count", labels, "", std::to_string(cumulative));
    }
  }
  return out;
}

}  // namespace ambit::metrics
