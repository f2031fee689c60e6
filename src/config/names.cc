#include "config/names.h"

#include <string>

#include "config/field_path.h"

namespace ambit::config {
namespace {

bool IsLowerAlnum(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); }
bool IsAlnum(char c) { return IsLowerAlnum(c) || (c >= 'A' && c <= 'Z'); }

std::string Quote(std::string_view value) { return internal::QuoteForMessage(value); }

bool IsDns1123Label(std::string_view v) {
  if (v.empty() || v.size() > 63) return false;
  if (!IsLowerAlnum(v.front()) || !IsLowerAlnum(v.back())) return false;
  for (char c : v) {
    if (!IsLowerAlnum(c) && c != '-') return false;
  }
  return true;
}

bool IsDns1123Subdomain(std::string_view v) {
  if (v.empty() || v.size() > 253) return false;
  size_t start = 0;
  while (true) {
    size_t dot = v.find('.', start);
    std::string_view part = v.substr(start, dot == std::string_view::npos ? v.npos : dot - start);
    if (!IsDns1123Label(part)) return false;
    if (dot == std::string_view::npos) return true;
    start = dot + 1;
  }
}

// [A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])? of at most 63 chars.
bool IsQualifiedNamePart(std::string_view v) {
  if (v.empty() || v.size() > 63) return false;
  if (!IsAlnum(v.front()) || !IsAlnum(v.back())) return false;
  for (char c : v) {
    if (!IsAlnum(c) && c != '-' && c != '_' && c != '.') return false;
  }
  return true;
}

}  // namespace

std::string CheckDns1123Label(std::string_view value) {
  if (IsDns1123Label(value)) return "";
  return "expected a DNS-1123 label (at most 63 characters of a-z, 0-9 and '-', starting and "
         "ending with a letter or digit), got " + Quote(value);
}

std::string CheckDns1123Subdomain(std::string_view value) {
  if (IsDns1123Subdomain(value)) return "";
  return "expected a DNS-1123 subdomain (at most 253 characters of a-z, 0-9, '-' and '.', "
         "each dot-separated part starting and ending with a letter or digit), got " +
         Quote(value);
}

std::string CheckDns1035Label(std::string_view value) {
  if (IsDns1123Label(value) && value.front() >= 'a' && value.front() <= 'z') return "";
  return "expected a DNS-1035 label (at most 63 characters of a-z, 0-9 and '-', starting with "
         "a letter and ending with a letter or digit), got " + Quote(value);
}

std::string CheckQualifiedName(std::string_view value) {
  std::string_view prefix;
  std::string_view name = value;
  size_t slash = value.find('/');
  bool ok = true;
  if (slash != std::string_view::npos) {
    prefix = value.substr(0, slash);
    name = value.substr(slash + 1);
    ok = IsDns1123Subdomain(prefix);
  }
  ok = ok && IsQualifiedNamePart(name);
  if (ok) return "";
  return "expected a key of the form [prefix/]name (prefix a DNS-1123 subdomain; name at most "
         "63 characters of A-Z, a-z, 0-9, '-', '_' and '.', starting and ending with a letter "
         "or digit), got " + Quote(value);
}

std::string CheckLabelValue(std::string_view value) {
  if (value.empty() || IsQualifiedNamePart(value)) return "";
  return "expected a label value (empty, or at most 63 characters of A-Z, a-z, 0-9, '-', '_' "
         "and '.', starting and ending with a letter or digit), got " + Quote(value);
}

std::string CheckIanaServiceName(std::string_view value) {
  bool ok = !value.empty() && value.size() <= 15 && value.front() != '-' && value.back() != '-' &&
            value.find("--") == std::string_view::npos;
  bool has_letter = false;
  for (char c : value) {
    if (!IsLowerAlnum(c) && c != '-') ok = false;
    if (c >= 'a' && c <= 'z') has_letter = true;
  }
  if (ok && has_letter) return "";
  return "expected a port name (1-15 characters of a-z, 0-9 and '-', with at least one letter "
         "and no leading, trailing or double '-'), got " + Quote(value);
}

std::string CheckEnvVarName(std::string_view value) {
  bool ok = !value.empty();
  for (char c : value) {
    if (c < 0x20 || c > 0x7e || c == '=') ok = false;
  }
  if (ok) return "";
  return "expected an environment variable name (printable ASCII without '='), got " +
         Quote(value);
}

}  // namespace ambit::config
