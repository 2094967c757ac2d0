// [worker] user/group/umask/rlimits/no_new_privs for real: corral as root
// starts workers as nobody; /proc shows what was asked for, and readiness
// and heartbeats still reach corral through the library (shared memory)
// and NOTIFY_SOCKET. Skipped unless the tests run as root.

#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>
#include <sstream>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tests/integration/harness.h"

namespace corral::testing {
namespace {

using ::testing::HasSubstr;

std::string read_text(const std::string& path) {
  std::ifstream file(path);
  std::stringstream out;
  out << file.rdbuf();
  return out.str();
}

// The line of /proc/PID/status (or limits) that starts with `key`.
std::string line_of(const std::string& text, const std::string& key) {
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(key, 0) == 0) return line;
  }
  return "";
}

struct Nobody {
  uid_t uid;
  gid_t gid;
};

std::optional<Nobody> nobody() {
  const passwd* pw = ::getpwnam("nobody");  // test code, single-threaded
  if (pw == nullptr) return std::nullopt;
  return Nobody{pw->pw_uid, pw->pw_gid};
}

#define REQUIRE_ROOT_AND_NOBODY()                                                     \
  if (::geteuid() != 0) GTEST_SKIP() << "dropping privileges needs the tests run as root"; \
  const auto who = nobody();                                                          \
  if (!who) GTEST_SKIP() << "no user 'nobody' here"

TEST(PrivilegeDrop, AWorkerRunsAsNobodyWithItsLimitsAndStillReportsToCorral) {
  REQUIRE_ROOT_AND_NOBODY();
  TempDir dir;
  const std::string file = dir.write("web.toml", R"(
[worker]
command = [")" + example_server() + R"(", "--fd", "{fd:http}"]
count = 1
ready = "notify"
heartbeat_timeout = "1s"
user = "nobody"
umask = "0027"
no_new_privs = true
rlimits = { nofile = 1234, core = 0 }

[[socket]]
listen = "127.0.0.1:0"
)");
  Corral corral({"run", "-c", file});
  ASSERT_NE(corral.port, 0) << corral.process.output();
  auto ready = corral.process.find_or_wait(R"(worker 0 \(pid (\d+)\) ready)");
  ASSERT_TRUE(ready) << corral.process.output();
  const std::string pid = (*ready)[1];

  auto response = http_get(corral.port, "/");
  ASSERT_TRUE(response);
  EXPECT_EQ(response->status, 200);

  const std::string status = read_text("/proc/" + pid + "/status");
  const std::string u = std::to_string(who->uid), g = std::to_string(who->gid);
  EXPECT_EQ(line_of(status, "Uid:"), "Uid:\t" + u + "\t" + u + "\t" + u + "\t" + u);
  EXPECT_EQ(line_of(status, "Gid:"), "Gid:\t" + g + "\t" + g + "\t" + g + "\t" + g);
  EXPECT_THAT(line_of(status, "Groups:"), ::testing::Not(HasSubstr("\t0 ")));
  EXPECT_THAT(line_of(status, "Groups:"), HasSubstr(g));
  EXPECT_EQ(line_of(status, "Umask:"), "Umask:\t0027");
  EXPECT_EQ(line_of(status, "NoNewPrivs:"), "NoNewPrivs:\t1");
  const std::string limits = read_text("/proc/" + pid + "/limits");
  EXPECT_THAT(line_of(limits, "Max open files"), ::testing::MatchesRegex(".* 1234 +1234 +files.*"));
  EXPECT_THAT(line_of(limits, "Max core file size"), ::testing::MatchesRegex(".* 0 +0 +bytes.*"));

  // The library attached to corral's shared memory as nobody.
  EXPECT_THAT(read_text("/proc/" + pid + "/maps"), HasSubstr("/dev/shm/corral-"));
  // Heartbeats keep arriving: well past heartbeat_timeout, the worker is
  // the same process and its last heartbeat is recent.
  const std::string admin = corral.process.runtime_dir() + "/corral/corral.sock";
  EXPECT_TRUE(eventually(
      [&] {
        auto reply = admin_call(admin, {{"cmd", "status"}});
        if (!reply || (*reply)["workers"].empty()) return false;
        const auto& w = (*reply)["workers"][0];
        return std::to_string(w.value("pid", 0)) == pid && w.value("uptime_s", 0.0) > 2.5 &&
               w["heartbeat_age_s"].is_number() && w.value("heartbeat_age_s", 99.0) < 1.0;
      },
      10s))
      << corral.process.output();
  EXPECT_EQ(corral.process.count_lines("hung|not ready"), 0) << corral.process.output();

  corral.process.signal(SIGTERM);
  EXPECT_EQ(corral.process.wait_exit(10s), 0) << corral.process.output();
}

TEST(PrivilegeDrop, NotifySocketIsReachableForTheWorkerOnly) {
  REQUIRE_ROOT_AND_NOBODY();
  TempDir dir;
  // No library: READY=1 and WATCHDOG=1 only through NOTIFY_SOCKET.
  const std::string file = dir.write("web.toml", R"(
[worker]
command = ["/usr/bin/python3", "-c", "import os, socket, time\ns = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)\npath = os.environ['NOTIFY_SOCKET']\ns.sendto(b'READY=1', path)\nprint('notify=' + path, flush=True)\nwhile True:\n  s.sendto(b'WATCHDOG=1', path)\n  time.sleep(0.1)\n"]
count = 1
ready = "notify"
ready_timeout = "5s"
heartbeat_timeout = "1s"
user = "nobody"

[[socket]]
listen = "127.0.0.1:0"
)");
  Corral corral({"run", "-c", file});
  ASSERT_NE(corral.port, 0) << corral.process.output();
  ASSERT_TRUE(corral.process.find_or_wait(R"(worker 0 \(pid \d+\) ready)")) << corral.process.output();
  auto notify = corral.process.find_or_wait(R"(\] notify=(/\S+))");
  ASSERT_TRUE(notify);
  const std::string socket_path = (*notify)[1];
  const std::string socket_dir = socket_path.substr(0, socket_path.rfind('/'));
  struct stat st {};
  ASSERT_EQ(::stat(socket_dir.c_str(), &st), 0) << socket_dir;
  EXPECT_EQ(st.st_mode & 0777, 0710u) << "others may not enter " << socket_dir;
  EXPECT_EQ(st.st_uid, 0u);
  EXPECT_EQ(st.st_gid, who->gid);
  ASSERT_EQ(::stat(socket_path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0620u);
  EXPECT_EQ(st.st_gid, who->gid);

  corral.process.signal(SIGTERM);
  EXPECT_EQ(corral.process.wait_exit(10s), 0) << corral.process.output();
  EXPECT_FALSE(::stat(socket_dir.c_str(), &st) == 0) << socket_dir << " left behind";
}

TEST(PrivilegeDrop, AnUnknownUserIsAConfigurationError) {
  TempDir dir;
  const std::string file = dir.write("web.toml", R"(
[worker]
command = ["/bin/sleep", "60"]
user = "no-such-user-corral"
)");
  for (const char* verb : {"check", "run"}) {
    std::vector<std::string> args = {corral_binary(), verb};
    if (std::string(verb) == "run") args.push_back("-c");
    args.push_back(file);
    Process p(args);
    EXPECT_EQ(p.wait_exit(10s), 78) << verb << ": " << p.output();
    EXPECT_THAT(p.output(),
                HasSubstr(file + ":4:8: [worker] user: no user 'no-such-user-corral' in the "
                                 "user database"))
        << verb;
  }
}

}  // namespace
}  // namespace corral::testing
