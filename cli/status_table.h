// The workers of a status reply as text: shared by `corral status` (printed
// once) and `corral top` (redrawn in place, cut to the terminal's width).
// Every field may be missing or null in a reply (older or newer
// supervisors); missing ones read as "-".
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace corral::cli {

std::string duration_text(const nlohmann::json& seconds);  // "4.2s", "12m03s", "1h00m", "2d03h"
std::string bytes_text(const nlohmann::json& bytes);       // "3.7 MiB", "1.2 GiB"
std::string text_or_dash(const nlohmann::json& v);         // strings and numbers as is

// Whether to colour output on stdout: a terminal, TERM set and not "dumb",
// NO_COLOR unset.
bool use_colour();

struct StatusTotals {
  double cpu_percent = 0;
  double rss_bytes = 0;
  long long restarts = 0;
};

// The table's rows, the column titles first: ID PID STATE UPTIME RESTARTS
// CPU RSS HEARTBEAT LAST EXIT; one row per entry of `status["workers"]`.
std::vector<std::vector<std::string>> worker_rows(const nlohmann::json& status,
                                                  StatusTotals* totals);

// `rows` as aligned lines (two spaces between columns, the last column not
// padded). With `colour`, the titles are bold and each STATE cell is
// coloured. With `max_width`, each line is cut to that many characters
// (escape codes do not count).
std::vector<std::string> render_table(const std::vector<std::vector<std::string>>& rows,
                                      bool colour, size_t max_width = std::string::npos);

// "corral 'web' (pid 4100): running, 2/2 ready, up 1h00m", with
// ", 1 failed", ", count pinned" (corral scale) and ", reloading" when so.
std::string status_summary(const nlohmann::json& status);

// "autoscale: auto, 1..4 workers, 3 scale events; last 12s ago: cpu 82.1%
// above 75% ... 2 -> 4 workers"; "" without [autoscale].
std::string autoscale_summary(const nlohmann::json& status);

}  // namespace corral::cli
