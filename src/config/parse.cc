#include "config/parse.h"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <map>
#include <sstream>
#include <system_error>
#include <tuple>

#include "config/field_path.h"
#include "config/kinds.h"
#include "config/yaml_reader.h"

namespace ambit::config {
namespace {

using json = nlohmann::json;
using internal::Finding;
using internal::KindInfo;
using internal::Marks;
using internal::SourceMark;

// The path one level up: "a.b[2]" -> "a.b", "a.b" -> "a", "a[\"x.y\"]" -> "a".
std::string ParentPath(const std::string& path) {
  if (path.empty()) return "";
  if (path.back() == ']') {
    size_t open = path.size() >= 2 && path[path.size() - 2] == '"' ? path.rfind("[\"") : path.rfind('[');
    return open == std::string::npos ? "" : path.substr(0, open);
  }
  size_t dot = path.find_last_of(".]");
  if (dot == std::string::npos) return "";
  return path[dot] == ']' ? path.substr(0, dot + 1) : path.substr(0, dot);
}

const SourceMark* NearestMark(const Marks* marks, std::string path) {
  if (marks == nullptr) return nullptr;
  while (true) {
    auto it = marks->find(path);
    if (it != marks->end() && it->second.line > 0) return &it->second;
    if (path.empty()) return nullptr;
    path = ParentPath(path);
  }
}

std::string SupportedKinds() {
  std::string out;
  for (const KindInfo& k : internal::Kinds()) {
    if (!out.empty()) out += ", ";
    out += k.kind;
  }
  return out;
}

std::string JoinVersions(const std::vector<std::string>& versions) {
  std::string out;
  for (size_t i = 0; i < versions.size(); ++i) {
    if (i > 0) out += i + 1 == versions.size() ? " or " : ", ";
    out += versions[i];
  }
  return out;
}

// Accumulates documents of one or more files into one ParseResult.
class ManifestParser {
 public:
  void AddText(std::string_view text, std::string_view file) {
    internal::YamlReadResult read = internal::ReadYaml(text, file);
    std::vector<Diagnostic> reader_diags = std::move(read.diagnostics);
    size_t first_new = result_.diagnostics.size();
    for (internal::YamlDocument& doc : read.documents) {
      Context ctx{std::string(file), doc.index, &doc.marks, doc.start.line};
      AddDocument(doc.root, ctx, doc.has_errors);
    }
    // Reader diagnostics go before the document's others, with its kind/name.
    for (Diagnostic& d : reader_diags) {
      auto it = doc_context_.find({std::string(file), d.document});
      if (it != doc_context_.end()) {
        d.kind = it->second.kind;
        d.ns = it->second.ns;
        d.name = it->second.name;
      }
    }
    std::vector<Diagnostic> merged(result_.diagnostics.begin() + static_cast<long>(first_new),
                                   result_.diagnostics.end());
    result_.diagnostics.resize(first_new);
    merged.insert(merged.begin(), reader_diags.begin(), reader_diags.end());
    // Per document, in source order (diagnostics without a position keep their place
    // after those with one).
    std::stable_sort(merged.begin(), merged.end(), [](const Diagnostic& a, const Diagnostic& b) {
      auto pos = [](const Diagnostic& d) {
        return std::make_tuple(d.document, d.line == 0 ? INT32_MAX : d.line, d.column);
      };
      return pos(a) < pos(b);
    });
    for (Diagnostic& d : merged) result_.diagnostics.push_back(std::move(d));
  }

  void AddObject(const json& object, std::string_view file, int document) {
    Context ctx{std::string(file), document, nullptr, 0};
    AddDocument(object, ctx, false);
  }

  void AddFileError(std::string file, std::string message) {
    Diagnostic d;
    d.file = std::move(file);
    d.message = std::move(message);
    result_.diagnostics.push_back(std::move(d));
  }

  void AddDocumentError(std::string file, int document, std::string message) {
    Diagnostic d;
    d.file = std::move(file);
    d.document = document;
    d.message = std::move(message);
    result_.diagnostics.push_back(std::move(d));
  }

  ParseResult Finish() { return std::move(result_); }

 private:
  struct Context {
    std::string file;
    int document;
    const Marks* marks;
    int line;
  };
  struct Identity {
    std::string kind, ns, name;
  };

  void AddDocument(const json& root, const Context& ctx, bool reader_errors) {
    if (root.is_null()) return;  // empty document
    if (!root.is_object()) {
      Report(ctx, {}, "", "expected a Kubernetes object (a mapping with apiVersion, kind and "
                          "metadata), got " + internal::DescribeValue(root));
      return;
    }
    if (GetStr(root, "kind") == "List" && GetStr(root, "apiVersion") == "v1") {
      AddList(root, ctx, reader_errors);
      return;
    }
    AddObjectAt(root, "", ctx, reader_errors);
  }

  void AddList(const json& root, const Context& ctx, bool reader_errors) {
    std::vector<Finding> findings;
    for (const auto& [key, value] : root.items()) {
      if (key != "apiVersion" && key != "kind" && key != "items" && key != "metadata") {
        findings.push_back({key, "unknown field; expected one of: apiVersion, items, kind, metadata"});
      }
    }
    const json& items = internal::Member(root, "items");
    if (!items.is_null() && !items.is_array()) {
      findings.push_back({"items", "expected a list of objects, got " + internal::DescribeValue(items)});
    }
    for (const Finding& f : findings) Report(ctx, {}, f.path, f.message);
    if (!items.is_array()) return;
    for (size_t i = 0; i < items.size(); ++i) {
      std::string base = internal::JoinIndex("items", i);
      if (!items[i].is_object()) {
        Report(ctx, {}, base, "expected a Kubernetes object, got " + internal::DescribeValue(items[i]));
        continue;
      }
      AddObjectAt(items[i], base, ctx, reader_errors);
    }
  }

  static std::string GetStr(const json& o, std::string_view key) { return internal::GetStr(o, key); }

  void AddObjectAt(const json& object, const std::string& base, const Context& ctx, bool reader_errors) {
    Identity id;
    const json& kind_value = internal::Member(object, "kind");
    const json& version_value = internal::Member(object, "apiVersion");
    id.kind = kind_value.is_string() ? kind_value.get<std::string>() : "";
    const json& meta = internal::Member(object, "metadata");
    id.name = GetStr(meta, "name");
    const KindInfo* info = internal::FindKind(id.kind);
    if (info == nullptr || info->namespaced) {
      const json& ns = internal::Member(meta, "namespace");
      id.ns = ns.is_string() ? ns.get<std::string>() : id.name.empty() ? "" : "default";
    }
    if (base.empty()) doc_context_[{ctx.file, ctx.document}] = id;

    if (!kind_value.is_string() || !version_value.is_string()) {
      if (kind_value.is_null()) Report(ctx, id, internal::JoinKey(base, "kind"), "required field is missing (expected a kind such as Deployment)");
      else if (!kind_value.is_string()) Report(ctx, id, internal::JoinKey(base, "kind"), "expected a kind such as Deployment, got " + internal::DescribeValue(kind_value));
      if (version_value.is_null()) Report(ctx, id, internal::JoinKey(base, "apiVersion"), "required field is missing (expected an apiVersion such as apps/v1)");
      else if (!version_value.is_string()) Report(ctx, id, internal::JoinKey(base, "apiVersion"), "expected an apiVersion such as apps/v1, got " + internal::DescribeValue(version_value));
      return;
    }
    std::string api_version = version_value.get<std::string>();
    if (info == nullptr) {
      Report(ctx, id, internal::JoinKey(base, "kind"),
             "unknown kind " + internal::QuoteForMessage(id.kind) + " (apiVersion " +
                 internal::EscapeForMessage(api_version) + "); supported kinds: " + SupportedKinds());
      return;
    }
    if (std::find(info->api_versions.begin(), info->api_versions.end(), api_version) ==
        info->api_versions.end()) {
      Report(ctx, id, internal::JoinKey(base, "apiVersion"),
             "expected " + JoinVersions(info->api_versions) + " for kind " + info->kind + ", got " +
                 internal::QuoteForMessage(api_version));
      return;
    }
    std::vector<Finding> findings;
    internal::Validate(object, *info->schema, base, ctx.marks, &findings);
    if (findings.empty() && !reader_errors) {
      Resource resource = info->decode(object, api_version, base, &findings);
      internal::CheckMeshLabels(resource, base, &findings);
      bool errors = std::any_of(findings.begin(), findings.end(),
                                [](const Finding& f) { return f.severity == Severity::kError; });
      for (const Finding& f : findings) Report(ctx, id, f.path, f.message, f.severity);
      if (!errors) AddResource(std::move(resource), base, ctx, id);
      return;
    }
    for (const Finding& f : findings) Report(ctx, id, f.path, f.message, f.severity);
  }

  void AddResource(Resource resource, const std::string& base, const Context& ctx, const Identity& id) {
    ResourceKey key = KeyOf(resource);
    Origin origin{ctx.file, ctx.document, ctx.line};
    const SourceMark* mark = NearestMark(ctx.marks, base);
    if (mark != nullptr) origin.line = mark->line;
    auto [it, fresh] = seen_.emplace(key, origin);
    if (!fresh) {
      const Origin& first = it->second;
      std::string where = "document " + std::to_string(first.document);
      if (first.file != ctx.file) where += " of " + first.file;
      if (first.line > 0) where += " (line " + std::to_string(first.line) + ")";
      Report(ctx, id, internal::JoinKey(internal::JoinKey(base, "metadata"), "name"),
             "duplicate " + key.ToString() + "; first defined in " + where);
      return;
    }
    result_.resources.push_back(std::move(resource));
    result_.origins.push_back(std::move(origin));
  }

  void Report(const Context& ctx, const Identity& id, const std::string& path, std::string message,
              Severity severity = Severity::kError) {
    Diagnostic d;
    d.severity = severity;
    d.file = ctx.file;
    d.document = ctx.document;
    d.kind = id.kind;
    d.ns = id.ns;
    d.name = id.name;
    d.path = path;
    d.message = std::move(message);
    if (const SourceMark* mark = NearestMark(ctx.marks, path)) {
      d.line = mark->line;
      d.column = mark->column;
    }
    result_.diagnostics.push_back(std::move(d));
  }

  ParseResult result_;
  std::map<ResourceKey, Origin> seen_;
  std::map<std::pair<std::string, int>, Identity> doc_context_;
};

// Nesting depth of containers (a scalar is 0), without recursion.
int JsonDepth(const json& root) {
  int max_depth = 0;
  std::vector<std::pair<const json*, int>> stack{{&root, 0}};
  while (!stack.empty()) {
    auto [value, depth] = stack.back();
    stack.pop_back();
    if (!value->is_structured()) continue;
    max_depth = std::max(max_depth, depth + 1);
    if (max_depth > kMaxDepth) return max_depth;
    for (const json& child : *value) stack.push_back({&child, depth + 1});
  }
  return max_depth;
}

bool ReadWholeFile(const std::filesystem::path& path, std::string* out, std::string* error) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    *error = std::string("cannot open file: ") + std::strerror(errno);
    return false;
  }
  std::ostringstream buf;
  buf << in.rdbuf();
  if (in.bad()) {
    *error = "cannot read file";
    return false;
  }
  *out = std::move(buf).str();
  return true;
}

}  // namespace

ParseResult ParseManifests(std::string_view text, std::string_view file) {
  ManifestParser parser;
  parser.AddText(text, file);
  return parser.Finish();
}

ParseResult ParseFile(const std::filesystem::path& path) {
  ManifestParser parser;
  std::string text, error;
  if (!ReadWholeFile(path, &text, &error)) {
    parser.AddFileError(path.string(), error);
  } else {
    parser.AddText(text, path.string());
  }
  return parser.Finish();
}

ParseResult ParseDirectory(const std::filesystem::path& dir) {
  ManifestParser parser;
  std::error_code ec;
  std::vector<std::filesystem::path> files;
  std::filesystem::directory_iterator it(dir, ec);
  if (ec) {
    parser.AddFileError(dir.string(), "cannot list directory: " + ec.message());
    return parser.Finish();
  }
  for (; it != std::filesystem::directory_iterator(); it.increment(ec)) {
    if (ec) break;
    const std::filesystem::path& p = it->path();
    std::string ext = p.extension().string();
    if ((ext == ".yaml" || ext == ".yml" || ext == ".json") && it->is_regular_file(ec)) {
      files.push_back(p);
    }
  }
  if (ec) parser.AddFileError(dir.string(), "cannot list directory: " + ec.message());
  std::sort(files.begin(), files.end());
  for (const auto& p : files) {
    std::string text, error;
    if (!ReadWholeFile(p, &text, &error)) {
      parser.AddFileError(p.string(), error);
    } else {
      parser.AddText(text, p.string());
    }
  }
  return parser.Finish();
}

ParseResult ParseJsonObject(const json& object, std::string_view file, int document) {
  ManifestParser parser;
  if (JsonDepth(object) > kMaxDepth) {
    parser.AddDocumentError(std::string(file), document,
                            "nesting deeper than " + std::to_string(kMaxDepth) + " levels");
  } else {
    parser.AddObject(object, file, document);
  }
  return parser.Finish();
}

}  // namespace ambit::config
