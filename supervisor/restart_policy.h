// Whether and when a worker slot gets a new process after its worker ended
// on its own. Pure policy: the caller passes the clock readings and the
// random jitter, so tests drive it with plain TimePoint arithmetic.
//
// The rules, in the order they apply:
//  1. Policy. `never` stops the slot after any exit; `on-failure` stops it
//     after a clean exit (code 0); `always` goes on.
//  2. Crash-loop limit. A restart is refused (kGiveUp) when `max_restarts`
//     restarts were already granted within the last `window`, so at most
//     max_restarts restarts happen in any window. A restart is counted at the
//     exit that caused it; one exactly `window` old no longer counts.
//     Consequences rather than special cases:
//       max_restarts = 0  the first exit that would restart gives up: the
//                         exit is reported as a failure, where `never`
//                         stops quietly;
//       window = 0        nothing earlier lies inside the window, so with
//                         max_restarts >= 1 the limit never triggers.
//     Backoff slows a crash loop down, and once the delays exceed
//     window / max_restarts the window alone is out of reach. So a restart
//     is also refused after max_restarts consecutive early exits (each up
//     less than min_uptime): a worker that dies at once gives up after
//     max_restarts restarts whatever the backoff (with the defaults, after
//     about 51s), as PM2 and supervisord do, instead of retrying forever.
//  3. Delay. A worker that stayed up at least `min_uptime` is replaced at
//     once (delay 0, no jitter): a long-lived worker that crashes is not a
//     crash loop, and restart latency is what users wait on. Consecutive
//     early exits back off: backoff_initial, x2, x4 ... capped at
//     backoff_max, then lowered by up to a quarter by the jitter, i.e. the
//     delay lies in [0.75 d, d] for the nominal step d. Jitter only lowers,
//     so backoff_max is a true cap and each step still exceeds the one
//     before; a 25% spread is enough to stop slots that crashed together
//     (a shared dependency went away) from retrying in lockstep.
//
// Memory is bounded: at most max_restarts timestamps are kept.
#pragma once

#include <chrono>
#include <deque>
#include <string>

#include "config/config.h"
#include "supervisor/exit_status.h"

namespace corral::supervisor {

using Clock = std::chrono::steady_clock;
using TimePoint = Clock::time_point;

struct RestartDecision {
  enum class Kind { kRestart, kStop, kGiveUp };
  // A default decision restarts nothing, so a forgotten one cannot loop.
  Kind kind = Kind::kStop;
  std::chrono::milliseconds delay{0};  // for kRestart
  std::string reason;                  // for logs: the exit and why this decision
};

// One per worker slot; lives as long as the slot. Used only from the
// supervisor's loop thread.
class RestartTracker {
 public:
  explicit RestartTracker(const config::RestartConfig& config);

  // A worker of this slot ended on its own (not because corral stopped it).
  // `started` is when it was spawned, `now` when it was reaped. `jitter` is a
  // random number in [0,1) supplied by the caller; out-of-range values are
  // clamped.
  RestartDecision on_exit(ExitStatus status, TimePoint started, TimePoint now, double jitter);

  // Forgets the crash history and the backoff, e.g. when an operator
  // restarts a slot that gave up. restarts() keeps counting.
  void reset();

  // Restarts granted so far over the slot's life, for status.
  int restarts() const { return restarts_; }

 private:
  std::chrono::milliseconds backoff(double jitter) const;

  config::RestartConfig config_;
  std::deque<TimePoint> recent_;  // restarts within the window, oldest first
  int early_exits_ = 0;           // consecutive exits before min_uptime
  int restarts_ = 0;
};

}  // namespace corral::supervisor
