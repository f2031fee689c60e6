#include "core/log.h"

#include <spdlog/sinks/stdout_color_sinks.h>

namespace ambit {

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
  if (json) {
    spdlog::set_pattern(
        R"({"time":"%Y-%m-%dT%H:%M:%S.%fZ","level":"%l","program":"%n","msg":"%v"})",
        spdlog::pattern_time_type::utc);
  } else {
    spdlog::set_pattern("%Y-%m-%dT%H:%M:%S.%fZ %^%l%$ %n: %v", spdlog::pattern_time_type::utc);
  }
  return Ok();
}

}  // namespace ambit
