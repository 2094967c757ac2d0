// The event loop: one thread, one epoll set holding the listening socket
// (level-triggered; EPOLLEXCLUSIVE only on its own SO_REUSEPORT socket, see
// on_listener_ready), a signalfd for SIGTERM/SIGINT, and every connection
// (edge-triggered, registered once for both directions). Timers (/slow
// replies, lingering closes, --exit-after-ms) live in a heap whose earliest
// deadline bounds epoll_wait. It reports to its supervisor through
// SupervisorLink (libcorral-worker under corral, else sd_notify): ready once
// serving, heartbeats from a timer of the loop (so a blocked loop, e.g. GET
// /burn, misses them), draining, stopped, and the requests served and in
// flight; corral's drain request starts the same graceful stop as SIGTERM.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <queue>
#include <string>
#include <vector>

#include "base/result.h"
#include "base/unique_fd.h"
#include "connection.h"
#include "handlers.h"
#include "listener.h"
#include "options.h"
#include "responses.h"
#include "supervisor_link.h"

namespace example {

class Server {
 public:
  Server(Options options, Listener listener);
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Creates the epoll set and the signalfd (blocking SIGTERM/SIGINT), and
  // attaches to corral's shared memory or connects to $NOTIFY_SOCKET.
  corral::Status init();

  // Serves until a graceful stop completes (returns 0) or --exit-after-ms
  // fires (returns its code). A second stop signal _exit()s at once with
  // 128 + the signal number (a drain corral requested through shared memory
  // is no signal: the first SIGTERM after it is still the first).
  int run();

 private:
  enum class TimerKind : uint8_t {
    kSlowReply, kLingerEnd, kResumeAccept, kExitAfter, kSupervisorTick, kDrainIdleClose
  };
  struct Timer {
    int64_t at_ns;
    TimerKind kind;
    int fd;
    uint32_t generation;
    friend bool operator>(const Timer& a, const Timer& b) { return a.at_ns > b.at_ns; }
  };

  void on_listener_ready();
  void on_signal();
  void on_timer(const Timer& t);
  void begin_drain();
  int serve();

  // Drives one connection as far as it can go without blocking: sends
  // pending output, answers buffered requests, reads more. Bounded per call;
  // a connection with more to do is queued in ready_ for the next turn.
  void service(Connection& c);
  // Answers the complete requests in c's input; true if it made progress.
  bool answer_requests(Connection& c);
  void finish_close(Connection& c);  // after a Connection: close reply is sent
  void close(Connection& c);

  Connection* find(int fd, uint32_t generation);
  void add_timer(int64_t delay_ms, TimerKind kind, int fd = -1, uint32_t generation = 0);
  int next_timeout_ms(int64_t now_ns) const;
  bool listener_watch(bool on);
  std::map<int, std::string> own_fds() const;

  Options options_;
  Listener listener_;
  corral::UniqueFd epoll_;
  corral::UniqueFd signals_;
  SupervisorLink supervisor_;  // libcorral-worker, sd_notify or nothing
  Responses responses_;
  Handlers handlers_;

  std::vector<std::unique_ptr<Connection>> conns_;  // indexed by fd number
  size_t open_conns_ = 0;
  uint32_t next_generation_ = 1;
  std::priority_queue<Timer, std::vector<Timer>, std::greater<>> timers_;
  std::vector<uint64_t> ready_;  // epoll tags of connections to service again
  std::vector<uint64_t> ready_now_;
  bool draining_ = false;
  bool close_idle_ = false;  // draining, and the grace for idle keep-alive clients is over
  bool stop_signalled_ = false;
  // Load figures for the supervisor: requests answered, and /slow replies
  // still owed (the only requests in progress while the loop runs).
  uint64_t requests_served_ = 0;
  uint64_t deferred_replies_ = 0;
  std::optional<int> exit_code_;
};

}  // namespace example
