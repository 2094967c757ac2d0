// `corral status`: the workers as an aligned table (coloured on a
// terminal), or the supervisor's JSON verbatim with --json. Exits 0 only
// when the service is healthy, so that it serves as a health check.
#include <cstdio>
#include <string>

#include <fmt/format.h>

#include "cli/admin_client.h"
#include "cli/commands.h"
#include "cli/exit_codes.h"
#include "cli/status_table.h"

namespace corral::cli {

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

  StatusTotals totals;
  fmt::print("{}\n", status_summary(s));
  if (const std::string a = autoscale_summary(s); !a.empty()) fmt::print("{}\n", a);
  for (const auto& line : render_table(worker_rows(s, &totals), use_colour())) {
    fmt::print("{}\n", line);
  }
  fmt::print("total: cpu {:.1f}%, rss {}, restarts {}\n", totals.cpu_percent,
             bytes_text(totals.rss_bytes), totals.restarts);
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
