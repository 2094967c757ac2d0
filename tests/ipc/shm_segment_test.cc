// The supervisor's side against a real segment in /dev/shm, with the
// worker's side played in this process or in a forked child.
#include <dirent.h>
#include <fcntl.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <functional>
#include <vector>

#include "tests/ipc/segment_fixture.h"

namespace corral::ipc {
namespace {

using testing::attach;
using testing::make_segment;
using testing::RawView;
using ::testing::StartsWith;
using testing::unique_name;

bool exists(const std::string& shm_name) {
  struct stat st {};
  return ::stat(("/dev/shm" + shm_name).c_str(), &st) == 0;
}

TEST(ShmSegment, CreatesOwnerOnlySegmentNamedAfterUs) {
  std::string name = unique_name();
  auto seg = ShmSegment::create(name, 3);
  ASSERT_TRUE(seg.ok()) << seg.error().message;
  EXPECT_EQ(seg->name(), "/corral-" + name + "-" + std::to_string(::getpid()));
  EXPECT_EQ(seg->slot_count(), 3);
  struct stat st {};
  ASSERT_EQ(::stat(("/dev/shm" + seg->name()).c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  EXPECT_EQ(static_cast<std::size_t>(st.st_size), segment_size(3));
}

// This process's descriptors that refer to the segment's file.
std::vector<int> fds_on(const std::string& shm_name) {
  std::vector<int> fds;
  DIR* dir = ::opendir("/proc/self/fd");
  while (const dirent* e = ::readdir(dir)) {
    char target[512] = {};
    std::string link = std::string("/proc/self/fd/") + e->d_name;
    ssize_t n = ::readlink(link.c_str(), target, sizeof target - 1);
    if (n > 0 && std::string(target) == "/dev/shm" + shm_name) fds.push_back(std::atoi(e->d_name));
  }
  ::closedir(dir);
  return fds;
}

TEST(ShmSegment, ItsDescriptorIsCloseOnExec) {
  // No descriptor of the supervisor leaks into a worker.
  ShmSegment seg = make_segment(1);
  std::vector<int> fds = fds_on(seg.name());
  ASSERT_EQ(fds.size(), 1u);
  EXPECT_TRUE(::fcntl(fds[0], F_GETFD) & FD_CLOEXEC);
}

TEST(ShmSegment, AttachKeepsNoDescriptor) {
  ShmSegment seg = make_segment(1);
  seg.assign_slot(0);
  std::size_t before = fds_on(seg.name()).size();
  ShmAttachment a = attach(seg, 0);
  EXPECT_EQ(fds_on(seg.name()).size(), before);  // the mappings stay, the fd went
}

TEST(ShmSegment, HeaderIsWritten) {
  ShmSegment seg = make_segment(2);
  RawView raw(seg.name());
  RawHeader h = load_header(*reinterpret_cast<const SegmentHeader*>(raw.bytes()));
  EXPECT_EQ(h.magic, kMagic);
  EXPECT_EQ(h.layout_version, kLayoutVersion);
  EXPECT_EQ(h.slot_count, 2u);
  EXPECT_EQ(h.record_size, 64u);
  EXPECT_EQ(h.slots_offset, 4096u);
  EXPECT_EQ(h.supervisor_pid, static_cast<uint32_t>(::getpid()));
  EXPECT_GT(h.supervisor_heartbeat_ns, 0u);
  EXPECT_EQ(seg.check_and_repair_header(), std::nullopt);
}

TEST(ShmSegment, RemovedWhenDestroyed) {
  std::string shm_name;
  {
    ShmSegment seg = make_segment(1);
    shm_name = seg.name();
    EXPECT_TRUE(exists(shm_name));
  }
  EXPECT_FALSE(exists(shm_name));
}

TEST(ShmSegment, MovedFromDoesNotRemove) {
  ShmSegment a = make_segment(1);
  std::string shm_name = a.name();
  {
    ShmSegment b = std::move(a);
    EXPECT_TRUE(exists(shm_name));
    EXPECT_EQ(b.name(), shm_name);
  }
  EXPECT_FALSE(exists(shm_name));
}

TEST(ShmSegment, RejectsBadNamesAndCounts) {
  for (const char* bad : {"", "a/b", "with space", "dollar$"}) {
    auto seg = ShmSegment::create(bad, 1);
    ASSERT_FALSE(seg.ok()) << bad;
    EXPECT_THAT(seg.error().message, StartsWith("shared memory: name"));
  }
  EXPECT_FALSE(ShmSegment::create(unique_name(), 0).ok());
  EXPECT_FALSE(ShmSegment::create(unique_name(), kMaxSlots + 1).ok());
  EXPECT_EQ(ShmSegment::create(unique_name(), 1).ok(), true);
}

TEST(ShmSegment, ReplacesALeftoverWithOurPid) {
  std::string name = unique_name();
  std::string shm_name = "/corral-" + name + "-" + std::to_string(::getpid());
  int fd = ::shm_open(shm_name.c_str(), O_CREAT | O_EXCL | O_RDWR | O_CLOEXEC, 0600);
  ASSERT_GE(fd, 0);
  ::close(fd);
  auto seg = ShmSegment::create(name, 1);
  ASSERT_TRUE(seg.ok()) << seg.error().message;
  EXPECT_EQ(seg->check_and_repair_header(), std::nullopt);
}

TEST(ShmSegment, FreeSlotReadsFree) {
  ShmSegment seg = make_segment(2);
  EXPECT_EQ(seg.read_slot(0).status, SlotStatus::kFree);
}

TEST(ShmSegment, AssignedButNotAttached) {
  ShmSegment seg = make_segment(2);
  EXPECT_EQ(seg.assign_slot(1), 1u);
  seg.set_slot_pid(1, 999999);
  SlotSnapshot s = seg.read_slot(1);
  EXPECT_EQ(s.status, SlotStatus::kNotAttached) << s.problem;
  EXPECT_EQ(s.generation, 1u);
}

TEST(ShmSegment, RoundTripInOneProcess) {
  ShmSegment seg = make_segment(4);
  uint64_t gen = seg.assign_slot(2);
  ShmAttachment a = attach(seg, 2);
  EXPECT_EQ(a.generation(), gen);
  EXPECT_EQ(a.slot_index(), 2u);
  EXPECT_EQ(seg.read_slot(2).status, SlotStatus::kOk);
  EXPECT_EQ(seg.read_slot(2).state, WorkerState::kStarting);
  EXPECT_EQ(seg.read_slot(2).heartbeat_ns, std::nullopt);

  uint64_t beat = monotonic_now_ns();
  a.slot().heartbeat_ns.store(beat);
  a.slot().state.store(static_cast<uint32_t>(WorkerState::kReady));
  a.slot().requests_total.store(5);
  a.slot().in_flight.store(2);
  SlotSnapshot s = seg.read_slot(2);
  ASSERT_EQ(s.status, SlotStatus::kOk) << s.problem;
  EXPECT_EQ(s.state, WorkerState::kReady);
  EXPECT_EQ(s.heartbeat_ns, beat);
  EXPECT_EQ(s.requests_total, 5u);
  EXPECT_EQ(s.in_flight, 2u);
  // Other slots are untouched.
  EXPECT_EQ(seg.read_slot(1).status, SlotStatus::kFree);
}

TEST(ShmSegment, DrainRequestReachesTheWorker) {
  ShmSegment seg = make_segment(1);
  seg.assign_slot(0);
  ShmAttachment a = attach(seg, 0);
  EXPECT_EQ(a.slot().drain_requested.load(), 0u);
  seg.request_drain(0);
  EXPECT_EQ(a.slot().drain_requested.load(), 1u);
  EXPECT_EQ(seg.read_slot(0).status, SlotStatus::kOk);
  seg.request_drain(0, false);
  EXPECT_EQ(a.slot().drain_requested.load(), 0u);
}

TEST(ShmSegment, SupervisorHeartbeatReachesTheWorker) {
  ShmSegment seg = make_segment(1);
  seg.assign_slot(0);
  ShmAttachment a = attach(seg, 0);
  seg.heartbeat(123456789);
  EXPECT_EQ(a.header().supervisor_heartbeat_ns.load(), 123456789u);
  EXPECT_EQ(seg.check_and_repair_header(), std::nullopt);
}

TEST(ShmSegment, NewGenerationClearsTheRecord) {
  ShmSegment seg = make_segment(1);
  seg.assign_slot(0);
  {
    ShmAttachment a = attach(seg, 0);
    a.slot().heartbeat_ns.store(monotonic_now_ns());
    a.slot().state.store(static_cast<uint32_t>(WorkerState::kStopped));
    a.slot().requests_total.store(100);
  }
  seg.request_drain(0);
  seg.release_slot(0);
  EXPECT_EQ(seg.read_slot(0).status, SlotStatus::kFree);

  EXPECT_EQ(seg.assign_slot(0), 2u);
  SlotSnapshot s = seg.read_slot(0);
  EXPECT_EQ(s.status, SlotStatus::kNotAttached) << s.problem;
  ShmAttachment b = attach(seg, 0);
  EXPECT_EQ(b.generation(), 2u);
  EXPECT_EQ(b.slot().drain_requested.load(), 0u);
  s = seg.read_slot(0);
  ASSERT_EQ(s.status, SlotStatus::kOk) << s.problem;
  EXPECT_EQ(s.state, WorkerState::kStarting);
  EXPECT_EQ(s.heartbeat_ns, std::nullopt);
  EXPECT_EQ(s.requests_total, 0u);  // not "went backwards": a new worker
}

TEST(ShmSegment, RoundTripAcrossFork) {
  ShmSegment seg = make_segment(2);
  seg.assign_slot(1);
  int go[2];
  ASSERT_EQ(::pipe2(go, O_CLOEXEC), 0);
  pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    // The worker: attach by name (as CORRAL_SHM says), beat, report ready,
    // then wait for the drain request.
    auto outcome = ShmAttachment::open(seg.name(), "1");
    auto* a = std::get_if<ShmAttachment>(&outcome);
    if (a == nullptr) _exit(10);
    a->slot().heartbeat_ns.store(monotonic_now_ns());
    a->slot().requests_total.store(42);
    a->slot().state.store(static_cast<uint32_t>(WorkerState::kReady), std::memory_order_release);
    char c;
    if (::read(go[0], &c, 1) != 1) _exit(11);
    if (a->slot().drain_requested.load() != 1) _exit(12);
    a->slot().state.store(static_cast<uint32_t>(WorkerState::kStopped));
    _exit(0);
  }
  ::close(go[0]);
  seg.set_slot_pid(1, child);
  SlotSnapshot s;
  for (int i = 0; i < 500; ++i) {
    s = seg.read_slot(1);
    if (s.status == SlotStatus::kOk && s.state == WorkerState::kReady) break;
    ::usleep(10'000);
  }
  ASSERT_EQ(s.status, SlotStatus::kOk) << s.problem;
  EXPECT_EQ(s.state, WorkerState::kReady);
  EXPECT_TRUE(s.heartbeat_ns.has_value());
  EXPECT_EQ(s.requests_total, 42u);
  seg.request_drain(1);
  ASSERT_EQ(::write(go[1], "x", 1), 1);
  ::close(go[1]);
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;
  s = seg.read_slot(1);
  EXPECT_EQ(s.status, SlotStatus::kOk) << s.problem;
  EXPECT_EQ(s.state, WorkerState::kStopped);
}

TEST(ShmSegment, SecondProcessCannotTakeAnAttachedSlot) {
  ShmSegment seg = make_segment(1);
  seg.assign_slot(0);
  seg.set_slot_pid(0, ::getpid());
  ShmAttachment first = attach(seg, 0);
  pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    auto outcome = ShmAttachment::open(seg.name(), "0");
    auto* e = std::get_if<AttachError>(&outcome);
    _exit(e != nullptr && e->failure == AttachFailure::kSlotTaken ? 0 : 1);
  }
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  // The worker itself may attach again (it re-executed, say).
  auto again = ShmAttachment::open(seg.name(), "0");
  EXPECT_TRUE(std::holds_alternative<ShmAttachment>(again));
}

TEST(ShmSegment, OverwrittenHeaderIsReportedAndRepaired) {
  ShmSegment seg = make_segment(2);
  RawView raw(seg.name());
  auto* h = reinterpret_cast<SegmentHeader*>(raw.bytes());
  h->layout_version.store(99);
  auto problem = seg.check_and_repair_header();
  ASSERT_TRUE(problem);
  EXPECT_EQ(*problem, "layout_version: the segment says 99, the supervisor wrote 1");
  EXPECT_EQ(h->layout_version.load(), kLayoutVersion);
  EXPECT_EQ(seg.check_and_repair_header(), std::nullopt);

  h->supervisor_heartbeat_ns.store(1);
  EXPECT_THAT(seg.check_and_repair_header().value(), StartsWith("supervisor_heartbeat_ns:"));
  h->supervisor_pid.store(1);
  EXPECT_THAT(seg.check_and_repair_header().value(), StartsWith("supervisor_pid:"));
  EXPECT_EQ(seg.check_and_repair_header(), std::nullopt);
}

TEST(ShmSegment, TruncatedSegmentIsNotReadAndIsRestored) {
  // A worker that truncates the segment would make every read of the lost
  // pages fault. The supervisor looks at the size before reading.
  ShmSegment seg = make_segment(2);
  seg.assign_slot(1);
  ShmAttachment a = attach(seg, 1);
  int fd = ::shm_open(seg.name().c_str(), O_RDWR | O_CLOEXEC, 0);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(::ftruncate(fd, 100), 0);
  ::close(fd);

  SlotSnapshot s = seg.read_slot(1);
  EXPECT_EQ(s.status, SlotStatus::kCorrupt);
  EXPECT_EQ(s.problem, "size: the segment was resized");

  auto problem = seg.check_and_repair_header();
  ASSERT_TRUE(problem);
  EXPECT_EQ(*problem, "size: the segment is 100 bytes, not 4224");
  // The lost bytes came back as zeros: the slot's generation is gone.
  s = seg.read_slot(1);
  EXPECT_EQ(s.status, SlotStatus::kCorrupt);
  EXPECT_THAT(s.problem, StartsWith("generation:"));
  EXPECT_EQ(seg.check_and_repair_header(), std::nullopt);
  // A new worker in the slot works again.
  seg.assign_slot(1);
  auto b = ShmAttachment::open(seg.name(), "1");
  ASSERT_TRUE(std::holds_alternative<ShmAttachment>(b));
  EXPECT_EQ(seg.read_slot(1).status, SlotStatus::kOk);
}

TEST(ShmSegment, SegmentTruncatedToNothingIsNeitherReadNorWritten) {
  // At size 0 even the header's page is gone: any load or store through
  // the mapping would SIGBUS the supervisor. Reads refuse; writes restore
  // the size first, and the next header check reports what happened.
  ShmSegment seg = make_segment(2);
  seg.assign_slot(0);
  auto truncate_to_nothing = [&] {
    int fd = ::shm_open(seg.name().c_str(), O_RDWR | O_CLOEXEC, 0);
    ASSERT_GE(fd, 0);
    ASSERT_EQ(::ftruncate(fd, 0), 0);
    ::close(fd);
  };
  truncate_to_nothing();
  EXPECT_EQ(seg.read_slot(0).problem, "size: the segment was resized");
  seg.heartbeat();
  auto problem = seg.check_and_repair_header();
  ASSERT_TRUE(problem);
  EXPECT_EQ(*problem, "size: the segment is 0 bytes, not 4224");
  EXPECT_EQ(seg.check_and_repair_header(), std::nullopt);

  // Every other write, each on a freshly truncated segment.
  const std::vector<std::function<void()>> writes = {
      [&] { seg.set_slot_pid(0, 1234); }, [&] { seg.request_drain(0); },
      [&] { seg.release_slot(0); }, [&] { seg.assign_slot(1); }};
  for (const auto& write : writes) {
    truncate_to_nothing();
    write();
    EXPECT_EQ(seg.check_and_repair_header().value_or(""), "size: the segment is 0 bytes, not 4224");
  }
  // Whole again: a new worker in the slot attaches and reads as usual.
  seg.assign_slot(0);
  ShmAttachment a = attach(seg, 0);
  EXPECT_EQ(seg.read_slot(0).status, SlotStatus::kOk);
}

TEST(ShmSegment, BadSlotNumberIsAProgrammingError) {
  ShmSegment seg = make_segment(2);
  EXPECT_DEATH(seg.read_slot(2), "read_slot\\(slot 2\\) outside 0..1");
  EXPECT_DEATH(seg.assign_slot(-1), "assign_slot");
}

}  // namespace
}  // namespace corral::ipc
