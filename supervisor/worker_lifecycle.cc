#include "supervisor/worker_lifecycle.h"

namespace corral::supervisor {

std::string_view to_string(WorkerState s) {
  switch (s) {
    case WorkerState::kStarting: return "starting";
    case WorkerState::kReady: return "ready";
    case WorkerState::kDraining: return "draining";
    case WorkerState::kStopping: return "stopping";
    case WorkerState::kBackoff: return "backoff";
    case WorkerState::kFailed: return "failed";
    case WorkerState::kStopped: return "stopped";
  }
  return "unknown";
}

bool has_process(WorkerState s) {
  return s == WorkerState::kStarting || s == WorkerState::kReady ||
         s == WorkerState::kDraining || s == WorkerState::kStopping;
}

namespace {

Step on_unrequested_exit(const RestartDecision& decision) {
  switch (decision.kind) {
    case RestartDecision::Kind::kRestart:
      if (decision.delay.count() == 0) return {WorkerState::kStarting, Action::kSpawn};
      return {WorkerState::kBackoff, Action::kScheduleSpawn};
    case RestartDecision::Kind::kGiveUp:
      return {WorkerState::kFailed, Action::kReportGiveUp};
    case RestartDecision::Kind::kStop:
      return {WorkerState::kStopped, Action::kNone};
  }
  return {WorkerState::kStopped, Action::kNone};
}

}  // namespace

Step next(WorkerState state, Event event, const RestartDecision& decision) {
  using S = WorkerState;
  const Step unchanged{state, Action::kNone};
  switch (event) {
    case Event::kReady:
      return state == S::kStarting ? Step{S::kReady, Action::kNone} : unchanged;
    case Event::kExited:
      if (state == S::kStarting || state == S::kReady) return on_unrequested_exit(decision);
      if (state == S::kDraining || state == S::kStopping) return {S::kStopped, Action::kNone};
      return unchanged;
    case Event::kBackoffElapsed:
      return state == S::kBackoff ? Step{S::kStarting, Action::kSpawn} : unchanged;
    case Event::kStop:
      if (state == S::kStarting || state == S::kReady) {
        return {S::kStopping, Action::kSendStopSignal};
      }
      if (state == S::kDraining) return {S::kStopping, Action::kNone};  // already signalled
      if (state == S::kBackoff) return {S::kStopped, Action::kCancelTimer};
      return unchanged;
    case Event::kDrainTimeout:
      if (state == S::kDraining || state == S::kStopping) return {state, Action::kKill};
      return unchanged;
  }
  return unchanged;
}

}  // namespace corral::supervisor
