// Parsing Kubernetes manifests (multi-document YAML or JSON) into Resources.
//
// Contract:
// - Input must be UTF-8 without ASCII control characters other than tab, LF and
//   CR (checked; anything else is one diagnostic).
// - Never throws and never aborts on any input (yaml-cpp exceptions are caught
//   here); the input size, nesting depth (kMaxDepth) and alias expansion are
//   bounded, and exceeding a bound is reported as a diagnostic.
// - Every problem of a file is collected (not just the first). A document with
//   any error yields no resource; other documents of the same file still do.
//   A YAML syntax error stops the file at that point (earlier documents are kept).
// - Unknown kinds, unknown apiVersions for a kind and unknown fields are errors.
// - Duplicate kind/namespace/name within one call is an error on the later one.
// - `v1 List` documents are expanded into their items.
// - Empty documents (only comments, or a bare "---") are skipped.
// Thread-safe (no shared state).
#pragma once

#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "config/diagnostic.h"
#include "config/resource.h"

namespace ambit::config {

inline constexpr int kMaxDepth = 64;                     // nesting levels of maps/lists
inline constexpr size_t kMaxInputBytes = 16 * 1024 * 1024;
inline constexpr size_t kMaxNodes = 1'000'000;           // per file, after alias expansion
inline constexpr int kMaxDocuments = 10'000;             // per file

// Where a resource came from.
struct Origin {
  std::string file;
  int document = 0;  // 1-based
  int line = 0;      // 1-based line of the document's root; 0 when unknown
  friend bool operator==(const Origin&, const Origin&) = default;
};

struct ParseResult {
  std::vector<Resource> resources;       // in input order
  std::vector<Origin> origins;           // parallel to `resources`
  std::vector<Diagnostic> diagnostics;   // errors and warnings, in input order

  // True when there is no error (warnings allowed).
  bool ok() const { return !HasErrors(diagnostics); }
};

// Parses `text` (YAML or JSON, one or more documents). `file` is only used in
// diagnostics and origins.
ParseResult ParseManifests(std::string_view text, std::string_view file);

// Reads and parses one file. An unreadable file is one diagnostic.
ParseResult ParseFile(const std::filesystem::path& path);

// Parses every *.yaml, *.yml and *.json file directly in `dir` (not recursive),
// in sorted file-name order, as one input (duplicates across files are errors).
ParseResult ParseDirectory(const std::filesystem::path& dir);

// Parses one already-decoded object (e.g. read back from the store). `file` and
// `document` are used in diagnostics. Objects nested deeper than kMaxDepth are
// rejected (one diagnostic) so later recursive walks stay bounded.
ParseResult ParseJsonObject(const nlohmann::json& object, std::string_view file,
                            int document = 1);

}  // namespace ambit::config
