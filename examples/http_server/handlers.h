// The endpoints: what each request path answers. Runs on the server's one
// thread; /burn and /crash block or end it on purpose.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "http_request.h"
#include "responses.h"
#include "supervisor_link.h"

namespace example {

// What the connection must do beyond sending what was appended.
struct Outcome {
  std::optional<int64_t> defer_ms;  // GET /slow: nothing appended; answer later
  std::optional<int> exit_code;     // GET /exit: _exit() once the reply is sent
};

class Handlers {
 public:
  // `own_fds` lists the descriptors the server opened, `corral` what the
  // worker library says, for GET /info.
  Handlers(const Responses& responses, std::vector<std::string> argv,
           std::function<std::map<int, std::string>()> own_fds, std::function<int()> listen_fd,
           std::function<std::optional<SupervisorLink::Status>()> corral);

  // Appends the response to `r` to `out` (unless deferred).
  Outcome handle(const Request& r, ConnectionHeader conn, std::string& out) const;

  // The deferred reply of GET /slow.
  void append_slow_reply(std::string& out, int64_t ms, ConnectionHeader conn, bool head_only) const;

  // GET /   GET /slow?ms=N   GET /info   GET /crash   GET /exit?code=N   GET /burn?ms=N
  // GET /grow?mb=N (keeps N more MiB resident until exit)
  static constexpr int64_t kDefaultSlowMs = 1000, kMaxSlowMs = 600'000;
  static constexpr int64_t kDefaultBurnMs = 100, kMaxBurnMs = 60'000;
  static constexpr int64_t kDefaultGrowMb = 16, kMaxGrowMb = 1024, kMaxGrownMb = 4096;

 private:
  const Responses& responses_;
  std::vector<std::string> argv_;
  std::function<std::map<int, std::string>()> own_fds_;
  std::function<int()> listen_fd_;
  std::function<std::optional<SupervisorLink::Status>()> corral_;
  // What GET /grow holds.
  mutable std::vector<std::string> grown_;
  mutable size_t grown_bytes_ = 0;
};

}  // namespace example
