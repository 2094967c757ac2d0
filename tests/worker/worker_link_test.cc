// WorkerLink, the library's core, against a real segment whose supervisor
// side this test plays: what the worker does is what the supervisor reads.
#include "worker/src/worker_link.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "corral/worker.h"
#include "tests/ipc/segment_fixture.h"

namespace corral::worker {
namespace {

using ipc::SlotStatus;
using ipc::WorkerState;
using ipc::testing::make_segment;
using ipc::testing::RawView;

constexpr uint64_t kSecond = 1'000'000'000;

WorkerLink link_to(const ipc::ShmSegment& seg, int slot) {
  return WorkerLink(ipc::ShmAttachment::open(seg.name(), std::to_string(slot)));
}

TEST(WorkerLink, NotSupervisedIsAHarmlessNoOp) {
  WorkerLink link(ipc::AttachError{ipc::AttachFailure::kNotSupervised, "CORRAL_SHM is not set"});
  EXPECT_EQ(link.status(), CORRAL_NOT_SUPERVISED);
  EXPECT_EQ(link.ready(), CORRAL_OK);
  EXPECT_EQ(link.heartbeat(), CORRAL_OK);
  EXPECT_EQ(link.draining(), CORRAL_OK);
  EXPECT_EQ(link.stopped(), CORRAL_OK);
  EXPECT_EQ(link.publish(1, 1), CORRAL_OK);
  EXPECT_EQ(link.request_started(), CORRAL_OK);
  EXPECT_EQ(link.request_finished(), CORRAL_OK);
  EXPECT_FALSE(link.drain_requested());
  EXPECT_TRUE(link.supervisor_alive(ipc::monotonic_now_ns()));
}

TEST(WorkerLink, FailedAttachRepeatsItsError) {
  WorkerLink link(ipc::ShmAttachment::open("/corral-does-not-exist-1", "0"));
  EXPECT_EQ(link.status(), CORRAL_E_OPEN);
  EXPECT_THAT(link.message(), ::testing::HasSubstr("/corral-does-not-exist-1"));
  EXPECT_EQ(link.ready(), CORRAL_E_OPEN);
  EXPECT_EQ(link.heartbeat(), CORRAL_E_OPEN);
  EXPECT_FALSE(link.drain_requested());
  EXPECT_TRUE(link.supervisor_alive(ipc::monotonic_now_ns()));
}

TEST(WorkerLink, AttachMessageNamesSegmentAndSlot) {
  ipc::ShmSegment seg = make_segment(3);
  seg.assign_slot(2);
  WorkerLink link = link_to(seg, 2);
  EXPECT_EQ(link.status(), CORRAL_OK);
  EXPECT_EQ(link.message(), "attached to corral segment " + seg.name() + " slot 2 generation 1");
}

TEST(WorkerLink, HeartbeatIsVisibleToTheSupervisor) {
  ipc::ShmSegment seg = make_segment(2);
  seg.assign_slot(1);
  WorkerLink link = link_to(seg, 1);
  EXPECT_EQ(seg.read_slot(1).heartbeat_ns, std::nullopt);
  // Workers beat with the coarse clock: one tick behind at most.
  uint64_t before = ipc::monotonic_now_ns() - ipc::kCoarseClockLagNs;
  EXPECT_EQ(link.heartbeat(), CORRAL_OK);
  uint64_t after = ipc::monotonic_now_ns();
  ipc::SlotSnapshot s = seg.read_slot(1);
  ASSERT_EQ(s.status, SlotStatus::kOk) << s.problem;
  ASSERT_TRUE(s.heartbeat_ns);
  EXPECT_GE(*s.heartbeat_ns, before);
  EXPECT_LE(*s.heartbeat_ns, after);
}

TEST(WorkerLink, StatesMoveForwardOnly) {
  ipc::ShmSegment seg = make_segment(1);
  seg.assign_slot(0);
  WorkerLink link = link_to(seg, 0);
  EXPECT_EQ(seg.read_slot(0).state, WorkerState::kStarting);
  EXPECT_EQ(link.ready(), CORRAL_OK);
  EXPECT_EQ(seg.read_slot(0).state, WorkerState::kReady);
  EXPECT_EQ(link.ready(), CORRAL_OK);  // idempotent
  EXPECT_EQ(link.draining(), CORRAL_OK);
  EXPECT_EQ(seg.read_slot(0).state, WorkerState::kDraining);
  EXPECT_EQ(link.ready(), CORRAL_E_STATE);
  EXPECT_EQ(seg.read_slot(0).state, WorkerState::kDraining);
  EXPECT_EQ(link.stopped(), CORRAL_OK);
  EXPECT_EQ(seg.read_slot(0).state, WorkerState::kStopped);
}

TEST(WorkerLink, DrainRequestIsVisibleToTheWorker) {
  ipc::ShmSegment seg = make_segment(1);
  seg.assign_slot(0);
  WorkerLink link = link_to(seg, 0);
  EXPECT_FALSE(link.drain_requested());
  seg.request_drain(0);
  EXPECT_TRUE(link.drain_requested());
}

TEST(WorkerLink, PublishRespectsTheLimits) {
  ipc::ShmSegment seg = make_segment(1);
  seg.assign_slot(0);
  WorkerLink link = link_to(seg, 0);
  EXPECT_EQ(link.publish(10, 2), CORRAL_OK);
  EXPECT_EQ(seg.read_slot(0).requests_total, 10u);
  EXPECT_EQ(seg.read_slot(0).in_flight, 2u);
  EXPECT_EQ(link.publish(ipc::kMaxRequestsTotal + 1, 0), CORRAL_E_INVAL);
  EXPECT_EQ(link.publish(11, ipc::kMaxInFlight + 1), CORRAL_E_INVAL);
  ipc::SlotSnapshot s = seg.read_slot(0);
  EXPECT_EQ(s.status, SlotStatus::kOk) << s.problem;  // nothing stored
  EXPECT_EQ(s.requests_total, 10u);
  EXPECT_EQ(s.in_flight, 2u);
}

TEST(WorkerLink, PublishedTotalNeverGoesBackwards) {
  ipc::ShmSegment seg = make_segment(1);
  seg.assign_slot(0);
  WorkerLink link = link_to(seg, 0);
  EXPECT_EQ(link.publish(10, 2), CORRAL_OK);
  EXPECT_EQ(seg.read_slot(0).status, SlotStatus::kOk);
  EXPECT_EQ(link.publish(9, 5), CORRAL_E_INVAL);
  ipc::SlotSnapshot s = seg.read_slot(0);
  EXPECT_EQ(s.status, SlotStatus::kOk) << s.problem;  // not "went backwards"
  EXPECT_EQ(s.requests_total, 10u);
  EXPECT_EQ(s.in_flight, 2u);
  EXPECT_EQ(link.publish(10, 0), CORRAL_OK);  // the same total again is fine
  EXPECT_EQ(seg.read_slot(0).in_flight, 0u);
}

TEST(WorkerLink, CountingRequests) {
  ipc::ShmSegment seg = make_segment(1);
  seg.assign_slot(0);
  WorkerLink link = link_to(seg, 0);
  link.request_started();
  link.request_started();
  EXPECT_EQ(seg.read_slot(0).in_flight, 2u);
  link.request_finished();
  EXPECT_EQ(seg.read_slot(0).in_flight, 1u);
  EXPECT_EQ(seg.read_slot(0).requests_total, 1u);
  link.request_finished();
  link.request_finished();  // unmatched: in flight stays at 0
  ipc::SlotSnapshot s = seg.read_slot(0);
  EXPECT_EQ(s.status, SlotStatus::kOk) << s.problem;
  EXPECT_EQ(s.in_flight, 0u);
  EXPECT_EQ(s.requests_total, 3u);
}

TEST(WorkerLink, SupervisorAliveWhileItBeats) {
  ipc::ShmSegment seg = make_segment(1);
  seg.assign_slot(0);
  WorkerLink link = link_to(seg, 0);
  uint64_t now = ipc::monotonic_now_ns();
  seg.heartbeat(now);
  EXPECT_TRUE(link.supervisor_alive(now + ipc::kSupervisorStaleNs));
  // A beat that looks slightly ahead of the worker's clock read is a race.
  EXPECT_TRUE(link.supervisor_alive(now - kSecond));
}

TEST(WorkerLink, SupervisorGoneAfterItsHeartbeatGoesStale) {
  ipc::ShmSegment seg = make_segment(1);
  seg.assign_slot(0);
  WorkerLink link = link_to(seg, 0);
  uint64_t now = ipc::monotonic_now_ns();
  seg.heartbeat(now - ipc::kSupervisorStaleNs - kSecond);
  EXPECT_FALSE(link.supervisor_alive(now));
  seg.heartbeat(now);
  EXPECT_TRUE(link.supervisor_alive(now));
}

TEST(WorkerLink, SupervisorGoneWhenItsProcessIs) {
  ipc::ShmSegment seg = make_segment(1);
  seg.assign_slot(0);
  WorkerLink link = link_to(seg, 0);
  pid_t dead = ::fork();
  if (dead == 0) _exit(0);
  ::waitpid(dead, nullptr, 0);
  RawView raw(seg.name());
  reinterpret_cast<ipc::SegmentHeader*>(raw.bytes())
      ->supervisor_pid.store(static_cast<uint32_t>(dead));
  uint64_t now = ipc::monotonic_now_ns();
  seg.heartbeat(now);
  EXPECT_FALSE(link.supervisor_alive(now));
}

}  // namespace
}  // namespace corral::worker
