#include "cli/top_events.h"

#include <algorithm>
#include <set>

#include <fmt/format.h>

#include "cli/status_table.h"

namespace corral::cli {
namespace {

std::optional<long long> integer_field(const nlohmann::json& object, const char* key) {
  const auto it = object.find(key);
  if (it == object.end() || !it->is_number_integer()) return std::nullopt;
  return it->get<long long>();
}

bool flag_field(const nlohmann::json& object, const char* key) {
  const auto it = object.find(key);
  return it != object.end() && *it == true;
}

bool leaving(const StatusDiff::Entry& e) { return e.state == "draining" || e.state == "stopping"; }

std::string with_exit(const std::string& text, const std::string& last_exit) {
  return last_exit.empty() ? text : fmt::format("{}: {}", text, last_exit);
}

}  // namespace

std::vector<StatusDiff::Entry> StatusDiff::entries_of(const nlohmann::json& status) {
  std::vector<Entry> entries;
  if (!status.is_object()) return entries;
  const auto workers = status.find("workers");
  if (workers == status.end() || !workers->is_array()) return entries;
  for (const auto& w : *workers) {
    if (!w.is_object()) continue;
    const auto id = integer_field(w, "id");
    if (!id) continue;
    Entry e;
    e.id = *id;
    e.pid = integer_field(w, "pid");
    e.state = text_or_dash(w.value("state", nlohmann::json()));
    const auto uptime = w.value("uptime_s", nlohmann::json());
    if (uptime.is_number()) e.uptime_s = uptime.get<double>();
    const auto last_exit = w.value("last_exit", nlohmann::json());
    if (last_exit.is_string()) e.last_exit = text_or_dash(last_exit);
    entries.push_back(std::move(e));
  }
  return entries;
}

StatusDiff::Service StatusDiff::service_of(const nlohmann::json& status) {
  Service s;
  if (!status.is_object()) return s;
  s.state = text_or_dash(status.value("state", nlohmann::json()));
  s.desired = integer_field(status, "desired").value_or(-1);
  s.pinned = flag_field(status, "pinned");
  s.reloading = flag_field(status, "reloading") || s.state == "reloading";
  return s;
}

std::vector<std::string> StatusDiff::update(const nlohmann::json& status) {
  std::vector<Entry> now = entries_of(status);
  const Service service = service_of(status);
  std::vector<std::string> events;

  if (previous_) {
    const Service& was = service_;
    // A state of "reloading" says what the reloading flag says.
    const auto plain = [](const std::string& state) {
      return state == "reloading" ? std::string("running") : state;
    };
    if (plain(was.state) != plain(service.state)) {
      events.push_back(fmt::format("corral: {} -> {}", was.state, service.state));
    }
    if (was.desired != service.desired && was.desired >= 0 && service.desired >= 0) {
      events.push_back(fmt::format("desired workers: {} -> {}", was.desired, service.desired));
    }
    if (was.pinned != service.pinned) {
      events.push_back(service.pinned ? "worker count pinned (corral scale)"
                                      : "worker count unpinned (corral scale auto)");
    }
    if (was.reloading != service.reloading) {
      events.push_back(service.reloading ? "reload started" : "reload finished");
    }

    const std::vector<Entry>& before = *previous_;
    std::vector<bool> old_used(before.size(), false), new_used(now.size(), false);
    std::set<long long> ids;
    for (const auto& e : before) ids.insert(e.id);
    for (const auto& e : now) ids.insert(e.id);

    for (const long long id : ids) {
      const auto old_of = [&](auto&& pred) {
        for (size_t i = 0; i < before.size(); ++i) {
          if (!old_used[i] && before[i].id == id && pred(before[i])) return static_cast<int>(i);
        }
        return -1;
      };
      const auto new_of = [&](auto&& pred) {
        for (size_t i = 0; i < now.size(); ++i) {
          if (!new_used[i] && now[i].id == id && pred(now[i])) return static_cast<int>(i);
        }
        return -1;
      };
      const auto no_pid = [](const Entry& e) { return !e.pid; };
      const bool existed =
          std::any_of(before.begin(), before.end(), [id](const Entry& e) { return e.id == id; });

      // The same process in both: at most its state changed.
      for (size_t n = 0; n < now.size(); ++n) {
        if (now[n].id != id || !now[n].pid) continue;
        const int o = old_of([&](const Entry& e) { return e.pid == now[n].pid; });
        if (o < 0) continue;
        old_used[o] = new_used[n] = true;
        if (before[o].state != now[n].state) {
          events.push_back(fmt::format("worker {} (pid {}): {} -> {}", id, *now[n].pid,
                                       before[o].state, now[n].state));
        }
      }
      // New processes: restarts, replacements, new workers.
      const auto last = last_pid_.find(id);
      for (size_t n = 0; n < now.size(); ++n) {
        if (new_used[n] || now[n].id != id || !now[n].pid) continue;
        new_used[n] = true;
        const long long pid = *now[n].pid;
        const bool had_pid = last != last_pid_.end() && last->second != pid;
        const bool beside_old = had_pid && std::any_of(now.begin(), now.end(), [&](const Entry& e) {
                                  return e.id == id && e.pid == last->second;
                                });
        if (beside_old) {
          events.push_back(fmt::format("worker {}: replacement pid {} {} beside pid {}", id, pid,
                                       now[n].state, last->second));
        } else if (had_pid) {
          events.push_back(
              with_exit(fmt::format("worker {} restarted (pid {} -> {})", id, last->second, pid),
                        now[n].last_exit));
          // What the old process and a backoff in between would have said.
          if (const int o = old_of([&](const Entry& e) { return e.pid == last->second; }); o >= 0) {
            old_used[o] = true;
          }
          if (const int o = old_of(no_pid); o >= 0) old_used[o] = true;
        } else {
          events.push_back(fmt::format("worker {} started (pid {}, {})", id, pid, now[n].state));
          if (const int o = old_of(no_pid); o >= 0) old_used[o] = true;
        }
      }
      // Processes gone.
      for (size_t o = 0; o < before.size(); ++o) {
        if (old_used[o] || before[o].id != id || !before[o].pid) continue;
        old_used[o] = true;
        const long long pid = *before[o].pid;
        if (const int n = new_of(no_pid); n >= 0) {
          new_used[n] = true;
          events.push_back(fmt::format(
              "{}; now {}",
              with_exit(fmt::format("worker {} (pid {}) ended", id, pid), now[n].last_exit),
              now[n].state));
        } else if (const auto other = std::find_if(
                       now.begin(), now.end(),
                       [id](const Entry& e) { return e.id == id && e.pid && !leaving(e); });
                   other != now.end()) {
          events.push_back(
              fmt::format("worker {}: pid {} gone, pid {} serves", id, pid, *other->pid));
        } else if (std::any_of(now.begin(), now.end(),
                               [id](const Entry& e) { return e.id == id; })) {
          events.push_back(fmt::format("worker {}: pid {} gone", id, pid));
        } else {
          events.push_back(fmt::format("worker {} removed (pid {})", id, pid));
        }
      }
      // Slots without a process in both, or appearing/disappearing without one.
      for (size_t n = 0; n < now.size(); ++n) {
        if (new_used[n] || now[n].id != id) continue;
        new_used[n] = true;
        if (const int o = old_of(no_pid); o >= 0) {
          old_used[o] = true;
          if (before[o].state != now[n].state) {
            events.push_back(fmt::format("worker {}: {} -> {}", id, before[o].state, now[n].state));
          }
        } else if (!existed) {
          events.push_back(fmt::format("worker {} added ({})", id, now[n].state));
        }
      }
      for (size_t o = 0; o < before.size(); ++o) {
        if (old_used[o] || before[o].id != id) continue;
        old_used[o] = true;
        if (std::none_of(now.begin(), now.end(), [id](const Entry& e) { return e.id == id; })) {
          events.push_back(fmt::format("worker {} removed", id));
        }
      }
    }
  }

  // Remember each id's current process: the youngest one not on its way
  // out (during a replacement, the new one), else the youngest.
  std::map<long long, const Entry*> current;
  for (const auto& e : now) {
    if (!e.pid) continue;
    const Entry*& best = current[e.id];
    const auto rank = [](const Entry& x) { return std::pair(leaving(x), x.uptime_s); };
    if (best == nullptr || rank(e) < rank(*best)) best = &e;
  }
  for (const auto& [id, e] : current) last_pid_[id] = *e->pid;
  previous_ = std::move(now);
  service_ = service;
  return events;
}

}  // namespace corral::cli
