// A hostile worker flips bytes anywhere in the segment. For each flip, the
// supervisor's diagnosis is exactly the field that byte belongs to (or the
// flip is harmless and the snapshot shows the new, valid value), other slots
// are unaffected, and nothing crashes.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstring>
#include <random>

#include "tests/ipc/segment_fixture.h"

namespace corral::ipc {
namespace {

using testing::attach;
using testing::make_segment;
using testing::RawView;
using ::testing::StartsWith;

struct Field {
  const char* name;
  std::size_t offset;
  std::size_t size;
};

constexpr Field kHeaderFields[] = {
    {"magic", 0, 8},         {"layout_version", 8, 4},
    {"slot_count", 12, 4},   {"record_size", 16, 4},
    {"slots_offset", 20, 4}, {"supervisor_pid", 24, 4},
    {"reserved0", 28, 4},    {"supervisor_heartbeat_ns", 32, 8},
    {"reserved1", 40, 8},    {"reserved2", 48, 8},
    {"reserved3", 56, 8},
};

constexpr Field kSlotFields[] = {
    {"generation", 0, 8},       {"pid", 8, 4},
    {"drain_requested", 12, 4}, {"attached_generation", 16, 8},
    {"state", 24, 4},           {"reserved0", 28, 4},
    {"heartbeat_ns", 32, 8},    {"requests_total", 40, 8},
    {"in_flight", 48, 8},       {"reserved1", 56, 8},
};

template <std::size_t N>
const Field& field_at(const Field (&fields)[N], std::size_t offset) {
  for (const Field& f : fields) {
    if (offset >= f.offset && offset < f.offset + f.size) return f;
  }
  std::abort();
}

uint64_t read_field(const unsigned char* record, const Field& f) {
  uint64_t v = 0;
  std::memcpy(&v, record + f.offset, f.size);  // little-endian, as the layout
  return v;
}

constexpr int kSlots = 3;
constexpr int kVictim = 1;

// A segment whose three slots hold healthy, ready workers.
struct Scene {
  ShmSegment seg = make_segment(kSlots);
  std::vector<ShmAttachment> workers;
  uint64_t assigned_at = 0;

  Scene() {
    assigned_at = monotonic_now_ns();
    for (int i = 0; i < kSlots; ++i) {
      seg.assign_slot(i, assigned_at);
      seg.set_slot_pid(i, 1000 + i);
      workers.push_back(attach(seg, i));
      SlotRecord& r = workers.back().slot();
      r.state.store(static_cast<uint32_t>(WorkerState::kReady));
      r.heartbeat_ns.store(assigned_at + 1000);
      r.requests_total.store(1000);
      r.in_flight.store(7);
      EXPECT_EQ(seg.read_slot(i).status, SlotStatus::kOk);
    }
  }
};

// What the supervisor must conclude from a slot field holding `v` (every
// other field healthy). Mirrors docs/shm-layout.md's validation rules.
struct Expected {
  SlotStatus status;
  std::string problem_prefix;  // for kCorrupt
};

Expected expected_for(const Field& f, uint64_t v, uint64_t now, uint64_t assigned_at) {
  std::string name = f.name;
  auto corrupt = [&](std::string prefix) { return Expected{SlotStatus::kCorrupt, prefix}; };
  if (name == "generation" || name == "pid" || name == "drain_requested" || name == "reserved0" ||
      name == "reserved1") {
    return corrupt(name + ":");  // supervisor-owned or reserved: any change
  }
  if (name == "attached_generation") {
    if (v > 1) return corrupt("attached_generation:");
    return corrupt("state:");  // 0: "ready" written before anyone attached
  }
  if (name == "state") {
    if (v >= kFirstState && v <= kLastState) return {SlotStatus::kOk, ""};
    return corrupt("state:");
  }
  if (name == "heartbeat_ns") {
    if (v == 0) return {SlotStatus::kOk, ""};
    // A worker's coarse clock may lag the assignment by up to kCoarseClockLagNs.
    if (v > now + kHeartbeatFutureToleranceNs || v + kCoarseClockLagNs < assigned_at) {
      return corrupt("heartbeat_ns:");
    }
    return {SlotStatus::kOk, ""};
  }
  if (name == "requests_total") {
    if (v > kMaxRequestsTotal || v < 1000) return corrupt("requests_total:");
    return {SlotStatus::kOk, ""};
  }
  if (name == "in_flight") {
    if (v > kMaxInFlight) return corrupt("in_flight:");
    return {SlotStatus::kOk, ""};
  }
  std::abort();
}

TEST(Corruption, EveryBitOfASlotRecord) {
  for (std::size_t byte = 0; byte < sizeof(SlotRecord); ++byte) {
    for (int bit = 0; bit < 8; ++bit) {
      Scene scene;
      RawView raw(scene.seg.name());
      unsigned char* record = raw.bytes() + kSlotsOffset + kVictim * sizeof(SlotRecord);
      const Field& f = field_at(kSlotFields, byte);
      record[byte] ^= static_cast<unsigned char>(1u << bit);
      uint64_t value = read_field(record, f);

      uint64_t now = monotonic_now_ns();
      Expected want = expected_for(f, value, now, scene.assigned_at);
      SlotSnapshot s = scene.seg.read_slot(kVictim, now);
      SCOPED_TRACE(::testing::Message()
                   << "byte " << byte << " bit " << bit << " (" << f.name << " = " << value << ")");
      EXPECT_EQ(s.status, want.status) << s.problem;
      if (want.status == SlotStatus::kCorrupt) {
        EXPECT_THAT(s.problem, StartsWith(want.problem_prefix));
      } else if (std::string(f.name) == "state") {
        EXPECT_EQ(static_cast<uint64_t>(s.state), value);
      } else if (std::string(f.name) == "requests_total") {
        EXPECT_EQ(s.requests_total, value);
      } else if (std::string(f.name) == "in_flight") {
        EXPECT_EQ(s.in_flight, value);
      }
      EXPECT_EQ(s.generation, 1u);  // the supervisor's own, whatever the bytes say
      // One slot's bytes never affect another's diagnosis, or the header.
      for (int other = 0; other < kSlots; ++other) {
        if (other != kVictim) {
          EXPECT_EQ(scene.seg.read_slot(other).status, SlotStatus::kOk);
        }
      }
      EXPECT_EQ(scene.seg.check_and_repair_header(), std::nullopt);
    }
  }
}

TEST(Corruption, EveryBitOfTheHeader) {
  for (std::size_t byte = 0; byte < sizeof(SegmentHeader); ++byte) {
    for (int bit = 0; bit < 8; ++bit) {
      Scene scene;
      RawView raw(scene.seg.name());
      const Field& f = field_at(kHeaderFields, byte);
      raw.bytes()[byte] ^= static_cast<unsigned char>(1u << bit);
      SCOPED_TRACE(::testing::Message() << "header byte " << byte << " bit " << bit);

      // A worker would now refuse the segment, except for the fields it
      // does not check (pid, heartbeat, reserved).
      auto outcome = ShmAttachment::open(scene.seg.name(), "0");
      bool checked = std::string(f.name) == "magic" || std::string(f.name) == "layout_version" ||
                     std::string(f.name) == "slot_count" || std::string(f.name) == "record_size" ||
                     std::string(f.name) == "slots_offset";
      if (checked) {
        auto* e = std::get_if<AttachError>(&outcome);
        ASSERT_NE(e, nullptr);
        EXPECT_EQ(e->failure, AttachFailure::kWrongLayout);
      }

      auto problem = scene.seg.check_and_repair_header();
      ASSERT_TRUE(problem);
      EXPECT_THAT(*problem, StartsWith(std::string(f.name) + ":"));
      EXPECT_EQ(scene.seg.check_and_repair_header(), std::nullopt);  // repaired
      // Slots are read against the supervisor's own copy of the header, so
      // none is blamed for it.
      for (int i = 0; i < kSlots; ++i) EXPECT_EQ(scene.seg.read_slot(i).status, SlotStatus::kOk);
    }
  }
}

TEST(Corruption, TheGapBeforeTheSlotsIsNeverRead) {
  Scene scene;
  RawView raw(scene.seg.name());
  std::memset(raw.bytes() + sizeof(SegmentHeader), 0xff, kSlotsOffset - sizeof(SegmentHeader));
  EXPECT_EQ(scene.seg.check_and_repair_header(), std::nullopt);
  for (int i = 0; i < kSlots; ++i) EXPECT_EQ(scene.seg.read_slot(i).status, SlotStatus::kOk);
}

TEST(Corruption, RandomBytesOverTheWholeSegment) {
  // The worst worker: random bytes everywhere, many times over. Nothing
  // crashes; every assigned slot reads as something other than a healthy
  // worker's figures unless the bytes happen to be valid; the header is
  // repaired; a free slot stays free.
  std::mt19937_64 rng(20240601);
  for (int round = 0; round < 200; ++round) {
    Scene scene;
    scene.seg.release_slot(2);
    RawView raw(scene.seg.name());
    for (std::size_t i = 0; i < raw.size(); ++i) raw.bytes()[i] = static_cast<unsigned char>(rng());

    EXPECT_THAT(scene.seg.check_and_repair_header().value_or(""), StartsWith("magic:"));
    for (int i = 0; i < 2; ++i) {
      SlotSnapshot s = scene.seg.read_slot(i);
      EXPECT_EQ(s.status, SlotStatus::kCorrupt);  // generation is 64 random bits
      EXPECT_EQ(s.generation, 1u);
    }
    EXPECT_EQ(scene.seg.read_slot(2).status, SlotStatus::kFree);
    EXPECT_EQ(scene.seg.check_and_repair_header(), std::nullopt);

    // The supervisor recovers each slot by replacing its worker.
    scene.seg.assign_slot(0);
    auto fresh = ShmAttachment::open(scene.seg.name(), "0");
    ASSERT_TRUE(std::holds_alternative<ShmAttachment>(fresh));
    EXPECT_EQ(scene.seg.read_slot(0).status, SlotStatus::kOk);
  }
}

}  // namespace
}  // namespace corral::ipc
