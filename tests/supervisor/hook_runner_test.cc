// HookRunner with a real libuv loop and real processes (/bin/sh). The
// fixture plays the supervisor's part: its SIGCHLD watcher reaps with
// waitpid(-1) and hands each pid to on_child_exited().
#include "supervisor/hook_runner.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <functional>
#include <mutex>
#include <regex>
#include <sstream>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <spdlog/sinks/base_sink.h>

#include "supervisor/uv_handle.h"

namespace corral::supervisor {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using Event = config::HookConfig::Event;

// Keeps every log line, "level message".
class CaptureSink final : public spdlog::sinks::base_sink<spdlog::details::null_mutex> {
 public:
  std::vector<std::string> lines;

 protected:
  void sink_it_(const spdlog::details::log_msg& msg) override {
    lines.push_back(fmt::format("{} {}", spdlog::level::to_string_view(msg.level),
                                std::string_view(msg.payload.data(), msg.payload.size())));
  }
  void flush_() override {}
};

config::HookConfig hook(std::vector<Event> on, std::vector<std::string> command,
                        config::Duration timeout = 10s) {
  config::HookConfig h;
  h.on = std::move(on);
  h.command = std::move(command);
  h.timeout = timeout;
  return h;
}

std::vector<std::string> sh(const std::string& script) { return {"/bin/sh", "-c", script}; }

std::string slurp(const fs::path& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

class HookRunnerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_EQ(uv_loop_init(&loop_), 0);
    uv_signal_init(&loop_, sigchld_.get());
    sigchld_.get()->data = this;
    uv_signal_start(
        sigchld_.get(), [](uv_signal_t* h, int) { static_cast<HookRunnerTest*>(h->data)->reap(); },
        SIGCHLD);
    // Wakes the loop now and then so that run_until sees its deadline.
    uv_timer_init(&loop_, tick_.get());
    uv_timer_start(
        tick_.get(), [](uv_timer_t*) {}, 5, 5);
    sink_ = std::make_shared<CaptureSink>();
    log_ = std::make_shared<spdlog::logger>("test", sink_);
    log_->set_level(spdlog::level::debug);

    std::string pattern = (fs::temp_directory_path() / "corral-hooks-XXXXXX");
    ASSERT_NE(::mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
  }

  void TearDown() override {
    runner_.reset();  // SIGKILLs what still runs
    // Reap those, so no zombie outlives the test.
    while (::waitpid(-1, nullptr, 0) > 0) {
    }
    sigchld_.close();
    tick_.close();
    uv_run(&loop_, UV_RUN_NOWAIT);
    EXPECT_EQ(uv_loop_close(&loop_), 0);
    fs::remove_all(dir_);
  }

  void make(std::vector<config::HookConfig> hooks, HookRunner::Limits limits = {}) {
    runner_ = std::make_unique<HookRunner>(&loop_, std::move(hooks), log_, "web", limits);
  }

  void reap() {
    for (;;) {
      int status = 0;
      const pid_t pid = ::waitpid(-1, &status, WNOHANG);
      if (pid <= 0) return;
      if (runner_) runner_->on_child_exited(pid, status);
    }
  }

  bool run_until(const std::function<bool()>& done, std::chrono::milliseconds timeout = 10s) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (!done()) {
      if (std::chrono::steady_clock::now() > deadline) return false;
      uv_run(&loop_, UV_RUN_ONCE);
    }
    return true;
  }

  bool all_finished(uint64_t n) {
    return run_until([&] { return runner_->finished() >= n && runner_->running() == 0; });
  }

  int count_logged(const std::string& regex) const {
    const std::regex re(regex);
    int n = 0;
    for (const auto& line : sink_->lines) n += std::regex_search(line, re) ? 1 : 0;
    return n;
  }

  std::string log_text() const {
    std::string text;
    for (const auto& line : sink_->lines) text += line + "\n";
    return text;
  }

  uv_loop_t loop_{};
  UvHandle<uv_signal_t> sigchld_;
  UvHandle<uv_timer_t> tick_;
  std::shared_ptr<CaptureSink> sink_;
  std::shared_ptr<spdlog::logger> log_;
  std::unique_ptr<HookRunner> runner_;
  fs::path dir_;
};

TEST_F(HookRunnerTest, TheEventArrivesAsOneJsonLineOnStdin) {
  const fs::path out = dir_ / "event.json";
  const fs::path env = dir_ / "env";
  make({hook({Event::kCrash, Event::kFailed},
             sh(fmt::format("cat > {}; echo \"$CORRAL_EVENT $CORRAL_SERVICE\" > {}", out.string(),
                            env.string())))});
  runner_->fire(Event::kCrash, {{"worker", 2},
                                {"pid", 1234},
                                {"reason", "killed by signal 9 (SIGKILL)"},
                                {"event", "not-this"},
                                {"note", "quote \" newline \n tab \t"}});
  EXPECT_EQ(runner_->running(), 1u);
  ASSERT_TRUE(all_finished(1)) << log_text();
  EXPECT_EQ(runner_->failed(), 0u) << log_text();

  const std::string text = slurp(out);
  ASSERT_FALSE(text.empty());
  EXPECT_EQ(text.back(), '\n');
  EXPECT_EQ(text.find('\n'), text.size() - 1) << "one line: " << text;
  const auto event = nlohmann::json::parse(text);
  EXPECT_EQ(event["event"], "crash");
  EXPECT_EQ(event["service"], "web");
  EXPECT_EQ(event["worker"], 2);
  EXPECT_EQ(event["pid"], 1234);
  EXPECT_EQ(event["reason"], "killed by signal 9 (SIGKILL)");
  EXPECT_EQ(event["note"], "quote \" newline \n tab \t");
  EXPECT_TRUE(event.contains("host"));
  EXPECT_TRUE(std::regex_match(event["time"].get<std::string>(),
                               std::regex(R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z)")))
      << event["time"];
  // "event" comes first, whatever the caller's fields.
  EXPECT_EQ(text.rfind("{\"event\":\"crash\",\"time\":", 0), 0u) << text;
  EXPECT_EQ(slurp(env), "crash web\n");
  EXPECT_EQ(count_logged(R"(^info hook crash: /bin/sh -c .* \(pid \d+\) done in)"), 1)
      << log_text();
}

TEST_F(HookRunnerTest, OnlyHooksSubscribedToTheEventRun) {
  const fs::path mark = dir_ / "mark";
  make({hook({Event::kScale}, sh("echo scale >> " + mark.string())),
        hook({Event::kScale, Event::kReload}, sh("echo both >> " + mark.string()))});
  EXPECT_FALSE(runner_->wants(Event::kCrash));
  EXPECT_TRUE(runner_->wants(Event::kReload));
  runner_->fire(Event::kCrash, {});
  EXPECT_EQ(runner_->running() + runner_->queued(), 0u);
  runner_->fire(Event::kReload, {});
  ASSERT_TRUE(all_finished(1));
  EXPECT_EQ(slurp(mark), "both\n");
  runner_->fire(Event::kScale, {});
  ASSERT_TRUE(all_finished(3));
  EXPECT_THAT(slurp(mark), ::testing::AnyOf("both\nscale\nboth\n", "both\nboth\nscale\n"));
}

TEST_F(HookRunnerTest, OutputIsLoggedLineByLineAndAFailureIsLogged) {
  make({hook({Event::kHung}, sh("echo to stdout; echo 'to stderr' >&2; exit 3"))});
  runner_->fire(Event::kHung, {});
  ASSERT_TRUE(all_finished(1));
  EXPECT_EQ(runner_->failed(), 1u);
  EXPECT_EQ(count_logged(R"(^info \[hook hung \d+\] to stdout$)"), 1) << log_text();
  EXPECT_EQ(count_logged(R"(^info \[hook hung \d+\] to stderr$)"), 1) << log_text();
  EXPECT_EQ(
      count_logged(
          R"(^warning hook hung: /bin/sh -c 'echo to stdout; echo 'to stderr' >&2; exit 3' \(pid \d+\) failed after \d+\.\d\ds: exited with code 3$)"),
      1)
      << log_text();
}

TEST_F(HookRunnerTest, AHookPastItsTimeoutIsKilledWithItsProcessGroup) {
  const fs::path child = dir_ / "child";
  // The hook leaves a child of its own behind, in its process group.
  make({hook({Event::kMemory}, sh(fmt::format("sleep 30 & echo $! > {}; wait", child.string())),
             300ms)});
  const auto start = std::chrono::steady_clock::now();
  runner_->fire(Event::kMemory, {});
  ASSERT_TRUE(all_finished(1));
  // libuv's timers count from the loop's cached, millisecond clock: the
  // kill may come up to a millisecond before 300 ms by ours.
  EXPECT_GE(std::chrono::steady_clock::now() - start, 295ms);
  EXPECT_EQ(runner_->failed(), 1u);
  EXPECT_EQ(
      count_logged(
          R"(^warning hook memory: .* \(pid \d+\) did not finish within 300ms: killed its process group \(killed by signal 9 \(SIGKILL\)\)$)"),
      1)
      << log_text();
  const pid_t sleeper = std::stoi(slurp(child));
  // Not our child: it is gone (or a zombie of init's) once killed.
  EXPECT_TRUE(run_until(
      [&] {
        std::ifstream stat("/proc/" + std::to_string(sleeper) + "/stat");
        std::string pid, comm, state;
        return !(stat >> pid >> comm >> state) || state == "Z";
      },
      5s));
}

TEST_F(HookRunnerTest, AtMostMaxRunningAtOnce) {
  make({hook({Event::kScale}, sh("sleep 0.2"))}, {2, 64});
  for (int i = 0; i < 5; ++i) runner_->fire(Event::kScale, {{"n", i}});
  EXPECT_EQ(runner_->running(), 2u);
  EXPECT_EQ(runner_->queued(), 3u);
  size_t most = 0;
  ASSERT_TRUE(run_until([&] {
    most = std::max(most, runner_->running());
    return runner_->finished() == 5 && runner_->running() == 0;
  }));
  EXPECT_EQ(most, 2u);
  EXPECT_EQ(runner_->failed(), 0u) << log_text();
  EXPECT_EQ(runner_->dropped(), 0u);
}

TEST_F(HookRunnerTest, BeyondTheQueueBoundRunsAreDroppedAndLoggedOncePerBurst) {
  make({hook({Event::kCrash}, sh("sleep 0.2"))}, {1, 2});
  for (int i = 0; i < 6; ++i) runner_->fire(Event::kCrash, {});
  EXPECT_EQ(runner_->running(), 1u);
  EXPECT_EQ(runner_->queued(), 2u);
  EXPECT_EQ(runner_->dropped(), 3u);
  EXPECT_EQ(count_logged("dropping further hook runs"), 1) << log_text();
  ASSERT_TRUE(all_finished(3));
  EXPECT_EQ(count_logged(R"(^warning hooks: 3 hook runs were dropped while the queue was full$)"),
            1)
      << log_text();

  // A new burst is reported anew.
  for (int i = 0; i < 4; ++i) runner_->fire(Event::kCrash, {});
  EXPECT_EQ(runner_->dropped(), 4u);
  EXPECT_EQ(count_logged("dropping further hook runs"), 2) << log_text();
  ASSERT_TRUE(all_finished(6));
}

TEST_F(HookRunnerTest, AMissingProgramIsLoggedAndTheNextRuns) {
  const fs::path mark = dir_ / "mark";
  make({hook({Event::kFailed}, {"/nonexistent/alert", "--now"}),
        hook({Event::kFailed}, sh("echo ran > " + mark.string()))},
       {1, 64});
  runner_->fire(Event::kFailed, {});
  EXPECT_EQ(runner_->failed(), 1u);
  EXPECT_EQ(
      count_logged(
          R"(^warning hook failed: cannot run /nonexistent/alert --now: command '/nonexistent/alert' not found or not executable$)"),
      1)
      << log_text();
  ASSERT_TRUE(all_finished(2));
  EXPECT_EQ(slurp(mark), "ran\n");
}

TEST_F(HookRunnerTest, HooksInheritNoStrayFds) {
  // A descriptor without O_CLOEXEC, as a careless library might leave.
  const int stray = ::fcntl(::open("/dev/null", O_RDONLY), F_DUPFD, 50);
  ASSERT_GE(stray, 50);
  const fs::path fds = dir_ / "fds";
  make({hook({Event::kCrash}, sh("ls /proc/$$/fd > " + fds.string()))});
  runner_->fire(Event::kCrash, {});
  ASSERT_TRUE(all_finished(1));
  ::close(stray);
  std::vector<std::string> listed;
  std::istringstream in(slurp(fds));
  for (std::string fd; in >> fd;) listed.push_back(fd);
  // 0-2, plus whatever the shell itself opened for the redirection.
  EXPECT_THAT(listed, ::testing::IsSupersetOf({"0", "1", "2"}));
  EXPECT_THAT(listed, ::testing::Not(::testing::Contains(std::to_string(stray))));
  EXPECT_LE(listed.size(), 5u) << slurp(fds);
}

TEST_F(HookRunnerTest, ProcessGroupsAreReportedForTheGuardian) {
  make({hook({Event::kScale}, sh("exit 0"))});
  std::vector<std::pair<pid_t, bool>> seen;
  runner_->observe_groups([&](pid_t pgid, bool live) { seen.emplace_back(pgid, live); });
  runner_->fire(Event::kScale, {});
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_TRUE(seen[0].second);
  ASSERT_TRUE(all_finished(1));
  ASSERT_EQ(seen.size(), 2u);
  EXPECT_EQ(seen[1], std::make_pair(seen[0].first, false));
}

TEST_F(HookRunnerTest, OtherPidsAreNotTaken) {
  make({});
  EXPECT_FALSE(runner_->on_child_exited(::getpid() + 100000, 0));
}

TEST_F(HookRunnerTest, WhenIdleWaitsForRunningAndQueuedHooks) {
  make({hook({Event::kFailed}, sh("sleep 0.1"))}, {1, 64});
  bool idle = false;
  runner_->when_idle([&] { idle = true; });
  EXPECT_TRUE(idle);  // nothing to wait for

  idle = false;
  runner_->fire(Event::kFailed, {});
  runner_->fire(Event::kFailed, {});
  runner_->when_idle([&] { idle = true; });
  EXPECT_FALSE(idle);
  ASSERT_TRUE(run_until([&] { return idle; }));
  EXPECT_EQ(runner_->finished(), 2u);
}

TEST(DescribeCommand, QuotesWhatAShellWouldSplit) {
  EXPECT_EQ(describe_command({"/usr/bin/curl", "-d", "@-", "https://x/y"}),
            "/usr/bin/curl -d @- https://x/y");
  EXPECT_EQ(describe_command({"sh", "-c", "echo hi", ""}), "sh -c 'echo hi' ''");
  EXPECT_EQ(describe_command({std::string(300, 'a')}).size(), 203u);
}

}  // namespace
}  // namespace corral::supervisor
