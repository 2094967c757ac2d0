// find_listen_fd(): the socket-activation variables, read as systemd writes
// them.
#include "worker/src/listen_fds.h"

#include <gtest/gtest.h>

#include "corral/worker.h"

namespace corral::worker {
namespace {

constexpr pid_t kSelf = 4321;

TEST(ListenFds, FindsByName) {
  ListenEnv env{"4321", "3", "http:admin:metrics"};
  EXPECT_EQ(find_listen_fd(env, kSelf, "http"), 3);
  EXPECT_EQ(find_listen_fd(env, kSelf, "admin"), 4);
  EXPECT_EQ(find_listen_fd(env, kSelf, "metrics"), 5);
  EXPECT_EQ(find_listen_fd(env, kSelf, "nope"), CORRAL_E_NOENT);
  EXPECT_EQ(find_listen_fd(env, kSelf, "htt"), CORRAL_E_NOENT);
  EXPECT_EQ(find_listen_fd(env, kSelf, ""), CORRAL_E_NOENT);
}

TEST(ListenFds, FirstOfRepeatedNames) {
  ListenEnv env{"4321", "2", "http:http"};
  EXPECT_EQ(find_listen_fd(env, kSelf, "http"), 3);
}

TEST(ListenFds, MeantForAnotherProcess) {
  // A program the worker started inherits the variables, not the meaning.
  ListenEnv env{"1234", "1", "http"};
  EXPECT_EQ(find_listen_fd(env, kSelf, "http"), CORRAL_E_LISTEN_PID);
}

TEST(ListenFds, Unset) {
  EXPECT_EQ(find_listen_fd(ListenEnv{}, kSelf, "http"), CORRAL_E_NOENT);
  EXPECT_EQ(find_listen_fd(ListenEnv{nullptr, "1", "http"}, kSelf, "http"), CORRAL_E_NOENT);
  EXPECT_EQ(find_listen_fd(ListenEnv{"4321", "0", ""}, kSelf, "http"), CORRAL_E_NOENT);
  EXPECT_EQ(find_listen_fd(ListenEnv{"4321", "1", nullptr}, kSelf, "http"), CORRAL_E_NOENT);
}

TEST(ListenFds, Malformed) {
  EXPECT_EQ(find_listen_fd(ListenEnv{"43x", "1", "http"}, kSelf, "http"), CORRAL_E_INVAL);
  EXPECT_EQ(find_listen_fd(ListenEnv{"4321", "", "http"}, kSelf, "http"), CORRAL_E_INVAL);
  EXPECT_EQ(find_listen_fd(ListenEnv{"4321", "-1", "http"}, kSelf, "http"), CORRAL_E_INVAL);
  EXPECT_EQ(find_listen_fd(ListenEnv{"4321", "99999", "http"}, kSelf, "http"), CORRAL_E_INVAL);
  // Names and count must agree, as sd_listen_fds_with_names() insists.
  EXPECT_EQ(find_listen_fd(ListenEnv{"4321", "2", "http"}, kSelf, "http"), CORRAL_E_INVAL);
  EXPECT_EQ(find_listen_fd(ListenEnv{"4321", "1", "http:admin"}, kSelf, "http"), CORRAL_E_INVAL);
}

}  // namespace
}  // namespace corral::worker
