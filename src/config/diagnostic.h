// Diagnostics produced while reading manifests: one per problem, all collected.
//
// Value types; thread-compatible. A Diagnostic names where the problem is (file,
// line/column when known, 1-based document index, the resource's kind/namespace/
// name when known, the field path) and what was expected. ToString() renders the
// one-line form documented in docs/config.md:
//
//   bookinfo.yaml:42:15: error: document 3 (Deployment default/reviews-v1):
//       spec.template.spec.containers[0].ports[1].containerPort: expected an
//       integer 1-65535, got 'http'
//
// (on one line).
#pragma once

#include <string>
#include <vector>

namespace ambit::config {

enum class Severity { kError, kWarning };

struct Diagnostic {
  Severity severity = Severity::kError;
  std::string file;      // as given by the caller; never empty in parser output
  int line = 0;          // 1-based; 0 when unknown
  int column = 0;        // 1-based; 0 when unknown
  int document = 0;      // 1-based index of the YAML document; 0 = not document-specific
  std::string kind;      // empty when not known (e.g. the kind itself is missing)
  std::string ns;        // empty for cluster-scoped kinds or when unknown
  std::string name;      // empty when unknown
  std::string path;      // field path like "spec.ports[0].port"; empty = whole document
  std::string message;   // what is wrong / what was expected

  std::string ToString() const;
  friend bool operator==(const Diagnostic&, const Diagnostic&) = default;
};

// True if any diagnostic is an error (warnings do not reject a document).
bool HasErrors(const std::vector<Diagnostic>& diagnostics);

// All diagnostics, one ToString() per line.
std::string FormatDiagnostics(const std::vector<Diagnostic>& diagnostics);

}  // namespace ambit::config
