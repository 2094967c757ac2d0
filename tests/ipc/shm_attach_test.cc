// The worker's attach refuses whatever is not a segment it can use, and says
// why, before writing a byte.
#include <fcntl.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cstdlib>

#include "tests/ipc/segment_fixture.h"

namespace corral::ipc {
namespace {

using ::testing::HasSubstr;
using testing::make_segment;
using testing::RawView;

AttachError refusal(const std::string& name, std::string_view slot) {
  auto outcome = ShmAttachment::open(name, slot);
  if (auto* e = std::get_if<AttachError>(&outcome)) return *e;
  ADD_FAILURE() << "attached to " << name << " slot " << slot;
  return AttachError{AttachFailure::kNotSupervised, ""};
}

TEST(ShmAttach, WrongMagic) {
  ShmSegment seg = make_segment(2);
  seg.assign_slot(0);
  RawView raw(seg.name());
  reinterpret_cast<SegmentHeader*>(raw.bytes())->magic.store(0x4141414141414141);
  AttachError e = refusal(seg.name(), "0");
  EXPECT_EQ(e.failure, AttachFailure::kWrongLayout);
  EXPECT_THAT(e.message, HasSubstr(seg.name()));
  EXPECT_THAT(e.message, HasSubstr("magic: 0x4141414141414141 is not a corral segment's"));
  // Nothing was claimed.
  EXPECT_EQ(reinterpret_cast<SlotRecord*>(raw.bytes() + kSlotsOffset)->attached_generation.load(),
            0u);
}

TEST(ShmAttach, FutureLayoutVersion) {
  ShmSegment seg = make_segment(2);
  seg.assign_slot(0);
  RawView raw(seg.name());
  reinterpret_cast<SegmentHeader*>(raw.bytes())->layout_version.store(kLayoutVersion + 1);
  AttachError e = refusal(seg.name(), "0");
  EXPECT_EQ(e.failure, AttachFailure::kWrongLayout);
  EXPECT_THAT(e.message,
              HasSubstr("layout_version: the segment has layout 2, this build speaks 1"));
}

TEST(ShmAttach, SlotCountBeyondTheSegment) {
  ShmSegment seg = make_segment(2);
  RawView raw(seg.name());
  reinterpret_cast<SegmentHeader*>(raw.bytes())->slot_count.store(1000);
  AttachError e = refusal(seg.name(), "999");
  EXPECT_EQ(e.failure, AttachFailure::kWrongLayout);
  EXPECT_THAT(e.message, HasSubstr("size: the segment is 4224 bytes, 1000 slots need"));
}

TEST(ShmAttach, TooSmallToHoldAHeader) {
  std::string name = "/corral-" + testing::unique_name() + "-tiny";
  int fd = ::shm_open(name.c_str(), O_CREAT | O_EXCL | O_RDWR | O_CLOEXEC, 0600);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(::ftruncate(fd, 10), 0);
  ::close(fd);
  AttachError e = refusal(name, "0");
  ::shm_unlink(name.c_str());
  EXPECT_EQ(e.failure, AttachFailure::kWrongLayout);
  EXPECT_THAT(e.message, HasSubstr("size: 10 bytes is smaller than a header"));
}

TEST(ShmAttach, TruncatedBelowWhatItsHeaderClaims) {
  // Someone ftruncated /dev/shm/corral-*: the slot pages are gone, and
  // touching them would raise SIGBUS. Attach measures the segment first.
  ShmSegment seg = make_segment(4);
  seg.assign_slot(3);
  int fd = ::shm_open(seg.name().c_str(), O_RDWR | O_CLOEXEC, 0);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(::ftruncate(fd, static_cast<off_t>(segment_size(2))), 0);
  AttachError e = refusal(seg.name(), "3");
  EXPECT_EQ(e.failure, AttachFailure::kWrongLayout);
  EXPECT_THAT(e.message, HasSubstr("size: the segment is 4224 bytes, 4 slots need 4352"));
  // Down to nothing: not even the header may be read.
  ASSERT_EQ(::ftruncate(fd, 0), 0);
  ::close(fd);
  e = refusal(seg.name(), "0");
  EXPECT_EQ(e.failure, AttachFailure::kWrongLayout);
  EXPECT_THAT(e.message, HasSubstr("size: 0 bytes is smaller than a header"));
}

TEST(ShmAttach, SegmentGone) {
  AttachError e = refusal("/corral-no-such-segment-1", "0");
  EXPECT_EQ(e.failure, AttachFailure::kCannotOpen);
  EXPECT_THAT(e.message, HasSubstr("/corral-no-such-segment-1"));
}

TEST(ShmAttach, MalformedEnvironmentValues) {
  ShmSegment seg = make_segment(2);
  EXPECT_EQ(refusal("no-slash", "0").failure, AttachFailure::kBadEnvironment);
  EXPECT_EQ(refusal("/a/b", "0").failure, AttachFailure::kBadEnvironment);
  EXPECT_EQ(refusal("/", "0").failure, AttachFailure::kBadEnvironment);
  for (const char* slot : {"", "-1", "1x", " 1", "99999999999"}) {
    AttachError e = refusal(seg.name(), slot);
    EXPECT_EQ(e.failure, AttachFailure::kBadEnvironment) << slot;
    EXPECT_THAT(e.message, HasSubstr("CORRAL_SLOT")) << slot;
  }
}

TEST(ShmAttach, SlotOutOfRange) {
  ShmSegment seg = make_segment(2);
  AttachError e = refusal(seg.name(), "2");
  EXPECT_EQ(e.failure, AttachFailure::kBadSlot);
  EXPECT_THAT(e.message, HasSubstr("slot 2 is outside 0..1"));
}

TEST(ShmAttach, SlotNeverPrepared) {
  ShmSegment seg = make_segment(2);
  AttachError e = refusal(seg.name(), "1");
  EXPECT_EQ(e.failure, AttachFailure::kBadSlot);
  EXPECT_THAT(e.message, HasSubstr("never prepared"));
}

TEST(ShmAttach, NotSupervisedWithoutCorralShm) {
  const char* saved = std::getenv("CORRAL_SHM");
  std::string keep = saved ? saved : "";
  ::unsetenv("CORRAL_SHM");
  auto outcome = ShmAttachment::open_from_environment();
  if (saved) ::setenv("CORRAL_SHM", keep.c_str(), 1);
  auto* e = std::get_if<AttachError>(&outcome);
  ASSERT_NE(e, nullptr);
  EXPECT_EQ(e->failure, AttachFailure::kNotSupervised);
}

TEST(ShmAttach, FromEnvironment) {
  ShmSegment seg = make_segment(3);
  seg.assign_slot(2);
  ::setenv("CORRAL_SHM", seg.name().c_str(), 1);
  ::setenv("CORRAL_SLOT", "2", 1);
  auto outcome = ShmAttachment::open_from_environment();
  ::unsetenv("CORRAL_SHM");
  ::unsetenv("CORRAL_SLOT");
  ASSERT_TRUE(std::holds_alternative<ShmAttachment>(outcome));
  EXPECT_EQ(std::get<ShmAttachment>(outcome).slot_index(), 2u);
}

TEST(ShmAttach, HeaderIsMappedReadOnly) {
  // A stray write through the header a worker holds faults in the worker,
  // not in the supervisor's header.
  ShmSegment seg = make_segment(1);
  seg.assign_slot(0);
  auto outcome = ShmAttachment::open(seg.name(), "0");
  ASSERT_TRUE(std::holds_alternative<ShmAttachment>(outcome));
  const SegmentHeader& h = std::get<ShmAttachment>(outcome).header();
  EXPECT_DEATH(const_cast<SegmentHeader&>(h).magic.store(0), "");
}

}  // namespace
}  // namespace corral::ipc
