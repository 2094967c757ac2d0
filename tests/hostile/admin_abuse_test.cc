// The admin socket under abuse: a thousand connections at once, slow
// writers, a half line and silence, a peer of another uid, things planted
// at the socket's path. Each is refused or handled, and service goes on.
#include <fcntl.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include <gtest/gtest.h>

#include "hostile.h"
#include "supervisor/admin_server.h"

namespace corral::testing::hostile {
namespace {

namespace fs = std::filesystem;
using supervisor::admin_client_limit;
using supervisor::admin_peer_allowed;
using supervisor::AdminServer;

UniqueFd connect_unix(const std::string& path, int* error = nullptr) {
  UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::strncpy(addr.sun_path, path.c_str(), sizeof addr.sun_path - 1);
  if (::connect(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    if (error != nullptr) *error = errno;
    return UniqueFd();
  }
  return fd;
}

// One line from `fd` ("" at EOF or timeout).
std::string read_line(int fd, Millis timeout) {
  std::string line;
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (line.find('\n') == std::string::npos) {
    const auto left =
        std::chrono::duration_cast<Millis>(deadline - std::chrono::steady_clock::now());
    pollfd p{fd, POLLIN, 0};
    if (left.count() <= 0 || ::poll(&p, 1, static_cast<int>(left.count())) <= 0) return "";
    char c[512];
    const ssize_t n = ::recv(fd, c, sizeof c, 0);
    if (n <= 0) return line;
    line.append(c, static_cast<size_t>(n));
  }
  return line.substr(0, line.find('\n'));
}

void send_text(int fd, const std::string& text) {
  ::send(fd, text.data(), text.size(), MSG_NOSIGNAL);
}

std::string read_file(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

TEST(HostileAdmin, PeerCheckAndConnectionLimitDecisions) {
  EXPECT_TRUE(admin_peer_allowed(1000, 1000));
  EXPECT_TRUE(admin_peer_allowed(0, 1000));
  EXPECT_FALSE(admin_peer_allowed(1001, 1000));
  EXPECT_FALSE(admin_peer_allowed(65534, 0));
  EXPECT_TRUE(admin_peer_allowed(0, 0));
  EXPECT_EQ(admin_client_limit(1024), 512u);
  EXPECT_EQ(admin_client_limit(20000), 1024u);
  EXPECT_EQ(admin_client_limit(RLIM_INFINITY), 1024u);
  EXPECT_EQ(admin_client_limit(40), 20u);
  EXPECT_EQ(admin_client_limit(8), 16u);
}

TEST(HostileAdmin, AThousandConnectionsAtOnceLeaveServiceAndStatusWorking) {
  // corral under the common default soft limit of 1024 descriptors: at
  // most 512 admin connections.
  if (find_program("prlimit").empty()) GTEST_SKIP() << "prlimit (util-linux) is not installed";
  rlimit ours{};
  ASSERT_EQ(::getrlimit(RLIMIT_NOFILE, &ours), 0);
  if (ours.rlim_max < 1200) GTEST_SKIP() << "this test needs 1,200 descriptors";
  ours.rlim_cur = ours.rlim_max;
  ASSERT_EQ(::setrlimit(RLIMIT_NOFILE, &ours), 0);
  std::vector<std::string> args = {find_program("prlimit"), "--nofile=1024:1024", "--",
                                   corral_binary()};
  for (auto& a : run_args(2, {}, {example_server(), "--fd", "{fd:http}", "--quiet"})) {
    args.push_back(a);
  }
  Process corral(args);
  auto m = corral.wait_for_line(R"(starting \d+ workers? on [^=]+=[^ ]*:(\d+) )");
  ASSERT_TRUE(m) << corral.output();
  const auto port = static_cast<uint16_t>(std::stoi((*m)[1]));
  ASSERT_TRUE(corral.find_or_wait(R"(admin socket: .* \(at most 512 connections\))"))
      << corral.output();
  const std::string socket = admin_socket(corral);
  ASSERT_TRUE(await_serving(socket, 2));

  std::vector<UniqueFd> clients;
  for (int i = 0; i < 1000; ++i) {
    UniqueFd fd = connect_unix(socket);
    ASSERT_TRUE(fd) << "connection " << i << ": " << std::strerror(errno);
    clients.push_back(std::move(fd));
  }
  // A real client still gets in: the connection idle the longest makes room.
  ASSERT_NO_FATAL_FAILURE(expect_supervision_goes_on(corral, port, 1));
  EXPECT_TRUE(corral.find_or_wait(R"(admin socket: 512 connections open, the limit)"));
  // The first ones were closed with a reason; the others are open and
  // served.
  int evicted = 0, served = 0;
  for (auto& fd : clients) {
    pollfd p{fd.get(), POLLIN, 0};
    if (::poll(&p, 1, 0) == 1) {
      const std::string line = read_line(fd.get(), 1s);
      EXPECT_NE(line.find("too many admin connections (512): closing this one"), std::string::npos)
          << line;
      ++evicted;
      continue;
    }
    send_text(fd.get(), "{\"cmd\":\"version\"}\n");
    const std::string reply = read_line(fd.get(), 5s);
    EXPECT_NE(reply.find("\"ok\":true"), std::string::npos) << reply;
    ++served;
  }
  // Each status request above made room too.
  EXPECT_GE(evicted, 1000 - 512);
  EXPECT_GT(served, 0);
  EXPECT_EQ(evicted + served, 1000);
  EXPECT_LT(open_fds(corral.pid()), 1024 - 400) << "the limit leaves room for workers";
  EXPECT_TRUE(pid_alive(corral.pid()));
}

TEST(HostileAdmin, SlowHalfAndTricklingClientsAreBoundedAndBlockNoOne) {
  Corral c(run_args(2, {}, {example_server(), "--fd", "{fd:http}", "--quiet"}));
  ASSERT_NE(c.port, 0) << c.process.output();
  const std::string socket = admin_socket(c.process);
  ASSERT_TRUE(await_serving(socket, 2));

  UniqueFd half = connect_unix(socket);
  send_text(half.get(), "{\"cmd\":\"sta");
  UniqueFd trickle = connect_unix(socket);  // a line that never ends
  UniqueFd slow = connect_unix(socket);     // a whole request, slowly
  const std::string request = "{\"cmd\":\"status\"}\n";
  const auto start = std::chrono::steady_clock::now();
  std::string slow_reply;
  for (size_t i = 0; i < request.size(); ++i) {
    send_text(slow.get(), request.substr(i, 1));
    send_text(trickle.get(), "x");
    // Meanwhile others are served at once.
    if (i == 3) {
      ASSERT_NO_FATAL_FAILURE(expect_supervision_goes_on(c.process, c.port, 1));
    }
    std::this_thread::sleep_for(100ms);  // the pace of a slow writer
  }
  slow_reply = read_line(slow.get(), 5s);
  EXPECT_NE(slow_reply.find("\"ok\":true"), std::string::npos) << "slow writer: " << slow_reply;

  // The trickler keeps sending, but a request must be whole within 10 s.
  std::string trickle_reply;
  while (std::chrono::steady_clock::now() - start < 20s) {
    send_text(trickle.get(), "x");
    pollfd p{trickle.get(), POLLIN, 0};
    if (::poll(&p, 1, 100) == 1) {
      trickle_reply = read_line(trickle.get(), 1s);
      break;
    }
  }
  const auto trickle_closed = std::chrono::steady_clock::now() - start;
  EXPECT_NE(trickle_reply.find("no complete request within 10s"), std::string::npos)
      << trickle_reply;
  EXPECT_GE(trickle_closed, 9s);
  EXPECT_LT(trickle_closed, 15s);
  EXPECT_NE(read_line(half.get(), 2s).find("no complete request within 10s"), std::string::npos);
  EXPECT_EQ(read_line(half.get(), 2s), "") << "the half-line client was not closed";
  ASSERT_TRUE(status_within(socket, 3s).is_object());
}

TEST(HostileAdmin, PeerOfAnotherUidIsStoppedByThePrivateDirectory) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root to act as another uid";
  const passwd* nobody = ::getpwnam("nobody");
  ASSERT_NE(nobody, nullptr);
  Corral c(run_args(1, {}, {example_server(), "--fd", "{fd:http}", "--quiet"}));
  ASSERT_NE(c.port, 0) << c.process.output();
  const std::string socket = admin_socket(c.process);
  ASSERT_TRUE(await_serving(socket, 1));
  // The test's runtime directory lets others through; corral's own
  // directory in it (0700) must not.
  ASSERT_EQ(::chmod(c.process.runtime_dir().c_str(), 0755), 0);
  int pipe_fds[2];
  ASSERT_EQ(::pipe(pipe_fds), 0);
  const pid_t child = ::fork();
  if (child == 0) {
    ::close(pipe_fds[0]);
    int error = 0;
    if (::setgid(nobody->pw_gid) != 0 || ::setuid(nobody->pw_uid) != 0) ::_exit(2);
    UniqueFd fd = connect_unix(socket, &error);
    const int result = fd ? 0 : error;
    ssize_t unused = ::write(pipe_fds[1], &result, sizeof result);
    (void)unused;
    ::_exit(0);
  }
  ::close(pipe_fds[1]);
  int status = 0;
  ::waitpid(child, &status, 0);
  int result = -1;
  ASSERT_EQ(::read(pipe_fds[0], &result, sizeof result), static_cast<ssize_t>(sizeof result));
  ::close(pipe_fds[0]);
  EXPECT_EQ(result, EACCES) << std::strerror(result);
  // Nothing reached corral, and it serves its own user.
  EXPECT_EQ(count(c.process, "admin socket: refused"), 0);
  EXPECT_TRUE(status_within(socket, 3s).is_object());
}

TEST(HostileAdmin, SymlinkPlantedAtTheSocketPathIsRefusedAndItsTargetUntouched) {
  TempDir runtime;
  const std::string dir = runtime.file("corral");
  ASSERT_EQ(::mkdir(dir.c_str(), 0700), 0);
  TempDir elsewhere;
  const std::string victim = elsewhere.write("victim", "precious\n", 0644);
  const std::string socket = dir + "/corral.sock";
  ASSERT_EQ(::symlink(victim.c_str(), socket.c_str()), 0);

  Process corral({corral_binary(), "run", "--workers", "1", "--", example_server(), "--port", "0"},
                 {"XDG_RUNTIME_DIR=" + runtime.path()});
  EXPECT_EQ(corral.wait_exit(10s), 1) << corral.output();
  EXPECT_TRUE(corral.find_line("admin socket .*corral.sock: the path is a symbolic link", 0ms))
      << corral.output();
  struct stat st {};
  ASSERT_EQ(::lstat(socket.c_str(), &st), 0);
  EXPECT_TRUE(S_ISLNK(st.st_mode)) << "the planted link was removed or replaced";
  ASSERT_EQ(::stat(victim.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0644u) << "the link's target was chmod'ed";
  EXPECT_EQ(read_file(victim), "precious\n");
}

TEST(HostileAdmin, SymlinkPlantedAsTheRuntimeDirectoryIsRefused) {
  TempDir runtime;
  TempDir elsewhere;
  ASSERT_EQ(::chmod(elsewhere.path().c_str(), 0755), 0);
  ASSERT_EQ(::symlink(elsewhere.path().c_str(), runtime.file("corral").c_str()), 0);
  Process corral({corral_binary(), "run", "--workers", "1", "--", example_server(), "--port", "0"},
                 {"XDG_RUNTIME_DIR=" + runtime.path()});
  EXPECT_EQ(corral.wait_exit(10s), 1) << corral.output();
  EXPECT_TRUE(corral.find_line("is not a directory", 0ms)) << corral.output();
  struct stat st {};
  ASSERT_EQ(::stat(elsewhere.path().c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0755u) << "the link's target was chmod'ed";
  EXPECT_TRUE(fs::is_empty(elsewhere.path()));
}

TEST(HostileAdmin, RegularFileAtTheSocketPathIsRefusedAndKept) {
  TempDir dir;
  const std::string path = dir.write("admin.sock", "not a socket\n", 0644);
  const std::string config = dir.write("c.toml", "[admin]\nsocket = \"" + path + "\"\n");
  Process corral({corral_binary(), "run", "-c", config, "--workers", "1", "--", example_server(),
                  "--port", "0"});
  EXPECT_EQ(corral.wait_exit(10s), 1) << corral.output();
  EXPECT_TRUE(corral.find_line("the path exists and is not a socket", 0ms)) << corral.output();
  EXPECT_EQ(read_file(path), "not a socket\n");
}

}  // namespace
}  // namespace corral::testing::hostile
