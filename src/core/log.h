// Logging: spdlog with one process-wide default logger.
//
// Thread-safe. Call InitLogging() once in main() before other threads start.
// Components log through the AMBIT_LOG_* macros so the call site is recorded.
#pragma once

#include <spdlog/spdlog.h>

#include <string_view>

#include "core/result.h"

namespace ambit {

// |level| is one of trace, debug, info, warn, error, off. |json| switches to one
// JSON object per line (for machine consumption).
Status InitLogging(std::string_view program, std::string_view level, bool json = false);

}  // namespace ambit

#define AMBIT_LOG_TRACE(...) SPDLOG_TRACE(__VA_ARGS__)
#define AMBIT_LOG_DEBUG(...) SPDLOG_DEBUG(__VA_ARGS__)
#define AMBIT_LOG_INFO(...) SPDLOG_INFO(__VA_ARGS__)
#define AMBIT_LOG_WARN(...) SPDLOG_WARN(__VA_ARGS__)
#define AMBIT_LOG_ERROR(...) SPDLOG_ERROR(__VA_ARGS__)
