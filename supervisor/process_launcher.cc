#include "supervisor/process_launcher.h"

#include <fcntl.h>
#include <grp.h>
#include <linux/close_range.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstdlib>
#include <cstring>

#include <fmt/format.h>

#include "base/unique_fd.h"

namespace corral::supervisor {
namespace {

bool is_executable_file(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode) &&
         ::access(path.c_str(), X_OK) == 0;
}

// Writes `value` in decimal into `out` (which has room for 20 digits and a
// NUL); async-signal-safe, unlike snprintf.
void write_decimal(char* out, long value) {
  char digits[24];
  int n = 0;
  do {
    digits[n++] = static_cast<char>('0' + value % 10);
    value /= 10;
  } while (value > 0);
  while (n > 0) *out++ = digits[--n];
  *out = '\0';
}

// What the child reports before it gives up: the step and its errno.
enum class Step : int {
  kSetup,  // signals, groups, fds: errno says enough
  kRlimit,
  kSetgroups,
  kSetgid,
  kSetuid,
  kIdsDidNotStick,  // the ids after the switch are not the ones asked for
  kNoNewPrivs,
  kChdir,
  kExec,
};

const char* step_name(Step step) {
  switch (step) {
    case Step::kRlimit:
      return "setrlimit";
    case Step::kSetgroups:
      return "setgroups";
    case Step::kSetgid:
      return "setgid";
    case Step::kSetuid:
      return "setuid";
    case Step::kIdsDidNotStick:
      return "dropping privileges";
    case Step::kNoNewPrivs:
      return "prctl(PR_SET_NO_NEW_PRIVS)";
    case Step::kChdir:
      return "chdir";
    case Step::kSetup:
    case Step::kExec:
      break;
  }
  return "";
}

struct Report {
  Step step;
  int err;
};

// Child side: switch to the worker's ids, and check that it took for good.
// setgroups before setgid before setuid: after setuid, the others are no
// longer permitted.
bool drop_privileges(const config::Credentials& c, Step& step) {
  step = Step::kSetgroups;
  if (::setgroups(c.groups.size(), c.groups.data()) != 0) return false;
  step = Step::kSetgid;
  if (::setresgid(c.gid, c.gid, c.gid) != 0) return false;
  step = Step::kSetuid;
  if (::setresuid(c.uid, c.uid, c.uid) != 0) return false;
  step = Step::kIdsDidNotStick;
  errno = EPERM;
  uid_t r = 0, e = 0, saved = 0;
  gid_t gr = 0, ge = 0, gsaved = 0;
  if (::getresuid(&r, &e, &saved) != 0 || r != c.uid || e != c.uid || saved != c.uid) return false;
  if (::getresgid(&gr, &ge, &gsaved) != 0 || gr != c.gid || ge != c.gid || gsaved != c.gid) {
    return false;
  }
  // A non-root worker must not be able to become root again.
  if (c.uid != 0 && ::setuid(0) == 0) return false;
  errno = 0;
  return true;
}

// Child side, between fork and exec. Only async-signal-safe calls; on any
// failure report the step and errno through `report` and _exit.
[[noreturn]] void exec_child(const LaunchSpec& spec, bool switch_ids, const char* path,
                             char* const* argv, char* const* envp,
                             char* listen_pid_digits, char* origin_digits, pid_t parent,
                             int report) {
  Step step = Step::kSetup;
  auto fail = [&report, &step]() {  // by reference: report moves above the fd range below
    Report r{step, errno};
    ssize_t unused = ::write(report, &r, sizeof r);
    (void)unused;
    ::_exit(127);
  };

  // Dispositions and mask as a fresh process expects them; libuv blocks or
  // handles several signals in the parent.
  sigset_t none;
  sigemptyset(&none);
  ::sigprocmask(SIG_SETMASK, &none, nullptr);
  for (int sig = 1; sig < NSIG; ++sig) {
    if (sig != SIGKILL && sig != SIGSTOP) ::signal(sig, SIG_DFL);
  }

  // Own process group: a terminal's Ctrl-C reaches corral alone, which then
  // stops workers in order; and corral can signal a worker's whole tree.
  ::setpgid(0, 0);

  // Limits first: raising a hard limit needs the privileges dropped below.
  step = Step::kRlimit;
  if (spec.inherited_nofile && ::setrlimit(RLIMIT_NOFILE, &*spec.inherited_nofile) != 0) fail();
  for (const LaunchSpec::Limit& limit : spec.rlimits) {
    const rlim_t value = limit.value == UINT64_MAX ? RLIM_INFINITY : limit.value;
    const rlimit rl{value, value};
    if (::setrlimit(static_cast<__rlimit_resource_t>(limit.resource), &rl) != 0) fail();
  }
  if (switch_ids && !drop_privileges(*spec.credentials, step)) fail();
  step = Step::kSetup;
  // After the switch: a change of ids clears the parent-death signal.
  if (::prctl(PR_SET_PDEATHSIG, SIGKILL) != 0) fail();
  // corral may have died before prctl took effect.
  if (::getppid() != parent) ::_exit(127);
  if (spec.umask) ::umask(static_cast<mode_t>(*spec.umask));
  step = Step::kNoNewPrivs;
  if (spec.no_new_privs && ::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) fail();

  if (listen_pid_digits != nullptr) write_decimal(listen_pid_digits, ::getpid());
  if (origin_digits != nullptr) write_decimal(origin_digits, ::getpid());

  // As the worker's user: a directory it may not enter is an error here.
  step = Step::kChdir;
  if (!spec.cwd.empty() && ::chdir(spec.cwd.c_str()) != 0) fail();
  step = Step::kSetup;

  // Move every fd we keep above the target range first, so that placing one
  // cannot clobber another that is yet to be placed.
  const int count = static_cast<int>(spec.listen_fds.size());
  const int high = 3 + count + 3;
  int moved[3 + 64];
  const int keep = count < 64 ? count : 64;
  for (int i = 0; i < keep; ++i) {
    moved[i] = ::fcntl(spec.listen_fds[static_cast<size_t>(i)], F_DUPFD_CLOEXEC, high);
    if (moved[i] < 0) fail();
  }
  int in = spec.stdin_fd >= 0 ? ::fcntl(spec.stdin_fd, F_DUPFD_CLOEXEC, high) : -1;
  int out = spec.stdout_fd >= 0 ? ::fcntl(spec.stdout_fd, F_DUPFD_CLOEXEC, high) : -1;
  int err = spec.stderr_fd >= 0 ? ::fcntl(spec.stderr_fd, F_DUPFD_CLOEXEC, high) : -1;
  int report_high = ::fcntl(report, F_DUPFD_CLOEXEC, high);
  if (report_high < 0) fail();
  report = report_high;

  if (in >= 0) {
    if (::dup2(in, 0) < 0) fail();
  } else {
    int null_fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (null_fd < 0 || ::dup2(null_fd, 0) < 0) fail();
  }
  if (out >= 0 && ::dup2(out, 1) < 0) fail();
  if (err >= 0 && ::dup2(err, 2) < 0) fail();
  for (int i = 0; i < keep; ++i) {
    if (::dup2(moved[i], 3 + i) < 0) fail();  // dup2 clears FD_CLOEXEC
  }
  // Belt and braces: whatever a library opened without O_CLOEXEC stops here.
  // The report pipe is CLOEXEC and above the range.
  ::syscall(SYS_close_range, static_cast<unsigned>(3 + keep),
            static_cast<unsigned>(report - 1), 0U);
  ::syscall(SYS_close_range, static_cast<unsigned>(report + 1), ~0U, 0U);

  step = Step::kExec;
  ::execve(path, argv, envp);
  fail();
  ::_exit(127);
}

}  // namespace

std::string resolve_executable(const std::string& name, const std::string& cwd) {
  if (name.empty()) return "";
  if (name.find('/') != std::string::npos) {
    std::string path = (name[0] == '/' || cwd.empty()) ? name : cwd + "/" + name;
    return is_executable_file(path) ? path : "";
  }
  const char* env_path = std::getenv("PATH");
  std::string search = env_path != nullptr ? env_path : "/usr/local/bin:/usr/bin:/bin";
  size_t start = 0;
  while (start <= search.size()) {
    size_t end = search.find(':', start);
    if (end == std::string::npos) end = search.size();
    std::string dir = search.substr(start, end - start);
    if (dir.empty()) dir = ".";
    std::string candidate = dir + "/" + name;
    if (is_executable_file(candidate)) return candidate;
    start = end + 1;
  }
  return "";
}

Result<pid_t> launch(const LaunchSpec& spec) {
  if (spec.argv.empty()) return Error{"empty command"};
  if (spec.listen_fds.size() > 64) return Error{"more than 64 listening sockets"};
  const std::string path = resolve_executable(spec.argv[0], spec.cwd);
  if (path.empty()) {
    return Error{fmt::format("command '{}' not found or not executable", spec.argv[0])};
  }

  if (spec.credentials && ::geteuid() != 0) {
    if (auto refusal = config::credentials_refusal(*spec.credentials, ::geteuid(), ::getegid())) {
      return Error{fmt::format("cannot start '{}': {}", spec.argv[0], *refusal)};
    }
  }
  // Not root: the ids are already the ones asked for, and setgroups would
  // be refused.
  const bool switch_ids = spec.credentials && ::geteuid() == 0;

  std::vector<std::string> env;
  env.reserve(spec.env.size() + 2);
  for (const auto& e : spec.env) {
    // One mark only: corral's own, even if corral runs under another corral.
    if (spec.origin <= 0 || e.rfind("CORRAL_ORIGIN=", 0) != 0) env.push_back(e);
  }
  size_t listen_pid_index = 0;
  if (spec.set_listen_pid) {
    listen_pid_index = env.size();
    env.push_back("LISTEN_PID=" + std::string(24, '\0'));
  }
  size_t origin_index = 0;
  std::string origin_prefix;
  if (spec.origin > 0) {
    origin_index = env.size();
    origin_prefix = fmt::format("CORRAL_ORIGIN={}:", spec.origin);
    env.push_back(origin_prefix + std::string(24, '\0'));
  }
  std::vector<char*> argv;
  argv.reserve(spec.argv.size() + 1);
  for (const auto& a : spec.argv) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  std::vector<char*> envp;
  envp.reserve(env.size() + 1);
  for (auto& e : env) envp.push_back(e.data());
  envp.push_back(nullptr);
  char* listen_pid_digits =
      spec.set_listen_pid ? env[listen_pid_index].data() + std::strlen("LISTEN_PID=") : nullptr;
  char* origin_digits =
      spec.origin > 0 ? env[origin_index].data() + origin_prefix.size() : nullptr;

  int pipe_fds[2];
  if (::pipe2(pipe_fds, O_CLOEXEC) != 0) {
    return Error{fmt::format("pipe: {}", std::strerror(errno))};
  }
  UniqueFd report_read(pipe_fds[0]);
  UniqueFd report_write(pipe_fds[1]);

  const pid_t parent = ::getpid();
  const pid_t pid = ::fork();
  if (pid < 0) return Error{fmt::format("fork: {}", std::strerror(errno))};
  if (pid == 0) {
    exec_child(spec, switch_ids, path.c_str(), argv.data(), envp.data(), listen_pid_digits,
               origin_digits, parent, report_write.get());
  }
  // Also set the group from the parent: signals sent to -pid right after
  // launch must not race the child's own setpgid.
  ::setpgid(pid, pid);
  report_write.reset();

  Report report{};
  ssize_t n;
  do {
    n = ::read(report_read.get(), &report, sizeof report);
  } while (n < 0 && errno == EINTR);
  if (n == static_cast<ssize_t>(sizeof report)) {
    int status = 0;
    while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    const char* step = step_name(report.step);
    return Error{fmt::format("cannot start '{}': {}{}{}", spec.argv[0], step,
                             *step != '\0' ? ": " : "", std::strerror(report.err))};
  }
  return pid;
}

std::vector<LaunchSpec::Limit> launch_limits(const config::WorkerConfig& worker) {
  std::vector<LaunchSpec::Limit> limits;
  for (const auto& [name, value] : worker.rlimits) {
    // The loader accepted only known names.
    if (const config::RlimitInfo* info = config::find_rlimit(name)) {
      limits.push_back({info->resource, value.value_or(UINT64_MAX)});
    }
  }
  return limits;
}

}  // namespace corral::supervisor
