// layout_mismatch(): what a worker refuses, and says, before touching a
// segment.
#include "ipc/header_check.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace corral::ipc {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;

RawHeader good(uint32_t slots = 4) {
  RawHeader h;
  h.magic = kMagic;
  h.layout_version = kLayoutVersion;
  h.slot_count = slots;
  h.record_size = sizeof(SlotRecord);
  h.slots_offset = kSlotsOffset;
  h.supervisor_pid = 1;
  return h;
}

TEST(HeaderCheck, AcceptsOurLayout) {
  EXPECT_EQ(layout_mismatch(good(), segment_size(4)), std::nullopt);
  EXPECT_EQ(layout_mismatch(good(kMaxSlots), segment_size(kMaxSlots)), std::nullopt);
}

TEST(HeaderCheck, WrongMagic) {
  RawHeader h = good();
  h.magic = 0x4141414141414141;
  auto why = layout_mismatch(h, segment_size(4));
  ASSERT_TRUE(why);
  EXPECT_THAT(*why, StartsWith("magic: 0x4141414141414141 is not a corral segment's"));
}

TEST(HeaderCheck, ZeroedSegmentHasNoMagic) {
  EXPECT_THAT(layout_mismatch(RawHeader{}, segment_size(4)).value(), StartsWith("magic:"));
}

TEST(HeaderCheck, FutureLayoutVersion) {
  RawHeader h = good();
  h.layout_version = kLayoutVersion + 1;
  auto why = layout_mismatch(h, segment_size(4));
  ASSERT_TRUE(why);
  EXPECT_THAT(*why, StartsWith("layout_version: the segment has layout 2, this build speaks 1"));
  EXPECT_THAT(*why, HasSubstr("different releases"));
}

TEST(HeaderCheck, VersionIsCheckedBeforeSizes) {
  // A newer layout may have other sizes; the version is the real reason.
  RawHeader h = good();
  h.layout_version = 7;
  h.record_size = 128;
  EXPECT_THAT(layout_mismatch(h, 12345).value(), StartsWith("layout_version:"));
}

TEST(HeaderCheck, RecordSize) {
  RawHeader h = good();
  h.record_size = 128;
  EXPECT_EQ(layout_mismatch(h, segment_size(4)).value(), "record_size: 128 bytes, expected 64");
}

TEST(HeaderCheck, SlotsOffset) {
  RawHeader h = good();
  h.slots_offset = 64;
  EXPECT_EQ(layout_mismatch(h, segment_size(4)).value(), "slots_offset: 64, expected 4096");
}

TEST(HeaderCheck, SlotCountOutOfRange) {
  RawHeader h = good(0);
  EXPECT_EQ(layout_mismatch(h, segment_size(0)).value(), "slot_count: 0 is outside 1..4096");
  h.slot_count = kMaxSlots + 1;
  EXPECT_THAT(layout_mismatch(h, segment_size(kMaxSlots + 1)).value(), StartsWith("slot_count:"));
}

TEST(HeaderCheck, SizeMustMatchSlotCount) {
  // A slot count that claims more than the segment holds would send a
  // reader past the end of its mapping.
  EXPECT_EQ(layout_mismatch(good(4), segment_size(3)).value(),
            "size: the segment is 4288 bytes, 4 slots need 4352");
  EXPECT_THAT(layout_mismatch(good(4), segment_size(5)).value(), StartsWith("size:"));
}

}  // namespace
}  // namespace corral::ipc
