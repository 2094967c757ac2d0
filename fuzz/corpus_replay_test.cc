// Replays every committed input of every fuzz target — the seed corpus and
// the regressions (inputs that once crashed) — through the same entries the
// fuzzers call, in every build. Each input runs in a forked child, so one
// that traps names itself and does not hide the others.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "fuzz/entries.h"

namespace corral::fuzz {
namespace {

namespace fs = std::filesystem;
using Entry = int (*)(const uint8_t*, size_t);

struct Target {
  const char* name;
  Entry entry;
};

constexpr Target kTargets[] = {
    {"config", fuzz_config}, {"admin", fuzz_admin},       {"notify", fuzz_notify},
    {"shm", fuzz_shm},       {"duration", fuzz_duration},
};

std::vector<fs::path> inputs(const fs::path& dir) {
  std::vector<fs::path> files;
  if (!fs::is_directory(dir)) return files;
  for (const auto& e : fs::directory_iterator(dir)) {
    if (e.is_regular_file()) files.push_back(e.path());
  }
  return files;
}

// "" when the entry returned 0 on this input, else what happened.
std::string replay(Entry entry, const fs::path& file) {
  std::ifstream in(file, std::ios::binary);
  const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (!in.eof() && in.fail()) return "cannot read it";
  const pid_t pid = ::fork();
  if (pid < 0) return "fork failed";
  if (pid == 0) {
    int rc = entry(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size());
    ::_exit(rc == 0 ? 0 : 1);
  }
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) return "waitpid failed";
  }
  if (WIFSIGNALED(status)) return "killed by signal " + std::to_string(WTERMSIG(status));
  if (WEXITSTATUS(status) != 0) return "exit status " + std::to_string(WEXITSTATUS(status));
  return "";
}

class CorpusReplay : public ::testing::TestWithParam<Target> {};

TEST_P(CorpusReplay, EveryInputPassesTheChecks) {
  const Target& t = GetParam();
  const fs::path root = CORRAL_FUZZ_SOURCE_DIR;
  const auto seeds = inputs(root / "corpus" / t.name);
  // A target without seeds would start from nothing in CI's short runs.
  EXPECT_GE(seeds.size(), 3u) << "fuzz/corpus/" << t.name << " needs seed inputs";
  auto all = seeds;
  const auto regressions = inputs(root / "regressions" / t.name);
  all.insert(all.end(), regressions.begin(), regressions.end());
  for (const fs::path& file : all) {
    EXPECT_EQ(replay(t.entry, file), "") << file.lexically_relative(root).string();
  }
}

INSTANTIATE_TEST_SUITE_P(Targets, CorpusReplay, ::testing::ValuesIn(kTargets),
                         [](const auto& info) { return std::string(info.param.name); });

}  // namespace
}  // namespace corral::fuzz
