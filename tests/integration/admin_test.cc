// The admin socket and the client commands that use it: status, stop.
#include <fcntl.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "harness.h"

namespace corral::testing {
namespace {

UniqueFd connect_unix(const std::string& path) {
  UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::strncpy(addr.sun_path, path.c_str(), sizeof addr.sun_path - 1);
  if (::connect(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) return UniqueFd();
  return fd;
}

// Sends raw bytes, then reads one reply line (or "" at EOF/timeout).
std::string ask(const UniqueFd& fd, const std::string& bytes, Millis timeout = 5s) {
  if (!bytes.empty()) ::send(fd.get(), bytes.data(), bytes.size(), MSG_NOSIGNAL);
  std::string reply;
  while (reply.find('\n') == std::string::npos) {
    pollfd p{fd.get(), POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(timeout.count())) <= 0) return "";
    char buffer[4096];
    const ssize_t n = ::recv(fd.get(), buffer, sizeof buffer, 0);
    if (n <= 0) return reply;
    reply.append(buffer, static_cast<size_t>(n));
  }
  return reply.substr(0, reply.find('\n'));
}

struct Service {
  explicit Service(std::vector<std::string> args) : corral(std::move(args)) {}
  Corral corral;
  std::string socket() const { return corral.process.runtime_dir() + "/corral/corral.sock"; }
  // A client command run against this service's runtime directory.
  Process client(std::vector<std::string> args) const {
    args.insert(args.begin(), corral_binary());
    return Process(args, {"XDG_RUNTIME_DIR=" + corral.process.runtime_dir()});
  }
};

std::vector<std::string> two_workers() {
  return {"run", "--workers", "2", "--listen", "http=127.0.0.1:0", "--", example_server(), "--fd",
          "{fd:http}"};
}

void await_ready(Corral& c, int n) {
  for (int i = 0; i < n; ++i) ASSERT_TRUE(c.process.wait_for_line(R"(worker \d started)"));
  ASSERT_TRUE(c.process.wait_for_line(R"(admin socket: )", 0ms) ||
              c.process.find_line(R"(admin socket: )"));
}

TEST(Admin, StatusTableExitsZeroWhenHealthy) {
  Service s(two_workers());
  await_ready(s.corral, 2);
  Process status = s.client({"status"});
  ASSERT_EQ(status.wait_exit(), 0) << status.output();
  EXPECT_TRUE(status.find_line(R"(^corral 'corral' \(pid \d+\): running, 2/2 ready)", 0ms)) << status.output();
  EXPECT_TRUE(status.find_line(R"(^ID +PID +STATE +UPTIME +RESTARTS +CPU +RSS +HEARTBEAT +LAST EXIT$)", 0ms))
      << status.output();
  EXPECT_EQ(status.count_lines(R"(^[01] +\d+ +ready +)"), 2) << status.output();
  EXPECT_EQ(status.count_lines("\x1b"), 0) << "colour codes outside a terminal";
}

TEST(Admin, StatusJsonIsTheProtocolObject) {
  Service s(two_workers());
  await_ready(s.corral, 2);
  Process status = s.client({"status", "--json"});
  ASSERT_EQ(status.wait_exit(), 0) << status.output();
  auto body = nlohmann::json::parse(status.output());
  EXPECT_EQ(body["ok"], true);
  EXPECT_EQ(body["name"], "corral");
  EXPECT_EQ(body["state"], "running");
  EXPECT_EQ(body["desired"], 2);
  ASSERT_EQ(body["workers"].size(), 2u);
  for (const auto& w : body["workers"]) {
    for (const char* key : {"id", "pid", "state", "uptime_s", "restarts", "cpu_percent", "rss_bytes",
                            "heartbeat_age_s", "last_exit"}) {
      EXPECT_TRUE(w.contains(key)) << key;
    }
    EXPECT_EQ(w["state"], "ready");
    EXPECT_GT(w["rss_bytes"].get<double>(), 0);
  }
}

TEST(Admin, StatusExitsNonZeroWhenAWorkerIsNotRunning) {
  Service s({"run", "--workers", "1", "--", "/bin/sh", "-c", "exit 3"});
  ASSERT_TRUE(s.corral.process.wait_for_line(R"(restarting in)"));
  Process status = s.client({"status", "--json"});
  auto code = status.wait_exit();
  ASSERT_TRUE(code);
  EXPECT_EQ(*code, 1) << status.output();
  auto body = nlohmann::json::parse(status.output());
  EXPECT_EQ(body["healthy"], false);
  EXPECT_EQ(body["workers"][0]["last_exit"], "exited with code 3");
}

TEST(Admin, NoSupervisorExits69AndSaysWhere) {
  TempDir dir;
  Process status({corral_binary(), "status", "--name", "nobody-here"}, {"XDG_RUNTIME_DIR=" + dir.path()});
  EXPECT_EQ(status.wait_exit(), 69);
  EXPECT_TRUE(status.find_line(dir.path() + "/corral/nobody-here.sock", 0ms)) << status.output();
}

TEST(Admin, StopStopsGracefully) {
  Service s(two_workers());
  await_ready(s.corral, 2);
  Process stop = s.client({"stop"});
  EXPECT_EQ(stop.wait_exit(), 0) << stop.output();
  EXPECT_EQ(s.corral.process.wait_exit(), 0) << s.corral.process.output();
  EXPECT_TRUE(s.corral.process.find_line("stop requested on the admin socket", 0ms));
  EXPECT_FALSE(std::filesystem::exists(s.socket())) << "admin socket left behind";
}

TEST(Admin, SocketIsOwnerOnlyInAPrivateDirectory) {
  Service s(two_workers());
  await_ready(s.corral, 2);
  struct stat sock {}, dir {};
  ASSERT_EQ(::stat(s.socket().c_str(), &sock), 0);
  ASSERT_EQ(::stat((s.corral.process.runtime_dir() + "/corral").c_str(), &dir), 0);
  EXPECT_EQ(sock.st_mode & 0777, 0600u);
  EXPECT_EQ(dir.st_mode & 0777, 0700u);
}

TEST(Admin, SecondCorralOfTheSameNameIsRefused) {
  Service s(two_workers());
  await_ready(s.corral, 2);
  Process second({corral_binary(), "run", "--workers", "1", "--", "/bin/sleep", "60"},
                 {"XDG_RUNTIME_DIR=" + s.corral.process.runtime_dir()});
  EXPECT_EQ(second.wait_exit(), 1);
  EXPECT_TRUE(second.find_line("another corral is already running", 0ms)) << second.output();
  EXPECT_TRUE(ask(connect_unix(s.socket()), "{\"cmd\":\"version\"}\n").find("\"ok\":true") !=
              std::string::npos) << "the first one lost its socket";
}

TEST(Admin, HostileClientsGetErrorsAndNeverBlockIt) {
  Service s(two_workers());
  await_ready(s.corral, 2);
  const std::string path = s.socket();
  // 500 silent clients hold connections open.
  std::vector<UniqueFd> idle;
  for (int i = 0; i < 500; ++i) idle.push_back(connect_unix(path));
  // Malformed, wrong types, unknown commands, not UTF-8, truncated.
  for (const std::string& bad : {std::string("not json\n"), std::string("[1,2]\n"),
                                 std::string("{\"cmd\":7}\n"), std::string("{\"cmd\":\"launch\"}\n"),
                                 std::string("{\"cmd\":\"st\xff\xfe\"}\n"), std::string("{\"cmd\":\n")}) {
    auto fd = connect_unix(path);
    const std::string reply = ask(fd, bad);
    EXPECT_NE(reply.find("\"ok\":false"), std::string::npos) << "for " << bad << ": " << reply;
  }
  // Oversized: refused with a reply, then closed.
  auto big = connect_unix(path);
  const std::string reply = ask(big, std::string(70 * 1024, 'x'));
  EXPECT_NE(reply.find("larger than"), std::string::npos) << reply;
  // Many requests on one connection are answered in order.
  auto many = connect_unix(path);
  std::string batch;
  for (int i = 0; i < 50; ++i) batch += "{\"cmd\":\"version\"}\n";
  EXPECT_NE(ask(many, batch).find("\"protocol\":1"), std::string::npos);
  // Still responsive for a real client while all of that is open.
  Process status = s.client({"status"});
  EXPECT_EQ(status.wait_exit(5s), 0) << status.output();
}

TEST(Admin, PeerOfAnotherUidIsRefused) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root to act as another uid";
  const passwd* nobody = ::getpwnam("nobody");
  ASSERT_NE(nobody, nullptr);
  Service s(two_workers());
  await_ready(s.corral, 2);
  const std::string path = s.socket();
  // Let the file system allow it, so that corral's own check is what refuses.
  ASSERT_EQ(::chmod((s.corral.process.runtime_dir() + "/corral").c_str(), 0755), 0);
  ASSERT_EQ(::chmod(s.corral.process.runtime_dir().c_str(), 0755), 0);
  ASSERT_EQ(::chmod(path.c_str(), 0666), 0);
  int pipe_fds[2];
  ASSERT_EQ(::pipe(pipe_fds), 0);
  const pid_t child = ::fork();
  if (child == 0) {
    ::close(pipe_fds[0]);
    if (::setgid(nobody->pw_gid) != 0 || ::setuid(nobody->pw_uid) != 0) ::_exit(2);
    auto fd = connect_unix(path);
    const std::string reply = fd ? ask(fd, "{\"cmd\":\"stop\"}\n") : "connect failed";
    ssize_t unused = ::write(pipe_fds[1], reply.data(), reply.size());
    (void)unused;
    ::_exit(0);
  }
  ::close(pipe_fds[1]);
  int status = 0;
  ::waitpid(child, &status, 0);
  char buffer[512] = {};
  ssize_t n = ::read(pipe_fds[0], buffer, sizeof buffer - 1);
  ::close(pipe_fds[0]);
  ASSERT_GT(n, 0);
  EXPECT_NE(std::string(buffer).find("permission denied"), std::string::npos) << buffer;
  EXPECT_TRUE(s.corral.process.wait_for_line(R"(admin socket: refused pid \d+ of uid )" +
                                             std::to_string(nobody->pw_uid)));
  // And it is still running: the stop was not obeyed.
  Process status_cmd = s.client({"status"});
  EXPECT_EQ(status_cmd.wait_exit(), 0);
}

}  // namespace
}  // namespace corral::testing

namespace corral::testing {
namespace {

// A corral started as a system service has no XDG_RUNTIME_DIR (its socket is
// in /run/corral, or /tmp/corral-UID); a login shell asking it has one.
TEST(Admin, ClientFindsACorralStartedWithoutXdgRuntimeDir) {
  const std::string name = "fallback-" + std::to_string(::getpid());
  Corral corral({"run", "--name", name, "--workers", "1", "--listen", "http=127.0.0.1:0", "--",
                 example_server(), "--fd", "{fd:http}"},
                {"XDG_RUNTIME_DIR="});
  ASSERT_TRUE(corral.process.find_line(R"(admin socket: )")) << corral.process.output();
  TempDir login_runtime_dir;
  Process status({corral_binary(), "status", "--name", name},
                 {"XDG_RUNTIME_DIR=" + login_runtime_dir.path()});
  EXPECT_EQ(status.wait_exit(), 0) << status.output();
  EXPECT_TRUE(status.find_line("corral '" + name + "'", 0ms)) << status.output();
}

}  // namespace
}  // namespace corral::testing
