// corral top on a real terminal: a tmux server of the test's own (its socket
// in a temporary directory, so it never meets another tmux) runs a shell in
// a 120x40 pane; the test types commands into it and reads the screen back
// with capture-pane, waiting for contents with a deadline.
#include <signal.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <atomic>
#include <map>
#include <nlohmann/json.hpp>
#include <regex>
#include <sstream>

#include "harness.h"

namespace corral::testing {
namespace {

std::string unique_name() {
  static std::atomic<int> counter{0};
  return "top-" + std::to_string(::getpid()) + "-" + std::to_string(counter++);
}

class Tmux {
 public:
  Tmux(int columns, int rows) : socket_(dir_.file("tmux.sock")) {
    ok_ = run({"new-session", "-d", "-x", std::to_string(columns), "-y", std::to_string(rows), "-s",
               "top", "env PS1='$ ' /bin/sh"})
              .has_value();
  }
  ~Tmux() { run({"kill-server"}); }
  Tmux(const Tmux&) = delete;
  Tmux& operator=(const Tmux&) = delete;

  bool ok() const { return ok_; }
  // Runs a tmux command against this server; its output, or nullopt when
  // it failed.
  std::optional<std::string> run(std::vector<std::string> args) const {
    args.insert(args.begin(), {find_program("tmux"), "-S", socket_, "-f", "/dev/null"});
    Process p(args);
    const auto code = p.wait_exit(10s);
    if (code != 0) return std::nullopt;
    return p.output();
  }
  // Waits for the shell's prompt on the last line, then types `text`
  // literally and Enter (typed earlier, the terminal's echo of it and the
  // shell's own output would interleave).
  void type_line(const std::string& text) const {
    const bool prompt = eventually(
        [&] {
          std::string screen_text = screen();
          while (!screen_text.empty() &&
                 (screen_text.back() == '\n' || screen_text.back() == ' ')) {
            screen_text.pop_back();
          }
          const size_t last_line = screen_text.rfind('\n');
          return screen_text.substr(last_line == std::string::npos ? 0 : last_line + 1) == "$";
        },
        10s);
    EXPECT_TRUE(prompt) << "no shell prompt: " << screen();
    run({"send-keys", "-t", "top", "-l", text});
    run({"send-keys", "-t", "top", "Enter"});
  }
  void key(const std::string& name) const { run({"send-keys", "-t", "top", name}); }
  std::string screen() const { return run({"capture-pane", "-p", "-t", "top"}).value_or(""); }
  // A pane property, e.g. "alternate_on" or "cursor_flag".
  std::string pane(const std::string& variable) const {
    auto out = run({"display-message", "-p", "-t", "top", "#{" + variable + "}"}).value_or("");
    while (!out.empty() && (out.back() == '\n' || out.back() == '\r')) out.pop_back();
    return out;
  }
  // Waits until a screen line matches `regex`; its match groups.
  std::optional<std::vector<std::string>> await_line(const std::string& regex,
                                                     Millis timeout = 15s) const {
    const std::regex re(regex);
    std::optional<std::vector<std::string>> found;
    eventually(
        [&] {
          std::istringstream lines(screen());
          for (std::string line; std::getline(lines, line);) {
            std::smatch m;
            if (std::regex_search(line, m, re)) {
              found = std::vector<std::string>(m.begin(), m.end());
              return true;
            }
          }
          return false;
        },
        timeout);
    return found;
  }

 private:
  TempDir dir_;
  std::string socket_;
  bool ok_ = false;
};

struct Service {
  Service()
      : name(unique_name()),
        corral({"run", "--workers", "2", "--name", name, "--listen", "http=127.0.0.1:0", "--",
                example_server(), "--fd", "{fd:http}"}) {}

  Process client(std::vector<std::string> args) const {
    args.insert(args.begin(), corral_binary());
    args.insert(args.end(), {"--name", name});
    return Process(args, {"XDG_RUNTIME_DIR=" + corral.process.runtime_dir()});
  }

  // Waits until both workers are ready; their pids by id.
  std::map<int, pid_t> await_ready() const {
    std::map<int, pid_t> pids;
    eventually(
        [&] {
          Process p = client({"status", "--json"});
          if (p.wait_exit(10s) != 0) return false;
          auto body = nlohmann::json::parse(p.output(), nullptr, false);
          if (!body.is_object() || !body["workers"].is_array()) return false;
          pids.clear();
          for (const auto& w : body["workers"]) {
            if (w.value("state", "") != "ready" || !w["pid"].is_number()) return false;
            pids[w["id"].get<int>()] = w["pid"].get<pid_t>();
          }
          return pids.size() == 2;
        },
        20s);
    return pids;
  }

  // The shell command that runs corral top for this service in the pane
  // and then shows its exit code.
  std::string top_command(const std::string& extra = "") const {
    return "XDG_RUNTIME_DIR=" + corral.process.runtime_dir() + " " + corral_binary() +
           " top --name " + name + " --interval 200ms" + extra + "; echo top-exit=$?";
  }

  std::string name;
  Corral corral;
};

#define REQUIRE_TMUX() \
  if (find_program("tmux").empty()) GTEST_SKIP() << "tmux is not installed"

TEST(Top, ShowsTheServiceAndEachWorkerThenQuitsCleanlyOnQ) {
  REQUIRE_TMUX();
  Service s;
  const auto pids = s.await_ready();
  ASSERT_EQ(pids.size(), 2u);
  Tmux tmux(120, 40);
  ASSERT_TRUE(tmux.ok());
  tmux.type_line(s.top_command());

  EXPECT_TRUE(tmux.await_line("^corral '" + s.name + "' \\(pid " +
                              std::to_string(s.corral.process.pid()) + "\\): running, 2/2 ready"))
      << tmux.screen();
  EXPECT_TRUE(tmux.await_line("^desired 2, ready 2")) << tmux.screen();
  EXPECT_TRUE(tmux.await_line("^ID +PID +STATE +UPTIME +RESTARTS +CPU +RSS +HEARTBEAT +LAST EXIT$"))
      << tmux.screen();
  for (const auto& [id, pid] : pids) {
    EXPECT_TRUE(tmux.await_line("^" + std::to_string(id) + " +" + std::to_string(pid) + " +ready "))
        << tmux.screen();
  }
  EXPECT_TRUE(tmux.await_line("^recent events$")) << tmux.screen();
  EXPECT_EQ(tmux.pane("alternate_on"), "1") << "not on the alternate screen";
  EXPECT_EQ(tmux.pane("cursor_flag"), "0") << "the cursor is not hidden";

  // A narrower terminal: lines are cut, never wrapped.
  ASSERT_TRUE(tmux.run({"resize-window", "-t", "top", "-x", "40", "-y", "30"}));
  EXPECT_TRUE(eventually(
      [&] {
        const std::string screen = tmux.screen();
        return screen.find("HEARTBEAT") == std::string::npos &&
               std::regex_search(screen, std::regex("(^|\n)ID +PID +STATE +UPTIME"));
      },
      10s))
      << tmux.screen();
  ASSERT_TRUE(tmux.run({"resize-window", "-t", "top", "-x", "120", "-y", "40"}));

  tmux.key("q");
  EXPECT_TRUE(tmux.await_line("^top-exit=0$")) << tmux.screen();
  EXPECT_EQ(tmux.pane("alternate_on"), "0") << "still on the alternate screen";
  EXPECT_EQ(tmux.pane("cursor_flag"), "1") << "the cursor is still hidden";
  EXPECT_EQ(tmux.screen().find("recent events"), std::string::npos) << tmux.screen();
  // The terminal is back in its normal mode: typing echoes, Enter runs.
  tmux.type_line("echo typed-after-top");
  EXPECT_TRUE(tmux.await_line("^\\$ echo typed-after-top$")) << tmux.screen();
  EXPECT_TRUE(tmux.await_line("^typed-after-top$")) << tmux.screen();
}

TEST(Top, ShowsARestartedWorkerAndItsNewPid) {
  REQUIRE_TMUX();
  Service s;
  const auto pids = s.await_ready();
  ASSERT_EQ(pids.size(), 2u);
  Tmux tmux(120, 40);
  ASSERT_TRUE(tmux.ok());
  tmux.type_line(s.top_command());
  const std::string old_pid = std::to_string(pids.at(1));
  ASSERT_TRUE(tmux.await_line("^1 +" + old_pid + " +ready ")) << tmux.screen();

  ASSERT_EQ(::kill(pids.at(1), SIGKILL), 0);
  const auto restart =
      tmux.await_line("worker 1 restarted \\(pid " + old_pid + " -> (\\d+)\\): killed by signal 9");
  ASSERT_TRUE(restart) << tmux.screen();
  const std::string new_pid = (*restart)[1];
  EXPECT_NE(new_pid, old_pid);
  EXPECT_TRUE(tmux.await_line("^1 +" + new_pid + " +\\w+ .*killed by signal 9")) << tmux.screen();
  EXPECT_TRUE(tmux.await_line("^0 +" + std::to_string(pids.at(0)) + " +ready ")) << tmux.screen();

  tmux.key("C-c");  // Ctrl-C quits like q
  EXPECT_TRUE(tmux.await_line("^top-exit=0$")) << tmux.screen();
  EXPECT_EQ(tmux.pane("alternate_on"), "0");
}

TEST(Top, ExitsSixtyNineWhenTheSupervisorGoesAway) {
  REQUIRE_TMUX();
  Service s;
  ASSERT_EQ(s.await_ready().size(), 2u);
  Tmux tmux(120, 40);
  ASSERT_TRUE(tmux.ok());
  tmux.type_line(s.top_command());
  ASSERT_TRUE(tmux.await_line("^corral '" + s.name + "'")) << tmux.screen();

  Process stop = s.client({"stop"});
  ASSERT_EQ(stop.wait_exit(), 0) << stop.output();
  ASSERT_EQ(s.corral.process.wait_exit(30s), 0) << s.corral.process.output();
  EXPECT_TRUE(tmux.await_line("^corral: top: the supervisor went away: ")) << tmux.screen();
  EXPECT_TRUE(tmux.await_line("^top-exit=69$")) << tmux.screen();
  EXPECT_EQ(tmux.pane("alternate_on"), "0");
  EXPECT_EQ(tmux.pane("cursor_flag"), "1");
}

// Not a terminal: plain snapshots, one per interval, no escape codes; a
// signal ends it cleanly.
TEST(Top, PrintsPlainSnapshotsWhenNotOnATerminal) {
  Service s;
  const auto pids = s.await_ready();
  ASSERT_EQ(pids.size(), 2u);
  Process top = s.client({"top", "--interval", "200ms"});
  for (int i = 0; i < 2; ++i) {
    ASSERT_TRUE(top.wait_for_line("^corral '" + s.name + "' \\(pid \\d+\\): running"))
        << top.output();
    ASSERT_TRUE(top.wait_for_line("^ID +PID +STATE")) << top.output();
    ASSERT_TRUE(top.wait_for_line("^1 +" + std::to_string(pids.at(1)) + " +ready "))
        << top.output();
  }
  ASSERT_EQ(::kill(pids.at(1), SIGKILL), 0);
  EXPECT_TRUE(top.wait_for_line("^event: \\d\\d:\\d\\d:\\d\\d worker 1 (restarted \\(pid " +
                                std::to_string(pids.at(1)) + " -> \\d+\\)|\\(pid " +
                                std::to_string(pids.at(1)) + "\\) ended): killed by signal 9"))
      << top.output();
  top.signal(SIGTERM);
  EXPECT_EQ(top.wait_exit(), 0) << top.output();
  EXPECT_EQ(top.count_lines("\x1b"), 0) << "escape codes outside a terminal";
  EXPECT_EQ(top.count_lines("q quits"), 0) << "no keys to press outside a terminal";
}

}  // namespace
}  // namespace corral::testing
