// The C++ wrapper over the C API.
#include <gtest/gtest.h>

#include <corral/worker.hpp>

#include "tests/ipc/segment_fixture.h"
#include "tests/worker/child.h"

namespace corral {
namespace {

using ipc::SlotStatus;
using ipc::WorkerState;
using worker::testing::run_in_child;

TEST(WorkerHpp, NotSupervised) {
  EXPECT_EQ(run_in_child([] {
              ::unsetenv("CORRAL_SHM");
              ::unsetenv("LISTEN_FDS");
              ::unsetenv("CORRAL_WORKER_ID");
              Worker w;
              CHILD_CHECK(!w.supervised());
              CHILD_CHECK(w.status() == CORRAL_NOT_SUPERVISED);
              CHILD_CHECK(!w.message().empty());
              CHILD_CHECK(w.ready() == CORRAL_OK);
              CHILD_CHECK(!w.drain_requested());
              CHILD_CHECK(w.supervisor_alive());
              CHILD_CHECK(!listen_fd("http"));
              CHILD_CHECK(!worker_id());
              { RequestScope r; }
              return 0;
            }),
            0);
}

TEST(WorkerHpp, ScopeEndsInStopped) {
  ipc::ShmSegment seg = ipc::testing::make_segment(1);
  seg.assign_slot(0);
  EXPECT_EQ(run_in_child([&] {
              ::setenv("CORRAL_SHM", seg.name().c_str(), 1);
              ::setenv("CORRAL_SLOT", "0", 1);
              ::setenv("CORRAL_WORKER_ID", "0", 1);
              {
                Worker w;
                CHILD_CHECK(w.supervised());
                CHILD_CHECK(worker_id() == 0);
                CHILD_CHECK(w.ready() == CORRAL_OK);
                { RequestScope r; }
              }
              return 0;
            }),
            0);
  ipc::SlotSnapshot s = seg.read_slot(0);
  ASSERT_EQ(s.status, SlotStatus::kOk) << s.problem;
  EXPECT_EQ(s.state, WorkerState::kStopped);
  EXPECT_EQ(s.requests_total, 1u);
  EXPECT_EQ(s.in_flight, 0u);
}

}  // namespace
}  // namespace corral
