// Signal names as users write them in `stop_signal`: "SIGTERM", "TERM",
// "sigterm" or a number ("15").
#pragma once

#include <string_view>

#include "base/result.h"

namespace corral::config {

// The signal number; numbers are accepted from 1 to SIGRTMAX.
Result<int> parse_signal(std::string_view text);

// "SIGTERM" for 15; "" for a number that names no standard signal.
const char* signal_name(int signal);

}  // namespace corral::config
