#include "supervisor/orphan_tracker.h"

#include <dirent.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <iterator>
#include <sstream>

#include <fmt/format.h>

#include "config/duration.h"
#include "config/signals.h"
#include "supervisor/orphans.h"

namespace corral::supervisor {
namespace {

constexpr uint64_t kScanIntervalMs = 1000;
// Exited workers remembered for naming their orphans in messages.
constexpr size_t kRememberedExits = 256;

std::string read_file(const std::string& path) {
  std::ifstream file(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(file), std::istreambuf_iterator<char>());
}

std::optional<StatFacts> stat_of(pid_t pid) {
  std::string line = read_file("/proc/" + std::to_string(pid) + "/stat");
  if (!line.empty() && line.back() == '\n') line.pop_back();
  return parse_stat(line);
}

bool is_number(const char* s) {
  if (*s == '\0') return false;
  for (; *s != '\0'; ++s) {
    if (*s < '0' || *s > '9') return false;
  }
  return true;
}

// corral's children. Each thread's children file lists what it forked or
// adopted; without CONFIG_PROC_CHILDREN, every process's parent is read.
std::vector<pid_t> own_children(pid_t self) {
  std::vector<pid_t> children;
  bool have_lists = false;
  if (DIR* tasks = ::opendir("/proc/self/task")) {
    while (dirent* e = ::readdir(tasks)) {
      if (!is_number(e->d_name)) continue;
      std::ifstream file(std::string("/proc/self/task/") + e->d_name + "/children");
      if (!file) continue;
      have_lists = true;
      pid_t pid = 0;
      while (file >> pid) children.push_back(pid);
    }
    ::closedir(tasks);
  }
  if (have_lists) return children;
  if (DIR* proc = ::opendir("/proc")) {
    while (dirent* e = ::readdir(proc)) {
      if (!is_number(e->d_name)) continue;
      const pid_t pid = static_cast<pid_t>(std::atol(e->d_name));
      if (auto facts = stat_of(pid); facts && facts->ppid == self) children.push_back(pid);
    }
    ::closedir(proc);
  }
  return children;
}

std::string command_of(pid_t pid) {
  std::string cmdline = read_file("/proc/" + std::to_string(pid) + "/cmdline");
  std::replace(cmdline.begin(), cmdline.end(), '\0', ' ');
  while (!cmdline.empty() && cmdline.back() == ' ') cmdline.pop_back();
  if (cmdline.size() > 120) cmdline = cmdline.substr(0, 117) + "...";
  return cmdline.empty() ? "?" : cmdline;
}

}  // namespace

OrphanTracker::OrphanTracker(uv_loop_t* loop, std::shared_ptr<spdlog::logger> log,
                             const config::WorkerConfig& worker, WorkerId worker_id)
    : loop_(loop),
      log_(std::move(log)),
      worker_(worker),
      worker_id_(std::move(worker_id)),
      self_(::getpid()) {
  uv_timer_init(loop_, scan_timer_.get());
  scan_timer_.get()->data = this;
}

OrphanTracker::~OrphanTracker() {
  // corral is going: nothing of a worker's may stay behind it.
  for (const auto& orphan : orphans_) kill(*orphan, SIGKILL);
}

void OrphanTracker::start() {
  if (::prctl(PR_SET_CHILD_SUBREAPER, 1) != 0) {
    log_->warn("cannot become a child subreaper ({}): what a worker leaves behind is not "
               "tracked",
               std::strerror(errno));
    return;
  }
  uv_timer_start(
      scan_timer_.get(), [](uv_timer_t* t) { static_cast<OrphanTracker*>(t->data)->scan(); },
      kScanIntervalMs, kScanIntervalMs);
}

void OrphanTracker::scan() {
  for (pid_t pid : own_children(self_)) {
    if (not_ours_.count(pid) > 0 || worker_id_(pid)) continue;
    const bool tracked = std::any_of(orphans_.begin(), orphans_.end(),
                                     [pid](const auto& o) { return o->pid == pid; });
    if (!tracked) adopt(pid);
  }
}

void OrphanTracker::adopt(pid_t pid) {
  const std::optional<StatFacts> facts = stat_of(pid);
  if (!facts || facts->state == 'Z') return;  // gone, or the reaper's already
  const std::optional<Origin> origin =
      parse_origin(read_file("/proc/" + std::to_string(pid) + "/environ"));
  std::optional<uint64_t> worker_start;
  std::optional<int> id;
  if (origin && origin->corral == self_) {
    id = worker_id_(origin->worker);
    if (id) {
      if (auto worker = stat_of(origin->worker)) worker_start = worker->start_ticks;
    }
  }
  const OrphanVerdict verdict = judge_orphan(pid, facts->start_ticks, origin, self_, worker_start);
  if (verdict == OrphanVerdict::kNotOurs) {
    not_ours_.insert(pid);
    return;
  }
  auto orphan = std::make_unique<Orphan>();
  orphan->tracker = this;
  orphan->pid = pid;
  orphan->worker = origin->worker;
  if (!id) {
    if (auto exited = exited_.find(origin->worker); exited != exited_.end()) id = exited->second;
  }
  orphan->worker_id = id.value_or(-1);
  orphan->leads_group = facts->pgid == pid;
  orphan->command = command_of(pid);
  uv_timer_init(loop_, orphan->kill_timer.get());
  orphan->kill_timer.get()->data = orphan.get();
  Orphan& o = *orphan;
  orphans_.push_back(std::move(orphan));
  if (o.worker == exiting_worker_ && facts->pgid == exiting_worker_) {
    // Still in the group corral SIGKILLed with its worker: dying already.
    o.stopping = true;
    log_->debug("pid {} ({}), left in the group of {}, was killed with it", pid, o.command,
                describe_worker(o));
    return;
  }
  if (verdict == OrphanVerdict::kOwned && !stopping_all_) {
    log_->info("{} left pid {} ({}) behind; corral adopted it and stops it with its worker",
               describe_worker(o), pid, o.command);
    return;
  }
  stop(o, false);
}

std::string OrphanTracker::describe_worker(const Orphan& orphan) const {
  if (orphan.worker_id < 0) return fmt::format("a worker (pid {})", orphan.worker);
  return fmt::format("worker {} (pid {})", orphan.worker_id, orphan.worker);
}

void OrphanTracker::kill(const Orphan& orphan, int signal) const {
  ::kill(orphan.pid, signal);
  // Its own group (a daemon that called setsid) goes with it.
  if (orphan.leads_group) ::kill(-orphan.pid, signal);
}

void OrphanTracker::stop(Orphan& orphan, bool now) {
  if (now) {
    kill(orphan, SIGKILL);
    orphan.stopping = true;
    return;
  }
  if (orphan.stopping) return;
  orphan.stopping = true;
  log_->warn("{} left pid {} ({}) behind; stopping it ({}, SIGKILL after {})",
             describe_worker(orphan), orphan.pid, orphan.command,
             config::signal_name(worker_.stop_signal),
             config::format_duration(worker_.drain_timeout));
  kill(orphan, worker_.stop_signal);
  uv_timer_start(
      orphan.kill_timer.get(),
      [](uv_timer_t* t) {
        auto* o = static_cast<Orphan*>(t->data);
        o->tracker->log_->warn("pid {} ({}) did not stop within drain_timeout: SIGKILL", o->pid,
                               o->command);
        o->tracker->kill(*o, SIGKILL);
      },
      static_cast<uint64_t>(std::max<int64_t>(worker_.drain_timeout.count(), 0)), 0);
}

void OrphanTracker::on_worker_exited(pid_t worker, int id) {
  if (exited_.size() >= kRememberedExits) exited_.clear();
  exited_[worker] = id;
  exiting_worker_ = worker;
  scan();
  exiting_worker_ = 0;
  for (const auto& orphan : orphans_) {
    if (orphan->worker == worker) stop(*orphan, false);
  }
}

void OrphanTracker::stop_all(bool now) {
  stopping_all_ = true;
  scan();
  for (const auto& orphan : orphans_) stop(*orphan, now);
}

bool OrphanTracker::on_reaped(pid_t pid, int wait_status) {
  if (!WIFEXITED(wait_status) && !WIFSIGNALED(wait_status)) return false;
  not_ours_.erase(pid);
  const auto it = std::find_if(orphans_.begin(), orphans_.end(),
                               [pid](const auto& o) { return o->pid == pid; });
  if (it == orphans_.end()) return false;
  log_->info("pid {} ({}), left behind by {}, exited", pid, (*it)->command,
             describe_worker(**it));
  orphans_.erase(it);
  return true;
}

}  // namespace corral::supervisor
