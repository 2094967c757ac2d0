// What the chaos driver does, and when: a pure generator of faults and
// operations from a seeded RNG, so a run's sequence is reproducible from its
// seed and the generator is tested without processes. The driver
// (chaos_driver.h) performs the actions on a live corral.
#pragma once

#include <chrono>
#include <cstdint>
#include <random>
#include <string_view>

namespace corral::testing {

enum class ChaosKind {
  kSigkill,  // a worker killed outright
  kSigsegv,  // a worker crashing (SIGSEGV, as a bad pointer would)
  kSigstop,  // a worker hanging: no heartbeat, no request served
  kReload,   // a rolling reload
  kScale,    // the worker count changed (scale_to)
};

// Kinds that take a worker down with what it was serving: the only ones
// allowed to cost requests.
bool is_kill(ChaosKind kind);
std::string_view kind_name(ChaosKind kind);

struct ChaosAction {
  std::chrono::milliseconds delay{0};  // after the previous action
  ChaosKind kind = ChaosKind::kSigkill;
  uint32_t pick = 0;  // for kills: which worker, as an index modulo the live ones
  int scale_to = 0;   // for kScale
};

struct ChaosConfig {
  std::chrono::milliseconds min_delay{100};
  std::chrono::milliseconds max_delay{500};
  int min_workers = 3;  // scale targets lie in [min_workers, max_workers]
  int max_workers = 5;
  int initial_workers = 4;
  // Relative weights of the kinds, in ChaosKind order.
  int weights[5] = {2, 1, 1, 1, 1};
};

class ChaosSchedule {
 public:
  ChaosSchedule(uint64_t seed, const ChaosConfig& config);

  // The next action. A scale always changes the count, within the bounds.
  ChaosAction next();
  // The action that ends a run: back to the initial count (a kScale,
  // possibly to the count it already has).
  ChaosAction finish() const;
  // The count after the scale actions handed out so far.
  int workers() const { return workers_; }

 private:
  ChaosConfig config_;
  std::mt19937_64 rng_;
  int workers_;
};

}  // namespace corral::testing
