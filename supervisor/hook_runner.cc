#include "supervisor/hook_runner.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <ctime>
#include <string_view>

#include <fmt/format.h>

#include "base/unique_fd.h"
#include "config/duration.h"
#include "supervisor/exit_status.h"
#include "supervisor/output_pipe.h"
#include "supervisor/process_launcher.h"
#include "supervisor/uv_handle.h"

extern char** environ;

namespace corral::supervisor {
namespace {

using SteadyClock = std::chrono::steady_clock;

constexpr size_t kMaxDescribedCommand = 200;

// Variables describing corral's own situation that would mislead a hook
// (a hook calling systemd-notify must not speak for corral).
bool is_corral_private(std::string_view entry) {
  for (std::string_view key : {"LISTEN_FDS=", "LISTEN_PID=", "LISTEN_FDNAMES=", "NOTIFY_SOCKET=",
                               "WATCHDOG_USEC=", "WATCHDOG_PID=", "CORRAL_"}) {
    if (entry.substr(0, key.size()) == key) return true;
  }
  return false;
}

std::string now_rfc3339() {
  using namespace std::chrono;
  const auto ms = duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
  const std::time_t seconds = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  ::gmtime_r(&seconds, &tm);
  return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z", tm.tm_year + 1900, tm.tm_mon + 1,
                     tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, ms % 1000);
}

std::string seconds(SteadyClock::duration d) {
  return fmt::format("{:.2f}s", std::chrono::duration<double>(d).count());
}

std::string hostname() {
  char name[256] = {};
  if (::gethostname(name, sizeof name - 1) != 0) return "";
  return name;
}

// Puts all of `payload` into the pipe at once, so that the hook's stdin
// needs no watching: a pipe holds 64 KiB, and is grown for a larger event.
Status fill_pipe(int fd, const std::string& payload) {
  if (::fcntl(fd, F_SETFL, O_NONBLOCK) != 0) {
    return Error{fmt::format("fcntl: {}", std::strerror(errno))};
  }
  const int capacity = ::fcntl(fd, F_GETPIPE_SZ);
  if (capacity >= 0 && payload.size() > static_cast<size_t>(capacity)) {
    ::fcntl(fd, F_SETPIPE_SZ, static_cast<int>(std::min<size_t>(payload.size(), 1 << 24)));
  }
  size_t done = 0;
  while (done < payload.size()) {
    const ssize_t n = ::write(fd, payload.data() + done, payload.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno == EAGAIN) {
      return Error{fmt::format("the event ({} bytes) does not fit into a pipe", payload.size())};
    }
    if (n < 0) return Error{fmt::format("write: {}", std::strerror(errno))};
    done += static_cast<size_t>(n);
  }
  return Ok{};
}

}  // namespace

struct HookRunner::Run {
  HookRunner* runner = nullptr;
  Job job;
  std::string command;  // described, for logs
  pid_t pid = -1;
  std::unique_ptr<OutputPipe> output;
  UvHandle<uv_timer_t> timer;
  bool timed_out = false;
  SteadyClock::time_point started;
};

std::string describe_command(const std::vector<std::string>& argv) {
  std::string out;
  for (const std::string& arg : argv) {
    if (!out.empty()) out += ' ';
    const bool plain = !arg.empty() && arg.find_first_of(" \t\n'\"\\") == std::string::npos;
    out += plain ? arg : fmt::format("'{}'", arg);
    if (out.size() > kMaxDescribedCommand) {
      out.resize(kMaxDescribedCommand);
      out += "...";
      break;
    }
  }
  return out;
}

HookRunner::HookRunner(uv_loop_t* loop, std::vector<config::HookConfig> hooks,
                       std::shared_ptr<spdlog::logger> log, std::string service, Limits limits)
    : loop_(loop),
      hooks_(std::move(hooks)),
      log_(std::move(log)),
      service_(std::move(service)),
      host_(hostname()),
      limits_(limits) {
  if (limits_.max_running == 0) limits_.max_running = 1;
}

HookRunner::~HookRunner() {
  for (const auto& run : running_) ::kill(-run->pid, SIGKILL);
}

void HookRunner::set_hooks(std::vector<config::HookConfig> hooks) { hooks_ = std::move(hooks); }

bool HookRunner::wants(Event event) const {
  return std::any_of(hooks_.begin(), hooks_.end(), [event](const config::HookConfig& h) {
    return std::find(h.on.begin(), h.on.end(), event) != h.on.end();
  });
}

void HookRunner::fire(Event event, const nlohmann::json& fields) {
  std::string payload;
  for (const config::HookConfig& hook : hooks_) {
    if (std::find(hook.on.begin(), hook.on.end(), event) == hook.on.end()) continue;
    if (payload.empty()) {
      nlohmann::ordered_json line;
      line["event"] = config::to_string(event);
      line["time"] = now_rfc3339();
      line["service"] = service_;
      line["host"] = host_;
      if (fields.is_object()) {
        for (const auto& [key, value] : fields.items()) {
          if (key != "event") line[key] = value;
        }
      }
      payload = line.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
    }
    if (queue_.size() >= limits_.max_queued) {
      ++dropped_total_;
      if (dropped_in_burst_++ == 0) {
        log_->warn(
            "hooks: {} running and {} waiting, the most allowed: dropping further hook "
            "runs (the first: {} for {}) until the queue drains",
            running_.size(), queue_.size(), describe_command(hook.command),
            config::to_string(event));
      }
      continue;
    }
    queue_.push_back(Job{event, hook.command, hook.timeout, payload});
  }
  start_more();
}

void HookRunner::start_more() {
  while (running_.size() < limits_.max_running && !queue_.empty()) {
    Job job = std::move(queue_.front());
    queue_.pop_front();
    start(std::move(job));
  }
  if (queue_.empty() && dropped_in_burst_ > 0) {
    log_->warn("hooks: {} hook run{} dropped while the queue was full", dropped_in_burst_,
               dropped_in_burst_ == 1 ? " was" : "s were");
    dropped_in_burst_ = 0;
  }
  check_idle();
}

std::vector<std::string> HookRunner::environment(Event event) const {
  std::vector<std::string> env;
  for (char** e = environ; e != nullptr && *e != nullptr; ++e) {
    if (!is_corral_private(*e)) env.emplace_back(*e);
  }
  env.push_back(fmt::format("CORRAL_EVENT={}", config::to_string(event)));
  env.push_back(fmt::format("CORRAL_SERVICE={}", service_));
  return env;
}

void HookRunner::start(Job job) {
  auto run = std::make_unique<Run>();
  run->runner = this;
  run->command = describe_command(job.command);
  run->job = std::move(job);
  const char* event = config::to_string(run->job.event);
  const auto fail = [&](const std::string& why) {
    log_->warn("hook {}: cannot run {}: {}", event, run->command, why);
    ++failed_total_;
    ++finished_total_;
  };

  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) return fail(fmt::format("pipe: {}", std::strerror(errno)));
  UniqueFd stdin_read(fds[0]);
  UniqueFd stdin_write(fds[1]);
  if (auto ok = fill_pipe(stdin_write.get(), run->job.payload); !ok) {
    return fail(ok.error().message);
  }
  stdin_write.reset();  // the hook sees EOF after the event

  Run* raw = run.get();
  auto output = OutputPipe::create(loop_, [raw](std::string_view line) {
    raw->runner->log_->info("[hook {} {}] {}", config::to_string(raw->job.event), raw->pid, line);
  });
  if (!output) return fail(output.error().message);

  LaunchSpec spec;
  spec.argv = run->job.command;
  spec.env = environment(run->job.event);
  spec.stdin_fd = stdin_read.get();
  spec.stdout_fd = (*output)->write_end();
  spec.stderr_fd = (*output)->write_end();
  auto pid = launch(spec);
  (*output)->close_write_end();
  stdin_read.reset();
  if (!pid) return fail(pid.error().message);

  run->pid = *pid;
  run->output = std::move(*output);
  run->started = SteadyClock::now();
  uv_timer_init(loop_, run->timer.get());
  run->timer.get()->data = raw;
  uv_timer_start(
      run->timer.get(),
      [](uv_timer_t* t) {
        Run* r = static_cast<Run*>(t->data);
        r->runner->on_timeout(*r);
      },
      static_cast<uint64_t>(run->job.timeout.count()), 0);
  log_->debug("hook {}: started {} (pid {})", event, run->command, run->pid);
  if (observe_groups_) observe_groups_(run->pid, true);
  running_.push_back(std::move(run));
}

void HookRunner::on_timeout(Run& run) {
  run.timed_out = true;
  ::kill(-run.pid, SIGKILL);
}

bool HookRunner::on_child_exited(pid_t pid, int wait_status) {
  const auto it = std::find_if(running_.begin(), running_.end(),
                               [pid](const auto& run) { return run->pid == pid; });
  if (it == running_.end()) return false;
  if (WIFSTOPPED(wait_status) || WIFCONTINUED(wait_status)) return true;
  finish(it, wait_status);
  return true;
}

void HookRunner::finish(std::vector<std::unique_ptr<Run>>::iterator it, int wait_status) {
  std::unique_ptr<Run> run = std::move(*it);
  running_.erase(it);
  // Its last words come before the news of its end.
  run->output->drain_and_close();
  // Whatever it left in its process group goes with it.
  ::kill(-run->pid, SIGKILL);
  if (observe_groups_) observe_groups_(run->pid, false);
  uv_timer_stop(run->timer.get());
  const char* event = config::to_string(run->job.event);
  const std::string took = seconds(SteadyClock::now() - run->started);
  const ExitStatus status = ExitStatus::from_wait_status(wait_status);
  ++finished_total_;
  if (run->timed_out) {
    ++failed_total_;
    log_->warn("hook {}: {} (pid {}) did not finish within {}: killed its process group ({})",
               event, run->command, run->pid, config::format_duration(run->job.timeout),
               status.describe());
  } else if (!status.clean()) {
    ++failed_total_;
    log_->warn("hook {}: {} (pid {}) failed after {}: {}", event, run->command, run->pid, took,
               status.describe());
  } else {
    log_->info("hook {}: {} (pid {}) done in {}", event, run->command, run->pid, took);
  }
  start_more();
}

void HookRunner::when_idle(std::function<void()> done) {
  on_idle_ = std::move(done);
  check_idle();
}

void HookRunner::check_idle() {
  if (!running_.empty() || !queue_.empty() || !on_idle_) return;
  auto done = std::move(on_idle_);
  on_idle_ = nullptr;
  done();
}

}  // namespace corral::supervisor
