// validate_slot() on hostile values, without shared memory: every field a
// worker could scribble on, and the exact diagnosis.
#include "ipc/slot_validation.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace corral::ipc {
namespace {

using ::testing::StartsWith;

constexpr uint64_t kSecond = 1'000'000'000;
constexpr uint64_t kAssignedAt = 100 * kSecond;
constexpr uint64_t kNow = 200 * kSecond;

SlotBook book() {
  return SlotBook{.assigned = true,
                  .generation = 7,
                  .pid = 4242,
                  .drain_requested = false,
                  .assigned_at_ns = kAssignedAt,
                  .requests_seen = 10};
}

// A healthy, attached, ready slot that matches book().
RawSlot healthy() {
  RawSlot r;
  r.generation = 7;
  r.pid = 4242;
  r.attached_generation = 7;
  r.attached_generation_after = 7;
  r.state = static_cast<uint32_t>(WorkerState::kReady);
  r.heartbeat_ns = kNow - kSecond;
  r.requests_total = 12;
  r.in_flight = 3;
  return r;
}

TEST(SlotValidation, HealthySlot) {
  SlotSnapshot s = validate_slot(healthy(), book(), kNow);
  EXPECT_EQ(s.status, SlotStatus::kOk) << s.problem;
  EXPECT_EQ(s.generation, 7u);
  EXPECT_EQ(s.state, WorkerState::kReady);
  EXPECT_EQ(s.heartbeat_ns, kNow - kSecond);
  EXPECT_EQ(s.requests_total, 12u);
  EXPECT_EQ(s.in_flight, 3u);
}

TEST(SlotValidation, FreeSlotIsNotRead) {
  RawSlot garbage;
  garbage.state = 99;
  EXPECT_EQ(validate_slot(garbage, SlotBook{}, kNow).status, SlotStatus::kFree);
}

TEST(SlotValidation, NeverBeatIsNoHeartbeat) {
  RawSlot r = healthy();
  r.heartbeat_ns = 0;
  SlotSnapshot s = validate_slot(r, book(), kNow);
  EXPECT_EQ(s.status, SlotStatus::kOk);
  EXPECT_EQ(s.heartbeat_ns, std::nullopt);
}

TEST(SlotValidation, NotAttachedYet) {
  RawSlot r;
  r.generation = 7;
  r.pid = 4242;
  r.state = static_cast<uint32_t>(WorkerState::kStarting);
  EXPECT_EQ(validate_slot(r, book(), kNow).status, SlotStatus::kNotAttached);
}

TEST(SlotValidation, AttachedWhileBeingRead) {
  // The first load saw no attachment, the worker attached and set "ready"
  // before the other loads: not corruption.
  RawSlot r = healthy();
  r.attached_generation = 0;
  EXPECT_EQ(validate_slot(r, book(), kNow).status, SlotStatus::kNotAttached);
}

TEST(SlotValidation, StaleGeneration) {
  RawSlot r = healthy();
  r.attached_generation = 6;
  SlotSnapshot s = validate_slot(r, book(), kNow);
  EXPECT_EQ(s.status, SlotStatus::kStale);
  EXPECT_EQ(s.generation, 7u);
}

struct Case {
  const char* name;
  void (*mutate)(RawSlot&);
  const char* problem;  // exact, or a prefix ending in ':'
};

const Case kCases[] = {
    {"generation overwritten", [](RawSlot& r) { r.generation = 8; },
     "generation: the segment says 8, the supervisor assigned 7"},
    {"pid overwritten", [](RawSlot& r) { r.pid = 1; },
     "pid: the segment says 1, the supervisor wrote 4242"},
    {"drain flag set by someone else", [](RawSlot& r) { r.drain_requested = 1; },
     "drain_requested: the segment says 1, the supervisor wrote 0"},
    {"drain flag garbage", [](RawSlot& r) { r.drain_requested = 0xdeadbeef; }, "drain_requested:"},
    {"reserved0", [](RawSlot& r) { r.reserved0 = 1; }, "reserved0: 1 is not 0"},
    {"reserved1", [](RawSlot& r) { r.reserved1 = 5; }, "reserved1: 5 is not 0"},
    {"attached ahead", [](RawSlot& r) { r.attached_generation = 9; },
     "attached_generation: 9 is ahead of the slot's generation 7"},
    {"state zero", [](RawSlot& r) { r.state = 0; }, "state: 0 is not a state (1..4)"},
    {"state five", [](RawSlot& r) { r.state = 5; }, "state: 5 is not a state (1..4)"},
    {"state huge", [](RawSlot& r) { r.state = 0xffffffff; }, "state: 4294967295 is not a state"},
    {"heartbeat in the future", [](RawSlot& r) { r.heartbeat_ns = kNow + 3 * kSecond; },
     "heartbeat_ns: 3.000 s in the future"},
    {"heartbeat at the end of time", [](RawSlot& r) { r.heartbeat_ns = UINT64_MAX; },
     "heartbeat_ns:"},
    {"heartbeat before assignment", [](RawSlot& r) { r.heartbeat_ns = kAssignedAt - kSecond / 2; },
     "heartbeat_ns: 0.500 s before the slot was assigned"},
    {"requests beyond the limit", [](RawSlot& r) { r.requests_total = kMaxRequestsTotal + 1; },
     "requests_total: 1125899906842625 is above the limit 2^50"},
    {"requests backwards", [](RawSlot& r) { r.requests_total = 9; },
     "requests_total: went backwards from 10 to 9"},
    {"in flight beyond the limit", [](RawSlot& r) { r.in_flight = UINT64_MAX; },
     "in_flight: 18446744073709551615 is above the limit 2^32"},
    {"state written without attaching",
     [](RawSlot& r) {
       r.attached_generation = 0;
       r.attached_generation_after = 0;
     },
     "state: 2 written before anyone attached"},
    {"heartbeat written without attaching",
     [](RawSlot& r) {
       r.attached_generation = r.attached_generation_after = 0;
       r.state = 1;
     },
     "heartbeat_ns: written before anyone attached"},
    {"counters written without attaching",
     [](RawSlot& r) {
       r.attached_generation = r.attached_generation_after = 0;
       r.state = 1;
       r.heartbeat_ns = 0;
     },
     "requests_total: written before anyone attached"},
};

TEST(SlotValidation, HostileValuesAreDiagnosed) {
  for (const Case& c : kCases) {
    RawSlot r = healthy();
    c.mutate(r);
    SlotSnapshot s = validate_slot(r, book(), kNow);
    EXPECT_EQ(s.status, SlotStatus::kCorrupt) << c.name;
    EXPECT_THAT(s.problem, StartsWith(c.problem)) << c.name;
    EXPECT_EQ(s.generation, 7u) << c.name;  // still the supervisor's own
  }
}

TEST(SlotValidation, HeartbeatSlightlyAheadIsARace) {
  RawSlot r = healthy();
  r.heartbeat_ns = kNow + kHeartbeatFutureToleranceNs;
  EXPECT_EQ(validate_slot(r, book(), kNow).status, SlotStatus::kOk);
  r.heartbeat_ns += 1;
  EXPECT_EQ(validate_slot(r, book(), kNow).status, SlotStatus::kCorrupt);
}

TEST(SlotValidation, LimitsThemselvesAreAllowed) {
  RawSlot r = healthy();
  r.requests_total = kMaxRequestsTotal;
  r.in_flight = kMaxInFlight;
  EXPECT_EQ(validate_slot(r, book(), kNow).status, SlotStatus::kOk);
}

TEST(SlotValidation, EveryStateIsAccepted) {
  for (uint32_t st = kFirstState; st <= kLastState; ++st) {
    RawSlot r = healthy();
    r.state = st;
    SlotSnapshot s = validate_slot(r, book(), kNow);
    EXPECT_EQ(s.status, SlotStatus::kOk);
    EXPECT_EQ(static_cast<uint32_t>(s.state), st);
  }
}

TEST(SlotValidation, Names) {
  EXPECT_STREQ(to_string(SlotStatus::kCorrupt), "corrupt");
  EXPECT_STREQ(to_string(WorkerState::kDraining), "draining");
}

}  // namespace
}  // namespace corral::ipc
