#include <sys/stat.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include <fmt/format.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "config/loader.h"

namespace corral::config {
namespace {

namespace fs = std::filesystem;

// A temp dir with: run.sh (executable), data.txt (not executable), sub/.
class CheckCommand : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = (fs::temp_directory_path() / "corral-check-XXXXXX");
    ASSERT_NE(::mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
    std::ofstream(dir_ / "run.sh") << "#!/bin/sh\n";
    ASSERT_EQ(::chmod((dir_ / "run.sh").c_str(), 0755), 0);
    std::ofstream(dir_ / "data.txt") << "x\n";
    ASSERT_EQ(::chmod((dir_ / "data.txt").c_str(), 0644), 0);
    fs::create_directory(dir_ / "sub");
  }
  void TearDown() override { fs::remove_all(dir_); }

  static Config command(std::vector<std::string> argv, std::string cwd = "") {
    Config c;
    c.worker.command = std::move(argv);
    c.worker.cwd = std::move(cwd);
    return c;
  }

  static std::string error(const Status& s) { return s.ok() ? "(ok)" : s.error().message; }

  // Root may execute a file without x bits only if some x bit is set; it
  // still cannot read past 0644 rules for exec, so these hold for root too.
  fs::path dir_;
};

TEST_F(CheckCommand, AbsolutePath) {
  EXPECT_TRUE(check_command(command({"/bin/sh", "-c", "true"})).ok());
  EXPECT_TRUE(check_command(command({(dir_ / "run.sh").string()})).ok());
}

TEST_F(CheckCommand, RelativePathIsRelativeToCwd) {
  EXPECT_TRUE(check_command(command({"./run.sh"}, dir_.string())).ok());
  EXPECT_TRUE(check_command(command({"../run.sh"}, (dir_ / "sub").string())).ok());
  EXPECT_EQ(
      error(check_command(command({"./nope"}, dir_.string()))),
      "command './nope' not found in cwd '" + dir_.string() + "' (No such file or directory)");
}

TEST_F(CheckCommand, RelativePathWithoutCwdIsRelativeToOurs) {
  EXPECT_EQ(error(check_command(command({"./corral-surely-missing"}))),
            "command './corral-surely-missing' not found (No such file or directory)");
}

TEST_F(CheckCommand, NotExecutable) {
  const std::string data = (dir_ / "data.txt").string();
  EXPECT_EQ(error(check_command(command({data}))),
            "command '" + data + "' is not executable (Permission denied)");
  EXPECT_EQ(
      error(check_command(command({"./data.txt"}, dir_.string()))),
      "command './data.txt' in cwd '" + dir_.string() + "' is not executable (Permission denied)");
  EXPECT_EQ(error(check_command(command({"./sub"}, dir_.string()))),
            "command './sub' in cwd '" + dir_.string() + "' is not executable (Is a directory)");
  EXPECT_EQ(error(check_command(command({"/dev/null"}))),
            "command '/dev/null' is not executable (Permission denied)");
  EXPECT_EQ(error(check_command(command({data + "/x"}))),
            "command '" + data + "/x' not found (Not a directory)");
}

TEST_F(CheckCommand, SearchesPath) {
  const std::string path = "/nonexistent-dir:" + dir_.string();
  EXPECT_TRUE(check_command(command({"run.sh"}), path).ok());
  EXPECT_EQ(error(check_command(command({"nosuchbin"}), path)),
            "command 'nosuchbin' not found in PATH");
  EXPECT_EQ(error(check_command(command({"data.txt"}), path)),
            "command 'data.txt' found in PATH as " + dir_.string() +
                "/data.txt, which is not executable (Permission denied)");
  // A directory of that name is skipped, as execvp does, in favour of a
  // later executable file.
  fs::create_directory(dir_ / "sub" / "run.sh");
  EXPECT_TRUE(check_command(command({"run.sh"}), (dir_ / "sub").string() + ":" + path).ok());
}

TEST_F(CheckCommand, UsesTheEnvironmentsPath) {
  // sh is in /bin or /usr/bin on any system these tests run on.
  EXPECT_TRUE(check_command(command({"sh"})).ok());
  EXPECT_EQ(error(check_command(command({"corral-no-such-program-xyz"}))),
            "command 'corral-no-such-program-xyz' not found in PATH");
}

TEST_F(CheckCommand, CwdMustBeADirectory) {
  EXPECT_EQ(error(check_command(command({"/bin/sh"}, (dir_ / "missing").string()))),
            "[worker] cwd '" + (dir_ / "missing").string() +
                "' cannot be used: No such file or directory");
  EXPECT_EQ(error(check_command(command({"/bin/sh"}, (dir_ / "data.txt").string()))),
            "[worker] cwd '" + (dir_ / "data.txt").string() + "' is not a directory");
}

TEST_F(CheckCommand, EmptyCommand) {
  EXPECT_EQ(error(check_command(command({}))), "no command to run");
}

TEST_F(CheckCommand, HookCommandsAreCheckedToo) {
  Config c = command({"/bin/sh"});
  HookConfig hook;
  hook.on = {HookConfig::Event::kCrash};
  hook.command = {(dir_ / "run.sh").string(), "--flag"};
  c.hooks.push_back(hook);
  EXPECT_TRUE(check_command(c, "/usr/bin:/bin").ok());

  c.hooks.push_back(hook);
  c.hooks[1].command = {"no-such-alert-program"};
  EXPECT_EQ(error(check_command(c, "/usr/bin:/bin")),
            "[[hook]] command 'no-such-alert-program' not found in PATH");
  c.hooks[1].command = {(dir_ / "data.txt").string()};
  EXPECT_EQ(error(check_command(c, "/usr/bin:/bin")),
            fmt::format("[[hook]] command '{}' is not executable (Permission denied)",
                        (dir_ / "data.txt").string()));
  // Hooks run in corral's cwd, not the worker's.
  c.worker.cwd = dir_.string();
  c.hooks[1].command = {"./run.sh"};
  EXPECT_THAT(error(check_command(c, "/usr/bin:/bin")),
              ::testing::StartsWith("[[hook]] command './run.sh' not found"));
}

}  // namespace
}  // namespace corral::config
