// [[hook]]s run by a live corral: the event arrives as JSON on the hook's
// stdin, and the last alert goes out before corral exits.
#include <signal.h>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "harness.h"

namespace corral::testing {
namespace {

using ::testing::HasSubstr;
using nlohmann::json;

std::vector<json> events_in(const std::string& file) {
  std::ifstream in(file);
  std::vector<json> events;
  for (std::string line; std::getline(in, line);) {
    auto j = json::parse(line, nullptr, false);
    if (j.is_object()) events.push_back(std::move(j));
  }
  return events;
}

std::string hook_table(const std::string& events, const std::string& out) {
  return "[[hook]]\n"
         "on = [" + events + "]\n"
         "command = [\"/bin/sh\", \"-c\", \"cat >> " + out + "\"]\n"
         "timeout = \"5s\"\n";
}

TEST(Hooks, ACrashReachesTheHookAsJson) {
  TempDir dir;
  const std::string out = dir.file("events.jsonl");
  const std::string file = dir.write(
      "web.toml", "name = \"hooked\"\n[worker]\ncommand = [\"" + example_server() +
                      "\", \"--fd\", \"{fd:http}\", \"--quiet\"]\ncount = 1\n"
                      "[[socket]]\nlisten = \"127.0.0.1:0\"\n" +
                      hook_table("\"crash\", \"scale\"", out));
  Corral corral({"run", "-c", file});
  auto started = corral.process.find_or_wait(R"(worker 0 started \(pid (\d+)\))");
  ASSERT_TRUE(started) << corral.process.output();
  const pid_t pid = std::stoi((*started)[1]);
  ::kill(pid, SIGKILL);
  ASSERT_TRUE(eventually([&] { return !events_in(out).empty(); }, 10s)) << corral.process.output();
  const json e = events_in(out).front();
  EXPECT_EQ(e["event"], "crash");
  EXPECT_EQ(e["service"], "hooked");
  EXPECT_EQ(e["worker"], 0);
  EXPECT_EQ(e["pid"], pid);
  EXPECT_THAT(e.value("reason", ""), HasSubstr("killed by signal 9"));
  EXPECT_TRUE(e.contains("time"));
  EXPECT_TRUE(e.contains("action"));
  // A scale from the admin socket is an event too.
  auto reply = admin_call(corral.process.runtime_dir() + "/corral/hooked.sock",
                          {{"cmd", "scale"}, {"delta", 1}});
  ASSERT_TRUE(reply && (*reply)["ok"] == true);
  ASSERT_TRUE(eventually([&] { return events_in(out).size() >= 2; }, 10s)) << corral.process.output();
  const json scale = events_in(out)[1];
  EXPECT_EQ(scale["event"], "scale");
  EXPECT_EQ(scale["from"], 1);
  EXPECT_EQ(scale["to"], 2);
  EXPECT_EQ(scale["by"], "admin");
}

TEST(Hooks, TheFailedAlertGoesOutBeforeCorralExits) {
  TempDir dir;
  const std::string out = dir.file("events.jsonl");
  // The hook takes a moment: corral must wait for it before exiting 1.
  const std::string file = dir.write(
      "web.toml", "name = \"doomed\"\n[worker]\ncommand = [\"/bin/sh\", \"-c\", \"echo bye >&2; exit 3\"]\n"
                  "count = 1\n[restart]\nmax_restarts = 1\nbackoff_initial = \"10ms\"\n"
                  "[[hook]]\non = [\"failed\"]\ncommand = [\"/bin/sh\", \"-c\", \"sleep 0.3; cat >> " +
                      out + "\"]\n");
  Process corral({corral_binary(), "run", "-c", file});
  EXPECT_EQ(corral.wait_exit(20s), 1) << corral.output();
  const auto events = events_in(out);
  ASSERT_EQ(events.size(), 1u) << corral.output();
  EXPECT_EQ(events[0]["event"], "failed");
  EXPECT_EQ(events[0]["worker"], 0);
  EXPECT_THAT(events[0]["last_lines"].dump(), HasSubstr("bye"));
}

TEST(Hooks, AMissingHookProgramIsAConfigurationError) {
  TempDir dir;
  const std::string file = dir.write(
      "web.toml", "[worker]\ncommand = [\"" + example_server() + "\"]\n"
                  "[[hook]]\non = [\"crash\"]\ncommand = [\"no-such-hook-program\"]\n");
  Process corral({corral_binary(), "run", "-c", file});
  EXPECT_EQ(corral.wait_exit(), 78) << corral.output();
  EXPECT_TRUE(corral.find_line("no-such-hook-program", 0ms)) << corral.output();
}

}  // namespace
}  // namespace corral::testing
