// The C API end to end, as a worker process uses it: each scenario runs in
// a forked child (the attachment is once per process) with the environment
// corral gives a worker, while this process plays the supervisor.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <string>

#include "corral/worker.h"
#include "tests/ipc/segment_fixture.h"
#include "tests/worker/child.h"

namespace corral::worker {
namespace {

using ipc::SlotStatus;
using ipc::WorkerState;
using ipc::testing::make_segment;
using testing::run_in_child;
using testing::start_child;
using testing::wait_child;

void clear_corral_environment() {
  for (const char* v : {"CORRAL_SHM", "CORRAL_SLOT", "CORRAL_WORKER_ID", "LISTEN_PID", "LISTEN_FDS",
                        "LISTEN_FDNAMES"}) {
    ::unsetenv(v);
  }
}

void supervised_by(const ipc::ShmSegment& seg, int slot) {
  clear_corral_environment();
  ::setenv("CORRAL_SHM", seg.name().c_str(), 1);
  ::setenv("CORRAL_SLOT", std::to_string(slot).c_str(), 1);
  ::setenv("CORRAL_WORKER_ID", std::to_string(slot).c_str(), 1);
}

template <typename Pred>
ipc::SlotSnapshot wait_for(ipc::ShmSegment& seg, int slot, Pred pred) {
  ipc::SlotSnapshot s;
  for (int i = 0; i < 500; ++i) {
    s = seg.read_slot(slot);
    if (pred(s)) break;
    ::usleep(10'000);
  }
  return s;
}

TEST(CApi, NotSupervised) {
  EXPECT_EQ(run_in_child([] {
              clear_corral_environment();
              CHILD_CHECK(corral_attach() == CORRAL_NOT_SUPERVISED);
              CHILD_CHECK(corral_attach() == CORRAL_NOT_SUPERVISED);  // same answer again
              CHILD_CHECK(std::strstr(corral_attach_message(), "CORRAL_SHM") != nullptr);
              CHILD_CHECK(corral_ready() == CORRAL_OK);
              CHILD_CHECK(corral_heartbeat() == CORRAL_OK);
              CHILD_CHECK(corral_publish(1, 0) == CORRAL_OK);
              CHILD_CHECK(corral_request_started() == CORRAL_OK);
              CHILD_CHECK(corral_request_finished() == CORRAL_OK);
              CHILD_CHECK(corral_draining() == CORRAL_OK);
              CHILD_CHECK(corral_stopped() == CORRAL_OK);
              CHILD_CHECK(corral_drain_requested() == 0);
              CHILD_CHECK(corral_supervisor_alive() == 1);
              CHILD_CHECK(corral_listen_fd("http") == CORRAL_E_NOENT);
              CHILD_CHECK(corral_worker_id() == CORRAL_E_NOENT);
              return 0;
            }),
            0);
}

TEST(CApi, FirstCallOfAnyFunctionAttaches) {
  ipc::ShmSegment seg = make_segment(1);
  seg.assign_slot(0);
  EXPECT_EQ(run_in_child([&] {
              supervised_by(seg, 0);
              CHILD_CHECK(corral_heartbeat() == CORRAL_OK);  // no corral_attach() first
              CHILD_CHECK(corral_attach() == CORRAL_OK);
              return 0;
            }),
            0);
  ipc::SlotSnapshot s = seg.read_slot(0);
  EXPECT_EQ(s.status, SlotStatus::kOk) << s.problem;
  EXPECT_TRUE(s.heartbeat_ns.has_value());
}

TEST(CApi, WorkerLifecycleSeenBySupervisor) {
  ipc::ShmSegment seg = make_segment(3);
  seg.assign_slot(2);
  pid_t child = start_child([&] {
    supervised_by(seg, 2);
    CHILD_CHECK(corral_attach() == CORRAL_OK);
    CHILD_CHECK(corral_worker_id() == 2);
    CHILD_CHECK(corral_supervisor_alive() == 1);
    CHILD_CHECK(corral_publish(5, 1) == CORRAL_OK);
    CHILD_CHECK(corral_ready() == CORRAL_OK);
    // Beat until asked to drain, as a server loop would.
    for (int i = 0; i < 1000 && !corral_drain_requested(); ++i) {
      corral_heartbeat();
      ::usleep(5'000);
    }
    CHILD_CHECK(corral_drain_requested() == 1);
    CHILD_CHECK(corral_draining() == CORRAL_OK);
    CHILD_CHECK(corral_ready() == CORRAL_E_STATE);
    CHILD_CHECK(corral_stopped() == CORRAL_OK);
    return 0;
  });
  seg.set_slot_pid(2, child);

  ipc::SlotSnapshot s = wait_for(seg, 2, [](const ipc::SlotSnapshot& s) {
    return s.status == SlotStatus::kOk && s.state == WorkerState::kReady && s.heartbeat_ns;
  });
  ASSERT_EQ(s.status, SlotStatus::kOk) << s.problem;
  EXPECT_EQ(s.state, WorkerState::kReady);
  EXPECT_EQ(s.requests_total, 5u);
  EXPECT_EQ(s.in_flight, 1u);
  uint64_t first_beat = *s.heartbeat_ns;
  s = wait_for(seg, 2,
               [&](const ipc::SlotSnapshot& s) { return s.heartbeat_ns.value_or(0) > first_beat; });
  EXPECT_GT(s.heartbeat_ns.value_or(0), first_beat) << "heartbeat does not advance";

  seg.request_drain(2);
  EXPECT_EQ(wait_child(child), 0);
  s = seg.read_slot(2);
  EXPECT_EQ(s.status, SlotStatus::kOk) << s.problem;
  EXPECT_EQ(s.state, WorkerState::kStopped);
}

TEST(CApi, DetectsItsSupervisorGoingStale) {
  ipc::ShmSegment seg = make_segment(1);
  seg.assign_slot(0);
  seg.heartbeat(ipc::monotonic_now_ns() - ipc::kSupervisorStaleNs - 1'000'000'000);
  EXPECT_EQ(run_in_child([&] {
              supervised_by(seg, 0);
              CHILD_CHECK(corral_attach() == CORRAL_OK);
              CHILD_CHECK(corral_supervisor_alive() == 0);
              return 0;
            }),
            0);
}

TEST(CApi, AttachFailureIsReportedByEveryAction) {
  EXPECT_EQ(run_in_child([] {
              clear_corral_environment();
              ::setenv("CORRAL_SHM", "/corral-gone-1", 1);
              ::setenv("CORRAL_SLOT", "0", 1);
              CHILD_CHECK(corral_attach() == CORRAL_E_OPEN);
              CHILD_CHECK(std::strstr(corral_attach_message(), "/corral-gone-1") != nullptr);
              CHILD_CHECK(corral_ready() == CORRAL_E_OPEN);
              CHILD_CHECK(corral_heartbeat() == CORRAL_E_OPEN);
              CHILD_CHECK(corral_drain_requested() == 0);
              CHILD_CHECK(corral_supervisor_alive() == 1);
              return 0;
            }),
            0);
  EXPECT_EQ(run_in_child([] {
              clear_corral_environment();
              ::setenv("CORRAL_SHM", "/corral-x-1", 1);
              ::setenv("CORRAL_SLOT", "zero", 1);
              CHILD_CHECK(corral_attach() == CORRAL_E_ENV);
              return 0;
            }),
            0);
}

TEST(CApi, WrongLayoutVersionIsRefused) {
  ipc::ShmSegment seg = make_segment(1);
  seg.assign_slot(0);
  ipc::testing::RawView raw(seg.name());
  reinterpret_cast<ipc::SegmentHeader*>(raw.bytes())->layout_version.store(2);
  EXPECT_EQ(run_in_child([&] {
              supervised_by(seg, 0);
              CHILD_CHECK(corral_attach() == CORRAL_E_LAYOUT);
              CHILD_CHECK(std::strstr(corral_attach_message(), "layout_version") != nullptr);
              CHILD_CHECK(corral_ready() == CORRAL_E_LAYOUT);
              return 0;
            }),
            0);
  EXPECT_EQ(seg.read_slot(0).status, SlotStatus::kNotAttached);
}

TEST(CApi, AnotherProcessCannotTakeTheSlot) {
  // E.g. a program the worker started, which inherited CORRAL_SHM: a fresh
  // process whose first call tries to attach.
  ipc::ShmSegment seg = make_segment(1);
  seg.assign_slot(0);
  EXPECT_EQ(run_in_child([&] {
              supervised_by(seg, 0);
              CHILD_CHECK(corral_attach() == CORRAL_OK);
              return 0;
            }),
            0);
  EXPECT_EQ(run_in_child([&] {
              supervised_by(seg, 0);
              CHILD_CHECK(corral_attach() == CORRAL_E_SLOT);
              CHILD_CHECK(std::strstr(corral_attach_message(), "already attached") != nullptr);
              CHILD_CHECK(corral_heartbeat() == CORRAL_E_SLOT);
              return 0;
            }),
            0);
  EXPECT_EQ(seg.read_slot(0).heartbeat_ns, std::nullopt);
}

TEST(CApi, ForkedChildSharesTheAttachment) {
  ipc::ShmSegment seg = make_segment(1);
  seg.assign_slot(0);
  EXPECT_EQ(run_in_child([&] {
              supervised_by(seg, 0);
              CHILD_CHECK(corral_attach() == CORRAL_OK);
              // A pre-forking server's children beat for the worker.
              int grandchild = testing::run_in_child([] {
                CHILD_CHECK(corral_attach() == CORRAL_OK);
                CHILD_CHECK(corral_heartbeat() == CORRAL_OK);
                return 0;
              });
              CHILD_CHECK(grandchild == 0);
              return 0;
            }),
            0);
  EXPECT_TRUE(seg.read_slot(0).heartbeat_ns.has_value());
}

TEST(CApi, ListenFdByName) {
  EXPECT_EQ(run_in_child([] {
              clear_corral_environment();
              int a[2], b[2];
              CHILD_CHECK(::socketpair(AF_UNIX, SOCK_STREAM, 0, a) == 0);
              CHILD_CHECK(::socketpair(AF_UNIX, SOCK_STREAM, 0, b) == 0);
              CHILD_CHECK(::dup2(a[0], 3) == 3);
              CHILD_CHECK(::dup2(b[0], 4) == 4);
              ::setenv("LISTEN_PID", std::to_string(::getpid()).c_str(), 1);
              ::setenv("LISTEN_FDS", "2", 1);
              ::setenv("LISTEN_FDNAMES", "http:admin", 1);
              CHILD_CHECK(corral_listen_fd("http") == 3);
              CHILD_CHECK(corral_listen_fd("admin") == 4);
              CHILD_CHECK(corral_listen_fd("metrics") == CORRAL_E_NOENT);
              CHILD_CHECK(corral_listen_fd(nullptr) == CORRAL_E_INVAL);
              ::close(4);
              CHILD_CHECK(corral_listen_fd("admin") == CORRAL_E_NOENT);
              ::setenv("LISTEN_PID", "1", 1);
              CHILD_CHECK(corral_listen_fd("http") == CORRAL_E_LISTEN_PID);
              return 0;
            }),
            0);
}

TEST(CApi, WorkerId) {
  EXPECT_EQ(run_in_child([] {
              ::setenv("CORRAL_WORKER_ID", "7", 1);
              CHILD_CHECK(corral_worker_id() == 7);
              ::setenv("CORRAL_WORKER_ID", "-1", 1);
              CHILD_CHECK(corral_worker_id() == CORRAL_E_ENV);
              ::setenv("CORRAL_WORKER_ID", "7a", 1);
              CHILD_CHECK(corral_worker_id() == CORRAL_E_ENV);
              return 0;
            }),
            0);
}

TEST(CApi, StrerrorNamesEveryCode) {
  for (int code = CORRAL_E_INVAL; code <= CORRAL_NOT_SUPERVISED; ++code) {
    EXPECT_STRNE(corral_strerror(code), "unknown corral_result code") << code;
  }
  EXPECT_STREQ(corral_strerror(42), "unknown corral_result code");
}

}  // namespace
}  // namespace corral::worker
