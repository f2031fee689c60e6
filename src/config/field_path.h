// Field paths as shown in diagnostics: "spec.containers[0].ports[1].containerPort";
// keys that are not plain identifiers are bracketed and quoted:
// metadata.labels["app.kubernetes.io/name"]. Internal to ambit_config.
#pragma once

#include <string>
#include <string_view>

namespace ambit::config::internal {

inline bool IsPlainPathKey(std::string_view key) {
  if (key.empty() || key.front() == '-') return false;
  for (char c : key) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '-';
    if (!ok) return false;
  }
  return true;
}

// Text from the input as shown inside a one-line message: control characters
// escaped (\n, \t, \xNN) and at most `max` bytes followed by "...".
inline std::string EscapeForMessage(std::string_view text, size_t max = 60) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (size_t i = 0; i < text.size() && i < max; ++i) {
    unsigned char c = static_cast<unsigned char>(text[i]);
    if (c == '\n') {
      out += "\\n";
    } else if (c == '\r') {
      out += "\\r";
    } else if (c == '\t') {
      out += "\\t";
    } else if (c < 0x20 || c == 0x7f) {
      out += "\\x";
      out += kHex[c >> 4];
      out += kHex[c & 0xf];
    } else {
      out += static_cast<char>(c);
    }
  }
  if (text.size() > max) out += "...";
  return out;
}

// 'text', escaped and truncated.
inline std::string QuoteForMessage(std::string_view text) { return "'" + EscapeForMessage(text) + "'"; }

inline std::string JoinKey(std::string_view path, std::string_view key) {
  std::string out(path);
  if (IsPlainPathKey(key)) {
    if (!out.empty()) out += '.';
    out += key;
  } else {
    out += "[\"";
    for (char c : EscapeForMessage(key, 253)) {
      if (c == '"') out += '\\';
      out += c;
    }
    out += "\"]";
  }
  return out;
}

inline std::string JoinIndex(std::string_view path, size_t index) {
  std::string out(path);
  out += '[';
  out += std::to_string(index);
  out += ']';
  return out;
}

}  // namespace ambit::config::internal
