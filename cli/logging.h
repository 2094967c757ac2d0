// corral's own log: human-readable lines on stderr, coloured on a terminal.
#pragma once

#include <memory>
#include <string>

#include <spdlog/logger.h>

#include "base/result.h"

namespace corral::cli {

// `level` is one of trace, debug, info, warn, error, off.
Result<std::shared_ptr<spdlog::logger>> make_logger(const std::string& name,
                                                    const std::string& level);

}  // namespace corral::cli
