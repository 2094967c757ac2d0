#include "cli/logging.h"

#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <fmt/format.h>

namespace corral::cli {

Result<std::shared_ptr<spdlog::logger>> make_logger(const std::string& name,
                                                    const std::string& level) {
  const auto parsed = spdlog::level::from_str(level);
  // from_str answers "off" for anything it does not know.
  if (parsed == spdlog::level::off && level != "off") {
    return Error{fmt::format("unknown log level '{}' (trace, debug, info, warn, error, off)", level)};
  }
  // Single-threaded sink: all logging happens on the loop's thread.
  auto sink = std::make_shared<spdlog::sinks::stderr_color_sink_st>();
  auto logger = std::make_shared<spdlog::logger>(name, std::move(sink));
  logger->set_pattern("%Y-%m-%d %H:%M:%S.%f %^%-5l%$ %v");
  logger->set_level(parsed);
  logger->flush_on(spdlog::level::trace);
  return logger;
}

}  // namespace corral::cli
