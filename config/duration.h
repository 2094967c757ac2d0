// Durations ("100ms", "30s", "5m", "1h", "1m30s") and sizes ("512MiB").
// A bare number is refused: units are never guessed.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

#include "base/result.h"

namespace corral::config {

Result<std::chrono::milliseconds> parse_duration(std::string_view text);
Result<uint64_t> parse_size(std::string_view text);  // bytes

std::string format_duration(std::chrono::milliseconds d);  // "1m30s", "100ms"
std::string format_size(uint64_t bytes);                   // "512MiB"

}  // namespace corral::config
