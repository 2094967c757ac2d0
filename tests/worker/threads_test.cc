// The worker library is called from a server's many threads at once while
// the supervisor reads the slot. These tests hammer it from several threads
// with a reader thread (or process) doing what the supervisor does on each
// tick, and assert what the supervisor must never see: a record that fails
// validation, a counter going backwards, a state moving back. Run under
// ThreadSanitizer too (CORRAL_SANITIZE_THREAD, scripts/test.sh), which
// checks the library's own synchronisation.
#include <gtest/gtest.h>

#include <atomic>
#include <barrier>
#include <cstdlib>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include "corral/worker.h"
#include "tests/ipc/segment_fixture.h"
#include "tests/worker/child.h"
#include "worker/src/worker_link.h"

namespace corral::worker {
namespace {

using ipc::SlotSnapshot;
using ipc::SlotStatus;
using ipc::WorkerState;
using ipc::testing::make_segment;

constexpr int kWriters = 4;
constexpr int kIterations = 20'000;

// What the supervisor's reads must show over time, checked on each read.
class ReaderChecks {
 public:
  // Returns "" or what was wrong with this read.
  std::string check(const SlotSnapshot& s) {
    ++reads_;
    if (s.status == SlotStatus::kNotAttached && !attached_) return "";
    if (s.status != SlotStatus::kOk) {
      return std::string("status ") + ipc::to_string(s.status) + ": " + s.problem;
    }
    attached_ = true;
    if (s.requests_total < requests_) {
      return "requests_total went back from " + std::to_string(requests_) + " to " +
             std::to_string(s.requests_total);
    }
    if (static_cast<uint32_t>(s.state) < static_cast<uint32_t>(state_)) {
      return std::string("state went back from ") + ipc::to_string(state_) + " to " +
             ipc::to_string(s.state);
    }
    if (s.in_flight > kWriters) return "in_flight " + std::to_string(s.in_flight);
    requests_ = s.requests_total;
    state_ = s.state;
    return "";
  }
  int reads() const { return reads_; }

 private:
  int reads_ = 0;
  bool attached_ = false;
  uint64_t requests_ = 0;
  WorkerState state_ = WorkerState::kStarting;
};

// Reads slot 0 as the supervisor's health tick does until `done`, then once
// more; returns the first problem seen, or "".
std::string read_until(ipc::ShmSegment& seg, const std::atomic<bool>& done, ReaderChecks& checks) {
  for (;;) {
    const bool last = done.load(std::memory_order_acquire);
    seg.heartbeat();
    if (auto problem = seg.check_and_repair_header()) return "header: " + *problem;
    if (std::string problem = checks.check(seg.read_slot(0)); !problem.empty()) return problem;
    if (last) return "";
  }
}

// One segment with slot 0 assigned, as the supervisor leaves it for a new
// worker.
class WorkerThreads : public ::testing::Test {
 protected:
  WorkerThreads() { seg_.assign_slot(0); }

  // Slot 0 as this process's own, with the library attached to it.
  WorkerLink attach_here() {
    seg_.set_slot_pid(0, ::getpid());
    return WorkerLink(ipc::ShmAttachment::open(seg_.name(), "0"));
  }

  // Runs `work` while a reader thread checks every read of the slot;
  // returns the first problem the reader saw, or "".
  std::string run_with_reader(const std::function<void()>& work) {
    std::atomic<bool> done{false};
    std::string problem;
    std::thread reader([&] { problem = read_until(seg_, done, checks_); });
    work();
    done.store(true, std::memory_order_release);
    reader.join();
    return problem;
  }

  ipc::ShmSegment seg_ = make_segment(1);
  ReaderChecks checks_;
};

TEST_F(WorkerThreads, ConcurrentCallsNeverShowTheSupervisorABadRecord) {
  WorkerLink link = attach_here();
  ASSERT_EQ(link.status(), CORRAL_OK) << link.message();

  std::atomic<int> state_refusals{0};
  const std::string problem = run_with_reader([&] {
    std::vector<std::thread> writers;
    for (int t = 0; t < kWriters; ++t) {
      writers.emplace_back([&, t] {
        for (int i = 0; i < kIterations; ++i) {
          link.heartbeat();
          link.request_started();
          (void)link.drain_requested();
          (void)link.supervisor_alive(ipc::monotonic_now_ns());
          link.request_finished();
          // One thread starts draining halfway while the others still say
          // ready: the state must never move back.
          if (t == 0 && i == kIterations / 2) {
            EXPECT_EQ(link.draining(), CORRAL_OK);
          }
          if (t != 0 && i % 64 == 0 && link.ready() == CORRAL_E_STATE) ++state_refusals;
        }
      });
    }
    for (auto& w : writers) w.join();
  });

  EXPECT_EQ(problem, "") << "after " << checks_.reads() << " reads";
  EXPECT_GT(checks_.reads(), 1);
  SlotSnapshot end = seg_.read_slot(0);
  ASSERT_EQ(end.status, SlotStatus::kOk) << end.problem;
  EXPECT_EQ(end.requests_total, uint64_t{kWriters} * kIterations);
  EXPECT_EQ(end.in_flight, 0u);
  EXPECT_EQ(end.state, WorkerState::kDraining);
  EXPECT_GT(state_refusals.load(), 0);  // ready() after draining() was refused
}

TEST_F(WorkerThreads, ConcurrentPublishesOnlyRaiseTheTotal) {
  WorkerLink link = attach_here();
  ASSERT_EQ(link.status(), CORRAL_OK) << link.message();

  const std::string problem = run_with_reader([&] {
    // Each thread publishes its own rising totals, interleaved with the
    // others': a thread behind the total must not lower it.
    std::vector<std::thread> writers;
    for (int t = 0; t < kWriters; ++t) {
      writers.emplace_back([&, t] {
        for (uint64_t i = 1; i <= kIterations; ++i) {
          const int rc = link.publish(i * kWriters + t, static_cast<uint64_t>(t));
          if (rc != CORRAL_OK && rc != CORRAL_E_INVAL) ADD_FAILURE() << "publish: " << rc;
        }
      });
    }
    for (auto& w : writers) w.join();
  });

  EXPECT_EQ(problem, "") << "after " << checks_.reads() << " reads";
  SlotSnapshot end = seg_.read_slot(0);
  ASSERT_EQ(end.status, SlotStatus::kOk) << end.problem;
  EXPECT_EQ(end.requests_total, uint64_t{kIterations} * kWriters + kWriters - 1);
}

TEST_F(WorkerThreads, CApiFirstCallsFromManyThreadsAttachOnce) {
  ipc::ShmSegment& seg = seg_;
  for (const char* v : {"CORRAL_WORKER_ID", "LISTEN_PID", "LISTEN_FDS", "LISTEN_FDNAMES"}) {
    ::unsetenv(v);
  }
  ::setenv("CORRAL_SHM", seg.name().c_str(), 1);
  ::setenv("CORRAL_SLOT", "0", 1);

  // The worker: its threads all make their first call of the library at
  // once, which attaches; then they serve. This process reads meanwhile.
  pid_t child = testing::start_child([] {
    std::barrier start(kWriters);
    std::atomic<int> failures{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < kWriters; ++t) {
      threads.emplace_back([&] {
        start.arrive_and_wait();
        if (corral_heartbeat() != CORRAL_OK) ++failures;
        if (corral_ready() != CORRAL_OK) ++failures;
        for (int i = 0; i < kIterations; ++i) {
          corral_request_started();
          corral_heartbeat();
          corral_request_finished();
        }
      });
    }
    for (auto& t : threads) t.join();
    CHILD_CHECK(failures.load() == 0);
    CHILD_CHECK(corral_attach() == CORRAL_OK);
    return 0;
  });
  seg.set_slot_pid(0, child);
  ::unsetenv("CORRAL_SHM");
  ::unsetenv("CORRAL_SLOT");

  ReaderChecks& checks = checks_;
  std::string problem;
  int status = -1;
  for (;;) {
    // Reaped first, read after: the last read sees everything it did.
    const bool exited = ::waitpid(child, &status, WNOHANG) == child;
    seg.heartbeat();
    if (problem.empty()) problem = checks.check(seg.read_slot(0));
    if (exited) break;
  }
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "worker status " << status;
  EXPECT_EQ(problem, "") << "after " << checks.reads() << " reads";
  SlotSnapshot end = seg.read_slot(0);
  ASSERT_EQ(end.status, SlotStatus::kOk) << end.problem;
  EXPECT_EQ(end.state, WorkerState::kReady);
  EXPECT_EQ(end.requests_total, uint64_t{kWriters} * kIterations);
  EXPECT_EQ(end.in_flight, 0u);
}

}  // namespace
}  // namespace corral::worker
