#include "supervisor/guardian.h"

#include <dirent.h>
#include <fcntl.h>
#include <linux/close_range.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "supervisor/orphans.h"

namespace corral::supervisor {
namespace {

// One record per message; smaller than PIPE_BUF, so each write is atomic.
struct Record {
  char op;  // '+' watch, '-' forget
  pid_t pgid;
};

bool is_number(const char* s) {
  if (*s == '\0') return false;
  for (; *s != '\0'; ++s) {
    if (*s < '0' || *s > '9') return false;
  }
  return true;
}

// SIGKILLs every process that carries corral's mark (CORRAL_ORIGIN=<corral>:,
// supervisor/orphans.h): what workers left behind in sessions and groups of
// their own, which the group kills miss. Returns how many it found.
int kill_marked(pid_t corral) {
  int found = 0;
  DIR* proc = ::opendir("/proc");
  if (proc == nullptr) return 0;
  std::string environ;
  char buf[4096];
  while (dirent* e = ::readdir(proc)) {
    if (!is_number(e->d_name)) continue;
    const int fd = ::open((std::string("/proc/") + e->d_name + "/environ").c_str(),
                          O_RDONLY | O_CLOEXEC);
    if (fd < 0) continue;
    environ.clear();
    for (;;) {
      const ssize_t n = ::read(fd, buf, sizeof buf);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0 || environ.size() > (1u << 20)) break;
      environ.append(buf, static_cast<size_t>(n));
    }
    ::close(fd);
    const std::optional<Origin> origin = parse_origin(environ);
    if (origin && origin->corral == corral) {
      ::kill(static_cast<pid_t>(std::atol(e->d_name)), SIGKILL);
      ++found;
    }
  }
  ::closedir(proc);
  return found;
}

[[noreturn]] void guardian_main(int pipe_fd, pid_t corral) {
  // Only the pipe stays: no socket, no pipe of a worker, no terminal.
  ::dup2(pipe_fd, 3);
  ::syscall(SYS_close_range, 4U, ~0U, 0U);
  const int null_fd = ::open("/dev/null", O_RDWR);
  if (null_fd >= 0) {
    ::dup2(null_fd, 0);
    ::dup2(null_fd, 1);
    ::dup2(null_fd, 2);
    if (null_fd > 3) ::close(null_fd);
  }
  // It shares corral's process group and cgroup: a Ctrl-C or systemd's
  // SIGTERM for the service must not take it before corral is gone.
  for (int sig : {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGTSTP, SIGTTIN, SIGTTOU, SIGPIPE, SIGUSR1,
                  SIGUSR2}) {
    ::signal(sig, SIG_IGN);
  }
  sigset_t none;
  sigemptyset(&none);
  ::sigprocmask(SIG_SETMASK, &none, nullptr);
  ::prctl(PR_SET_NAME, "corral-guardian");

  std::vector<pid_t> groups;
  for (;;) {
    Record r{};
    const ssize_t n = ::read(3, &r, sizeof r);
    if (n < 0 && errno == EINTR) continue;
    if (n != static_cast<ssize_t>(sizeof r)) break;  // EOF: corral is gone
    if (r.pgid <= 1) continue;
    if (r.op == '+') {
      groups.push_back(r.pgid);
    } else if (r.op == '-') {
      groups.erase(std::remove(groups.begin(), groups.end(), r.pgid), groups.end());
    }
  }
  for (pid_t pgid : groups) ::kill(-pgid, SIGKILL);
  // A process forking while it is swept may leave a child for the next
  // round; a SIGKILLed process forks no more, so this ends quickly.
  for (int round = 0; round < 50 && kill_marked(corral) > 0; ++round) {
  }
  ::_exit(0);
}

}  // namespace

Result<Guardian> Guardian::start() {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) {
    return Error{fmt::format("cannot create the guardian's pipe: {}", std::strerror(errno))};
  }
  UniqueFd read_end(fds[0]);
  UniqueFd write_end(fds[1]);
  const pid_t corral = ::getpid();
  const pid_t pid = ::fork();
  if (pid < 0) return Error{fmt::format("cannot fork the guardian: {}", std::strerror(errno))};
  if (pid == 0) guardian_main(read_end.get(), corral);
  // A guardian that stopped reading must never stall the loop.
  ::fcntl(write_end.get(), F_SETFL, O_NONBLOCK);
  return Guardian(pid, std::move(write_end));
}

Guardian::~Guardian() { pipe_.reset(); }

void Guardian::send(char op, pid_t pgid) {
  if (!pipe_) return;
  Record r;
  std::memset(&r, 0, sizeof r);  // no uninitialised padding into the pipe
  r.op = op;
  r.pgid = pgid;
  // Losing a record only weakens the clean-up after corral's own death.
  ssize_t unused = ::write(pipe_.get(), &r, sizeof r);
  (void)unused;
}

void Guardian::watch(pid_t pgid) { send('+', pgid); }
void Guardian::forget(pid_t pgid) { send('-', pgid); }

}  // namespace corral::supervisor
