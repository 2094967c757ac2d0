// `corral status`: the workers as an aligned table (coloured on a
// terminal), or the supervisor's JSON verbatim with --json. Exits 0 only
// when the service is healthy, so that it serves as a health check.
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "cli/admin_client.h"
#include "cli/commands.h"
#include "cli/exit_codes.h"

namespace corral::cli {
namespace {

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
  if (v.is_string()) return v.get<std::string>();
  if (v.is_number()) return v.dump();
  return "-";
}

bool use_colour() {
  const char* term = std::getenv("TERM");
  return ::isatty(STDOUT_FILENO) == 1 && std::getenv("NO_COLOR") == nullptr && term != nullptr &&
         std::string_view(term) != "dumb";
}

const char* state_colour(const std::string& state) {
  if (state == "ready") return "\x1b[32m";
  if (state == "failed") return "\x1b[31m";
  return "\x1b[33m";  // starting, draining, stopping, backoff, stopped
}

}  // namespace

int status_command(const ClientOptions& options, bool json) {
  int code = 0;
  auto reply = admin_request(client_socket_path(options.name, options.socket), {{"cmd", "status"}},
                             std::chrono::seconds(5), &code);
  if (!reply) {
    fmt::print(stderr, "corral: {}\n", reply.error().message);
    return code;
  }
  const nlohmann::json& s = reply->body;
  if (!s.value("ok", false)) {
    fmt::print(stderr, "corral: {}\n", s.value("error", std::string("request refused")));
    return kExitFailure;
  }
  const bool healthy = s.value("healthy", false);
  if (json) {
    fmt::print("{}\n", s.dump());
    return healthy ? kExitOk : kExitFailure;
  }

  const bool colour = use_colour();
  std::vector<std::vector<std::string>> rows = {
      {"ID", "PID", "STATE", "UPTIME", "RESTARTS", "CPU", "RSS", "HEARTBEAT", "LAST EXIT"}};
  double cpu_total = 0, rss_total = 0;
  long long restarts_total = 0;
  const auto& workers = s.value("workers", nlohmann::json::array());
  for (const auto& w : workers) {
    const auto cpu = w.value("cpu_percent", nlohmann::json());
    const auto rss = w.value("rss_bytes", nlohmann::json());
    if (cpu.is_number()) cpu_total += cpu.get<double>();
    if (rss.is_number()) rss_total += rss.get<double>();
    restarts_total += w.value("restarts", 0LL);
    rows.push_back({text_or_dash(w.value("id", nlohmann::json())),
                    text_or_dash(w.value("pid", nlohmann::json())),
                    w.value("state", std::string("?")),
                    duration_text(w.value("uptime_s", nlohmann::json())),
                    text_or_dash(w.value("restarts", nlohmann::json())),
                    cpu.is_number() ? fmt::format("{:.1f}%", cpu.get<double>()) : "-",
                    bytes_text(rss),
                    duration_text(w.value("heartbeat_age_s", nlohmann::json())),
                    text_or_dash(w.value("last_exit", nlohmann::json()))});
  }
  std::vector<size_t> width(rows[0].size(), 0);
  for (const auto& row : rows) {
    for (size_t i = 0; i < row.size(); ++i) width[i] = std::max(width[i], row[i].size());
  }

  fmt::print("{} '{}' (pid {}): {}, {}/{} ready{}, up {}\n", "corral", s.value("name", ""),
             text_or_dash(s.value("pid", nlohmann::json())), s.value("state", ""),
             s.value("ready", 0), s.value("desired", 0),
             s.value("failed", 0) > 0 ? fmt::format(", {} failed", s.value("failed", 0)) : "",
             duration_text(s.value("uptime_s", nlohmann::json())));
  for (size_t r = 0; r < rows.size(); ++r) {
    std::string line;
    for (size_t i = 0; i < rows[r].size(); ++i) {
      std::string cell = fmt::format("{:<{}}", rows[r][i], i + 1 == rows[r].size() ? 0 : width[i]);
      if (colour && r > 0 && i == 2) cell = fmt::format("{}{}\x1b[0m", state_colour(rows[r][i]), cell);
      if (colour && r == 0) cell = fmt::format("\x1b[1m{}\x1b[0m", cell);
      line += cell;
      if (i + 1 < rows[r].size()) line += "  ";
    }
    fmt::print("{}\n", line);
  }
  fmt::print("total: cpu {:.1f}%, rss {}, restarts {}\n", cpu_total, bytes_text(rss_total),
             restarts_total);
  return healthy ? kExitOk : kExitFailure;
}

int stop_command(const ClientOptions& options) {
  int code = 0;
  auto reply = admin_request(client_socket_path(options.name, options.socket), {{"cmd", "stop"}},
                             std::chrono::seconds(5), &code);
  if (!reply) {
    fmt::print(stderr, "corral: {}\n", reply.error().message);
    return code;
  }
  if (!reply->body.value("ok", false)) {
    fmt::print(stderr, "corral: {}\n", reply->body.value("error", std::string("refused")));
    return kExitFailure;
  }
  fmt::print("corral '{}': stopping\n", options.name);
  return kExitOk;
}

}  // namespace corral::cli
