// The pure part of orphan attribution: the mark, /proc/PID/stat, the verdict.

#include "supervisor/orphans.h"

#include <gtest/gtest.h>

#include <string>

namespace corral::supervisor {
namespace {

using namespace std::string_literals;

TEST(ParseOrigin, ReadsTheMarkAmongOtherVariables) {
  EXPECT_EQ(parse_origin("PATH=/bin\0CORRAL_ORIGIN=100:200\0HOME=/\0"s), (Origin{100, 200}));
  EXPECT_EQ(parse_origin("CORRAL_ORIGIN=7:8"s), (Origin{7, 8}));
}

TEST(ParseOrigin, TheLastMarkWins) {
  EXPECT_EQ(parse_origin("CORRAL_ORIGIN=1:2\0CORRAL_ORIGIN=3:4\0"s), (Origin{3, 4}));
}

TEST(ParseOrigin, RefusesWhatIsNotAMark) {
  EXPECT_EQ(parse_origin(""), std::nullopt);
  EXPECT_EQ(parse_origin("PATH=/bin\0"s), std::nullopt);
  EXPECT_EQ(parse_origin("CORRAL_ORIGIN=\0"s), std::nullopt);
  EXPECT_EQ(parse_origin("CORRAL_ORIGIN=12\0"s), std::nullopt);
  EXPECT_EQ(parse_origin("CORRAL_ORIGIN=12:\0"s), std::nullopt);
  EXPECT_EQ(parse_origin("CORRAL_ORIGIN=-1:5\0"s), std::nullopt);
  EXPECT_EQ(parse_origin("CORRAL_ORIGIN=1:0\0"s), std::nullopt);
  EXPECT_EQ(parse_origin("CORRAL_ORIGIN=1:2x\0"s), std::nullopt);
  EXPECT_EQ(parse_origin("CORRAL_ORIGIN=99999999999999:2\0"s), std::nullopt);
  EXPECT_EQ(parse_origin("XCORRAL_ORIGIN=1:2\0"s), std::nullopt);
}

TEST(ParseStat, ReadsGroupAndStartTimeBehindAnAwkwardName) {
  const std::string line =
      "4242 (a) b (c)) S 1 4242 4242 0 -1 4194560 100 0 0 0 1 2 0 0 20 0 1 0 987654 1000 10";
  auto facts = parse_stat(line);
  ASSERT_TRUE(facts.has_value());
  EXPECT_EQ(facts->state, 'S');
  EXPECT_EQ(facts->ppid, 1);
  EXPECT_EQ(facts->pgid, 4242);
  EXPECT_EQ(facts->start_ticks, 987654u);
}

TEST(ParseStat, RefusesTruncatedOrGarbledLines) {
  EXPECT_EQ(parse_stat(""), std::nullopt);
  EXPECT_EQ(parse_stat("4242 (x) S 1 2"), std::nullopt);
  EXPECT_EQ(parse_stat("4242 x S 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20"),
            std::nullopt);
  EXPECT_EQ(parse_stat("4242 (x) S one 4242 4242 0 -1 0 0 0 0 0 1 2 0 0 20 0 1 0 9 1 1"),
            std::nullopt);
}

constexpr pid_t kSelf = 100;

TEST(JudgeOrphan, AMarkOfAnotherCorralOrNoneIsNotOurs) {
  EXPECT_EQ(judge_orphan(500, 10, std::nullopt, kSelf, std::nullopt), OrphanVerdict::kNotOurs);
  EXPECT_EQ(judge_orphan(500, 10, Origin{99, 200}, kSelf, 5), OrphanVerdict::kNotOurs);
}

TEST(JudgeOrphan, TheWorkerItselfIsNoOrphan) {
  EXPECT_EQ(judge_orphan(200, 10, Origin{kSelf, 200}, kSelf, 10), OrphanVerdict::kNotOurs);
}

TEST(JudgeOrphan, KeptWhileItsWorkerRuns) {
  EXPECT_EQ(judge_orphan(500, 10, Origin{kSelf, 200}, kSelf, 5), OrphanVerdict::kOwned);
  EXPECT_EQ(judge_orphan(500, 10, Origin{kSelf, 200}, kSelf, 10), OrphanVerdict::kOwned);
}

TEST(JudgeOrphan, StoppedWhenItsWorkerIsGone) {
  EXPECT_EQ(judge_orphan(500, 10, Origin{kSelf, 200}, kSelf, std::nullopt),
            OrphanVerdict::kOrphaned);
}

TEST(JudgeOrphan, AYoungerWorkerWithTheSamePidIsNotItsWorker) {
  // Worker 200 died, and a new worker of ours got pid 200 after the orphan started.
  EXPECT_EQ(judge_orphan(500, 10, Origin{kSelf, 200}, kSelf, 11), OrphanVerdict::kOrphaned);
}

}  // namespace
}  // namespace corral::supervisor
