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

inline std::string JoinKey(std::string_view path, std::string_view key) {
  std::string out(path);
  if (IsPlainPathKey(key)) {
    if (!out.empty()) out += '.';
    out += key;
  } else {
    out += "[\"";
    for (char c : key) {
      if (c == '"' || c == '\\') out += '\\';
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
