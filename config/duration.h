// Durations ("100ms", "30s", "5m", "1h", "1m30s") and sizes ("512MiB").
// A bare number is refused: units are never guessed. The one exception is
// the duration "0", which reads the same in any unit and is how a feature
// is switched off (`heartbeat_timeout = "0"`).
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

#include "base/result.h"

namespace corral::config {

// Units ms, s, m, h, largest first, each at most once: "1h30m", "1.5s".
// Fractions are allowed as long as the total is whole milliseconds.
// Negative durations are refused; the result fits in microseconds as int64.
Result<std::chrono::milliseconds> parse_duration(std::string_view text);

// A number and one unit: B, KiB, MiB, GiB, TiB (powers of 1024) or KB/kB,
// MB, GB, TB (powers of 1000). Fractions are allowed ("1.5GiB") when the
// total is whole bytes.
Result<uint64_t> parse_size(std::string_view text);  // bytes

// The shortest text parse_duration/parse_size read back to the same value:
// "1m30s", "100ms", "0s"; "512MiB", "1000B", "0B".
std::string format_duration(std::chrono::milliseconds d);
std::string format_size(uint64_t bytes);

}  // namespace corral::config
