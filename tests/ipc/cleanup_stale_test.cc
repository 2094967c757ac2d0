// cleanup_stale(): a killed supervisor's segment is removed at the next
// start; segments of live processes, of other names and our own stay.
#include <fcntl.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>

#include "tests/ipc/segment_fixture.h"

namespace corral::ipc {
namespace {

using ::testing::ElementsAre;

pid_t dead_pid() {
  pid_t child = ::fork();
  if (child == 0) _exit(0);
  ::waitpid(child, nullptr, 0);
  return child;  // reaped: nobody has this pid now (until it is reused)
}

void make_shm(const std::string& shm_name) {
  int fd = ::shm_open(shm_name.c_str(), O_CREAT | O_RDWR | O_CLOEXEC, 0600);
  ASSERT_GE(fd, 0) << shm_name;
  ::close(fd);
}

bool exists(const std::string& shm_name) {
  struct stat st {};
  return ::stat(("/dev/shm" + shm_name).c_str(), &st) == 0;
}

TEST(CleanupStale, RemovesOnlyDeadSupervisorsSegmentsOfThisName) {
  std::string name = testing::unique_name();
  std::string dead = "/corral-" + name + "-" + std::to_string(dead_pid());
  std::string alive = "/corral-" + name + "-" + std::to_string(::getppid());
  std::string other_name = "/corral-" + name + "-x-" + std::to_string(dead_pid());
  std::string not_a_pid = "/corral-" + name + "-12ab";
  for (const auto& s : {dead, alive, other_name, not_a_pid}) make_shm(s);
  auto ours = ShmSegment::create(name, 1);
  ASSERT_TRUE(ours.ok());

  auto removed = ShmSegment::cleanup_stale(name);
  ASSERT_TRUE(removed.ok()) << removed.error().message;
  EXPECT_THAT(*removed, ElementsAre(dead));
  EXPECT_FALSE(exists(dead));
  EXPECT_TRUE(exists(alive));
  EXPECT_TRUE(exists(other_name));
  EXPECT_TRUE(exists(not_a_pid));
  EXPECT_TRUE(exists(ours->name()));

  for (const auto& s : {alive, other_name, not_a_pid}) ::shm_unlink(s.c_str());
}

TEST(CleanupStale, SegmentOfAKilledSupervisor) {
  // A child creates a segment and dies by SIGKILL: no destructor ran.
  std::string name = testing::unique_name();
  int ready[2];
  ASSERT_EQ(::pipe2(ready, O_CLOEXEC), 0);
  pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    auto seg = ShmSegment::create(name, 2);
    if (!seg.ok()) _exit(1);
    (void)!::write(ready[1], "x", 1);
    ::pause();
    _exit(0);
  }
  ::close(ready[1]);
  char c;
  ASSERT_EQ(::read(ready[0], &c, 1), 1);
  ::close(ready[0]);
  std::string leftover = "/corral-" + name + "-" + std::to_string(child);
  EXPECT_TRUE(exists(leftover));

  // While it lives, its segment is not stale.
  EXPECT_TRUE(ShmSegment::cleanup_stale(name)->empty());
  ::kill(child, SIGKILL);
  ::waitpid(child, nullptr, 0);
  EXPECT_TRUE(exists(leftover));

  auto removed = ShmSegment::cleanup_stale(name);
  ASSERT_TRUE(removed.ok());
  EXPECT_THAT(*removed, ElementsAre(leftover));
  EXPECT_FALSE(exists(leftover));
}

TEST(CleanupStale, RejectsBadName) { EXPECT_FALSE(ShmSegment::cleanup_stale("../etc").ok()); }

}  // namespace
}  // namespace corral::ipc
