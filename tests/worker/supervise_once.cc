// supervise_once PROGRAM [ARGS...]: plays corral's part for one worker, the
// way the supervisor will, so a program built against the *installed*
// library can be checked end to end: a segment, a listening socket on
// 127.0.0.1 passed as fd 3 named "http", the worker environment; then it
// waits for readiness and heartbeats, sends one HTTP request, asks the worker
// to drain, and expects a clean exit with the state "stopped". Exit 0 when
// all of that happened.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <string>

#include "ipc/shm_segment.h"

namespace {

using corral::ipc::ShmSegment;
using corral::ipc::SlotSnapshot;
using corral::ipc::SlotStatus;
using corral::ipc::WorkerState;

constexpr int kSlot = 1;
pid_t g_child = -1;

[[noreturn]] void fail(const std::string& why) {
  std::fprintf(stderr, "supervise_once: FAIL: %s\n", why.c_str());
  if (g_child > 0) {
    ::kill(g_child, SIGKILL);
    ::waitpid(g_child, nullptr, 0);
  }
  std::exit(1);
}

// Polls `done` every 20 ms for up to `seconds`, beating the supervisor's
// heartbeat meanwhile as corral's loop does.
template <typename Done>
bool wait_until(ShmSegment& seg, double seconds, Done done) {
  for (int i = 0; i < static_cast<int>(seconds * 50); ++i) {
    seg.heartbeat();
    if (done()) return true;
    ::usleep(20'000);
  }
  return false;
}

std::string http_get(uint16_t port) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) fail("connect");
  const char req[] = "GET / HTTP/1.0\r\nHost: localhost\r\n\r\n";
  if (::write(fd, req, sizeof req - 1) != static_cast<ssize_t>(sizeof req - 1)) fail("write");
  timeval tv{5, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  std::string response;
  char buf[1024];
  ssize_t n;
  while ((n = ::read(fd, buf, sizeof buf)) > 0) response.append(buf, static_cast<size_t>(n));
  ::close(fd);
  return response;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: supervise_once PROGRAM [ARGS...]\n");
    return 2;
  }
  auto created = ShmSegment::create("supervise-once", 2);
  if (!created.ok()) fail(created.error().message);
  ShmSegment seg = std::move(created).value();

  int sock = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  if (::bind(sock, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      ::listen(sock, 16) != 0 ||
      ::getsockname(sock, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    fail("cannot listen on 127.0.0.1");
  }
  uint16_t port = ntohs(addr.sin_port);

  seg.assign_slot(kSlot);  // before the fork: the worker reads the generation
  g_child = ::fork();
  if (g_child < 0) fail("fork");
  if (g_child == 0) {
    if (::dup2(sock, 3) != 3) _exit(126);  // dup2 clears close-on-exec
    ::setenv("CORRAL_SHM", seg.name().c_str(), 1);
    ::setenv("CORRAL_SLOT", std::to_string(kSlot).c_str(), 1);
    ::setenv("CORRAL_WORKER_ID", std::to_string(kSlot).c_str(), 1);
    ::setenv("LISTEN_FDS", "1", 1);
    ::setenv("LISTEN_FDNAMES", "http", 1);
    ::setenv("LISTEN_PID", std::to_string(::getpid()).c_str(), 1);
    ::execvp(argv[1], argv + 1);
    _exit(127);
  }
  ::close(sock);
  seg.set_slot_pid(kSlot, g_child);

  SlotSnapshot s;
  if (!wait_until(seg, 10, [&] {
        s = seg.read_slot(kSlot);
        return s.status == SlotStatus::kOk && s.state == WorkerState::kReady;
      })) {
    fail(std::string("worker not ready: ") + corral::ipc::to_string(s.status) + " " + s.problem);
  }
  std::printf("supervise_once: worker %d ready (generation %llu)\n", static_cast<int>(g_child),
              static_cast<unsigned long long>(s.generation));

  uint64_t first = 0;
  if (!wait_until(seg, 5, [&] {
        s = seg.read_slot(kSlot);
        return s.status == SlotStatus::kOk && s.heartbeat_ns.has_value();
      })) {
    fail("no heartbeat");
  }
  first = *s.heartbeat_ns;
  if (!wait_until(seg, 5, [&] {
        s = seg.read_slot(kSlot);
        return s.status == SlotStatus::kOk && s.heartbeat_ns.value_or(0) > first;
      })) {
    fail("heartbeat does not advance");
  }
  std::printf("supervise_once: heartbeat advances\n");

  std::string response = http_get(port);
  if (response.find("200 OK") == std::string::npos ||
      response.find("hello from worker 1") == std::string::npos) {
    fail("unexpected response: " + response);
  }
  std::printf("supervise_once: served: hello from worker 1\n");
  if (!wait_until(seg, 5, [&] {
        s = seg.read_slot(kSlot);
        return s.status == SlotStatus::kOk && s.requests_total >= 1 && s.in_flight == 0;
      })) {
    fail("request not counted: " + std::to_string(s.requests_total));
  }

  seg.request_drain(kSlot);
  int status = 0;
  if (!wait_until(seg, 10, [&] { return ::waitpid(g_child, &status, WNOHANG) == g_child; })) {
    fail("worker did not exit after the drain request");
  }
  g_child = -1;
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    fail("worker exit status " + std::to_string(status));
  }
  s = seg.read_slot(kSlot);
  if (s.status != SlotStatus::kOk || s.state != WorkerState::kStopped) {
    fail(std::string("final state: ") + corral::ipc::to_string(s.status) + " " +
         corral::ipc::to_string(s.state) + " " + s.problem);
  }
  std::printf("supervise_once: drained and stopped; OK\n");
  return 0;
}
