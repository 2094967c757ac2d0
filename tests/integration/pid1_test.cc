// corral as PID 1 of a new PID namespace (a container's entrypoint): orphans
// re-parented to it are reaped, so no zombie piles up.
#include <signal.h>

#include <gtest/gtest.h>

#include <algorithm>

#include "harness.h"

namespace corral::testing {
namespace {

// The orphan: `sh -c "sleep 0.5"`, or `sleep 0.5` if the shell exec'd it.
// Matched exactly: the worker's shell (before its exec) and corral's own
// helper processes (forks of corral: its argv) mention "sleep 0.5" too.
bool is_the_orphan(pid_t pid) {
  const auto argv = cmdline_of(pid);
  return argv == std::vector<std::string>{"sh", "-c", "sleep 0.5"} ||
         argv == std::vector<std::string>{"sleep", "0.5"};
}

std::vector<pid_t> zombie_children(pid_t pid) {
  std::vector<pid_t> zombies;
  for (pid_t child : children_of(pid)) {
    if (process_state(child) == 'Z') zombies.push_back(child);
  }
  return zombies;
}

TEST(Pid1, ReapsOrphanedGrandchildren) {
  const std::string unshare = find_program("unshare");
  if (unshare.empty()) GTEST_SKIP() << "unshare (util-linux) is not installed";
  {
    Process probe({unshare, "--pid", "--fork", "--mount-proc", "--kill-child", "/bin/true"});
    auto code = probe.wait_exit(10s);
    if (code != 0) {
      GTEST_SKIP() << "cannot create a PID namespace here (needs root or user namespaces): "
                   << probe.output();
    }
  }

  // The worker's subshell starts `sh -c "sleep 0.5"` in the background and
  // exits at once: that process is orphaned and re-parented to PID 1.
  Process unshared({unshare, "--pid", "--fork", "--mount-proc", "--kill-child", corral_binary(),
                    "run", "--workers", "1", "--", "/bin/sh", "-c",
                    "(sh -c \"sleep 0.5\" &) ; exec sleep 60"});
  ASSERT_TRUE(unshared.wait_for_line(R"(worker 0 started \(pid \d+\))")) << unshared.output();

  // corral's pid as seen from here: the child of the unshare process.
  pid_t corral = 0;
  ASSERT_TRUE(eventually([&] {
    auto children = children_of(unshared.pid());
    if (children.size() != 1) return false;
    corral = children[0];
    return true;
  }));
  ASSERT_EQ(cmdline_of(corral).at(0), corral_binary());

  pid_t worker = 0, orphan = 0;
  ASSERT_TRUE(eventually([&] {
    for (pid_t child : children_of(corral)) {
      if (is_the_orphan(child)) orphan = child;
      const auto argv = cmdline_of(child);
      if (argv.size() == 2 && argv[0] == "sleep" && argv[1] == "60") worker = child;
    }
    return worker != 0 && orphan != 0;
  }, 3s)) << "no orphan re-parented to corral; its children: " << children_of(corral).size()
          << "\n" << unshared.output();

  // The orphan (and its own child, if the shell did not exec) exits; corral,
  // its new parent, must reap it.
  ASSERT_TRUE(wait_pid_gone(orphan, 5s));
  EXPECT_TRUE(eventually([&] { return !process_state(orphan).has_value(); }, 2s))
      << "orphan " << orphan << " left as a zombie of corral";
  EXPECT_TRUE(eventually([&] { return zombie_children(corral).empty(); }, 2s))
      << zombie_children(corral).size() << " zombies among corral's children";
  EXPECT_TRUE(pid_alive(worker)) << "the worker was mistaken for the orphan";

  // And it still stops cleanly as PID 1.
  ::kill(corral, SIGTERM);
  auto code = unshared.wait_exit(10s);
  ASSERT_TRUE(code) << unshared.output();
  EXPECT_EQ(*code, 0) << unshared.output();
  EXPECT_TRUE(wait_pid_gone(worker, 1s));
  EXPECT_EQ(unshared.count_lines("worker 0 started"), 1) << unshared.output();
}

}  // namespace
}  // namespace corral::testing
