// corral's own log formats end to end: journal priority prefixes when
// JOURNAL_STREAM names its stderr, JSON lines, and a rotated log file.
#include <signal.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>

#include <gtest/gtest.h>

#include "harness.h"

namespace corral::testing {
namespace {

namespace fs = std::filesystem;

std::vector<std::string> read_lines(const std::string& path) {
  std::ifstream in(path);
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

std::string joined(const std::vector<std::string>& lines) {
  std::string text;
  for (const auto& l : lines) text += l + "\n";
  return text;
}

// Single-quoted for /bin/sh.
std::string shell_quote(const std::string& s) {
  std::string out = "'";
  for (char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

// A worker that says something on stdout, then fails after a moment: an
// info line ("[w0 PID] ...") and a warning (its exit) in corral's log.
std::vector<std::string> chatty_worker(const std::string& say) {
  return {"/bin/sh", "-c", "printf '%s\\n' " + shell_quote(say) + "; sleep 0.3; exit 3"};
}

std::vector<std::string> run_args(std::vector<std::string> extra,
                                  const std::vector<std::string>& worker) {
  std::vector<std::string> args = {corral_binary(), "run", "--workers", "1"};
  args.insert(args.end(), extra.begin(), extra.end());
  args.push_back("--");
  args.insert(args.end(), worker.begin(), worker.end());
  return args;
}

// corral run with its stderr appended to `log`, through a shell: the file
// exists first so that its device and inode are known.
Process run_with_stderr_to(const std::string& log, std::vector<std::string> args,
                           std::vector<std::string> env) {
  std::string command = "exec";
  for (const auto& a : args) command += " " + shell_quote(a);
  command += " 2>>" + shell_quote(log);
  return Process({"/bin/sh", "-c", command}, std::move(env));
}

std::string journal_stream_of(const std::string& path) {
  struct stat st {};
  EXPECT_EQ(::stat(path.c_str(), &st), 0);
  return "JOURNAL_STREAM=" + std::to_string(st.st_dev) + ":" + std::to_string(st.st_ino);
}

TEST(Logging, StderrOnTheJournalGetsPriorityPrefixesAndNoTimestamps) {
  TempDir dir;
  const std::string log = dir.write("stderr.log", "");
  Process corral = run_with_stderr_to(log, run_args({}, chatty_worker("hello journal")),
                                      {journal_stream_of(log)});
  std::vector<std::string> lines;
  ASSERT_TRUE(eventually(
      [&] {
        lines = read_lines(log);
        const std::string text = joined(lines);
        return text.find("hello journal") != std::string::npos &&
               text.find("exited with code 3") != std::string::npos;
      },
      10s))
      << joined(lines);
  corral.signal(SIGTERM);
  corral.wait_exit();
  lines = read_lines(log);
  for (const auto& line : lines) {
    EXPECT_TRUE(std::regex_search(line, std::regex(R"(^<[0-7]>)"))) << line;
    EXPECT_FALSE(std::regex_search(line, std::regex(R"(\d{4}-\d\d-\d\d \d\d:\d\d)"))) << line;
  }
  const std::string text = joined(lines);
  EXPECT_TRUE(std::regex_search(text, std::regex(R"((^|\n)<6>worker 0 started \(pid \d+\))")))
      << text;
  EXPECT_TRUE(std::regex_search(text, std::regex(R"((^|\n)<6>\[w0 \d+\] hello journal\n)")))
      << text;
  EXPECT_TRUE(
      std::regex_search(text, std::regex(R"((^|\n)<4>worker 0 \(pid \d+\) exited with code 3)")))
      << text;
}

TEST(Logging, AJournalStreamOfAnotherFileIsIgnored) {
  // Inherited from a unit whose stderr went to the journal, but this
  // corral's stderr is the test's pipe: plain timestamped text.
  TempDir dir;
  const std::string other = dir.write("other", "");
  Process corral(run_args({}, chatty_worker("hello text")), {journal_stream_of(other)});
  EXPECT_TRUE(
      corral.find_or_wait(R"(^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{6} info  \[w0 \d+\] hello text$)"))
      << corral.output();
  EXPECT_EQ(corral.output().find("<6>"), std::string::npos) << corral.output();
}

TEST(Logging, JsonLinesParseOneByOne) {
  // Quotes, a backslash, a tab and a byte that is not UTF-8.
  const std::string tricky = "say \"hi\" \\ back\tand \xff end";
  Process corral(run_args({"--log-format", "json"}, chatty_worker(tricky)));
  ASSERT_TRUE(corral.wait_for_line("exited with code 3")) << corral.output();
  corral.signal(SIGTERM);
  corral.wait_exit();
  int worker_lines = 0;
  bool saw_warning = false;
  for (const auto& line : corral.lines()) {
    nlohmann::json j;
    ASSERT_NO_THROW(j = nlohmann::json::parse(line)) << line;
    ASSERT_TRUE(j.is_object()) << line;
    EXPECT_TRUE(std::regex_match(j.at("ts").get<std::string>(),
                                 std::regex(R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z)")))
        << line;
    const std::string level = j.at("level");
    EXPECT_TRUE(level == "info" || level == "warn" || level == "error" || level == "debug") << line;
    const std::string msg = j.at("msg");
    if (msg.find("] say") != std::string::npos) {
      ++worker_lines;
      EXPECT_TRUE(
          std::regex_match(msg, std::regex(R"(\[w0 \d+\] say "hi" \\ back\tand \xEF\xBF\xBD end)")))
          << line;
    }
    if (level == "warn" && msg.find("exited with code 3") != std::string::npos) saw_warning = true;
  }
  EXPECT_GE(worker_lines, 1) << corral.output();
  EXPECT_TRUE(saw_warning) << corral.output();
}

TEST(Logging, LogFileIsRotatedAtMaxSize) {
  TempDir dir;
  const std::string log = dir.file("corral.log");
  // Many lines at once, then a long sleep: the log passes 1 KiB several
  // times over.
  const std::vector<std::string> worker = {
      "/bin/sh", "-c",
      "i=0; while [ $i -lt 300 ]; do echo \"line $i of the worker's output\"; "
      "i=$((i+1)); done; echo done-writing; sleep 60"};
  Process corral(
      run_args({"--log-file", log, "--log-max-size", "1KiB", "--log-max-files", "2"}, worker));
  // In addition to stderr.
  ASSERT_TRUE(corral.wait_for_line(R"(\[w0 \d+\] done-writing)")) << corral.output();
  ASSERT_TRUE(eventually([&] {
    const auto lines = read_lines(log);
    return !lines.empty() && joined(lines).find("done-writing") != std::string::npos;
  }));
  // spdlog's naming: the number goes before the extension.
  const std::string first = dir.file("corral.1.log");
  const std::string second = dir.file("corral.2.log");
  EXPECT_TRUE(fs::exists(first));
  EXPECT_TRUE(fs::exists(second));
  EXPECT_FALSE(fs::exists(dir.file("corral.3.log")));
  for (const std::string& f : {log, first, second}) {
    EXPECT_LE(fs::file_size(f), 1024u) << f;
    for (const auto& line : read_lines(f)) {
      // Text with timestamps, never colour codes.
      EXPECT_TRUE(std::regex_search(line, std::regex(R"(^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{6} )")))
          << f << ": " << line;
      EXPECT_EQ(line.find('\x1b'), std::string::npos) << line;
    }
  }
  // The newest lines are in the file, the ones before in .1.
  const auto last = read_lines(first);
  ASSERT_FALSE(last.empty());
  EXPECT_NE(last.back().find("line 2"), std::string::npos) << last.back();
}

TEST(Logging, AFullDiskDoesNotStopCorral) {
  // /dev/full opens, and every write to it fails with ENOSPC. (Its size
  // stays 0, so spdlog never tries to rotate it.)
  const std::vector<std::string> worker = {
      "/bin/sh", "-c", "i=0; while [ $i -lt 20 ]; do echo \"out $i\"; i=$((i+1)); done; sleep 60"};
  Process corral(run_args({"--log-file", "/dev/full"}, worker));
  ASSERT_TRUE(corral.wait_for_line(R"(\[w0 \d+\] out 19)")) << corral.output();
  // Reported once (at most once a minute), not once per line.
  EXPECT_EQ(corral.count_lines(
                R"(^corral: cannot write the log \(\d+ failed writes?? so far\): .*/dev/full)"),
            1)
      << corral.output();
  EXPECT_EQ(corral.count_lines("LOG ERROR"), 0) << corral.output();
  EXPECT_TRUE(pid_alive(corral.pid()));
}

TEST(Logging, JsonFormatAppliesToTheFileToo) {
  TempDir dir;
  const std::string log = dir.file("corral.json");
  Process corral(run_args({"--log-format", "json", "--log-file", log}, chatty_worker("in file")));
  ASSERT_TRUE(corral.wait_for_line("in file")) << corral.output();
  ASSERT_TRUE(
      eventually([&] { return joined(read_lines(log)).find("in file") != std::string::npos; }));
  for (const auto& line : read_lines(log)) {
    EXPECT_TRUE(nlohmann::json::accept(line)) << line;
  }
}

TEST(Logging, ALogFileThatCannotBeOpenedIsAClearErrorAtStart) {
  TempDir dir;
  const std::string not_a_dir = dir.write("file", "x");
  Process corral(run_args({"--log-file", not_a_dir + "/corral.log"}, {"/bin/sleep", "60"}));
  EXPECT_EQ(corral.wait_exit(), 1) << corral.output();
  EXPECT_NE(corral.output().find("corral: cannot open the log file"), std::string::npos)
      << corral.output();
}

TEST(Logging, BadLogFlagsAreUsageErrors) {
  for (std::vector<std::string> flags : {std::vector<std::string>{"--log-format", "xml"},
                                         {"--log-max-size", "12"},
                                         {"--log-max-size", "10B"},
                                         {"--log-max-files", "-1"}}) {
    Process corral(run_args(flags, {"/bin/sleep", "60"}));
    EXPECT_EQ(corral.wait_exit(), 2) << flags[0] << " " << flags[1] << ": " << corral.output();
  }
}

}  // namespace
}  // namespace corral::testing
