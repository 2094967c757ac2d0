// The life of one worker slot as a pure state machine: (state, event) ->
// (state, action). The supervisor loop feeds it events and performs the
// actions; tests drive it from a table without any process.
#pragma once

#include <chrono>
#include <string_view>

#include "supervisor/restart_policy.h"

namespace corral::supervisor {

enum class WorkerState {
  kStarting,  // spawned, not ready yet
  kReady,     // serving
  kDraining,  // asked to finish in-flight work (reload, scale-down)
  kStopping,  // asked to stop because the service stops
  kBackoff,   // exited; waiting to be restarted
  kFailed,    // gave up after too many restarts
  kStopped,   // exited and not to be restarted (policy, or service stop)
};
std::string_view to_string(WorkerState);

// True while a process exists for the slot.
bool has_process(WorkerState);

enum class Event {
  kReady,           // readiness condition met
  kExited,          // process ended; `decision` says what the policy wants
  kBackoffElapsed,  // the restart delay is over
  kStop,            // the service is stopping
  kDrainTimeout,    // drain_timeout passed since kStop
};

enum class Action {
  kNone,
  kSpawn,           // start a new process for the slot
  kScheduleSpawn,   // start one after decision.delay
  kSendStopSignal,  // stop_signal to the worker
  kKill,            // SIGKILL the worker's process group
  kCancelTimer,     // a scheduled restart is off
  kReportGiveUp,    // log why the slot gave up
};

struct Step {
  WorkerState state;
  Action action;
};

// `decision` matters only for Event::kExited of a worker corral did not ask
// to stop.
Step next(WorkerState state, Event event, const RestartDecision& decision = {});

}  // namespace corral::supervisor
