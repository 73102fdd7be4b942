#pragma once
// Logging goes through spdlog; this header fixes the process-wide setup so every subcommand logs
// the same way (stderr, one line per event, level from --log-level).

#include <spdlog/spdlog.h>

#include <string_view>

namespace sluice::log {

// Configures the default logger; `level` is one of trace, debug, info, warn, error, off.
// Returns false for an unknown level (the caller reports a usage error).
bool setup(std::string_view level);

}  // namespace sluice::log

#define SLUICE_LOG_TRACE(...) SPDLOG_TRACE(__VA_ARGS__)
#define SLUICE_LOG_DEBUG(...) spdlog::debug(__VA_ARGS__)
#define SLUICE_LOG_INFO(...) spdlog::info(__VA_ARGS__)
#define SLUICE_LOG_WARN(...) spdlog::warn(__VA_ARGS__)
#define SLUICE_LOG_ERROR(...) spdlog::error(__VA_ARGS__)
