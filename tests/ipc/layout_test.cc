// The layout's facts, as another process (or another language) relies on
// them: sizes, offsets, alignment, the magic's bytes. shm_layout.h asserts
// them at compile time; this documents them at run time.
#include <gtest/gtest.h>

#include <cstring>

#include "ipc/shm_layout.h"

namespace corral::ipc {
namespace {

TEST(Layout, HeaderIsOneCacheLine) {
  EXPECT_EQ(sizeof(SegmentHeader), 64u);
  EXPECT_EQ(alignof(SegmentHeader), 64u);
  EXPECT_EQ(offsetof(SegmentHeader, supervisor_heartbeat_ns), 32u);
}

TEST(Layout, SlotRecordIsOneCacheLine) {
  EXPECT_EQ(sizeof(SlotRecord), 64u);
  EXPECT_EQ(alignof(SlotRecord), 64u);
  EXPECT_EQ(offsetof(SlotRecord, heartbeat_ns), 32u);
  EXPECT_EQ(offsetof(SlotRecord, in_flight), 48u);
}

TEST(Layout, SlotsStartOnTheirOwnPage) {
  EXPECT_EQ(kSlotsOffset, 4096u);
  EXPECT_EQ(segment_size(1), 4096u + 64u);
  EXPECT_EQ(segment_size(256), 4096u + 256u * 64u);
}

TEST(Layout, AtomicsAreLockFreeAndPlain) {
  EXPECT_TRUE(std::atomic<uint64_t>::is_always_lock_free);
  EXPECT_TRUE(std::atomic<uint32_t>::is_always_lock_free);
  EXPECT_EQ(sizeof(std::atomic<uint64_t>), sizeof(uint64_t));
}

TEST(Layout, MagicSpellsCorralsh) {
  char bytes[8];
  std::memcpy(bytes, &kMagic, sizeof bytes);
  EXPECT_EQ(std::string(bytes, 8), "CORRALSH");
}

TEST(Layout, StatesAreOneToFour) {
  EXPECT_EQ(static_cast<uint32_t>(WorkerState::kStarting), kFirstState);
  EXPECT_EQ(static_cast<uint32_t>(WorkerState::kStopped), kLastState);
}

TEST(Layout, LimitsKeepSumsInSixtyFourBits) {
  EXPECT_LE(kMaxRequestsTotal, UINT64_MAX / kMaxSlots);
  EXPECT_LE(kMaxInFlight, UINT64_MAX / kMaxSlots);
  EXPECT_LE(kMaxRequestsTotal, uint64_t{1} << 53);  // exact as a double
}

TEST(Layout, VersionIsOne) {
  // Changing the layout means bumping this, and this test with it.
  EXPECT_EQ(kLayoutVersion, 1u);
}

}  // namespace
}  // namespace corral::ipc
