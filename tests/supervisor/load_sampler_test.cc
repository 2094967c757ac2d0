#include "supervisor/load_sampler.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <vector>

namespace corral::supervisor {
namespace {

// A child that burns CPU, touches `bytes` of memory, and forks a grandchild
// that does the same; both are killed by the fixture.
class Tree : public ::testing::Test {
 protected:
  void SetUp() override {
    int ready[2];
    ASSERT_EQ(::pipe2(ready, O_CLOEXEC), 0);
    child_ = ::fork();
    ASSERT_GE(child_, 0);
    if (child_ == 0) {
      ::setpgid(0, 0);
      if (::fork() == 0) hold(ready[1], 48 << 20);
      hold(ready[1], 32 << 20);
    }
    ::close(ready[1]);
    char c;
    for (int i = 0; i < 2; ++i) ASSERT_EQ(::read(ready[0], &c, 1), 1);  // both touched their memory
    ::close(ready[0]);
  }
  void TearDown() override {
    if (child_ > 0) {
      ::kill(-child_, SIGKILL);
      ::waitpid(child_, nullptr, 0);
    }
  }
  [[noreturn]] static void hold(int ready, size_t bytes) {
    std::vector<char> memory(bytes);
    std::memset(memory.data(), 1, bytes);
    (void)!::write(ready, "x", 1);
    std::atomic<unsigned long> spin{0};
    for (;;) spin.fetch_add(1, std::memory_order_relaxed);
  }
  pid_t child_ = -1;
};

TEST_F(Tree, CountsTheWorkerAndItsChildren) {
  auto usage = read_tree_usage(child_);
  ASSERT_TRUE(usage);
  EXPECT_EQ(usage->processes, 2);
  EXPECT_GE(usage->rss_bytes, uint64_t{80} << 20) << "32 MiB + 48 MiB touched";
  EXPECT_LT(usage->rss_bytes, uint64_t{200} << 20);
}

TEST_F(Tree, CpuTimeGrowsWhileItBurns) {
  auto before = read_tree_usage(child_);
  ASSERT_TRUE(before);
  const auto start = std::chrono::steady_clock::now();
  std::optional<TreeUsage> after;
  // Two spinning processes: their CPU time passes 0.2 s within a second or so.
  while (std::chrono::steady_clock::now() - start < std::chrono::seconds(10)) {
    after = read_tree_usage(child_);
    ASSERT_TRUE(after);
    if (after->cpu_seconds - before->cpu_seconds >= 0.2) break;
  }
  EXPECT_GE(after->cpu_seconds - before->cpu_seconds, 0.2);
}

TEST_F(Tree, MaxProcessesBoundsTheWalk) {
  auto usage = read_tree_usage(child_, 1);
  ASSERT_TRUE(usage);
  EXPECT_EQ(usage->processes, 1);
}

TEST(LoadSampler, AGoneProcessHasNoUsage) {
  const pid_t pid = ::fork();
  if (pid == 0) ::_exit(0);
  ::waitpid(pid, nullptr, 0);
  EXPECT_FALSE(read_tree_usage(pid));
}

TEST(LoadSampler, MachineMemoryIsPlausible) {
  auto m = read_machine_memory();
  ASSERT_TRUE(m);
  EXPECT_GT(m->total_bytes, uint64_t{64} << 20);
  EXPECT_LE(m->available_bytes, m->total_bytes);
}

TEST(LoadSampler, CpuPercent) {
  EXPECT_DOUBLE_EQ(cpu_percent(1.0, 1.5, 1.0), 50.0);
  EXPECT_DOUBLE_EQ(cpu_percent(1.0, 3.0, 1.0), 200.0) << "several cores";
  EXPECT_DOUBLE_EQ(cpu_percent(2.0, 1.0, 1.0), 0.0) << "a child took its time with it";
  EXPECT_DOUBLE_EQ(cpu_percent(1.0, 2.0, 0.0), 0.0);
}

}  // namespace
}  // namespace corral::supervisor
