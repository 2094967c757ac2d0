#include "server.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

namespace example {
namespace {

// epoll tags: the top two bits say what the event is for; connection tags
// also carry a generation so that an event queued for a socket closed earlier
// in the same batch is not applied to a new socket that reused its fd number.
constexpr uint64_t kTagListener = 1ULL << 62;
constexpr uint64_t kTagSignals = 2ULL << 62;
constexpr uint64_t kTagConnection = 3ULL << 62;
constexpr uint64_t kTagKindMask = 3ULL << 62;
constexpr uint32_t kGenerationMask = (1U << 30) - 1;

uint64_t connection_tag(int fd, uint32_t generation) {
  return kTagConnection | (static_cast<uint64_t>(generation) << 32) | static_cast<uint32_t>(fd);
}

int64_t monotonic_ns() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

constexpr int kAcceptsPerWake = 32;   // then let siblings and clients have a turn
constexpr int kServiceSteps = 16;     // per connection per turn
constexpr int64_t kLingerMs = 2000;   // discard a closing client's input this long at most
constexpr int64_t kAcceptPauseMs = 100;  // after EMFILE and the like
// How long a draining server keeps idle keep-alive connections open for a
// last request (answered with Connection: close).
constexpr int64_t kDrainIdleGraceMs = 1000;

void warn(const char* what) { std::fprintf(stderr, "example_server: %s: %s\n", what, std::strerror(errno)); }

}  // namespace

Server::Server(Options options, Listener listener)
    : options_(std::move(options)),
      listener_(std::move(listener)),
      handlers_(responses_, options_.argv, [this] { return own_fds(); },
                [this] { return listener_.fd.get(); }, [this] { return supervisor_.status(); }) {}

corral::Status Server::init() {
  epoll_.reset(epoll_create1(EPOLL_CLOEXEC));
  if (!epoll_) return corral::Error{std::string("epoll_create1: ") + std::strerror(errno)};

  // Stop signals arrive through a signalfd, read by the loop. Start from the
  // default disposition: a parent may have left them ignored, and an ignored
  // signal never becomes pending, so the signalfd would not see it.
  ::signal(SIGPIPE, SIG_IGN);
  sigset_t stop;
  sigemptyset(&stop);
  sigaddset(&stop, SIGINT);
  ::signal(SIGINT, SIG_DFL);
  if (options_.ignore_term) {
    ::signal(SIGTERM, SIG_IGN);
  } else {
    sigaddset(&stop, SIGTERM);
    ::signal(SIGTERM, SIG_DFL);
  }
  if (sigprocmask(SIG_BLOCK, &stop, nullptr) != 0) {
    return corral::Error{std::string("sigprocmask: ") + std::strerror(errno)};
  }
  signals_.reset(signalfd(-1, &stop, SFD_NONBLOCK | SFD_CLOEXEC));
  if (!signals_) return corral::Error{std::string("signalfd: ") + std::strerror(errno)};
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.u64 = kTagSignals;
  if (epoll_ctl(epoll_.get(), EPOLL_CTL_ADD, signals_.get(), &ev) != 0) {
    return corral::Error{std::string("epoll_ctl(signalfd): ") + std::strerror(errno)};
  }
  if (!listener_watch(true)) return corral::Error{std::string("epoll_ctl(listener): ") + std::strerror(errno)};
  if (options_.exit_after_ms) add_timer(*options_.exit_after_ms, TimerKind::kExitAfter);
  supervisor_ = SupervisorLink::open(!options_.no_notify);
  return corral::Ok{};
}

bool Server::listener_watch(bool on) {
  if (!on) return epoll_ctl(epoll_.get(), EPOLL_CTL_DEL, listener_.fd.get(), nullptr) == 0;
  epoll_event ev{};
  // Every sibling sharing the socket is woken, and the least busy wins the
  // accept: EPOLLEXCLUSIVE would keep waking the same one.
  ev.events = listener_.bound_here ? (EPOLLIN | EPOLLEXCLUSIVE) : EPOLLIN;
  ev.data.u64 = kTagListener;
  if (epoll_ctl(epoll_.get(), EPOLL_CTL_ADD, listener_.fd.get(), &ev) == 0) return true;
  ev.events = EPOLLIN;  // kernels before 4.5
  return epoll_ctl(epoll_.get(), EPOLL_CTL_ADD, listener_.fd.get(), &ev) == 0;
}

int Server::run() {
  supervisor_.ready(listener_.address);
  if (auto tick = supervisor_.tick_interval_ms()) add_timer(*tick, TimerKind::kSupervisorTick);
  int code = serve();
  supervisor_.publish(requests_served_, deferred_replies_);
  supervisor_.stopped();
  return code;
}

int Server::serve() {
  constexpr int kMaxEvents = 256;
  epoll_event events[kMaxEvents];
  while (!exit_code_) {
    if (draining_ && open_conns_ == 0) return 0;
    int timeout = ready_.empty() ? next_timeout_ms(monotonic_ns()) : 0;
    int n = epoll_wait(epoll_.get(), events, kMaxEvents, timeout);
    if (n < 0) {
      if (errno == EINTR) continue;
      warn("epoll_wait");
      return 1;
    }
    responses_.tick();
    for (int i = 0; i < n && !exit_code_; ++i) {
      uint64_t tag = events[i].data.u64;
      switch (tag & kTagKindMask) {
        case kTagListener: on_listener_ready(); break;
        case kTagSignals: on_signal(); break;
        default: {
          Connection* c = find(static_cast<int>(tag & 0xffffffffU), (tag >> 32) & kGenerationMask);
          if (c == nullptr) break;  // closed earlier in this batch
          uint32_t e = events[i].events;
          if (e & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) c->readable = true;
          if (e & (EPOLLRDHUP | EPOLLHUP | EPOLLERR)) c->hangup = true;
          if (e & (EPOLLOUT | EPOLLHUP | EPOLLERR)) c->writable = true;
          service(*c);
        }
      }
    }
    // Connections that used up their budget last turn.
    ready_now_.swap(ready_);
    ready_.clear();
    for (uint64_t tag : ready_now_) {
      if (Connection* c = find(static_cast<int>(tag & 0xffffffffU), (tag >> 32) & kGenerationMask)) service(*c);
    }
    ready_now_.clear();
    for (int64_t now = monotonic_ns(); !exit_code_ && !timers_.empty() && timers_.top().at_ns <= now;) {
      Timer t = timers_.top();
      timers_.pop();
      on_timer(t);
    }
    supervisor_.publish(requests_served_, deferred_replies_);  // stores, when changed
  }
  return *exit_code_;
}

void Server::on_listener_ready() {
  // On a socket shared with sibling processes, take one connection per
  // wake-up: draining the queue would hand a burst of new connections (a
  // load balancer's pool, wrk's 64) to whichever worker woke first, and a
  // keep-alive connection stays where it landed. Our own SO_REUSEPORT socket
  // is balanced by the kernel already.
  const int accepts = listener_.bound_here ? kAcceptsPerWake : 1;
  for (int i = 0; i < accepts && listener_.fd; ++i) {
    int fd = accept4(listener_.fd.get(), nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) {
      if (errno == EINTR || errno == ECONNABORTED || errno == EPROTO) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) return;  // a sibling took it, or none left
      if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
        // The listener is level-triggered: stop watching it for a moment
        // rather than spin on an error that a closing connection will cure.
        warn("accept4 (pausing accepts)");
        listener_watch(false);
        add_timer(kAcceptPauseMs, TimerKind::kResumeAccept);
        return;
      }
      warn("accept4");
      return;
    }
    corral::UniqueFd sock(fd);
    if (listener_.port >= 0) {
      int one = 1;
      setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    }
    if (static_cast<size_t>(fd) >= conns_.size()) conns_.resize(static_cast<size_t>(fd) + 64);
    if (!conns_[fd]) conns_[fd] = std::make_unique<Connection>();
    Connection& c = *conns_[fd];
    uint32_t generation = next_generation_++ & kGenerationMask;
    epoll_event ev{};
    ev.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET;
    ev.data.u64 = connection_tag(fd, generation);
    if (epoll_ctl(epoll_.get(), EPOLL_CTL_ADD, fd, &ev) != 0) {
      warn("epoll_ctl(connection)");
      continue;  // `sock` closes it
    }
    c.open(std::move(sock), generation);
    c.writable = true;  // readability is reported by epoll right away if data is there
    ++open_conns_;
  }
}

void Server::on_signal() {
  signalfd_siginfo info;
  while (read(signals_.get(), &info, sizeof info) == static_cast<ssize_t>(sizeof info)) {
    if (stop_signalled_) _exit(128 + static_cast<int>(info.ssi_signo));  // second signal: now
    stop_signalled_ = true;
    if (!draining_) begin_drain();  // else corral asked first, through shared memory
  }
}

// Graceful stop: no new connections; every request still answered, with
// Connection: close. An idle keep-alive connection is not closed at once: a
// client may be sending its next request at this very moment, and closing
// would lose it (the client sees a reset or an empty reply). It gets a short
// grace in which its next request is answered with Connection: close; then
// the idle ones close.
void Server::begin_drain() {
  draining_ = true;
  supervisor_.draining();
  if (listener_.fd) {
    listener_watch(false);
    listener_.fd.reset();
  }
  add_timer(kDrainIdleGraceMs, TimerKind::kDrainIdleClose);
  // Look at every connection once more: a request may sit unread in the
  // socket.
  for (auto& slot : conns_) {
    if (slot && slot->is_open()) {
      slot->readable = true;
      service(*slot);
    }
  }
}

void Server::on_timer(const Timer& t) {
  switch (t.kind) {
    case TimerKind::kExitAfter:
      exit_code_ = options_.exit_code;
      return;
    case TimerKind::kSupervisorTick:
      if (supervisor_.tick().drain_requested && !draining_) begin_drain();
      add_timer(*supervisor_.tick_interval_ms(), TimerKind::kSupervisorTick);
      return;
    case TimerKind::kDrainIdleClose:
      close_idle_ = true;
      for (auto& slot : conns_) {
        if (slot && slot->is_open()) {
          slot->readable = true;
          service(*slot);
        }
      }
      return;
    case TimerKind::kResumeAccept:
      if (listener_.fd && !draining_) listener_watch(true);
      return;
    case TimerKind::kLingerEnd:
      if (Connection* c = find(t.fd, t.generation); c != nullptr && c->lingering) close(*c);
      return;
    case TimerKind::kSlowReply: {
      Connection* c = find(t.fd, t.generation);
      if (c == nullptr || !c->waiting) return;
      const Connection::Deferred& d = c->deferred;
      bool keep = d.keep_alive && !draining_;
      ConnectionHeader conn = !keep ? ConnectionHeader::kClose
                              : d.minor_version == 0 ? ConnectionHeader::kKeepAlive
                                                     : ConnectionHeader::kNone;
      handlers_.append_slow_reply(c->out(), d.ms, conn, d.head_only);
      if (!keep) c->close_after_flush = true;
      c->waiting = false;
      --deferred_replies_;
      ++requests_served_;
      service(*c);
      return;
    }
  }
}

void Server::service(Connection& c) {
  for (int step = 0; step < kServiceSteps; ++step) {
    if (c.lingering) {
      // Write side is shut; read and drop until the client closes too, so
      // that closing with unread input does not reset the connection before
      // the client has read our last response.
      for (int i = 0; i < kServiceSteps && c.readable; ++i) {
        Connection::Io r = c.read();
        c.drop_input();
        if (r == Connection::Io::kEof || r == Connection::Io::kError) return close(c);
      }
      if (c.readable) break;  // more to drop next turn
      return;
    }

    // 1. Send what is owed.
    if (c.has_output() && c.writable && c.flush() == Connection::Io::kError) return close(c);
    if (!c.has_output()) {
      if (c.exit_after_flush) _exit(*c.exit_after_flush);
      if (c.close_after_flush) return finish_close(c);
    } else if (c.pending_output() >= Connection::kOutputHighWater) {
      return;  // the client is not reading; wait for EPOLLOUT
    }

    // 2. Answer complete requests already received (pipelining).
    if (answer_requests(c)) continue;

    // 3. Nothing owed: once the drain's grace is over, the moment to close.
    if (close_idle_ && c.idle()) return close(c);

    // 4. Receive more.
    if (c.peer_closed) {
      // Everything received has been answered. A client that closes while
      // its /slow is pending has gone away (half-closing HTTP clients are
      // rare): do not keep a worker draining for it.
      if (c.waiting || !c.has_output()) return close(c);
      return;
    }
    if (!c.readable || c.input_full()) return;
    switch (c.read()) {
      case Connection::Io::kOk: break;
      case Connection::Io::kAgain:
        if (close_idle_ && c.idle()) return close(c);
        return;
      case Connection::Io::kEof: c.peer_closed = true; break;
      case Connection::Io::kError: return close(c);
    }
  }
  ready_.push_back(connection_tag(c.fd(), c.generation()));
}

bool Server::answer_requests(Connection& c) {
  bool progress = false;
  while (!c.waiting && !c.close_after_flush && c.pending_output() < Connection::kOutputHighWater) {
    if (!c.skip_body()) break;  // the rest of a body is still to come
    std::string_view in = c.unparsed();
    if (in.empty()) break;
    Request r;
    ParseStatus st = parse_request(in, &c.scanned, &r);
    if (st == ParseStatus::kIncomplete) {
      if (c.input_full()) st = ParseStatus::kTooLarge;
      else break;
    }
    progress = true;
    if (st != ParseStatus::kOk) {
      int status = st == ParseStatus::kTooLarge      ? 431
                   : st == ParseStatus::kUnsupported ? 501
                   : st == ParseStatus::kBadVersion  ? 505
                                                     : 400;
      responses_.append(c.out(), status, "text/plain", std::string(status_text(status)) + "\n",
                        ConnectionHeader::kClose);
      c.close_after_flush = true;
      c.consume(in.size());
      ++requests_served_;
      break;
    }
    c.consume(r.head_size);
    c.scanned = 0;
    c.body_to_skip = r.content_length;
    bool keep = r.keep_alive && !draining_;
    ConnectionHeader conn = !keep ? ConnectionHeader::kClose
                            : r.minor_version == 0 ? ConnectionHeader::kKeepAlive
                                                   : ConnectionHeader::kNone;
    Outcome o = handlers_.handle(r, conn, c.out());
    if (o.defer_ms) {
      ++deferred_replies_;
      c.waiting = true;
      c.deferred = {*o.defer_ms, r.keep_alive, r.minor_version, r.method == "HEAD"};
      add_timer(*o.defer_ms, TimerKind::kSlowReply, c.fd(), c.generation());
    } else {
      ++requests_served_;
      if (!keep) c.close_after_flush = true;
    }
    if (o.exit_code) {
      c.exit_after_flush = o.exit_code;
      c.close_after_flush = true;
    }
  }
  return progress;
}

void Server::finish_close(Connection& c) {
  // Input we have not read (a pipelined request after Connection: close, the
  // rest of a body) would make close() send RST, which can destroy the
  // response in flight. Then shut the write side and drain for a while.
  bool unread = !c.unparsed().empty() || c.body_to_skip > 0 || c.readable;
  if (!unread || c.peer_closed) return close(c);
  shutdown(c.fd(), SHUT_WR);
  c.lingering = true;
  c.drop_input();
  add_timer(kLingerMs, TimerKind::kLingerEnd, c.fd(), c.generation());
  service(c);
}

void Server::close(Connection& c) {
  if (!c.is_open()) return;
  if (c.waiting) --deferred_replies_;  // its client went away: never served
  // close() removes the fd from the epoll set (we never dup sockets).
  c.close();
  --open_conns_;
}

Connection* Server::find(int fd, uint32_t generation) {
  if (fd < 0 || static_cast<size_t>(fd) >= conns_.size() || !conns_[fd]) return nullptr;
  Connection* c = conns_[fd].get();
  return c->is_open() && c->generation() == generation ? c : nullptr;
}

void Server::add_timer(int64_t delay_ms, TimerKind kind, int fd, uint32_t generation) {
  timers_.push(Timer{monotonic_ns() + delay_ms * 1'000'000, kind, fd, generation});
}

int Server::next_timeout_ms(int64_t now_ns) const {
  if (timers_.empty()) return -1;
  int64_t wait_ns = timers_.top().at_ns - now_ns;
  if (wait_ns <= 0) return 0;
  int64_t ms = (wait_ns + 999'999) / 1'000'000;  // round up: never wake early
  return ms > 3'600'000 ? 3'600'000 : static_cast<int>(ms);
}

std::map<int, std::string> Server::own_fds() const {
  std::map<int, std::string> fds;
  if (listener_.fd) fds[listener_.fd.get()] = "listener";
  if (epoll_) fds[epoll_.get()] = "epoll";
  if (signals_) fds[signals_.get()] = "signalfd";
  if (supervisor_.notify_fd() >= 0) fds[supervisor_.notify_fd()] = "notify";
  for (const auto& slot : conns_) {
    if (slot && slot->is_open()) fds[slot->fd()] = "connection";
  }
  return fds;
}

}  // namespace example
