// YAML (or JSON) text -> one JSON tree per document, with source positions.
// Internal to ambit_config.
//
// Scalars are resolved the way Kubernetes' YAML library does (YAML 1.1 plain
// scalars: null/~, true/false/yes/no/on/off (but not y/n), decimal/0x/0o/leading-0 octal
// integers, floats; quoted and block scalars are strings). Duplicate mapping
// keys, non-scalar keys and unsupported tags are diagnostics. Never throws:
// yaml-cpp exceptions, nesting beyond kMaxDepth and more than kMaxNodes nodes
// (after alias expansion) end reading with a diagnostic; documents completed
// before that point are returned.
#pragma once

#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include <nlohmann/json.hpp>

#include "config/diagnostic.h"

namespace ambit::config::internal {

struct SourceMark {
  int line = 0;     // 1-based
  int column = 0;   // 1-based
  std::string raw;  // original text of a plain scalar that did not resolve to a string
};

struct YamlDocument {
  int index = 0;  // 1-based position in the stream
  nlohmann::json root;
  SourceMark start;
  std::unordered_map<std::string, SourceMark> marks;  // by field path ("" = root)
  bool has_errors = false;  // the reader already reported an error in this document
};

struct YamlReadResult {
  std::vector<YamlDocument> documents;
  std::vector<Diagnostic> diagnostics;
};

YamlReadResult ReadYaml(std::string_view text, std::string_view file);

// Renders a value for "got ..." in messages: 'text', 42, true, null, a list, an object.
std::string DescribeValue(const nlohmann::json& value, const SourceMark* mark = nullptr);

}  // namespace ambit::config::internal
