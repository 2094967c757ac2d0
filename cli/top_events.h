// What changed between two status snapshots, as lines for `corral top`'s
// "recent events": restarts (pid A -> B, with how A ended), state changes,
// workers added and removed, scaling and reloads. Derived on the client
// side, so it only sees what the snapshots show: a worker that restarted
// twice within one refresh shows as one restart.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace corral::cli {

class StatusDiff {
 public:
  // The events since the previous snapshot (none for the first one).
  // `status` is a status reply; missing or null fields are tolerated, and
  // one worker id may have two entries (an old worker draining beside its
  // replacement during a reload).
  std::vector<std::string> update(const nlohmann::json& status);

  struct Entry {
    long long id = -1;
    std::optional<long long> pid;  // none in backoff, failed, stopped
    std::string state;
    std::string last_exit;    // "" when none
    double uptime_s = 1e300;  // unknown: the oldest
  };

 private:
  struct Service {
    std::string state;
    long long desired = -1;
    bool pinned = false;
    bool reloading = false;
  };
  static std::vector<Entry> entries_of(const nlohmann::json& status);
  static Service service_of(const nlohmann::json& status);

  std::optional<std::vector<Entry>> previous_;
  Service service_;
  std::map<long long, long long> last_pid_;  // worker id -> the last pid it ran as
};

}  // namespace corral::cli
