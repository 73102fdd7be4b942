#include "core/log.h"

#include <spdlog/sinks/stdout_color_sinks.h>

namespace sluice::log {

bool setup(std::string_view level) {
  auto parsed = spdlog::level::from_str(std::string(level));
  if (parsed == spdlog::level::off && level != "off") return false;
  auto logger = spdlog::stderr_color_mt("sluice");
  spdlog::set_default_logger(logger);
  spdlog::set_pattern("[%Y-%m-%dT%H:%M:%S.%e] [%^%l%$] %v");
  spdlog::set_level(parsed);
  return true;
}

}  // namespace sluice::log
