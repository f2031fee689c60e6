#include "config/schema.h"

#include <algorithm>
#include <cctype>
#include <utility>

#include "config/field_path.h"
#include "config/names.h"

namespace ambit::config::internal {
namespace {

using json = nlohmann::json;

const SourceMark* MarkAt(const Marks* marks, const std::string& path) {
  if (marks == nullptr) return nullptr;
  auto it = marks->find(path);
  return it == marks->end() ? nullptr : &it->second;
}

size_t EditDistance(std::string_view a, std::string_view b) {
  std::vector<size_t> prevprev(b.size() + 1), prev(b.size() + 1), cur(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) prev[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    cur[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      char ca = static_cast<char>(std::tolower(static_cast<unsigned char>(a[i - 1])));
      char cb = static_cast<char>(std::tolower(static_cast<unsigned char>(b[j - 1])));
      cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (ca == cb ? 0 : 1)});
      // Optimal string alignment: a swap of two adjacent characters costs 1.
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1]) {
        cur[j] = std::min(cur[j], prevprev[j - 2] + 1);
      }
    }
    prevprev = prev;
    std::swap(prev, cur);
  }
  return prev[b.size()];
}

std::string UnknownFieldMessage(std::string_view key, const std::vector<Field>& fields) {
  std::string best;
  size_t best_distance = SIZE_MAX;
  for (const Field& f : fields) {
    size_t d = EditDistance(key, f.name);
    if (d < best_distance) {
      best_distance = d;
      best = f.name;
    }
  }
  if (!best.empty() && best_distance <= std::max<size_t>(1, std::min<size_t>(2, key.size() / 3))) {
    return "unknown field (did you mean '" + best + "'?)";
  }
  std::vector<std::string> names;
  for (const Field& f : fields) names.push_back(f.name);
  std::sort(names.begin(), names.end());
  std::string out = "unknown field; expected one of: ";
  for (size_t i = 0; i < names.size(); ++i) {
    if (i > 0) out += ", ";
    out += names[i];
  }
  if (names.empty()) out = "unknown field; this object has no fields";
  return out;
}

std::string Mismatch(const Schema& schema, const json& value, const SourceMark* mark) {
  return "expected " + schema.expected + ", got " + DescribeValue(value, mark);
}

void ValidateString(const json& value, const Schema& schema, const std::string& path,
                    const SourceMark* mark, std::vector<Finding>* findings) {
  const std::string& s = value.get_ref<const std::string&>();
  if (!schema.enum_values.empty() &&
      std::find(schema.enum_values.begin(), schema.enum_values.end(), s) ==
          schema.enum_values.end()) {
    findings->push_back({path, Mismatch(schema, value, mark)});
    return;
  }
  if (schema.string_check) {
    std::string problem = schema.string_check(s);
    if (!problem.empty()) findings->push_back({path, std::move(problem)});
  }
}

}  // namespace

void Validate(const json& value, const Schema& schema, const std::string& path,
              const Marks* marks, std::vector<Finding>* findings) {
  const SourceMark* mark = MarkAt(marks, path);
  switch (schema.type) {
    case Schema::Type::kAny:
      return;
    case Schema::Type::kAnyObject:
      if (!value.is_object()) findings->push_back({path, Mismatch(schema, value, mark)});
      return;
    case Schema::Type::kString:
      if (!value.is_string()) {
        findings->push_back({path, Mismatch(schema, value, mark)});
        return;
      }
      ValidateString(value, schema, path, mark, findings);
      return;
    case Schema::Type::kBool:
      if (!value.is_boolean()) findings->push_back({path, Mismatch(schema, value, mark)});
      return;
    case Schema::Type::kNumber:
      if (!value.is_number()) findings->push_back({path, Mismatch(schema, value, mark)});
      return;
    case Schema::Type::kInt:
    case Schema::Type::kIntOrString: {
      if (schema.type == Schema::Type::kIntOrString && value.is_string()) {
        ValidateString(value, schema, path, mark, findings);
        return;
      }
      bool ok = value.is_number_integer();
      if (ok) {
        if (value.is_number_unsigned()) {
          ok = value.get<uint64_t>() <= static_cast<uint64_t>(schema.max);
        } else {
          int64_t i = value.get<int64_t>();
          ok = i >= schema.min && i <= schema.max;
        }
      }
      if (!ok) findings->push_back({path, Mismatch(schema, value, mark)});
      return;
    }
    case Schema::Type::kList: {
      if (!value.is_array()) {
        findings->push_back({path, Mismatch(schema, value, mark)});
        return;
      }
      if (value.size() < schema.min_items) {
        findings->push_back({path, "expected at least " + std::to_string(schema.min_items) +
                                       (schema.min_items == 1 ? " item" : " items") + ", got " +
                                       (value.empty() ? std::string("an empty list")
                                                      : std::to_string(value.size()))});
      }
      if (value.size() > schema.max_items) {
        findings->push_back({path, "expected at most " + std::to_string(schema.max_items) +
                                       " items, got " + std::to_string(value.size())});
      }
      for (size_t i = 0; i < value.size(); ++i) {
        const json& item = value[i];
        std::string item_path = JoinIndex(path, i);
        if (item.is_null()) {
          findings->push_back({item_path, "expected " + schema.item->expected + ", got null"});
          continue;
        }
        Validate(item, *schema.item, item_path, marks, findings);
      }
      return;
    }
    case Schema::Type::kMap: {
      if (!value.is_object()) {
        findings->push_back({path, Mismatch(schema, value, mark)});
        return;
      }
      for (const auto& [key, item] : value.items()) {
        std::string item_path = JoinKey(path, key);
        if (schema.key_check) {
          std::string problem = schema.key_check(key);
          if (!problem.empty()) findings->push_back({item_path, "invalid key: " + problem});
        }
        if (item.is_null()) {
          findings->push_back({item_path, "expected " + schema.item->expected + ", got null"});
          continue;
        }
        Validate(item, *schema.item, item_path, marks, findings);
      }
      return;
    }
    case Schema::Type::kObject: {
      if (!value.is_object()) {
        findings->push_back({path, Mismatch(schema, value, mark)});
        return;
      }
      for (const auto& [key, item] : value.items()) {
        const std::string& field_name = key;
        auto field = std::find_if(schema.fields.begin(), schema.fields.end(),
                                  [&](const Field& f) { return f.name == field_name; });
        std::string item_path = JoinKey(path, key);
        if (field == schema.fields.end()) {
          findings->push_back({item_path, UnknownFieldMessage(key, schema.fields)});
          continue;
        }
        if (item.is_null()) continue;  // absent; "required" is checked below
        Validate(item, *field->schema, item_path, marks, findings);
      }
      for (const Field& f : schema.fields) {
        if (!f.required) continue;
        auto it = value.find(f.name);
        if (it == value.end() || it->is_null()) {
          findings->push_back(
              {JoinKey(path, f.name), "required field is missing (expected " + f.schema->expected + ")"});
        }
      }
      std::vector<std::pair<std::string, std::string>> problems;
      for (const ObjectRule& rule : schema.rules) rule(value, &problems);
      for (auto& [relative, message] : problems) {
        findings->push_back({relative.empty() ? path : JoinKey(path, relative), std::move(message)});
      }
      return;
    }
  }
}

namespace {
std::shared_ptr<Schema> Make(Schema::Type type, std::string expected) {
  auto s = std::make_shared<Schema>();
  s->type = type;
  s->expected = std::move(expected);
  return s;
}
}  // namespace

SchemaPtr Any() { return Make(Schema::Type::kAny, "any value"); }
SchemaPtr AnyObject() { return Make(Schema::Type::kAnyObject, "an object"); }
SchemaPtr Str() { return Make(Schema::Type::kString, "a string"); }
SchemaPtr Str(std::string expected, StringCheck check) {
  auto s = Make(Schema::Type::kString, std::move(expected));
  s->string_check = std::move(check);
  return s;
}
SchemaPtr Enum(std::vector<std::string> values) {
  std::string expected = "one of ";
  for (size_t i = 0; i < values.size(); ++i) {
    if (i > 0) expected += ", ";
    expected += values[i];
  }
  auto s = Make(Schema::Type::kString, std::move(expected));
  s->enum_values = std::move(values);
  return s;
}
SchemaPtr Int(int64_t min, int64_t max) {
  std::string expected = "an integer";
  if (min != INT64_MIN && max != INT64_MAX) {
    expected += " " + std::to_string(min) + "-" + std::to_string(max);
  } else if (min != INT64_MIN) {
    expected += " >= " + std::to_string(min);
  }
  auto s = Make(Schema::Type::kInt, std::move(expected));
  s->min = min;
  s->max = max;
  return s;
}
SchemaPtr Num() { return Make(Schema::Type::kNumber, "a number"); }
SchemaPtr Bool() { return Make(Schema::Type::kBool, "a boolean (true or false)"); }
SchemaPtr IntOrStr(int64_t min, int64_t max, std::string expected, StringCheck check) {
  auto s = Make(Schema::Type::kIntOrString, std::move(expected));
  s->min = min;
  s->max = max;
  s->string_check = std::move(check);
  return s;
}
SchemaPtr Obj(std::vector<Field> fields, std::string expected) {
  auto s = Make(Schema::Type::kObject, std::move(expected));
  s->fields = std::move(fields);
  return s;
}
SchemaPtr List(SchemaPtr item, size_t min_items, size_t max_items) {
  auto s = Make(Schema::Type::kList, "a list of " + (item->expected.rfind("an ", 0) == 0
                                                          ? item->expected.substr(3)
                                                          : item->expected.rfind("a ", 0) == 0
                                                                ? item->expected.substr(2)
                                                                : item->expected));
  if (s->expected.back() != 's') s->expected += "s";
  s->item = std::move(item);
  s->min_items = min_items;
  s->max_items = max_items;
  return s;
}
SchemaPtr StrList() { return List(Str()); }
SchemaPtr Map(SchemaPtr value, StringCheck key_check, std::string expected) {
  auto s = Make(Schema::Type::kMap, std::move(expected));
  s->item = std::move(value);
  s->key_check = std::move(key_check);
  return s;
}
SchemaPtr StrMap() { return Map(Str(), nullptr, "a map of strings"); }
SchemaPtr LabelMap() {
  return Map(Str("a string", [](std::string_view v) { return CheckLabelValue(v); }),
             [](std::string_view k) { return CheckQualifiedName(k); }, "a map of labels");
}
SchemaPtr WithRule(SchemaPtr object, ObjectRule rule) {
  auto s = std::make_shared<Schema>(*object);
  s->rules.push_back(std::move(rule));
  return s;
}

std::string CheckDuration(std::string_view value) {
  size_t i = 0;
  bool any = false;
  while (i < value.size()) {
    size_t start = i;
    while (i < value.size() && value[i] >= '0' && value[i] <= '9') ++i;
    if (i < value.size() && value[i] == '.') {
      ++i;
      while (i < value.size() && value[i] >= '0' && value[i] <= '9') ++i;
    }
    if (i == start) break;
    std::string_view rest = value.substr(i);
    size_t unit = 0;
    for (std::string_view u : {"ms", "us", "ns", "h", "m", "s"}) {
      if (rest.substr(0, u.size()) == u) {
        unit = u.size();
        break;
      }
    }
    if (unit == 0) break;
    i += unit;
    any = true;
  }
  if (any && i == value.size()) return "";
  return "expected a duration like '10s', '1.5s', '250ms' or '1h30m', got " + QuoteForMessage(value);
}

namespace {
std::vector<std::string> Present(const json& object, const std::vector<std::string>& names) {
  std::vector<std::string> present;
  for (const std::string& n : names) {
    auto it = object.find(n);
    if (it != object.end() && !it->is_null()) present.push_back(n);
  }
  return present;
}
std::string Join(const std::vector<std::string>& names, std::string_view sep) {
  std::string out;
  for (size_t i = 0; i < names.size(); ++i) {
    if (i > 0) out += sep;
    out += names[i];
  }
  return out;
}
}  // namespace

ObjectRule AtMostOneOf(std::vector<std::string> names) {
  return [names](const json& object, std::vector<std::pair<std::string, std::string>>* out) {
    std::vector<std::string> present = Present(object, names);
    if (present.size() > 1) {
      out->push_back({"", "expected at most one of " + Join(names, ", ") + ", got " + Join(present, " and ")});
    }
  };
}

ObjectRule ExactlyOneOf(std::vector<std::string> names) {
  return [names](const json& object, std::vector<std::pair<std::string, std::string>>* out) {
    std::vector<std::string> present = Present(object, names);
    if (present.size() > 1) {
      out->push_back({"", "expected exactly one of " + Join(names, ", ") + ", got " + Join(present, " and ")});
    } else if (present.empty()) {
      out->push_back({"", "expected exactly one of " + Join(names, ", ") + ", got none"});
    }
  };
}

}  // namespace ambit::config::internal
