#include "config/diagnostic.h"

#include <algorithm>
#include <string>

#include "config/field_path.h"

namespace ambit::config {

std::string Diagnostic::ToString() const {
  std::string out = file;
  if (line > 0) {
    out += ":" + std::to_string(line);
    if (column > 0) out += ":" + std::to_string(column);
  }
  out += severity == Severity::kError ? ": error: " : ": warning: ";
  if (document > 0) {
    out += "document " + std::to_string(document);
    if (!kind.empty() || !name.empty()) {
      out += " (";
      // Kind, namespace and name come from the input: keep them on one line.
      out += kind.empty() ? "?" : internal::EscapeForMessage(kind, 253);
      if (!name.empty()) {
        out += " ";
        if (!ns.empty()) out += internal::EscapeForMessage(ns, 253) + "/";
        out += internal::EscapeForMessage(name, 253);
      } else if (!ns.empty()) {
        out += " in namespace " + internal::EscapeForMessage(ns, 253);
      }
      out += ")";
    }
    out += ": ";
  }
  if (!path.empty()) out += path + ": ";
  out += message;
  return out;
}

bool HasErrors(const std::vector<Diagnostic>& diagnostics) {
  return std::any_of(diagnostics.begin(), diagnostics.end(),
                     [](const Diagnostic& d) { return d.severity == Severity::kError; });
}

std::string FormatDiagnostics(const std::vector<Diagnostic>& diagnostics) {
  std::string out;
  for (const Diagnostic& d : diagnostics) {
    out += d.ToString();
    out += '\n';
  }
  return out;
}

}  // namespace ambit::config
