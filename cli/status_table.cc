#include "cli/status_table.h"

#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <string_view>

#include <fmt/format.h>

namespace corral::cli {
namespace {

const char* state_colour(const std::string& state) {
  if (state == "ready") return "\x1b[32m";
  if (state == "failed") return "\x1b[31m";
  return "\x1b[33m";  // starting, draining, stopping, backoff, stopped
}

// Text from the supervisor goes to a terminal: no control character in it
// may move the cursor or change the screen.
std::string printable(std::string text) {
  for (char& c : text) {
    const auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7f) c = '?';
  }
  return text;
}

// Characters, not bytes, for UTF-8 text: continuation bytes do not count.
size_t display_width(std::string_view text) {
  return static_cast<size_t>(std::count_if(text.begin(), text.end(), [](char c) {
    return (static_cast<unsigned char>(c) & 0xc0) != 0x80;
  }));
}

// The first `width` characters of `text`.
std::string_view cut(std::string_view text, size_t width) {
  size_t chars = 0;
  for (size_t i = 0; i < text.size(); ++i) {
    if ((static_cast<unsigned char>(text[i]) & 0xc0) != 0x80) {
      if (chars == width) return text.substr(0, i);
      ++chars;
    }
  }
  return text;
}

long long integer_or(const nlohmann::json& object, const char* key, long long fallback) {
  const auto it = object.find(key);
  return it != object.end() && it->is_number() ? it->get<long long>() : fallback;
}

}  // namespace

std::string duration_text(const nlohmann::json& seconds) {
  if (!seconds.is_number()) return "-";
  const double s = seconds.get<double>();
  if (s < 10) return fmt::format("{:.1f}s", s);
  const auto total = static_cast<long long>(s);
  if (total < 3600) return fmt::format("{}m{:02}s", total / 60, total % 60);
  if (total < 86400) return fmt::format("{}h{:02}m", total / 3600, total % 3600 / 60);
  return fmt::format("{}d{:02}h", total / 86400, total % 86400 / 3600);
}

std::string bytes_text(const nlohmann::json& bytes) {
  if (!bytes.is_number()) return "-";
  const double b = bytes.get<double>();
  if (b >= 1024.0 * 1024 * 1024) return fmt::format("{:.1f} GiB", b / (1024.0 * 1024 * 1024));
  return fmt::format("{:.1f} MiB", b / (1024.0 * 1024));
}

std::string text_or_dash(const nlohmann::json& v) {
  if (v.is_string()) return printable(v.get<std::string>());
  if (v.is_number()) return v.dump();
  return "-";
}

bool use_colour() {
  const char* term = std::getenv("TERM");
  return ::isatty(STDOUT_FILENO) == 1 && std::getenv("NO_COLOR") == nullptr && term != nullptr &&
         std::string_view(term) != "dumb";
}

std::vector<std::vector<std::string>> worker_rows(const nlohmann::json& status,
                                                  StatusTotals* totals) {
  std::vector<std::vector<std::string>> rows = {
      {"ID", "PID", "STATE", "UPTIME", "RESTARTS", "CPU", "RSS", "HEARTBEAT", "LAST EXIT"}};
  const nlohmann::json none;
  const auto workers = status.value("workers", nlohmann::json::array());
  if (!workers.is_array()) return rows;
  for (const auto& w : workers) {
    if (!w.is_object()) continue;
    const auto cpu = w.value("cpu_percent", none);
    const auto rss = w.value("rss_bytes", none);
    const auto restarts = w.value("restarts", none);
    if (cpu.is_number()) totals->cpu_percent += cpu.get<double>();
    if (rss.is_number()) totals->rss_bytes += rss.get<double>();
    if (restarts.is_number_integer()) totals->restarts += restarts.get<long long>();
    rows.push_back({text_or_dash(w.value("id", none)), text_or_dash(w.value("pid", none)),
                    text_or_dash(w.value("state", none)), duration_text(w.value("uptime_s", none)),
                    text_or_dash(restarts),
                    cpu.is_number() ? fmt::format("{:.1f}%", cpu.get<double>()) : "-",
                    bytes_text(rss), duration_text(w.value("heartbeat_age_s", none)),
                    text_or_dash(w.value("last_exit", none))});
  }
  return rows;
}

std::vector<std::string> render_table(const std::vector<std::vector<std::string>>& rows,
                                      bool colour, size_t max_width) {
  std::vector<size_t> width;
  for (const auto& row : rows) {
    width.resize(std::max(width.size(), row.size()), 0);
    for (size_t i = 0; i < row.size(); ++i) width[i] = std::max(width[i], display_width(row[i]));
  }
  std::vector<std::string> lines;
  for (size_t r = 0; r < rows.size(); ++r) {
    std::string line;
    size_t used = 0;  // characters on the line so far, escape codes aside
    for (size_t i = 0; i < rows[r].size() && used < max_width; ++i) {
      std::string cell = rows[r][i];
      if (i + 1 < rows[r].size()) {
        cell.append(width[i] - display_width(cell), ' ');
        cell += "  ";
      }
      const std::string_view shown = cut(cell, max_width - used);
      used += display_width(shown);
      if (colour && r == 0) {
        line += fmt::format("\x1b[1m{}\x1b[0m", shown);
      } else if (colour && i == 2) {
        line += fmt::format("{}{}\x1b[0m", state_colour(rows[r][i]), shown);
      } else {
        line += shown;
      }
    }
    while (!line.empty() && line.back() == ' ') line.pop_back();
    lines.push_back(std::move(line));
  }
  return lines;
}

std::string status_summary(const nlohmann::json& s) {
  const nlohmann::json none;
  const long long failed = integer_or(s, "failed", 0);
  const auto flag = [&s](const char* key) { return s.value(key, nlohmann::json()) == true; };
  return fmt::format(
      "corral '{}' (pid {}): {}, {}/{} ready{}{}{}, up {}", text_or_dash(s.value("name", none)),
      text_or_dash(s.value("pid", none)), text_or_dash(s.value("state", none)),
      integer_or(s, "ready", 0), integer_or(s, "desired", 0),
      failed > 0 ? fmt::format(", {} failed", failed) : "", flag("pinned") ? ", count pinned" : "",
      flag("reloading") && s.value("state", none) != "reloading" ? ", reloading" : "",
      duration_text(s.value("uptime_s", none)));
}

std::string autoscale_summary(const nlohmann::json& s) {
  if (!s.is_object()) return "";
  const auto it = s.find("autoscale");
  if (it == s.end() || !it->is_object()) return "";
  const nlohmann::json& a = *it;
  const nlohmann::json none;
  std::string line = fmt::format("autoscale: {}, {}..{} workers, {} scale event{}",
                                 text_or_dash(a.value("mode", none)), integer_or(a, "min", 0),
                                 integer_or(a, "max", 0), integer_or(a, "scale_events", 0),
                                 integer_or(a, "scale_events", 0) == 1 ? "" : "s");
  const auto last = a.find("last_scale");
  if (last != a.end() && last->is_object()) {
    line += fmt::format("; last {} ago: {}", duration_text(last->value("ago_s", none)),
                        text_or_dash(last->value("reason", none)));
  }
  return line;
}

}  // namespace corral::cli
