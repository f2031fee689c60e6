#include "config/yaml_reader.h"

#include <algorithm>
#include <charconv>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <optional>
#include <sstream>
#include <string>
#include <utility>

#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/exceptions.h>
#include <yaml-cpp/mark.h>
#include <yaml-cpp/parser.h>

#include "config/field_path.h"
#include "config/parse.h"

namespace ambit::config::internal {
namespace {

constexpr std::string_view kTagPrefix = "tag:yaml.org,2002:";

SourceMark ToMark(const YAML::Mark& mark) {
  SourceMark out;
  if (!mark.is_null()) {
    out.line = mark.line + 1;
    out.column = mark.column + 1;
  }
  return out;
}

bool OneOf(std::string_view v, std::initializer_list<std::string_view> options) {
  return std::find(options.begin(), options.end(), v) != options.end();
}

std::optional<int64_t> ParseInteger(std::string_view text, bool* out_of_range) {
  std::string_view s = text;
  bool negative = false;
  if (!s.empty() && (s.front() == '-' || s.front() == '+')) {
    negative = s.front() == '-';
    s.remove_prefix(1);
  }
  if (s.empty()) return std::nullopt;
  int base = 10;
  if (s.size() > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
    base = 16;
    s.remove_prefix(2);
  } else if (s.size() > 2 && s[0] == '0' && s[1] == 'o') {
    base = 8;
    s.remove_prefix(2);
  } else if (s.size() > 2 && s[0] == '0' && s[1] == 'b') {
    base = 2;
    s.remove_prefix(2);
  } else if (s.size() > 1 && s[0] == '0') {
    base = 8;  // YAML 1.1 octal, as Kubernetes reads it (defaultMode: 0644)
    s.remove_prefix(1);
  }
  std::string digits;
  for (char c : s) {
    if (c != '_') digits += c;
  }
  if (digits.empty() || s.front() == '_') return std::nullopt;
  uint64_t magnitude = 0;
  auto [ptr, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), magnitude, base);
  if (ptr != digits.data() + digits.size()) return std::nullopt;
  if (ec == std::errc::result_out_of_range ||
      magnitude > (negative ? uint64_t{1} << 63 : (uint64_t{1} << 63) - 1)) {
    *out_of_range = true;
    return std::nullopt;
  }
  if (ec != std::errc()) return std::nullopt;
  if (negative) return magnitude == (uint64_t{1} << 63) ? INT64_MIN : -static_cast<int64_t>(magnitude);
  return static_cast<int64_t>(magnitude);
}

// [-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?
bool LooksLikeFloat(std::string_view s) {
  size_t i = 0;
  auto digits = [&] {
    size_t start = i;
    while (i < s.size() && s[i] >= '0' && s[i] <= '9') ++i;
    return i - start;
  };
  if (i < s.size() && (s[i] == '-' || s[i] == '+')) ++i;
  if (i < s.size() && s[i] == '.') {
    ++i;
    if (digits() == 0) return false;
  } else {
    if (digits() == 0) return false;
    if (i < s.size() && s[i] == '.') {
      ++i;
      digits();
    }
  }
  if (i < s.size() && (s[i] == 'e' || s[i] == 'E')) {
    ++i;
    if (i < s.size() && (s[i] == '-' || s[i] == '+')) ++i;
    if (digits() == 0) return false;
  }
  return i == s.size();
}

// Resolves a plain scalar; sets *is_string when it stays a string.
nlohmann::json ResolvePlain(const std::string& text, bool* is_string) {
  *is_string = false;
  if (OneOf(text, {"", "~", "null", "Null", "NULL"})) return nullptr;
  if (OneOf(text, {"true", "True", "TRUE", "yes", "Yes", "YES", "on", "On", "ON"})) {
    return true;
  }
  if (OneOf(text, {"false", "False", "FALSE", "no", "No", "NO", "off", "Off", "OFF"})) {
    return false;
  }
  bool out_of_range = false;
  if (auto i = ParseInteger(text, &out_of_range)) return *i;
  if (out_of_range || LooksLikeFloat(text)) {
    char* end = nullptr;
    double d = std::strtod(text.c_str(), &end);
    if (end == text.c_str() + text.size()) return d;
  }
  *is_string = true;
  return text;
}

struct AbortRead {
  YAML::Mark mark;
  std::string message;
};

struct Anchored {
  nlohmann::json value;
  size_t nodes = 0;
  int depth = 0;  // container levels within the value
};

class JsonBuilder : public YAML::EventHandler {
 public:
  JsonBuilder(std::string_view file, YamlDocument* doc, size_t* nodes_used,
              std::vector<Diagnostic>* diagnostics)
      : file_(file), doc_(doc), nodes_used_(nodes_used), diagnostics_(diagnostics) {}

  void OnDocumentStart(const YAML::Mark& mark) override { doc_->start = ToMark(mark); }
  void OnDocumentEnd() override {}

  void OnNull(const YAML::Mark& mark, YAML::anchor_t anchor) override {
    if (TakeKey(mark, std::nullopt)) return;
    Emit(nullptr, ToMark(mark), anchor, 1, 0);
  }

  void OnAlias(const YAML::Mark& mark, YAML::anchor_t anchor) override {
    auto it = anchors_.find(anchor);
    if (it == anchors_.end()) throw AbortRead{mark, "alias refers to an unknown anchor"};
    const Anchored& a = it->second;
    if (TakeKey(mark, a.value.is_string() ? std::optional<std::string>(a.value.get<std::string>())
                                          : std::nullopt)) {
      return;
    }
    if (static_cast<int>(stack_.size()) + a.depth > kMaxDepth) {
      throw AbortRead{mark, "nesting deeper than " + std::to_string(kMaxDepth) +
                                " levels (after expanding an alias)"};
    }
    Charge(mark, a.nodes);
    Emit(a.value, ToMark(mark), 0, a.nodes, a.depth);
  }

  void OnScalar(const YAML::Mark& mark, const std::string& tag, YAML::anchor_t anchor,
                const std::string& value) override {
    if (TakeKey(mark, value)) {
      if (anchor != 0) anchors_[anchor] = Anchored{value, 1, 0};
      if (tag == "?" && value == "<<") {
        Frame& top = stack_.back();
        Report(ToMark(mark), JoinKey(top.path, value),
               "YAML merge keys (<<) are not supported; write the fields out");
        top.discard_value = true;
      }
      return;
    }
    Charge(mark, 1);
    SourceMark where = ToMark(mark);
    nlohmann::json resolved;
    bool is_string = true;
    if (tag == "?") {
      resolved = ResolvePlain(value, &is_string);
      if (!is_string) where.raw = value;
    } else if (tag == "!" || tag.empty() || tag == std::string(kTagPrefix) + "str" ||
               tag == std::string(kTagPrefix) + "binary" ||
               tag == std::string(kTagPrefix) + "timestamp") {
      resolved = value;
    } else if (tag.rfind(kTagPrefix, 0) == 0 &&
               OneOf(tag.substr(kTagPrefix.size()), {"int", "float", "bool", "null"})) {
      std::string want = tag.substr(kTagPrefix.size());
      resolved = ResolvePlain(value, &is_string);
      bool fits = (want == "int" && resolved.is_number_integer()) ||
                  (want == "float" && resolved.is_number()) ||
                  (want == "bool" && resolved.is_boolean()) || (want == "null" && resolved.is_null());
      if (!fits) {
        Report(where, CurrentPath(), "value '" + value + "' does not match its tag !!" + want);
        resolved = value;
      }
    } else {
      Report(where, CurrentPath(), "unsupported YAML tag '" + tag + "'");
      resolved = value;
    }
    Emit(std::move(resolved), std::move(where), anchor, 1, 0);
  }

  void OnSequenceStart(const YAML::Mark& mark, const std::string& tag, YAML::anchor_t anchor,
                       YAML::EmitterStyle::value /*style*/) override {
    Push(mark, tag, anchor, /*is_map=*/false);
  }
  void OnSequenceEnd() override { Pop(); }

  void OnMapStart(const YAML::Mark& mark, const std::string& tag, YAML::anchor_t anchor,
                  YAML::EmitterStyle::value /*style*/) override {
    Push(mark, tag, anchor, /*is_map=*/true);
  }
  void OnMapEnd() override { Pop(); }

 private:
  struct Frame {
    nlohmann::json value;
    std::string path;
    SourceMark mark;
    YAML::anchor_t anchor = 0;
    bool is_map = false;
    bool have_key = false;
    bool discard_value = false;  // the key was invalid; drop the value
    std::string key;
    size_t nodes = 1;
    int depth = 1;
  };

  // If the top frame is a map waiting for a key, consumes this scalar as the key.
  bool TakeKey(const YAML::Mark& mark, std::optional<std::string> key) {
    if (stack_.empty() || !stack_.back().is_map || stack_.back().have_key) return false;
    Frame& top = stack_.back();
    top.have_key = true;
    top.discard_value = false;
    if (!key) {
      Report(ToMark(mark), top.path, "mapping key must be a string, got null");
      top.discard_value = true;
      top.key.clear();
    } else {
      top.key = std::move(*key);
    }
    return true;
  }

  std::string CurrentPath() const {
    if (stack_.empty()) return "";
    const Frame& top = stack_.back();
    if (top.is_map) return JoinKey(top.path, top.key);
    return JoinIndex(top.path, top.value.size());
  }

  void Charge(const YAML::Mark& mark, size_t nodes) {
    *nodes_used_ += nodes;
    if (*nodes_used_ > kMaxNodes) {
      throw AbortRead{mark, "more than " + std::to_string(kMaxNodes) +
                                " values in one file (after expanding aliases)"};
    }
  }

  void Push(const YAML::Mark& mark, const std::string& tag, YAML::anchor_t anchor, bool is_map) {
    if (!stack_.empty() && stack_.back().is_map && !stack_.back().have_key) {
      throw AbortRead{mark, "mapping keys must be scalars (complex keys are not supported)"};
    }
    if (static_cast<int>(stack_.size()) + 1 > kMaxDepth) {
      throw AbortRead{mark, "nesting deeper than " + std::to_string(kMaxDepth) + " levels"};
    }
    Charge(mark, 1);
    Frame frame;
    frame.path = CurrentPath();
    frame.mark = ToMark(mark);
    frame.anchor = anchor;
    frame.is_map = is_map;
    frame.value = is_map ? nlohmann::json::object() : nlohmann::json::array();
    std::string_view expected = is_map ? "map" : "seq";
    if (!tag.empty() && tag != "?" && tag != "!" && tag != std::string(kTagPrefix) + std::string(expected)) {
      Report(frame.mark, frame.path, "unsupported YAML tag '" + tag + "'");
    }
    stack_.push_back(std::move(frame));
  }

  void Pop() {
    Frame frame = std::move(stack_.back());
    stack_.pop_back();
    Emit(std::move(frame.value), std::move(frame.mark), frame.anchor, frame.nodes, frame.depth);
  }

  void Emit(nlohmann::json value, SourceMark mark, YAML::anchor_t anchor, size_t nodes, int depth) {
    if (anchor != 0) anchors_[anchor] = Anchored{value, nodes, depth};
    if (stack_.empty()) {
      doc_->marks[""] = std::move(mark);
      doc_->root = std::move(value);
      return;
    }
    Frame& top = stack_.back();
    top.nodes += nodes;
    top.depth = std::max(top.depth, depth + 1);
    if (top.is_map) {
      top.have_key = false;
      if (top.discard_value) return;
      std::string path = JoinKey(top.path, top.key);
      if (top.value.contains(top.key)) {
        auto first = doc_->marks.find(path);
        std::string where =
            first != doc_->marks.end() && first->second.line > 0
                ? " (first defined at line " + std::to_string(first->second.line) + ")"
                : "";
        Report(mark, path, "duplicate mapping key" + where);
        return;
      }
      doc_->marks[path] = std::move(mark);
      top.value[top.key] = std::move(value);
    } else {
      doc_->marks[JoinIndex(top.path, top.value.size())] = std::move(mark);
      top.value.push_back(std::move(value));
    }
  }

  void Report(const SourceMark& mark, std::string path, std::string message) {
    Diagnostic d;
    d.file = std::string(file_);
    d.line = mark.line;
    d.column = mark.column;
    d.document = doc_->index;
    d.path = std::move(path);
    d.message = std::move(message);
    diagnostics_->push_back(std::move(d));
    doc_->has_errors = true;
  }

  std::string_view file_;
  YamlDocument* doc_;
  size_t* nodes_used_;
  std::vector<Diagnostic>* diagnostics_;
  std::vector<Frame> stack_;
  std::unordered_map<YAML::anchor_t, Anchored> anchors_;
};

// Offset of the first byte that is not part of valid UTF-8 (no overlong forms,
// no surrogates, at most U+10FFFF) or is an ASCII control character other than
// tab, LF and CR (YAML does not allow them), or npos.
size_t FirstInvalidByte(std::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    size_t len;
    uint32_t min;
    uint32_t cp;
    if (c < 0x80) {
      if ((c < 0x20 && c != '\t' && c != '\n' && c != '\r') || c == 0x7F) return i;
      ++i;
      continue;
    } else if ((c & 0xE0) == 0xC0) {
      len = 2; min = 0x80; cp = c & 0x1F;
    } else if ((c & 0xF0) == 0xE0) {
      len = 3; min = 0x800; cp = c & 0x0F;
    } else if ((c & 0xF8) == 0xF0) {
      len = 4; min = 0x10000; cp = c & 0x07;
    } else {
      return i;
    }
    if (i + len > s.size()) return i;
    for (size_t k = 1; k < len; ++k) {
      unsigned char cc = static_cast<unsigned char>(s[i + k]);
      if ((cc & 0xC0) != 0x80) return i;
      cp = (cp << 6) | (cc & 0x3F);
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return i;
    i += len;
  }
  return std::string_view::npos;
}

std::string Truncate(std::string_view s) { return EscapeForMessage(s); }

}  // namespace

std::string DescribeValue(const nlohmann::json& value, const SourceMark* mark) {
  switch (value.type()) {
    case nlohmann::json::value_t::null:
      return "null";
    case nlohmann::json::value_t::object:
      return "an object";
    case nlohmann::json::value_t::array:
      return "a list";
    case nlohmann::json::value_t::string:
      return "'" + Truncate(value.get_ref<const std::string&>()) + "'";
    case nlohmann::json::value_t::boolean:
      if (mark != nullptr && !mark->raw.empty() && mark->raw != (value.get<bool>() ? "true" : "false")) {
        return Truncate(mark->raw) + " (read as the boolean " + (value.get<bool>() ? "true" : "false") +
               "; quote it for a string)";
      }
      return value.get<bool>() ? "true" : "false";
    default:
      if (mark != nullptr && !mark->raw.empty()) return Truncate(mark->raw);
      return Truncate(value.dump());
  }
}

YamlReadResult ReadYaml(std::string_view text, std::string_view file) {
  YamlReadResult result;
  auto report = [&](int document, const SourceMark& mark, std::string message) {
    Diagnostic d;
    d.file = std::string(file);
    d.line = mark.line;
    d.column = mark.column;
    d.document = document;
    d.message = std::move(message);
    result.diagnostics.push_back(std::move(d));
  };
  if (text.size() > kMaxInputBytes) {
    report(0, {}, "input is " + std::to_string(text.size()) + " bytes; at most " +
                      std::to_string(kMaxInputBytes) + " are accepted");
    return result;
  }
  if (size_t bad = FirstInvalidByte(text); bad != std::string_view::npos) {
    std::string_view before = text.substr(0, bad);
    SourceMark mark;
    mark.line = 1 + static_cast<int>(std::count(before.begin(), before.end(), '\n'));
    size_t line_start = before.rfind('\n');
    mark.column = static_cast<int>(bad - (line_start == std::string_view::npos ? 0 : line_start + 1)) + 1;
    unsigned char c = static_cast<unsigned char>(text[bad]);
    if (c < 0x80) {
      char hex[8];
      std::snprintf(hex, sizeof hex, "0x%02X", c);
      report(0, mark, std::string("control character ") + hex + " is not allowed (byte offset " +
                          std::to_string(bad) + ")");
    } else {
      report(0, mark, "input is not valid UTF-8 (byte offset " + std::to_string(bad) + ")");
    }
    return result;
  }
  std::istringstream in{std::string(text)};
  size_t nodes_used = 0;
  int index = 0;
  try {
    YAML::Parser parser(in);
    while (true) {
      if (index >= kMaxDocuments) {
        report(index, {}, "more than " + std::to_string(kMaxDocuments) +
                              " documents in one file; reading of this file stopped here");
        return result;
      }
      YamlDocument doc;
      doc.index = ++index;
      JsonBuilder builder(file, &doc, &nodes_used, &result.diagnostics);
      try {
        if (!parser.HandleNextDocument(builder)) break;
      } catch (const AbortRead& abort) {
        report(index, ToMark(abort.mark), abort.message + "; reading of this file stopped here");
        return result;
      } catch (const YAML::Exception& e) {
        report(index, ToMark(e.mark), "invalid YAML: " + e.msg);
        return result;
      }
      result.documents.push_back(std::move(doc));
    }
  } catch (const YAML::Exception& e) {
    report(index, ToMark(e.mark), "invalid YAML: " + e.msg);
  } catch (const std::exception& e) {
    report(index, {}, std::string("cannot read YAML: ") + e.what());
  }
  return result;
}

}  // namespace ambit::config::internal
