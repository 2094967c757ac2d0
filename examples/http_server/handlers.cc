#include "handlers.h"

#include <time.h>

#include <cstdlib>

#include "info.h"

namespace example {
namespace {

int64_t monotonic_ns() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

// Spins for `ms` of wall time, keeping one core busy (for CPU-scaling tests).
void burn(int64_t ms) {
  int64_t until = monotonic_ns() + ms * 1'000'000;
  volatile uint64_t sink = 0;
  while (monotonic_ns() < until) {
    for (int i = 0; i < 10'000; ++i) sink = sink * 6364136223846793005ULL + 1442695040888963407ULL;
  }
}

}  // namespace

Handlers::Handlers(const Responses& responses, std::vector<std::string> argv,
                   std::function<std::map<int, std::string>()> own_fds,
                   std::function<int()> listen_fd,
                   std::function<std::optional<SupervisorLink::Status>()> corral)
    : responses_(responses),
      argv_(std::move(argv)),
      own_fds_(std::move(own_fds)),
      listen_fd_(std::move(listen_fd)),
      corral_(std::move(corral)) {}

Outcome Handlers::handle(const Request& r, ConnectionHeader conn, std::string& out) const {
  const bool head = r.method == "HEAD";
  const std::string_view p = r.path;

  // The hot path first: GET / is one copy of a prebuilt response.
  if (p == "/" && (r.method == "GET" || head)) {
    responses_.append_hello(out, conn, head);
    return {};
  }
  if (p != "/" && p != "/slow" && p != "/info" && p != "/crash" && p != "/exit" && p != "/burn" &&
      p != "/grow") {
    responses_.append(out, 404, "text/plain", "not found\n", conn, head);
    return {};
  }
  if (r.method != "GET" && !head) {
    responses_.append(out, 405, "text/plain", "method not allowed\n", conn, false,
                      "Allow: GET, HEAD\r\n");
    return {};
  }
  auto bad_query = [&] {
    responses_.append(out, 400, "text/plain", "bad query\n", conn, head);
    return Outcome{};
  };

  if (p == "/slow") {
    auto ms = query_int(r.query, "ms", kDefaultSlowMs, kMaxSlowMs);
    if (!ms) return bad_query();
    return Outcome{.defer_ms = *ms, .exit_code = std::nullopt};
  }
  if (p == "/burn") {
    auto ms = query_int(r.query, "ms", kDefaultBurnMs, kMaxBurnMs);
    if (!ms) return bad_query();
    burn(*ms);
    responses_.append(out, 200, "text/plain", "burned " + std::to_string(*ms) + " ms\n", conn, head);
    return {};
  }
  if (p == "/grow") {
    // Memory that stays: a leak on purpose, for memory-limit tests.
    auto mb = query_int(r.query, "mb", kDefaultGrowMb, kMaxGrowMb);
    if (!mb) return bad_query();
    if (grown_bytes_ + static_cast<size_t>(*mb << 20) > static_cast<size_t>(kMaxGrownMb) << 20) {
      responses_.append(out, 507, "text/plain", "grown too much already\n", conn, head);
      return {};
    }
    grown_.emplace_back(static_cast<size_t>(*mb << 20), '\1');  // touched: resident
    grown_bytes_ += static_cast<size_t>(*mb << 20);
    responses_.append(out, 200, "text/plain",
                      "holding " + std::to_string(grown_bytes_ >> 20) + " MiB\n", conn, head);
    return {};
  }
  if (p == "/info") {
    responses_.append(out, 200, "application/json", build_info_json(argv_, listen_fd_(), own_fds_(), corral_()),
                      conn, head);
    return {};
  }
  if (p == "/crash") std::abort();
  // /exit
  auto code = query_int(r.query, "code", 0, 255);
  if (!code) return bad_query();
  responses_.append(out, 200, "text/plain", "exiting with code " + std::to_string(*code) + "\n",
                    ConnectionHeader::kClose, head);
  return Outcome{.defer_ms = std::nullopt, .exit_code = static_cast<int>(*code)};
}

void Handlers::append_slow_reply(std::string& out, int64_t ms, ConnectionHeader conn,
                               bool head_only) const {
  responses_.append(out, 200, "text/plain", "slept " + std::to_string(ms) + " ms\n", conn, head_only);
}

}  // namespace example
