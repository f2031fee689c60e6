// Structured log records: a message that starts with kStructuredLogMarker
// (RFC 7464's record separator) followed by one JSON object is a record of
// fields. With JSON logging (InitLogging(..., json=true)) its fields are
// merged into the line's object next to time, level and program; in text
// logging the JSON is written as is, without the marker.
#pragma once

#include <memory>
#include <string_view>

namespace spdlog {
class formatter;
}  // namespace spdlog

namespace ambit {

inline constexpr std::string_view kStructuredLogMarker = "\x1e";

// The layout InitLogging installs: text ("<time> <level> <program>: <msg>")
// or JSON ({"time":…,"level":…,"program":…,"msg":"<escaped>"} or a
// structured record's fields in place of "msg").
std::unique_ptr<spdlog::formatter> MakeLogFormatter(bool json);

}  // namespace ambit
