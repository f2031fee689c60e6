#include "config/diagnostic.h"

#include <algorithm>
#include <string>

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
      out += kind.empty() ? "?" : kind;
      if (!name.empty()) {
        out += " ";
        if (!ns.empty()) out += ns + "/";
        out += name;
      } else if (!ns.empty()) {
        out += " in namespace " + ns;
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
