// The log file's file system fills up: a 64 KiB tmpfs mounted in a mount
// namespace of this test's own (so it needs root). corral reports the
// failed writes once on stderr, keeps supervising, and writes its log
// again once there is space.
#include <sched.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>
#include <sstream>

#include <gtest/gtest.h>

#include "hostile.h"

namespace corral::testing::hostile {
namespace {

std::string read_file(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// A tiny tmpfs, seen by this process and its children only.
class TinyFilesystem {
 public:
  TinyFilesystem() {
    if (::unshare(CLONE_NEWNS) != 0) return;
    if (::mount("none", "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0) return;
    mounted_ = ::mount("tmpfs", dir_.path().c_str(), "tmpfs", 0, "size=64k,mode=0700") == 0;
  }
  ~TinyFilesystem() {
    if (mounted_) ::umount2(dir_.path().c_str(), MNT_DETACH);
  }
  TinyFilesystem(const TinyFilesystem&) = delete;
  TinyFilesystem& operator=(const TinyFilesystem&) = delete;
  bool mounted() const { return mounted_; }
  std::string file(const std::string& name) const { return dir_.file(name); }

 private:
  TempDir dir_;
  bool mounted_ = false;
};

TEST(HostileLogDisk, FullFilesystemIsReportedOnceAndCorralGoesOn) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root to mount a small file system";
  TinyFilesystem fs;
  if (!fs.mounted()) GTEST_SKIP() << "cannot mount a tmpfs in a mount namespace here";
  const std::string log = fs.file("corral.log");
  // Worker 0 says ten lines every 10 ms: 64 KiB of log fill in a second.
  const std::vector<std::string> chatty = {
      "/bin/sh", "-c",
      "i=0; while :; do for j in 0 1 2 3 4 5 6 7 8 9; do echo \"chatty line $i.$j\"; done; "
      "i=$((i+1)); sleep 0.01; done"};
  Corral c(run_args(2, {"--log-file", log, "--log-max-size", "1MiB"}, mixed_command(chatty)));
  ASSERT_NE(c.port, 0) << c.process.output();

  ASSERT_TRUE(c.process.wait_for_line(
      R"(^corral: cannot write the log \(\d+ failed writes? so far\): .*corral\.log)", 30s))
      << "the full disk was not reported";
  ASSERT_NO_FATAL_FAILURE(expect_supervision_goes_on(c.process, c.port, 1));
  EXPECT_EQ(count(c.process, "cannot write the log"), 1) << "reported more than once a minute";
  EXPECT_EQ(count(c.process, "LOG ERROR"), 0);

  // Space again: the log goes on where it is.
  ASSERT_EQ(::truncate(log.c_str(), 0), 0);
  EXPECT_TRUE(
      eventually([&] { return read_file(log).find("chatty line") != std::string::npos; }, 10s))
      << "nothing logged to the file after space was freed";
  EXPECT_TRUE(c.process.wait_for_line(
      R"(^corral: the log is written again \(\d+ failed writes? so far\))", 10s));
  EXPECT_TRUE(pid_alive(c.process.pid()));
}

}  // namespace
}  // namespace corral::testing::hostile
