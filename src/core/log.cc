#include "core/log.h"

#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/stdout_color_sinks.h>

#include <cstdio>
#include <memory>

#include "core/structured_log.h"

namespace ambit {
namespace {

void Append(spdlog::memory_buf_t& dest, std::string_view s) {
  dest.append(s.data(), s.data() + s.size());
}

// Appends |s| as the inside of a JSON string (RFC 8259 escapes).
void AppendJsonEscaped(std::string_view s, spdlog::memory_buf_t& dest) {
  for (char c : s) {
    switch (c) {
      case '"':
        Append(dest, "\\\"");
        break;
      case '\\':
        Append(dest, "\\\\");
        break;
      case '\n':
        Append(dest, "\\n");
        break;
      case '\r':
        Append(dest, "\\r");
        break;
      case '\t':
        Append(dest, "\\t");
        break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", static_cast<unsigned>(c));
          Append(dest, buf);
        } else {
          dest.push_back(c);
        }
    }
  }
}

// %* in the JSON layout: a structured record's fields (merged into the
// line's object), or "msg":"<the message, escaped>".
class JsonPayload final : public spdlog::custom_flag_formatter {
 public:
  void format(const spdlog::details::log_msg& msg, const std::tm&,
              spdlog::memory_buf_t& dest) override {
    std::string_view payload(msg.payload.data(), msg.payload.size());
    if (payload.starts_with(kStructuredLogMarker) && payload.size() > 2 && payload.back() == '}') {
      // "\x1e{...}" -> "...": the record's fields, already JSON.
      std::string_view fields = payload.substr(kStructuredLogMarker.size() + 1);
      fields.remove_suffix(1);
      if (!fields.empty()) {
        dest.push_back(',');
        Append(dest, fields);
      }
      return;
    }
    Append(dest, ",\"msg\":\"");
    AppendJsonEscaped(payload, dest);
    dest.push_back('"');
  }
  std::unique_ptr<custom_flag_formatter> clone() const override {
    return std::make_unique<JsonPayload>();
  }
};

// %* in the text layout: the message, a structured record without its marker.
class TextPayload final : public spdlog::custom_flag_formatter {
 public:
  void format(const spdlog::details::log_msg& msg, const std::tm&,
              spdlog::memory_buf_t& dest) override {
    std::string_view payload(msg.payload.data(), msg.payload.size());
    if (payload.starts_with(kStructuredLogMarker))
      payload.remove_prefix(kStructuredLogMarker.size());
    Append(dest, payload);
  }
  std::unique_ptr<custom_flag_formatter> clone() const override {
    return std::make_unique<TextPayload>();
  }
};

}  // namespace

std::unique_ptr<spdlog::formatter> MakeLogFormatter(bool json) {
  auto formatter = std::make_unique<spdlog::pattern_formatter>(spdlog::pattern_time_type::utc);
  if (json) {
    formatter->add_flag<JsonPayload>('*').set_pattern(
        R"({"time":"%Y-%m-%dT%H:%M:%S.%fZ","level":"%l","program":"%n"%*})");
  } else {
    formatter->add_flag<TextPayload>('*').set_pattern("%Y-%m-%dT%H:%M:%S.%fZ %^%l%$ %n: %*");
  }
  return formatter;
}

Status InitLogging(std::string_view program, std::string_view level, bool json) {
  auto lvl = spdlog::level::from_str(std::string(level));
  if (lvl == spdlog::level::off && level != "off") {
    return Error(ErrorCode::kInvalidArgument,
                 "unknown log level '" + std::string(level) +
                     "' (expected trace, debug, info, warn, error or off)");
  }
  auto logger = spdlog::stderr_color_mt(std::string(program));
  spdlog::set_default_logger(logger);
  spdlog::set_level(lvl);
  spdlog::set_formatter(MakeLogFormatter(json));
  return Ok();
}

}  // namespace ambit
